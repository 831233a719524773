//! The decoder-only Transformer (GPT): token embedding (+ an additive position encoding), L blocks
//! (`block.rs`), a final LayerNorm and the LM head.
//!
//! ```text
//! x_0 = drop(E[w] + P[pos])                     E: [V × C]; P: learned [T × C], sinusoidal, or none
//!                                                (sinusoidal: √C·E[w] + p(pos), as Vaswani et al.)
//! x_l = Block_l(x_{l−1})                         l = 1 … L
//! ŷ   = softmax(LN_f(x_L)·Uᵀ)                    U = E when tied (no bias, as nanoGPT)
//! ```
//! Training reads B random windows of T + 1 tokens (`Batching::Windows`): every position of a window
//! predicts the next token, from the window's tokens before it.
//!
//! **Streams keep a KV cache, or linear attention's running state.** Softmax attention (full,
//! sparse): each block's qkv rows of the tokens read so far stay on the device (the first rows of
//! the block's qkv activation), and a new token costs one row through every block plus one
//! attention row over the cache: O(T) per token, never a re-run over the prefix. Linear attention:
//! each block keeps, per head, S = Σ φ(k_j) v_jᵀ and z = Σ φ(k_j) (`state`, allocated once), and a
//! new token adds its key and value and reads φ(q)ᵀS / φ(q)ᵀz: O(L·(C² + H·d_k²)) per token,
//! whatever its position. When the window holds T tokens, the next push *slides*: the last ⌊T/2⌋
//! tokens are re-read as one batched pass (positions restart at 0; it rebuilds the cache or the
//! state), then the token is appended — amortised O(T) (linear: O(1)) per token, and every
//! prediction reads between ⌊T/2⌋ + 1 and T tokens. Scoring (`eval`) reads the stream in exactly
//! those windows (stride T − ⌊T/2⌋, scoring the rows the window before did not), so a stream's
//! distributions equal a full re-run's (a test checks it). The first token of a stream that does
//! not start with `<s>` is predicted from a lone `<s>` at position 0. The cache belongs to one
//! stream at a time: a stream finding another's cache (or a training step's activations) re-reads
//! its window first.

use super::block::{self, BlockActs, BlockGrads, BlockParams, Memory, Norm, Pass};
use super::config::{AttentionKind, NormPlacement, Positional, TransformerConfig};
use super::positional::{is_additive, sinusoidal_table};
use crate::nn::backend::Backend;
use crate::nn::batches::{Batch, Batching};
use crate::nn::engine::Engine;
use crate::nn::model::{NeuralModel, NO_POSITION};
use crate::nn::ops::attention::AttnSpec;
use crate::nn::ops::dropout::hash32;
use crate::nn::ops::elementwise::Binary;
use crate::nn::params::{Entry, Layout};
use crate::nn::tensor::{Ids, Tensor};
use crate::nn::train::TrainConfig;
use crate::nn::trainer::NeuralFamily;
use crate::rng::Rng;
use crate::text::{TokenId, Vocab, BOS};
use crate::Result;
use std::cell::{Cell, RefCell};

/// The registry entry (`crate::families`).
pub static FAMILY: NeuralFamily<Transformer> = NeuralFamily::new();

/// Parameter names (nanoGPT's; docs/formats.md).
pub const WTE: &str = "transformer.wte.weight";
pub const WPE: &str = "transformer.wpe.weight";
pub const LNF_W: &str = "transformer.ln_f.weight";
pub const LNF_B: &str = "transformer.ln_f.bias";
pub const LM_HEAD: &str = "lm_head.weight";

/// The activations outside the blocks, for up to `rows` rows.
struct Top {
    tok: Tensor,
    /// Additive encodings: the gathered P[pos] and x_0 = tok + pos.
    pos: Option<[Tensor; 2]>,
    /// Dropout on x_0: mask, dropped x_0, and the gradient before the mask.
    drop: Option<[Tensor; 3]>,
    lnf: Norm,
    logits: Tensor,
    probs: Tensor,
}

