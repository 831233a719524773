//! Smoothing methods. Each is an [`Estimator`] built from the counts; the n-gram model asks it
//! for probabilities, distributions and explanations and never looks at which method it is.
//!
//! Every method except add-k is a *backoff-structured* model: it stores one probability per seen
//! n-gram and one weight per seen context ([`table::BackoffTable`]), and
//! P(w | h) = p(h w) if h w was seen, else weight(h) · P(w | h'), where h' drops h's oldest token,
//! down to a dense unigram table. Interpolated methods fit this form too (the stored p is the
//! interpolated probability, the weight is γ(h)), which is exactly what an ARPA file stores.
//!
//! The order-0 distribution is the uniform one over the predictable vocabulary V (every id but
//! `<s>`; `</s>` only when there are boundaries), so `[UNK]` and other zerotons get probability
//! from it and every normalised distribution sums to 1 over V. See docs/conventions.md.

mod absolute;
mod additive;
pub(crate) mod continuation;
pub(crate) mod interpolation;
mod katz;
mod kneser_ney;
mod mle;
mod modified_kn;
mod stupid_backoff;
pub mod table;
mod witten_bell;

use super::counts::NgramCounts;
use super::explain::Level;
use super::trie::CtxId;
use crate::text::{TokenId, Vocab};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
pub use interpolation::{check_lambdas, learn_lambdas, EmReport};
pub use table::BackoffTable;

/// The smoothing method ids, the same in the page, the CLI, links and model files.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Maximum likelihood: c(h w) / c(h). Unseen events get probability 0.
    Mle,
    /// Add-k (Lidstone); Laplace when k = 1.
    Addk,
    /// Good-Turing discounting with Katz backoff.
    Katz,
    /// Interpolated absolute discounting.
    Absolute,
    /// Interpolated Witten-Bell.
    WittenBell,
    /// Interpolated Kneser-Ney with one discount per order.
    Kn,
    /// Interpolated modified Kneser-Ney as KenLM's `lmplz` estimates it.
    #[default]
    ModifiedKn,
    /// Stupid backoff (Brants et al. 2007): unnormalised scores.
    StupidBackoff,
    /// Linear interpolation of orders 0..n (Jelinek-Mercer), λ learned by EM on held-out data.
    Interpolation,
}

impl Method {
    pub const ALL: &'static [Method] = &[
        Method::Mle,
        Method::Addk,
        Method::Katz,
        Method::Absolute,
        Method::WittenBell,
        Method::Kn,
        Method::ModifiedKn,
        Method::StupidBackoff,
        Method::Interpolation,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Method::Mle => "mle",
            Method::Addk => "addk",
            Method::Katz => "katz",
            Method::Absolute => "absolute",
            Method::WittenBell => "witten-bell",
            Method::Kn => "kn",
            Method::ModifiedKn => "modified-kn",
            Method::StupidBackoff => "stupid-backoff",
            Method::Interpolation => "interpolation",
        }
    }

    pub fn parse(s: &str) -> Result<Method> {
        Method::ALL.iter().copied().find(|m| m.id() == s).ok_or_else(|| {
            let ids: Vec<_> = Method::ALL.iter().map(|m| m.id()).collect();
            Error::setting("smoothing", format!("unknown smoothing '{s}': choose one of {}", ids.join(", "))).with("name", s).with("ids", ids.join(", "))
        })
    }
}

/// One smoothing method's settings. Fields a method does not use are ignored by it (and hidden in
/// the UI). Defaults are documented in docs/conventions.md.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct Smoothing {
    pub method: Method,
    /// Pseudo-count added to every event (add-k). Default 0.1.
    pub k: f64,
    /// Fixed discount D for `kn` and `absolute`, in (0, 1]. Absent: each order uses
    /// D = n1 / (n1 + 2·n2) from its own count-of-counts (Ney, Essen & Kneser 1994).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount: Option<f64>,
    /// `modified-kn`: when an order's closed-form discounts are out of range (small or artificial
    /// data), use `fallback_discounts` instead of failing, like `lmplz --discount_fallback`.
    pub discount_fallback: bool,
    /// D1, D2, D3+ used by `discount_fallback` (KenLM's defaults).
    pub fallback_discounts: [f64; 3],
    /// Stupid backoff's weight for each step down. Default 0.4 (Brants et al. 2007).
    pub alpha: f64,
    /// Interpolation weights λ0 (uniform), λ1 (unigram), …, λn, set by hand; absent = learned by EM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lambdas: Option<Vec<f64>>,
    /// Share of the training units held out to learn the interpolation weights. Default 0.1.
    pub heldout: f64,
    /// Katz: counts up to this are Good-Turing discounted, larger ones are trusted. Default 5.
    pub gt_max: u32,
}

impl Default for Smoothing {
    fn default() -> Self {
        Smoothing {
            method: Method::default(),
            k: 0.1,
            discount: None,
            discount_fallback: false,
            fallback_discounts: [0.5, 1.0, 1.5],
            alpha: 0.4,
            lambdas: None,
            heldout: 0.1,
            gt_max: 5,
        }
    }
}

/// Largest Good-Turing threshold: above a few dozen, counts of counts are too sparse to mean anything.
pub const MAX_GT_MAX: u32 = 100;

impl Smoothing {
    pub fn of(method: Method) -> Self {
        Smoothing { method, ..Smoothing::default() }
    }

