//! The Transformer's own views, the data of the page's drawings:
//!
//! * `attention` (args: `text`, optional — default the validation text; its first T tokens): every
//!   block's and head's attention matrix, the head average per block, and attention rollout across
//!   blocks (Abnar & Zuidema 2020: Ā_l = ½·mean_h A_l + ½·I, rows renormalised;
//!   rollout = Ā_L ⋯ Ā_1, how much each output position draws on each input token through the
//!   residual stream);
//! * `positional`: what the model's positional encoding is, drawn for this model — the sinusoidal
//!   matrix, the learned embeddings' cosine similarity, RoPE's rotation angles, ALiBi's biases,
//!   the relative tables, or nothing (NoPE).

use super::block;
use super::config::Positional;
use super::model::{Transformer, WPE};
use super::positional::sinusoidal_table;
use crate::nn::engine::Engine;
use crate::nn::model::NeuralModel;
use crate::nn::ops::attention::alibi_slope;
use crate::nn::ops::rope::theta;
use crate::{Error, Result};
use serde_json::{json, Value};

/// The views only a Transformer has; `None` for any other name.
pub fn view(m: &Transformer, eng: &mut Engine, name: &str, args: &Value, data: &crate::text::Dataset) -> Option<Result<Value>> {
    match name {
        "attention" => Some(attention(m, eng, args, data)),
        "positional" => Some(Ok(positional(m, eng))),
        _ => None,
    }
}

fn round(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

fn matrix(rows: &[Vec<f64>]) -> Value {
    Value::Array(rows.iter().map(|r| Value::Array(r.iter().map(|&x| json!(round(x))).collect())).collect())
}

/// n × n matrix product a·b.
fn matmul(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = a.len();
    (0..n).map(|i| (0..n).map(|j| (0..n).map(|k| a[i][k] * b[k][j]).sum()).collect()).collect()
}

fn attention(m: &Transformer, eng: &mut Engine, args: &Value, data: &crate::text::Dataset) -> Result<Value> {
    let c = m.config();
    let mut tokens = match args.get("text").and_then(Value::as_str) {
        Some(text) => crate::text::Dataset::encode_text(&data.config, &data.vocab, text),
        None => data.valid.clone(),
    };
    tokens.truncate(c.context);
    if tokens.is_empty() {
        return Err(Error::new("no-text", "There is no text to read: type some, or load the model with its corpus."));
    }
    let n = tokens.len();
    let maps = m.attention_maps(eng, &tokens);
    let mut rollout: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect()).collect();
    let layers: Vec<Value> = maps
        .iter()
        .enumerate()
        .map(|(l, probs)| {
            let head = |h: usize| -> Vec<Vec<f64>> { (0..n).map(|i| (0..n).map(|j| probs[(h * n + i) * n + j] as f64).collect()).collect() };
            let heads: Vec<Vec<Vec<f64>>> = (0..c.heads).map(head).collect();
            let average: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| heads.iter().map(|a| a[i][j]).sum::<f64>() / c.heads as f64).collect()).collect();
            let residual: Vec<Vec<f64>> = average
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    let r: Vec<f64> = row.iter().enumerate().map(|(j, &a)| 0.5 * a + if i == j { 0.5 } else { 0.0 }).collect();
                    let s: f64 = r.iter().sum();
                    r.into_iter().map(|x| x / s).collect()
                })
                .collect();
            rollout = matmul(&residual, &rollout);
            json!({ "layer": l, "heads": heads.iter().map(|a| matrix(a)).collect::<Vec<_>>(), "average": matrix(&average) })
        })
        .collect();
    let shown: Vec<&str> = tokens.iter().map(|&id| data.vocab.token(id)).collect();
    Ok(json!({
        "family": "transformer",
        "tokens": shown,
        "heads": c.heads,
        "positional": c.positional.name(),
        "attention": m.config().attention,
        "layers": layers,
        "rollout": matrix(&rollout),
    }))
}