impl Top {
    fn new(eng: &mut Engine, c: &TransformerConfig, rows: usize, v: usize, dropout: bool) -> Result<Top> {
        let w = c.width;
        Ok(Top {
            tok: eng.alloc(&[rows, w])?,
            pos: if is_additive(c.positional) { Some([eng.alloc(&[rows, w])?, eng.alloc(&[rows, w])?]) } else { None },
            drop: if dropout { Some([eng.alloc(&[rows, w])?, eng.alloc(&[rows, w])?, eng.alloc(&[rows, w])?]) } else { None },
            lnf: Norm::new(eng, rows, w)?,
            logits: eng.alloc(&[rows, v])?,
            probs: eng.alloc(&[rows, v])?,
        })
    }
    fn floats(c: &TransformerConfig, rows: u64, v: u64, dropout: bool) -> u64 {
        let w = c.width as u64;
        let pos = if is_additive(c.positional) { 2 * rows * w } else { 0 };
        let drop = if dropout { 3 * rows * w } else { 0 };
        rows * w + pos + drop + Norm::floats(rows, w) + 2 * rows * v
    }
}

/// A stream's state: its id (whose KV cache is on the device) and the tokens in its window.
pub struct State {
    id: u64,
    tokens: Vec<TokenId>,
}

/// The parameters (or gradients) outside the blocks.
#[derive(Clone, Copy)]
struct TopParams {
    wte: Tensor,
    wpe: Option<Tensor>,
    lnf: [Tensor; 2],
    /// U: the token embedding when tied.
    head: Tensor,
}

impl TopParams {
    fn new(c: &TransformerConfig, view: impl Fn(&str) -> Tensor) -> TopParams {
        TopParams { wte: view(WTE), wpe: (c.positional == Positional::Learned).then(|| view(WPE)), lnf: [view(LNF_W), view(LNF_B)], head: view(head_name(c)) }
    }
}

pub struct Transformer {
    config: TransformerConfig,
    spec: AttnSpec,
    tp: TopParams,
    tg: TopParams,
    p: Vec<BlockParams>,
    g: Vec<BlockParams>,
    /// Training / evaluation activations, B·T rows; their qkv rows are also the KV cache.
    acts: Vec<BlockActs>,
    grads: BlockGrads,
    top: Top,
    /// Per-row losses, weighted losses, weights (0 for rows that predict nothing).
    losses: Tensor,
    weighted: Tensor,
    weights: Tensor,
    dlogits_raw: Tensor,
    dlogits: Tensor,
    dlnf: Tensor,
    dx: [Tensor; 2],
    /// A stream's one-token pass: per block, and outside them (`top1.lnf.out` is the last state).
    step: Vec<BlockActs>,
    top1: Top,
    /// Linear attention: every block's running state [H × (d_k² + d_k)] (empty otherwise).
    state: Vec<Tensor>,
    /// The sinusoidal table [T × C].
    sin: Option<Tensor>,
    inputs: Ids,
    targets: Ids,
    /// Position of every row (r mod T), uploaded once.
    pos_ids: Ids,
    inputs1: Ids,
    pos1: Ids,
    mask: Tensor,
    /// A target every row may carry without an infinite loss (rows that score nothing).
    filler: TokenId,
    /// Which stream's KV cache the device holds (0: none), and the next stream id.
    owner: Cell<u64>,
    next_id: Cell<u64>,
    host: RefCell<(Vec<f32>, Vec<u32>)>,
}

/// Floats of a block's attention probabilities, for a training pass and a stream's step: B·H·T²
/// and H·T, or for linear attention (which never forms them) its denominators, B·H·T and H.
fn probs_floats(c: &TransformerConfig) -> (u64, u64) {
    let (b, t, h) = (c.train.batch as u64, c.context as u64, c.heads as u64);
    if c.attention == AttentionKind::Linear { (b * h * t, h) } else { (b * h * t * t, h * t) }
}

/// Floats of one block's running linear-attention state: H·(d_k² + d_k).
fn state_floats(c: &TransformerConfig) -> u64 {
    let dk = c.head_dim() as u64;
    c.heads as u64 * (dk * dk + dk)
}

fn head_name(c: &TransformerConfig) -> &'static str {
    if c.tied { WTE } else { LM_HEAD }
}

