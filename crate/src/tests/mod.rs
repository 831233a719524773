//! Tests of whole sessions (layer 7: they may import everything): n-gram model files, ARPA round
//! trips, the n-gram views, the comparison with KenLM, the fixed-window model end to end, the
//! engine's allocation and buffer rules, and the layering itself.

#[cfg(not(target_arch = "wasm32"))]
mod alloc;
mod bpe;
mod fixed_window;
#[cfg(not(target_arch = "wasm32"))]
mod gpu;
#[cfg(not(target_arch = "wasm32"))]
mod kenlm;
#[cfg(not(target_arch = "wasm32"))]
mod layering;
mod ngram_arpa;
mod ngram_files;
mod ngram_views;
mod long_range;
mod recurrent;
mod sequence;
mod transformer;
mod window_eval;
