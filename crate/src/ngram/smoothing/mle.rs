//! Maximum likelihood: P(w | h) = c(h w) / c(h •).
//! When the full context was never seen, c(h •) = 0 and the ratio is undefined; we then use the
//! longest context that was seen (down to the unigram), and say so in the explanation. As a backoff
//! table: every context's weight is 0, so an unseen word gets 0 — the sparseness problem.

use super::table::{finish_backoff, BackoffTable};
use super::{Estimator, Query, Trace, TraceKind};
use crate::ngram::counts::NgramCounts;
use crate::ngram::explain::Level;
use crate::ngram::trie::{CtxId, ROOT};
use crate::text::{TokenId, Vocab};

pub struct Mle {
    table: BackoffTable,
}

impl Mle {
    pub fn new(c: &NgramCounts, vocab: &Vocab) -> Self {
        let mut prob = vec![0.0; c.num_entries()];
        for ctx in 0..c.num_contexts() as CtxId {
            let total = c.total(ctx) as f64;
            for e in c.range(ctx) {
                prob[e] = c.raw(e) as f64 / total;
            }
        }
        let mut unigram = vec![0.0; vocab.len()];
        for e in c.range(ROOT) {
            unigram[c.entry_words()[e] as usize] = prob[e];
        }
        Mle { table: BackoffTable { prob, bow: vec![0.0; c.num_contexts()], unigram } }
    }
}

impl Estimator for Mle {
    fn describe(&self) -> String {
        "MLE (no smoothing)".into()
    }



    fn explain(&self, c: &NgramCounts, q: &Query, w: TokenId) -> Trace {
        let ctx = q.longest();
        let count = c.count_of(ctx, w) as f64;
        let total = c.total(ctx) as f64;
        let order = q.chain.len();
        let level = Level {
            order,
            count,
            count_kind: "raw",
            context_count: total,
            estimate: count / total,
            seen: true,
            ..Level::default()
        };
        let mut note = if count > 0.0 {
            format!("MLE: the {order}-gram was seen {count} times in {total} uses of its context: {count}/{total}.")
        } else {
            format!("MLE: the {order}-gram was never seen, so its probability is 0 — the sparseness problem smoothing solves.")
        };
        if q.chain.len() <= q.depth {
            note.push_str(&format!(
                " The full {}-token context never occurred in training (c(h) = 0, the ratio is undefined), so the longest \
                 seen context is used.",
                q.depth
            ));
        }
        Trace { levels: finish_backoff(vec![level]), kind: TraceKind::Single, note }
    }

    fn table(&self) -> Option<&BackoffTable> {
        Some(&self.table)
    }
}
