//! LM Playground core: everything the page and the `lmplay` CLI compute.
//!
//! Layers, bottom up (docs/architecture.md); a module imports only from its own layer or below,
//! which `tests/layering.rs` checks:
//! 1. [`text`] (tokenizers, vocabulary, data), [`rng`], [`clock`], [`error`];
//! 2. [`lm`]: the one model interface, perplexity and sampling;
//! 3. [`train`]: the trainer contract, families and devices; [`modelfile`]: model files;
//! 4. [`ngram`] and [`nn`]: the model families, each with its trainers and file loaders;
//! 5. [`config`]: the run settings; [`families`]: the registry of families;
//! 6. [`session`]: one playground run;
//! 7. `wasm` (the page's facade), the CLI (`bin/lmplay.rs`) and [`bench`].

pub mod bench;
pub mod clock;
pub mod config;
pub mod devices;
pub mod error;
pub mod families;
pub mod lm;
pub mod modelfile;
pub mod ngram;
pub mod nn;
pub mod rng;
pub mod session;
pub mod tasks;
pub mod text;
pub mod train;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

#[cfg(test)]
mod tests;

pub use error::{Error, Result};
