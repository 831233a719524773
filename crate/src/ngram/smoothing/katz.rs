//! Good-Turing discounting with Katz backoff (Good 1953; Katz 1987).
//!
//! Seen n-grams keep a discounted relative frequency p*(w | h) = d_r · r / c(h •) for their count r;
//! counts above the threshold k are trusted (d_r = 1), and for 1 ≤ r ≤ k Katz's coefficient
//! d_r = (r*/r − A) / (1 − A),  r* = (r + 1) · n_{r+1} / n_r,  A = (k + 1) · n_{k+1} / n_1,
//! from the count-of-counts n_r of that order. The freed mass goes to the words never seen after h,
//! in proportion to the lower order: P(w | h) = α(h) · P(w | h'), with the backoff weight
//! α(h) = (1 − Σ_{seen} p*(· | h)) / (1 − Σ_{seen} P(· | h')), which makes every distribution sum
//! to 1. Below the unigrams is the uniform distribution over V, so words never seen in training
//! (`[UNK]`) share the unigram order's freed mass.
//!
//! Good-Turing needs n_1 … n_{k+1} > 0 and coefficients in (0, 1]; where they are not (small data),
//! the order's threshold is lowered until they are, down to no discounting at all for that order.
//! A context whose followers all keep their full counts (above the threshold, or undiscounted) would
//! leave nothing for unseen words; then, as SRILM does (a fix credited to Doug Paul), its
//! denominator is incremented by one: p*(w | h) = d_r · r / (c(h •) + 1). If every word of V was
//! seen after a context there is nowhere to back off to: its p* are rescaled to sum to 1, α(h) = 0.

use super::table::{finish_backoff, uniform_level, BackoffTable};
use super::{Estimator, Query, Trace, TraceKind};
use crate::ngram::counts::NgramCounts;
use crate::ngram::explain::Level;
use crate::ngram::trie::{CtxId, ROOT};
use crate::text::{TokenId, Vocab};
use serde_json::{json, Value};

pub struct Katz {
    table: BackoffTable,
    /// `coef[order][r]` = d_r for r = 1..=k of that order (empty: undiscounted).
    coef: Vec<Vec<f64>>,
    v: f64,
}

/// Seen mass this close to 1 counts as "nothing left" (SRILM's Prob_Epsilon).
const NO_MASS_LEFT: f64 = 3e-6;

/// The denominator of a context's estimates: c(h •), or c(h •) + 1 when the discounted counts would
/// leave no mass for the words of V never seen after h.
fn denominator(c: &NgramCounts, ctx: CtxId, d: impl Fn(u32) -> f64, v: usize) -> f64 {
    let total = c.total(ctx) as f64;
    let kept: f64 = c.follower_counts(ctx).iter().map(|&r| d(r) * r as f64).sum::<f64>() / total;
    if kept > 1.0 - NO_MASS_LEFT && c.followers(ctx).len() < v {
        total + 1.0
    } else {
        total
    }
}

/// Katz's coefficients d_1..d_k for one order, lowering k until they are valid (empty if none is).
pub fn coefficients(n: &[u64], max_k: usize) -> Vec<f64> {
    for k in (1..=max_k).rev() {
        if (1..=k + 1).any(|r| n[r] == 0) {
            continue;
        }
        let a = (k + 1) as f64 * n[k + 1] as f64 / n[1] as f64;
        if a >= 1.0 {
            continue;
        }
        let d: Vec<f64> = (1..=k)
            .map(|r| {
                let r_star = (r + 1) as f64 * n[r + 1] as f64 / n[r] as f64;
                (r_star / r as f64 - a) / (1.0 - a)
            })
            .collect();
        if d.iter().all(|&x| x > 0.0 && x <= 1.0) {
            return d;
        }
    }
    Vec::new()
}

