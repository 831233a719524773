//! Tests of the n-gram family: hand-computed values for every method, normalisation of every
//! method at every order, ARPA files, the views, and (natively) the comparison with KenLM.

mod arpa;
mod files;
mod by_hand;
#[cfg(not(target_arch = "wasm32"))]
mod kenlm;
mod normalization;
mod views;
