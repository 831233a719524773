//! Interpolated Kneser-Ney with one fixed discount per order (Kneser & Ney 1995; Chen & Goodman
//! 1998): absolute discounting of the *adjusted* counts — raw at the highest order, continuation
//! counts N1+(• h w) below it (see [`super::continuation`]) — with the uniform distribution below
//! the unigrams. D is fixed by the user, or per order D = n1 / (n1 + 2·n2) of the adjusted counts.

use super::absolute::{discounted_table, discounted_trace, fixed_discounts, per_order};
use super::continuation::{adjusted_counts, is_continuation};
use super::table::BackoffTable;
use super::{Estimator, Query, Trace, TraceKind};
use crate::ngram::counts::NgramCounts;
use crate::text::{TokenId, Vocab};
use crate::Result;
use serde_json::{json, Value};

pub struct KneserNey {
    table: BackoffTable,
    adjusted: Vec<u32>,
    discounts: Vec<f64>,
    given: bool,
    v: f64,
}

impl KneserNey {
    pub fn new(c: &NgramCounts, vocab: &Vocab, given: Option<f64>) -> Result<Self> {
        let lower = c.lower_entries();
        let adjusted = adjusted_counts(c, &lower);
        let discounts = fixed_discounts(c, given, |e| adjusted[e])?;
        let table = discounted_table(c, vocab, &adjusted, &lower, |k, _| discounts[k]);
        Ok(KneserNey { table, adjusted, discounts, given: given.is_some(), v: vocab.num_predictable() as f64 })
    }
}

impl Estimator for KneserNey {
    fn describe(&self) -> String {
        match self.given {
            true => format!("Kneser-Ney, interpolated (D = {})", self.discounts[1]),
            false => "Kneser-Ney, interpolated (D per order from the count-of-counts)".into(),
        }
    }



    fn explain(&self, c: &NgramCounts, q: &Query, w: TokenId) -> Trace {
        let kind = |ctx| if is_continuation(c, ctx) { "continuation" } else { "raw" };
        let levels = discounted_trace(c, q, w, &self.adjusted, kind, |k, _| self.discounts[k], self.v);
        Trace {
            levels,
            kind: TraceKind::Interpolated,
            note: "Kneser-Ney discounts every count by D, and below the highest order it counts how many \
                   different words precede an n-gram (its continuation count) instead of how often it occurs: \
                   a word that follows many contexts is a better guess for a new one."
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
