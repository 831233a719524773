//! The fixed-window neural language model of the course (Bengio et al., 2003):
//!
//! ```text
//! e  = concat(E[x_{t−n}], …, E[x_{t−1}])     E: [V × d]           e: [B × n·d]
//! h  = f(W·e + b₁)                          W: [H × n·d], b₁: [H]  h: [B × H]    f = tanh | relu | …
//! ŷ  = softmax(U·h + b₂)                    U: [V × H],   b₂: [V]  ŷ: [B × V]
//! ```
//! Weights use PyTorch's `nn.Linear` layout ([out × in]), so `W·e` is `e · Wᵀ` on row batches.
//! The context of position t is the n tokens before it in the whole stream, across sentences, padded
//! with `<s>` at the start. `<s>` (and `</s>` when the data has no boundaries) is masked to −∞ before the
//! softmax, so it gets probability 0 and the distribution is over the predictable vocabulary.
//! Training minimises the mean cross-entropy in nats; reports convert to bits (perplexity).

use crate::clock::now_ms;
use crate::lm::{LanguageModel, ModelInfo, TokenStream};
use crate::nn::backend::{cpu::Cpu, Backend};
use crate::nn::memory::MemoryEstimate;
use crate::nn::ops::activation::Activation;
use crate::nn::optim::{clip_grad_norm, schedule::learning_rate, Optimizer, OptimizerKind};
use crate::nn::params::Layout;
use crate::nn::tensor::{HostTensor, Ids, Shape, Tensor};
use crate::nn::train::{LossPoint, TrainConfig};
use crate::rng::Rng;
use crate::session::Progress;
use crate::text::{Dataset, TokenId, Vocab, BOS};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::cell::RefCell;

pub const FAMILY: &str = "fixed-window";
/// Rows per forward pass when scoring, evaluating and generating.
pub const EVAL_BATCH: usize = 256;

/// Parameter names, as in model files (docs/formats.md).
pub const EMBEDDING: &str = "embedding.weight";
pub const HIDDEN_W: &str = "hidden.weight";
pub const HIDDEN_B: &str = "hidden.bias";
pub const OUTPUT_W: &str = "output.weight";
pub const OUTPUT_B: &str = "output.bias";

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct FixedWindowConfig {
    /// n: how many previous tokens the model sees. Default 3.
    pub context: usize,
    /// d: embedding size per token. Default 32.
    pub embed: usize,
    /// H: hidden units. Default 128.
    pub hidden: usize,
    /// f: `tanh` (default, the course's), `relu`, `sigmoid` or `gelu`.
    pub activation: Activation,
    pub train: TrainConfig,
}

impl Default for FixedWindowConfig {
    fn default() -> Self {
        FixedWindowConfig { context: 3, embed: 32, hidden: 128, activation: Activation::Tanh, train: TrainConfig::default() }
    }
}

impl FixedWindowConfig {
    pub fn validate(&self) -> Result<()> {
        if !(1..=64).contains(&self.context) {
            return Err(Error::config("the context n must be between 1 and 64 tokens"));
        }
        if !(1..=4096).contains(&self.embed) || !(1..=16_384).contains(&self.hidden) {
            return Err(Error::config("the embedding size must be 1–4096 and the hidden size 1–16384"));
        }
        self.train.validate()
    }

    /// The parameter layout for a vocabulary of `v` ids.
    pub fn layout(&self, v: usize) -> Layout {
        let mut l = Layout::default();
        l.push(EMBEDDING, &[v, self.embed]);
        l.push(HIDDEN_W, &[self.hidden, self.context * self.embed]);
        l.push(HIDDEN_B, &[self.hidden]);
        l.push(OUTPUT_W, &[v, self.hidden]);
        l.push(OUTPUT_B, &[v]);
        l
    }

    /// Rows the activation buffers hold: a training batch or an evaluation batch.
    fn rows(&self) -> usize {
        self.train.batch.max(EVAL_BATCH)
    }

    /// Parameters: E [V·d] + W [H·n·d] + b₁ [H] + U [V·H] + b₂ [V]. In u64: on wasm32 a usize
    /// would overflow for the very configurations the estimate must refuse.
    pub fn parameter_count(&self, v: usize) -> u64 {
        let (v, n, d, h) = (v as u64, self.context as u64, self.embed as u64, self.hidden as u64);
        v * d + h * n * d + h + v * h + v
    }

    /// Activation floats for `rows` rows: e, de [n·d]; pre-activation, h and their gradients [4H];
    /// logits, probabilities, their gradient [3V]; the loss [1]. Plus n + 1 token ids.
    fn activation_floats(&self, v: usize, rows: usize) -> u64 {
        let (v, n, d, h) = (v as u64, self.context as u64, self.embed as u64, self.hidden as u64);
        rows as u64 * (2 * n * d + 4 * h + 3 * v + 1 + n + 1)
    }

