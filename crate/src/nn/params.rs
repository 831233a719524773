//! All parameters of a model in flat buffers with named views (llm.c's `ParameterTensors`).
//! A [`Layout`] lists the named tensors, each at an offset in one of a few *parts*; the gradients and
//! each optimizer moment use the same layout in buffers of the same sizes, so an optimizer step or a
//! gradient norm is one pass per part, and a model file is the list of named views.
//!
//! Two rules make every view bindable by a GPU (docs/architecture.md, "Buffer rules"): offsets are
//! multiples of [`ALIGN`] floats (256 bytes, WebGPU's storage-buffer offset alignment), and a part
//! never exceeds [`MAX_PART_FLOATS`] (128 MiB, WebGPU's default `maxStorageBufferBindingSize`): a
//! model bigger than that spans several parts; a single tensor bigger than that is refused.

use super::tensor::Shape;
use crate::{Error, Result};

/// Offsets are multiples of this many floats (256 bytes).
pub const ALIGN: usize = 64;
/// Most floats in one buffer (128 MiB).
pub const MAX_PART_FLOATS: usize = (128 << 20) / 4;

/// Rounds up to a multiple of [`ALIGN`].
pub fn aligned(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Stable name, used in model files (docs/formats.md), e.g. `hidden.weight`.
    pub name: String,
    pub shape: Shape,
    /// Which part (buffer) holds it.
    pub part: usize,
    /// Offset in floats within the part; a multiple of [`ALIGN`].
    pub offset: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub entries: Vec<Entry>,
    /// Floats in each part (padding included).
    pub parts: Vec<usize>,
    limit: usize,
}

impl Default for Layout {
    fn default() -> Self {
        Layout::with_limit(MAX_PART_FLOATS)
    }
}

impl Layout {
    /// A layout whose parts hold at most `limit` floats (tests use small limits).
    pub fn with_limit(limit: usize) -> Layout {
        Layout { entries: Vec::new(), parts: Vec::new(), limit: limit.max(ALIGN) }
    }

    /// Appends a named tensor, in the last part if it fits there, else in a new one.
    pub fn push(&mut self, name: &str, dims: &[usize]) -> usize {
        let shape = Shape::new(dims);
        // In u64, saturated: a tensor too big for a usize is refused by `check`, not wrapped around.
        let n64 = dims.iter().map(|&d| d as u64).product::<u64>().div_ceil(ALIGN as u64) * ALIGN as u64;
        let n = usize::try_from(n64).unwrap_or(usize::MAX / 2).min(usize::MAX / 2);
        let parts = self.parts.len();
        match self.parts.last_mut() {
            Some(last) if *last + n <= self.limit => {
                self.entries.push(Entry { name: name.to_string(), shape, part: parts - 1, offset: *last });
                *last += n;
            }
            _ => {
                self.entries.push(Entry { name: name.to_string(), shape, part: self.parts.len(), offset: 0 });
                self.parts.push(n);
            }
        }
        self.entries.len() - 1
    }

    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Number of parameters (padding not included). In u64 from the dimensions: on wasm32 a usize
    /// product overflows for the very configurations the memory estimate must refuse.
    pub fn parameters(&self) -> u64 {
        self.entries.iter().map(numel64).sum()
    }

    /// Floats allocated for one copy (parameters, or gradients), padding included (the sum of the
    /// parts, computed in u64).
    pub fn floats(&self) -> u64 {
        self.entries.iter().map(|e| numel64(e).div_ceil(ALIGN as u64) * ALIGN as u64).sum()
    }

    /// `Err(model-too-large)` if a tensor alone is bigger than a part may be.
    pub fn check(&self) -> Result<()> {
        match self.entries.iter().find(|e| numel64(e).div_ceil(ALIGN as u64) * ALIGN as u64 > self.limit as u64) {
            Some(e) => Err(too_big(&e.name, numel64(e))),
            None => Ok(()),
        }
    }
}

fn numel64(e: &Entry) -> u64 {
    e.shape.dims().iter().map(|&d| d as u64).product()
}

/// The error for one tensor over the 128 MiB a GPU can bind at once.
pub fn too_big(name: &str, floats: u64) -> Error {
    too_big_for(name, floats, MAX_PART_FLOATS as u64)
}

/// The same against a device's own limit (`Backend::max_buffer_floats`: a GPU adapter's binding size).
pub fn too_big_for(name: &str, floats: u64, limit: u64) -> Error {
    Error::new(
        "model-too-large",
        format!(
            "The tensor '{name}' would hold {} ({floats} numbers), more than the {} one GPU buffer may hold. \
             Reduce the vocabulary (max size / min count), the model's sizes or the batch size.",
            crate::train::memory::human(floats * 4),
            crate::train::memory::human(limit * 4)
        ),
    )
    .keyed("tensor")
    .with("name", name)
    .with("size_bytes", floats * 4)
    .with("limit_bytes", limit * 4)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    #[test]
    fn views_are_aligned_and_named() {
        let mut l = Layout::default();
        l.push("a.weight", &[3, 4]);
        l.push("a.bias", &[4]);
        assert_eq!(l.parameters(), 16);
        assert_eq!(l.get("a.bias").unwrap().offset, ALIGN);
        assert_eq!(l.parts, vec![2 * ALIGN]);
        assert!(l.get("nope").is_none());
    }

    #[test]
    fn big_models_span_parts_and_huge_tensors_are_refused() {
        let mut l = Layout::with_limit(4 * ALIGN);
        l.push("a", &[2 * ALIGN]);
        l.push("b", &[ALIGN + 1]);
        l.push("c", &[3 * ALIGN]);
        assert_eq!(l.parts, vec![4 * ALIGN, 3 * ALIGN]);
        assert_eq!((l.get("c").unwrap().part, l.get("c").unwrap().offset), (1, 0));
        assert!(l.check().is_ok());
        l.push("d", &[5 * ALIGN]);
        assert_eq!(l.check().unwrap_err().code, "model-too-large");
    }
}
