//! The backend boundary. Models never touch memory: they hold [`Tensor`] handles (buffer, offset,
//! shape) and ask a [`Backend`] to run ops on them. The CPU backend ([`cpu::Cpu`]) keeps buffers in
//! host memory and runs the ops of `nn::ops` (with the SIMD `kernels` for the hot ones). A WebGPU
//! backend ([`gpu::Gpu`]) implements the same trait with GPU buffers and WGSL dispatches: tensors stay
//! on the device for the whole training step, ops are recorded into a command encoder, and only what
//! a caller reads comes back.
//!
//! **Ordering rule.** Ops and host writes take effect in the order they are called, as if each ran
//! at once: a `write` (a batch's token ids, a mask) between two ops is seen by the ops after it and
//! not by those before, even when a GPU backend records a whole chunk of steps into one submit (it
//! stages such writes and copies them into place inside the recording: `gpu/arena.rs`). Per-step
//! scalars (the learning rate, Adam's step, seeds, 1/count) travel as op arguments, never as values
//! written once into a shared tensor for many steps.
//!
//! Conventions (the same as `nn::ops`): row-major; a matrix view is [rows × last dim]; every
//! `*_backward` *accumulates* into the input gradients; in-place ops say so.
//!
//! Buffer rules, so that every call maps onto one WebGPU dispatch (docs/architecture.md; checked by
//! the CPU backend in its `checked` mode): tensor offsets are multiples of 256 bytes (`params::ALIGN`
//! floats); no buffer exceeds 128 MiB (`params::MAX_PART_FLOATS`); no op reads a buffer it writes
//! (an in-place operand is one read-write binding); masks are device tensors, made once.

pub mod attention_gemm;
pub mod cpu;
pub mod gpu;
pub mod pack_cache;
pub mod recurrence;

use super::kernels::AdamStep;
use super::ops::activation::Activation;
use super::ops::attention::AttnSpec;
use super::ops::elementwise::Binary;
use super::tensor::{BufferId, Ids, Tensor};
use crate::text::TokenId;
use crate::train::readback::{self, Readback};

/// One SGD-with-momentum step (PyTorch's `torch.optim.SGD`, dampening 0, no Nesterov):
/// g ← g + wd·p; buf ← momentum·buf + g (buf ← g on the first step); p ← p − lr·buf.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdStep {
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
    pub first: bool,
}

/// Where a block copy's element (block i, row r) starts: at + i·block + r·row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Strides {
    pub at: usize,
    pub block: usize,
    pub row: usize,
}

impl Strides {
    /// The last element a copy of `[blocks, rows, len]` touches, plus one (0 when it is empty).
    pub fn end(&self, [blocks, rows, len]: [usize; 3]) -> usize {
        if blocks * rows * len == 0 { 0 } else { self.at + (blocks - 1) * self.block + (rows - 1) * self.row + len }
    }
}

pub trait Backend {
    fn name(&self) -> &'static str;
    /// What computes, in words for a model file and a run: "cpu (simd128)", "gpu (llvmpipe …)".
    fn describe(&self) -> String {
        self.name().to_string()
    }

