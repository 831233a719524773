//! The n-gram language model: counts in a context trie plus a pluggable smoothing method.

pub mod counts;
pub mod explain;
pub mod smoothing;

use crate::lm::{LanguageModel, ModelInfo, TokenStream};
use crate::text::{TokenId, Vocab, BOS};
use crate::{Error, Result};
use counts::NgramCounts;
use explain::Explanation;
use serde::{Deserialize, Serialize};
use smoothing::{Estimator, Query, Smoothing};

/// Highest order the page and the CLI accept.
pub const MAX_ORDER: usize = 10;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct NgramConfig {
    /// n: the model conditions on the previous n − 1 tokens.
    pub order: usize,
    #[serde(flatten)]
    pub smoothing: Smoothing,
}

impl Default for NgramConfig {
    fn default() -> Self {
        NgramConfig { order: 3, smoothing: Smoothing::default() }
    }
}

impl NgramConfig {
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_ORDER).contains(&self.order) {
            return Err(Error::config(format!("the n-gram order must be between 1 and {MAX_ORDER} (got {})", self.order)));
        }
        Ok(())
    }
}

pub struct NgramModel {
    pub config: NgramConfig,
    vocab: Vocab,
    counts: NgramCounts,
    estimator: Box<dyn Estimator>,
}

impl NgramModel {
    /// Counts a boundary-marked training stream and estimates the model.
    pub fn train(stream: &[TokenId], vocab: &Vocab, config: &NgramConfig, progress: counts::Progress) -> Result<Self> {
        config.validate()?;
        let counts = NgramCounts::count(stream, config.order, progress);
        Self::from_counts(counts, vocab.clone(), config.clone())
    }

    pub fn from_counts(counts: NgramCounts, vocab: Vocab, config: NgramConfig) -> Result<Self> {
        if counts.node(counts::ROOT).total == 0 {
            return Err(Error::new("empty-corpus", "The training text has no tokens to count."));
        }
        let estimator = smoothing::build(&config.smoothing, &counts, &vocab)?;
        Ok(NgramModel { config, vocab, counts, estimator })
    }

    pub fn counts(&self) -> &NgramCounts {
        &self.counts
    }

    /// The part of a history the model conditions on: at most n − 1 tokens, never left of `<s>`.
    pub fn context<'h>(&self, history: &'h [TokenId]) -> &'h [TokenId] {
        let from_bos = history.iter().rposition(|&t| t == BOS).unwrap_or(0);
        let h = &history[from_bos..];
        &h[h.len().saturating_sub(self.config.order - 1)..]
    }

    fn with_query<R>(&self, history: &[TokenId], f: impl FnOnce(&Query) -> R) -> R {
        let ctx = self.context(history);
        let chain = self.counts.chain(ctx);
        f(&Query { chain: &chain, depth: ctx.len() })
    }

    /// P(w | history).
    pub fn prob(&self, history: &[TokenId], w: TokenId) -> f64 {
        if !self.vocab.is_predictable(w) {
            return 0.0;
        }
        self.with_query(history, |q| self.estimator.prob(&self.counts, q, w))
    }

    /// Why P(w | history) is what it is, order by order.
    pub fn explain(&self, history: &[TokenId], w: TokenId) -> Explanation {
        let ctx = self.context(history);
        let (mut levels, summary) = self.with_query(history, |q| self.estimator.explain(&self.counts, q, w));
        let strs = |ts: &[TokenId]| ts.iter().map(|&t| self.vocab.token(t).to_string()).collect::<Vec<_>>();
        for l in &mut levels {
            if l.order > 0 {
                l.context = strs(&ctx[ctx.len() - (l.order - 1).min(ctx.len())..]);
            }
        }
        Explanation {
            method: self.config.smoothing.method.id().into(),
            context: strs(ctx),
            token: self.vocab.token(w).into(),
            probability: self.prob(history, w),
            levels,
            summary,
        }
    }
}

impl LanguageModel for NgramModel {
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    fn info(&self) -> ModelInfo {
        ModelInfo {
            family: "ngram".into(),
            description: format!("{}-gram, {}", self.config.order, self.estimator.describe()),
            normalized: self.estimator.normalized(),
            parameters: self.counts.num_entries() as u64,
            context: Some(self.config.order - 1),
        }
    }

    fn stream(&self) -> Box<dyn TokenStream + '_> {
        Box::new(NgramStream { model: self, history: Vec::with_capacity(self.config.order) })
    }
}

/// Keeps the last n − 1 tokens of the current sentence.
struct NgramStream<'a> {
    model: &'a NgramModel,
    history: Vec<TokenId>,
}

impl TokenStream for NgramStream<'_> {
    fn push(&mut self, token: TokenId) {
        if token == BOS {
            self.history.clear();
        }
        self.history.push(token);
        let keep = self.model.config.order - 1;
        if self.history.len() > keep {
            self.history.drain(..self.history.len() - keep);
        }
    }

    fn distribution(&mut self, out: &mut [f64]) {
        let m = self.model;
        m.with_query(&self.history, |q| m.estimator.distribution(&m.counts, q, &m.vocab, out));
    }

    fn log2_prob(&mut self, token: TokenId) -> f64 {
        self.model.prob(&self.history, token).log2()
    }

    fn vocab_len(&self) -> usize {
        self.model.vocab.len()
    }
}

#[cfg(test)]
mod tests;
