//! The n-gram views of the page (see docs/architecture.md, "Views"): sparseness of the validation
//! n-grams, validation perplexity against order, count-of-counts with the Zipf curve, and the
//! interpolation weights. Each returns JSON.

use super::counts::NgramCounts;
use super::smoothing::interpolation::{em, split_heldout};
use super::smoothing::{Learned, Method, Smoothing};
use super::trie::ROOT;
use super::{NgramConfig, NgramModel, MAX_ORDER};
use crate::lm::eval::{perplexity, Perplexity};
use crate::text::{TokenId, Vocab, BOS};
use crate::{Error, Result};
use serde_json::{json, Value};
use std::sync::Arc;

/// How many distinct example n-grams the sparseness view lists per order.
const EXAMPLES: usize = 5;
/// Points of the Zipf and count-of-counts curves, at most.
const CURVE_POINTS: usize = 300;

/// Share of the validation n-grams of each order 1..n that never occurred in training. The k-gram
/// ending at a token exists when its sentence has k − 1 tokens before it (`<s>` included).
pub fn sparseness(counts: &NgramCounts, valid: &[TokenId], vocab: &Vocab) -> Value {
    let n = counts.order;
    let mut total = vec![0u64; n + 1];
    let mut unseen = vec![0u64; n + 1];
    let mut examples: Vec<Vec<Vec<&str>>> = vec![Vec::new(); n + 1];
    let mut start = 0;
    for (i, &t) in valid.iter().enumerate() {
        if t == BOS {
            start = i;
            continue;
        }
        let longest = n.min(i - start + 1);
        let mut ctx = Some(ROOT);
        for k in 1..=longest {
            if k > 1 {
                ctx = ctx.and_then(|c| counts.extend(c, valid[i + 1 - k]));
            }
            total[k] += 1;
            if ctx.and_then(|c| counts.find(c, t)).is_none() {
                unseen[k] += 1;
                let gram: Vec<&str> = valid[i + 1 - k..=i].iter().map(|&w| vocab.token(w)).collect();
                if examples[k].len() < EXAMPLES && !examples[k].contains(&gram) {
                    examples[k].push(gram);
                }
            }
        }
    }
    let orders: Vec<Value> = (1..=n)
        .map(|k| {
            json!({
                "order": k,
                "ngrams": total[k],
                "unseen": unseen[k],
                "share_unseen": if total[k] > 0 { unseen[k] as f64 / total[k] as f64 } else { 0.0 },
                "examples": examples[k],
            })
        })
        .collect();
    json!({ "orders": orders })
}

fn ppl_json(p: &Perplexity) -> Value {
    json!({
        "perplexity": p.perplexity,
        "perplexity_excluding_oov": p.perplexity_excluding_oov,
        "bits_per_token": p.bits_per_token,
        "zero_probability_tokens": p.zero_probability_tokens,
    })
}

/// Validation perplexity for orders 1..=`max_order` under the chosen method, MLE and add-one.
/// The training stream is counted once at the highest order; each lower order is a truncation.
pub fn ppl_by_order(train: &[TokenId], valid: &[TokenId], vocab: &Vocab, chosen: &Smoothing, max_order: usize) -> Result<Value> {
    if !(1..=MAX_ORDER).contains(&max_order) {
        return Err(Error::setting("max-order", format!("max_order must be between 1 and {MAX_ORDER}")).with("max", MAX_ORDER));
    }
    let mut methods = vec![chosen.clone()];
    for m in [Smoothing::of(Method::Mle), Smoothing { k: 1.0, ..Smoothing::of(Method::Addk) }] {
        let same = m.method == chosen.method && (m.method != Method::Addk || chosen.k == 1.0);
        if !same {
            methods.push(m);
        }
    }
    let full = Arc::new(NgramCounts::count(train, max_order, &mut |_, _| {}));
    // Interpolation learns its λs per order, on the same held-out split as training does.
    let heldout = (chosen.method == Method::Interpolation && chosen.lambdas.is_none()).then(|| {
        let (fit, held) = split_heldout(train, chosen.heldout);
        (NgramCounts::count(&fit, max_order, &mut |_, _| {}), held)
    });
    let mut curves: Vec<Vec<Value>> = vec![Vec::new(); methods.len()];
    let mut labels = vec![String::new(); methods.len()];
    let mut oov = 0;
    let mut m = 0;
    for order in 1..=max_order {
        let counts = if order == max_order { full.clone() } else { Arc::new(full.truncate(order)) };
        for (i, s) in methods.iter().enumerate() {
            let learned: Option<Learned> = match (&heldout, s.method) {
                (Some((fit, held)), Method::Interpolation) => Some(em(&fit.truncate(order), held, vocab)),
                _ => None,
            };
            let cfg = NgramConfig { order, smoothing: s.clone() };
            let point = match NgramModel::from_counts(counts.clone(), vocab.clone(), cfg, learned.as_ref()) {
                Ok(model) => {
                    let p = perplexity(&model, valid);
                    (oov, m) = (p.oov_tokens, p.m);
                    labels[i] = model.estimator().describe();
                    let mut v = ppl_json(&p);
                    v["order"] = json!(order);
                    v
                }
                Err(e) => json!({ "order": order, "error": e.message, "code": e.code }),
            };
            curves[i].push(point);
        }
    }
    let methods: Vec<Value> = methods
        .iter()
        .zip(curves)
        .zip(labels)
        .map(|((s, points), label)| {
            json!({ "method": s.method.id(), "k": (s.method == Method::Addk).then_some(s.k), "label": label, "points": points,
                    "normalized": s.method != Method::StupidBackoff })
        })
        .collect();
    Ok(json!({ "orders": (1..=max_order).collect::<Vec<_>>(), "methods": methods, "m": m, "oov_tokens": oov }))
}

