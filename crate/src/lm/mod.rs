//! The one interface every language model implements, n-gram and neural alike (makemore style).
//! Evaluation ([`eval`], and nanoGPT's protocol in [`windows`]), generation ([`sample`]), the views and the UI only ever see these traits.

pub mod eval;
pub mod sample;
pub mod windows;

use crate::text::{TokenId, Vocab, BOS};
use serde::Serialize;
use std::rc::Rc;

/// A language model: a probability distribution over the next token given the history.
pub trait LanguageModel {
    fn vocab(&self) -> &Vocab;

    /// What the model is, for reports and the UI.
    fn info(&self) -> ModelInfo;

    /// A new stream with an empty history. Push `<s>` before asking for a distribution.
    fn stream(&self) -> Box<dyn TokenStream + '_>;

    /// log2 P(x_i | x_<i) for every predicted position of a boundary-marked stream
    /// (every token except `<s>`, which is context only), in order.
    /// Models that can batch (neural ones) override this; the result must be the same.
    fn score(&self, tokens: &[TokenId]) -> Vec<f64> {
        let mut s = self.stream();
        let mut out = Vec::with_capacity(tokens.len());
        for &t in tokens {
            if t != BOS {
                out.push(s.log2_prob(t));
            }
            s.push(t);
        }
        out
    }
}

/// A model's running state over a token history: what it has read so far.
pub trait TokenStream {
    /// Appends one token to the history. `<s>` starts a new sentence.
    fn push(&mut self, token: TokenId);

    /// P(next = id | history) for every id; `out.len()` is the vocabulary size.
    /// `<s>` always gets 0 (and `</s>` too when the data has no boundaries).
    fn distribution(&mut self, out: &mut [f64]);

    /// log2 P(next = token | history). Override when a single probability is cheaper.
    fn log2_prob(&mut self, token: TokenId) -> f64 {
        let mut d = vec![0.0; self.vocab_len()];
        self.distribution(&mut d);
        d[token as usize].log2()
    }

    fn vocab_len(&self) -> usize;
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ModelInfo {
    /// Model family id: `ngram`, `fixed-window`, ...
    pub family: String,
    /// A short human description, e.g. "3-gram, add-k (k = 0.5)".
    pub description: String,
    /// Whether every next-token distribution sums to 1 (false for stupid backoff).
    pub normalized: bool,
    /// Number of stored numbers (parameters, or n-gram entries for count models).
    pub parameters: u64,
    /// How many previous tokens the model can use (`None`: unbounded).
    pub context: Option<usize>,
    /// Whether each prediction depends on the history only, so the model assigns P(x₁..x_T) and can
    /// generate. False for a bidirectional RNN: it read the token it predicts, so it cannot generate
    /// and its validation "perplexity" measures copying, not prediction.
    pub generative: bool,
}

/// A stream that owns a share of its model, so it can be kept between calls — a chunked generation
/// keeps an RNN's hidden state or a Transformer's KV cache instead of re-reading its history.
pub struct OwnedStream {
    // Declared before `model`, so it is dropped first.
    stream: Box<dyn TokenStream + 'static>,
    model: Rc<dyn LanguageModel>,
}

impl OwnedStream {
    pub fn new(model: Rc<dyn LanguageModel>) -> OwnedStream {
        let stream: Box<dyn TokenStream + '_> = model.stream();
        // SAFETY: the stream borrows the model behind the `Rc`. That allocation never moves and lives
        // as long as this struct holds the `Rc`; the stream is dropped before it (field order), is
        // never handed out by value, and the model is only ever used through `&self` (models keep
        // their mutable engine state in a `RefCell`), so the borrow stays valid.
        let stream = unsafe { std::mem::transmute::<Box<dyn TokenStream + '_>, Box<dyn TokenStream + 'static>>(stream) };
        OwnedStream { stream, model }
    }

    pub fn model(&self) -> &dyn LanguageModel {
        &*self.model
    }

    pub fn stream(&mut self) -> &mut dyn TokenStream {
        &mut *self.stream
    }

    /// The model and the stream at once.
    pub fn split(&mut self) -> (&dyn LanguageModel, &mut dyn TokenStream) {
        (&*self.model, &mut *self.stream)
    }
}
