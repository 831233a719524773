//! A recurrent layer's pass through time as one backend op: the part of an RNN, LSTM or GRU layer
//! that is serial in t (W_hh h_{t−1} + b_hh and the cell, step after step; in the backward, the cell
//! and dh_{t−1} += dpre_t·W_hh). The input side (W_ih x_t + b_ih for every t) and the weight
//! gradients do not depend on the previous step, so the model does them as a few big matmuls
//! around this op.
//!
//! The default implementation ([`forward_steps`], [`backward_steps`]) loops over the per-step ops
//! (a matmul, a bias, a cell per step), which is what the CPU runs. A GPU backend replaces it with
//! one dispatch per layer and direction (`gpu/shaders/recurrence.wgsl`): a workgroup per batch row
//! walks the T steps with a barrier between them, where the loop would be hundreds of tiny
//! dispatches. Both run the same model code (`models/recurrent.rs`).
//!
//! ```text
//! forward, for each step s in reading order (s₋: the step before it; h0, c0 before the first):
//!   RNN:  pre_s += h_{s₋}·W_hhᵀ + b_hh;  h_s = σ(pre_s)
//!   LSTM: pre_s += h_{s₋}·W_hhᵀ + b_hh;  gates_s, c_s, h_s = cell(pre_s, c_{s₋})
//!   GRU:  hh_s = h_{s₋}·W_hhᵀ + b_hh;    gates_s, h_s = cell(pre_s, hh_s, h_{s₋})
//! backward, against the reading order (dh_s holds what reaches h_s from above and from step s+1):
//!   dpre_s (and the GRU's dhh_s), dc_{s₋} += … = cell backward;  dh_{s₋} += dhh_s·W_hh
//! ```

use super::Backend;
use crate::nn::ops::activation::Activation;
use crate::nn::tensor::{Ids, Shape, Tensor};

/// A per-time-step tensor: T slots of [rows × width], each at a 256-byte-aligned offset. A `split`
/// one keeps even and odd steps in two buffers, so that a per-step op that reads step t − 1 and
/// writes step t (a cell's state, its gradient) never reads the buffer it writes (the buffer rule);
/// the others keep all steps in one buffer, so that when the slots are contiguous a span of steps is
/// one matrix (one big matmul for the input weights over all steps instead of T small ones).
#[derive(Clone, Copy, Debug)]
pub struct Seq {
    pub bufs: [Tensor; 2],
    pub split: bool,
    pub stride: usize,
    pub rows: usize,
    pub width: usize,
}

impl Seq {
    /// Step t, its first `b` rows.
    pub fn at(&self, t: usize, b: usize) -> Tensor {
        assert!(b <= self.rows);
        if self.split {
            Tensor { buf: self.bufs[t % 2].buf, offset: self.bufs[t % 2].offset + (t / 2) * self.stride, shape: Shape::new(&[b, self.width]) }
        } else {
            Tensor { buf: self.bufs[0].buf, offset: self.bufs[0].offset + t * self.stride, shape: Shape::new(&[b, self.width]) }
        }
    }
    /// Steps t0..t1 of all rows as one [(t1 − t0)·rows × width] matrix, when they are contiguous.
    pub fn span(&self, t0: usize, t1: usize, b: usize) -> Option<Tensor> {
        (!self.split && b == self.rows && self.stride == self.rows * self.width && t1 > t0)
            .then(|| Tensor { buf: self.bufs[0].buf, offset: self.bufs[0].offset + t0 * self.stride, shape: Shape::new(&[(t1 - t0) * self.rows, self.width]) })
    }
    /// The first `t` slots of a one-buffer sequence as one flat tensor (gaps included): what a fused
    /// kernel binds, addressing step s, row r, column j at s·stride + r·width + j.
    pub fn slots(&self, t: usize) -> Tensor {
        assert!(!self.split && t > 0, "slots: a one-buffer sequence");
        Tensor { buf: self.bufs[0].buf, offset: self.bufs[0].offset, shape: Shape::new(&[(t - 1) * self.stride + self.rows * self.width]) }
    }
    pub fn zero<B: Backend + ?Sized>(&self, be: &mut B) {
        for b in self.bufs {
            be.fill(b, 0.0);
        }
    }
}

