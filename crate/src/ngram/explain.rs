//! "Why this probability": the per-order trace of how a smoothing method arrived at P(w | h).

use serde::Serialize;

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Explanation {
    /// Smoothing method id, e.g. `addk`.
    pub method: String,
    pub context: Vec<String>,
    pub token: String,
    pub probability: f64,
    /// One entry per order, from the longest context down to the unigram (and the uniform
    /// distribution, order 0, where the method uses it).
    pub levels: Vec<Level>,
    /// One or two sentences that say what happened, e.g. which order the estimate backed off to.
    pub summary: String,
}

#[derive(Serialize, Clone, Debug, PartialEq, Default)]
pub struct Level {
    /// n-gram order of this level: context length + 1 (0 for the uniform distribution).
    pub order: usize,
    /// The context at this level, oldest token first.
    pub context: Vec<String>,
    /// The count of (context, token) this method uses at this order.
    pub count: f64,
    /// `raw`, `continuation` (Kneser-Ney adjusted counts) or `none` (uniform level).
    pub count_kind: &'static str,
    /// Σ of the counts after this context; 0 when the context was never seen.
    pub context_count: f64,
    /// Discount subtracted from `count`, for discounting methods.
    pub discount: Option<f64>,
    /// Weight given to the lower order: backoff weight, γ(h) or 1 − λ.
    pub lower_weight: Option<f64>,
    /// Mixture weight λ of this order (linear interpolation).
    pub lambda: Option<f64>,
    /// This order's own term before mixing in the lower order.
    pub estimate: f64,
    /// P(token | context at this level), lower orders included.
    pub probability: f64,
    /// What this level contributes to the final probability.
    pub contribution: f64,
    pub seen: bool,
    pub note: String,
}
