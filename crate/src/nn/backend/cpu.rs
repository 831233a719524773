//! The CPU backend: buffers in host memory, ops from `nn::ops` in f32, the hot ones (matmul, axpy,
//! optimizer steps) through the fastest kernel flavour of the target (`kernels::best`).
//!
//! Every op but `read` (which returns host data) and `alloc*` allocates nothing: the sgemm packs into
//! one [`GemmScratch`] allocated with the backend, ops borrow token ids in place, and concatenation
//! copies part by part (`nn::alloc_tests` checks a whole step's ops with a counting allocator).

use super::pack_cache::{self, PackCache};
use super::{Backend, SgdStep, Strides};
use super::attention_gemm;
use crate::nn::kernels::{self, AdamStep, GemmScratch, Kernels, MatRef, PackedB};
use crate::nn::ops::{self, activation::Activation, attention::AttnSpec, elementwise::Binary};
use crate::nn::tensor::{BufferId, Ids, Tensor};
use crate::text::TokenId;
use std::cell::Cell;
use std::rc::Rc;

/// The float buffers and a version per buffer, bumped by every write (so a packed copy of a weight
/// knows it is stale). Read through `Deref`; written only by `io`, `write_at`, `fill_at` and `push`.
#[derive(Default)]
struct Bufs {
    data: Vec<Vec<f32>>,
    versions: Vec<u64>,
}

impl std::ops::Deref for Bufs {
    type Target = [Vec<f32>];
    fn deref(&self) -> &[Vec<f32>] {
        &self.data
    }
}

impl Bufs {
    fn push(&mut self, len: usize) -> BufferId {
        self.data.push(vec![0.0; len]);
        self.versions.push(0);
        BufferId(self.data.len() as u32 - 1)
    }
    /// The buffer of `t`, mutably, its version bumped.
    fn written(&mut self, t: &Tensor) -> &mut [f32] {
        self.versions[t.buf.0 as usize] += 1;
        &mut self.data[t.buf.0 as usize][t.range()]
    }
}

pub struct Cpu {
    bufs: Bufs,
    ids: Vec<Vec<TokenId>>,
    kern: &'static Kernels,
    /// The sgemm's packing blocks, allocated once here and reused by every matmul.
    scratch: GemmScratch,
    /// Weights packed once for the small-m products that reuse them (`pack_cache`).
    packed: PackCache,
    /// Attention's per-block work space (`attention_gemm`), grown once to the largest call's size.
    attn_work: Vec<f32>,
    /// Enforce the buffer rules a GPU needs (see `checked`).
    checked: bool,
    /// (synchronous reads, batched readbacks) so far, shared with whoever asked (`read_counts`).
    reads: Rc<Cell<(u64, u64)>>,
}

impl Default for Cpu {
    fn default() -> Self {
        Self::new()
    }
}

/// Products with at most this many rows use the packed-weight cache: packing B costs about 1/m of
/// the product, so reuse matters for small m (a recurrent step's batch, generation's single row).
const PACKED_MAX_M: usize = 64;

fn overlaps(a: &Tensor, b: &Tensor) -> bool {
    // Only called on tensors already checked to lie in their buffers, so the ends cannot overflow.
    a.buf == b.buf && a.offset < b.offset + b.len() && b.offset < a.offset + a.len()
}

/// Whether `t` lies inside a buffer of `len` floats (with no overflow on a forged offset).
fn inside(t: &Tensor, len: usize) -> bool {
    t.offset.checked_add(t.len()).is_some_and(|end| end <= len)
}

/// Borrows output tensors mutably and input tensors immutably at once. Outputs may not overlap each
/// other or any input (checked), which is what makes handing out the slices sound. A free function of
/// the buffers alone, so a caller can borrow the backend's ids and scratch alongside.
fn io<const O: usize, const I: usize>(bufs: &mut Bufs, checked: bool, outs: [Tensor; O], ins: [Tensor; I]) -> ([&mut [f32]; O], [&[f32]; I]) {
    for o in &outs {
        bufs.versions[o.buf.0 as usize] += 1;
    }
    let bufs = &mut bufs.data;
    if checked {
        check_rules(&outs, &ins);
    }
    for (i, o) in outs.iter().enumerate() {
        assert!(inside(o, bufs[o.buf.0 as usize].len()), "tensor out of its buffer");
        for o2 in &outs[i + 1..] {
            assert!(!overlaps(o, o2), "two outputs overlap");
        }
        for x in &ins {
            assert!(!overlaps(o, x), "an output overlaps an input");
        }
    }
    for x in &ins {
        assert!(inside(x, bufs[x.buf.0 as usize].len()), "tensor out of its buffer");
    }
    // SAFETY: every range is inside its buffer (checked above), outputs are pairwise disjoint and
    // disjoint from inputs, and the slices live no longer than the borrow of `bufs`.
    unsafe {
        let outs = outs.map(|t| std::slice::from_raw_parts_mut(bufs[t.buf.0 as usize].as_mut_ptr().add(t.offset), t.len()));
        let ins = ins.map(|t| std::slice::from_raw_parts(bufs[t.buf.0 as usize].as_ptr().add(t.offset), t.len()));
        (outs, ins)
    }
}

