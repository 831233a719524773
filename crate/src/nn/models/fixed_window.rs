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

use crate::nn::batches::{Batch, Batching};
use crate::nn::engine::Engine;
use crate::nn::model::NeuralModel;
use crate::nn::ops::activation::Activation;
use crate::nn::params::{Entry, Layout};
use crate::nn::tensor::{Ids, Tensor};
use crate::nn::train::TrainConfig;
use crate::nn::trainer::NeuralFamily;
use crate::rng::Rng;
use crate::text::{TokenId, Vocab, BOS};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// The registry entry (`crate::families`).
pub static FAMILY: NeuralFamily<FixedWindow> = NeuralFamily::new();
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
    /// Rows the activation buffers hold: a training batch or an evaluation batch.
    fn rows(&self) -> usize {
        self.train.batch.max(EVAL_BATCH)
    }
}

/// Named views of the parameters or of their gradients.
#[derive(Clone, Copy)]
struct Views {
    emb: Tensor,
    w: Tensor,
    b1: Tensor,
    u: Tensor,
    b2: Tensor,
}

impl Views {
    fn new(view: impl Fn(&str) -> Tensor) -> Views {
        Views { emb: view(EMBEDDING), w: view(HIDDEN_W), b1: view(HIDDEN_B), u: view(OUTPUT_W), b2: view(OUTPUT_B) }
    }
}

/// Activations and their gradients for up to `rows` rows, each tensor in a buffer of its own.
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
    inputs: Ids,
    targets: Ids,
}

pub struct FixedWindow {
    config: FixedWindowConfig,
    p: Views,
    g: Views,
    a: Acts,
    /// 1 for vocabulary entries the model may never predict (masked to −∞), made once.
    mask: Tensor,
}

impl NeuralModel for FixedWindow {
    const FAMILY: &'static str = "fixed-window";
    type Config = FixedWindowConfig;
    /// The last n tokens of the history (initially all `<s>`).
    type State = Vec<TokenId>;

    fn validate(c: &FixedWindowConfig) -> Result<()> {
        if !(1..=64).contains(&c.context) {
            return Err(Error::setting("fw-context", "the context n must be between 1 and 64 tokens"));
        }
        if !(1..=4096).contains(&c.embed) || !(1..=16_384).contains(&c.hidden) {
            return Err(Error::setting("fw-sizes", "the embedding size must be 1–4096 and the hidden size 1–16384"));
        }
        c.train.validate()
    }

    fn train_config(c: &FixedWindowConfig) -> &TrainConfig {
        &c.train
    }

    fn describe(c: &FixedWindowConfig) -> String {
        format!("fixed-window neural LM: n = {}, d = {}, H = {}, {}", c.context, c.embed, c.hidden, c.activation.name())
    }

    fn context(c: &FixedWindowConfig) -> Option<usize> {
        Some(c.context)
    }

    fn batching(_: &FixedWindowConfig) -> Batching {
        Batching::Positions
    }

    /// E [V × d], W [H × n·d], b₁ [H], U [V × H], b₂ [V].
    fn layout(c: &FixedWindowConfig, v: usize) -> Layout {
        let mut l = Layout::default();
        l.push(EMBEDDING, &[v, c.embed]);
        l.push(HIDDEN_W, &[c.hidden, c.context * c.embed]);
        l.push(HIDDEN_B, &[c.hidden]);
        l.push(OUTPUT_W, &[v, c.hidden]);
        l.push(OUTPUT_B, &[v]);
        l
    }

    /// PyTorch's defaults: embeddings N(0, 1); linear weights and biases U(−1/√fan_in, 1/√fan_in).
    fn init(c: &FixedWindowConfig, e: &Entry, rng: &mut Rng) -> Vec<f32> {
        let n = e.shape.numel();
        if e.name == EMBEDDING {
            return (0..n).map(|_| rng.normal() as f32).collect();
        }
        let fan_in = if e.name.starts_with("hidden") { c.context * c.embed } else { c.hidden };
        let bound = 1.0 / (fan_in as f64).sqrt();
        (0..n).map(|_| ((2.0 * rng.uniform() - 1.0) * bound) as f32).collect()
    }

    /// Per row: e, de [n·d]; pre-activation, h and their gradients [4H]; logits, probabilities, their
    /// gradient [3V]; the loss [1]; n + 1 token ids. Plus the mask [V].
    fn activation_bytes(c: &FixedWindowConfig, v: usize) -> u64 {
        let (v, n, d, h) = (v as u64, c.context as u64, c.embed as u64, c.hidden as u64);
        (c.rows() as u64 * (2 * n * d + 4 * h + 3 * v + 1 + n + 1) + v) * 4
    }

    fn new(config: FixedWindowConfig, vocab: &Vocab, eng: &mut Engine) -> Result<Self> {
        let (rows, nd, h, v, n) = (config.rows(), config.context * config.embed, config.hidden, vocab.len(), config.context);
        let mut t = |dims: &[usize]| eng.alloc(dims);
        let a = Acts {
            e: t(&[rows, nd])?,
            hpre: t(&[rows, h])?,
            h: t(&[rows, h])?,
            logits: t(&[rows, v])?,
            probs: t(&[rows, v])?,
            losses: t(&[rows, 1])?,
            de: t(&[rows, nd])?,
            dhpre: t(&[rows, h])?,
            dh: t(&[rows, h])?,
            dlogits: t(&[rows, v])?,
            inputs: eng.alloc_ids(rows * n),
            targets: eng.alloc_ids(rows),
        };
        let mask = eng.unpredictable_mask(vocab)?;
        let (p, g) = (Views::new(|n| eng.param(n)), Views::new(|n| eng.grad(n)));
        Ok(FixedWindow { config, p, g, a, mask })
    }

