//! Perplexity, exactly as the course defines it (docs/conventions.md):
//! PPL = 2^l with l = -(1/m) Σ log2 P(x_i) over the m predicted tokens — every token but `<s>`,
//! `</s>` included; out-of-vocabulary tokens are scored as `[UNK]`.

use super::LanguageModel;
use crate::text::{TokenId, BOS, UNK};
use serde::Serialize;
use serde_json::json;

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Perplexity {
    /// 2^l over all m predicted tokens, OOVs scored as `[UNK]`. May be +∞ (see `notes`).
    pub perplexity: f64,
    /// The same with the OOV tokens and their log-probabilities left out (KenLM's "excluding OOVs").
    pub perplexity_excluding_oov: f64,
    /// Cross-entropy l in bits per token.
    pub bits_per_token: f64,
    /// Number of predicted (scored) tokens.
    pub m: usize,
    pub oov_tokens: usize,
    pub oov_rate: f64,
    /// Tokens the model gave probability 0.
    pub zero_probability_tokens: usize,
    /// False for unnormalised models (stupid backoff): their "perplexity" is not a perplexity.
    pub normalized: bool,
    /// Explanations the page shows next to the number.
    pub notes: Vec<Note>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Note {
    /// Stable id for translation: `zero-probability`, `unk-only`, `unnormalized`, `high-oov`, `no-tokens`,
    /// `not-generative`.
    pub code: &'static str,
    /// The explanation in English.
    pub message: String,
    /// The values in the message, so the page can say it in another language.
    pub params: serde_json::Value,
}

/// Scores a boundary-marked stream and reports its perplexity.
pub fn perplexity(model: &dyn LanguageModel, tokens: &[TokenId]) -> Perplexity {
    let scores = model.score(tokens);
    let predicted: Vec<(usize, TokenId)> =
        tokens.iter().copied().enumerate().filter(|&(_, t)| t != BOS).collect();
    debug_assert_eq!(scores.len(), predicted.len());
    let m = predicted.len();
    let (mut sum, mut sum_in, mut oov, mut zeros) = (0.0f64, 0.0f64, 0usize, 0usize);
    let mut first_zero = None;
    for (&lp, &(pos, t)) in scores.iter().zip(&predicted) {
        sum += lp;
        if t == UNK {
            oov += 1;
        } else {
            sum_in += lp;
        }
        if lp == f64::NEG_INFINITY {
            zeros += 1;
            first_zero.get_or_insert(pos);
        }
    }
    let ppl = |s: f64, n: usize| if n == 0 { f64::NAN } else { (-s / n as f64).exp2() };
    let info = model.info();
    let vocab = model.vocab();
    let mut notes = Vec::new();
    if m == 0 {
        notes.push(Note {
            code: "no-tokens",
            message: "There are no tokens to score, so perplexity is undefined.".into(),
            params: json!({}),
        });
    }
    if let Some(pos) = first_zero {
        let start = tokens[..pos].iter().rposition(|&t| t == BOS).unwrap_or(0);
        let ctx: Vec<&str> = tokens[start..pos].iter().rev().take(5).rev().map(|&t| vocab.token(t)).collect();
        let (token, context) = (vocab.token(tokens[pos]), ctx.join(" "));
        notes.push(Note {
            params: json!({ "zeros": zeros, "m": m, "token": token, "context": context }),
            code: "zero-probability",
            message: format!(
                "{zeros} of the {m} tokens have probability 0 (the first: '{}' after '{}'). log2 0 = −∞, so the \
                 perplexity is infinite. An unsmoothed (MLE) model gives zero to everything it never saw in \
                 training; pick a smoothing method.",
                token, context
            ),
        });
    }
    if vocab.num_predictable() <= 1 {
        notes.push(Note {
            params: json!({}),
            code: "unk-only",
            message: "The vocabulary holds only [UNK], so every token is [UNK] and the model predicts it with \
                      certainty: perplexity 1. That number is meaningless — it says nothing about the text. \
                      Perplexities are only comparable between models with the same vocabulary."
                .into(),
        });
    } else if m > 0 && oov as f64 / m as f64 > 0.2 {
        notes.push(Note {
            params: json!({ "percent": (100.0 * oov as f64 / m as f64).round() }),
            code: "high-oov",
            message: format!(
                "{:.0}% of the tokens are out of the vocabulary and scored as [UNK]; a smaller vocabulary makes \
                 perplexity look better without the model being better.",
                100.0 * oov as f64 / m as f64
            ),
        });
    }
    if !info.normalized {
        notes.push(Note {
            params: json!({}),
            code: "unnormalized",
            message: "This model's scores do not sum to 1, so this \"perplexity\" is not a true perplexity and \
                      cannot be compared with other models."
                .into(),
        });
    }
    if !info.generative {
        notes.push(Note {
            params: json!({}),
            code: "not-generative",
            message: "This model read ahead: each prediction saw the token it predicts (a bidirectional \
                      model's backward direction reads the text from the end of its window). Its scores are \
                      not P(x_t | x_<t), so this \"perplexity\" measures copying, not prediction, and cannot be \
                      compared with a language model's."
                .into(),
        });
    }
    Perplexity {
        perplexity: ppl(sum, m),
        perplexity_excluding_oov: ppl(sum_in, m - oov),
        bits_per_token: if m == 0 { f64::NAN } else { -sum / m as f64 },
        m,
        oov_tokens: oov,
        oov_rate: if m == 0 { 0.0 } else { oov as f64 / m as f64 },
        zero_probability_tokens: zeros,
        normalized: info.normalized,
        notes,
    }
}