/// The buffer rules a WebGPU backend needs (backend/mod.rs), for `Cpu::checked`.
fn check_rules(outs: &[Tensor], ins: &[Tensor]) {
    use crate::nn::params::ALIGN;
    for t in outs.iter().chain(ins) {
        assert!(t.offset.is_multiple_of(ALIGN), "buffer rule: offset {} of a {:?} tensor is not a multiple of 256 bytes", t.offset, t.shape);
    }
    for o in outs {
        assert!(ins.iter().all(|x| x.buf != o.buf), "buffer rule: an op reads the buffer it writes ({:?})", o.buf);
    }
}

/// Grows a work buffer to `n` floats (once: a steady state allocates nothing).
fn grow(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
}

/// (B, Tq, C) of an attention call: out is [B × Tq × C] (rank 3), qkv [B × Tk × 3C].
fn attn_dims(out: Tensor, qkv: Tensor) -> (usize, usize, usize) {
    let d = out.shape.dims();
    assert!(d.len() == 3 && qkv.shape.rank() == 3 && qkv.shape.last() == 3 * d[2] && qkv.shape.dims()[0] == d[0], "attention: out {:?}, qkv {:?}", out.shape, qkv.shape);
    (d[0], d[1], d[2])
}

/// (T, C) of a [B × T × 3C] qkv tensor.
fn seq_dims(x: Tensor) -> (usize, usize) {
    let d = x.shape.dims();
    assert!(d.len() == 3 && d[2].is_multiple_of(3), "rope: qkv is {:?}", x.shape);
    (d[1], d[2] / 3)
}

/// y[r] = softmax(x[r]) (`ops::softmax::softmax_forward`) with the flavour's exponentials and sum.
fn softmax_rows(kern: &Kernels, y: &mut [f32], x: &[f32], cols: usize) {
    y.copy_from_slice(x);
    for row in y.chunks_exact_mut(cols) {
        // A compare, not f32::max: that is a call to fmaxf in wasm. NaN is skipped either way.
        let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
        let sum = (kern.exp_sum)(row, max);
        (kern.scale)(1.0 / sum, row);
    }
}

/// The token ids of `ids`, borrowed in place.
fn id_slice(all: &[Vec<TokenId>], ids: Ids) -> &[TokenId] {
    &all[ids.buf.0 as usize][ids.offset..ids.offset + ids.len]
}

impl Cpu {
    pub fn new() -> Cpu {
        Self::with_kernels(kernels::best())
    }
    /// A backend running the kernel flavour `kern`. Allocates its sgemm scratch now, once.
    pub fn with_kernels(kern: &'static Kernels) -> Cpu {
        Cpu { bufs: Bufs::default(), ids: Vec::new(), kern, scratch: GemmScratch::new(), packed: PackCache::new(), attn_work: Vec::new(), checked: false, reads: Rc::default() }
    }
    /// A CPU backend that panics on any call a WebGPU backend could not make (backend/mod.rs, "Buffer
    /// rules"): an offset not a multiple of 256 bytes, a buffer over 128 MiB, an op reading a buffer
    /// it writes. Tests run models on it to prove they fit a GPU.
    pub fn checked() -> Cpu {
        Cpu { checked: true, ..Self::new() }
    }
    /// A live count of (synchronous `read`s, batched `read_async`s), to check how often a trainer
    /// reads back: a GPU pays for every one.
    pub fn read_counts(&self) -> Rc<Cell<(u64, u64)>> {
        self.reads.clone()
    }
    fn check_ids(&self, ids: Ids) {
        if self.checked {
            assert!(ids.offset.is_multiple_of(crate::nn::params::ALIGN), "buffer rule: id offset {} is not a multiple of 256 bytes", ids.offset);
        }
    }
}