impl Katz {
    pub fn new(c: &NgramCounts, vocab: &Vocab, max_k: u32) -> Self {
        let max_k = max_k as usize;
        let coef: Vec<Vec<f64>> = (0..=c.order)
            .map(|order| if order == 0 { Vec::new() } else { coefficients(&c.count_of_counts(order, max_k + 1), max_k) })
            .collect();
        let d = |order: usize, r: u32| coef[order].get(r as usize - 1).copied().unwrap_or(1.0);
        let lower = c.lower_entries();
        let v = vocab.num_predictable() as f64;
        let words = c.entry_words();
        let mut prob = vec![0.0; c.num_entries()];
        let mut bow = vec![0.0; c.num_contexts()];
        let mut unigram = vec![0.0; vocab.len()];
        // Parents come before children, so lower-order probabilities are ready when needed.
        for ctx in 0..c.num_contexts() as CtxId {
            let order = c.depth(ctx) + 1;
            let total = denominator(c, ctx, |r| d(order, r), vocab.num_predictable());
            let r = c.range(ctx);
            let mut kept = 0.0;
            let mut lower_mass = 0.0;
            for e in r.clone() {
                prob[e] = d(order, c.raw(e)) * c.raw(e) as f64 / total;
                kept += prob[e];
                lower_mass += if ctx == ROOT {
                    if vocab.is_predictable(words[e]) { 1.0 / v } else { 0.0 }
                } else {
                    prob[lower[e] as usize]
                };
            }
            let free = (1.0 - kept).max(0.0);
            let room = 1.0 - lower_mass;
            bow[ctx as usize] = if room > 1e-12 {
                free / room
            } else {
                // Every word already follows h: nothing to back off to, so renormalise.
                r.clone().for_each(|e| prob[e] /= kept);
                0.0
            };
            if ctx == ROOT {
                let alpha = bow[ROOT as usize];
                for (w, u) in unigram.iter_mut().enumerate() {
                    *u = if vocab.is_predictable(w as TokenId) { alpha / v } else { 0.0 };
                }
                for e in r {
                    unigram[words[e] as usize] = prob[e];
                }
            }
        }
        Katz { table: BackoffTable { prob, bow, unigram }, coef, v }
    }

    fn discount(&self, order: usize, r: u32) -> f64 {
        if r == 0 {
            return 1.0;
        }
        self.coef[order].get(r as usize - 1).copied().unwrap_or(1.0)
    }
}

impl Estimator for Katz {
    fn describe(&self) -> String {
        "Good-Turing discounting with Katz backoff".into()
    }



    fn explain(&self, c: &NgramCounts, q: &Query, w: TokenId) -> Trace {
        let mut levels: Vec<Level> = (0..=q.depth)
            .rev()
            .map(|depth| {
                let order = depth + 1;
                let Some(&ctx) = q.chain.get(depth) else {
                    return Level { order, count_kind: "raw", note: "context never seen: this order is skipped".into(), ..Level::default() };
                };
                let e = c.find(ctx, w);
                let r = e.map_or(0, |e| c.raw(e));
                let d = self.discount(order, r);
                let den = denominator(c, ctx, |r| self.discount(order, r), self.v as usize);
                let bumped = den > c.total(ctx) as f64;
                Level {
                    order,
                    count: r as f64,
                    count_kind: "raw",
                    context_count: c.total(ctx) as f64,
                    discount: (r > 0).then_some(d),
                    lower_weight: Some(self.table.bow[ctx as usize]),
                    estimate: e.map_or(0.0, |e| self.table.prob[e]),
                    seen: r > 0,
                    note: [
                        if r > 0 && d < 1.0 {
                            format!("Good-Turing keeps {:.1}% of a count of {r} at this order", 100.0 * d)
                        } else if r > 0 {
                            format!("a count of {r} is not discounted at this order")
                        } else {
                            String::new()
                        },
                        if bumped {
                            format!("no mass was left for unseen words, so the denominator is c(h) + 1 = {den}")
                        } else {
                            String::new()
                        },
                    ]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join("; "),
                    ..Level::default()
                }
            })
            .collect();
        levels.push(uniform_level(1.0 / self.v, "the uniform distribution, shared by the tokens never seen in training"));
        Trace {
            levels: finish_backoff(levels),
            kind: TraceKind::Backoff,
            note: "Katz backoff trusts the longest n-gram that was seen, with its count shrunk by Good-Turing's \
                   d_r; only unseen n-grams go to the lower order, scaled by the backoff weight α(h) that hands \
                   them exactly the mass the discounts freed."
                .into(),
        }
    }

    fn table(&self) -> Option<&BackoffTable> {
        Some(&self.table)
    }

    fn params(&self) -> Value {
        let orders: Vec<Value> = (1..self.coef.len())
            .map(|k| {
                let mut o = json!({ "order": k, "threshold": self.coef[k].len() });
                for (r, d) in self.coef[k].iter().enumerate() {
                    o[format!("d{}", r + 1)] = json!(d);
                }
                o
            })
            .collect();
        json!({ "orders": orders })
    }
}
