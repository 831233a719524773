//! LM Playground core: everything the page and the `lmplay` CLI compute.
//!
//! * [`text`]: tokenizers, vocabulary, train/validation data.
//! * [`lm`]: the one model interface, perplexity and sampling.
//! * [`ngram`]: n-gram models with pluggable smoothing.
//! * [`session`]: one playground run (data + model + training), shared by the CLI and the wasm facade.
//! * `wasm`: the thin `#[wasm_bindgen]` facade used by the page's Web Worker.

pub mod bench;
pub mod clock;
pub mod error;
pub mod lm;
pub mod modelfile;
pub mod ngram;
pub mod nn;
pub mod rng;
pub mod session;
pub mod text;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};