    /// What training this model would allocate, before allocating it.
    pub fn estimate(&self, v: usize) -> MemoryEstimate {
        use crate::nn::kernels::gemm::{KC, MC, NC};
        let params = self.parameter_count(v);
        let acts = self.activation_floats(v, self.rows()) * 4;
        // The matmul packing buffers, and one float for the gradient norm.
        let scratch = (KC * (MC + NC)) as u64 * 4 + 4;
        MemoryEstimate::new(params, Optimizer::state_per_param(self.train.optim.optimizer) as u64, acts, scratch)
    }
}

/// Named views of one flat buffer (parameters or gradients).
#[derive(Clone, Copy)]
struct Views {
    emb: Tensor,
    w: Tensor,
    b1: Tensor,
    u: Tensor,
    b2: Tensor,
}

impl Views {
    fn new(layout: &Layout, flat: Tensor) -> Views {
        let v = |name: &str| {
            let e = layout.get(name).expect("layout entry");
            Tensor { buf: flat.buf, offset: flat.offset + e.offset, shape: e.shape }
        };
        Views { emb: v(EMBEDDING), w: v(HIDDEN_W), b1: v(HIDDEN_B), u: v(OUTPUT_W), b2: v(OUTPUT_B) }
    }
}

/// Activations and their gradients for up to `rows` rows, in one buffer.
struct Acts {
    e: Tensor,
    hpre: Tensor,
    h: Tensor,
    logits: Tensor,
    probs: Tensor,
    losses: Tensor,
    de: Tensor,
    dhpre: Tensor,
    dh: Tensor,
    dlogits: Tensor,
    /// The whole gradient part, zeroed before each backward.
    grads: Tensor,
    inputs: Ids,
    targets: Ids,
}

impl Acts {
    fn new(be: &mut dyn Backend, rows: usize, nd: usize, h: usize, v: usize, n: usize) -> Acts {
        let floats = rows * (2 * nd + 4 * h + 3 * v + 1);
        let buf = be.alloc(floats);
        let mut off = 0;
        let mut take = |dims: &[usize]| {
            let shape = Shape::new(dims);
            let t = Tensor { buf, offset: off, shape };
            off += shape.numel();
            t
        };
        let (e, hpre, h_, logits, probs, losses) = (take(&[rows, nd]), take(&[rows, h]), take(&[rows, h]), take(&[rows, v]), take(&[rows, v]), take(&[rows]));
        let (de, dhpre, dh, dlogits) = (take(&[rows, nd]), take(&[rows, h]), take(&[rows, h]), take(&[rows, v]));
        // The gradient part runs from `de` to the end of the buffer.
        let grads = Tensor { buf, offset: de.offset, shape: Shape::new(&[floats - de.offset]) };
        let ids = be.alloc_ids(rows * (n + 1));
        Acts {
            e, hpre, h: h_, logits, probs, losses, de, dhpre, dh, dlogits, grads,
            inputs: Ids { buf: ids, offset: 0, len: rows * n },
            targets: Ids { buf: ids, offset: rows * n, len: rows },
        }
    }
}

/// The backend and everything resident in it.
struct Engine {
    be: Box<dyn Backend>,
    params: Tensor,
    grads: Tensor,
    p: Views,
    g: Views,
    acts: Acts,
    /// One float: Σg² for clipping and the reported gradient norm.
    sumsq: Tensor,
    opt: Optimizer,
}

pub struct FixedWindowModel {
    pub config: FixedWindowConfig,
    vocab: Vocab,
    /// Vocabulary entries the model may never predict (masked to −∞).
    mask: Vec<bool>,
    layout: Layout,
    rows: usize,
    engine: RefCell<Engine>,
}

impl FixedWindowModel {
    /// A freshly initialised model (PyTorch's defaults: embeddings N(0, 1); linear weights and biases
    /// U(−1/√fan_in, 1/√fan_in)), seeded from `Rng::derive(seed, "init")`. Refuses, before allocating,
    /// a configuration over the memory budget.
    pub fn new(config: FixedWindowConfig, vocab: Vocab, seed: u64) -> Result<Self> {
        let mut model = Self::allocate(config, vocab)?;
        let mut rng = Rng::derive(seed, "init");
        let init: Vec<HostTensor> = model
            .layout
            .entries
            .iter()
            .map(|e| {
                let n = e.shape.numel();
                let data = if e.name == EMBEDDING {
                    (0..n).map(|_| rng.normal() as f32).collect()
                } else {
                    let fan_in = if e.name.starts_with("hidden") { model.config.context * model.config.embed } else { model.config.hidden };
                    let bound = 1.0 / (fan_in as f64).sqrt();
                    (0..n).map(|_| ((2.0 * rng.uniform() - 1.0) * bound) as f32).collect()
                };
                HostTensor::new(e.shape.dims(), data)
            })
            .collect();
        let names: Vec<String> = model.layout.entries.iter().map(|e| e.name.clone()).collect();
        model.set_tensors(&names.into_iter().zip(init).collect::<Vec<_>>())?;
        Ok(model)
    }