impl Backend for Cpu {
    fn name(&self) -> &'static str {
        "cpu"
    }
    fn describe(&self) -> String {
        format!("cpu ({})", self.kern.name)
    }

    fn alloc(&mut self, len: usize) -> BufferId {
        assert!(!self.checked || len <= crate::nn::params::MAX_PART_FLOATS, "buffer rule: a buffer of {len} floats is over 128 MiB");
        self.bufs.push(len)
    }
    fn alloc_ids(&mut self, len: usize) -> BufferId {
        self.ids.push(vec![0; len]);
        BufferId(self.ids.len() as u32 - 1)
    }
    fn write(&mut self, dst: Tensor, src: &[f32]) {
        if self.checked {
            check_rules(&[dst], &[]);
        }
        self.bufs.written(&dst).copy_from_slice(src);
    }
    fn write_ids(&mut self, dst: Ids, src: &[TokenId]) {
        self.check_ids(dst);
        self.ids[dst.buf.0 as usize][dst.offset..dst.offset + dst.len].copy_from_slice(src);
    }
    fn read(&mut self, src: Tensor) -> Vec<f32> {
        let (r, a) = self.reads.get();
        self.reads.set((r + 1, a));
        if self.checked {
            check_rules(&[], &[src]);
        }
        self.bufs[src.buf.0 as usize][src.range()].to_vec()
    }
    fn read_async(&mut self, srcs: &[Tensor]) -> crate::train::Readback {
        let (r, a) = self.reads.get();
        self.reads.set((r, a + 1));
        crate::train::readback::ready(srcs.iter().map(|t| self.bufs[t.buf.0 as usize][t.range()].to_vec()).collect())
    }
    fn fill(&mut self, x: Tensor, value: f32) {
        if self.checked {
            check_rules(&[x], &[]);
        }
        self.bufs.written(&x).fill(value);
    }
    /// Floats, ids, the sgemm scratch, the packed-weight cache and attention's work space.
    fn allocated_bytes(&self) -> u64 {
        self.bufs.iter().map(|b| b.len() as u64 * 4).sum::<u64>()
            + self.ids.iter().map(|b| b.len() as u64 * 4).sum::<u64>()
            + self.scratch.bytes()
            + self.packed.bytes()
            + self.attn_work.len() as u64 * 4
    }

    fn matmul(&mut self, out: Tensor, a: Tensor, b: Tensor, ta: bool, tb: bool, accumulate: bool) {
        let kern = self.kern;
        let rank = out.shape.rank();
        let batch = if rank == 3 { out.shape.dims()[0] } else { 1 };
        let (m, n) = (out.shape.rows() / batch, out.shape.last());
        let (ar, ac) = (a.shape.rows() / batch, a.shape.last());
        let k = if ta { ar } else { ac };
        assert_eq!(if ta { ac } else { ar }, m, "matmul: A is {:?}, out {:?}", a.shape, out.shape);
        let (br, bc) = (b.shape.rows() / batch, b.shape.last());
        assert_eq!((if tb { bc } else { br }, if tb { br } else { bc }), (k, n), "matmul: B is {:?}, A {:?}", b.shape, a.shape);
        let key = pack_cache::Key { buf: b.buf.0, offset: b.offset, k, n, tb, version: self.bufs.versions[b.buf.0 as usize] };
        let ([o], [a, b]) = io(&mut self.bufs, self.checked, [out], [a, b]);
        if batch == 1 && m <= PACKED_MAX_M {
            let bm = if tb { MatRef::t(b, k) } else { MatRef::rows(b, n) };
            if let Some(bp) = self.packed.get(key, (kern.packed_b_floats)(k, n), |dst| (kern.pack_b)(k, n, bm, dst)) {
                let am = if ta { MatRef::t(a, m) } else { MatRef::rows(a, k) };
                (kern.sgemm_packed_b)(m, n, k, am, PackedB { data: bp, k, n }, o, n, accumulate, &mut self.scratch);
                return;
            }
        }
        for i in 0..batch {
            let (av, bv) = (&a[i * m * k..(i + 1) * m * k], &b[i * k * n..(i + 1) * k * n]);
            let am = if ta { MatRef::t(av, m) } else { MatRef::rows(av, k) };
            let bm = if tb { MatRef::t(bv, k) } else { MatRef::rows(bv, n) };
            (kern.sgemm)(m, n, k, am, bm, &mut o[i * m * n..(i + 1) * m * n], n, accumulate, &mut self.scratch);
        }
    }

    fn binary(&mut self, op: Binary, out: Tensor, a: Tensor, b: Tensor) {
        let (sa, sb) = (a.shape, b.shape);
        let ([o], [a, b]) = io(&mut self.bufs, self.checked, [out], [a, b]);
        ops::elementwise::binary_forward(op, o, a, sa.dims(), b, sb.dims());
    }
    fn binary_backward(&mut self, op: Binary, da: Tensor, db: Tensor, dout: Tensor, a: Tensor, b: Tensor) {
        let (sa, sb) = (a.shape, b.shape);
        let ([da, db], [d, a, b]) = io(&mut self.bufs, self.checked, [da, db], [dout, a, b]);
        ops::elementwise::binary_backward(op, da, db, d, a, sa.dims(), b, sb.dims());
    }
    fn add_rows(&mut self, x: Tensor, bias: Tensor) {
        let kern = self.kern;
        assert_eq!(x.shape.last(), bias.len());
        let ([x], [b]) = io(&mut self.bufs, self.checked, [x], [bias]);
        for row in x.chunks_exact_mut(b.len().max(1)) {
            (kern.axpy)(1.0, b, row);
        }
    }
    fn scale(&mut self, x: Tensor, s: f32) {
        let kern = self.kern;
        let ([x], []) = io(&mut self.bufs, self.checked, [x], []);
        (kern.scale)(s, x);
    }
    fn axpy(&mut self, y: Tensor, s: f32, x: Tensor) {
        let kern = self.kern;
        let ([y], [x]) = io(&mut self.bufs, self.checked, [y], [x]);
        (kern.axpy)(s, x, y);
    }
    fn activation(&mut self, act: Activation, y: Tensor, x: Tensor) {
        let ([y], [x]) = io(&mut self.bufs, self.checked, [y], [x]);
        ops::activation::activation_forward(act, y, x);
    }
    fn activation_backward(&mut self, act: Activation, dx: Tensor, x: Tensor, y: Tensor, dy: Tensor, accumulate: bool) {
        let ([dx], [x, y, dy]) = io(&mut self.bufs, self.checked, [dx], [x, y, dy]);
        ops::activation::activation_backward(act, dx, x, y, dy, accumulate);
    }

    fn softmax(&mut self, y: Tensor, x: Tensor) {
        let c = x.shape.last();
        let kern = self.kern;
        let ([y], [x]) = io(&mut self.bufs, self.checked, [y], [x]);
        softmax_rows(kern, y, x, c);
    }
    fn softmax_backward(&mut self, dx: Tensor, y: Tensor, dy: Tensor) {
        let c = y.shape.last();
        let ([dx], [y, dy]) = io(&mut self.bufs, self.checked, [dx], [y, dy]);
        ops::softmax::softmax_backward(dx, y, dy, c);
    }
    fn log_softmax(&mut self, y: Tensor, x: Tensor) {
        let c = x.shape.last();
        let ([y], [x]) = io(&mut self.bufs, self.checked, [y], [x]);
        ops::softmax::log_softmax_forward(y, x, c);
    }
    fn log_softmax_backward(&mut self, dx: Tensor, y: Tensor, dy: Tensor) {
        let c = y.shape.last();
        let ([dx], [y, dy]) = io(&mut self.bufs, self.checked, [dx], [y, dy]);
        ops::softmax::log_softmax_backward(dx, y, dy, c);
    }
    fn cross_entropy(&mut self, losses: Tensor, probs: Tensor, logits: Tensor, targets: Ids) {
        let c = logits.shape.last();
        assert_eq!(targets.len, logits.shape.rows());
        self.check_ids(targets);
        let t = id_slice(&self.ids, targets);
        let kern = self.kern;
        let ([l, p], [x]) = io(&mut self.bufs, self.checked, [losses, probs], [logits]);
        // `ops::cross_entropy::cross_entropy_forward`, with the kernels' softmax.
        softmax_rows(kern, p, x, c);
        ops::cross_entropy::nll(l, p, t, c);
    }
    fn cross_entropy_backward(&mut self, dlogits: Tensor, probs: Tensor, targets: Ids, scale: f32) {
        let c = probs.shape.last();
        assert_eq!(targets.len, probs.shape.rows());
        self.check_ids(targets);
        let t = id_slice(&self.ids, targets);
        let ([d], [p]) = io(&mut self.bufs, self.checked, [dlogits], [probs]);
        ops::cross_entropy::cross_entropy_backward(d, p, t, scale, c);
    }
    fn layernorm(&mut self, out: Tensor, mean: Tensor, rstd: Tensor, x: Tensor, weight: Tensor, bias: Tensor) {
        let c = x.shape.last();
        let ([o, m, r], [x, w, b]) = io(&mut self.bufs, self.checked, [out, mean, rstd], [x, weight, bias]);
        ops::layernorm::layernorm_forward(o, m, r, x, w, b, c);
    }
    fn layernorm_backward(&mut self, dx: Tensor, dweight: Tensor, dbias: Tensor, dout: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor) {
        let c = x.shape.last();
        let ([dx, dw, db], [d, x, w, m, r]) = io(&mut self.bufs, self.checked, [dx, dweight, dbias], [dout, x, weight, mean, rstd]);
        ops::layernorm::layernorm_backward(dx, dw, db, d, x, w, m, r, c);
    }
    fn mask_columns(&mut self, x: Tensor, mask: Tensor, fill: f32) {
        let c = mask.len();
        assert_eq!(x.shape.last(), c);
        let ([x], [m]) = io(&mut self.bufs, self.checked, [x], [mask]);
        for row in x.chunks_exact_mut(c.max(1)) {
            for (v, &k) in row.iter_mut().zip(m) {
                if k != 0.0 {
                    *v = fill;
                }
            }
        }
    }
    fn causal_mask(&mut self, x: Tensor, fill: f32) {
        let t = x.shape.last();
        let ([x], []) = io(&mut self.bufs, self.checked, [x], []);
        ops::mask::causal_mask_forward(x, t, fill);
    }

    fn dropout_mask(&mut self, mask: Tensor, p: f32, seed: u32) {
        let ([m], []) = io(&mut self.bufs, self.checked, [mask], []);
        ops::dropout::dropout_mask(m, p, seed);
    }
    fn lstm_cell(&mut self, gates: Tensor, c: Tensor, h: Tensor, pre: Tensor, c_prev: Tensor) {
        let (hd, kern) = (c.shape.last(), self.kern);
        let ([g, c, h], [p, cp]) = io(&mut self.bufs, self.checked, [gates, c, h], [pre, c_prev]);
        (kern.lstm_forward)(g, c, h, p, cp, hd);
    }
    fn lstm_cell_backward(&mut self, dpre: Tensor, dc_prev: Tensor, gates: Tensor, c: Tensor, c_prev: Tensor, dh: Tensor, dc: Tensor) {
        let (hd, kern) = (c.shape.last(), self.kern);
        let ([dp, dcp], [g, c, cp, dh, dc]) = io(&mut self.bufs, self.checked, [dpre, dc_prev], [gates, c, c_prev, dh, dc]);
        (kern.lstm_backward)(dp, dcp, g, c, cp, dh, dc, hd);
    }
    fn gru_cell(&mut self, gates: Tensor, h: Tensor, ih: Tensor, hh: Tensor, h_prev: Tensor) {
        let hd = h.shape.last();
        let ([g, h], [ih, hh, hp]) = io(&mut self.bufs, self.checked, [gates, h], [ih, hh, h_prev]);
        ops::recurrent::gru_forward(g, h, ih, hh, hp, hd);
    }
    fn gru_cell_backward(&mut self, dih: Tensor, dhh: Tensor, dh_prev: Tensor, gates: Tensor, hh: Tensor, h_prev: Tensor, dh: Tensor) {
        let hd = dh.shape.last();
        let ([di, dhh, dhp], [g, hh, hp, dh]) = io(&mut self.bufs, self.checked, [dih, dhh, dh_prev], [gates, hh, h_prev, dh]);
        ops::recurrent::gru_backward(di, dhh, dhp, g, hh, hp, dh, hd);
    }

    fn attention(&mut self, out: Tensor, probs: Tensor, qkv: Tensor, rel: Option<[Tensor; 2]>, spec: &AttnSpec) {
        let (b, tq, c) = attn_dims(out, qkv);
        let tk = qkv.shape.rows() / b;
        assert_eq!(probs.len(), b * spec.heads * tq * if spec.lse { 1 } else { tk }, "attention: probs {:?}", probs.shape);
        let fast = attention_gemm::handles(spec);
        if fast {
            grow(&mut self.attn_work, attention_gemm::work_floats(self.kern, spec, tk, c));
        }
        let (kern, scratch, work) = (self.kern, &mut self.scratch, &mut self.attn_work[..]);
        let (rel, ins) = match rel {
            None => (false, [qkv, qkv, qkv]),
            Some([wk, wv]) => (true, [qkv, wk, wv]),
        };
        let ([o, p], [x, wk, wv]) = io(&mut self.bufs, self.checked, [out, probs], ins);
        let (wk, wv) = if rel { (wk, wv) } else { (&[][..], &[][..]) };
        if fast {
            attention_gemm::forward(kern, scratch, work, o, p, x, wk, wv, spec, b, tq, tk, c);
        } else {
            ops::attention::attention_forward(o, p, x, wk, wv, spec, b, tq, tk, c);
        }
    }
    fn attention_backward(&mut self, dqkv: Tensor, drel: Option<[Tensor; 2]>, dout: Tensor, out: Tensor, probs: Tensor, qkv: Tensor, rel: Option<[Tensor; 2]>, spec: &AttnSpec) {
        let (b, tq, c) = attn_dims(out, qkv);
        let tk = qkv.shape.rows() / b;
        let fast = attention_gemm::handles(spec);
        if fast {
            grow(&mut self.attn_work, attention_gemm::work_floats(self.kern, spec, tk, c));
        }
        let (kern, scratch, work) = (self.kern, &mut self.scratch, &mut self.attn_work[..]);
        let mut run = |dx: &mut [f32], dwk: &mut [f32], dwv: &mut [f32], d: &[f32], o: &[f32], p: &[f32], x: &[f32], wk: &[f32], wv: &[f32]| {
            if fast {
                attention_gemm::backward(kern, scratch, work, dx, dwk, dwv, d, o, p, x, wk, wv, spec, b, tq, tk, c);
            } else {
                ops::attention::attention_backward(dx, dwk, dwv, d, o, p, x, wk, wv, spec, b, tq, tk, c);
            }
        };
        match (drel, rel) {
            (Some([dwk, dwv]), Some([wk, wv])) => {
                let ([dx, dwk, dwv], [d, o, p, x, wk, wv]) = io(&mut self.bufs, self.checked, [dqkv, dwk, dwv], [dout, out, probs, qkv, wk, wv]);
                run(dx, dwk, dwv, d, o, p, x, wk, wv);
            }
            _ => {
                let ([dx], [d, o, p, x]) = io(&mut self.bufs, self.checked, [dqkv], [dout, out, probs, qkv]);
                run(dx, &mut [], &mut [], d, o, p, x, &[], &[]);
            }
        }
    }
    fn linear_attention(&mut self, out: Tensor, den: Tensor, scratch: Tensor, qkv: Tensor, heads: usize) {
        let (b, tq, c) = attn_dims(out, qkv);
        let tk = qkv.shape.rows() / b;
        assert!(den.len() >= b * heads * tq && scratch.len() >= (c / heads).pow(2) + c / heads, "linear attention: den or scratch too small");
        let ([o, d, s], [x]) = io(&mut self.bufs, self.checked, [out, den, scratch], [qkv]);
        ops::linear_attention::linear_attention_forward(o, d, s, x, heads, b, tq, tk, c);
    }
    fn linear_attention_backward(&mut self, dqkv: Tensor, scratch: Tensor, dout: Tensor, out: Tensor, den: Tensor, qkv: Tensor, heads: usize) {
        let (b, t, c) = attn_dims(out, qkv);
        assert_eq!(qkv.shape.rows(), b * t, "linear attention backward: a whole window");
        let ([dx, s], [d, o, dn, x]) = io(&mut self.bufs, self.checked, [dqkv, scratch], [dout, out, den, qkv]);
        ops::linear_attention::linear_attention_backward(dx, s, d, o, dn, x, heads, b, t, c);
    }
    fn linear_attention_state(&mut self, state: Tensor, qkv: Tensor, heads: usize) {
        let c = qkv.shape.last() / 3;
        let dk = c / heads;
        assert_eq!(state.len(), heads * (dk * dk + dk), "linear attention state: [H × (d_k² + d_k)]");
        let tk = qkv.len() / (3 * c);
        let ([s], [x]) = io(&mut self.bufs, self.checked, [state], [qkv]);
        ops::linear_attention::linear_attention_state(s, x, heads, tk, c);
    }
    fn linear_attention_step(&mut self, out: Tensor, state: Tensor, qkv: Tensor, heads: usize) {
        let c = out.shape.last();
        let dk = c / heads;
        assert!(qkv.len() == 3 * c && out.len() == c, "linear attention step: one row (qkv {:?}, out {:?})", qkv.shape, out.shape);
        assert_eq!(state.len(), heads * (dk * dk + dk), "linear attention step: state [H × (d_k² + d_k)]");
        let ([o, s], [x]) = io(&mut self.bufs, self.checked, [out, state], [qkv]);
        ops::linear_attention::linear_attention_step(o, s, x, heads, c);
    }
    fn rope(&mut self, out: Tensor, x: Tensor, heads: usize, pos0: usize) {
        let (t, c) = seq_dims(x);
        let ([o], [x]) = io(&mut self.bufs, self.checked, [out], [x]);
        ops::rope::rope_forward(o, x, c, heads, t, pos0);
    }
    fn rope_backward(&mut self, dx: Tensor, dout: Tensor, heads: usize, pos0: usize) {
        let (t, c) = seq_dims(dout);
        let ([dx], [d]) = io(&mut self.bufs, self.checked, [dx], [dout]);
        ops::rope::rope_backward(dx, d, c, heads, t, pos0);
    }
    fn copy_rows(&mut self, dst: Tensor, dst_row: usize, src: Tensor, src_row: usize, rows: usize) {
        let w = dst.shape.last();
        assert_eq!(w, src.shape.last(), "copy_rows: widths differ");
        assert!((dst_row + rows) * w <= dst.len() && (src_row + rows) * w <= src.len(), "copy_rows: rows out of range");
        let ([d], [s]) = io(&mut self.bufs, self.checked, [dst], [src]);
        d[dst_row * w..(dst_row + rows) * w].copy_from_slice(&s[src_row * w..(src_row + rows) * w]);
    }

    fn copy_blocks(&mut self, dst: Tensor, d: Strides, src: Tensor, s: Strides, dims: [usize; 3]) {
        let [blocks, rows, len] = dims;
        assert!(d.end(dims) <= dst.len() && s.end(dims) <= src.len(), "copy_blocks: out of range");
        let ([dv], [sv]) = io(&mut self.bufs, self.checked, [dst], [src]);
        for i in 0..blocks {
            for r in 0..rows {
                let (a, b) = (d.at + i * d.block + r * d.row, s.at + i * s.block + r * s.row);
                dv[a..a + len].copy_from_slice(&sv[b..b + len]);
            }
        }
    }

    fn embedding(&mut self, out: Tensor, table: Tensor, ids: Ids) {
        let d = table.shape.last();
        assert_eq!(out.len(), ids.len * d, "embedding: out {:?} for {} ids of width {d}", out.shape, ids.len);
        self.check_ids(ids);
        let id = id_slice(&self.ids, ids);
        let ([o], [t]) = io(&mut self.bufs, self.checked, [out], [table]);
        ops::embedding::embedding_forward(o, t, id, d);
    }
    fn embedding_backward(&mut self, dtable: Tensor, dout: Tensor, ids: Ids) {
        let d = dtable.shape.last();
        assert_eq!(dout.len(), ids.len * d, "embedding_backward: dout {:?} for {} ids of width {d}", dout.shape, ids.len);
        self.check_ids(ids);
        let id = id_slice(&self.ids, ids);
        let ([dt], [g]) = io(&mut self.bufs, self.checked, [dtable], [dout]);
        ops::embedding::embedding_backward(dt, g, id, d);
    }
    fn concat(&mut self, out: Tensor, parts: &[Tensor]) {
        let (outer, total) = (out.shape.rows(), out.shape.last());
        if outer == 0 {
            return;
        }
        assert!(parts.iter().all(|p| p.len() % outer == 0), "concat: every part needs {outer} rows");
        assert_eq!(parts.iter().map(|p| p.len() / outer).sum::<usize>(), total, "concat: parts do not fill {:?}", out.shape);
        // Part by part, straight from its buffer: no temporary copies.
        let mut start = 0;
        for &p in parts {
            let ([o], [x]) = io(&mut self.bufs, self.checked, [out], [p]);
            let inner = x.len() / outer;
            ops::shape::concat_part_forward(o, x, outer, total, start);
            start += inner;
        }
    }
    fn slice(&mut self, out: Tensor, x: Tensor, start: usize) {
        let (outer, total, len) = (x.shape.rows(), x.shape.last(), out.shape.last());
        let ([o], [x]) = io(&mut self.bufs, self.checked, [out], [x]);
        ops::shape::slice_forward(o, x, outer, total, start, len);
    }
    fn transpose(&mut self, out: Tensor, x: Tensor) {
        let d = x.shape.dims();
        let (rows, cols) = (d[d.len() - 2], d[d.len() - 1]);
        let ([o], [x]) = io(&mut self.bufs, self.checked, [out], [x]);
        ops::shape::transpose_forward(o, x, rows, cols);
    }

    fn sum_rows(&mut self, out: Tensor, x: Tensor, accumulate: bool) {
        let kern = self.kern;
        assert_eq!(out.len(), x.shape.last());
        let ([o], [x]) = io(&mut self.bufs, self.checked, [out], [x]);
        if !accumulate {
            o.fill(0.0);
        }
        for row in x.chunks_exact(o.len().max(1)) {
            (kern.axpy)(1.0, row, o);
        }
    }
    fn sum_squares(&mut self, out: Tensor, x: Tensor, accumulate: bool) {
        let kern = self.kern;
        let ([o], [x]) = io(&mut self.bufs, self.checked, [out], [x]);
        let s = (kern.dot)(x, x);
        o[0] = if accumulate { o[0] + s } else { s };
    }
    fn flag_nonfinite(&mut self, flag: Tensor, x: Tensor) {
        let ([f], [x]) = io(&mut self.bufs, self.checked, [flag], [x]);
        if !x.iter().all(|v| v.is_finite()) {
            f[0] = 1.0;
        }
    }

    fn clip_by_norm(&mut self, x: Tensor, sumsq: Tensor, max_norm: f32, skip: Tensor) {
        let kern = self.kern;
        let ([x], [ss, skip]) = io(&mut self.bufs, self.checked, [x], [sumsq, skip]);
        if skip[0] != 0.0 {
            return;
        }
        // torch.nn.utils.clip_grad_norm_: coef = max_norm / (norm + 1e-6), clamped to 1.
        let coef = max_norm / (ss[0].sqrt() + 1e-6);
        if coef < 1.0 {
            (kern.scale)(coef, x);
        }
    }
    fn sgd(&mut self, p: Tensor, g: Tensor, momentum: Tensor, s: &SgdStep, skip: Tensor) {
        let ([p, buf], [g, skip]) = io(&mut self.bufs, self.checked, [p, momentum], [g, skip]);
        if skip[0] != 0.0 {
            return;
        }
        for i in 0..p.len() {
            let gi = g[i] + s.weight_decay * p[i];
            // PyTorch: the buffer starts as the first gradient; without momentum it is just g.
            let b = if s.momentum == 0.0 || s.first { gi } else { s.momentum * buf[i] + gi };
            buf[i] = b;
            p[i] -= s.lr * b;
        }
    }
    fn adam(&mut self, p: Tensor, g: Tensor, m: Tensor, v: Tensor, s: &AdamStep, skip: Tensor) {
        let kern = self.kern;
        let ([p, m, v], [g, skip]) = io(&mut self.bufs, self.checked, [p, m, v], [g, skip]);
        if skip[0] != 0.0 {
            return;
        }
        (kern.adam)(p, g, m, v, s);
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;
    use crate::nn::kernels::gemm::NC;
    use crate::nn::tensor::Shape;
    use crate::rng::Rng;

    fn random(be: &mut Cpu, dims: &[usize], rng: &mut Rng) -> Tensor {
        let t = Tensor { buf: be.alloc(Shape::new(dims).numel()), offset: 0, shape: Shape::new(dims) };
        let data: Vec<f32> = (0..t.len()).map(|_| rng.normal() as f32).collect();
        be.write(t, &data);
        t
    }

    /// Runs `backward` once into zeroed gradients and once into gradients pre-filled with random
    /// values: what it added the second time (after − before) must be what it wrote the first time.
    /// A backward that overwrote instead of accumulating would leave after = the zero-run result.
    fn assert_accumulates(be: &mut Cpu, rng: &mut Rng, what: &str, grads: &[Tensor], backward: impl Fn(&mut Cpu)) {
        grads.iter().for_each(|&g| be.fill(g, 0.0));
        backward(be);
        let fresh: Vec<Vec<f32>> = grads.iter().map(|&g| be.read(g)).collect();
        let before: Vec<Vec<f32>> = grads.iter().map(|g| (0..g.len()).map(|_| rng.normal() as f32).collect()).collect();
        grads.iter().zip(&before).for_each(|(&g, b)| be.write(g, b));
        backward(be);
        for (gi, (&g, (b, f))) in grads.iter().zip(before.iter().zip(&fresh)).enumerate() {
            for (i, ((a, b), f)) in be.read(g).iter().zip(b).zip(f).enumerate() {
                // Equal up to f32 rounding (a matmul past KC adds its partial sums into C in another
                // order); an overwrite would be off by |b| ≈ 1, far above this.
                let tol = 1e-5 * (b.abs() + f.abs()).max(1.0);
                assert!((a - b - f).abs() <= tol, "{} {what}: gradient {gi}[{i}] is {a}, from {b} + {f}", be.kern.name);
            }
        }
    }

    /// The packed-weight cache serves a product only while B's buffer is unchanged: after `write`,
    /// `fill` or an op writing the buffer (axpy, scale, adam), every product sees the new values, bit
    /// for bit what the uncached sgemm gives; and the cache is used (hits), in both orientations.
    #[test]
    fn packed_weights_are_never_stale() {
        let mut rng = Rng::new(31);
        for kern in kernels::flavours() {
            let mut be = Cpu::with_kernels(kern);
            let (m, k, n) = (3, 40, 24);
            let (x, w) = (random(&mut be, &[m, k], &mut rng), random(&mut be, &[n, k], &mut rng));
            let (g, other) = (random(&mut be, &[n, k], &mut rng), random(&mut be, &[n, k], &mut rng));
            let (mo, vo, skip) = (random(&mut be, &[n, k], &mut rng), random(&mut be, &[n, k], &mut rng), random(&mut be, &[1], &mut rng));
            be.fill(vo, 1.0);
            be.fill(skip, 0.0);
            let (out, out2) = (random(&mut be, &[m, n], &mut rng), random(&mut be, &[m, k], &mut rng));
            let y = random(&mut be, &[m, n], &mut rng);
            for round in 0..6 {
                for _ in 0..3 {
                    be.matmul(out, x, w, false, true, false); // x·wᵀ
                    be.matmul(out2, y, w, false, false, false); // y·w
                    let (xv, wv, yv) = (be.read(x), be.read(w), be.read(y));
                    let mut scratch = GemmScratch::new();
                    let (mut want, mut want2) = (vec![0.0; m * n], vec![0.0; m * k]);
                    (kern.sgemm)(m, n, k, MatRef::rows(&xv, k), MatRef::t(&wv, k), &mut want, n, false, &mut scratch);
                    (kern.sgemm)(m, k, n, MatRef::rows(&yv, n), MatRef::rows(&wv, k), &mut want2, k, false, &mut scratch);
                    assert!(be.read(out).iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "{} round {round}", kern.name);
                    assert!(be.read(out2).iter().zip(&want2).all(|(a, b)| a.to_bits() == b.to_bits()), "{} round {round} (NN)", kern.name);
                }
                match round {
                    0 => be.write(w, &(0..n * k).map(|i| i as f32 * 0.01).collect::<Vec<_>>()),
                    1 => be.fill(w, 0.5),
                    2 => be.axpy(w, 0.1, other),
                    3 => be.scale(w, 2.0),
                    _ => be.adam(w, g, mo, vo, &AdamStep::new(1e-2, 0.9, 0.999, 1e-8, 0.0, 1), skip),
                }
            }
            assert!(be.packed.hits() >= 12, "{}: {} hits", kern.name, be.packed.hits());
        }
    }

    /// Every `*_backward` of the CPU backend (and the accumulating forms a backward pass uses:
    /// matmul with `accumulate`, sum_rows with `accumulate`, axpy) adds into its gradients, on every
    /// kernel flavour and for matmuls past the NC block.
    #[test]
    fn every_backward_accumulates_into_prefilled_gradients() {
        let mut rng = Rng::new(21);
        for kern in kernels::flavours() {
            let mut be = Cpu::with_kernels(kern);
            let rng = &mut rng;
            for (m, n, k) in [(5, 6, 7), (3, NC + 5, 9)] {
                for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                    let a = random(&mut be, &if ta { [k, m] } else { [m, k] }, rng);
                    let b = random(&mut be, &if tb { [n, k] } else { [k, n] }, rng);
                    let dout = random(&mut be, &[m, n], rng);
                    let (da, db) = (random(&mut be, a.shape.dims(), rng), random(&mut be, b.shape.dims(), rng));
                    let what = format!("matmul_backward {m}x{n}x{k} ta={ta} tb={tb}");
                    assert_accumulates(&mut be, rng, &what, &[da, db], |be| be.matmul_backward(da, db, dout, a, b, ta, tb));
                }
            }
            let (a, b) = (random(&mut be, &[2, 4, 3], rng), random(&mut be, &[2, 3, 5], rng));
            let out = random(&mut be, &[2, 4, 5], rng);
            assert_accumulates(&mut be, rng, "batched matmul, accumulate", &[out], |be| be.matmul(out, a, b, false, false, true));

            let (x, bias, dout) = (random(&mut be, &[4, 3], rng), random(&mut be, &[3], rng), random(&mut be, &[4, 3], rng));
            let (dx, dbias) = (random(&mut be, &[4, 3], rng), random(&mut be, &[3], rng));
            for op in [Binary::Add, Binary::Mul] {
                assert_accumulates(&mut be, rng, &format!("binary_backward {op:?}"), &[dx, dbias], |be| be.binary_backward(op, dx, dbias, dout, x, bias));
            }
            assert_accumulates(&mut be, rng, "sum_rows, accumulate", &[dbias], |be| be.sum_rows(dbias, dout, true));
            assert_accumulates(&mut be, rng, "axpy", &[dx], |be| be.axpy(dx, 0.3, dout));

            let y = random(&mut be, &[4, 3], rng);
            for act in [Activation::Tanh, Activation::Relu, Activation::Sigmoid, Activation::Gelu] {
                be.activation(act, y, x);
                assert_accumulates(&mut be, rng, act.name(), &[dx], |be| be.activation_backward(act, dx, x, y, dout, true));
            }
            be.softmax(y, x);
            assert_accumulates(&mut be, rng, "softmax_backward", &[dx], |be| be.softmax_backward(dx, y, dout));
            be.log_softmax(y, x);
            assert_accumulates(&mut be, rng, "log_softmax_backward", &[dx], |be| be.log_softmax_backward(dx, y, dout));

            let targets = Ids { buf: be.alloc_ids(4), offset: 0, len: 4 };
            be.write_ids(targets, &[2, 0, 1, 2]);
            let (losses, probs) = (random(&mut be, &[4], rng), random(&mut be, &[4, 3], rng));
            be.cross_entropy(losses, probs, x, targets);
            assert_accumulates(&mut be, rng, "cross_entropy_backward", &[dx], |be| be.cross_entropy_backward(dx, probs, targets, 0.25));

            let (mean, rstd, w) = (random(&mut be, &[4], rng), random(&mut be, &[4], rng), random(&mut be, &[3], rng));
            be.layernorm(y, mean, rstd, x, w, bias);
            let dw = random(&mut be, &[3], rng);
            assert_accumulates(&mut be, rng, "layernorm_backward", &[dx, dw, dbias], |be| be.layernorm_backward(dx, dw, dbias, dout, x, w, mean, rstd));

            let dtable = random(&mut be, &[3, 3], rng);
            assert_accumulates(&mut be, rng, "embedding_backward", &[dtable], |be| be.embedding_backward(dtable, dout, targets));
        }
    }
}
