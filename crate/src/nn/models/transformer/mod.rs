//! The Transformer family (decoder-only, GPT-style), one concept per file: `config` (settings),
//! `positional` (the six encodings), `block` (attention + FFN with residuals and LayerNorm),
//! `model` (embeddings, the stack, the LM head, the KV-cache streams), `views` (attention maps and
//! positional encodings for the page). Attention itself is the backend op `nn::ops::attention`.

pub mod block;
pub mod config;
pub mod model;
pub mod positional;
pub mod views;

pub use config::{AttentionKind, NormPlacement, Positional, TransformerConfig};
pub use model::{Transformer, FAMILY};