    /// A model with zeroed parameters (to be loaded with `set_tensors`).
    pub fn empty(config: FixedWindowConfig, vocab: Vocab) -> Result<Self> {
        Self::allocate(config, vocab)
    }

    fn allocate(config: FixedWindowConfig, vocab: Vocab) -> Result<Self> {
        config.validate()?;
        let v = vocab.len();
        config.estimate(v).check("the vocabulary (max size / min count), the embedding or hidden size, or the batch size")?;
        let layout = config.layout(v);
        let rows = config.rows();
        let mut be: Box<dyn Backend> = Box::new(Cpu::new());
        let flat = |be: &mut Box<dyn Backend>| Tensor { buf: be.alloc(layout.len), offset: 0, shape: Shape::new(&[layout.len]) };
        let (params, grads) = (flat(&mut be), flat(&mut be));
        let acts = Acts::new(be.as_mut(), rows, config.context * config.embed, config.hidden, v, config.context);
        let sumsq = Tensor { buf: be.alloc(1), offset: 0, shape: Shape::new(&[1]) };
        let opt = Optimizer::new(be.as_mut(), config.train.optim, layout.len);
        let mask = (0..v as TokenId).map(|id| !vocab.is_predictable(id)).collect();
        let engine = Engine { p: Views::new(&layout, params), g: Views::new(&layout, grads), be, params, grads, acts, sumsq, opt };
        Ok(FixedWindowModel { config, vocab, mask, layout, rows, engine: RefCell::new(engine) })
    }