impl NeuralModel for Transformer {
    const REDUCE: crate::train::memory::Reduce = crate::train::memory::REDUCE_TRANSFORMER;
    const FAMILY: &'static str = "transformer";
    type Config = TransformerConfig;
    type State = State;

    fn validate(c: &TransformerConfig) -> Result<()> {
        c.validate()
    }

    fn train_config(c: &TransformerConfig) -> &TrainConfig {
        &c.train
    }

    fn describe(c: &TransformerConfig) -> String {
        let pattern = match c.attention {
            super::config::AttentionKind::Full => "full".to_string(),
            super::config::AttentionKind::Sparse => format!("sparse (window {}, stride {})", c.window, c.stride),
            super::config::AttentionKind::Linear => "linear".to_string(),
        };
        format!(
            "Transformer: {} layers, {} heads, width {}, FFN {} ({}), context {}, {} positions, {} attention, {}-LN{}",
            c.layers,
            c.heads,
            c.width,
            c.ffn_width(),
            c.activation.name(),
            c.context,
            c.positional.name(),
            pattern,
            if c.norm == NormPlacement::Pre { "pre" } else { "post" },
            if c.tied { ", tied embeddings" } else { "" }
        )
    }

    fn context(c: &TransformerConfig) -> Option<usize> {
        Some(c.context)
    }

    fn batching(c: &TransformerConfig) -> Batching {
        Batching::Windows { len: c.context }
    }

    fn layout(c: &TransformerConfig, v: usize) -> Layout {
        let mut l = Layout::default();
        l.push(WTE, &[v, c.width]);
        if c.positional == Positional::Learned {
            l.push(WPE, &[c.context, c.width]);
        }
        for k in 0..c.layers {
            for (n, dims) in block::entries(c) {
                l.push(&block::name(k, n), &dims);
            }
        }
        l.push(LNF_W, &[c.width]);
        l.push(LNF_B, &[c.width]);
        if !c.tied {
            l.push(LM_HEAD, &[v, c.width]);
        }
        l
    }

    /// nanoGPT's: weights and embeddings N(0, 0.02²), the residual projections (`c_proj`)
    /// N(0, (0.02/√(2L))²), biases 0, LayerNorms weight 1 bias 0. With sinusoidal positions the token
    /// embedding is N(0, 1/C), read as √C·E[w] (Vaswani et al., fairseq): the token then weighs as
    /// much as the amplitude-1 sinusoids, where N(0, 0.02²) would drown it in position.
    fn init(c: &TransformerConfig, e: &Entry, rng: &mut Rng) -> Vec<f32> {
        let n = e.shape.numel();
        if e.name.contains("ln_") {
            return vec![if e.name.ends_with("weight") { 1.0 } else { 0.0 }; n];
        }
        if e.name.ends_with("bias") {
            return vec![0.0; n];
        }
        let std = if e.name.ends_with("c_proj.weight") {
            0.02 / ((2 * c.layers) as f64).sqrt()
        } else if e.name == WTE && c.positional == Positional::Sinusoidal {
            1.0 / (c.width as f64).sqrt()
        } else {
            0.02
        };
        (0..n).map(|_| (rng.normal() * std) as f32).collect()
    }

    fn activation_bytes(c: &TransformerConfig, v: usize) -> u64 {
        let (b, t, w, v64) = (c.train.batch as u64, c.context as u64, c.width as u64, v as u64);
        let rows = b * t;
        let drop = c.dropout > 0.0;
        let (scores, scores1) = probs_floats(c);
        let blocks = c.layers as u64 * (BlockActs::floats(c, rows, scores, drop) + BlockActs::floats(c, 1, scores1, false));
        let grads = BlockGrads::floats(c, rows) + 3 * rows + 2 * rows * v64 + 3 * rows * w;
        let sin = if c.positional == Positional::Sinusoidal { t * w } else { 0 };
        let ids = 3 * rows + 2;
        let state = if c.attention == AttentionKind::Linear { c.layers as u64 * state_floats(c) } else { 0 };
        (state + blocks + grads + Top::floats(c, rows, v64, drop) + Top::floats(c, 1, v64, false) + sin + v64 + ids) * 4
    }

