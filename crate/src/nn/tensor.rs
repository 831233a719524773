//! Tensors: f32 data on flat buffers, with shapes.
//!
//! * [`Shape`]: up to 4 dimensions, row-major, `Copy`.
//! * [`Tensor`]: a view `(buffer, offset, shape)` into a buffer that the [`Backend`](super::backend::Backend)
//!   owns — host memory on the CPU, a GPU buffer later. Copying a `Tensor` copies the handle, not the data.
//!   Reshape is free (`reshape` changes the shape only).
//! * [`HostTensor`]: owned data on the host, for model files, fixtures and reading results back.

use std::fmt;

pub const MAX_RANK: usize = 4;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    dims: [usize; MAX_RANK],
    rank: u8,
}

impl Shape {
    pub fn new(dims: &[usize]) -> Shape {
        assert!(dims.len() <= MAX_RANK, "at most {MAX_RANK} dimensions");
        let mut d = [1; MAX_RANK];
        d[..dims.len()].copy_from_slice(dims);
        Shape { dims: d, rank: dims.len() as u8 }
    }
    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.rank as usize]
    }
    pub fn rank(&self) -> usize {
        self.rank as usize
    }
    pub fn numel(&self) -> usize {
        self.dims().iter().product()
    }
    /// The last dimension (1 for a scalar).
    pub fn last(&self) -> usize {
        self.dims().last().copied().unwrap_or(1)
    }
    /// Product of all dimensions but the last: the number of rows of a matrix view.
    pub fn rows(&self) -> usize {
        self.numel() / self.last().max(1)
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.dims())
    }
}

/// A buffer owned by a backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BufferId(pub u32);

/// A tensor resident in a backend: `shape.numel()` floats of buffer `buf` from `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tensor {
    pub buf: BufferId,
    pub offset: usize,
    pub shape: Shape,
}

impl Tensor {
    pub fn len(&self) -> usize {
        self.shape.numel()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The same data read with another shape of the same size.
    pub fn reshape(self, dims: &[usize]) -> Tensor {
        let shape = Shape::new(dims);
        assert_eq!(shape.numel(), self.len(), "reshape {:?} → {dims:?}", self.shape);
        Tensor { shape, ..self }
    }
    /// The first `rows` rows (of the leading dimension), e.g. a smaller batch in a buffer sized for a big one.
    pub fn first_rows(self, rows: usize) -> Tensor {
        let r = self.shape.rank();
        let mut d = self.shape.dims;
        assert!(r > 0 && rows <= d[0]);
        d[0] = rows;
        Tensor { shape: Shape::new(&d[..r]), ..self }
    }
    /// The range of buffer elements it covers.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }
}

/// Token ids resident in a backend (embedding lookups, cross-entropy targets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ids {
    pub buf: BufferId,
    pub offset: usize,
    pub len: usize,
}

impl Ids {
    pub fn first(self, len: usize) -> Ids {
        assert!(len <= self.len);
        Ids { len, ..self }
    }
}

/// Owned f32 data with a shape, on the host.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl HostTensor {
    pub fn new(shape: &[usize], data: Vec<f32>) -> Self {
        assert_eq!(shape.iter().product::<usize>(), data.len(), "shape {shape:?} does not match {} values", data.len());
        HostTensor { shape: shape.to_vec(), data }
    }
    pub fn zeros(shape: &[usize]) -> Self {
        Self::new(shape, vec![0.0; shape.iter().product()])
    }
}
