//! Stupid backoff (Brants, Popat, Xu, Och & Dean 2007):
//! S(w | h) = c(h w) / c(h •) if h w was seen, else α · S(w | h'), down to the unigram c(w) / N and,
//! for words never seen at all (such as `[UNK]`), α · 1/|V|. An unseen context is a step down too
//! (its n-gram count is 0), so it costs α. The scores do not sum to 1 — it is not a probability
//! model, and its "perplexity" is reported with that warning.

use super::table::{finish_backoff, uniform_level, BackoffTable};
use super::{Estimator, Query, Trace, TraceKind};
use crate::ngram::counts::NgramCounts;
use crate::ngram::explain::Level;
use crate::ngram::trie::{CtxId, ROOT};
use crate::text::{TokenId, Vocab};
use serde_json::{json, Value};

pub struct StupidBackoff {
    table: BackoffTable,
    alpha: f64,
    v: f64,
}

impl StupidBackoff {
    pub fn new(c: &NgramCounts, vocab: &Vocab, alpha: f64) -> Self {
        let mut prob = vec![0.0; c.num_entries()];
        for ctx in 0..c.num_contexts() as CtxId {
            let total = c.total(ctx) as f64;
            for e in c.range(ctx) {
                prob[e] = c.raw(e) as f64 / total;
            }
        }
        let v = vocab.num_predictable() as f64;
        let mut unigram: Vec<f64> =
            (0..vocab.len()).map(|w| if vocab.is_predictable(w as TokenId) { alpha / v } else { 0.0 }).collect();
        for e in c.range(ROOT) {
            unigram[c.entry_words()[e] as usize] = prob[e];
        }
        let table = BackoffTable { prob, bow: vec![alpha; c.num_contexts()], unigram };
        StupidBackoff { table, alpha, v }
    }

    /// α for every order of the full context that was never seen (the table skips those).
    fn unseen_context_factor(&self, q: &Query) -> f64 {
        self.alpha.powi((q.depth + 1 - q.chain.len()) as i32)
    }
}

impl Estimator for StupidBackoff {
    fn describe(&self) -> String {
        format!("stupid backoff (α = {}, unnormalised)", self.alpha)
    }

    fn normalized(&self) -> bool {
        false
    }

    fn prob(&self, c: &NgramCounts, q: &Query, w: TokenId) -> f64 {
        self.unseen_context_factor(q) * self.table.prob(c, q.chain, w)
    }

    fn distribution(&self, c: &NgramCounts, q: &Query, _vocab: &Vocab, out: &mut [f64]) {
        self.table.distribution(c, q.chain, out);
        let f = self.unseen_context_factor(q);
        out.iter_mut().for_each(|p| *p *= f);
    }

    fn explain(&self, c: &NgramCounts, q: &Query, w: TokenId) -> Trace {
        let mut levels: Vec<Level> = (0..=q.depth)
            .rev()
            .map(|depth| {
                let order = depth + 1;
                let Some(&ctx) = q.chain.get(depth) else {
                    return Level {
                        order,
                        count_kind: "raw",
                        lower_weight: Some(self.alpha),
                        note: "context never seen, so the n-gram count is 0: one step down, × α".into(),
                        ..Level::default()
                    };
                };
                let n = c.count_of(ctx, w) as f64;
                let total = c.total(ctx) as f64;
                Level {
                    order,
                    count: n,
                    count_kind: "raw",
                    context_count: total,
                    lower_weight: Some(self.alpha),
                    estimate: n / total,
                    seen: n > 0.0,
                    ..Level::default()
                }
            })
            .collect();
        levels.push(uniform_level(1.0 / self.v, "the uniform distribution, for tokens never seen in training"));
        Trace {
            levels: finish_backoff(levels),
            kind: TraceKind::Backoff,
            note: format!(
                "Stupid backoff uses the relative frequency of the longest seen n-gram and multiplies by α = {} for \
                 every step down. The scores are not probabilities: they do not sum to 1.",
                self.alpha
            ),
        }
    }

    fn params(&self) -> Value {
        json!({ "alpha": self.alpha })
    }
}
