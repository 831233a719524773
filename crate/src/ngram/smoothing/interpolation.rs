//! Linear interpolation of the maximum-likelihood estimates of orders 0..n (Jelinek & Mercer 1980):
//! P(w | h) = λn·P_ML(w | h) + … + λ1·P_ML(w) + λ0·u(w), with u uniform over V.
//!
//! Computed recursively, P_k(w | h) = μk·P_ML(w | h) + (1 − μk)·P_{k−1}(w | h'), with
//! μk = λk / (λ0 + … + λk); an order whose context was never seen (P_ML undefined) is skipped, which
//! renormalises the remaining λs. The λs are learned by EM on a held-out share of the training units
//! (with the counts of the rest; the final model then counts all training units), or set by hand.

use super::table::{finish_interpolated, BackoffTable};
use super::{Estimator, Query, Trace, TraceKind};
use crate::ngram::counts::NgramCounts;
use crate::ngram::explain::Level;
use crate::ngram::trie::CtxId;
use crate::ngram::Progress;
use crate::text::{TokenId, Vocab, BOS};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The interpolation weights.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Learned {
    /// λ0 (uniform), λ1 (unigram), …, λn: the mixture weights when every context was seen. Sum to 1.
    pub lambdas: Vec<f64>,
    /// How EM learned them; `None` when they were set by hand.
    pub em: Option<EmReport>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EmReport {
    /// Held-out perplexity under the weights of each iteration (the first: all μ = 0.5).
    pub heldout_perplexity: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
    /// Predicted tokens the λs were fit on, and the tokens whose counts were used meanwhile.
    pub heldout_tokens: usize,
    pub fit_tokens: u64,
}

/// Checks hand-set weights: n + 1 of them (λ0 for the uniform distribution, then orders 1..n),
/// none negative, not all zero.
pub fn check_lambdas(l: &[f64], order: usize) -> Result<()> {
    if l.len() != order + 1 {
        return Err(Error::setting("lambdas-count", format!(
            "give {} interpolation weights for a {order}-gram model: λ0 (uniform), λ1 (unigram) … λ{order} (got {})",
            order + 1,
            l.len()
        ))
        .with("n", order + 1)
        .with("order", order)
        .with("got", l.len()));
    }
    if l.iter().any(|&x| !(x >= 0.0 && x.is_finite())) || l.iter().sum::<f64>() <= 0.0 {
        return Err(Error::setting("lambdas-values", "interpolation weights must be ≥ 0 and not all 0"));
    }
    Ok(())
}

impl Learned {
    /// Hand-set weights, normalised to sum to 1.
    pub fn given(l: &[f64], order: usize) -> Result<Learned> {
        check_lambdas(l, order)?;
        let s: f64 = l.iter().sum();
        Ok(Learned { lambdas: l.iter().map(|x| x / s).collect(), em: None })
    }

    /// μ1..μn (index 0 unused): μk = λk / (λ0 + … + λk), 0 when all of those are 0.
    pub fn mus(&self) -> Vec<f64> {
        let mut acc = self.lambdas[0];
        let mut mus = vec![0.0];
        for &l in &self.lambdas[1..] {
            acc += l;
            mus.push(if acc > 0.0 { l / acc } else { 0.0 });
        }
        mus
    }

    fn from_mus(mus: &[f64], em: Option<EmReport>) -> Learned {
        let n = mus.len() - 1;
        let mut lambdas = vec![0.0; n + 1];
        let mut rest = 1.0;
        for k in (1..=n).rev() {
            lambdas[k] = rest * mus[k];
            rest *= 1.0 - mus[k];
        }
        lambdas[0] = rest;
        Learned { lambdas, em }
    }
}

/// Splits a training stream into the part that is counted and the held-out part, by units
/// (sentences), spread evenly: unit i is held out when ⌊(i+1)·share⌋ > ⌊i·share⌋. A stream with a
/// single unit (no boundaries) is cut by tokens instead.
pub fn split_heldout(stream: &[TokenId], share: f64) -> (Vec<TokenId>, Vec<TokenId>) {
    let starts: Vec<usize> = stream.iter().enumerate().filter(|&(_, &t)| t == BOS).map(|(i, _)| i).collect();
    if starts.len() >= 2 {
        let (mut fit, mut held) = (Vec::new(), Vec::new());
        let n = starts.len();
        let mut any_held = false;
        for i in 0..n {
            let unit = &stream[starts[i]..starts.get(i + 1).copied().unwrap_or(stream.len())];
            let hold = ((i + 1) as f64 * share).floor() > (i as f64 * share).floor() || (i == n - 1 && !any_held);
            any_held |= hold;
            if hold { &mut held } else { &mut fit }.extend_from_slice(unit);
        }
        return (fit, held);
    }
    let cut = ((stream.len() as f64 * (1.0 - share)).round() as usize).clamp(2.min(stream.len()), stream.len().saturating_sub(1).max(1));
    let mut held = vec![BOS];
    held.extend_from_slice(&stream[cut..]);
    (stream[..cut].to_vec(), held)
}

/// Learns the weights by EM: the counts of `fit`, the likelihood of `heldout`.
pub fn em(fit: &NgramCounts, heldout: &[TokenId], vocab: &Vocab) -> Learned {
    let n = fit.order;
    let u = 1.0 / vocab.num_predictable() as f64;
    // P_ML of every defined order for every held-out token: p[offs[t]..offs[t + 1]] = P_0 (uniform), P_1, …
    let (mut p, mut offs) = (Vec::new(), vec![0usize]);
    let mut start = 0;
    for (i, &t) in heldout.iter().enumerate() {
        if t == BOS {
            start = i;
            continue;
        }
        let ctx_from = i.saturating_sub(n - 1).max(start);
        let chain = fit.chain(&heldout[ctx_from..i]);
        p.push(u);
        for &ctx in chain.iter() {
            p.push(fit.count_of(ctx, t) as f64 / fit.total(ctx) as f64);
        }
        offs.push(p.len());
    }
    let tokens = offs.len() - 1;
    let mut mus = vec![0.5; n + 1];
    let mut history = Vec::new();
    let mut converged = false;
    let mut r = vec![0.0; n + 1];
    for _ in 0..200 {
        let (mut num, mut den) = (vec![0.0; n + 1], vec![0.0; n + 1]);
        let mut loglik = 0.0;
        for t in 0..tokens {
            let ps = &p[offs[t]..offs[t + 1]];
            let top = ps.len() - 1;
            // Weight of each order: μk times the chance of passing every higher defined order.
            let mut pass = 1.0;
            let mut total = 0.0;
            for k in (0..=top).rev() {
                let wk = if k == 0 { pass } else { pass * mus[k] };
                pass *= 1.0 - if k == 0 { 0.0 } else { mus[k] };
                r[k] = wk * ps[k];
                total += r[k];
            }
            loglik += total.ln();
            let mut below = 0.0;
            for k in 0..=top {
                below += r[k] / total;
                if k > 0 {
                    num[k] += r[k] / total;
                    den[k] += below;
                }
            }
        }
        let ppl = (-loglik / tokens.max(1) as f64).exp();
        let improved = history.last().map_or(f64::INFINITY, |&last: &f64| (last - ppl) / last);
        history.push(ppl);
        if improved.abs() < 1e-9 {
            converged = true;
            break;
        }
        for k in 1..=n {
            if den[k] > 0.0 {
                mus[k] = num[k] / den[k];
            }
        }
    }
    let report = EmReport {
        iterations: history.len(),
        heldout_perplexity: history,
        converged,
        heldout_tokens: tokens,
        fit_tokens: fit.num_tokens(),
    };
    Learned::from_mus(&mus, Some(report))
}

/// The whole procedure on a training stream: hold out `share` of it, count the rest at `order`, EM.
pub fn learn_lambdas(stream: &[TokenId], order: usize, vocab: &Vocab, share: f64, progress: Progress) -> Result<Learned> {
    let (fit, held) = split_heldout(stream, share);
    if fit.iter().all(|&t| t == BOS) || held.iter().all(|&t| t == BOS) {
        return Err(Error::new("corpus-too-small", "The training text is too small to hold some of it out for learning the interpolation weights."));
    }
    let counts = NgramCounts::count(&fit, order, progress);
    progress("learning λ", 0.0);
    Ok(em(&counts, &held, vocab))
}

pub struct Interpolation {
    table: BackoffTable,
    learned: Learned,
    mus: Vec<f64>,
    v: f64,
}

impl Interpolation {
    pub fn new(c: &NgramCounts, vocab: &Vocab, learned: Learned) -> Self {
        let mus = learned.mus();
        let mut rho = vec![0.0; c.num_entries()];
        let mut gamma = vec![0.0; c.num_contexts()];
        for ctx in 0..c.num_contexts() as CtxId {
            let mu = mus[c.depth(ctx) + 1];
            let total = c.total(ctx) as f64;
            for e in c.range(ctx) {
                rho[e] = mu * c.raw(e) as f64 / total;
            }
            gamma[ctx as usize] = 1.0 - mu;
        }
        let table = BackoffTable::interpolate(c, vocab, rho, gamma, &c.lower_entries());
        Interpolation { table, learned, mus, v: vocab.num_predictable() as f64 }
    }
}

impl Estimator for Interpolation {
    fn describe(&self) -> String {
        let how = if self.learned.em.is_some() { "learned by EM" } else { "set by hand" };
        format!("linear interpolation (Jelinek-Mercer, λ {how})")
    }



    fn explain(&self, c: &NgramCounts, q: &Query, w: TokenId) -> Trace {
        let mut weight_above = 1.0;
        let mut levels: Vec<Level> = (0..=q.depth)
            .rev()
            .map(|depth| {
                let order = depth + 1;
                let Some(&ctx) = q.chain.get(depth) else {
                    return Level {
                        order,
                        count_kind: "raw",
                        note: "context never seen: P_ML is undefined, so this order is skipped and the other λs renormalised".into(),
                        ..Level::default()
                    };
                };
                let mu = self.mus[order];
                let n = c.count_of(ctx, w) as f64;
                let total = c.total(ctx) as f64;
                let lambda = weight_above * mu;
                weight_above *= 1.0 - mu;
                Level {
                    order,
                    count: n,
                    count_kind: "raw",
                    context_count: total,
                    lower_weight: Some(1.0 - mu),
                    lambda: Some(lambda),
                    estimate: mu * n / total,
                    seen: n > 0.0,
                    note: format!("P_ML = {n} / {total}"),
                    ..Level::default()
                }
            })
            .collect();
        levels = finish_interpolated(levels, 1.0 / self.v);
        if let Some(u) = levels.last_mut() {
            u.lambda = Some(weight_above);
        }
        Trace {
            levels,
            kind: TraceKind::Interpolated,
            note: format!(
                "Linear interpolation mixes the maximum-likelihood estimate of every order with fixed weights λ = [{}] \
                 (λ0 for the uniform distribution first), renormalised over the orders whose context was seen.",
                self.learned.lambdas.iter().map(|l| format!("{l:.3}")).collect::<Vec<_>>().join(", ")
            ),
        }
    }

    fn table(&self) -> Option<&BackoffTable> {
        Some(&self.table)
    }

    fn params(&self) -> Value {
        let orders: Vec<Value> = self.learned.lambdas.iter().enumerate().map(|(k, l)| json!({ "order": k, "lambda": l })).collect();
        json!({ "lambdas": self.learned.lambdas, "em": self.learned.em, "orders": orders })
    }
}
