//! The neural engine: f32 tensors on flat buffers, compute kernels, layers as forward/backward pairs,
//! optimizers, and the neural models. See docs/architecture.md, "Neural engine".

#[cfg(all(test, not(target_arch = "wasm32")))]
mod alloc_tests;
pub mod kernels;
pub mod memory;
pub mod models;
pub mod backend;
pub mod ops;
pub mod optim;
pub mod params;
#[cfg(test)]
mod reference_tests;
pub mod tensor;
pub mod train;