    /// Bytes the backend holds for this model.
    pub fn allocated_bytes(&self) -> u64 {
        self.engine.borrow().be.allocated_bytes()
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Loads named parameters (every layout entry, with its shape).
    pub fn set_tensors(&mut self, tensors: &[(String, HostTensor)]) -> Result<()> {
        let eng = self.engine.get_mut();
        for e in &self.layout.entries {
            let t = find(tensors, &e.name)?;
            if t.shape != e.shape.dims() {
                return Err(Error::new("file-mismatch", format!("tensor '{}' has shape {:?}, the configuration needs {:?}", e.name, t.shape, e.shape.dims())));
            }
            eng.be.write(Tensor { buf: eng.params.buf, offset: eng.params.offset + e.offset, shape: e.shape }, &t.data);
        }
        Ok(())
    }

    /// The parameters by name, in layout order.
    pub fn tensors(&self) -> Vec<(String, HostTensor)> {
        let eng = &mut *self.engine.borrow_mut();
        let all = eng.be.read(eng.params);
        self.layout.entries.iter().map(|e| (e.name.clone(), HostTensor::new(e.shape.dims(), all[e.offset..e.offset + e.shape.numel()].to_vec()))).collect()
    }

    /// The gradients of the last backward pass, by parameter name.
    pub fn gradients(&self) -> Vec<(String, HostTensor)> {
        let eng = &mut *self.engine.borrow_mut();
        let all = eng.be.read(eng.grads);
        self.layout.entries.iter().map(|e| (e.name.clone(), HostTensor::new(e.shape.dims(), all[e.offset..e.offset + e.shape.numel()].to_vec()))).collect()
    }

    /// Optimizer state as named tensors (`optim.m/<name>`, `optim.v/<name>`) and the step count.
    pub fn optimizer_state(&self) -> (Vec<(String, HostTensor)>, u64) {
        let eng = &mut *self.engine.borrow_mut();
        let (m, v, t) = (eng.opt.m, eng.opt.v, eng.opt.t);
        let mut out = Vec::new();
        for (prefix, buf) in [("optim.m/", m), ("optim.v/", v)] {
            if buf.is_empty() {
                continue;
            }
            let all = eng.be.read(buf);
            for e in &self.layout.entries {
                out.push((format!("{prefix}{}", e.name), HostTensor::new(e.shape.dims(), all[e.offset..e.offset + e.shape.numel()].to_vec())));
            }
        }
        (out, t)
    }

    pub fn set_optimizer_state(&mut self, tensors: &[(String, HostTensor)], t: u64) -> Result<()> {
        let eng = self.engine.get_mut();
        eng.opt.t = t;
        for (prefix, buf) in [("optim.m/", eng.opt.m), ("optim.v/", eng.opt.v)] {
            if buf.is_empty() {
                continue;
            }
            for e in &self.layout.entries {
                let t = find(tensors, &format!("{prefix}{}", e.name))?;
                eng.be.write(Tensor { buf: buf.buf, offset: e.offset, shape: e.shape }, &t.data);
            }
        }
        Ok(())
    }

    /// Writes the windows of `positions` of `stream` (and their targets) as inputs, rows 0…
    fn load_rows(&self, eng: &mut Engine, stream: &[TokenId], positions: &[u32]) {
        let n = self.config.context;
        let mut ids = Vec::with_capacity(positions.len() * n);
        for &p in positions {
            window(stream, p as usize, n, &mut ids);
        }
        let targets: Vec<TokenId> = positions.iter().map(|&p| stream[p as usize]).collect();
        eng.be.write_ids(eng.acts.inputs.first(ids.len()), &ids);
        eng.be.write_ids(eng.acts.targets.first(targets.len()), &targets);
    }

    /// Forward pass over the first `rows` rows of inputs: logits (masked), then either the
    /// cross-entropy with the targets (`loss`) or plain probabilities.
    fn forward(&self, eng: &mut Engine, rows: usize, loss: bool) {
        let (a, p, act) = (&eng.acts, eng.p, self.config.activation);
        let be = eng.be.as_mut();
        let (e, hpre, h, logits, probs) = (a.e.first_rows(rows), a.hpre.first_rows(rows), a.h.first_rows(rows), a.logits.first_rows(rows), a.probs.first_rows(rows));
        be.embedding(e, p.emb, a.inputs.first(rows * self.config.context)); // [B·n × d] = [B × n·d]
        be.matmul(hpre, e, p.w, false, true, false); // e·Wᵀ: [B × H]
        be.add_rows(hpre, p.b1);
        be.activation(act, h, hpre);
        be.matmul(logits, h, p.u, false, true, false); // h·Uᵀ: [B × V]
        be.add_rows(logits, p.b2);
        be.mask_columns(logits, &self.mask, f32::NEG_INFINITY);
        if loss {
            be.cross_entropy(a.losses.first_rows(rows), probs, logits, a.targets.first(rows));
        } else {
            be.softmax(probs, logits);
        }
    }

    /// Backward pass of the mean loss over `rows` rows into the gradient buffer (overwritten).
    fn backward(&self, eng: &mut Engine, rows: usize) {
        let (a, p, g, act) = (&eng.acts, eng.p, eng.g, self.config.activation);
        let be = eng.be.as_mut();
        be.fill(eng.grads, 0.0);
        be.fill(a.grads, 0.0);
        let r = |t: Tensor| t.first_rows(rows);
        be.cross_entropy_backward(r(a.dlogits), r(a.probs), a.targets.first(rows), 1.0 / rows as f32);
        be.sum_rows(g.b2, r(a.dlogits), true);
        be.matmul_backward(r(a.dh), g.u, r(a.dlogits), r(a.h), p.u, false, true);
        be.activation_backward(act, r(a.dhpre), r(a.hpre), r(a.h), r(a.dh));
        be.sum_rows(g.b1, r(a.dhpre), true);
        be.matmul_backward(r(a.de), g.w, r(a.dhpre), r(a.e), p.w, false, true);
        be.embedding_backward(g.emb, r(a.de), a.inputs.first(rows * self.config.context));
    }

    /// Mean loss and gradients for a batch of `positions` of `stream` (no update). For tests and parity.
    pub fn loss_and_gradients(&self, stream: &[TokenId], positions: &[u32]) -> f64 {
        let eng = &mut *self.engine.borrow_mut();
        let rows = positions.len();
        assert!(rows <= self.rows);
        self.load_rows(eng, stream, positions);
        self.forward(eng, rows, true);
        self.backward(eng, rows);
        let losses = eng.be.read(eng.acts.losses.first_rows(rows));
        losses.iter().map(|&l| l as f64).sum::<f64>() / rows as f64
    }

    /// The logits of the last forward pass, [rows × V].
    pub fn last_logits(&self, rows: usize) -> Vec<f32> {
        let eng = &mut *self.engine.borrow_mut();
        let l = eng.acts.logits.first_rows(rows);
        eng.be.read(l)
    }

    /// One optimizer step on a batch: forward, backward, clip, update. Returns (loss, grad norm).
    pub fn train_step(&mut self, stream: &[TokenId], positions: &[u32], lr: f64) -> Result<(f64, f64)> {
        let loss = self.loss_and_gradients(stream, positions);
        if !loss.is_finite() {
            return Err(Error::new("nan-loss", format!("The training loss became {loss} (learning rate {lr:.3e}). Training stopped: lower the learning rate, or clip the gradients.")));
        }
        let clip = self.config.train.clip;
        let eng = self.engine.get_mut();
        clip_grad_norm(eng.be.as_mut(), eng.grads, eng.sumsq, clip);
        let norm = (eng.be.read(eng.sumsq)[0] as f64).sqrt();
        let (params, grads) = (eng.params, eng.grads);
        eng.opt.step(eng.be.as_mut(), params, grads, lr);
        Ok((loss, norm))
    }

    /// Mean cross-entropy (nats) of `positions` of `stream`, in evaluation batches.
    pub fn mean_loss(&self, stream: &[TokenId], positions: &[u32]) -> f64 {
        let losses = self.losses(stream, positions);
        losses.iter().sum::<f64>() / losses.len().max(1) as f64
    }

    /// −ln P(stream[p] | window) for each position.
    fn losses(&self, stream: &[TokenId], positions: &[u32]) -> Vec<f64> {
        let eng = &mut *self.engine.borrow_mut();
        let mut out = Vec::with_capacity(positions.len());
        for chunk in positions.chunks(self.rows.min(EVAL_BATCH)) {
            self.load_rows(eng, stream, chunk);
            self.forward(eng, chunk.len(), true);
            let l = eng.acts.losses.first_rows(chunk.len());
            out.extend(eng.be.read(l).into_iter().map(|x| x as f64));
        }
        out
    }

    /// P(next | window) for one window of n ids.
    fn distribution_of(&self, window: &[TokenId], out: &mut [f64]) {
        let mut eng = self.engine.borrow_mut();
        let eng = &mut *eng;
        eng.be.write_ids(eng.acts.inputs.first(window.len()), window);
        self.forward(eng, 1, false);
        let p = eng.acts.probs.first_rows(1);
        for (o, x) in out.iter_mut().zip(eng.be.read(p)) {
            *o = x as f64;
        }
    }
}

fn find<'a>(tensors: &'a [(String, HostTensor)], name: &str) -> Result<&'a HostTensor> {
    tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t).ok_or_else(|| Error::new("file-mismatch", format!("the model file has no tensor '{name}'")))
}

