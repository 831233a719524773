//! The recurrent family of the course: the vanilla RNN, the LSTM and the GRU, stacked, trained by
//! truncated backpropagation through time.
//!
//! ```text
//! x_t = E[w_t]                                             E: [V × E]
//! layer k (input in_t = x_t for k = 0, h^{k−1}_t above):
//!   RNN:  h_t = σ(W_ih in_t + b_ih + W_hh h_{t−1} + b_hh)   σ = tanh | sigmoid   W_ih: [H × in]
//!   LSTM: pre = W_ih in_t + b_ih + W_hh h_{t−1} + b_hh      (gates i, f, g, o)   W_ih: [4H × in]
//!         c_t = f ⊙ c_{t−1} + i ⊙ g,  h_t = o ⊙ tanh(c_t)
//!   GRU:  r, z, n from W_ih in_t + b_ih and W_hh h_{t−1} + b_hh  (gates r, z, n)  W_ih: [3H × in]
//!         h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
//! ŷ_t = softmax(U h^{L−1}_t + b₂)                          U: [V × H]
//! bidirectional: a second stack reads each window right to left (h_bwd_t from h_bwd_{t+1});
//!   layer k > 0 and the output read [h_fwd_t; h_bwd_t] (2H). Not a language model: h_bwd_t has
//!   read x_{t+1}, the token ŷ_t predicts.
//! ```
//! Parameter names and gate layouts are PyTorch's (`nn.Embedding`, `nn.LSTM` / `nn.GRU`,
//! `nn.Linear`), so `tests/reference/rnn.py` checks them and exported weights load there.
//!
//! Training reads the stream as B lanes, T tokens at a time (`Batching::Lanes`): each window starts
//! from the hidden state the previous one ended with, detached (truncated BPTT), and from zero when
//! the lanes wrap. The backward pass runs the steps in reverse, and because every backward
//! accumulates, the shared weights' gradients sum over the T steps by construction.
//! Every per-step tensor is a slot of a [T × stride] buffer, stride rounded up to 256 bytes, so each
//! step's views are GPU-bindable. A stream (generation, the `next` view) keeps its state on the host
//! and advances it one token at a time: O(1) per token, never a re-run over the prefix.

use crate::nn::backend::recurrence::{nth, prev, Cell as CellOp, Recurrence, RecurrenceGrads, Seq, StepIds};
use crate::nn::backend::Strides;
use crate::nn::batches::{Batch, Batching};
use crate::nn::engine::Engine;
use crate::nn::model::{NeuralModel, NO_POSITION};
use crate::nn::ops::activation::Activation;
use crate::nn::ops::elementwise::Binary;
use crate::nn::params::{aligned, Entry, Layout};
use crate::nn::tensor::{Ids, Shape, Tensor};
use crate::nn::train::TrainConfig;
use crate::nn::trainer::NeuralFamily;
use crate::rng::Rng;
use crate::text::{TokenId, Vocab, BOS, EOS};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;

/// Which cell: the family's id, its number of gate blocks, its equations.
pub trait CellKind: 'static {
    const FAMILY: &'static str;
    /// Gate blocks in W_ih / W_hh: 1 (RNN), 4 (LSTM), 3 (GRU).
    const GATES: usize;
    const NAME: &'static str;
}
pub struct RnnCell;
pub struct LstmCell;
pub struct GruCell;
impl CellKind for RnnCell {
    const FAMILY: &'static str = "rnn";
    const GATES: usize = 1;
    const NAME: &'static str = "RNN";
}
impl CellKind for LstmCell {
    const FAMILY: &'static str = "lstm";
    const GATES: usize = 4;
    const NAME: &'static str = "LSTM";
}
impl CellKind for GruCell {
    const FAMILY: &'static str = "gru";
    const GATES: usize = 3;
    const NAME: &'static str = "GRU";
}

/// The registry entries (`crate::families`).
pub static RNN: NeuralFamily<Recurrent<RnnCell>> = NeuralFamily::new();
pub static LSTM: NeuralFamily<Recurrent<LstmCell>> = NeuralFamily::new();
pub static GRU: NeuralFamily<Recurrent<GruCell>> = NeuralFamily::new();