    pub fn validate(&self, order: usize) -> Result<()> {
        let m = self.method.id();
        match self.method {
            Method::Addk if !(self.k > 0.0 && self.k.is_finite()) => {
                return Err(Error::setting("addk", format!("add-k needs k > 0 (got {}); k = 0 is MLE", self.k)).with("got", self.k))
            }
            Method::Kn | Method::Absolute => {
                if let Some(d) = self.discount {
                    if !(d > 0.0 && d <= 1.0) {
                        return Err(Error::setting("discount", format!("{m} needs a discount D in (0, 1] (got {d})")).with("got", d));
                    }
                }
            }
            Method::ModifiedKn if self.discount_fallback => {
                for (i, &d) in self.fallback_discounts.iter().enumerate() {
                    if !(0.0..=(i + 1) as f64).contains(&d) {
                        return Err(Error::setting("fallback-discount", format!(
                            "the fallback discount for count {} was {d}, which is not in the range [0, {}]",
                            i + 1,
                            i + 1
                        ))
                        .with("count", i + 1)
                        .with("got", d));
                    }
                }
            }
            Method::StupidBackoff if !(self.alpha > 0.0 && self.alpha.is_finite()) => {
                return Err(Error::setting("alpha", format!("stupid backoff needs α > 0 (got {})", self.alpha)).with("got", self.alpha))
            }
            Method::Interpolation => {
                if let Some(l) = &self.lambdas {
                    interpolation::check_lambdas(l, order)?;
                } else if !(self.heldout > 0.0 && self.heldout < 1.0) {
                    return Err(Error::setting("heldout", format!("the held-out share must be between 0 and 1 (got {})", self.heldout)).with("got", self.heldout));
                }
            }
            Method::Katz if !(1..=MAX_GT_MAX).contains(&self.gt_max) => {
                return Err(Error::setting("gt-max", format!(
                    "Katz's Good-Turing threshold must be between 1 and {MAX_GT_MAX} (got {}); Katz used 5",
                    self.gt_max
                ))
                .with("max", MAX_GT_MAX)
                .with("got", self.gt_max))
            }
            _ => {}
        }
        Ok(())
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

/// What an estimator's `explain` returns: the per-order trace (longest context first, then lower
/// orders, then the uniform level 0 where the method uses it) and a sentence about the method's
/// own arithmetic. The model adds token strings and the backoff story (`explain::story`).
pub struct Trace {
    pub levels: Vec<Level>,
    /// How the levels combine: `Backoff` (the first seen level is used, weighted by the backoff
    /// weights above it) or `Interpolated` (every level contributes).
    pub kind: TraceKind,
    pub note: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TraceKind {
    Single,
    Backoff,
    Interpolated,
}

pub trait Estimator: Send + Sync {
    /// Human description of the method and its settings, e.g. "add-k (k = 0.5)".
    fn describe(&self) -> String;

    /// Whether distributions sum to 1.
    fn normalized(&self) -> bool {
        true
    }

    /// P(w | context). Methods with a backoff table score from it; the others override this.
    fn prob(&self, c: &NgramCounts, q: &Query, w: TokenId) -> f64 {
        self.table().expect("an estimator without a backoff table overrides prob").prob(c, q.chain, w)
    }

    /// P(· | context) for every id; ids the vocabulary can't predict get 0.
    fn distribution(&self, c: &NgramCounts, q: &Query, _vocab: &Vocab, out: &mut [f64]) {
        self.table().expect("an estimator without a backoff table overrides distribution").distribution(c, q.chain, out)
    }

    /// The trace behind `prob`.
    fn explain(&self, c: &NgramCounts, q: &Query, w: TokenId) -> Trace;

    /// The stored probabilities and backoff weights — what an ARPA file holds — for methods that
    /// can be written as one (not add-k, which is not backoff-structured, nor stupid backoff,
    /// which is not a probability model).
    fn table(&self) -> Option<&BackoffTable> {
        None
    }

    /// Learned parameters (discounts, λs, Good-Turing coefficients) as a JSON object, for the views;
    /// per-order numbers go in `orders`: [{order, …}].
    fn params(&self) -> Value {
        serde_json::json!({ "orders": [] })
    }
}

/// Builds the estimator for a method from the counts. `heldout` is the held-out stream the
/// interpolation weights are learned on, with the counts of the rest (`None` for other methods
/// or when λs are given).
pub fn build(
    cfg: &Smoothing,
    counts: &NgramCounts,
    vocab: &Vocab,
    lambdas: Option<&interpolation::Learned>,
) -> Result<Box<dyn Estimator>> {
    cfg.validate(counts.order)?;
    Ok(match cfg.method {
        Method::Mle => Box::new(mle::Mle::new(counts, vocab)),
        Method::Addk => Box::new(additive::AddK::new(cfg.k, vocab)?),
        Method::Katz => Box::new(katz::Katz::new(counts, vocab, cfg.gt_max)),
        Method::Absolute => Box::new(absolute::Absolute::new(counts, vocab, cfg.discount)?),
        Method::WittenBell => Box::new(witten_bell::WittenBell::new(counts, vocab)),
        Method::Kn => Box::new(kneser_ney::KneserNey::new(counts, vocab, cfg.discount)?),
        Method::ModifiedKn => Box::new(modified_kn::ModifiedKn::new(counts, vocab, cfg)?),
        Method::StupidBackoff => Box::new(stupid_backoff::StupidBackoff::new(counts, vocab, cfg.alpha)),
        Method::Interpolation => {
            let learned = match (&cfg.lambdas, lambdas) {
                (Some(l), _) => interpolation::Learned::given(l, counts.order)?,
                (None, Some(learned)) => learned.clone(),
                (None, None) => {
                    return Err(Error::setting("lambdas-missing", "interpolation needs λ weights: give them, or train so they are learned by EM"))
                }
            };
            Box::new(interpolation::Interpolation::new(counts, vocab, learned))
        }
    })
}

pub use interpolation::Learned;