    // ---- memory ----
    /// A new zeroed buffer of `len` floats.
    fn alloc(&mut self, len: usize) -> BufferId;
    /// A new buffer of `len` token ids.
    fn alloc_ids(&mut self, len: usize) -> BufferId;
    /// Host → device.
    fn write(&mut self, dst: Tensor, src: &[f32]);
    fn write_ids(&mut self, dst: Ids, src: &[TokenId]);
    /// Device → host, synchronously: scoring, distributions and saving use it today. A GPU cannot
    /// block in the browser, so a WebGPU backend serves these through `read_async` instead (see
    /// docs/architecture.md, "Readbacks are batched"); training already reads only through it.
    fn read(&mut self, src: Tensor) -> Vec<f32>;
    /// Device → host for several tensors at once, resolved when the device is done: the one readback
    /// of a training chunk. The future borrows nothing, so the caller may await it freely.
    fn read_async(&mut self, srcs: &[Tensor]) -> Readback {
        readback::ready(srcs.iter().map(|&t| self.read(t)).collect())
    }
    /// Whether [`Backend::read`] may be called. False for WebGPU in the browser, where nothing can
    /// wait for the GPU: a model on such a backend keeps a CPU twin of its weights, refreshed by each
    /// training chunk's one readback, and serves scoring, streams, views and saving from it
    /// (`nn::trainer`, docs/architecture.md "Reads on WebGPU").
    fn reads_synchronously(&self) -> bool {
        true
    }
    /// The most floats one buffer may hold on this device: the rules' 128 MiB, or less where a GPU
    /// adapter binds less (`maxStorageBufferBindingSize`, `maxBufferSize`). Models are refused
    /// (`model-too-large`, with the figures) before anything is allocated.
    fn max_buffer_floats(&self) -> usize {
        super::params::MAX_PART_FLOATS
    }
    fn fill(&mut self, x: Tensor, value: f32);
    /// Bytes held in this backend's buffers (floats and ids).
    fn allocated_bytes(&self) -> u64;

    // ---- linear algebra ----
    /// out = op(a)·op(b) (or += with `accumulate`). 2-D: a [m×k] (or [k×m] with `ta`), b [k×n]
    /// (or [n×k] with `tb`), out [m×n]. 3-D: the same per leading batch index (attention heads).
    #[allow(clippy::too_many_arguments)]
    fn matmul(&mut self, out: Tensor, a: Tensor, b: Tensor, ta: bool, tb: bool, accumulate: bool);

    /// da += dout·op(b)ᵀ…, db += op(a)ᵀ·dout… for out = op(a)·op(b) (2-D). Two matmuls with
    /// transposed operands, so every backend gets it from `matmul`.
    #[allow(clippy::too_many_arguments)]
    fn matmul_backward(&mut self, da: Tensor, db: Tensor, dout: Tensor, a: Tensor, b: Tensor, ta: bool, tb: bool) {
        // d op(a) = dout · op(b)ᵀ; if a was transposed, da = (dout · op(b)ᵀ)ᵀ = op(b) · doutᵀ.
        if ta {
            self.matmul(da, b, dout, tb, true, true);
        } else {
            self.matmul(da, dout, b, false, !tb, true);
        }
        // d op(b) = op(a)ᵀ · dout; if b was transposed, db = doutᵀ · op(a).
        if tb {
            self.matmul(db, dout, a, true, ta, true);
        } else {
            self.matmul(db, a, dout, !ta, false, true);
        }
    }

    /// Backward of a linear layer y = x·Wᵀ (W: [out × in], nn.Linear's layout): dx = dy·W, or
    /// dx += dy·W with `accumulate`, and dW += dyᵀ·x. Unlike `matmul_backward` it may overwrite dx,
    /// which spares zeroing dx first when nothing else adds to it.
    fn linear_backward(&mut self, dx: Tensor, dw: Tensor, dy: Tensor, x: Tensor, w: Tensor, accumulate: bool) {
        self.matmul(dx, dy, w, false, false, accumulate);
        self.matmul(dw, dy, x, true, false, true);
    }

    // ---- pointwise ----
    /// out = a ∘ b with broadcasting (shapes from the tensors).
    fn binary(&mut self, op: Binary, out: Tensor, a: Tensor, b: Tensor);
    fn binary_backward(&mut self, op: Binary, da: Tensor, db: Tensor, dout: Tensor, a: Tensor, b: Tensor);
    /// x[r] += bias for every row r (in place): a linear layer's bias. Its backward is `sum_rows`.
    fn add_rows(&mut self, x: Tensor, bias: Tensor);
    /// x ← s·x (in place).
    fn scale(&mut self, x: Tensor, s: f32);
    /// y += s·x
    fn axpy(&mut self, y: Tensor, s: f32, x: Tensor);
    fn activation(&mut self, act: Activation, y: Tensor, x: Tensor);
    /// dx = f'(x)·dy (or += with `accumulate`): the models' dx is this op's alone, so they skip zeroing it.
    fn activation_backward(&mut self, act: Activation, dx: Tensor, x: Tensor, y: Tensor, dy: Tensor, accumulate: bool);