    fn new(config: TransformerConfig, vocab: &Vocab, eng: &mut Engine) -> Result<Self> {
        let (b, t, v, w) = (config.train.batch, config.context, vocab.len(), config.width);
        let rows = b * t;
        let drop = config.dropout > 0.0;
        // The memory-efficient form (`AttnSpec::lse`) where a training pass's [B × H × T × T]
        // probabilities would not fit one buffer of this backend (a GPU's binding limit) but one
        // sequence's [H × T × T] does: training keeps a log-sum-exp per row (B·H·T floats) and the
        // attention view, a pass over one sequence, still gets its maps.
        let (full, one) = (probs_floats(&config).0 as usize, config.heads * config.context * config.context);
        let limit = eng.be.max_buffer_floats();
        let lse = config.attention != AttentionKind::Linear && full > limit && one <= limit;
        let spec = AttnSpec {
            heads: config.heads,
            pattern: config.pattern(),
            alibi: config.positional == Positional::Alibi,
            rel: (config.positional == Positional::Relative).then_some(config.rel_clip),
            dropout: None, // set per training pass (block::attn_spec)
            lse,
        };
        let rel = config.positional == Positional::Relative;
        let (tp, tg) = (TopParams::new(&config, |n| eng.param(n)), TopParams::new(&config, |n| eng.grad(n)));
        let p = (0..config.layers).map(|l| BlockParams::new(l, rel, |n| eng.param(n))).collect();
        let g = (0..config.layers).map(|l| BlockParams::new(l, rel, |n| eng.grad(n))).collect();
        let mut acts = Vec::with_capacity(config.layers);
        let mut step = Vec::with_capacity(config.layers);
        let (scores, scores1) = probs_floats(&config);
        let scores = if lse { (rows * config.heads).max(one) } else { scores as usize };
        for _ in 0..config.layers {
            acts.push(BlockActs::new(eng, &config, rows, scores, drop)?);
            step.push(BlockActs::new(eng, &config, 1, scores1 as usize, false)?);
        }
        let mut state = Vec::new();
        if config.attention == AttentionKind::Linear {
            for _ in 0..config.layers {
                state.push(eng.alloc(&[config.heads, state_floats(&config) as usize / config.heads])?);
            }
        }
        let grads = BlockGrads::new(eng, &config, rows)?;
        let top = Top::new(eng, &config, rows, v, drop)?;
        let top1 = Top::new(eng, &config, 1, v, false)?;
        let sin = if config.positional == Positional::Sinusoidal {
            let s = eng.alloc(&[t, w])?;
            eng.be.write(s, &sinusoidal_table(t, w));
            Some(s)
        } else {
            None
        };
        let pos_ids = eng.alloc_ids(rows);
        let all: Vec<TokenId> = (0..rows).map(|r| (r % t) as TokenId).collect();
        eng.be.write_ids(pos_ids, &all);
        let filler = (0..v as TokenId).find(|&id| vocab.is_predictable(id)).unwrap_or(0);
        let model = Transformer {
            losses: eng.alloc(&[rows, 1])?,
            weighted: eng.alloc(&[rows, 1])?,
            weights: eng.alloc(&[rows, 1])?,
            dlogits_raw: eng.alloc(&[rows, v])?,
            dlogits: eng.alloc(&[rows, v])?,
            dlnf: eng.alloc(&[rows, w])?,
            dx: [eng.alloc(&[rows, w])?, eng.alloc(&[rows, w])?],
            inputs: eng.alloc_ids(rows),
            targets: eng.alloc_ids(rows),
            pos_ids,
            inputs1: eng.alloc_ids(1),
            pos1: eng.alloc_ids(1),
            mask: eng.unpredictable_mask(vocab)?,
            config,
            spec,
            tp,
            tg,
            p,
            g,
            acts,
            grads,
            top,
            step,
            top1,
            state,
            sin,
            filler,
            owner: Cell::new(0),
            next_id: Cell::new(1),
            host: RefCell::new((Vec::with_capacity(rows), Vec::with_capacity(rows))),
        };
        eng.ids.reserve(rows);
        Ok(model)
    }

    fn config(&self) -> &TransformerConfig {
        &self.config
    }

