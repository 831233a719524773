//! Interpolated absolute discounting (Ney, Essen & Kneser 1994):
//! P(w | h) = max(c(h w) − D, 0) / c(h •) + γ(h) · P(w | h'),  γ(h) = D · N1+(h •) / c(h •),
//! with raw counts at every order and the uniform distribution below the unigrams.
//! D is fixed by the user, or per order D = n1 / (n1 + 2·n2) from that order's count-of-counts.
//!
//! The discounting core here is shared with Kneser-Ney, which only changes which counts are
//! discounted (continuation counts) and, in the modified form, the discount (three per order).

use super::table::{finish_interpolated, BackoffTable};
use super::{Estimator, Query, Trace, TraceKind};
use crate::ngram::counts::{count_of_counts, NgramCounts};
use crate::ngram::explain::Level;
use crate::ngram::trie::{CtxId, ROOT};
use crate::text::{TokenId, Vocab};
use crate::{Error, Result};
use serde_json::{json, Value};

/// The default discount of one order: D = n1 / (n1 + 2·n2) (Ney et al.; Chen & Goodman's Y).
/// Without singletons that is 0, which would give the lower orders nothing; then D = 0.5.
pub(super) fn ney_discount(n: &[u64]) -> f64 {
    let (n1, n2) = (n[1] as f64, n[2] as f64);
    if n1 > 0.0 {
        n1 / (n1 + 2.0 * n2)
    } else {
        0.5
    }
}

/// One fixed discount per order (index = order), given or estimated from `count` (raw or adjusted).
pub(super) fn fixed_discounts(c: &NgramCounts, given: Option<f64>, count: impl Fn(usize) -> u32) -> Result<Vec<f64>> {
    if let Some(d) = given {
        if !(d > 0.0 && d <= 1.0) {
            return Err(Error::setting("discount", format!("the discount D must be in (0, 1] (got {d})")).with("got", d));
        }
    }
    Ok((0..=c.order)
        .map(|k| if k == 0 { 0.0 } else { given.unwrap_or_else(|| ney_discount(&count_of_counts(c, k, 2, &count))) })
        .collect())
}

/// ρ and γ of every entry and context for a discount function `d(order, count)`, then interpolated.
pub(super) fn discounted_table(
    c: &NgramCounts,
    vocab: &Vocab,
    counts: &[u32],
    lower: &[u32],
    d: impl Fn(usize, u32) -> f64,
) -> BackoffTable {
    let mut rho = vec![0.0; c.num_entries()];
    let mut gamma = vec![0.0; c.num_contexts()];
    for ctx in 0..c.num_contexts() as CtxId {
        let order = c.depth(ctx) + 1;
        let r = c.range(ctx);
        let total: u64 = counts[r.clone()].iter().map(|&a| a as u64).sum();
        let total = total as f64;
        let mut freed = 0.0;
        for e in r {
            let a = counts[e];
            let dd = d(order, a).min(a as f64);
            rho[e] = (a as f64 - dd) / total;
            freed += dd;
        }
        gamma[ctx as usize] = freed / total;
    }
    BackoffTable::interpolate(c, vocab, rho, gamma, lower)
}

/// The trace of a discounted interpolated estimate, from the longest context to the uniform level.
pub(super) fn discounted_trace(
    c: &NgramCounts,
    q: &Query,
    w: TokenId,
    counts: &[u32],
    kind: impl Fn(CtxId) -> &'static str,
    d: impl Fn(usize, u32) -> f64,
    v: f64,
) -> Vec<Level> {
    let levels = (0..=q.depth)
        .rev()
        .map(|depth| {
            let order = depth + 1;
            let Some(&ctx) = q.chain.get(depth) else {
                return Level { order, count_kind: "raw", note: "context never seen: this order is skipped".into(), ..Level::default() };
            };
            let r = c.range(ctx);
            let total: f64 = counts[r.clone()].iter().map(|&a| a as f64).sum();
            let freed: f64 = counts[r].iter().map(|&a| d(order, a).min(a as f64)).sum();
            let a = c.find(ctx, w).map_or(0, |e| counts[e]);
            let disc = d(order, a).min(a as f64);
            Level {
                order,
                count: a as f64,
                count_kind: kind(ctx),
                context_count: total,
                discount: (a > 0).then_some(disc),
                lower_weight: Some(freed / total),
                estimate: (a as f64 - disc) / total,
                seen: a > 0,
                note: if ctx == ROOT { String::new() } else { format!("{} distinct followers", c.followers(ctx).len()) },
                ..Level::default()
            }
        })
        .collect();
    finish_interpolated(levels, 1.0 / v)
}

pub struct Absolute {
    table: BackoffTable,
    discounts: Vec<f64>,
    given: bool,
    v: f64,
}

impl Absolute {
    pub fn new(c: &NgramCounts, vocab: &Vocab, given: Option<f64>) -> Result<Self> {
        let discounts = fixed_discounts(c, given, |e| c.raw(e))?;
        let lower = c.lower_entries();
        let table = discounted_table(c, vocab, c.entry_counts(), &lower, |k, _| discounts[k]);
        Ok(Absolute { table, discounts, given: given.is_some(), v: vocab.num_predictable() as f64 })
    }
}

impl Estimator for Absolute {
    fn describe(&self) -> String {
        match self.given {
            true => format!("absolute discounting, interpolated (D = {})", self.discounts[1]),
            false => "absolute discounting, interpolated (D per order from the count-of-counts)".into(),
        }
    }



    fn explain(&self, c: &NgramCounts, q: &Query, w: TokenId) -> Trace {
        let d = |k: usize, _| self.discounts[k];
        let levels = discounted_trace(c, q, w, c.entry_counts(), |_| "raw", d, self.v);
        Trace {
            levels,
            kind: TraceKind::Interpolated,
            note: "Absolute discounting subtracts a fixed D from every seen count and gives the freed mass, \
                   γ(h) = D·N1+(h •)/c(h •), to the next lower order."
                .into(),
        }
    }

    fn table(&self) -> Option<&BackoffTable> {
        Some(&self.table)
    }

    fn params(&self) -> Value {
        json!({ "orders": per_order(&self.discounts), "estimated": !self.given })
    }
}

/// Per-order values as JSON objects `{order, D}` (orders 1..n).
pub(super) fn per_order(d: &[f64]) -> Vec<Value> {
    d.iter().enumerate().skip(1).map(|(k, &d)| json!({ "order": k, "D": d })).collect()
}