fn positional(m: &Transformer, eng: &mut Engine) -> Value {
    let c = m.config();
    let (t, w, dk) = (c.context, c.width, c.head_dim());
    let base = |formula: &str| json!({ "kind": c.positional.name(), "context": t, "width": w, "formula": formula });
    let mut v = match c.positional {
        Positional::Sinusoidal => {
            let p = sinusoidal_table(t, w);
            let rows: Vec<Vec<f64>> = p.chunks(w).map(|r| r.iter().map(|&x| x as f64).collect()).collect();
            let mut v = base("x_0(pos) = √d·E[w] + p(pos); p(pos, 2j) = sin(pos / 10000^(2j/d)), p(pos, 2j+1) = cos(pos / 10000^(2j/d))");
            v["matrix"] = matrix(&rows);
            v
        }
        Positional::Learned => {
            let p = m.read_param(eng, WPE);
            let rows: Vec<&[f32]> = p.chunks(w).collect();
            let norm = |r: &[f32]| r.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt().max(1e-12);
            let sim: Vec<Vec<f64>> = rows.iter().map(|a| rows.iter().map(|b| a.iter().zip(*b).map(|(&x, &y)| x as f64 * y as f64).sum::<f64>() / (norm(a) * norm(b))).collect()).collect();
            let mut v = base("x_0(pos) = E[w] + P[pos]; similarity(i, j) = cos(P[i], P[j])");
            v["similarity"] = matrix(&sim);
            v
        }
        Positional::Rope => {
            let thetas: Vec<f64> = (0..dk / 2).map(|i| theta(i, dk)).collect();
            let angles: Vec<Vec<f64>> = (0..t).map(|pos| thetas.iter().map(|th| pos as f64 * th).collect()).collect();
            let mut v = base("pair (2i, 2i+1) of q and k at position m rotated by m·θ_i, θ_i = 10000^(−2i/d_k)");
            v["theta"] = json!(thetas);
            v["angles"] = matrix(&angles);
            v
        }
        Positional::Alibi => {
            let slopes: Vec<f64> = (0..c.heads).map(|h| alibi_slope(h, c.heads)).collect();
            let bias: Vec<Value> = slopes
                .iter()
                .map(|m| Value::Array((0..t).map(|i| Value::Array((0..t).map(|j| if j <= i { json!(round(-m * (i - j) as f64)) } else { Value::Null }).collect())).collect()))
                .collect();
            let mut v = base("score_ij += −m_h·(i − j), m_h = 2^(−8(h+1)/H); null above the diagonal (masked)");
            v["slopes"] = json!(slopes);
            v["bias"] = Value::Array(bias);
            v
        }
        Positional::Relative => {
            let k = c.rel_clip;
            let layers: Vec<Value> = (0..c.layers)
                .map(|l| {
                    let mut table = |n: &str| -> Vec<Vec<f64>> { m.read_param(eng, &block::name(l, n)).chunks(dk).map(|r| r.iter().map(|&x| x as f64).collect()).collect() };
                    let (wk, wv) = (table("attn.rel_k"), table("attn.rel_v"));
                    let norms = |t: &[Vec<f64>]| t.iter().map(|r| round(r.iter().map(|x| x * x).sum::<f64>().sqrt())).collect::<Vec<_>>();
                    json!({ "layer": l, "w_k": matrix(&wk), "w_v": matrix(&wv), "w_k_norms": norms(&wk), "w_v_norms": norms(&wv) })
                })
                .collect();
            let mut v = base("r_ij = clip(i − j, −k, k); score_ij = q_iᵀ(k_j + w^K_r)/√d_k; out_i = Σ_j a_ij (v_j + w^V_r)");
            v["clip"] = json!(k);
            v["distances"] = json!((0..=k).collect::<Vec<_>>());
            v["layers"] = Value::Array(layers);
            v
        }
        Positional::None => base("no positional information: only the causal mask tells positions apart"),
    };
    v["family"] = json!("transformer");
    v
}
