//! Interpolated Witten-Bell (Witten & Bell 1991; Chen & Goodman 1998):
//! P(w | h) = (c(h w) + N1+(h •) · P(w | h')) / (c(h •) + N1+(h •)),
//! i.e. the lower order gets weight γ(h) = N1+(h •) / (c(h •) + N1+(h •)): the more different words
//! a context has been followed by, the more likely a new one is. Raw counts at every order, and
//! the uniform distribution below the unigrams.

use super::table::{finish_interpolated, BackoffTable};
use super::{Estimator, Query, Trace, TraceKind};
use crate::ngram::counts::NgramCounts;
use crate::ngram::explain::Level;
use crate::ngram::trie::CtxId;
use crate::text::{TokenId, Vocab};

pub struct WittenBell {
    table: BackoffTable,
    v: f64,
}

/// c(h •) + N1+(h •): the denominator of a context.
fn denominator(c: &NgramCounts, ctx: CtxId) -> f64 {
    (c.total(ctx) + c.followers(ctx).len() as u64) as f64
}

impl WittenBell {
    pub fn new(c: &NgramCounts, vocab: &Vocab) -> Self {
        let mut rho = vec![0.0; c.num_entries()];
        let mut gamma = vec![0.0; c.num_contexts()];
        for ctx in 0..c.num_contexts() as CtxId {
            let den = denominator(c, ctx);
            for e in c.range(ctx) {
                rho[e] = c.raw(e) as f64 / den;
            }
            gamma[ctx as usize] = c.followers(ctx).len() as f64 / den;
        }
        let table = BackoffTable::interpolate(c, vocab, rho, gamma, &c.lower_entries());
        WittenBell { table, v: vocab.num_predictable() as f64 }
    }
}

impl Estimator for WittenBell {
    fn describe(&self) -> String {
        "Witten-Bell, interpolated".into()
    }



    fn explain(&self, c: &NgramCounts, q: &Query, w: TokenId) -> Trace {
        let levels = (0..=q.depth)
            .rev()
            .map(|depth| {
                let order = depth + 1;
                let Some(&ctx) = q.chain.get(depth) else {
                    return Level { order, count_kind: "raw", note: "context never seen: this order is skipped".into(), ..Level::default() };
                };
                let n = c.count_of(ctx, w) as f64;
                let types = c.followers(ctx).len();
                let den = denominator(c, ctx);
                Level {
                    order,
                    count: n,
                    count_kind: "raw",
                    context_count: c.total(ctx) as f64,
                    lower_weight: Some(types as f64 / den),
                    estimate: n / den,
                    seen: n > 0.0,
                    note: format!("N1+ = {types} distinct followers, so γ = {types} / ({} + {types})", c.total(ctx)),
                    ..Level::default()
                }
            })
            .collect();
        Trace {
            levels: finish_interpolated(levels, 1.0 / self.v),
            kind: TraceKind::Interpolated,
            note: "Witten-Bell treats each context as if it had seen one extra event per distinct follower — \
                   the first time each word appeared — and gives that mass to the lower order."
                .into(),
        }
    }

    fn table(&self) -> Option<&BackoffTable> {
        Some(&self.table)
    }
}