    // ---- rows ----
    fn softmax(&mut self, y: Tensor, x: Tensor);
    fn softmax_backward(&mut self, dx: Tensor, y: Tensor, dy: Tensor);
    fn log_softmax(&mut self, y: Tensor, x: Tensor);
    fn log_softmax_backward(&mut self, dx: Tensor, y: Tensor, dy: Tensor);
    /// Fused softmax + cross-entropy: probs = softmax(logits), losses[r] = −ln probs[r][targets[r]].
    fn cross_entropy(&mut self, losses: Tensor, probs: Tensor, logits: Tensor, targets: Ids);
    /// dlogits[r] += scale·(probs[r] − onehot(targets[r])) (scale = 1/rows for the mean loss).
    fn cross_entropy_backward(&mut self, dlogits: Tensor, probs: Tensor, targets: Ids, scale: f32);
    fn layernorm(&mut self, out: Tensor, mean: Tensor, rstd: Tensor, x: Tensor, weight: Tensor, bias: Tensor);
    #[allow(clippy::too_many_arguments)]
    fn layernorm_backward(&mut self, dx: Tensor, dweight: Tensor, dbias: Tensor, dout: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor);
    /// In place: x[r][j] = fill where mask[j] ≠ 0. `mask` is a device tensor [x.last], made once.
    fn mask_columns(&mut self, x: Tensor, mask: Tensor, fill: f32);
    /// In place, on [batch × t × t] scores: x[b][i][j] = fill for j > i.
    fn causal_mask(&mut self, x: Tensor, fill: f32);

    /// A dropout mask, drawn on the device (`nn::ops::dropout`): 1/(1 − p) or 0 per element.
    fn dropout_mask(&mut self, mask: Tensor, p: f32, seed: u32);

    // ---- recurrent cells (nn::ops::recurrent), one dispatch per time step ----
    /// LSTM: gates [B × 4H] (activated i, f, g, o), c and h [B × H] from pre [B × 4H] and c_prev.
    fn lstm_cell(&mut self, gates: Tensor, c: Tensor, h: Tensor, pre: Tensor, c_prev: Tensor);
    #[allow(clippy::too_many_arguments)]
    fn lstm_cell_backward(&mut self, dpre: Tensor, dc_prev: Tensor, gates: Tensor, c: Tensor, c_prev: Tensor, dh: Tensor, dc: Tensor);
    /// GRU: gates [B × 3H] (activated r, z, n) and h [B × H] from ih, hh [B × 3H] and h_prev.
    fn gru_cell(&mut self, gates: Tensor, h: Tensor, ih: Tensor, hh: Tensor, h_prev: Tensor);
    #[allow(clippy::too_many_arguments)]
    fn gru_cell_backward(&mut self, dih: Tensor, dhh: Tensor, dh_prev: Tensor, gates: Tensor, hh: Tensor, h_prev: Tensor, dh: Tensor);

    // ---- a recurrent layer through time (recurrence.rs) ----
    /// Whether [`Backend::recurrence`] runs fused (one dispatch per layer) when every sequence is in
    /// one buffer: a model then allocates its per-step state unsplit and does not fold layer 0.
    fn fuses_recurrence(&self) -> bool {
        false
    }
    /// The serial part of one recurrent layer's forward over T steps; the default loops over the
    /// per-step ops above.
    fn recurrence(&mut self, r: &recurrence::Recurrence) {
        recurrence::forward_steps(self, r)
    }
    /// Its backward: dpre (dhh) for every step and the gradients carried back through time.
    fn recurrence_backward(&mut self, r: &recurrence::Recurrence, g: &recurrence::RecurrenceGrads) {
        recurrence::backward_steps(self, r, g)
    }

