//! Maximum likelihood: P(w | h) = c(h w) / c(h).
//! When the full context was never seen, c(h) = 0 and the ratio is undefined; we then use the
//! longest context that was seen (down to the unigram), and say so in the explanation.

use super::{Estimator, Query};
use crate::ngram::counts::NgramCounts;
use crate::ngram::explain::Level;
use crate::text::{TokenId, Vocab};

pub struct Mle;

impl Estimator for Mle {
    fn describe(&self) -> String {
        "MLE (no smoothing)".into()
    }

    fn prob(&self, c: &NgramCounts, q: &Query, w: TokenId) -> f64 {
        let ctx = q.longest();
        c.count_of(ctx, w) as f64 / c.node(ctx).total as f64
    }

    fn distribution(&self, c: &NgramCounts, q: &Query, _vocab: &Vocab, out: &mut [f64]) {
        out.fill(0.0);
        let ctx = q.longest();
        let total = c.node(ctx).total as f64;
        let (ws, ns) = c.followers(ctx);
        for (&w, &n) in ws.iter().zip(ns) {
            out[w as usize] = n as f64 / total;
        }
    }

    fn explain(&self, c: &NgramCounts, q: &Query, w: TokenId) -> (Vec<Level>, String) {
        let ctx = q.longest();
        let count = c.count_of(ctx, w) as f64;
        let total = c.node(ctx).total as f64;
        let p = count / total;
        let level = Level {
            order: q.chain.len(),
            count,
            count_kind: "raw",
            context_count: total,
            estimate: p,
            probability: p,
            contribution: p,
            seen: count > 0.0,
            ..Level::default()
        };
        let mut summary = if count > 0.0 {
            format!("MLE: the {}-gram was seen {count} times in {total} uses of its context: {count}/{total}.", level.order)
        } else {
            format!(
                "MLE: the {}-gram was never seen, so its probability is 0 — the sparseness problem smoothing solves.",
                level.order
            )
        };
        if q.chain.len() <= q.depth {
            summary.push_str(&format!(
                " The full {}-token context never occurred in training (c(h) = 0, the ratio is undefined), so the longest seen context is used.",
                q.depth
            ));
        }
        (vec![level], summary)
    }
}