/// Log-spaced picks of `1..=len` (all of them when there are few), for curves on log axes.
fn log_spaced(len: usize, points: usize) -> Vec<usize> {
    if len <= points {
        return (1..=len).collect();
    }
    let mut out: Vec<usize> = (0..points)
        .map(|i| ((len as f64).ln() * i as f64 / (points - 1) as f64).exp().round() as usize)
        .map(|r| r.clamp(1, len))
        .collect();
    out.dedup();
    out
}

/// The training corpus's count-of-counts per order (n_r: how many distinct n-grams occur exactly r
/// times) and the rank/frequency (Zipf) curve of its tokens, downsampled on log scales; plus the
/// method's learned per-order parameters (e.g. modified Kneser-Ney's discounts and the n1..n4 behind them).
pub fn count_of_counts(model: &NgramModel) -> Value {
    let c = model.counts();
    let vocab = crate::lm::LanguageModel::vocab(model);
    let orders: Vec<Value> = (1..=c.order)
        .map(|k| {
            let mut rs: Vec<u32> = Vec::with_capacity(c.num_grams(k));
            for ctx in 0..c.num_contexts() as u32 {
                if c.depth(ctx) + 1 == k {
                    rs.extend_from_slice(c.follower_counts(ctx));
                }
            }
            rs.sort_unstable();
            let mut hist: Vec<(u32, u64)> = Vec::new();
            for &r in &rs {
                match hist.last_mut() {
                    Some((last, n)) if *last == r => *n += 1,
                    _ => hist.push((r, 1)),
                }
            }
            let tokens: u64 = rs.iter().map(|&r| r as u64).sum();
            let picks = log_spaced(hist.len(), CURVE_POINTS);
            let points: Vec<[u64; 2]> = picks.iter().map(|&i| [hist[i - 1].0 as u64, hist[i - 1].1]).collect();
            json!({ "order": k, "distinct": rs.len(), "tokens": tokens, "singletons": hist.first().filter(|h| h.0 == 1).map_or(0, |h| h.1),
                    "count_of_counts": points })
        })
        .collect();
    let mut freq: Vec<(u32, TokenId)> = c.follower_counts(ROOT).iter().copied().zip(c.followers(ROOT).iter().copied()).collect();
    freq.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let zipf: Vec<Value> = log_spaced(freq.len(), CURVE_POINTS)
        .into_iter()
        .map(|rank| json!({ "rank": rank, "count": freq[rank - 1].0, "token": vocab.token(freq[rank - 1].1) }))
        .collect();
    json!({
        "orders": orders,
        "zipf": { "types": freq.len(), "tokens": c.num_tokens(), "points": zipf },
        "method": model.config.smoothing.method.id(),
        "params": model.estimator().params()["orders"].clone(),
    })
}

/// The interpolation weights of a linear-interpolation model, the validation perplexity under them,
/// and — given `lambdas` (λ0 … λn) — the validation perplexity under those, without recounting.
pub fn interpolation(model: &NgramModel, valid: &[TokenId], args: &Value) -> Result<Value> {
    if model.config.smoothing.method != Method::Interpolation {
        return Err(Error::setting("interp-view", "the interpolation view is for linear interpolation (method 'interpolation') models"));
    }
    let params = model.estimator().params();
    let mut out = json!({
        "order": model.config.order,
        "lambdas": params["lambdas"],
        "em": params["em"],
        "validation": ppl_json(&perplexity(model, valid)),
    });
    if let Some(l) = args.get("lambdas").filter(|l| !l.is_null()) {
        let l: Vec<f64> = serde_json::from_value(l.clone()).map_err(|_| Error::setting("lambdas-array", "lambdas must be an array of numbers"))?;
        let given = Learned::given(&l, model.config.order)?;
        let s = Smoothing { lambdas: Some(l), ..model.config.smoothing.clone() };
        let custom = model.with_smoothing(s, None)?;
        out["custom"] = json!({ "lambdas": given.lambdas, "validation": ppl_json(&perplexity(&custom, valid)) });
    }
    Ok(out)
}