/// Appends the n tokens before position p of the stream, padded with `<s>` on the left.
pub fn window(stream: &[TokenId], p: usize, n: usize, out: &mut Vec<TokenId>) {
    for k in (1..=n).rev() {
        out.push(if p >= k { stream[p - k] } else { BOS });
    }
}

/// Positions of a stream that are predicted (every token but `<s>`).
pub fn predicted_positions(stream: &[TokenId]) -> Vec<u32> {
    stream.iter().enumerate().filter(|&(_, &t)| t != BOS).map(|(i, _)| i as u32).collect()
}

impl LanguageModel for FixedWindowModel {
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    fn info(&self) -> ModelInfo {
        let c = &self.config;
        ModelInfo {
            family: FAMILY.into(),
            description: format!("fixed-window neural LM: n = {}, d = {}, H = {}, {}", c.context, c.embed, c.hidden, c.activation.name()),
            normalized: true,
            parameters: self.layout.len as u64,
            context: Some(c.context),
        }
    }

    fn stream(&self) -> Box<dyn TokenStream + '_> {
        Box::new(Stream { model: self, window: vec![BOS; self.config.context] })
    }

    /// One batched forward pass per `EVAL_BATCH` positions; the same numbers as the stream.
    fn score(&self, tokens: &[TokenId]) -> Vec<f64> {
        let positions = predicted_positions(tokens);
        self.losses(tokens, &positions).into_iter().map(|l| -l / std::f64::consts::LN_2).collect()
    }
}

/// The last n tokens of the history (initially all `<s>`).
struct Stream<'a> {
    model: &'a FixedWindowModel,
    window: Vec<TokenId>,
}

impl TokenStream for Stream<'_> {
    fn push(&mut self, token: TokenId) {
        self.window.remove(0);
        self.window.push(token);
    }
    fn distribution(&mut self, out: &mut [f64]) {
        self.model.distribution_of(&self.window, out);
    }
    fn vocab_len(&self) -> usize {
        self.model.vocab.len()
    }
}

/// Trains a [`FixedWindowModel`] on a dataset, `budget` optimizer steps per call.
pub struct FixedWindowTrainer {
    pub model: FixedWindowModel,
    /// Predicted positions of the training stream, sampled uniformly with replacement for each batch.
    positions: Vec<u32>,
    /// The fixed validation subset.
    valid_positions: Vec<u32>,
    batches: Rng,
    pub step: u64,
    pub tokens: u64,
    pub history: Vec<LossPoint>,
    pub elapsed_ms: f64,
}

