//! Every WGSL kernel against the CPU backend (the oracle), on random shapes that are not multiples
//! of any tile, every transpose form, accumulation, broadcasting, every attention variant. The
//! tests need a GPU adapter (natively: Vulkan; Mesa's lavapipe where there is no GPU); they say
//! which one they ran on, and where there is none they print a notice and pass.

use super::*;
use super::test_context as context;
use crate::nn::backend::cpu::Cpu;
use crate::nn::ops::attention::{AttnDropout, AttnSpec, Pattern};
use crate::nn::tensor::Shape;
use crate::rng::Rng;

/// The CPU and the GPU side by side: every tensor made on both with the same values.
struct Pair {
    cpu: Cpu,
    gpu: Gpu,
    rng: Rng,
}

impl Pair {
    fn new(seed: u64) -> Option<Pair> {
        Some(Pair { cpu: Cpu::new(), gpu: Gpu::new(context()?), rng: Rng::new(seed) })
    }
    /// A tensor of normal values on both backends (the same BufferId on each: they allocate in step).
    fn rand(&mut self, dims: &[usize]) -> Tensor {
        let data: Vec<f32> = (0..Shape::new(dims).numel()).map(|_| self.rng.normal() as f32).collect();
        self.with(dims, &data)
    }
    fn with(&mut self, dims: &[usize], data: &[f32]) -> Tensor {
        let n = Shape::new(dims).numel();
        let (a, b) = (self.cpu.alloc(n), self.gpu.alloc(n));
        assert_eq!(a, b);
        let t = Tensor { buf: a, offset: 0, shape: Shape::new(dims) };
        self.cpu.write(t, data);
        self.gpu.write(t, data);
        t
    }
    fn ids(&mut self, ids: &[u32]) -> Ids {
        let (a, b) = (self.cpu.alloc_ids(ids.len()), self.gpu.alloc_ids(ids.len()));
        assert_eq!(a, b);
        let t = Ids { buf: a, offset: 0, len: ids.len() };
        self.cpu.write_ids(t, ids);
        self.gpu.write_ids(t, ids);
        t
    }
    fn both(&mut self, f: impl Fn(&mut dyn Backend)) {
        f(&mut self.cpu);
        f(&mut self.gpu);
    }
    /// |gpu − cpu| ≤ tol·(1 + |cpu|) for every element of every tensor.
    fn check(&mut self, what: &str, ts: &[Tensor], tol: f32) {
        for (n, &t) in ts.iter().enumerate() {
            let (c, g) = (self.cpu.read(t), self.gpu.read(t));
            for (i, (a, b)) in c.iter().zip(&g).enumerate() {
                let ok = (a - b).abs() <= tol * (1.0 + a.abs()) || (a.is_infinite() && a == b);
                assert!(ok, "{what}: tensor {n} {:?}, element {i}: cpu {a}, gpu {b}", t.shape);
            }
        }
    }
}

#[test]
fn every_pipeline_compiles() {
    let Some(ctx) = context() else { return };
    Gpu::new(ctx).compile_all();
}

#[test]
fn matmul_matches_the_cpu_in_every_form() {
    let Some(mut p) = Pair::new(1) else { return };
    // The scalar kernel, the vec4 one (contiguous dimensions multiples of 4: (3, 200, 64) in the forms
    // that keep m contiguous-free, (68, 36, 1000), (128, 128, 2048)) and split-K (few tiles, long K:
    // the last three, K not a multiple of a slice).
    for (m, n, k) in [(1, 1, 1), (7, 5, 9), (65, 63, 17), (130, 70, 100), (3, 200, 64), (68, 36, 1000), (5, 7, 777), (128, 128, 2048)] {
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let a = p.rand(&if ta { [k, m] } else { [m, k] });
            let b = p.rand(&if tb { [n, k] } else { [k, n] });
            let out = p.rand(&[m, n]);
            for acc in [false, true] {
                p.both(|be| be.matmul(out, a, b, ta, tb, acc));
                p.check(&format!("matmul {m}×{n}×{k} ta={ta} tb={tb} acc={acc}"), &[out], 1e-4 * (k as f32).sqrt());
            }
            let (da, db) = (p.rand(a.shape.dims()), p.rand(b.shape.dims()));
            p.both(|be| be.matmul_backward(da, db, out, a, b, ta, tb));
            p.check("matmul_backward", &[da, db], 1e-3);
        }
    }
    // Batched (attention heads).
    let (a, b, out) = (p.rand(&[3, 5, 7]), p.rand(&[3, 7, 66]), p.rand(&[3, 5, 66]));
    p.both(|be| be.matmul(out, a, b, false, false, true));
    p.check("batched matmul", &[out], 1e-4);
    let (x, w, dy, dx, dw) = (p.rand(&[9, 7]), p.rand(&[5, 7]), p.rand(&[9, 5]), p.rand(&[9, 7]), p.rand(&[5, 7]));
    for acc in [false, true] {
        p.both(|be| be.linear_backward(dx, dw, dy, x, w, acc));
        p.check("linear_backward", &[dx, dw], 1e-4);
    }
}

