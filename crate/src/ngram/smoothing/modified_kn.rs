//! Interpolated modified Kneser-Ney (Chen & Goodman 1998), exactly as KenLM's `lmplz` estimates it
//! (Heafield et al. 2013): adjusted counts (see [`super::continuation`]); three discounts per
//! order from the count-of-counts n1..n4 of that order's adjusted counts,
//! Y = n1 / (n1 + 2·n2),  D_k = k − (k + 1) · Y · n_{k+1} / n_k  for k = 1, 2, 3+;
//! P(w | h) = (a(h w) − D(a)) / Σ a(h •) + γ(h) · P(w | h'),
//! γ(h) = (D1·N1(h •) + D2·N2(h •) + D3+·N3+(h •)) / Σ a(h •);
//! and the unigrams interpolated with the uniform distribution over V, so `[UNK]`, never seen in
//! training, still gets γ(root) / |V|.

use super::continuation::{adjusted_count_of_counts, adjusted_counts, is_continuation};
use super::table::BackoffTable;
use super::{absolute, Estimator, Query, Smoothing, Trace, TraceKind};
use crate::ngram::counts::NgramCounts;
use crate::text::{TokenId, Vocab};
use crate::{Error, Result};
use serde_json::{json, Value};

pub struct ModifiedKn {
    table: BackoffTable,
    adjusted: Vec<u32>,
    /// `discounts[k]` = [0, D1, D2, D3+] of order k (index 0 unused).
    discounts: Vec<[f64; 4]>,
    /// n1..n4 of the adjusted counts of each order.
    stats: Vec<[u64; 5]>,
    /// Orders whose closed-form discounts failed and were replaced by the fallback, with KenLM's message.
    fallback: Vec<(usize, String)>,
    v: f64,
}

/// D1, D2, D3+ of one order from its count-of-counts, with KenLM's checks and messages.
/// (Indexed loops: the formula reads n[j] beside n[j + 1], as Chen & Goodman write it.)
#[allow(clippy::needless_range_loop)]
pub fn discounts(order: usize, n: &[u64; 5]) -> std::result::Result<[f64; 4], String> {
    for j in 1..4 {
        if n[j] == 0 {
            return Err(format!(
                "Could not calculate Kneser-Ney discounts for {order}-grams with adjusted count {} because we didn't \
                 observe any {order}-grams with adjusted count {j}; Is this small or artificial data?",
                j + 1
            ));
        }
    }
    let y = n[1] as f64 / (n[1] as f64 + 2.0 * n[2] as f64);
    let mut d = [0.0; 4];
    for j in 1..4 {
        d[j] = j as f64 - (j + 1) as f64 * y * n[j + 1] as f64 / n[j] as f64;
        if d[j] < 0.0 || d[j] > j as f64 {
            return Err(format!("ERROR: {order}-gram discount out of range for adjusted count {j}: {}", d[j]));
        }
    }
    Ok(d)
}

impl ModifiedKn {
    #[allow(clippy::needless_range_loop)] // k is the order, named in the messages as well as an index
    pub fn new(c: &NgramCounts, vocab: &Vocab, cfg: &Smoothing) -> Result<Self> {
        let lower = c.lower_entries();
        let adjusted = adjusted_counts(c, &lower);
        let stats = adjusted_count_of_counts(c, &adjusted);
        let mut ds = vec![[0.0; 4]];
        let mut fallback = Vec::new();
        for k in 1..=c.order {
            match discounts(k, &stats[k]) {
                Ok(d) => ds.push(d),
                Err(msg) if cfg.discount_fallback => {
                    let f = cfg.fallback_discounts;
                    ds.push([0.0, f[0], f[1], f[2]]);
                    fallback.push((k, msg));
                }
                Err(msg) => {
                    return Err(Error::new(
                        "bad-discount",
                        format!(
                            "{msg} Modified Kneser-Ney estimates its discounts from how many n-grams were seen once, twice, \
                             three and four times; this corpus is too small or too repetitive for that at order {k}. Turn on \
                             the discount fallback (D1 = {}, D2 = {}, D3+ = {}; KenLM's --discount_fallback), pick a lower \
                             order or another method, or use more text.",
                            cfg.fallback_discounts[0], cfg.fallback_discounts[1], cfg.fallback_discounts[2]
                        ),
                    ))
                }
            }
        }
        let d = |k: usize, a: u32| ds[k][a.min(3) as usize];
        let table = absolute::discounted_table(c, vocab, &adjusted, &lower, d);
        Ok(ModifiedKn { table, adjusted, discounts: ds, stats, fallback, v: vocab.num_predictable() as f64 })
    }
}

impl Estimator for ModifiedKn {
    fn describe(&self) -> String {
        if self.fallback.is_empty() {
            "modified Kneser-Ney, interpolated (KenLM)".into()
        } else {
            let orders: Vec<String> = self.fallback.iter().map(|(k, _)| k.to_string()).collect();
            format!("modified Kneser-Ney, interpolated (KenLM; fallback discounts for order {})", orders.join(", "))
        }
    }



    fn explain(&self, c: &NgramCounts, q: &Query, w: TokenId) -> Trace {
        let kind = |ctx| if is_continuation(c, ctx) { "continuation" } else { "raw" };
        let d = |k: usize, a: u32| self.discounts[k][a.min(3) as usize];
        let mut levels = absolute::discounted_trace(c, q, w, &self.adjusted, kind, d, self.v);
        for l in levels.iter_mut().filter(|l| l.order > 0 && l.lower_weight.is_some()) {
            let ds = self.discounts[l.order];
            l.note = format!(
                "D1 = {:.4}, D2 = {:.4}, D3+ = {:.4} for {}-grams seen once, twice, 3+ times{}",
                ds[1],
                ds[2],
                ds[3],
                l.order,
                if l.note.is_empty() { String::new() } else { format!("; {}", l.note) }
            );
        }
        Trace {
            levels,
            kind: TraceKind::Interpolated,
            note: "Modified Kneser-Ney subtracts D1, D2 or D3+ from an n-gram's count depending on whether it was \
                   seen once, twice or more; below the highest order it counts distinct preceding words \
                   (continuation counts). The freed mass γ(h) goes to the next lower order, and the unigrams \
                   share theirs with the uniform distribution, which is where [UNK] gets its probability."
                .into(),
        }
    }

    fn table(&self) -> Option<&BackoffTable> {
        Some(&self.table)
    }

    fn params(&self) -> Value {
        let orders: Vec<Value> = (1..self.discounts.len())
            .map(|k| {
                let (d, n) = (self.discounts[k], self.stats[k]);
                json!({
                    "order": k, "D1": d[1], "D2": d[2], "D3+": d[3],
                    "n1": n[1], "n2": n[2], "n3": n[3], "n4": n[4],
                })
            })
            .collect();
        let fallback: Vec<Value> = self.fallback.iter().map(|(k, msg)| json!({ "order": k, "message": msg })).collect();
        json!({ "orders": orders, "fallback": fallback })
    }
}
