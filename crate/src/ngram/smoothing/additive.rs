//! Additive smoothing (Lidstone): P(w | h) = (c(h w) + k) / (c(h) + k·|V|), where |V| counts
//! every predictable token (`[UNK]` and `</s>` included, `<s>` excluded). k = 1 is Laplace.
//! An unseen context gives the uniform distribution.

use super::{Estimator, Query, Trace, TraceKind};
use serde_json::{json, Value};
use crate::ngram::counts::NgramCounts;
use crate::ngram::explain::Level;
use crate::text::{TokenId, Vocab};
use crate::{Error, Result};

pub struct AddK {
    k: f64,
    v: f64,
}

impl AddK {
    pub fn new(k: f64, vocab: &Vocab) -> Result<Self> {
        if !(k > 0.0 && k.is_finite()) {
            return Err(Error::setting("addk", format!("add-k needs k > 0 (got {k}); k = 0 is MLE")).with("got", k));
        }
        Ok(AddK { k, v: vocab.num_predictable() as f64 })
    }

    fn counts(&self, c: &NgramCounts, q: &Query, w: TokenId) -> (f64, f64) {
        match q.full() {
            Some(ctx) => (c.count_of(ctx, w) as f64, c.total(ctx) as f64),
            None => (0.0, 0.0),
        }
    }
}

impl Estimator for AddK {
    fn describe(&self) -> String {
        if self.k == 1.0 {
            "add-one (Laplace)".into()
        } else {
            format!("add-k (k = {})", self.k)
        }
    }

    fn prob(&self, c: &NgramCounts, q: &Query, w: TokenId) -> f64 {
        let (n, total) = self.counts(c, q, w);
        (n + self.k) / (total + self.k * self.v)
    }

    fn distribution(&self, c: &NgramCounts, q: &Query, vocab: &Vocab, out: &mut [f64]) {
        let Some(ctx) = q.full() else {
            for (w, p) in out.iter_mut().enumerate() {
                *p = if vocab.is_predictable(w as TokenId) { 1.0 / self.v } else { 0.0 };
            }
            return;
        };
        let denom = c.total(ctx) as f64 + self.k * self.v;
        for (w, p) in out.iter_mut().enumerate() {
            *p = if vocab.is_predictable(w as TokenId) { self.k / denom } else { 0.0 };
        }
        for (&w, &n) in c.followers(ctx).iter().zip(c.follower_counts(ctx)) {
            out[w as usize] = (n as f64 + self.k) / denom;
        }
    }

    fn explain(&self, c: &NgramCounts, q: &Query, w: TokenId) -> Trace {
        let (n, total) = self.counts(c, q, w);
        let p = (n + self.k) / (total + self.k * self.v);
        let level = Level {
            order: q.depth + 1,
            count: n,
            count_kind: "raw",
            context_count: total,
            estimate: p,
            probability: p,
            contribution: p,
            seen: n > 0.0,
            note: if q.full().is_none() { "context never seen: every token gets k / (k·|V|)".into() } else { String::new() },
            ..Level::default()
        };
        let note = format!(
            "{}: ({n} + {k}) / ({total} + {k} × {v}) — every one of the {v} possible next tokens gets {k} extra counts{tail}. \
             Add-k never looks at shorter contexts.",
            self.describe(),
            k = self.k,
            v = self.v,
            tail = if total == 0.0 { ", and this context was never seen, so the result is uniform" } else { "" }
        );
        Trace { levels: vec![level], kind: TraceKind::Single, note }
    }

    fn params(&self) -> Value {
        json!({ "k": self.k })
    }
}