#[test]
fn pointwise_ops_match_the_cpu() {
    let Some(mut p) = Pair::new(2) else { return };
    for (da, db) in [(vec![4, 3], vec![3]), (vec![2, 3, 5], vec![2, 1, 5]), (vec![5], vec![5]), (vec![2, 1, 4], vec![3, 1])] {
        let od = crate::nn::ops::elementwise::broadcast_shape(&da, &db).expect("broadcasts");
        let (a, b, out, dout) = (p.rand(&da), p.rand(&db), p.rand(&od), p.rand(&od));
        let (ga, gb) = (p.rand(&da), p.rand(&db));
        for op in [Binary::Add, Binary::Mul] {
            p.both(|be| be.binary(op, out, a, b));
            p.both(|be| be.binary_backward(op, ga, gb, dout, a, b));
            p.check(&format!("binary {op:?} {da:?} {db:?}"), &[out, ga, gb], 1e-5);
        }
    }
    let (x, bias, y) = (p.rand(&[37, 13]), p.rand(&[13]), p.rand(&[37, 13]));
    p.both(|be| be.add_rows(x, bias));
    p.both(|be| be.scale(x, 0.7));
    p.both(|be| be.axpy(y, -1.3, x));
    p.check("add_rows, scale, axpy", &[x, y], 1e-6);
    let (dx, dy) = (p.rand(&[37, 13]), p.rand(&[37, 13]));
    for act in [Activation::Tanh, Activation::Relu, Activation::Sigmoid, Activation::Gelu] {
        p.both(|be| be.activation(act, y, x));
        p.check(act.name(), &[y], 1e-5);
        for acc in [false, true] {
            p.both(|be| be.activation_backward(act, dx, x, y, dy, acc));
            p.check(&format!("{} backward", act.name()), &[dx], 1e-5);
        }
    }
    let big = p.rand(&[300_000]);
    p.both(|be| be.scale(big, 2.0));
    p.check("a grid over 65,535 workgroups' worth", &[big], 0.0);
}

