//! nanoGPT's evaluation protocol (`estimate_loss()` in its train.py), for a like-for-like
//! validation loss:
//!
//! ```text
//! for each of `batches` batches:                       nanoGPT: eval_iters = 200
//!     draw `batch_size` starts i ∈ [0, n − T) uniformly  nanoGPT: torch.randint(len(data) − block_size)
//!     x = s[i .. i+T], y = s[i+1 .. i+T+1]              every window inside the split
//!     loss_b = mean over the B·T positions of −ln P(y_k | x_0 … x_k)    contexts of 1 … T tokens
//! loss = mean over the batches of loss_b               (nats)
//! ```
//! Each window is scored on its own through [`LanguageModel::score`] (a Transformer reads it as one
//! training-shaped pass of T rows; a recurrent model starts from its initial state), and only its T
//! targets count: the window's first token is context. A `<s>` target is never predicted, so it
//! does not count (with no boundaries the stream holds one, at its start, which is never a target).
//! The starts are drawn from the run's seed (`Rng::derive(seed, "eval-windows")`), so the number is
//! reproducible. Our usual validation loss (`eval::perplexity`) scores every validation token once,
//! with at least T/2 tokens of context for a Transformer; this one averages contexts 0 … T − 1, as
//! training sees them, so it is higher.

use super::LanguageModel;
use crate::rng::Rng;
use crate::text::{TokenId, BOS};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Which validation losses a run reports.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum EvalProtocol {
    /// Every validation token once (`eval::perplexity`) only.
    #[default]
    Stream,
    /// Also nanoGPT's estimate over random windows ([`window_loss`]).
    Windows,
}

/// The settings of the evaluation protocol. Defaults: off; when on, nanoGPT's shakespeare_char
/// numbers (200 batches of 12 windows of the model's context).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct EvalConfig {
    pub protocol: EvalProtocol,
    /// nanoGPT's `eval_iters`.
    pub batches: usize,
    /// Windows per batch (nanoGPT's `batch_size`).
    pub batch_size: usize,
    /// Tokens of context per window, T (nanoGPT's `block_size`); 0: the model's context.
    pub window: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig { protocol: EvalProtocol::Stream, batches: 200, batch_size: 12, window: 0 }
    }
}

impl EvalConfig {
    pub fn is_default(&self) -> bool {
        *self == EvalConfig::default()
    }

    pub fn validate(&self) -> Result<()> {
        if self.protocol == EvalProtocol::Windows && (self.batches == 0 || self.batch_size == 0) {
            return Err(Error::config("the window evaluation needs at least one batch of at least one window"));
        }
        Ok(())
    }
}

/// nanoGPT's estimate on one split.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct WindowLoss {
    /// Mean over the batches of each batch's mean −ln P (nats; a batch of `<s>` targets only counts not).
    pub loss: f64,
    /// e^loss.
    pub perplexity: f64,
    pub batches: usize,
    pub batch_size: usize,
    /// T: every window reads T tokens and predicts the T after each of them.
    pub window: usize,
    /// Positions scored in all (B·T per batch, less `<s>` targets).
    pub scored: usize,
}

/// nanoGPT's `estimate_loss()` over the boundary-marked stream `tokens` (see the module comment).
pub fn window_loss(model: &dyn LanguageModel, tokens: &[TokenId], cfg: &EvalConfig, seed: u64) -> Result<WindowLoss> {
    cfg.validate()?;
    let window = match (cfg.window, model.info().context) {
        (0, Some(t)) => t,
        (0, None) => return Err(Error::config("this model has no fixed context: give the evaluation window (--eval-window)")),
        (t, _) => t,
    };
    if tokens.len() <= window {
        return Err(Error::new(
            "split-too-small",
            format!("the validation split has {} tokens, too few for one window of {window} tokens and its targets", tokens.len()),
        ));
    }
    let mut rng = Rng::derive(seed, "eval-windows");
    let (mut total, mut scored, mut counted) = (0.0f64, 0usize, 0usize);
    for _ in 0..cfg.batches {
        let (mut sum, mut n) = (0.0f64, 0usize);
        for _ in 0..cfg.batch_size {
            let i = rng.below(tokens.len() - window);
            let w = &tokens[i..=i + window];
            // `score` also predicts w[0] (from a lone `<s>`) unless it is `<s>`: that one is context.
            let scores = model.score(w);
            let skip = usize::from(w[0] != BOS);
            for lp in &scores[skip..] {
                sum -= lp * std::f64::consts::LN_2;
            }
            n += scores.len() - skip;
        }
        if n > 0 {
            total += sum / n as f64;
            counted += 1;
        }
        scored += n;
    }
    let loss = if counted == 0 { f64::NAN } else { total / counted as f64 };
    Ok(WindowLoss { loss, perplexity: loss.exp(), batches: cfg.batches, batch_size: cfg.batch_size, window, scored })
}
