//! The one interface every neural model implements (makemore style), and [`Network`], which turns
//! any of them into a [`LanguageModel`]. A model says only what differs between models — its
//! parameter layout and initialisation, its activations, forward + backward on a batch, its
//! evaluation losses, its stream state for generation, its memory — and the shared trainer
//! (`nn::trainer`) does the rest.

use super::batches::{predicted_positions, Batch, Batching};
use super::engine::Engine;
use super::params::{Entry, Layout};
use super::tensor::Tensor;
use super::train::TrainConfig;
use crate::lm::{LanguageModel, ModelInfo, TokenStream};
use crate::rng::Rng;
use crate::text::{TokenId, Vocab};
use crate::Result;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;

/// A row of an evaluation batch that scores no position (padding, or a `<s>` target).
pub const NO_POSITION: u32 = u32::MAX;

pub trait NeuralModel: Sized + 'static {
    /// The family id (settings' `family` tag, model files).
    const FAMILY: &'static str;
    /// The model's settings, with documented defaults; they include a [`TrainConfig`].
    type Config: Serialize + DeserializeOwned + Clone + Default;
    /// What a stream keeps between tokens: a window of ids, a hidden state, a KV cache.
    type State;

    fn validate(config: &Self::Config) -> Result<()>;
    /// What to make smaller when the model does not fit its budget (`model-too-large`).
    const REDUCE: crate::train::memory::Reduce = crate::train::memory::REDUCE_SIZES;
    fn train_config(config: &Self::Config) -> &TrainConfig;
    /// A short description for reports ("fixed-window neural LM: n = 3, …").
    fn describe(config: &Self::Config) -> String;
    /// How many previous tokens the model can use (`None`: unbounded).
    fn context(config: &Self::Config) -> Option<usize>;
    /// Whether the model is a language model: P(x_t | x_<t) only. False for one that reads ahead (a
    /// bidirectional RNN): it cannot generate, and its "perplexity" is not one (`ModelInfo::generative`).
    fn generative(_config: &Self::Config) -> bool {
        true
    }
    fn batching(config: &Self::Config) -> Batching;
    /// The named parameters for a vocabulary of `v` ids.
    fn layout(config: &Self::Config, v: usize) -> Layout;
    /// Initial values of one parameter.
    fn init(config: &Self::Config, entry: &Entry, rng: &mut Rng) -> Vec<f32>;
    /// Bytes of activations and token ids [`NeuralModel::new`] allocates (in u64: a wasm32 usize
    /// would overflow for the very configurations the estimate must refuse).
    fn activation_bytes(config: &Self::Config, v: usize) -> u64;

    /// Allocates the activations on the engine's backend, once.
    fn new(config: Self::Config, vocab: &Vocab, eng: &mut Engine) -> Result<Self>;
    fn config(&self) -> &Self::Config;

    /// Forward and backward of the mean loss of a training batch: the mean (nats per predicted
    /// token) goes into `loss` (a 1-float device tensor), the gradients accumulate into `eng.grads`
    /// (zeroed by the caller).
    fn forward_backward(&self, eng: &mut Engine, stream: &[TokenId], batch: &Batch, loss: Tensor);

    /// Losses of the predicted `positions` of `stream` (in order, a prefix of the stream's predicted
    /// positions), in batches: `sink` receives each batch's per-row losses (a device tensor
    /// [rows, 1]) and the position each row scores, or [`NO_POSITION`] for a row that scores none
    /// (its loss is 0). Every requested position is scored exactly once, in order.
    fn eval(&self, eng: &mut Engine, stream: &[TokenId], positions: &[u32], sink: &mut dyn FnMut(&mut Engine, Tensor, &[u32]));

    /// Views only this model has (the recurrent family's gradient flow); `None` if unknown.
    fn view(&self, _eng: &mut Engine, _name: &str, _args: &serde_json::Value, _data: &crate::text::Dataset) -> Option<Result<serde_json::Value>> {
        None
    }

    /// A stream's state before any token.
    fn start(&self, eng: &mut Engine) -> Self::State;
    fn push(&self, eng: &mut Engine, state: &mut Self::State, token: TokenId);
    /// P(next | state) for every id.
    fn distribution(&self, eng: &mut Engine, state: &mut Self::State, out: &mut [f64]);
}

/// A neural model with its engine: the [`LanguageModel`] the session, sampling and views use.
/// The engine sits in a `RefCell` so that streams (`&self`) and the trainer share the model.
pub struct Network<M: NeuralModel> {
    pub model: M,
    pub vocab: Vocab,
    pub engine: RefCell<Engine>,
}

impl<M: NeuralModel> Network<M> {
    /// −ln P of each predicted position of `stream`, read back from the device.
    pub fn losses(&self, stream: &[TokenId], positions: &[u32]) -> Vec<f64> {
        let eng = &mut *self.engine.borrow_mut();
        let mut out = Vec::with_capacity(positions.len());
        self.model.eval(eng, stream, positions, &mut |eng, l, rows| {
            out.extend(eng.be.read(l).into_iter().zip(rows).filter(|(_, &p)| p != NO_POSITION).map(|(x, _)| x as f64))
        });
        debug_assert_eq!(out.len(), positions.len());
        out
    }

    /// Mean cross-entropy (nats) of `positions` of `stream`.
    pub fn mean_loss(&self, stream: &[TokenId], positions: &[u32]) -> f64 {
        let l = self.losses(stream, positions);
        l.iter().sum::<f64>() / l.len().max(1) as f64
    }
}

impl<M: NeuralModel> LanguageModel for Network<M> {
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    fn info(&self) -> ModelInfo {
        let c = self.model.config();
        ModelInfo {
            family: M::FAMILY.into(),
            description: M::describe(c),
            normalized: true,
            parameters: self.engine.borrow().layout.parameters(),
            context: M::context(c),
            generative: M::generative(c),
        }
    }

    fn stream(&self) -> Box<dyn TokenStream + '_> {
        let state = self.model.start(&mut self.engine.borrow_mut());
        Box::new(NetStream { net: self, state })
    }

    /// Batched forward passes; the same numbers as the stream.
    fn score(&self, tokens: &[TokenId]) -> Vec<f64> {
        let positions = predicted_positions(tokens);
        self.losses(tokens, &positions).into_iter().map(|l| -l / std::f64::consts::LN_2).collect()
    }
}

struct NetStream<'a, M: NeuralModel> {
    net: &'a Network<M>,
    state: M::State,
}

impl<M: NeuralModel> TokenStream for NetStream<'_, M> {
    fn push(&mut self, token: TokenId) {
        self.net.model.push(&mut self.net.engine.borrow_mut(), &mut self.state, token);
    }
    fn distribution(&mut self, out: &mut [f64]) {
        self.net.model.distribution(&mut self.net.engine.borrow_mut(), &mut self.state, out);
    }
    fn vocab_len(&self) -> usize {
        self.net.vocab.len()
    }
}