/// Most loss points a trainer keeps (and a model file stores): past it, every other training-only
/// point is dropped, so a million-step run stays a few hundred kilobytes. Validation points are kept.
pub const MAX_HISTORY: usize = 10_000;

fn thin_history(h: &mut Vec<LossPoint>) {
    let last = h.len() - 1;
    let mut i = 0;
    h.retain(|p| {
        let keep = i % 2 == 0 || p.valid_loss.is_some() || i == last;
        i += 1;
        keep
    });
}

/// Saved training state (model files' `state` metadata).
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct TrainState {
    pub step: u64,
    pub tokens: u64,
    pub optimizer_steps: u64,
    pub elapsed_ms: f64,
    pub history: Vec<LossPoint>,
}

impl FixedWindowTrainer {
    pub fn new(config: FixedWindowConfig, data: &Dataset, seed: u64) -> Result<Self> {
        let model = FixedWindowModel::new(config, data.vocab.clone(), seed)?;
        Self::with_model(model, data, seed)
    }

    pub fn with_model(model: FixedWindowModel, data: &Dataset, seed: u64) -> Result<Self> {
        let positions = predicted_positions(&data.train);
        let mut valid_positions = predicted_positions(&data.valid);
        let keep = model.config.train.eval_tokens;
        if keep > 0 {
            valid_positions.truncate(keep);
        }
        Ok(FixedWindowTrainer {
            model,
            positions,
            valid_positions,
            batches: Rng::derive(seed, "batches"),
            step: 0,
            tokens: 0,
            history: Vec::new(),
            elapsed_ms: 0.0,
        })
    }

    pub fn state(&self) -> TrainState {
        TrainState { step: self.step, tokens: self.tokens, optimizer_steps: self.step, elapsed_ms: self.elapsed_ms, history: self.history.clone() }
    }

    /// Continues from a saved state: the batch stream is replayed to the same point, so a resumed run
    /// gives the same loss curve as an uninterrupted one.
    pub fn restore(&mut self, s: TrainState) {
        for _ in 0..s.step * self.model.config.train.batch as u64 {
            if !self.positions.is_empty() {
                self.batches.below(self.positions.len());
            }
        }
        self.step = s.step;
        self.tokens = s.tokens;
        self.elapsed_ms = s.elapsed_ms;
        self.history = s.history;
    }

    fn progress(&self, points: Vec<LossPoint>) -> Progress {
        let total = self.model.config.train.steps;
        let last = self.history.last();
        Progress {
            done: self.step >= total,
            phase: if self.step >= total { "done".into() } else { "training".into() },
            step: self.step,
            total_steps: total,
            tokens: self.tokens,
            train_loss: last.map(|p| p.train_loss),
            valid_loss: self.history.iter().rev().find_map(|p| p.valid_loss),
            lr: last.map(|p| p.lr),
            grad_norm: last.map(|p| p.grad_norm),
            elapsed_ms: self.elapsed_ms,
            points,
        }
    }
}

impl FixedWindowTrainer {
    pub fn step(&mut self, data: &Dataset, budget: u64) -> Result<Progress> {
        let t0 = now_ms();
        let tc = self.model.config.train.clone();
        if self.positions.is_empty() {
            return Err(Error::new("no-corpus", "There is no training text: a model loaded from a file continues training only when it is loaded with its corpus."));
        }
        let mut points = Vec::new();
        let mut batch = vec![0u32; tc.batch];
        let mut done = 0;
        while done < budget && self.step < tc.steps {
            for b in batch.iter_mut() {
                *b = self.positions[self.batches.below(self.positions.len())];
            }
            let lr = learning_rate(tc.lr, self.step, tc.warmup, tc.steps, tc.decay, tc.min_lr_ratio);
            let (loss, grad_norm) = self.model.train_step(&data.train, &batch, lr).map_err(|e| {
                Error::new(e.code, format!("Step {}: {}", self.step + 1, e.message))
            })?;
            self.step += 1;
            self.tokens += tc.batch as u64;
            done += 1;
            let valid_loss = if (self.step.is_multiple_of(tc.eval_interval) || self.step == tc.steps) && !self.valid_positions.is_empty() {
                Some(self.model.mean_loss(&data.valid, &self.valid_positions))
            } else {
                None
            };
            let p = LossPoint { step: self.step, train_loss: loss, valid_loss, lr, grad_norm };
            self.history.push(p.clone());
            if self.history.len() > MAX_HISTORY {
                thin_history(&mut self.history);
            }
            points.push(p);
        }
        self.elapsed_ms += now_ms() - t0;
        Ok(self.progress(points))
    }