    // ---- attention (nn::ops::attention, nn::ops::rope), one dispatch per call ----
    /// Fused multi-head causal attention: out [B × Tq × C] and probs [B × H × Tq × Tk] from qkv
    /// [B × Tk × 3C] (the last Tq rows are the queries); `rel`: Shaw's tables w^K, w^V [(k+1) × d_k].
    fn attention(&mut self, out: Tensor, probs: Tensor, qkv: Tensor, rel: Option<[Tensor; 2]>, spec: &AttnSpec);
    /// dqkv (and drel) += from dout, given the forward's out and probs.
    #[allow(clippy::too_many_arguments)]
    fn attention_backward(&mut self, dqkv: Tensor, drel: Option<[Tensor; 2]>, dout: Tensor, out: Tensor, probs: Tensor, qkv: Tensor, rel: Option<[Tensor; 2]>, spec: &AttnSpec);
    /// Causal linear attention (nn::ops::linear_attention): out [B × Tq × C] and the denominators
    /// den [B × H × Tq] from qkv [B × Tk × 3C]; `scratch` holds d_k² + d_k floats.
    fn linear_attention(&mut self, out: Tensor, den: Tensor, scratch: Tensor, qkv: Tensor, heads: usize);
    /// dqkv += from dout over a whole window (Tq = Tk).
    #[allow(clippy::too_many_arguments)]
    fn linear_attention_backward(&mut self, dqkv: Tensor, scratch: Tensor, dout: Tensor, out: Tensor, den: Tensor, qkv: Tensor, heads: usize);
    /// A stream's running linear-attention state from a window: state [H × (d_k² + d_k)] (per head
    /// S = Σ φ(k_j) v_jᵀ and z = Σ φ(k_j), overwritten) over the rows of qkv [1 × Tk × 3C].
    fn linear_attention_state(&mut self, state: Tensor, qkv: Tensor, heads: usize);
    /// One token of a stream: state += the token's φ(k) vᵀ and φ(k) (in place), then out [1 × C] =
    /// Sᵀφ(q) / φ(q)ᵀz, from its qkv row [1 × 3C]. O(H·d_k²), independent of the position.
    fn linear_attention_step(&mut self, out: Tensor, state: Tensor, qkv: Tensor, heads: usize);
    /// out = RoPE(x) on a [B × T × 3C] qkv tensor, the first token of each row at position `pos0`.
    fn rope(&mut self, out: Tensor, x: Tensor, heads: usize, pos0: usize);
    fn rope_backward(&mut self, dx: Tensor, dout: Tensor, heads: usize, pos0: usize);
    /// dst[dst_row ..][..rows] = src[src_row ..][..rows] (rows of the last dimension's width): a KV
    /// cache's new row, or one row out of a batch.
    fn copy_rows(&mut self, dst: Tensor, dst_row: usize, src: Tensor, src_row: usize, rows: usize);

    /// Strided copies of `blocks` blocks of [rows × len] (between per-step slots and batch-major
    /// rows, in one op): dst[d.at + i·d.block + r·d.row + j] = src[s.at + i·s.block + r·s.row + j].
    fn copy_blocks(&mut self, dst: Tensor, d: Strides, src: Tensor, s: Strides, dims: [usize; 3]);

    // ---- gather / layout ----
    /// out[i] = table[ids[i]]: table [V × d], out [len(ids) × d].
    fn embedding(&mut self, out: Tensor, table: Tensor, ids: Ids);
    fn embedding_backward(&mut self, dtable: Tensor, dout: Tensor, ids: Ids);
    /// out = concat(parts) along the last axis; every part has the same number of rows.
    fn concat(&mut self, out: Tensor, parts: &[Tensor]);
    /// out = x[:, start .. start + out.last] along the last axis.
    fn slice(&mut self, out: Tensor, x: Tensor, start: usize);
    /// out[b] = x[b]ᵀ for 2-D or 3-D x.
    fn transpose(&mut self, out: Tensor, x: Tensor);

    // ---- reductions ----
    /// out[c] (+)= Σ_r x[r][c] (bias gradients).
    fn sum_rows(&mut self, out: Tensor, x: Tensor, accumulate: bool);
    /// out[0] (+)= Σ x² (stays on the device).
    fn sum_squares(&mut self, out: Tensor, x: Tensor, accumulate: bool);
    /// flag[0] = 1 if any entry of x is NaN or ±∞ (flag is left as it was otherwise): the non-finite
    /// check of a training step, without a readback.
    fn flag_nonfinite(&mut self, flag: Tensor, x: Tensor);