#[test]
fn row_ops_match_the_cpu() {
    let Some(mut p) = Pair::new(3) else { return };
    for (rows, cols) in [(1, 1), (5, 7), (33, 130), (3, 1000)] {
        let (x, y, dy, dx) = (p.rand(&[rows, cols]), p.rand(&[rows, cols]), p.rand(&[rows, cols]), p.rand(&[rows, cols]));
        p.both(|be| be.softmax(y, x));
        p.both(|be| be.softmax_backward(dx, y, dy));
        p.check("softmax", &[y, dx], 1e-5);
        p.both(|be| be.log_softmax(y, x));
        p.both(|be| be.log_softmax_backward(dx, y, dy));
        p.check("log_softmax", &[y, dx], 1e-5);
        let targets: Vec<u32> = (0..rows).map(|r| ((r * 7 + 3) % cols) as u32).collect();
        let t = p.ids(&targets);
        let (losses, probs) = (p.rand(&[rows]), p.rand(&[rows, cols]));
        p.both(|be| be.cross_entropy(losses, probs, x, t));
        p.both(|be| be.cross_entropy_backward(dx, probs, t, 0.25));
        p.check("cross_entropy", &[losses, probs, dx], 1e-5);
        let (w, b, mean, rstd) = (p.rand(&[cols]), p.rand(&[cols]), p.rand(&[rows]), p.rand(&[rows]));
        let (dw, db) = (p.rand(&[cols]), p.rand(&[cols]));
        p.both(|be| be.layernorm(y, mean, rstd, x, w, b));
        p.check("layernorm", &[y, mean, rstd], 1e-4);
        p.both(|be| be.layernorm_backward(dx, dw, db, dy, x, w, mean, rstd));
        p.check("layernorm_backward", &[dx, dw, db], 1e-4);
    }
    // Masked logits: −∞ columns get probability 0 and no gradient.
    let (x, y, dy, dx) = (p.rand(&[4, 6]), p.rand(&[4, 6]), p.rand(&[4, 6]), p.rand(&[4, 6]));
    let mask = p.with(&[6], &[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    p.both(|be| be.mask_columns(x, mask, f32::NEG_INFINITY));
    p.both(|be| be.log_softmax(y, x));
    p.both(|be| be.log_softmax_backward(dx, y, dy));
    p.check("masked log_softmax", &[x, y, dx], 1e-5);
    let s = p.rand(&[2, 5, 5]);
    p.both(|be| be.causal_mask(s, -1e9));
    let m = p.rand(&[1000]);
    p.both(|be| be.dropout_mask(m, 0.3, 17));
    p.check("causal and dropout masks", &[s, m], 0.0);
}

#[test]
fn reductions_and_optimizers_match_the_cpu() {
    let Some(mut p) = Pair::new(4) else { return };
    let (x, out, ss, flag, skip) = (p.rand(&[45, 17]), p.rand(&[17]), p.rand(&[1]), p.rand(&[1]), p.rand(&[1]));
    for acc in [false, true] {
        p.both(|be| be.sum_rows(out, x, acc));
        p.both(|be| be.sum_squares(ss, x, acc));
    }
    p.check("sum_rows, sum_squares", &[out, ss], 1e-5);
    p.both(|be| be.fill(flag, 0.0));
    p.both(|be| be.flag_nonfinite(flag, x));
    p.check("finite", &[flag], 0.0);
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let y = p.with(&[3], &[1.0, bad, 2.0]);
        p.both(|be| be.fill(flag, 0.0));
        p.both(|be| be.flag_nonfinite(flag, y));
        assert_eq!(p.gpu.read(flag), [1.0], "{bad} raises the flag");
    }
    for skipped in [0.0, 1.0] {
        p.both(|be| be.fill(skip, skipped));
        let (w, g, m, v) = (p.rand(&[1000]), p.rand(&[1000]), p.rand(&[1000]), p.rand(&[1000]));
        p.both(|be| be.fill(v, 0.5));
        p.both(|be| be.sum_squares(ss, g, false));
        p.both(|be| be.clip_by_norm(g, ss, 1.0, skip));
        p.both(|be| be.adam(w, g, m, v, &AdamStep::new(1e-2, 0.9, 0.99, 1e-8, 0.1, 3), skip));
        p.check("clip and adam", &[g, w, m, v], 1e-5);
        for first in [true, false] {
            p.both(|be| be.sgd(w, g, m, &SgdStep { lr: 0.1, momentum: 0.9, weight_decay: 0.01, first }, skip));
        }
        p.check("sgd", &[w, m], 1e-5);
    }
}

#[test]
fn recurrent_cells_match_the_cpu() {
    let Some(mut p) = Pair::new(5) else { return };
    let (b, h) = (3, 37);
    let (pre, cp, gates, c, hh) = (p.rand(&[b, 4 * h]), p.rand(&[b, h]), p.rand(&[b, 4 * h]), p.rand(&[b, h]), p.rand(&[b, h]));
    p.both(|be| be.lstm_cell(gates, c, hh, pre, cp));
    p.check("lstm_cell", &[gates, c, hh], 1e-5);
    let (dpre, dcp, dh, dc) = (p.rand(&[b, 4 * h]), p.rand(&[b, h]), p.rand(&[b, h]), p.rand(&[b, h]));
    p.both(|be| be.lstm_cell_backward(dpre, dcp, gates, c, cp, dh, dc));
    p.check("lstm_cell_backward", &[dpre, dcp], 1e-5);
    let (ih, hh3, hp, g3, hn) = (p.rand(&[b, 3 * h]), p.rand(&[b, 3 * h]), p.rand(&[b, h]), p.rand(&[b, 3 * h]), p.rand(&[b, h]));
    p.both(|be| be.gru_cell(g3, hn, ih, hh3, hp));
    p.check("gru_cell", &[g3, hn], 1e-5);
    let (dih, dhh, dhp) = (p.rand(&[b, 3 * h]), p.rand(&[b, 3 * h]), p.rand(&[b, h]));
    p.both(|be| be.gru_cell_backward(dih, dhh, dhp, g3, hh3, hp, dh));
    p.check("gru_cell_backward", &[dih, dhh, dhp], 1e-5);
}

/// One layer's pass through time: the GPU's fused kernel (a workgroup per row, a barrier per
/// step) against the CPU's loop over the per-step ops, forward and backward, both reading orders,
/// with and without b_hh, widths past the workgroup's 128 threads, fewer rows than allocated, and
/// rows past a workgroup's four.
#[test]
fn fused_recurrence_matches_the_cpu_loop() {
    use crate::nn::backend::recurrence::{Cell as CellOp, Recurrence, RecurrenceGrads, Seq};
    let Some(mut p) = Pair::new(12) else { return };
    let seq = |p: &mut Pair, t: usize, rows: usize, width: usize, zero: bool| {
        let stride = crate::nn::params::aligned(rows * width);
        let buf = if zero { p.with(&[t * stride], &vec![0.0; t * stride]) } else { p.rand(&[t * stride]) };
        Seq { bufs: [buf, buf], split: false, stride, rows, width }
    };
    let cells = [CellOp::Rnn(Activation::Tanh), CellOp::Rnn(Activation::Sigmoid), CellOp::Lstm, CellOp::Gru];
    for (cell, (b, rows, t, h), reverse, bias) in [
        (0, (3, 3, 5, 7), false, true),
        (1, (2, 4, 4, 9), true, true),
        (2, (3, 3, 5, 7), false, true),
        (2, (2, 4, 6, 130), true, false),
        (3, (3, 3, 5, 7), false, true),
        (3, (2, 4, 3, 130), true, true),
        (0, (1, 1, 1, 200), false, false),
        // More rows than a workgroup's 4, the last workgroup part-full.
        (2, (6, 7, 3, 33), false, true),
        (3, (5, 5, 4, 20), true, true),
        (1, (9, 9, 2, 5), false, true),
    ] {
        let cell = cells[cell];
        let g = cell.gates();
        // Small weights, so that 130-wide sums keep the gates off saturation.
        let w_data: Vec<f32> = (0..g * h * h).map(|_| 0.3 * p.rng.normal() as f32 / (h as f32).sqrt()).collect();
        let w_hh = p.with(&[g * h, h], &w_data);
        let b_hh = p.rand(&[g * h]);
        let (h0, c0) = (p.rand(&[rows, h]), p.rand(&[rows, h]));
        let lstm = cell == CellOp::Lstm;
        let gru = cell == CellOp::Gru;
        let r = Recurrence {
            cell,
            b,
            t,
            reverse,
            w_hh,
            b_hh: (bias || gru).then_some(b_hh),
            pre: seq(&mut p, t, rows, g * h, false),
            hh: gru.then(|| seq(&mut p, t, rows, g * h, true)),
            gates: (lstm || gru).then(|| seq(&mut p, t, rows, g * h, true)),
            c: lstm.then(|| seq(&mut p, t, rows, h, true)),
            h: seq(&mut p, t, rows, h, true),
            h0,
            c0: lstm.then_some(c0),
            gather: None,
        };
        let what = format!("{cell:?} b={b} of {rows} T={t} H={h} reverse={reverse} bias={bias}");
        p.both(|be| be.recurrence(&r));
        let outs: Vec<Tensor> = [Some(r.pre), r.hh, r.gates, r.c, Some(r.h)].into_iter().flatten().map(|q| q.slots(t)).collect();
        p.check(&format!("{what}: forward"), &outs, 2e-5);
        let grads = RecurrenceGrads {
            dpre: seq(&mut p, t, rows, g * h, true),
            dhh: gru.then(|| seq(&mut p, t, rows, g * h, true)),
            dc: lstm.then(|| seq(&mut p, t, rows, h, true)),
            dh: seq(&mut p, t, rows, h, false),
            dh_sink: p.rand(&[rows, h]),
            dc_sink: lstm.then(|| p.rand(&[rows, h])),
            scatter: None,
        };
        p.both(|be| be.recurrence_backward(&r, &grads));
        let outs: Vec<Tensor> = [Some(grads.dpre), grads.dhh, grads.dc, Some(grads.dh)].into_iter().flatten().map(|q| q.slots(t)).collect();
        p.check(&format!("{what}: backward"), &outs, 1e-4);
    }
}

#[test]
fn layout_ops_match_the_cpu() {
    let Some(mut p) = Pair::new(6) else { return };
    let (a, b, out) = (p.rand(&[5, 3]), p.rand(&[5, 4]), p.rand(&[5, 7]));
    p.both(|be| be.concat(out, &[a, b]));
    let s = p.rand(&[5, 2]);
    p.both(|be| be.slice(s, out, 4));
    let (x, t) = (p.rand(&[2, 3, 7]), p.rand(&[2, 7, 3]));
    p.both(|be| be.transpose(t, x));
    let dst = p.rand(&[6, 7]);
    p.both(|be| be.copy_rows(dst, 2, out, 1, 3));
    p.check("concat, slice, transpose, copy_rows", &[out, s, t, dst], 0.0);
    // Per-step slots [T × stride] (3 rows of 5, stride 17) to a batch-major [3 × T·5] matrix and back.
    let (slots, rows, back) = (p.rand(&[4 * 17]), p.rand(&[3, 4 * 5 + 2]), p.rand(&[4 * 17]));
    let (seq, mat) = (Strides { at: 1, block: 17, row: 5 }, Strides { at: 2, block: 5, row: 22 });
    p.both(|be| be.copy_blocks(rows, mat, slots, seq, [4, 3, 5]));
    p.both(|be| be.copy_blocks(back, seq, rows, mat, [4, 3, 5]));
    p.check("copy_blocks", &[rows, back], 0.0);
    let table = p.rand(&[11, 6]);
    let ids = p.ids(&[3, 0, 10, 3, 3, 7, 0]);
    let (e, de, dt) = (p.rand(&[7, 6]), p.rand(&[7, 6]), p.rand(&[11, 6]));
    p.both(|be| be.embedding(e, table, ids));
    p.both(|be| be.embedding_backward(dt, de, ids));
    p.check("embedding", &[e, dt], 1e-6);
    for pos0 in [0, 5, 300] {
        let (x, out, dx) = (p.rand(&[2, 5, 3 * 8]), p.rand(&[2, 5, 3 * 8]), p.rand(&[2, 5, 3 * 8]));
        p.both(|be| be.rope(out, x, 2, pos0));
        p.both(|be| be.rope_backward(dx, x, 2, pos0));
        p.check(&format!("rope at {pos0}"), &[out, dx], 1e-5);
    }
}

#[test]
fn attention_matches_the_cpu_in_every_variant() {
    let Some(mut p) = Pair::new(7) else { return };
    let sparse = Pattern::Sparse { window: 3, stride: 4 };
    let drop = Some(AttnDropout { p: 0.25, seed: 9 });
    let (b, heads, c) = (2, 3, 12);
    for (pattern, alibi, rel, dropout) in [
        (Pattern::Full, false, None, None),
        (sparse, false, None, None),
        (Pattern::Full, true, None, None),
        (Pattern::Full, false, Some(3), None),
        (sparse, true, Some(2), drop),
        (Pattern::Full, false, None, drop),
        (Pattern::Full, true, Some(4), drop),
    ] {
        // Both forms: the probabilities kept, and the memory-efficient one (each row's log-sum-exp).
        for lse in [false, true] {
            let spec = AttnSpec { heads, pattern, alibi, rel, dropout, lse };
            attention_pair(&mut p, &spec, b, c, rel);
        }
    }
}

/// The tiled kernels past one tile: 70 rows (a second, part-full workgroup of 64), 133 keys (tiles
/// of 512 / 85 / 30 keys for d_k = 4 / 24 / 64, the last part-full); and heads wider than the
/// tiles take (d_k = 66: the untiled kernels).
#[test]
fn attention_matches_the_cpu_past_a_tile_and_for_wide_heads() {
    let Some(mut p) = Pair::new(8) else { return };
    let sparse = Pattern::Sparse { window: 5, stride: 16 };
    let drop = Some(AttnDropout { p: 0.25, seed: 3 });
    let shapes = [(70, 70), (6, 133)];
    for (heads, c, pattern, alibi, rel, dropout) in [
        (3, 12, Pattern::Full, true, Some(3), drop),
        (3, 72, Pattern::Full, false, None, None),
        (2, 72, sparse, true, None, drop),
        (1, 64, Pattern::Full, false, Some(2), None),
        (2, 132, Pattern::Full, true, None, drop),
    ] {
        for lse in [false, true] {
            let spec = AttnSpec { heads, pattern, alibi, rel, dropout, lse };
            attention_shapes(&mut p, &spec, 1, c, rel, &shapes);
        }
    }
}

/// One spec of attention, forward and backward, on both backends: a window (Tq = Tk), a stream's
/// last rows (Tq < Tk) and one row.
fn attention_pair(p: &mut Pair, spec: &AttnSpec, b: usize, c: usize, rel: Option<usize>) {
    attention_shapes(p, spec, b, c, rel, &[(11, 11), (3, 11), (1, 6)]);
}

fn attention_shapes(p: &mut Pair, spec: &AttnSpec, b: usize, c: usize, rel: Option<usize>, shapes: &[(usize, usize)]) {
    let (heads, dk, lse) = (spec.heads, c / spec.heads, spec.lse);
    for &(tq, tk) in shapes {
        let qkv = p.rand(&[b, tk, 3 * c]);
        let (out, probs) = (p.rand(&[b, tq, c]), p.rand(&[b, heads, tq, if lse { 1 } else { tk }]));
        // Entries outside the pattern are left unwritten by both: start them equal.
        p.both(|be| be.fill(probs, 0.0));
        let nrel = rel.map_or(1, |k| (k + 1) * dk);
        let (wk, wv) = (p.rand(&[nrel]), p.rand(&[nrel]));
        let rels = rel.map(|_| [wk, wv]);
        p.both(|be| be.attention(out, probs, qkv, rels, spec));
        let what = format!("{spec:?} tq {tq} tk {tk}");
        p.check(&format!("attention {what}"), &[out, probs], 1e-4);
        let (dout, dqkv, dwk, dwv) = (p.rand(&[b, tq, c]), p.rand(&[b, tk, 3 * c]), p.rand(&[nrel]), p.rand(&[nrel]));
        p.both(|be| be.attention_backward(dqkv, rel.map(|_| [dwk, dwv]), dout, out, probs, qkv, rels, spec));
        p.check(&format!("attention_backward {what}"), &[dqkv, dwk, dwv], 1e-4);
    }
}

#[test]
fn linear_attention_matches_the_cpu() {
    let Some(mut p) = Pair::new(8) else { return };
    let (b, heads, c, t) = (2, 3, 15, 9);
    let dk = c / heads;
    for tq in [t, 2] {
        let qkv = p.rand(&[b, t, 3 * c]);
        let (out, den, scratch) = (p.rand(&[b, tq, c]), p.rand(&[b, heads, tq]), p.rand(&[dk * dk + dk]));
        p.both(|be| be.linear_attention(out, den, scratch, qkv, heads));
        p.check(&format!("linear_attention tq {tq}"), &[out, den], 1e-4);
        if tq == t {
            let (dout, dqkv) = (p.rand(&[b, t, c]), p.rand(&[b, t, 3 * c]));
            p.both(|be| be.linear_attention_backward(dqkv, scratch, dout, out, den, qkv, heads));
            p.check("linear_attention_backward", &[dqkv], 1e-4);
        }
    }
    let qkv = p.rand(&[1, t, 3 * c]);
    let state = p.rand(&[heads * (dk * dk + dk)]);
    p.both(|be| be.linear_attention_state(state, qkv, heads));
    p.check("linear_attention_state", &[state], 1e-5);
    let (row, out) = (p.rand(&[1, 1, 3 * c]), p.rand(&[1, 1, c]));
    for _ in 0..3 {
        p.both(|be| be.linear_attention_step(out, state, row, heads));
    }
    p.check("linear_attention_step", &[out, state], 1e-5);
}

/// Host data written between recorded ops lands between them: three rounds of (write x, y += x)
/// recorded without a read give the sum of the three values, not three times the last.
#[test]
fn writes_inside_a_recording_keep_their_order() {
    let Some(ctx) = context() else { return };
    let mut be = Gpu::new(ctx);
    let shape = Shape::new(&[300]);
    let x = Tensor { buf: be.alloc(300), offset: 0, shape };
    let y = Tensor { buf: be.alloc(300), offset: 0, shape };
    let ids = Ids { buf: be.alloc_ids(300), offset: 0, len: 300 };
    let table = Tensor { buf: be.alloc(4), offset: 0, shape: Shape::new(&[4, 1]) };
    let gathered = Tensor { buf: be.alloc(300), offset: 0, shape: Shape::new(&[300, 1]) };
    be.write(table, &[0.0, 1.0, 10.0, 100.0]);
    let submits = be.submit_count();
    for round in 1..=3u32 {
        be.write(x, &vec![round as f32; 300]);
        be.axpy(y, 1.0, x);
        be.write_ids(ids, &vec![round; 300]);
        be.embedding(gathered, table, ids);
        be.axpy(y, 1.0, gathered);
    }
    assert_eq!(submits.get(), 0, "nothing is submitted before a read");
    assert!(be.read(y).iter().all(|&v| v == 6.0 + 111.0), "{:?}", &be.read(y)[..3]);
    assert_eq!(submits.get(), 1, "one submit for the whole recording");
}