    fn forward_backward(&self, eng: &mut Engine, stream: &[TokenId], batch: &Batch, loss: Tensor) {
        self.owner.set(0);
        let (b, t) = (batch.starts.len(), batch.len);
        eng.ids.clear();
        eng.ids.extend(batch.starts.iter().flat_map(|&s| stream[s as usize..s as usize + t].iter().copied()));
        eng.upload_ids(self.inputs);
        let count = self.upload_targets(eng, batch.starts.iter().flat_map(|&s| (1..=t).map(move |k| Some(stream[s as usize + k]))));
        let seed = (self.config.dropout > 0.0).then(|| hash32(batch.index as u32 ^ ((batch.index >> 32) as u32).wrapping_mul(0x85eb_ca6b)));
        let pass = Pass { b, t, pos0: 0, maps: false };
        self.forward(eng, pass, seed);
        let wl = self.output(eng, b * t);
        eng.be.sum_rows(loss, wl, false);
        eng.be.scale(loss, 1.0 / count.max(1.0));
        self.backward(eng, pass, count, seed);
    }

    /// The stream in the stream's windows (see the module comment), up to B windows a pass.
    fn eval(&self, eng: &mut Engine, stream: &[TokenId], positions: &[u32], sink: &mut dyn FnMut(&mut Engine, Tensor, &[u32])) {
        let Some(&last) = positions.last() else { return };
        self.owner.set(0);
        let last = last as usize;
        let t = self.config.context;
        let (keep, stride) = (t / 2, t - t / 2);
        let scored = |j: usize| j <= last && stream[j] != BOS;
        if positions[0] == 0 {
            eng.ids.clear();
            eng.ids.push(BOS);
            eng.upload_ids(self.inputs);
            self.upload_targets(eng, std::iter::once(Some(stream[0])));
            self.forward(eng, Pass { b: 1, t: 1, pos0: 0, maps: false }, None);
            let wl = self.output(eng, 1);
            sink(eng, wl, &[0]);
        }
        // Window w reads stream[w·stride ..][..T] and scores its rows from `first(w)` on.
        let first = |w: usize| if w == 0 { 0 } else { keep };
        let mut w = 0;
        while w * stride + first(w) < last {
            let nb = (0..self.config.train.batch).take_while(|k| (w + k) * stride + first(w + k) < last).count();
            eng.ids.clear();
            for k in 0..nb {
                let s = (w + k) * stride;
                eng.ids.extend((0..t).map(|r| stream.get(s + r).copied().unwrap_or(self.filler)));
            }
            eng.upload_ids(self.inputs);
            let rows = |k: usize| (0..t).map(move |r| (k, r));
            let target = |(k, r): (usize, usize)| {
                let j = (w + k) * stride + r + 1;
                (r >= first(w + k) && j < stream.len() && scored(j)).then(|| stream[j])
            };
            self.upload_targets(eng, (0..nb).flat_map(rows).map(target));
            let pos: Vec<u32> = {
                let mut host = self.host.borrow_mut();
                host.1.clear();
                host.1.extend((0..nb).flat_map(rows).map(|(k, r)| if target((k, r)).is_some() { ((w + k) * stride + r + 1) as u32 } else { NO_POSITION }));
                std::mem::take(&mut host.1)
            };
            self.forward(eng, Pass { b: nb, t, pos0: 0, maps: false }, None);
            let wl = self.output(eng, nb * t);
            sink(eng, wl, &pos);
            self.host.borrow_mut().1 = pos;
            w += nb;
        }
    }

    fn view(&self, eng: &mut Engine, name: &str, args: &serde_json::Value, data: &crate::text::Dataset) -> Option<Result<serde_json::Value>> {
        super::views::view(self, eng, name, args, data)
    }

    fn start(&self, _eng: &mut Engine) -> State {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        State { id, tokens: Vec::with_capacity(self.config.context) }
    }

    fn push(&self, eng: &mut Engine, st: &mut State, token: TokenId) {
        let t = self.config.context;
        if st.tokens.len() == t {
            st.tokens.drain(..t - t / 2);
            self.rebuild(eng, st);
        } else {
            self.ensure(eng, st);
        }
        self.step(eng, token, st.tokens.len());
        st.tokens.push(token);
    }