/// Token ids, one slot of `stride` per step.
#[derive(Clone, Copy, Debug)]
pub struct StepIds {
    pub ids: Ids,
    pub stride: usize,
}

impl StepIds {
    /// Step s's ids, its first `b` rows.
    pub fn at(&self, s: usize, b: usize) -> Ids {
        Ids { buf: self.ids.buf, offset: self.ids.offset + s * self.stride, len: b }
    }
}

/// The cell: the RNN's σ (tanh or sigmoid), the LSTM's or the GRU's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell {
    Rnn(Activation),
    Lstm,
    Gru,
}

impl Cell {
    /// Gate blocks in W_hh's rows: 1, 4 or 3.
    pub fn gates(self) -> usize {
        match self {
            Cell::Rnn(_) => 1,
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }
}

/// The step before step s in a direction's reading order (`None`: the first step, which reads the
/// initial state): s − 1 forward, s + 1 in reverse.
pub fn prev(s: usize, t: usize, reverse: bool) -> Option<usize> {
    if reverse { (s + 1 < t).then_some(s + 1) } else { s.checked_sub(1) }
}

/// The j-th step a direction reads.
pub fn nth(j: usize, t: usize, reverse: bool) -> usize {
    if reverse { t - 1 - j } else { j }
}

/// One layer and direction over `t` steps of `b` rows (H = h's width, G·H = pre's).
#[derive(Clone, Copy, Debug)]
pub struct Recurrence {
    pub cell: Cell,
    pub b: usize,
    pub t: usize,
    pub reverse: bool,
    /// W_hh [G·H × H] and b_hh [G·H]; `None` where b_hh is already in pre (a folded table).
    pub w_hh: Tensor,
    pub b_hh: Option<Tensor>,
    /// In: the input side W_ih x_s + b_ih; the RNN and the LSTM add the recurrent side in place.
    pub pre: Seq,
    /// GRU: W_hh h_{s₋} + b_hh, kept apart from the input side (r multiplies it).
    pub hh: Option<Seq>,
    /// LSTM, GRU: the activated gates; LSTM: the cell state.
    pub gates: Option<Seq>,
    pub c: Option<Seq>,
    pub h: Seq,
    /// The state before the first step, [≥ b × H].
    pub h0: Tensor,
    pub c0: Option<Tensor>,
    /// A folded layer 0 (CPU): pre_s is gathered from this table at step s, just before its use.
    pub gather: Option<(Tensor, StepIds)>,
}

/// The gradients of a [`Recurrence`]'s backward. On entry dh holds what reaches each h_s from above
/// (the output layer or the layer above), dc and dhh are zero; dpre is overwritten.
#[derive(Clone, Copy, Debug)]
pub struct RecurrenceGrads {
    pub dpre: Seq,
    pub dhh: Option<Seq>,
    pub dc: Option<Seq>,
    pub dh: Seq,
    /// Where the default sends the gradient of the initial state (detached: nothing reads it; a
    /// fused backend may drop it instead).
    pub dh_sink: Tensor,
    pub dc_sink: Option<Tensor>,
    /// A folded layer 0 (CPU): dpre_s's rows summed per token into this table's gradient while hot.
    pub scatter: Option<(Tensor, StepIds)>,
}

impl Recurrence {
    /// Whether every sequence is one buffer and nothing is gathered: what a fused kernel binds.
    pub fn fusable(&self, g: Option<&RecurrenceGrads>) -> bool {
        let seqs = [Some(self.pre), self.hh, self.gates, self.c, Some(self.h)];
        let grads = g.map_or([None; 4], |g| [Some(g.dpre), g.dhh, g.dc, Some(g.dh)]);
        self.gather.is_none() && g.is_none_or(|g| g.scatter.is_none()) && seqs.iter().chain(&grads).flatten().all(|s| !s.split)
    }
}

/// The default forward: per step, the recurrent matmul, its bias and the cell.
pub fn forward_steps<B: Backend + ?Sized>(be: &mut B, r: &Recurrence) {
    let b = r.b;
    for j in 0..r.t {
        let s = nth(j, r.t, r.reverse);
        let p = prev(s, r.t, r.reverse);
        let h_prev = p.map_or(r.h0.first_rows(b), |q| r.h.at(q, b));
        let pre = r.pre.at(s, b);
        if let Some((tab, ids)) = r.gather {
            be.embedding(pre, tab, ids.at(s, b));
        }
        match r.cell {
            Cell::Gru => {
                let hh = r.hh.expect("gru: hh").at(s, b);
                be.matmul(hh, h_prev, r.w_hh, false, true, false);
                be.add_rows(hh, r.b_hh.expect("gru: b_hh"));
                be.gru_cell(r.gates.expect("gru: gates").at(s, b), r.h.at(s, b), pre, hh, h_prev);
            }
            cell => {
                be.matmul(pre, h_prev, r.w_hh, false, true, true); // += h₋·W_hhᵀ
                if let Some(bh) = r.b_hh {
                    be.add_rows(pre, bh);
                }
                match cell {
                    Cell::Rnn(act) => be.activation(act, r.h.at(s, b), pre),
                    _ => {
                        let c = r.c.expect("lstm: c");
                        let c_prev = p.map_or(r.c0.expect("lstm: c0").first_rows(b), |q| c.at(q, b));
                        be.lstm_cell(r.gates.expect("lstm: gates").at(s, b), c.at(s, b), r.h.at(s, b), pre, c_prev);
                    }
                }
            }
        }
    }
}

/// The default backward: per step against the reading order, the cell's backward, then the
/// recurrence dh_{s₋} += dhh_s·W_hh.
pub fn backward_steps<B: Backend + ?Sized>(be: &mut B, r: &Recurrence, g: &RecurrenceGrads) {
    let b = r.b;
    for j in (0..r.t).rev() {
        let s = nth(j, r.t, r.reverse);
        let p = prev(s, r.t, r.reverse);
        let h_prev = p.map_or(r.h0.first_rows(b), |q| r.h.at(q, b));
        let dh_prev = p.map_or(g.dh_sink.first_rows(b), |q| g.dh.at(q, b));
        let (dpre, pre) = (g.dpre.at(s, b), r.pre.at(s, b));
        match r.cell {
            // The activation's backward writes dpre whole; the cells' accumulate into zeros.
            Cell::Rnn(act) => be.activation_backward(act, dpre, pre, r.h.at(s, b), g.dh.at(s, b), false),
            Cell::Lstm => {
                be.fill(dpre, 0.0);
                let (c, dc) = (r.c.expect("lstm: c"), g.dc.expect("lstm: dc"));
                let c_prev = p.map_or(r.c0.expect("lstm: c0").first_rows(b), |q| c.at(q, b));
                let dc_prev = p.map_or(g.dc_sink.expect("lstm: dc sink").first_rows(b), |q| dc.at(q, b));
                be.lstm_cell_backward(dpre, dc_prev, r.gates.expect("lstm: gates").at(s, b), c.at(s, b), c_prev, g.dh.at(s, b), dc.at(s, b));
            }
            Cell::Gru => {
                be.fill(dpre, 0.0);
                let dhh = g.dhh.expect("gru: dhh").at(s, b);
                be.gru_cell_backward(dpre, dhh, dh_prev, r.gates.expect("gru: gates").at(s, b), r.hh.expect("gru: hh").at(s, b), h_prev, g.dh.at(s, b));
            }
        }
        if let Some((dtab, ids)) = g.scatter {
            // dTAB[v] += Σ_{rows with token v} dpre_s, while dpre_s is still in cache.
            be.embedding_backward(dtab, dpre, ids.at(s, b));
        }
        let dhh = g.dhh.map_or(dpre, |d| d.at(s, b));
        be.matmul(dh_prev, dhh, r.w_hh, false, false, true);
    }
}
