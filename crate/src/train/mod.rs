//! The training contract every model family implements (layer 3 of docs/architecture.md): a
//! [`Trainer`] does bounded chunks of work and reports [`Progress`]; a [`Family`] builds trainers
//! from settings or model files; a [`Device`] is the compute device the caller hands in.
//! Nothing here knows a concrete family: n-gram and neural models (layer 4) implement these traits,
//! and the session (layer 6) finds them through the registry (`crate::families`).

pub mod args;
pub mod family;
pub mod history;
pub mod memory;
pub mod readback;

pub use family::{Device, Family};
pub use history::{History, LossPoint};
pub use memory::MemoryEstimate;
pub use readback::{block_on, Readback};

use crate::lm::LanguageModel;
use crate::modelfile::TensorSource;
use crate::text::Dataset;
use crate::{Error, Result};
use serde::Serialize;
use serde_json::Value;
use std::rc::Rc;

/// Where training stands, reported after every chunk of work.
#[derive(Serialize, Clone, Debug, PartialEq, Default)]
pub struct Progress {
    pub done: bool,
    /// What is happening now, e.g. `counting`.
    pub phase: String,
    pub step: u64,
    pub total_steps: u64,
    /// Training tokens processed so far.
    pub tokens: u64,
    /// Training loss (nats per token) of the latest step.
    pub train_loss: Option<f64>,
    /// The latest validation loss (nats per token), measured every `eval_interval` steps.
    pub valid_loss: Option<f64>,
    /// Learning rate of the latest step (neural models).
    pub lr: Option<f64>,
    /// Global gradient norm of the latest step, before clipping (neural models).
    pub grad_norm: Option<f64>,
    /// Milliseconds spent training so far, over every session that trained this model (for steps/s).
    pub elapsed_ms: f64,
    /// Steps whose gradients were clipped, over the whole run (neural models).
    pub clipped_steps: u64,
    /// Every step since the previous report: the points to append to the loss curve.
    pub points: Vec<LossPoint>,
}

/// A chunk of training recorded on the device, waiting for its one readback.
pub struct Chunk {
    /// Resolves to the values the trainer asked for (at once on the CPU).
    pub readback: Readback,
}

/// Trains one model family in chunks, so the caller (the worker) can pause, resume and stop
/// between them. A chunk is two calls: [`Trainer::run`] records up to `budget` units of work and
/// returns the chunk's single readback; the caller awaits it — holding no borrow of the trainer —
/// and hands the values to [`Trainer::finish`]. [`train_chunk`] does both for synchronous callers.
pub trait Trainer {
    /// Records at most `budget` units of work (optimizer steps for neural models).
    fn run(&mut self, data: &Dataset, budget: u64) -> Result<Chunk>;
    /// Takes the chunk's readback and reports (errors such as `nan-loss` surface here).
    fn finish(&mut self, data: &Dataset, values: Vec<Vec<f32>>) -> Result<Progress>;
    /// The model, once one exists (n-gram: after counting; neural: from initialisation on). Shared,
    /// so a generation can keep its stream between chunks while the trainer goes on.
    fn model(&self) -> Option<Rc<dyn LanguageModel>>;
    /// Family-specific views (e.g. the n-gram "why this probability" trace); `None` if unknown.
    fn view(&self, _name: &str, _args: &Value, _data: &Dataset) -> Option<Result<Value>> {
        None
    }
    /// Sets the number of optimizer steps to train to ("train more": Continue after a stop or a
    /// finished run), at least the steps already taken; the remaining steps follow the schedule of the
    /// new count. Families without steps (n-gram counting) refuse.
    fn set_steps(&mut self, _steps: u64) -> Result<()> {
        Err(Error::new("cannot-continue", "Only a neural model can train further."))
    }
    /// Receives progress reports from inside long steps (the CLI prints them; the page ignores them).
    fn set_progress(&mut self, _hook: ProgressHook) {}
    /// The model as an ARPA file, for families that have one (n-gram backoff models).
    fn arpa(&self) -> Option<Result<String>> {
        None
    }
    /// The tensors (fetched one at a time as the file is written) and the training state for a model
    /// file; `None` if this family cannot be saved.
    fn save(&self) -> Option<Result<(Box<dyn TensorSource + '_>, Value)>> {
        None
    }
    /// On a device that is read only asynchronously (WebGPU in the browser), what saving reads from
    /// the device beyond what each chunk already brought back (the optimizer moments): the caller
    /// awaits it and hands the values to [`Trainer::save_prefetched`] before [`Trainer::save`].
    /// `None` where `save` can read by itself.
    fn save_prefetch(&mut self) -> Option<Readback> {
        None
    }
    fn save_prefetched(&mut self, _values: Vec<Vec<f32>>) {}
    /// What the model needs in memory (neural models).
    fn estimate(&self) -> Option<MemoryEstimate> {
        None
    }
    /// Whether a running chunk can be interrupted between units of work (the page offers Stop).
    fn stoppable(&self) -> bool {
        true
    }
}

/// One chunk, for synchronous callers (the CLI, tests): run, wait for the readback, finish.
pub fn train_chunk(t: &mut dyn Trainer, data: &Dataset, budget: u64) -> Result<Progress> {
    let chunk = t.run(data, budget)?;
    let values = block_on(chunk.readback);
    t.finish(data, values)
}

/// A progress callback: the phase (`counting`, `sorting`, `estimating`, …) and the fraction done.
pub type ProgressHook = Box<dyn FnMut(&'static str, f64)>;
