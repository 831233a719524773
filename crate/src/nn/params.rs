//! All parameters of a model in one flat buffer with named views (llm.c's `ParameterTensors`).
//! A [`Layout`] lists the named tensors and their offsets; the gradients and each optimizer moment use
//! the same layout in buffers of the same size, so an optimizer step or a gradient norm is one pass over
//! one buffer, and a model file is the list of named views.

use super::tensor::Shape;

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Stable name, used in model files (docs/formats.md), e.g. `hidden.weight`.
    pub name: String,
    pub shape: Shape,
    pub offset: usize,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Layout {
    pub entries: Vec<Entry>,
    /// Total floats.
    pub len: usize,
}

impl Layout {
    /// Appends a named tensor; returns its index.
    pub fn push(&mut self, name: &str, dims: &[usize]) -> usize {
        let shape = Shape::new(dims);
        self.entries.push(Entry { name: name.to_string(), shape, offset: self.len });
        self.len += shape.numel();
        self.entries.len() - 1
    }
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }
    pub fn bytes(&self) -> u64 {
        self.len as u64 * 4
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    #[test]
    fn views_are_contiguous_and_named() {
        let mut l = Layout::default();
        l.push("a.weight", &[3, 4]);
        l.push("a.bias", &[4]);
        assert_eq!(l.len, 16);
        assert_eq!(l.get("a.bias").unwrap().offset, 12);
        assert!(l.get("nope").is_none());
    }
}
