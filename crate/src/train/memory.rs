//! Memory estimates: what a neural model will allocate, computed from its configuration before
//! anything is allocated, so the page can show it and refuse what would not fit.
//!
//! The wasm budget: a wasm32 memory can grow to 4 GiB, but browsers may refuse large growths,
//! especially on phones, and the page also holds the corpus, the token streams and the JS side.
//! We allow the model's buffers [`WASM_BUDGET`] = 1 GiB. The native CLI allows [`NATIVE_BUDGET`] = 16 GiB.

use crate::{Error, Result};
use serde::Serialize;

pub const WASM_BUDGET: u64 = 1 << 30;
pub const NATIVE_BUDGET: u64 = 16 << 30;

/// The budget on this target.
pub fn budget() -> u64 {
    if cfg!(target_arch = "wasm32") { WASM_BUDGET } else { NATIVE_BUDGET }
}

/// Bytes a model needs, by kind. Every figure counts f32 (4 bytes) or token ids (4 bytes).
#[derive(Serialize, Clone, Debug, PartialEq, Default)]
pub struct MemoryEstimate {
    /// Number of parameters (floats).
    pub parameters: u64,
    pub parameter_bytes: u64,
    pub gradient_bytes: u64,
    /// Momentum (SGD) or the two moments (Adam, AdamW).
    pub optimizer_bytes: u64,
    /// Activations and their gradients for the batch (and the evaluation batch), inputs and targets.
    pub activation_bytes: u64,
    /// Scratch: the matmul packing buffers.
    pub scratch_bytes: u64,
    pub total_bytes: u64,
    /// The budget on this target.
    pub budget_bytes: u64,
    pub fits: bool,
}

impl MemoryEstimate {
    /// `parameters` numbers stored in `parameter_floats` floats (with alignment padding), with
    /// gradients of the same size and `optimizer_floats_per_param` floats of optimizer state each.
    pub fn new(parameters: u64, parameter_floats: u64, optimizer_floats_per_param: u64, activation_bytes: u64, scratch_bytes: u64) -> Self {
        let pb = parameter_floats * 4;
        let total = pb * (2 + optimizer_floats_per_param) + activation_bytes + scratch_bytes;
        let budget = budget();
        MemoryEstimate {
            parameters,
            parameter_bytes: pb,
            gradient_bytes: pb,
            optimizer_bytes: pb * optimizer_floats_per_param,
            activation_bytes,
            scratch_bytes,
            total_bytes: total,
            budget_bytes: budget,
            fits: total <= budget,
        }
    }

    /// `Err(model-too-large)` with the figures and what to reduce, if over budget.
    pub fn check(&self, reduce: Reduce) -> Result<()> {
        if self.fits {
            return Ok(());
        }
        Err(Error::new(
            "model-too-large",
            format!(
                "This model needs about {} (parameters {}, gradients {}, optimizer state {}, activations {}), \
                 but the budget here is {}. Reduce {}.",
                human(self.total_bytes),
                human(self.parameter_bytes),
                human(self.gradient_bytes),
                human(self.optimizer_bytes),
                human(self.activation_bytes),
                human(self.budget_bytes),
                reduce.text
            ),
        )
        .keyed("budget")
        .with("total_bytes", self.total_bytes)
        .with("parameter_bytes", self.parameter_bytes)
        .with("gradient_bytes", self.gradient_bytes)
        .with("optimizer_bytes", self.optimizer_bytes)
        .with("activation_bytes", self.activation_bytes)
        .with("budget_bytes", self.budget_bytes)
        .with("reduce", reduce.key))
    }
}

/// What to make smaller when a model does not fit: its family's knobs, in English for the CLI and as
/// a key for the page (`error.reduce.<key>`).
#[derive(Clone, Copy, Debug)]
pub struct Reduce {
    pub key: &'static str,
    pub text: &'static str,
}

/// The fixed-window and recurrent models: a vocabulary, an embedding, a hidden layer.
pub const REDUCE_SIZES: Reduce = Reduce { key: "sizes", text: "the vocabulary (max size / min count), the embedding or hidden size, or the batch size" };
/// The Transformer: its width, depth and context.
pub const REDUCE_TRANSFORMER: Reduce = Reduce { key: "transformer", text: "the vocabulary (max size / min count), the width, the number of layers, the context or the batch size" };

/// Bytes as "12.3 MiB".
pub fn human(b: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = b as f64;
    let mut u = 0;
    while x >= 1024.0 && u + 1 < units.len() {
        x /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{b} B") } else { format!("{x:.1} {}", units[u]) }
}