    fn distribution(&self, eng: &mut Engine, st: &mut State, out: &mut [f64]) {
        self.ensure(eng, st);
        if st.tokens.is_empty() {
            // A lone `<s>` the stream does not hold: a KV cache's row 0 is overwritten by the next
            // push, but a running state must forget it.
            self.step(eng, BOS, 0);
            self.state.iter().for_each(|&s| eng.be.fill(s, 0.0));
        }
        let be = eng.be.as_mut();
        be.matmul(self.top1.logits, self.top1.lnf.out, self.tp.head, false, true, false);
        be.mask_columns(self.top1.logits, self.mask, f32::NEG_INFINITY);
        be.softmax(self.top1.probs, self.top1.logits);
        for (o, p) in out.iter_mut().zip(be.read(self.top1.probs)) {
            *o = p as f64;
        }
    }
}

impl Transformer {
    /// Stages the targets of the rows (`None`: the row scores nothing) and their weights; returns
    /// how many rows score. A `<s>` target is never predicted (masked), so such a row scores nothing.
    fn upload_targets(&self, eng: &mut Engine, targets: impl Iterator<Item = Option<TokenId>>) -> f32 {
        let mut host = self.host.borrow_mut();
        host.0.clear();
        eng.ids.clear();
        for t in targets {
            let t = t.filter(|&t| t != BOS);
            host.0.push(if t.is_some() { 1.0 } else { 0.0 });
            eng.ids.push(t.unwrap_or(self.filler));
        }
        eng.upload_ids(self.targets);
        let n = host.0.len();
        eng.be.write(self.weights.first_rows(n), &host.0);
        host.0.iter().sum()
    }

    /// The token embedding's factor: √C with sinusoidal positions, else none.
    fn token_scale(&self) -> Option<f32> {
        (self.config.positional == Positional::Sinusoidal).then(|| (self.config.width as f32).sqrt())
    }

    /// x_0 for `rows` rows whose ids (and positions) are uploaded: into `top`'s buffers.
    fn embed(&self, be: &mut dyn Backend, top: &Top, rows: usize, ids: Ids, pos: Ids, seed: Option<u32>) -> Tensor {
        let r = |t: Tensor| t.first_rows(rows);
        be.embedding(r(top.tok), self.tp.wte, ids.first(rows));
        if let Some(s) = self.token_scale() {
            be.scale(r(top.tok), s);
        }
        let x = match (top.pos, self.tp.wpe.or(self.sin)) {
            (Some([p, x0]), Some(table)) => {
                be.embedding(r(p), table, pos.first(rows));
                be.binary(Binary::Add, r(x0), r(top.tok), r(p));
                r(x0)
            }
            _ => r(top.tok),
        };
        match (&top.drop, seed) {
            (Some([m, xd, _]), Some(seed)) => {
                be.dropout_mask(r(*m), self.config.dropout as f32, hash32(seed ^ 0x27d4_eb2f));
                be.binary(Binary::Mul, r(*xd), x, r(*m));
                r(*xd)
            }
            _ => x,
        }
    }

    fn layer_seed(seed: Option<u32>, l: usize) -> Option<u32> {
        seed.map(|s| hash32(s ^ (l as u32 + 1).wrapping_mul(0x9e37_79b9)))
    }

    /// Embeddings, the blocks and the final LayerNorm over a whole pass (inputs uploaded).
    fn forward(&self, eng: &mut Engine, pass: Pass, seed: Option<u32>) {
        let rows = pass.b * pass.t;
        let be = eng.be.as_mut();
        let mut x = self.embed(be, &self.top, rows, self.inputs, self.pos_ids, seed);
        for (l, (p, a)) in self.p.iter().zip(&self.acts).enumerate() {
            block::forward(be, &self.config, &self.spec, p, a, x, pass, None, Self::layer_seed(seed, l));
            x = a.output(self.config.norm, rows);
        }
        self.top.lnf.forward(be, rows, x, self.tp.lnf);
    }