    // ---- optimizers (one pass over a flat parameter buffer) ----
    // Each does nothing when skip[0] ≠ 0: a step whose loss or gradient was not finite leaves the
    // model as it was, decided on the device.
    /// Clipping by global norm without a readback: with n = √sumsq[0], x ← x · min(1, max_norm/(n + 1e-6)).
    fn clip_by_norm(&mut self, x: Tensor, sumsq: Tensor, max_norm: f32, skip: Tensor);
    fn sgd(&mut self, p: Tensor, g: Tensor, momentum: Tensor, s: &SgdStep, skip: Tensor);
    fn adam(&mut self, p: Tensor, g: Tensor, m: Tensor, v: Tensor, s: &AdamStep, skip: Tensor);
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::cpu::Cpu;
    use super::*;
    use crate::nn::ops;
    use crate::rng::Rng;

    fn upload(be: &mut Cpu, dims: &[usize], rng: &mut Rng) -> (Tensor, Vec<f32>) {
        let n: usize = dims.iter().product();
        let data: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
        let t = Tensor { buf: be.alloc(n), offset: 0, shape: crate::nn::tensor::Shape::new(dims) };
        be.write(t, &data);
        (t, data)
    }

    /// The backend's matmul (SIMD kernels, all four transpose forms) and its backward against the
    /// generic reference ops, on every kernel flavour.
    #[test]
    fn cpu_matmul_and_backward_agree_with_the_reference_ops() {
        let mut rng = Rng::new(1);
        let (m, n, k) = (7, 5, 9);
        for kern in crate::nn::kernels::flavours() {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                let mut be = Cpu::with_kernels(kern);
                let (a, av) = upload(&mut be, &if ta { [k, m] } else { [m, k] }, &mut rng);
                let (b, bv) = upload(&mut be, &if tb { [n, k] } else { [k, n] }, &mut rng);
                let (d, dv) = upload(&mut be, &[m, n], &mut rng);
                let out = Tensor { buf: be.alloc(m * n), offset: 0, shape: crate::nn::tensor::Shape::new(&[m, n]) };
                be.matmul(out, a, b, ta, tb, false);
                let mut want = vec![0.0f32; m * n];
                ops::matmul::matmul_forward(&mut want, &av, &bv, m, n, k, ta, tb, false);
                let got = be.read(out);
                assert!(got.iter().zip(&want).all(|(g, w)| (g - w).abs() < 1e-4), "{} {ta} {tb}", kern.name);
                let da = Tensor { buf: be.alloc(m * k), offset: 0, shape: a.shape };
                let db = Tensor { buf: be.alloc(k * n), offset: 0, shape: b.shape };
                be.matmul_backward(da, db, d, a, b, ta, tb);
                let (mut wa, mut wb) = (vec![0.0f32; m * k], vec![0.0f32; k * n]);
                ops::matmul::matmul_backward(&mut wa, &mut wb, &dv, &av, &bv, m, n, k, ta, tb);
                assert!(be.read(da).iter().zip(&wa).all(|(g, w)| (g - w).abs() < 1e-4), "da {} {ta} {tb}", kern.name);
                assert!(be.read(db).iter().zip(&wb).all(|(g, w)| (g - w).abs() < 1e-4), "db {} {ta} {tb}", kern.name);
            }
        }
    }

    /// A linear layer's backward is matmul_backward's (out = x·Wᵀ), with dx overwritten (or
    /// accumulated with `accumulate`): the same bits as zeroing dx first.
    #[test]
    fn linear_backward_is_matmul_backward_with_dx_overwritten() {
        let mut rng = Rng::new(4);
        let (rows, inp, out) = (9, 7, 5);
        for accumulate in [false, true] {
            let mut be = Cpu::new();
            let (x, _) = upload(&mut be, &[rows, inp], &mut rng);
            let (w, _) = upload(&mut be, &[out, inp], &mut rng);
            let (dy, _) = upload(&mut be, &[rows, out], &mut rng);
            let (dx, dx0) = upload(&mut be, &[rows, inp], &mut rng);
            let (dw, dw0) = upload(&mut be, &[out, inp], &mut rng);
            be.linear_backward(dx, dw, dy, x, w, accumulate);
            let (got_dx, got_dw) = (be.read(dx), be.read(dw));
            be.write(dx, &if accumulate { dx0 } else { vec![0.0; rows * inp] });
            be.write(dw, &dw0);
            be.matmul_backward(dx, dw, dy, x, w, false, true);
            assert_eq!((got_dx, got_dw), (be.read(dx), be.read(dw)), "accumulate {accumulate}");
        }
    }

    #[test]
    fn clipping_and_sgd_follow_pytorch() {
        let mut be = Cpu::new();
        let mut rng = Rng::new(2);
        let (g, gv) = upload(&mut be, &[10], &mut rng);
        let ss = Tensor { buf: be.alloc(1), offset: 0, shape: crate::nn::tensor::Shape::new(&[1]) };
        be.sum_squares(ss, g, false);
        let norm = gv.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((be.read(ss)[0].sqrt() - norm).abs() < 1e-5);
        let skip = Tensor { buf: be.alloc(1), offset: 0, shape: crate::nn::tensor::Shape::new(&[1]) };
        be.clip_by_norm(g, ss, 0.5 * norm, skip);
        let clipped: f32 = be.read(g).iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((clipped - 0.5 * norm).abs() < 1e-4, "{clipped}");
        // SGD with momentum, two steps by hand: buf₁ = g, p₁ = p₀ − lr·g; buf₂ = μ·g + g, p₂ = p₁ − lr·buf₂.
        let p = Tensor { buf: be.alloc(1), offset: 0, shape: crate::nn::tensor::Shape::new(&[1]) };
        let gr = Tensor { buf: be.alloc(1), offset: 0, shape: p.shape };
        let mo = Tensor { buf: be.alloc(1), offset: 0, shape: p.shape };
        be.write(p, &[1.0]);
        be.write(gr, &[0.5]);
        let s = SgdStep { lr: 0.1, momentum: 0.9, weight_decay: 0.0, first: true };
        be.sgd(p, gr, mo, &s, skip);
        be.sgd(p, gr, mo, &SgdStep { first: false, ..s }, skip);
        assert!((be.read(p)[0] - (1.0 - 0.05 - 0.1 * 0.95)).abs() < 1e-6);
        // A raised skip flag leaves everything as it was.
        let before = be.read(p);
        be.write(skip, &[1.0]);
        be.sgd(p, gr, mo, &SgdStep { first: false, ..s }, skip);
        be.clip_by_norm(g, ss, 1e-3, skip);
        assert_eq!(be.read(p), before);
        assert!((be.read(g).iter().map(|x| x * x).sum::<f32>().sqrt() - 0.5 * norm).abs() < 1e-4);
    }

    #[test]
    fn non_finite_values_raise_the_flag_and_it_stays_raised() {
        let mut be = Cpu::new();
        let one = crate::nn::tensor::Shape::new(&[1]);
        let flag = Tensor { buf: be.alloc(1), offset: 0, shape: one };
        let x = Tensor { buf: be.alloc(3), offset: 0, shape: crate::nn::tensor::Shape::new(&[3]) };
        be.write(x, &[1.0, -2.0, 3.0]);
        be.flag_nonfinite(flag, x);
        assert_eq!(be.read(flag), [0.0]);
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            be.write(flag, &[0.0]);
            be.write(x, &[1.0, bad, 3.0]);
            be.flag_nonfinite(flag, x);
            assert_eq!(be.read(flag), [1.0], "{bad}");
            be.write(x, &[1.0, 2.0, 3.0]);
            be.flag_nonfinite(flag, x);
            assert_eq!(be.read(flag), [1.0], "sticky");
        }
        let ss = Tensor { buf: be.alloc(1), offset: 0, shape: one };
        be.sum_squares(ss, x, false);
        be.sum_squares(ss, x, true);
        assert_eq!(be.read(ss), [28.0]);
    }
}
