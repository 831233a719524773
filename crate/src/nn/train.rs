//! Training settings shared by every neural model, with documented defaults.

use super::optim::schedule::Decay;
use super::optim::OptimConfig;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(default)]
pub struct TrainConfig {
    /// Optimizer and its hyper-parameters (`optimizer`: `sgd` | `adam` | `adamw`, `momentum`, `beta1`,
    /// `beta2`, `eps`, `weight_decay`). Default: AdamW, β = (0.9, 0.999), ε = 1e-8, weight decay 0.01.
    #[serde(flatten)]
    pub optim: OptimConfig,
    /// Peak learning rate. Default 3e-3.
    pub lr: f64,
    /// Linear warm-up steps. Default 100.
    pub warmup: u64,
    /// After warm-up: `cosine` (default) or `none`.
    pub decay: Decay,
    /// Cosine decays to this fraction of `lr`. Default 0.1.
    pub min_lr_ratio: f64,
    /// Clip gradients to this global L2 norm (0 = no clipping). Default 1.0.
    pub clip: f64,
    /// Examples (predicted tokens) per optimizer step. Default 64.
    pub batch: usize,
    /// Optimizer steps. Default 2000.
    pub steps: u64,
    /// Validation loss every this many steps (and after the last). Default 100.
    pub eval_interval: u64,
    /// Validation loss is measured on the first this-many predicted tokens of the validation split
    /// (0 = all of it). A fixed subset keeps evaluation cheap and the curve comparable. Default 8192.
    pub eval_tokens: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            optim: OptimConfig::default(),
            lr: 3e-3,
            warmup: 100,
            decay: Decay::Cosine,
            min_lr_ratio: 0.1,
            clip: 1.0,
            batch: 64,
            steps: 2000,
            eval_interval: 100,
            eval_tokens: 8192,
        }
    }
}

impl TrainConfig {
    pub fn validate(&self) -> Result<()> {
        let o = &self.optim;
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(Error::setting("lr", "the learning rate must be a positive number"));
        }
        if !(1..=65_536).contains(&self.batch) {
            return Err(Error::setting("batch", "the batch size must be between 1 and 65536"));
        }
        if self.steps == 0 || self.steps > 100_000_000 {
            return Err(Error::setting("steps", "the number of training steps must be between 1 and 100,000,000"));
        }
        if !(0.0..1.0).contains(&o.beta1) || !(0.0..1.0).contains(&o.beta2) || !(0.0..1.0).contains(&o.momentum) {
            return Err(Error::setting("betas", "momentum, beta1 and beta2 must be in [0, 1)"));
        }
        // Negated comparisons on purpose: a NaN fails them too.
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        if !(o.eps > 0.0) || !(o.weight_decay >= 0.0) || !(self.clip >= 0.0) || !(0.0..=1.0).contains(&self.min_lr_ratio) {
            return Err(Error::setting("optim-ranges", "eps must be positive; weight decay and clip ≥ 0; min_lr_ratio in [0, 1]"));
        }
        if self.eval_interval == 0 {
            return Err(Error::setting("eval-interval", "the evaluation interval must be at least 1 step"));
        }
        Ok(())
    }
}