    /// The LM head and the weighted cross-entropy of `rows` rows (targets uploaded): the weighted
    /// per-row losses [rows × 1].
    fn output(&self, eng: &mut Engine, rows: usize) -> Tensor {
        let be = eng.be.as_mut();
        let r = |t: Tensor| t.first_rows(rows);
        be.matmul(r(self.top.logits), r(self.top.lnf.out), self.tp.head, false, true, false); // [rows × V]
        be.mask_columns(r(self.top.logits), self.mask, f32::NEG_INFINITY);
        be.cross_entropy(r(self.losses), r(self.top.probs), r(self.top.logits), self.targets.first(rows));
        be.binary(Binary::Mul, r(self.weighted), r(self.losses), r(self.weights));
        r(self.weighted)
    }

    /// Backward of the weighted mean loss of the last pass (`count` scoring rows).
    fn backward(&self, eng: &mut Engine, pass: Pass, count: f32, seed: Option<u32>) {
        let dropped = seed.is_some();
        let rows = pass.b * pass.t;
        let (c, tp, tg) = (&self.config, self.tp, self.tg);
        let be = eng.be.as_mut();
        let r = |t: Tensor| t.first_rows(rows);
        be.fill(r(self.dlogits_raw), 0.0);
        be.cross_entropy_backward(r(self.dlogits_raw), r(self.top.probs), self.targets.first(rows), 1.0 / count.max(1.0));
        be.binary(Binary::Mul, r(self.dlogits), r(self.dlogits_raw), r(self.weights));
        be.linear_backward(r(self.dlnf), tg.head, r(self.dlogits), r(self.top.lnf.out), tp.head, false);
        let input = |l: usize| if l == 0 { self.x0(rows, dropped) } else { self.acts[l - 1].output(c.norm, rows) };
        let mut dy = r(self.dx[0]);
        be.fill(dy, 0.0);
        be.layernorm_backward(dy, tg.lnf[0], tg.lnf[1], r(self.dlnf), input(c.layers), tp.lnf[0], r(self.top.lnf.mean), r(self.top.lnf.rstd));
        for l in (0..c.layers).rev() {
            let dx = r(self.dx[(c.layers - l) % 2]);
            block::backward(be, c, &self.spec, &self.p[l], &self.g[l], &self.acts[l], &self.grads, input(l), dx, dy, pass, Self::layer_seed(seed, l));
            dy = dx;
        }
        let dx0 = match (&self.top.drop, dropped) {
            (Some([m, _, d]), true) => {
                be.binary(Binary::Mul, r(*d), dy, r(*m));
                r(*d)
            }
            _ => dy,
        };
        // √C·E[w]: its gradient is √C·dx_0 (dx_0 is not read again: no position table to train).
        if let Some(s) = self.token_scale() {
            be.scale(dx0, s);
        }
        be.embedding_backward(tg.wte, dx0, self.inputs.first(rows));
        if let Some(gwpe) = tg.wpe {
            be.embedding_backward(gwpe, dx0, self.pos_ids.first(rows));
        }
    }

    /// The first block's input of the last pass.
    fn x0(&self, rows: usize, dropped: bool) -> Tensor {
        match (&self.top.drop, self.top.pos, dropped) {
            (Some([_, xd, _]), _, true) => xd.first_rows(rows),
            (_, Some([_, x0]), _) => x0.first_rows(rows),
            _ => self.top.tok.first_rows(rows),
        }
    }

    /// One token at position `pos` of the stream whose KV cache (or running state) is on the device:
    /// appends its keys and values, leaves its final state in `top1.lnf.out`. O(pos) attention
    /// (linear attention: O(H·d_k²), independent of pos), O(1) the rest.
    fn step(&self, eng: &mut Engine, token: TokenId, pos: usize) {
        let be = eng.be.as_mut();
        be.write_ids(self.inputs1, &[token]);
        be.write_ids(self.pos1, &[pos as TokenId]);
        let mut x = self.embed(be, &self.top1, 1, self.inputs1, self.pos1, None);
        let pass = Pass { b: 1, t: 1, pos0: pos, maps: false };
        for (l, (p, a)) in self.p.iter().zip(&self.step).enumerate() {
            let memory = match self.state.get(l) {
                Some(&state) => Memory::State(state),
                None => Memory::Kv(self.acts[l].attn_input()),
            };
            block::forward(be, &self.config, &self.spec, p, a, x, pass, Some(memory), None);
            x = a.output(self.config.norm, 1);
        }
        self.top1.lnf.forward(be, 1, x, self.tp.lnf);
    }

