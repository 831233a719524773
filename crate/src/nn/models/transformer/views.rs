//! The Transformer's own views (attention maps, positional encodings): see `view`.

use super::model::Transformer;
use crate::nn::engine::Engine;
use crate::Result;

/// The views only a Transformer has; `None` for any other name.
pub fn view(_m: &Transformer, _eng: &mut Engine, _name: &str, _args: &serde_json::Value, _data: &crate::text::Dataset) -> Option<Result<serde_json::Value>> {
    None
}
