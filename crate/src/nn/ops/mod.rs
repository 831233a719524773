//! The op set, one file per family. Each op is a pair of plain functions in the llm.c style:
//! `*_forward` computes outputs from inputs, `*_backward` *accumulates* (`+=`) input gradients from the
//! output gradient, so a tensor used twice simply receives two contributions. Shapes are in the
//! comments; buffers are flat row-major slices.
//!
//! Every op is generic over [`Float`] (f32 and f64): the model runs them in f32 and the gradient
//! checks run them in f64 against central finite differences (`gradcheck`). Matmul has an f32 fast
//! path in `kernels`; its generic version here is the reference.

pub mod activation;
pub mod attention;
pub mod cross_entropy;
pub mod dropout;
pub mod elementwise;
pub mod embedding;
pub mod layernorm;
pub mod linear_attention;
pub mod mask;
pub mod matmul;
pub mod recurrent;
pub mod reduce;
pub mod rope;
pub mod shape;
pub mod softmax;
#[cfg(test)]
pub mod gradcheck;

/// The float types ops run in: f32 for training, f64 for gradient checks.
pub trait Float: num_traits::Float + std::iter::Sum + std::fmt::Debug + Default + Send + Sync + 'static {
    fn c(x: f64) -> Self;
}
impl Float for f32 {
    fn c(x: f64) -> Self {
        x as f32
    }
}
impl Float for f64 {
    fn c(x: f64) -> Self {
        x
    }
}
