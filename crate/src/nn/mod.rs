//! The neural engine: f32 tensors on flat buffers, compute kernels, layers as forward/backward pairs,
//! optimizers, the model interface, the one trainer, and the neural models.
//! See docs/architecture.md, "Neural engine".

#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod alloc_tests;
pub mod attention_cost;
pub mod backend;
pub mod batches;
pub mod engine;
pub mod kernels;
pub mod model;
pub mod models;
pub mod ops;
pub mod optim;
pub mod params;
#[cfg(test)]
mod reference_tests;
pub mod tensor;
pub mod train;
pub mod trainer;