    /// Re-reads a stream's window as one pass: its keys and values become the cache (linear
    /// attention: are summed into the running state), its last state the stream's.
    fn rebuild(&self, eng: &mut Engine, st: &State) {
        let t = st.tokens.len();
        if t > 0 {
            eng.be.write_ids(self.inputs.first(t), &st.tokens);
            self.forward(eng, Pass { b: 1, t, pos0: 0, maps: false }, None);
            eng.be.copy_rows(self.top1.lnf.out, 0, self.top.lnf.out, t - 1, 1);
        }
        for (&state, a) in self.state.iter().zip(&self.acts) {
            match t {
                0 => eng.be.fill(state, 0.0),
                _ => eng.be.linear_attention_state(state, a.attn_input().first_rows(t), self.config.heads),
            }
        }
        self.owner.set(st.id);
    }

    /// Makes the device's KV cache this stream's.
    fn ensure(&self, eng: &mut Engine, st: &State) {
        if self.owner.get() != st.id {
            self.rebuild(eng, st);
        }
    }

    /// Every block's attention probabilities over `tokens` (at most T) read as one window from
    /// position 0: per block, [H × n × n] row-major (row i: query i over keys 0…n−1).
    pub(super) fn attention_maps(&self, eng: &mut Engine, tokens: &[TokenId]) -> Vec<Vec<f32>> {
        let n = tokens.len().min(self.config.context);
        self.owner.set(0);
        eng.be.write_ids(self.inputs.first(n), &tokens[..n]);
        self.forward(eng, Pass { b: 1, t: n, pos0: 0, maps: true }, None);
        let (h, w) = (self.config.heads, self.config.width);
        let dk = w / h;
        let shape = crate::nn::tensor::Shape::new;
        self.acts
            .iter()
            .map(|a| match a.scratch {
                // The op leaves the pairs outside the pattern unwritten (a_ij = 0): zero them here.
                None => {
                    let mut m = eng.be.read(Tensor { shape: shape(&[h * n * n]), ..a.probs });
                    let pattern = self.spec.pattern;
                    m.iter_mut().enumerate().filter(|(k, _)| !pattern.allowed((k / n) % n, k % n)).for_each(|(_, p)| *p = 0.0);
                    m
                }
                // Linear attention forms no matrix; its implied one is a_ij = φ(q_i)·φ(k_j) / den_i.
                Some(_) => {
                    let (qkv, den) = (eng.be.read(Tensor { shape: shape(&[n * 3 * w]), ..a.qkv }), eng.be.read(Tensor { shape: shape(&[h * n]), ..a.probs }));
                    let phi = |x: f32| if x > 0.0 { x + 1.0 } else { x.exp() };
                    let mut m = vec![0.0f32; h * n * n];
                    for hh in 0..h {
                        for i in 0..n {
                            for j in 0..=i {
                                let dot: f32 = (0..dk).map(|e| phi(qkv[i * 3 * w + hh * dk + e]) * phi(qkv[j * 3 * w + w + hh * dk + e])).sum();
                                m[(hh * n + i) * n + j] = dot / den[hh * n + i];
                            }
                        }
                    }
                    m
                }
            })
            .collect()
    }

    /// A parameter by name, read from the device (views).
    pub(super) fn read_param(&self, eng: &mut Engine, name: &str) -> Vec<f32> {
        let t = eng.param(name);
        eng.be.read(t)
    }

    /// What a stream's prefix leaves on the device besides its state: every block's qkv rows (the
    /// KV cache), for tests that check a step does not read them.
    #[cfg(test)]
    pub(crate) fn prefix_rows(&self) -> Vec<Tensor> {
        self.acts.iter().map(|a| a.attn_input()).collect()
    }

    /// The logits of the last training pass, [rows × V] (parity tests).
    pub fn last_logits(&self, eng: &mut Engine, rows: usize) -> Vec<f32> {
        eng.be.read(self.top.logits.first_rows(rows))
    }
}
