//! The n-gram language model: counts in a context trie plus a pluggable smoothing method, and
//! ARPA files (a model read from one implements the same interface).

pub mod arpa;
pub mod counts;
pub mod explain;
pub mod family;
mod radix;
pub mod smoothing;
pub mod trainer;
pub mod trie;
pub mod views;

use crate::lm::{LanguageModel, ModelInfo, TokenStream};
use crate::text::{TokenId, Vocab, BOS};
use crate::{Error, Result};
use counts::NgramCounts;
use explain::Explanation;
use serde::{Deserialize, Serialize};
use smoothing::{Estimator, Learned, Method, Query, Smoothing};
use std::sync::Arc;

/// Highest order the page and the CLI accept.
pub const MAX_ORDER: usize = 10;

/// Progress callback: the phase (`counting`, `sorting`, `estimating`, …) and the fraction done.
pub type Progress<'a> = &'a mut dyn FnMut(&'static str, f64);

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
            return Err(Error::setting("order", format!("the n-gram order must be between 1 and {MAX_ORDER} (got {})", self.order)).with("max", MAX_ORDER).with("got", self.order));
        }
        self.smoothing.validate(self.order)
    }
}

/// The part of a history an n-gram model of order n conditions on: at most n − 1 tokens, never
/// left of `<s>`.
pub fn context(history: &[TokenId], order: usize) -> &[TokenId] {
    let from_bos = history.iter().rposition(|&t| t == BOS).unwrap_or(0);
    let h = &history[from_bos..];
    &h[h.len().saturating_sub(order - 1)..]
}

pub struct NgramModel {
    pub config: NgramConfig,
    vocab: Vocab,
    counts: Arc<NgramCounts>,
    estimator: Box<dyn Estimator>,
}

impl NgramModel {
    /// Counts a boundary-marked training stream and estimates the model. Interpolation without
    /// hand-set λs first learns them on a held-out share of the stream.
    pub fn train(stream: &[TokenId], vocab: &Vocab, config: &NgramConfig, progress: Progress) -> Result<Self> {
        config.validate()?;
        let s = &config.smoothing;
        let learned = if s.method == Method::Interpolation && s.lambdas.is_none() {
            Some(smoothing::learn_lambdas(stream, config.order, vocab, s.heldout, progress)?)
        } else {
            None
        };
        let counts = NgramCounts::count(stream, config.order, progress);
        progress("estimating", 0.0);
        let m = Self::from_counts(Arc::new(counts), vocab.clone(), config.clone(), learned.as_ref())?;
        progress("estimating", 1.0);
        Ok(m)
    }

    /// A model from existing counts (shared, so several methods can be compared cheaply).
    pub fn from_counts(counts: Arc<NgramCounts>, vocab: Vocab, config: NgramConfig, learned: Option<&Learned>) -> Result<Self> {
        config.validate()?;
        if counts.num_tokens() == 0 {
            return Err(Error::new("empty-corpus", "The training text has no tokens to count."));
        }
        let estimator = smoothing::build(&config.smoothing, &counts, &vocab, learned)?;
        Ok(NgramModel { config, vocab, counts, estimator })
    }

    /// The same counts under other smoothing settings.
    pub fn with_smoothing(&self, smoothing: Smoothing, learned: Option<&Learned>) -> Result<Self> {
        let config = NgramConfig { order: self.config.order, smoothing };
        Self::from_counts(self.counts.clone(), self.vocab.clone(), config, learned)
    }

    pub fn counts(&self) -> &NgramCounts {
        &self.counts
    }

    pub fn estimator(&self) -> &dyn Estimator {
        self.estimator.as_ref()
    }

    /// The part of a history the model conditions on.
    pub fn context<'h>(&self, history: &'h [TokenId]) -> &'h [TokenId] {
        context(history, self.config.order)
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
        let trace = self.with_query(history, |q| self.estimator.explain(&self.counts, q, w));
        let mut levels = trace.levels;
        let strs = |ts: &[TokenId]| ts.iter().map(|&t| self.vocab.token(t).to_string()).collect::<Vec<_>>();
        for l in &mut levels {
            if l.order > 0 {
                l.context = strs(&ctx[ctx.len() - (l.order - 1).min(ctx.len())..]);
            }
        }
        let token = self.vocab.token(w).to_string();
        let probability = self.prob(history, w);
        let story = explain::story(trace.kind, &levels, &token, probability);
        let summary = if story.is_empty() { trace.note } else { format!("{story} {}", trace.note) };
        Explanation {
            method: self.config.smoothing.method.id().into(),
            kind: trace.kind,
            context: strs(ctx),
            token,
            probability,
            normalized: self.estimator.normalized(),
            levels,
            summary,
        }
    }

    /// The model as an ARPA file (see [`arpa`]).
    pub fn to_arpa(&self) -> Result<String> {
        if self.vocab.bpe().is_some() {
            // ARPA words are whitespace-separated and the file has no place for merges: " the", "\n"
            // and the tokenizer itself would not survive the round trip.
            return Err(Error::new(
                "not-arpa-bpe",
                "A model of BPE subwords cannot be written as an ARPA file: its tokens hold spaces and line breaks, \
                 which ARPA cannot, and the file has no place for the merges. Download the model file instead.",
            ));
        }
        let table = self.estimator.table().ok_or_else(|| {
            Error::new(
                "not-arpa",
                format!(
                    "{} cannot be written as an ARPA file: ARPA stores a backoff model (a probability per n-gram and a \
                     weight per context), and this method is not one.",
                    self.estimator.describe()
                ),
            )
        })?;
        let header = format!(
            "LM Playground: {}-gram, {}\nvocabulary: {} tokens, the unknown-word token written <unk>",
            self.config.order,
            self.estimator.describe(),
            self.vocab.len()
        );
        Ok(arpa::write(&self.counts, table, &self.vocab, &header))
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
            generative: true,
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
pub(crate) mod tests;
