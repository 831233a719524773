//! Smoothing methods. Each is an [`Estimator`] built from the counts; the n-gram model asks it
//! for probabilities, distributions and explanations and never looks at which method it is.

mod additive;
mod mle;

use super::counts::{CtxId, NgramCounts};
use super::explain::Level;
use crate::text::{TokenId, Vocab};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// The smoothing method ids, the same in the page, the CLI, links and model files.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Maximum likelihood: c(h w) / c(h). Unseen events get probability 0.
    Mle,
    /// Add-k (Lidstone); Laplace when k = 1.
    #[default]
    Addk,
}

impl Method {
    pub const ALL: &'static [Method] = &[Method::Mle, Method::Addk];

    pub fn id(self) -> &'static str {
        match self {
            Method::Mle => "mle",
            Method::Addk => "addk",
        }
    }

    pub fn parse(s: &str) -> Result<Method> {
        Method::ALL.iter().copied().find(|m| m.id() == s).ok_or_else(|| {
            let ids: Vec<_> = Method::ALL.iter().map(|m| m.id()).collect();
            Error::config(format!("unknown smoothing '{s}': choose one of {}", ids.join(", ")))
        })
    }
}

/// One smoothing method's settings. Fields a method does not use are ignored by it (and hidden in the UI).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct Smoothing {
    pub method: Method,
    /// Pseudo-count added to every event (add-k).
    pub k: f64,
}

impl Default for Smoothing {
    fn default() -> Self {
        Smoothing { method: Method::default(), k: 0.1 }
    }
}

/// A query's contexts: `chain[d]` is the seen context of the last d tokens (`chain[0]` the root);
/// `depth` is the length of the full context the model conditions on, which may be longer than
/// the longest seen one (`chain.len() - 1`).
pub struct Query<'a> {
    pub chain: &'a [CtxId],
    pub depth: usize,
}

impl Query<'_> {
    /// The full context, if it was seen in training.
    pub fn full(&self) -> Option<CtxId> {
        (self.chain.len() > self.depth).then(|| self.chain[self.depth])
    }
    pub fn longest(&self) -> CtxId {
        *self.chain.last().expect("chain has the root")
    }
}

pub trait Estimator: Send + Sync {
    /// Human description of the method and its settings, e.g. "add-k (k = 0.5)".
    fn describe(&self) -> String;

    /// Whether distributions sum to 1.
    fn normalized(&self) -> bool {
        true
    }

    /// P(w | context).
    fn prob(&self, c: &NgramCounts, q: &Query, w: TokenId) -> f64;

    /// P(· | context) for every id; ids the vocabulary can't predict get 0.
    fn distribution(&self, c: &NgramCounts, q: &Query, vocab: &Vocab, out: &mut [f64]) {
        for (w, p) in out.iter_mut().enumerate() {
            let w = w as TokenId;
            *p = if vocab.is_predictable(w) { self.prob(c, q, w) } else { 0.0 };
        }
    }

    /// The trace behind `prob`, longest context first. Token strings are filled in by the model.
    fn explain(&self, c: &NgramCounts, q: &Query, w: TokenId) -> (Vec<Level>, String);
}

/// Builds the estimator for a method from the counts.
pub fn build(cfg: &Smoothing, _counts: &NgramCounts, vocab: &Vocab) -> Result<Box<dyn Estimator>> {
    Ok(match cfg.method {
        Method::Mle => Box::new(mle::Mle),
        Method::Addk => Box::new(additive::AddK::new(cfg.k, vocab)?),
    })
}
