//! Tests of the n-gram family on its own: hand-computed values for every method and normalisation
//! of every method at every order. Tests that need a whole session (ARPA round trips, model files,
//! the views, KenLM) live in `crate::tests`, above the session in the layering.

pub(crate) mod by_hand;
mod normalization;