    fn config(&self) -> &FixedWindowConfig {
        &self.config
    }

    fn forward_backward(&self, eng: &mut Engine, stream: &[TokenId], batch: &Batch, loss: Tensor) {
        let rows = batch.starts.len();
        self.load_rows(eng, stream, batch.starts);
        self.forward(eng, rows, true);
        self.backward(eng, rows);
        eng.be.sum_rows(loss, self.a.losses.first_rows(rows), false);
        eng.be.scale(loss, 1.0 / rows as f32);
    }

    fn eval(&self, eng: &mut Engine, stream: &[TokenId], positions: &[u32], sink: &mut dyn FnMut(&mut Engine, Tensor, &[u32])) {
        for chunk in positions.chunks(self.config.rows().min(EVAL_BATCH)) {
            self.load_rows(eng, stream, chunk);
            self.forward(eng, chunk.len(), true);
            sink(eng, self.a.losses.first_rows(chunk.len()), chunk);
        }
    }

    fn start(&self, _eng: &mut Engine) -> Vec<TokenId> {
        vec![BOS; self.config.context]
    }

    fn push(&self, _eng: &mut Engine, window: &mut Vec<TokenId>, token: TokenId) {
        window.remove(0);
        window.push(token);
    }

    fn distribution(&self, eng: &mut Engine, window: &mut Vec<TokenId>, out: &mut [f64]) {
        eng.be.write_ids(self.a.inputs.first(window.len()), window);
        self.forward(eng, 1, false);
        let probs = eng.be.read(self.a.probs.first_rows(1));
        for (o, x) in out.iter_mut().zip(probs) {
            *o = x as f64;
        }
    }
}

impl FixedWindow {
    /// Writes the windows of `positions` of `stream` (and their targets) as inputs, rows 0…
    fn load_rows(&self, eng: &mut Engine, stream: &[TokenId], positions: &[u32]) {
        let n = self.config.context;
        eng.ids.clear();
        for &p in positions {
            window(stream, p as usize, n, &mut eng.ids);
        }
        eng.upload_ids(self.a.inputs);
        eng.ids.clear();
        eng.ids.extend(positions.iter().map(|&p| stream[p as usize]));
        eng.upload_ids(self.a.targets);
    }

    /// Forward pass over the first `rows` rows of inputs: logits (masked), then either the
    /// cross-entropy with the targets (`loss`) or plain probabilities.
    fn forward(&self, eng: &mut Engine, rows: usize, loss: bool) {
        let (a, p, act) = (&self.a, self.p, self.config.activation);
        let be = eng.be.as_mut();
        let r = |t: Tensor| t.first_rows(rows);
        be.embedding(r(a.e), p.emb, a.inputs.first(rows * self.config.context)); // [B·n × d] = [B × n·d]
        be.matmul(r(a.hpre), r(a.e), p.w, false, true, false); // e·Wᵀ: [B × H]
        be.add_rows(r(a.hpre), p.b1);
        be.activation(act, r(a.h), r(a.hpre));
        be.matmul(r(a.logits), r(a.h), p.u, false, true, false); // h·Uᵀ: [B × V]
        be.add_rows(r(a.logits), p.b2);
        be.mask_columns(r(a.logits), self.mask, f32::NEG_INFINITY);
        if loss {
            be.cross_entropy(r(a.losses), r(a.probs), r(a.logits), a.targets.first(rows));
        } else {
            be.softmax(r(a.probs), r(a.logits));
        }
    }

    /// Backward pass of the mean loss over `rows` rows, accumulated into the gradients.
    fn backward(&self, eng: &mut Engine, rows: usize) {
        let (a, p, g, act) = (&self.a, self.p, self.g, self.config.activation);
        let be = eng.be.as_mut();
        let r = |t: Tensor| t.first_rows(rows);
        // dh, de and dhpre are written whole by their ops; the accumulating one's output starts at 0.
        be.fill(r(a.dlogits), 0.0);
        be.cross_entropy_backward(r(a.dlogits), r(a.probs), a.targets.first(rows), 1.0 / rows as f32);
        be.sum_rows(g.b2, r(a.dlogits), true);
        be.linear_backward(r(a.dh), g.u, r(a.dlogits), r(a.h), p.u, false);
        be.activation_backward(act, r(a.dhpre), r(a.hpre), r(a.h), r(a.dh), false);
        be.sum_rows(g.b1, r(a.dhpre), true);
        be.linear_backward(r(a.de), g.w, r(a.dhpre), r(a.e), p.w, false);
        be.embedding_backward(g.emb, r(a.de), a.inputs.first(rows * self.config.context));
    }

    /// The logits of the last forward pass, [rows × V] (parity tests).
    pub fn last_logits(&self, eng: &mut Engine, rows: usize) -> Vec<f32> {
        eng.be.read(self.a.logits.first_rows(rows))
    }
}

/// Appends the n tokens before position p of the stream, padded with `<s>` on the left.
pub fn window(stream: &[TokenId], p: usize, n: usize, out: &mut Vec<TokenId>) {
    for k in (1..=n).rev() {
        out.push(if p >= k { stream[p - k] } else { BOS });
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;
    use crate::lm::LanguageModel;
    use crate::nn::backend::cpu::Cpu;
    use crate::nn::batches::predicted_positions;
    use crate::nn::model::Network;
    use crate::text::EOS;

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
            let c = FixedWindowConfig { context: 2, embed: 8, hidden: 16, ..Default::default() };
            let model = Network::<FixedWindow>::new(c, vocab.clone(), Box::new(Cpu::checked()), Some(3)).unwrap();
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
            drop(s);
            let batched = model.score(&stream);
            assert_eq!(batched.len(), from_stream.len());
            for (a, b) in batched.iter().zip(&from_stream) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b}");
            }
        }
    }
}