pub const EMBEDDING: &str = "embedding.weight";
pub const OUTPUT_W: &str = "output.weight";
pub const OUTPUT_B: &str = "output.bias";
/// PyTorch's names: layer k's parameters, `_reverse` for the reverse direction of a bidirectional one.
fn dir(reverse: bool) -> &'static str {
    if reverse { "_reverse" } else { "" }
}
fn w_ih(k: usize, r: bool) -> String {
    format!("rnn.weight_ih_l{k}{}", dir(r))
}
fn w_hh(k: usize, r: bool) -> String {
    format!("rnn.weight_hh_l{k}{}", dir(r))
}
fn b_ih(k: usize, r: bool) -> String {
    format!("rnn.bias_ih_l{k}{}", dir(r))
}
fn b_hh(k: usize, r: bool) -> String {
    format!("rnn.bias_hh_l{k}{}", dir(r))
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct RecurrentConfig {
    /// L: stacked layers. Default 1.
    pub layers: usize,
    /// E: embedding size. Default 64.
    pub embed: usize,
    /// H: hidden units per layer. Default 128.
    pub hidden: usize,
    /// T: truncated-BPTT length (tokens per window). Default 64.
    pub bptt: usize,
    /// σ of the vanilla RNN: `tanh` (default) or `sigmoid`. LSTM and GRU ignore it.
    pub activation: Activation,
    /// Dropout on the outputs of every layer but the last, while training (PyTorch's `dropout`
    /// argument of `nn.LSTM`). Default 0.
    pub dropout: f64,
    /// A second stack read right to left (PyTorch's `bidirectional`): layer k > 0 reads
    /// [h_fwd; h_bwd] of the layer below, the output layer [h_fwd; h_bwd] of the top (2H). Its reverse
    /// direction starts from zero at each window's end: the state after the window is not known yet
    /// (it would need the future text), so there is nothing to carry. h_bwd at t has read x_{t+1}, the
    /// token it predicts, so the model is not a language model (`generative` is false). Default false.
    pub bidirectional: bool,
    /// `batch` is the number of lanes (sequences) per step; clipping (1.0) is on by default, and the
    /// optimizer is Adam at 2e-3.
    pub train: TrainConfig,
}

impl Default for RecurrentConfig {
    fn default() -> Self {
        let mut train = TrainConfig { batch: 32, lr: 2e-3, clip: 1.0, ..TrainConfig::default() };
        train.optim.optimizer = crate::nn::optim::OptimizerKind::Adam;
        train.optim.weight_decay = 0.0;
        RecurrentConfig { layers: 1, embed: 64, hidden: 128, bptt: 64, activation: Activation::Tanh, dropout: 0.0, bidirectional: false, train }
    }
}

/// Floats of a per-step tensor of `t` slots of [rows × width] (see [`Seq`]).
fn seq_floats(t: usize, rows: usize, width: usize) -> usize {
    t * aligned(rows * width)
}

/// A sequence's element (step s, row r, column col + j) as a block copy's (block s) strides.
fn seq_strides(q: &Seq, col: usize) -> Strides {
    Strides { at: col, block: q.stride, row: q.width }
}

/// The same element in a batch-major [b × t·w] matrix: row r, column s·w + col + j.
fn rows_strides(t: usize, w: usize, col: usize) -> Strides {
    Strides { at: col, block: w, row: t * w }
}

/// A per-step tensor of `t` slots of [rows × width], each 256-byte aligned; `split`: even and odd
/// steps in two buffers.
fn new_seq(eng: &mut Engine, t: usize, rows: usize, width: usize, split: bool) -> Result<Seq> {
    let stride = aligned(rows * width);
    let bufs = if split {
        [eng.alloc(&[t.div_ceil(2) * stride])?, eng.alloc(&[(t / 2) * stride])?]
    } else {
        [eng.alloc(&[t * stride])?, eng.alloc(&[0])?]
    };
    Ok(Seq { bufs, split, stride, rows, width })
}

/// One layer's activations over the T steps, and the gradients of the backward pass.
struct Layer {
    /// k: the layer's place in the stack; `reverse`: the right-to-left direction of a bidirectional one.
    depth: usize,
    reverse: bool,
    pre: Seq,
    /// GRU: W_hh h_{t−1} + b_hh, kept apart from the input part.
    hh: Option<Seq>,
    /// LSTM / GRU: the activated gates.
    gates: Option<Seq>,
    /// LSTM: the cell state.
    c: Option<Seq>,
    h: Seq,
    dpre: Seq,
    dhh: Option<Seq>,
    dc: Option<Seq>,
    dh: Seq,
    /// The carried state of the training lanes [B × H] (and the cell state), detached each window.
    h0: Tensor,
    c0: Option<Tensor>,
    /// The state of evaluation and of streams [1 × H], apart from the lanes'.
    eh0: Tensor,
    ec0: Option<Tensor>,
    /// Where the gradient to the state before the window goes: nowhere (it is detached).
    dh_sink: Tensor,
    dc_sink: Option<Tensor>,
    /// With dropout, above the first layer: the dropout mask of the input, the dropped input and
    /// its gradient (on the forward direction; a reverse one reads the same dropped input).
    drop: Option<[Seq; 3]>,
    /// Layer 0, when the vocabulary is no larger than a training window's rows: the table
    /// E·W_ihᵀ + b_ih (+ b_hh, but not the GRU's) [V × G·H] and its gradient (see `Recurrent::folds`).
    tab: Option<(Tensor, Tensor)>,
}

/// A stream's state: per layer, h (and c) on the host.
pub struct State {
    h: Vec<Vec<f32>>,
    c: Vec<Vec<f32>>,
}

pub struct Recurrent<K: CellKind> {
    config: RecurrentConfig,
    /// Layer k's directions at k·D .. k·D + D (D = 2 when bidirectional: forward, then reverse).
    layers: Vec<Layer>,
    /// Bidirectional: per layer, its output [h_fwd; h_bwd] per step [B × 2H] and its gradient.
    cat: Vec<(Seq, Seq)>,
    /// Layer-0 inputs (embeddings) and their gradients.
    x: Seq,
    dx: Seq,
    /// Input ids, one aligned slot per step, then (for passes over all rows) the same ids
    /// contiguous from `flat_at`, step-major; targets, batch-major (row b·T + t).
    inputs: Ids,
    id_stride: usize,
    flat_at: usize,
    targets: Ids,
    /// The top layer's output concatenated batch-major: [B × T·W] = [B·T × W] (W = D·H), and its gradient.
    hcat: Tensor,
    dhcat: Tensor,
    logits: Tensor,
    probs: Tensor,
    dlogits_raw: Tensor,
    dlogits: Tensor,
    losses: Tensor,
    weighted: Tensor,
    /// 1 for rows that predict a token, 0 for rows whose target is `<s>` (never predicted) or padding.
    weights: Tensor,
    mask: Tensor,
    /// The top layer's output slots, for concatenation: for B rows and for 1 row.
    top_b: Vec<Tensor>,
    top_1: Vec<Tensor>,
    top: Seq,
    /// Host staging: row weights and the positions evaluation rows score.
    host: RefCell<(Vec<f32>, Vec<u32>)>,
    /// Whether layer 0 may read its input side from the folded table (on; the tests turn it off to
    /// compare the two paths).
    fold: Cell<bool>,
    _cell: PhantomData<fn() -> K>,
}

impl<K: CellKind> Recurrent<K> {
    /// Directions: 1, or 2 when bidirectional.
    fn dirs(&self) -> usize {
        if self.config.bidirectional { 2 } else { 1 }
    }

    /// W: the width of a layer's output, D·H.
    fn out_width(&self) -> usize {
        self.dirs() * self.config.hidden
    }

    /// Layer k's output per step and its gradient: h, or [h_fwd; h_bwd] when bidirectional.
    fn output_of(&self, k: usize) -> (Seq, Seq) {
        match self.cat.get(k) {
            Some(&(cat, dcat)) => (cat, dcat),
            None => (self.layers[k].h, self.layers[k].dh),
        }
    }

    /// The input of layer entry i (depth k > 0) and its gradient: the output of the layer below, or
    /// with dropout while training, its dropped copy.
    fn input_of(&self, i: usize, dropped: bool) -> (Seq, Seq) {
        let k = self.layers[i].depth;
        match (&self.layers[k * self.dirs()].drop, dropped) {
            (Some([_, xd, dxd]), true) => (*xd, *dxd),
            _ => self.output_of(k - 1),
        }
    }

    /// Whether layer 0's input side reads the folded table for a pass over `t` steps of `b` rows.
    /// Layer 0 reads an embedding row, so W_ih x_t + b_ih is row w_t of E·W_ihᵀ + b_ih (+ b_hh, which
    /// the RNN and the LSTM add to the same sum): one [V × E]
    /// product per pass instead of a [b·t × E] one (and likewise in the backward: the gradient rows
    /// are summed per token first). Cheaper when V ≤ b·t, as for characters in training (V ≈ 65
    /// against 2,048 rows, a third of the LSTM's FLOPs); never for the one-row passes of streams.
    fn folds(&self, b: usize, t: usize) -> bool {
        self.fold.get() && self.layers[0].tab.is_some_and(|(tab, _)| tab.shape.rows() <= b * t)
    }

    /// Forward over `t` steps of `b` rows (inputs already uploaded, one slot per step), from the
    /// states `h0` / `c0` of each layer. With `seed` (training), dropout between layers.
    fn forward(&self, eng: &mut Engine, b: usize, t: usize, eval: bool, seed: Option<u32>) {
        let folded = self.folds(b, t);
        let be = eng.be.as_mut();
        let emb = eng_param(&eng.layout, &eng.params, EMBEDDING);
        if !folded {
            match self.flat_ids(b, t) {
                Some((ids, x, _)) => be.embedding(x, emb, ids),
                None => {
                    for s in 0..t {
                        be.embedding(self.x.at(s, b), emb, self.id_slot(s, b));
                    }
                }
            }
        }
        for (i, l) in self.layers.iter().enumerate() {
            let (k, rev) = (l.depth, l.reverse);
            let (wi, wh, bi, bh) = (eng_param(&eng.layout, &eng.params, &w_ih(k, rev)), eng_param(&eng.layout, &eng.params, &w_hh(k, rev)), eng_param(&eng.layout, &eng.params, &b_ih(k, rev)), eng_param(&eng.layout, &eng.params, &b_hh(k, rev)));
            let tab = l.tab.filter(|_| folded).map(|(tab, _)| tab);
            if let Some(tab) = tab {
                be.matmul(tab, emb, wi, false, true, false); // E·W_ihᵀ: [V × G·H]
                be.add_rows(tab, bi);
                if l.hh.is_none() {
                    be.add_rows(tab, bh); // b_hh adds to the same sum (not the GRU's, inside r ⊙ hh)
                }
            }
            let input_seq = if k == 0 { self.x } else { self.input_of(i, seed.is_some()).0 };
            if let (Some([mask, xd, _]), Some(seed)) = (&l.drop, seed) {
                be.dropout_mask(mask.bufs[0], self.config.dropout as f32, crate::nn::ops::dropout::hash32(seed ^ (k as u32).wrapping_mul(0x9e37_79b9)));
                let below = self.output_of(k - 1).0;
                match (xd.span(0, t, b), below.span(0, t, b), mask.span(0, t, b)) {
                    (Some(xd), Some(below), Some(mask)) => be.binary(Binary::Mul, xd, below, mask),
                    _ => {
                        for s in 0..t {
                            be.binary(Binary::Mul, xd.at(s, b), below.at(s, b), mask.at(s, b));
                        }
                    }
                }
            }
            // The input side does not depend on the previous step: all steps at once when it can.
            let input_done = tab.is_some()
                || match (input_seq.span(0, t, b), l.pre.span(0, t, b)) {
                    (Some(input), Some(pre)) => {
                        be.matmul(pre, input, wi, false, true, false); // IN·W_ihᵀ: [T·b × G·H]
                        be.add_rows(pre, bi);
                        true
                    }
                    _ => false,
                };
            if !input_done {
                for s in 0..t {
                    let pre = l.pre.at(s, b);
                    be.matmul(pre, input_seq.at(s, b), wi, false, true, false); // in·W_ihᵀ: [b × G·H]
                    be.add_rows(pre, bi);
                }
            }
            // The serial part, step after step (one dispatch on a GPU).
            be.recurrence(&self.recurrence(l, b, t, [wh, bh], eval, tab.is_some()));
            // Both directions of layer k done: its output [h_fwd; h_bwd].
            if let (true, Some(&(cat, _))) = (rev, self.cat.get(k)) {
                let fwd = self.layers[i - 1].h;
                if fwd.split || l.h.split {
                    for s in 0..t {
                        be.concat(cat.at(s, b), &[fwd.at(s, b), l.h.at(s, b)]);
                    }
                } else {
                    for (d, half) in [fwd, l.h].iter().enumerate() {
                        be.copy_blocks(cat.slots(t), seq_strides(&cat, d * half.width), half.slots(t), seq_strides(half, 0), [t, b, half.width]);
                    }
                }
            }
        }
    }

    /// Layer entry `l`'s serial part over `t` steps of `b` rows, with its recurrent weights
    /// [W_hh, b_hh], from the lanes' state or (`eval`) the evaluation one; `folded`: layer 0 gathers
    /// its input side from the folded table.
    fn recurrence(&self, l: &Layer, b: usize, t: usize, [w_hh, b_hh]: [Tensor; 2], eval: bool, folded: bool) -> Recurrence {
        let (h0, c0) = if eval { (l.eh0, l.ec0) } else { (l.h0, l.c0) };
        let cell = match K::GATES {
            1 => CellOp::Rnn(self.config.activation),
            4 => CellOp::Lstm,
            _ => CellOp::Gru,
        };
        let tab = l.tab.filter(|_| folded).map(|(tab, _)| (tab, self.step_ids()));
        Recurrence {
            cell,
            b,
            t,
            reverse: l.reverse,
            w_hh,
            // A folded table already holds b_hh (but not the GRU's, which r multiplies).
            b_hh: (tab.is_none() || l.hh.is_some()).then_some(b_hh),
            pre: l.pre,
            hh: l.hh,
            gates: l.gates,
            c: l.c,
            h: l.h,
            h0,
            c0,
            gather: tab,
        }
    }

    fn recurrence_grads(&self, l: &Layer, dtab: Option<Tensor>) -> RecurrenceGrads {
        RecurrenceGrads { dpre: l.dpre, dhh: l.dhh, dc: l.dc, dh: l.dh, dh_sink: l.dh_sink, dc_sink: l.dc_sink, scatter: dtab.map(|d| (d, self.step_ids())) }
    }

    /// The input ids, one slot per step.
    fn step_ids(&self) -> StepIds {
        StepIds { ids: self.inputs, stride: self.id_stride }
    }

    /// Stages and uploads the input ids of `t` steps, one aligned slot per step: `step(s, ids)`
    /// appends step s's ids, one per row.
    fn upload_inputs(&self, eng: &mut Engine, t: usize, mut step: impl FnMut(usize, &mut Vec<TokenId>)) {
        eng.ids.clear();
        let mut b = 0;
        for s in 0..t {
            step(s, &mut eng.ids);
            if s == 0 {
                b = eng.ids.len();
            }
            eng.ids.resize((s + 1) * self.id_stride, 0);
        }
        // A pass over all rows: the same ids again, contiguous, so that layer 0's gather and its
        // scatter are one op each (`flat_ids`).
        if b == self.x.rows {
            eng.ids.resize(self.flat_at, 0);
            for s in 0..t {
                eng.ids.extend_from_within(s * self.id_stride..s * self.id_stride + b);
            }
        }
        eng.upload_ids(self.inputs);
    }

    /// Zeroes the carried state: the lanes' (`eval` false) or that of evaluation and streams.
    fn reset_state(&self, eng: &mut Engine, eval: bool) {
        for l in &self.layers {
            let (h0, c0) = if eval { (l.eh0, l.ec0) } else { (l.h0, l.c0) };
            eng.be.fill(h0, 0.0);
            if let Some(c0) = c0 {
                eng.be.fill(c0, 0.0);
            }
        }
    }

    /// All `t` steps' ids of a pass over all `b` rows, contiguous, when layer 0's input is one
    /// matrix [t·b × E] too (`upload_inputs` stores them so).
    fn flat_ids(&self, b: usize, t: usize) -> Option<(Ids, Tensor, Tensor)> {
        let (x, dx) = (self.x.span(0, t, b)?, self.dx.span(0, t, b)?);
        (b == self.x.rows).then_some((Ids { buf: self.inputs.buf, offset: self.flat_at, len: b * t }, x, dx))
    }

    fn id_slot(&self, s: usize, b: usize) -> Ids {
        Ids { buf: self.inputs.buf, offset: s * self.id_stride, len: b }
    }

    /// Output layer and weighted cross-entropy over the `b·t` rows (batch-major); the weights are
    /// uploaded. Returns the weighted per-row losses [b·t × 1].
    fn output(&self, eng: &mut Engine, b: usize, t: usize) -> Tensor {
        let rows = b * t;
        let (u, b2) = (eng_param(&eng.layout, &eng.params, OUTPUT_W), eng_param(&eng.layout, &eng.params, OUTPUT_B));
        let be = eng.be.as_mut();
        let w = self.out_width();
        let hcat = Tensor { shape: Shape::new(&[b, t * w]), ..self.hcat };
        if self.top.split {
            let parts = if b == self.layers[0].h.rows { &self.top_b[..t] } else { &self.top_1[..t] };
            be.concat(hcat, parts);
        } else {
            be.copy_blocks(hcat, rows_strides(t, w, 0), self.top.slots(t), seq_strides(&self.top, 0), [t, b, w]);
        }
        let hcat = hcat.reshape(&[rows, w]);
        let r = |x: Tensor| x.first_rows(rows);
        be.matmul(r(self.logits), hcat, u, false, true, false); // [b·t × V]
        be.add_rows(r(self.logits), b2);
        be.mask_columns(r(self.logits), self.mask, f32::NEG_INFINITY);
        be.cross_entropy(r(self.losses), r(self.probs), r(self.logits), self.targets.first(rows));
        be.binary(Binary::Mul, r(self.weighted), r(self.losses), r(self.weights));
        r(self.weighted)
    }

    /// Stages targets (batch-major) and row weights on the device.
    fn upload_targets(&self, eng: &mut Engine, targets: impl Iterator<Item = TokenId>) -> f32 {
        let mut host = self.host.borrow_mut();
        host.0.clear();
        eng.ids.clear();
        for tok in targets {
            // `<s>` is never predicted (masked): such a row feeds the model but scores nothing.
            host.0.push(if tok == BOS { 0.0 } else { 1.0 });
            eng.ids.push(if tok == BOS { EOS } else { tok });
        }
        eng.upload_ids(self.targets);
        let n = host.0.len();
        eng.be.write(self.weights.first_rows(n), &host.0);
        host.0.iter().sum()
    }

    /// Backward of the (weighted) loss of the last forward pass over `t` steps of `b` rows, from the
    /// lanes' carried state (`eval`: from the evaluation state).
    fn backward(&self, eng: &mut Engine, b: usize, t: usize, count: f32, eval: bool, dropped: bool) {
        let rows = b * t;
        let (h, w, dirs) = (self.config.hidden, self.out_width(), self.dirs());
        let p = |name: &str| eng_param(&eng.layout, &eng.params, name);
        let g = |name: &str| eng_param(&eng.layout, &eng.grads, name);
        let (u, gu, gb2, emb, gemb) = (p(OUTPUT_W), g(OUTPUT_W), g(OUTPUT_B), p(EMBEDDING), g(EMBEDDING));
        let folded = self.folds(b, t);
        let names: Vec<[Tensor; 7]> = self.layers.iter().map(|l| (l.depth, l.reverse)).map(|(k, r)| [p(&w_ih(k, r)), p(&w_hh(k, r)), g(&w_ih(k, r)), g(&w_hh(k, r)), g(&b_ih(k, r)), g(&b_hh(k, r)), p(&b_hh(k, r))]).collect();
        let be = eng.be.as_mut();
        let r = |x: Tensor| x.first_rows(rows);
        for l in &self.layers {
            // dpre is zeroed step by step below, just before its cell writes it (still in cache).
            for s in [l.dhh, l.dc, Some(l.dh)].into_iter().flatten() {
                s.zero(be);
            }
            be.fill(l.dh_sink, 0.0);
            if let Some(d) = l.dc_sink {
                be.fill(d, 0.0);
            }
            if let Some([_, _, dxd]) = &l.drop {
                dxd.zero(be);
            }
        }
        for (_, dcat) in &self.cat {
            dcat.zero(be);
        }
        if !folded {
            self.dx.zero(be);
        }
        // The output layer: only rows that predict a token get a gradient.
        be.fill(r(self.dlogits_raw), 0.0);
        be.cross_entropy_backward(r(self.dlogits_raw), r(self.probs), self.targets.first(rows), 1.0 / count.max(1.0));
        be.binary(Binary::Mul, r(self.dlogits), r(self.dlogits_raw), r(self.weights));
        let hcat = Tensor { shape: Shape::new(&[rows, w]), ..self.hcat };
        be.matmul(gu, r(self.dlogits), hcat, true, false, true); // dU += dlogitsᵀ·h
        be.sum_rows(gb2, r(self.dlogits), true);
        let dhcat = Tensor { shape: Shape::new(&[rows, w]), ..self.dhcat };
        be.matmul(dhcat, r(self.dlogits), u, false, false, false); // dh = dlogits·U
        let dhcat = dhcat.reshape(&[b, t * w]);
        // Each direction of the top layer takes its H columns of [dh_fwd; dh_bwd].
        for (d, top) in self.layers[self.layers.len() - dirs..].iter().enumerate() {
            if top.dh.split {
                for s in 0..t {
                    be.slice(top.dh.at(s, b), dhcat, s * w + d * h);
                }
            } else {
                be.copy_blocks(top.dh.slots(t), seq_strides(&top.dh, 0), dhcat, rows_strides(t, w, d * h), [t, b, h]);
            }
        }
        // Through time, layer by layer from the top, each direction against its reading order.
        for (i, l) in self.layers.iter().enumerate().rev() {
            let (k, rev) = (l.depth, l.reverse);
            let [wi, wh, gwi, gwh, gbi, gbh, bh] = names[i];
            let (input_seq, dinput_seq) = if k == 0 { (self.x, self.dx) } else { self.input_of(i, dropped) };
            let batched = [input_seq, dinput_seq, l.pre, l.dpre].iter().all(|q| q.span(0, t, b).is_some())
                && l.dhh.is_none_or(|d| d.span(0, t, b).is_some());
            let h0 = if eval { l.eh0 } else { l.h0 };
            let dtab = l.tab.filter(|_| folded).map(|(_, dtab)| dtab);
            if let Some(dtab) = dtab {
                be.fill(dtab, 0.0);
            }
            // The serial part, against the reading order (one dispatch on a GPU).
            let fwd = self.recurrence(l, b, t, [wh, bh], eval, dtab.is_some());
            be.recurrence_backward(&fwd, &self.recurrence_grads(l, dtab));
            if !batched {
                // Step by step, in the same order: the input side (W_ih, b_ih, the layer's input)
                // and the recurrent weights.
                for j in (0..t).rev() {
                    let s = nth(j, t, rev);
                    let (input, dinput, dpre) = (input_seq.at(s, b), dinput_seq.at(s, b), l.dpre.at(s, b));
                    let h_prev = prev(s, t, rev).map_or(h0.first_rows(b), |q| l.h.at(q, b));
                    let dhh = l.dhh.map_or(dpre, |d| d.at(s, b));
                    if dtab.is_none() {
                        be.matmul(gwi, dpre, input, true, false, true);
                        be.sum_rows(gbi, dpre, true);
                        be.matmul(dinput, dpre, wi, false, false, true);
                    }
                    be.matmul(gwh, dhh, h_prev, true, false, true);
                    be.sum_rows(gbh, dhh, true);
                }
            }
            if batched {
                // All steps at once: dW_ih += DPREᵀ·IN, dIN += DPRE·W_ih, dW_hh += DHHᵀ·H₋.
                let (dpre, input, dinput) = (l.dpre.span(0, t, b).expect("span"), input_seq.span(0, t, b).expect("span"), dinput_seq.span(0, t, b).expect("span"));
                if dtab.is_none() {
                    be.matmul(gwi, dpre, input, true, false, true);
                    be.sum_rows(gbi, dpre, true);
                    be.matmul(dinput, dpre, wi, false, false, true);
                }
                let dhh_seq = l.dhh.unwrap_or(l.dpre);
                be.matmul(gwh, dhh_seq.at(nth(0, t, rev), b), h0.first_rows(b), true, false, true);
                // The other steps read the state of the step before in their order: one matmul.
                let (d, hs) = if rev { (dhh_seq.span(0, t - 1, b), l.h.span(1, t, b)) } else { (dhh_seq.span(1, t, b), l.h.span(0, t - 1, b)) };
                if let (Some(d), Some(hs)) = (d, hs) {
                    be.matmul(gwh, d, hs, true, false, true);
                } else {
                    for s in 0..t {
                        if let Some(q) = prev(s, t, rev) {
                            be.matmul(gwh, dhh_seq.at(s, b), l.h.at(q, b), true, false, true);
                        }
                    }
                }
                be.sum_rows(gbh, dhh_seq.span(0, t, b).expect("span"), true);
            }
            if let Some(dtab) = dtab {
                // Folded: dW_ih += dTABᵀ·E, db_ih += Σ_v dTAB[v], dE += dTAB·W_ih.
                be.matmul(gwi, dtab, emb, true, false, true);
                be.sum_rows(gbi, dtab, true);
                be.matmul(gemb, dtab, wi, false, false, true);
            }
            // Layer k done (its forward direction comes last): its input's gradient to the layer below.
            if k > 0 && !rev {
                let dbelow = self.output_of(k - 1).1;
                // Through the dropout: the layer below's output gradient is still zero here, so the
                // product is its value.
                if let (Some([mask, _, dxd]), true) = (&l.drop, dropped) {
                    match (dbelow.span(0, t, b), dxd.span(0, t, b), mask.span(0, t, b)) {
                        (Some(dbelow), Some(dxd), Some(mask)) => be.binary(Binary::Mul, dbelow, dxd, mask),
                        _ => {
                            for s in 0..t {
                                be.binary(Binary::Mul, dbelow.at(s, b), dxd.at(s, b), mask.at(s, b));
                            }
                        }
                    }
                }
                // Bidirectional: [dh_fwd; dh_bwd] to each direction of the layer below.
                if self.config.bidirectional {
                    for d in 0..2 {
                        let dh = self.layers[(k - 1) * 2 + d].dh;
                        if dh.split {
                            for s in 0..t {
                                be.slice(dh.at(s, b), dbelow.at(s, b), d * h);
                            }
                        } else {
                            be.copy_blocks(dh.slots(t), seq_strides(&dh, 0), dbelow.slots(t), seq_strides(&dbelow, d * h), [t, b, h]);
                        }
                    }
                }
            }
        }
        if !folded {
            match self.flat_ids(b, t) {
                Some((ids, _, dx)) => be.embedding_backward(gemb, dx, ids),
                None => {
                    for s in 0..t {
                        be.embedding_backward(gemb, self.dx.at(s, b), self.id_slot(s, b));
                    }
                }
            }
        }
    }

    /// Copies each forward layer's last state into its carried state (detached: no gradient flows back).
    fn carry(&self, eng: &mut Engine, b: usize, t: usize, eval: bool) {
        let be = eng.be.as_mut();
        // A reverse direction carries nothing: it starts from zero at the end of every window.
        for l in self.layers.iter().filter(|l| !l.reverse) {
            let (h0, c0) = if eval { (l.eh0, l.ec0) } else { (l.h0, l.c0) };
            be.slice(h0.first_rows(b), l.h.at(t - 1, b), 0);
            if let (Some(c0), Some(c)) = (c0, l.c) {
                be.slice(c0.first_rows(b), c.at(t - 1, b), 0);
            }
        }
    }
}

fn eng_param(layout: &Layout, parts: &[Tensor], name: &str) -> Tensor {
    let e = layout.get(name).unwrap_or_else(|| panic!("no parameter '{name}'"));
    Tensor { buf: parts[e.part].buf, offset: e.offset, shape: e.shape }
}

impl<K: CellKind> NeuralModel for Recurrent<K> {
    const FAMILY: &'static str = K::FAMILY;
    type Config = RecurrentConfig;
    type State = State;

    fn validate(c: &RecurrentConfig) -> Result<()> {
        if !(1..=8).contains(&c.layers) {
            return Err(Error::setting("rnn-layers", "the number of layers must be between 1 and 8"));
        }
        if !(1..=4096).contains(&c.embed) || !(1..=4096).contains(&c.hidden) {
            return Err(Error::setting("rnn-sizes", "the embedding and hidden sizes must be between 1 and 4096"));
        }
        if !(1..=1024).contains(&c.bptt) {
            return Err(Error::setting("rnn-bptt", "the BPTT length must be between 1 and 1024 tokens"));
        }
        if !(0.0..1.0).contains(&c.dropout) {
            return Err(Error::setting("dropout", "dropout must be in [0, 1)"));
        }
        if K::GATES == 1 && !matches!(c.activation, Activation::Tanh | Activation::Sigmoid) {
            return Err(Error::setting("rnn-activation", "the RNN's σ must be tanh or sigmoid"));
        }
        c.train.validate()
    }

    fn train_config(c: &RecurrentConfig) -> &TrainConfig {
        &c.train
    }

    fn describe(c: &RecurrentConfig) -> String {
        let act = if K::GATES == 1 { format!(", σ = {}", c.activation.name()) } else { String::new() };
        let drop = if c.dropout > 0.0 && c.layers > 1 { format!(", dropout {}", c.dropout) } else { String::new() };
        let bi = if c.bidirectional { "bidirectional " } else { "" };
        format!("{bi}{}: {} layer{}, E = {}, H = {}, BPTT {}{act}{drop}", K::NAME, c.layers, if c.layers == 1 { "" } else { "s" }, c.embed, c.hidden, c.bptt)
    }

    /// A bidirectional model has read the token it predicts: it cannot assign P(x₁..x_T) or generate.
    fn generative(c: &RecurrentConfig) -> bool {
        !c.bidirectional
    }

    fn context(_: &RecurrentConfig) -> Option<usize> {
        None
    }

    fn batching(c: &RecurrentConfig) -> Batching {
        Batching::Lanes { len: c.bptt }
    }

    fn layout(c: &RecurrentConfig, v: usize) -> Layout {
        let gh = K::GATES * c.hidden;
        let w = if c.bidirectional { 2 * c.hidden } else { c.hidden };
        let mut l = Layout::default();
        l.push(EMBEDDING, &[v, c.embed]);
        for k in 0..c.layers {
            let input = if k == 0 { c.embed } else { w };
            for r in [false, true].into_iter().take(if c.bidirectional { 2 } else { 1 }) {
                l.push(&w_ih(k, r), &[gh, input]);
                l.push(&w_hh(k, r), &[gh, c.hidden]);
                l.push(&b_ih(k, r), &[gh]);
                l.push(&b_hh(k, r), &[gh]);
            }
        }
        l.push(OUTPUT_W, &[v, w]);
        l.push(OUTPUT_B, &[v]);
        l
    }

    /// PyTorch's defaults: embeddings N(0, 1); recurrent and output weights U(−1/√H, 1/√H).
    fn init(c: &RecurrentConfig, e: &Entry, rng: &mut Rng) -> Vec<f32> {
        let n = e.shape.numel();
        if e.name == EMBEDDING {
            return (0..n).map(|_| rng.normal() as f32).collect();
        }
        let bound = 1.0 / (c.hidden as f64).sqrt();
        (0..n).map(|_| ((2.0 * rng.uniform() - 1.0) * bound) as f32).collect()
    }

    fn activation_bytes(c: &RecurrentConfig, v: usize) -> u64 {
        let (b, t, h, e, g) = (c.train.batch, c.bptt, c.hidden, c.embed, K::GATES);
        let seq = |w: usize| seq_floats(t, b, w) as u64;
        let gated = K::GATES > 1;
        let per_layer = 2 * seq(g * h) // pre, dpre
            + if K::GATES == 3 { 2 * seq(g * h) } else { 0 } // hh, dhh
            + if gated { seq(g * h) } else { 0 } // gates
            + if K::GATES == 4 { 2 * seq(h) } else { 0 } // c, dc
            + 2 * seq(h) // h, dh
            + (2 * b * h + h) as u64 * if K::GATES == 4 { 2 } else { 1 }; // h0, sink, eh0 (and c)
        let rows = (b * t) as u64;
        let (d, w) = if c.bidirectional { (2, 2 * h) } else { (1, h) };
        let shared = 2 * seq(e) + 2 * rows * w as u64 + 4 * rows * v as u64 + 3 * rows + v as u64;
        let ids = (t * aligned(b)) as u64 + 2 * rows; // inputs per step and contiguous, targets
        let dropout = if c.dropout > 0.0 { (c.layers as u64 - 1) * 3 * seq(w) } else { 0 };
        let cat = if c.bidirectional { c.layers as u64 * 2 * seq(w) } else { 0 };
        let folded = if v <= b * t { d as u64 * 2 * (v * g * h) as u64 } else { 0 }; // tab, dtab
        ((d * c.layers) as u64 * per_layer + dropout + cat + folded + shared + ids) * 4
    }

    fn new(config: RecurrentConfig, vocab: &Vocab, eng: &mut Engine) -> Result<Self> {
        let (b, t, h, e, v) = (config.train.batch, config.bptt, config.hidden, config.embed, vocab.len());
        let gh = K::GATES * h;
        let (lstm, gru) = (K::GATES == 4, K::GATES == 3);
        let dirs = if config.bidirectional { 2 } else { 1 };
        let w = dirs * h;
        // A backend that runs a layer's steps in one dispatch needs each sequence in one buffer
        // (its kernel reads and writes it), and gathers no folded table (see `folds`).
        let fused = eng.be.fuses_recurrence();
        let mut layers = Vec::with_capacity(dirs * config.layers);
        for (k, reverse) in (0..config.layers).flat_map(|k| [(k, false), (k, true)].into_iter().take(dirs)) {
            // Split (even/odd buffers) where a per-step op reads the step before in the same
            // tensor: the LSTM's c and dc, the GRU's h and dh.
            let opt = |eng: &mut Engine, on: bool, w: usize, split: bool| -> Result<Option<Seq>> { if on { new_seq(eng, t, b, w, split).map(Some) } else { Ok(None) } };
            let opt_t = |eng: &mut Engine, on: bool, dims: &[usize]| -> Result<Option<Tensor>> { if on { eng.alloc(dims).map(Some) } else { Ok(None) } };
            layers.push(Layer {
                depth: k,
                reverse,
                pre: new_seq(eng, t, b, gh, false)?,
                hh: opt(eng, gru, gh, false)?,
                gates: opt(eng, lstm || gru, gh, false)?,
                c: opt(eng, lstm, h, !fused)?,
                h: new_seq(eng, t, b, h, gru && !fused)?,
                dpre: new_seq(eng, t, b, gh, false)?,
                dhh: opt(eng, gru, gh, false)?,
                dc: opt(eng, lstm, h, !fused)?,
                dh: new_seq(eng, t, b, h, gru && !fused)?,
                h0: eng.alloc(&[b, h])?,
                c0: opt_t(eng, lstm, &[b, h])?,
                eh0: eng.alloc(&[1, h])?,
                ec0: opt_t(eng, lstm, &[1, h])?,
                dh_sink: eng.alloc(&[b, h])?,
                dc_sink: opt_t(eng, lstm, &[b, h])?,
                drop: if k > 0 && !reverse && config.dropout > 0.0 {
                    Some([new_seq(eng, t, b, w, false)?, new_seq(eng, t, b, w, false)?, new_seq(eng, t, b, w, false)?])
                } else {
                    None
                },
                tab: if k == 0 && v <= b * t && !fused { Some((eng.alloc(&[v, gh])?, eng.alloc(&[v, gh])?)) } else { None },
            });
        }
        let rows = b * t;
        let id_stride = aligned(b);
        let mut cat = Vec::new();
        if config.bidirectional {
            for _ in 0..config.layers {
                cat.push((new_seq(eng, t, b, w, false)?, new_seq(eng, t, b, w, false)?));
            }
        }
        let top = cat.last().map_or(layers.last().expect("a layer").h, |c: &(Seq, Seq)| c.0);
        let mask = eng.unpredictable_mask(vocab)?;
        let model = Recurrent {
            x: new_seq(eng, t, b, e, false)?,
            dx: new_seq(eng, t, b, e, false)?,
            inputs: eng.alloc_ids(t * id_stride + rows),
            id_stride,
            flat_at: t * id_stride,
            targets: eng.alloc_ids(rows),
            hcat: eng.alloc(&[rows * w])?,
            dhcat: eng.alloc(&[rows * w])?,
            logits: eng.alloc(&[rows, v])?,
            probs: eng.alloc(&[rows, v])?,
            dlogits_raw: eng.alloc(&[rows, v])?,
            dlogits: eng.alloc(&[rows, v])?,
            losses: eng.alloc(&[rows, 1])?,
            weighted: eng.alloc(&[rows, 1])?,
            weights: eng.alloc(&[rows, 1])?,
            mask,
            top_b: (0..t).map(|s| top.at(s, b)).collect(),
            top_1: (0..t).map(|s| top.at(s, 1)).collect(),
            top,
            host: RefCell::new((Vec::with_capacity(rows), Vec::with_capacity(t))),
            fold: Cell::new(true),
            layers,
            cat,
            config,
            _cell: PhantomData,
        };
        eng.ids.reserve(t * id_stride + 2 * rows);
        Ok(model)
    }

    fn config(&self) -> &RecurrentConfig {
        &self.config
    }

    fn forward_backward(&self, eng: &mut Engine, stream: &[TokenId], batch: &Batch, loss: Tensor) {
        let (b, t) = (batch.starts.len(), batch.len);
        if batch.reset {
            self.reset_state(eng, false);
        }
        // Step s of row r reads stream[start + s] and predicts stream[start + s + 1].
        self.upload_inputs(eng, t, |s, ids| ids.extend(batch.starts.iter().map(|&st| stream[st as usize + s])));
        let count = self.upload_targets(eng, batch.starts.iter().flat_map(|&st| (0..t).map(move |s| stream[st as usize + s + 1])));
        let seed = (self.config.dropout > 0.0).then(|| crate::nn::ops::dropout::hash32(batch.index as u32 ^ ((batch.index >> 32) as u32).wrapping_mul(0x85eb_ca6b)));
        self.forward(eng, b, t, false, seed);
        let wl = self.output(eng, b, t);
        eng.be.sum_rows(loss, wl, false);
        eng.be.scale(loss, 1.0 / count.max(1.0));
        self.backward(eng, b, t, count, false, seed.is_some());
        self.carry(eng, b, t, false);
    }

    /// The stream read as one lane from a zero state, T tokens a window, the state carried across:
    /// exactly what a stream does (bidirectional: the reverse direction reads each window from its
    /// end, so a position's loss has seen the rest of its window; a stream cannot, see `push`). Position j is predicted after reading stream[..j]; a first token
    /// that is not `<s>` is predicted from the empty history (the zero state).
    fn eval(&self, eng: &mut Engine, stream: &[TokenId], positions: &[u32], sink: &mut dyn FnMut(&mut Engine, Tensor, &[u32])) {
        let Some(&last) = positions.last() else { return };
        self.reset_state(eng, true);
        if positions[0] == 0 {
            let top = self.output_of(self.config.layers - 1).0;
            eng.be.fill(top.at(0, 1), 0.0);
            self.upload_targets(eng, std::iter::once(stream[0]));
            let wl = self.output(eng, 1, 1);
            sink(eng, wl, &[0]);
        }
        let end = last as usize + 1;
        let mut start = 1;
        while start < end {
            let t = self.config.bptt.min(end - start);
            self.upload_inputs(eng, t, |s, ids| ids.push(stream[start + s - 1]));
            self.upload_targets(eng, (start..start + t).map(|j| stream[j]));
            self.forward(eng, 1, t, true, None);
            let wl = self.output(eng, 1, t);
            let rows: Vec<u32> = {
                let mut host = self.host.borrow_mut();
                host.1.clear();
                host.1.extend((start..start + t).map(|j| if stream[j] == BOS { NO_POSITION } else { j as u32 }));
                std::mem::take(&mut host.1)
            };
            sink(eng, wl, &rows);
            self.host.borrow_mut().1 = rows;
            self.carry(eng, 1, t, true);
            start += t;
        }
    }

    fn view(&self, eng: &mut Engine, name: &str, args: &serde_json::Value, data: &crate::text::Dataset) -> Option<Result<serde_json::Value>> {
        match name {
            "gradient-flow" => Some(self.gradient_flow(eng, args, data)),
            "hidden-states" => Some(self.hidden_states(eng, args, data)),
            _ => None,
        }
    }

    fn start(&self, _eng: &mut Engine) -> State {
        let h = self.config.hidden;
        let lstm = K::GATES == 4;
        State { h: vec![vec![0.0; h]; self.layers.len()], c: if lstm { vec![vec![0.0; h]; self.layers.len()] } else { Vec::new() } }
    }

    /// One step from the host state: O(1) per token. A reverse direction has no future to read here:
    /// it reads the one token from zero (its h is kept for `distribution` only).
    fn push(&self, eng: &mut Engine, st: &mut State, token: TokenId) {
        for (k, l) in self.layers.iter().enumerate() {
            if l.reverse {
                eng.be.fill(l.eh0, 0.0);
                if let Some(c0) = l.ec0 {
                    eng.be.fill(c0, 0.0);
                }
                continue;
            }
            eng.be.write(l.eh0, &st.h[k]);
            if let Some(c0) = l.ec0 {
                eng.be.write(c0, &st.c[k]);
            }
        }
        eng.be.write_ids(self.id_slot(0, 1), &[token]);
        self.forward(eng, 1, 1, true, None);
        for (k, l) in self.layers.iter().enumerate() {
            st.h[k] = eng.be.read(l.h.at(0, 1));
            if let Some(c) = l.c {
                st.c[k] = eng.be.read(c.at(0, 1));
            }
        }
    }

    fn distribution(&self, eng: &mut Engine, st: &mut State, out: &mut [f64]) {
        let top = match self.cat.last() {
            Some(&(cat, _)) => {
                let n = st.h.len();
                let both: Vec<f32> = st.h[n - 2].iter().chain(&st.h[n - 1]).copied().collect();
                eng.be.write(cat.at(0, 1), &both);
                cat.at(0, 1)
            }
            None => {
                let top = self.layers.last().expect("a layer").eh0;
                eng.be.write(top, st.h.last().expect("a layer"));
                top
            }
        };
        let (u, b2) = (eng_param(&eng.layout, &eng.params, OUTPUT_W), eng_param(&eng.layout, &eng.params, OUTPUT_B));
        let be = eng.be.as_mut();
        let (logits, probs) = (self.logits.first_rows(1), self.probs.first_rows(1));
        be.matmul(logits, top, u, false, true, false);
        be.add_rows(logits, b2);
        be.mask_columns(logits, self.mask, f32::NEG_INFINITY);
        be.softmax(probs, logits);
        for (o, p) in out.iter_mut().zip(be.read(probs)) {
            *o = p as f64;
        }
    }
}

impl<K: CellKind> Recurrent<K> {
    /// The vanishing-gradient lesson, measured: for the loss J⁽ᵗ⁾ at one position t of a window of
    /// the validation text (read from a zero state), ‖∂J⁽ᵗ⁾/∂h⁽ᵗ'⁾‖ for every t' ≤ t and every layer —
    /// the chain ∂h⁽ᵗ⁾/∂h⁽ᵗ⁻¹⁾ ⋯ made measurable. `position` (default: the window's last) is at most
    /// `bptt` − 1 tokens in.
    fn gradient_flow(&self, eng: &mut Engine, args: &serde_json::Value, data: &crate::text::Dataset) -> Result<serde_json::Value> {
        let stream = &data.valid;
        if stream.len() < 2 {
            return Err(Error::new("no-corpus", "The gradient-flow view needs validation text."));
        }
        let t = self.config.bptt.min(stream.len() - 1);
        let pos = args.get("position").and_then(serde_json::Value::as_u64).map_or(t - 1, |p| (p as usize).min(t - 1));
        // Steps 0..=pos read stream[s] and predict stream[s + 1]; only the loss at `pos` counts.
        let n = pos + 1;
        self.reset_state(eng, true);
        self.upload_inputs(eng, n, |s, ids| ids.push(stream[s]));
        let target = if stream[n] == BOS { EOS } else { stream[n] };
        self.upload_targets(eng, (0..n).map(|s| if s == pos { target } else { stream[s + 1] }));
        let mut w = vec![0.0f32; n];
        w[pos] = 1.0;
        eng.be.write(self.weights.first_rows(n), &w);
        self.forward(eng, 1, n, true, None);
        let wl = self.output(eng, 1, n);
        let loss = eng.be.read(wl)[pos] as f64;
        self.backward(eng, 1, n, 1.0, true, false);
        // The forward directions: the chain back in time (a reverse one's runs forward).
        let layers: Vec<serde_json::Value> = self
            .layers
            .iter()
            .filter(|l| !l.reverse)
            .map(|l| (l.depth, l))
            .map(|(k, l)| {
                let norms: Vec<serde_json::Value> = (0..n)
                    .rev()
                    .map(|s| {
                        let g = eng.be.read(l.dh.at(s, 1));
                        serde_json::json!({ "distance": pos - s, "norm": g.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt() })
                    })
                    .collect();
                serde_json::json!({ "layer": k, "norms": norms })
            })
            .collect();
        let tokens: Vec<&str> = stream[..=n].iter().map(|&id| data.vocab.token(id)).collect();
        Ok(serde_json::json!({ "cell": K::NAME, "family": K::FAMILY, "position": pos, "loss": loss, "tokens": tokens, "layers": layers }))
    }

    /// Inside the model over a text (the first `MAX_STATE_TOKENS` tokens of `args.text`, encoded like
    /// validation text, or of the validation text): per layer, every unit's h after each token and,
    /// for the LSTM and the GRU, every gate's activation; and the share of saturated gate values
    /// (below 0.1 or above 0.9) per sigmoid gate. The page draws units × time heatmaps from it.
    /// `values: false` leaves out `h` and the gate values: the worker samples the saturation of the
    /// validation snippet after training chunks, and the arrays would cost more than the forward pass.
    fn hidden_states(&self, eng: &mut Engine, args: &serde_json::Value, data: &crate::text::Dataset) -> Result<serde_json::Value> {
        const MAX_STATE_TOKENS: usize = 200;
        let values = args.get("values").and_then(serde_json::Value::as_bool).unwrap_or(true);
        let mut tokens = match args.get("text").and_then(serde_json::Value::as_str) {
            Some(text) => crate::text::Dataset::encode_text(&data.config, &data.vocab, text),
            None => data.valid.clone(),
        };
        tokens.truncate(MAX_STATE_TOKENS);
        if tokens.is_empty() {
            return Err(Error::new("no-text", "There is no text to read: type some, or load the model with its corpus."));
        }
        self.reset_state(eng, true);
        let round = |x: f32| (x * 1000.0).round() / 1000.0;
        let names: &[&str] = match K::GATES {
            4 => &["i", "f", "g", "o"],
            3 => &["r", "z", "n"],
            _ => &[],
        };
        let sigmoid_gates: &[usize] = match K::GATES {
            4 => &[0, 1, 3],
            3 => &[0, 1],
            _ => &[],
        };
        let (h, gh) = (self.config.hidden, K::GATES * self.config.hidden);
        // The forward directions (a bidirectional model's reverse ones read each window from its end).
        let mut hs: Vec<Vec<Vec<f32>>> = vec![Vec::new(); self.config.layers];
        let mut gs: Vec<Vec<Vec<f32>>> = vec![Vec::new(); self.config.layers];
        let mut start = 0;
        while start < tokens.len() {
            let t = self.config.bptt.min(tokens.len() - start);
            self.upload_inputs(eng, t, |s, ids| ids.push(tokens[start + s]));
            self.forward(eng, 1, t, true, None);
            for l in self.layers.iter().filter(|l| !l.reverse) {
                let k = l.depth;
                for s in 0..t {
                    if values {
                        hs[k].push(eng.be.read(l.h.at(s, 1)).into_iter().map(round).collect());
                    }
                    if let Some(g) = l.gates {
                        gs[k].push(eng.be.read(g.at(s, 1)).into_iter().map(round).collect());
                    }
                }
            }
            self.carry(eng, 1, t, true);
            start += t;
        }
        let layers: Vec<serde_json::Value> = (0..self.config.layers)
            .map(|k| {
                let saturation: serde_json::Map<String, serde_json::Value> = sigmoid_gates
                    .iter()
                    .map(|&gi| {
                        let vals = gs[k].iter().flat_map(|row| row[gi * h..(gi + 1) * h].iter());
                        let (n, sat) = vals.fold((0usize, 0usize), |(n, s), &v| (n + 1, s + usize::from(!(0.1..=0.9).contains(&v))));
                        (names[gi].to_string(), serde_json::json!(sat as f64 / n.max(1) as f64))
                    })
                    .collect();
                let gate_values = if values { std::mem::take(&mut gs[k]) } else { Vec::new() };
                serde_json::json!({ "layer": k, "units": h, "h": hs[k], "gates": { "names": names, "width": gh, "values": gate_values }, "saturation": saturation })
            })
            .collect();
        let shown: Vec<&str> = tokens.iter().map(|&id| data.vocab.token(id)).collect();
        Ok(serde_json::json!({ "cell": K::NAME, "family": K::FAMILY, "tokens": shown, "layers": layers }))
    }

    /// Turns the folded input side of layer 0 off or on (`folds`), so tests can compare the two.
    pub fn set_fold(&self, on: bool) {
        self.fold.set(on);
    }

    /// The logits of the last forward pass of a training batch, [B·T × V] batch-major (parity tests).
    pub fn last_logits(&self, eng: &mut Engine, rows: usize) -> Vec<f32> {
        eng.be.read(self.logits.first_rows(rows))
    }

    /// The carried state of the lanes after the last window: per forward layer [B × H] (parity tests).
    pub fn carried(&self, eng: &mut Engine) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let fwd = || self.layers.iter().filter(|l| !l.reverse);
        let h = fwd().map(|l| eng.be.read(l.h0)).collect();
        let c = fwd().filter_map(|l| l.c0).map(|c| eng.be.read(c)).collect();
        (h, c)
    }

    /// Sets the carried state (gradient checks probe one window from a fixed state).
    pub fn set_carried(&self, eng: &mut Engine, (h, c): &(Vec<Vec<f32>>, Vec<Vec<f32>>)) {
        let fwd = || self.layers.iter().filter(|l| !l.reverse);
        for (l, h) in fwd().zip(h) {
            eng.be.write(l.h0, h);
        }
        for (l, c) in fwd().filter(|l| l.c0.is_some()).zip(c) {
            eng.be.write(l.c0.expect("lstm"), c);
        }
    }
}