    pub fn view(&self, name: &str, _args: &Value, _data: &Dataset) -> Option<Result<Value>> {
        match name {
            "history" => Some(Ok(json!({ "points": self.history }))),
            "memory" => Some(Ok(serde_json::to_value(self.model.config.estimate(self.model.vocab.len())).expect("json"))),
            _ => None,
        }
    }
}

/// Whether the optimizer kind keeps a second moment (for docs and the estimate).
pub fn has_second_moment(kind: OptimizerKind) -> bool {
    kind != OptimizerKind::Sgd
}

/// The `fixed-window-train` benchmark: training steps per second and tokens per second on a corpus.
pub fn bench_train(args: &Value, repeats: usize) -> Result<Value> {
    let corpus = args.get("corpus").and_then(Value::as_str).ok_or_else(|| Error::config("bench: missing 'corpus'"))?;
    let mut config: crate::session::RunConfig = serde_json::from_value(args.get("config").cloned().unwrap_or(json!({})))?;
    let steps = args.get("steps").and_then(Value::as_u64).unwrap_or(50);
    let crate::session::ModelConfig::FixedWindow(fw) = &mut config.model else {
        return Err(Error::config("bench: the config must be a fixed-window model"));
    };
    fw.train.steps = steps * (repeats as u64 + 1) + 1;
    fw.train.eval_interval = u64::MAX / 2; // measure training steps only
    let data = Dataset::from_corpus(corpus, &config.data, config.seed)?;
    let mut trainer = FixedWindowTrainer::new(fw.clone(), &data, config.seed)?;
    let ms = crate::bench::time_ms(repeats, || {
        trainer.step(&data, steps).expect("train");
    });
    let batch = fw.train.batch as f64;
    Ok(json!({
        "median_ms": ms,
        "steps": steps,
        "steps_per_s": steps as f64 / ms * 1000.0,
        "tokens_per_s": steps as f64 * batch / ms * 1000.0,
        "vocab_size": data.vocab.len(),
        "parameters": trainer.model.layout().len,
        "final_loss": trainer.history.last().map(|p| p.train_loss),
        "repeats": repeats,
    }))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;
    use crate::session::{ModelConfig, RunConfig, Session};
    use crate::text::{DataConfig, Tokenizer, TokenizerKind, EOS};

    const CORPUS: &str = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe mat and the log\n";

    fn small(steps: u64) -> FixedWindowConfig {
        let mut c = FixedWindowConfig { context: 2, embed: 8, hidden: 16, ..Default::default() };
        c.train.steps = steps;
        c.train.batch = 16;
        c.train.warmup = 5;
        c.train.eval_interval = 10;
        c.train.lr = 1e-2;
        c
    }

    fn run_config(c: FixedWindowConfig) -> RunConfig {
        RunConfig {
            seed: 5,
            data: DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Word, false), ..Default::default() },
            model: ModelConfig::FixedWindow(c),
        }
    }

    #[test]
    fn the_loss_history_stays_bounded() {
        let mut h: Vec<LossPoint> = (1..=MAX_HISTORY as u64 + 1)
            .map(|step| LossPoint { step, train_loss: 1.0, valid_loss: (step % 100 == 0).then_some(2.0), lr: 0.1, grad_norm: 1.0 })
            .collect();
        thin_history(&mut h);
        assert!(h.len() <= MAX_HISTORY / 2 + MAX_HISTORY / 100 + 2, "{}", h.len());
        assert_eq!(h.iter().filter(|p| p.valid_loss.is_some()).count(), MAX_HISTORY / 100);
        assert_eq!(h.last().unwrap().step, MAX_HISTORY as u64 + 1);
    }

    #[test]
    fn windows_pad_with_bos_and_cross_sentences() {
        let s = [BOS, 5, 6, EOS, BOS, 7];
        let mut w = Vec::new();
        window(&s, 1, 3, &mut w);
        window(&s, 5, 3, &mut w);
        assert_eq!(w, [BOS, BOS, BOS, 6, EOS, BOS]);
        assert_eq!(predicted_positions(&s), [1, 2, 3, 5]);
    }

    #[test]
    fn distributions_are_normalised_and_score_agrees_with_the_stream() {
        for eos in [true, false] {
            let vocab = Vocab::from_tokens(["a", "b", "c", "d"].map(String::from), eos);
            let model = FixedWindowModel::new(small(1), vocab.clone(), 3).unwrap();
            let stream: Vec<TokenId> = if eos { vec![BOS, 3, 4, EOS, BOS, 5, 6, 3, EOS] } else { vec![BOS, 3, 4, 5, 6, 3, 0] };
            let mut s = model.stream();
            let mut d = vec![0.0; vocab.len()];
            let mut from_stream = Vec::new();
            for &t in &stream {
                if t != BOS {
                    s.distribution(&mut d);
                    assert!((d.iter().sum::<f64>() - 1.0).abs() < 1e-5);
                    assert_eq!(d[BOS as usize], 0.0);
                    assert_eq!(d[EOS as usize] == 0.0, !eos);
                    from_stream.push(d[t as usize].log2());
                }
                s.push(t);
            }
            let batched = model.score(&stream);
            assert_eq!(batched.len(), from_stream.len());
            for (a, b) in batched.iter().zip(&from_stream) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn the_estimate_is_what_gets_allocated_and_too_large_is_refused() {
        let vocab = Vocab::from_tokens((0..100).map(|i| format!("w{i}")), true);
        let c = small(1);
        let e = c.estimate(vocab.len());
        let model = FixedWindowModel::new(c.clone(), vocab.clone(), 1).unwrap();
        let allocated = model.engine.borrow().be.allocated_bytes();
        // Everything, the matmul packing scratch included, is allocated up front.
        assert_eq!(e.total_bytes, allocated);
        assert_eq!(e.parameters, model.layout().len as u64);
        let huge = FixedWindowConfig { embed: 4096, hidden: 16_384, context: 64, ..c };
        let err = FixedWindowModel::new(huge, vocab, 1).err().unwrap();
        assert_eq!(err.code, "model-too-large");
        assert!(err.message.contains("GiB") && err.message.contains("Reduce"), "{}", err.message);
    }

    #[test]
    fn training_lowers_the_loss_reproducibly_and_resumes_from_a_file() {
        let train = |steps| {
            let mut s = Session::new(CORPUS, run_config(small(steps))).unwrap();
            let mut points = Vec::new();
            loop {
                let p = s.train_step(7).unwrap();
                points.extend(p.points.clone());
                if p.done {
                    return (s, points);
                }
            }
        };
        let (s, a) = train(40);
        let (_, b) = train(40);
        assert_eq!(a, b, "same seed, same curve");
        assert_eq!(a.len(), 40);
        assert!(a.iter().filter(|p| p.valid_loss.is_some()).count() == 4);
        let first: f64 = a[..5].iter().map(|p| p.train_loss).sum::<f64>() / 5.0;
        let last: f64 = a[35..].iter().map(|p| p.train_loss).sum::<f64>() / 5.0;
        assert!(last < first - 0.3, "{first} → {last}");
        assert!(s.report().unwrap().validation.perplexity.is_finite());

        // Save after 20 of 40 steps, load with the corpus, finish: the same curve as straight through.
        let mut half = Session::new(CORPUS, run_config(small(40))).unwrap();
        half.train_step(20).unwrap();
        let bytes = half.save().unwrap();
        let mut resumed = Session::load(&bytes, Some(CORPUS)).unwrap();
        let p = resumed.train_to_end().unwrap();
        assert_eq!(p.step, 40);
        let hist = resumed.view("history", &serde_json::json!({})).unwrap();
        let resumed_points: Vec<LossPoint> = serde_json::from_value(hist["points"].clone()).unwrap();
        assert_eq!(resumed_points, a);

        // Without the corpus: it scores and generates like the original, but cannot train on.
        let mut alone = Session::load(&s.save().unwrap(), None).unwrap();
        let tokens = s.data.valid.clone();
        assert_eq!(alone.model().unwrap().score(&tokens), s.model().unwrap().score(&tokens));
        let cfg = crate::lm::sample::SampleConfig { length: 12, seed: 2, ..Default::default() };
        let gen = |s: &Session| {
            let mut out = String::new();
            s.generate("the", &cfg, |g| {
                out.push_str(&g.text);
                true
            })
            .unwrap();
            out
        };
        assert_eq!(gen(&alone), gen(&s));
        assert_eq!(alone.train_step(1).unwrap_err().code, "no-corpus");
        assert_eq!(Session::load(&s.save().unwrap(), Some("other words entirely\nand more\n")).err().unwrap().code, "vocab-mismatch");
    }

    #[test]
    fn a_diverging_run_stops_with_nan_loss() {
        let mut c = small(50);
        c.train.lr = 1e9;
        c.train.clip = 0.0;
        c.train.warmup = 0;
        c.train.optim.optimizer = OptimizerKind::Sgd;
        let mut s = Session::new(CORPUS, run_config(c)).unwrap();
        let err = s.train_to_end().unwrap_err();
        assert_eq!(err.code, "nan-loss");
        assert!(err.message.starts_with("Step "), "{}", err.message);
    }
}
