//! "Why this probability": the per-order trace of how a smoothing method arrived at P(w | h), and
//! the sentence that tells its backoff story (an unseen trigram falling back on a seen bigram).

use super::smoothing::TraceKind;
use serde::Serialize;

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Explanation {
    /// Smoothing method id, e.g. `modified-kn`.
    pub method: String,
    /// How the levels combine: `single` (one order), `backoff` (the longest seen n-gram decides)
    /// or `interpolated` (every order contributes).
    pub kind: TraceKind,
    pub context: Vec<String>,
    pub token: String,
    pub probability: f64,
    /// False for stupid backoff: the "probability" is a score.
    pub normalized: bool,
    /// One entry per order, from the longest context down to the unigram, then the uniform
    /// distribution (order 0) where the method uses it.
    pub levels: Vec<Level>,
    /// What happened, in words: which orders were seen, where the estimate backed off to, and
    /// how the method computes its numbers.
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
    /// Σ of the counts (of the same kind) after this context; 0 when the context was never seen.
    pub context_count: f64,
    /// Discount subtracted from `count` (absolute, Kneser-Ney), or the Good-Turing coefficient d_r
    /// that multiplies it (Katz).
    pub discount: Option<f64>,
    /// Weight given to the lower order: backoff weight α(h), γ(h), 1 − μ or stupid backoff's α.
    /// `None` when the context was never seen (the order is skipped, weight 1).
    pub lower_weight: Option<f64>,
    /// Mixture weight λ of this order for this query (linear interpolation).
    pub lambda: Option<f64>,
    /// This order's own term: the discounted estimate (backoff methods) or the term added before
    /// the lower order is mixed in (interpolated methods).
    pub estimate: f64,
    /// P(token | context at this level), lower orders included.
    pub probability: f64,
    /// What this level contributes to the final probability (they sum to it).
    pub contribution: f64,
    /// Whether the n-gram (context, token) was seen at this order.
    pub seen: bool,
    pub note: String,
}

fn quote(ctx: &[String], token: &str) -> String {
    let mut s: Vec<&str> = ctx.iter().map(String::as_str).collect();
    s.push(token);
    format!("'{}'", s.join(" "))
}

fn name(order: usize) -> String {
    match order {
        1 => "unigram".into(),
        2 => "bigram".into(),
        3 => "trigram".into(),
        k => format!("{k}-gram"),
    }
}

/// "once", "twice", "5 times".
fn count_words(n: f64) -> String {
    match n {
        1.0 => "once".into(),
        2.0 => "twice".into(),
        _ if n.fract() == 0.0 => format!("{n:.0} times"),
        _ => format!("{n} times"),
    }
}

fn times(n: f64, kind: &str) -> String {
    match kind {
        "continuation" => format!("preceded by {n:.0} different word{} (its continuation count)", if n == 1.0 { "" } else { "s" }),
        _ => format!("seen {}", count_words(n)),
    }
}

/// The backoff story of a trace whose levels already carry their context strings.
pub fn story(kind: TraceKind, levels: &[Level], token: &str, probability: f64) -> String {
    let grams: Vec<&Level> = levels.iter().filter(|l| l.order > 0).collect();
    let Some(top) = grams.first() else { return String::new() };
    let pct = |x: f64| if probability > 0.0 { 100.0 * x / probability } else { 0.0 };
    let mut s = String::new();
    if kind == TraceKind::Single {
        return s;
    }
    if top.seen {
        s += &format!("The {} {} was {}", name(top.order), quote(&top.context, token), times(top.count, top.count_kind));
        if top.context_count > 0.0 && top.order > 1 {
            s += &format!(" after its context, which occurred {}", count_words(top.context_count));
        }
        s += ".";
        if kind == TraceKind::Interpolated {
            s += &format!(
                " Interpolation still mixes in the lower orders: this order gives {:.1}% of the probability.",
                pct(top.contribution)
            );
        }
        return s;
    }
    s += &format!("The {} {} was never seen", name(top.order), quote(&top.context, token));
    if top.order > 1 {
        if top.context_count > 0.0 {
            s += &format!(", although its context occurred {}", count_words(top.context_count));
        } else {
            s += &format!(" — not even its context '{}'", top.context.join(" "));
        }
    }
    s += ".";
    let mut weight = top.lower_weight.unwrap_or(1.0);
    let mut skipped = Vec::new();
    for l in &grams[1..] {
        if l.seen {
            if !skipped.is_empty() {
                s += &format!(" The {} {} unseen too.", skipped.join(" and "), if skipped.len() > 1 { "were" } else { "was" });
            }
            match kind {
                TraceKind::Backoff => {
                    s += &format!(
                        " Backing off to the {} {}, {}, with weight {:.4}.",
                        name(l.order),
                        quote(&l.context, token),
                        times(l.count, l.count_kind),
                        weight
                    );
                }
                _ => {
                    s += &format!(
                        " Its probability comes from the lower orders: the {} {}, {}, gives {:.1}% of it after \
                         the weights γ of the longer contexts ({:.4} in all).",
                        name(l.order),
                        quote(&l.context, token),
                        times(l.count, l.count_kind),
                        pct(l.contribution),
                        weight
                    );
                }
            }
            return s;
        }
        skipped.push(format!("{} {}", name(l.order), quote(&l.context, token)));
        weight *= l.lower_weight.unwrap_or(1.0);
    }
    match levels.iter().find(|l| l.order == 0) {
        Some(u) if probability > 0.0 => {
            s += &format!(
                " '{token}' never occurred in training after any of these contexts — not even as a unigram — so all \
                 of its probability comes from the uniform distribution: {:.4} × 1/{:.0}.",
                weight,
                1.0 / u.estimate
            );
        }
        _ => s += &format!(" '{token}' never occurred in training, so its probability is 0."),
    }
    s
}
