//! A steady-state training step allocates nothing on the heap: every CPU backend op a step uses
//! (and the ones the next models will), run after a warm-up under a counting global allocator, must
//! make zero allocations. Native only: the allocator is this test binary's.
//!
//! The counter is per thread (a `const` thread-local, which needs no allocation itself), so tests
//! running in parallel on other threads do not disturb it; the allocator otherwise is `System`.

use crate::nn::backend::{cpu::Cpu, Backend, SgdStep};
use crate::nn::kernels::{self, gemm::NC, AdamStep};
use crate::nn::ops::{activation::Activation, attention::{AttnDropout, AttnSpec, Pattern}, elementwise::Binary};
use crate::nn::tensor::{Ids, Shape, Tensor};
use crate::rng::Rng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    /// Bytes live on this thread (allocated here, minus freed here), and their peak.
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the thread-local may be gone while the thread shuts down.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

fn live(delta: i64) {
    let _ = LIVE.try_with(|l| {
        l.set(l.get() + delta);
        let _ = PEAK.try_with(|p| p.set(p.get().max(l.get())));
    });
}

// SAFETY: every call is forwarded to `System` unchanged; counting touches no allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        live(layout.size() as i64);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        live(layout.size() as i64);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        live(new_size as i64 - layout.size() as i64);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live(-(layout.size() as i64));
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// The most bytes `f` held at once on this thread beyond what was live before it.
pub(crate) fn peak_bytes(f: impl FnOnce()) -> i64 {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    f();
    PEAK.with(Cell::get) - base
}

/// (the peak, what stays allocated after `f`) in bytes beyond what was live before it.
pub(crate) fn peak_and_retained(f: impl FnOnce()) -> (i64, i64) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    f();
    (PEAK.with(Cell::get) - base, LIVE.with(Cell::get) - base)
}

/// Heap allocations `f` makes on this thread.
pub(crate) fn allocations(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn the_counter_sees_allocations() {
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))) >= 1);
    assert_eq!(allocations(|| { std::hint::black_box([1u8; 10]); }), 0);
}

fn tensor(be: &mut Cpu, rng: &mut Rng, dims: &[usize]) -> Tensor {
    let shape = Shape::new(dims);
    let t = Tensor { buf: be.alloc(shape.numel()), offset: 0, shape };
    let data: Vec<f32> = (0..t.len()).map(|_| rng.normal() as f32 * 0.5).collect();
    be.write(t, &data);
    t
}

type Op = Box<dyn Fn(&mut Cpu)>;

/// Every op a training step of the fixed-window model runs, plus the ones the next models will
/// (batched matmul, LayerNorm, softmax, masks, concat/slice/transpose, broadcasts), on every kernel
/// flavour, with the output layer's n = V above the sgemm's NC block.
#[test]
fn a_training_step_allocates_nothing() {
    let mut rng = Rng::new(31);
    for kern in kernels::flavours() {
        let mut be = Cpu::with_kernels(kern);
        let rng = &mut rng;
        // A fixed-window-shaped step: B rows, context n, embedding d, hidden h, vocabulary v > NC.
        let (rows, ctx, d, h, v) = (4, 3, 5, 7, NC + 11);
        let ids = Ids { buf: be.alloc_ids(rows * ctx), offset: 0, len: rows * ctx };
        let targets = Ids { buf: be.alloc_ids(rows), offset: 0, len: rows };
        let host_ids: Vec<u32> = (0..rows * ctx).map(|i| (i * 37 % v) as u32).collect();
        let host_targets: Vec<u32> = (0..rows).map(|i| (i * 101 % v) as u32).collect();
        let (emb, demb) = (tensor(&mut be, rng, &[v, d]), tensor(&mut be, rng, &[v, d]));
        let (w1, dw1) = (tensor(&mut be, rng, &[ctx * d, h]), tensor(&mut be, rng, &[ctx * d, h]));
        let (b1, db1) = (tensor(&mut be, rng, &[h]), tensor(&mut be, rng, &[h]));
        let (u, du) = (tensor(&mut be, rng, &[h, v]), tensor(&mut be, rng, &[h, v]));
        let (e, de) = (tensor(&mut be, rng, &[rows, ctx * d]), tensor(&mut be, rng, &[rows, ctx * d]));
        let (pre, dpre) = (tensor(&mut be, rng, &[rows, h]), tensor(&mut be, rng, &[rows, h]));
        let (act, dact) = (tensor(&mut be, rng, &[rows, h]), tensor(&mut be, rng, &[rows, h]));
        let (logits, probs, dlogits) = (tensor(&mut be, rng, &[rows, v]), tensor(&mut be, rng, &[rows, v]), tensor(&mut be, rng, &[rows, v]));
        let losses = tensor(&mut be, rng, &[rows]);
        let sumsq = tensor(&mut be, rng, &[1]);
        let (m1, v1) = (tensor(&mut be, rng, &[h, v]), tensor(&mut be, rng, &[h, v]));
        be.fill(v1, 0.25);
        let mask = tensor(&mut be, rng, &[v]);
        be.write(mask, &(0..v).map(|j| if j == 0 { 1.0 } else { 0.0 }).collect::<Vec<f32>>());
        let skip = tensor(&mut be, rng, &[1]);
        be.write(skip, &[0.0]);
        let flag = tensor(&mut be, rng, &[1]);
        let host_row: Vec<f32> = (0..h).map(|i| i as f32).collect();
        // Other shapes: transposed operands, batched products, LayerNorm, attention-like scores.
        let (at, bt) = (tensor(&mut be, rng, &[h, rows]), tensor(&mut be, rng, &[v, h]));
        let (qa, kb, sc) = (tensor(&mut be, rng, &[2, 3, 4]), tensor(&mut be, rng, &[2, 4, 3]), tensor(&mut be, rng, &[2, 3, 3]));
        let (dsc, psc) = (tensor(&mut be, rng, &[2, 3, 3]), tensor(&mut be, rng, &[2, 3, 3]));
        let (mean, rstd, lnw, lnb) = (tensor(&mut be, rng, &[rows]), tensor(&mut be, rng, &[rows]), tensor(&mut be, rng, &[h]), tensor(&mut be, rng, &[h]));
        let (dlnw, dlnb) = (tensor(&mut be, rng, &[h]), tensor(&mut be, rng, &[h]));
        let (cat, part2, sl, tr) = (tensor(&mut be, rng, &[rows, 2 * h]), tensor(&mut be, rng, &[rows, h]), tensor(&mut be, rng, &[rows, 2]), tensor(&mut be, rng, &[h, rows]));
        let (bb, dbb, bo) = (tensor(&mut be, rng, &[1, h]), tensor(&mut be, rng, &[1, h]), tensor(&mut be, rng, &[rows, h]));
        let (lsm, mom1) = (tensor(&mut be, rng, &[2, 3, 3]), tensor(&mut be, rng, &[ctx * d, h]));
        // Attention: B = 2 windows of T = 3 tokens, C = 4, 2 heads (d_k = 2), relative tables k = 1.
        let (qkv, dqkv, qkvr) = (tensor(&mut be, rng, &[2, 3, 12]), tensor(&mut be, rng, &[2, 3, 12]), tensor(&mut be, rng, &[2, 3, 12]));
        let (att, datt, aprobs) = (tensor(&mut be, rng, &[2, 3, 4]), tensor(&mut be, rng, &[2, 3, 4]), tensor(&mut be, rng, &[2, 2, 3, 3]));
        let (rk, rv, drk, drv) = (tensor(&mut be, rng, &[2, 2]), tensor(&mut be, rng, &[2, 2]), tensor(&mut be, rng, &[2, 2]), tensor(&mut be, rng, &[2, 2]));
        let (den, lscratch, cache) = (tensor(&mut be, rng, &[12]), tensor(&mut be, rng, &[6]), tensor(&mut be, rng, &[4, 12]));
        let (lstate, att1) = (tensor(&mut be, rng, &[2, 6]), tensor(&mut be, rng, &[1, 4]));
        let spec = AttnSpec { heads: 2, pattern: Pattern::Sparse { window: 2, stride: 2 }, alibi: true, rel: Some(1), dropout: Some(AttnDropout { p: 0.1, seed: 7 }), lse: false };
        let adam = AdamStep::new(1e-3, 0.9, 0.999, 1e-8, 0.01, 3);
        let sgd = SgdStep { lr: 0.1, momentum: 0.9, weight_decay: 1e-4, first: false };

        let ops: Vec<(&str, Op)> = vec![
            ("write_ids", Box::new(move |be| be.write_ids(ids, &host_ids))),
            ("write_ids (targets)", Box::new(move |be| be.write_ids(targets, &host_targets))),
            ("write", Box::new(move |be| be.write(b1, &host_row))),
            ("fill", Box::new(move |be| be.fill(dw1, 0.0))),
            ("tensor handles", Box::new(move |_| { std::hint::black_box(logits.first_rows(2).reshape(&[2 * v])); })),
            ("embedding", Box::new(move |be| be.embedding(e.reshape(&[rows * ctx, d]), emb, ids))),
            ("matmul", Box::new(move |be| be.matmul(pre, e, w1, false, false, false))),
            ("add_rows", Box::new(move |be| be.add_rows(pre, b1))),
            ("activation", Box::new(move |be| be.activation(Activation::Gelu, act, pre))),
            ("matmul, n > NC", Box::new(move |be| be.matmul(logits, act, u, false, false, false))),
            ("matmul, n > NC, both transposed, accumulate", Box::new(move |be| be.matmul(logits, at, bt, true, true, true))),
            ("mask_columns", Box::new(move |be| be.mask_columns(logits, mask, f32::NEG_INFINITY))),
            ("cross_entropy", Box::new(move |be| be.cross_entropy(losses, probs, logits, targets))),
            ("cross_entropy_backward", Box::new(move |be| be.cross_entropy_backward(dlogits, probs, targets, 0.25))),
            ("matmul_backward, n > NC", Box::new(move |be| be.matmul_backward(dact, du, dlogits, act, u, false, false))),
            ("activation_backward", Box::new(move |be| be.activation_backward(Activation::Gelu, dpre, pre, act, dact, false))),
            ("sum_rows", Box::new(move |be| be.sum_rows(db1, dpre, true))),
            ("matmul_backward", Box::new(move |be| be.matmul_backward(de, dw1, dpre, e, w1, false, false))),
            ("embedding_backward", Box::new(move |be| be.embedding_backward(demb, de.reshape(&[rows * ctx, d]), ids))),
            ("sum_squares", Box::new(move |be| be.sum_squares(sumsq, du, false))),
            ("flag_nonfinite", Box::new(move |be| be.flag_nonfinite(flag, du))),
            ("clip_by_norm", Box::new(move |be| be.clip_by_norm(du, sumsq, 0.1, skip))),
            ("adam", Box::new(move |be| be.adam(u, du, m1, v1, &adam, skip))),
            ("sgd", Box::new(move |be| be.sgd(w1, dw1, mom1, &sgd, skip))),
            ("scale", Box::new(move |be| be.scale(dact, 0.5))),
            ("axpy", Box::new(move |be| be.axpy(dact, 0.5, dpre))),
            ("binary (broadcast)", Box::new(move |be| be.binary(Binary::Mul, bo, act, bb))),
            ("binary_backward (broadcast)", Box::new(move |be| be.binary_backward(Binary::Add, dpre, dbb, bo, act, bb))),
            ("batched matmul", Box::new(move |be| be.matmul(sc, qa, kb, false, false, false))),
            ("causal_mask", Box::new(move |be| be.causal_mask(sc, f32::NEG_INFINITY))),
            ("softmax", Box::new(move |be| be.softmax(psc, sc))),
            ("softmax_backward", Box::new(move |be| be.softmax_backward(dsc, psc, sc))),
            ("log_softmax", Box::new(move |be| be.log_softmax(lsm, dsc))),
            ("log_softmax_backward", Box::new(move |be| be.log_softmax_backward(dsc.reshape(&[6, 3]), lsm, psc))),
            ("layernorm", Box::new(move |be| be.layernorm(bo, mean, rstd, pre, lnw, lnb))),
            ("layernorm_backward", Box::new(move |be| be.layernorm_backward(dpre, dlnw, dlnb, bo, pre, lnw, mean, rstd))),
            ("concat", Box::new(move |be| be.concat(cat, &[act, part2]))),
            ("slice", Box::new(move |be| be.slice(sl, cat, 3))),
            ("transpose", Box::new(move |be| be.transpose(tr, act))),
            ("rope", Box::new(move |be| be.rope(qkvr, qkv, 2, 1))),
            ("rope_backward", Box::new(move |be| be.rope_backward(dqkv, qkvr, 2, 1))),
            ("attention", Box::new(move |be| be.attention(att, aprobs, qkv, Some([rk, rv]), &spec))),
            ("attention_backward", Box::new(move |be| be.attention_backward(dqkv, Some([drk, drv]), datt, att, aprobs, qkv, Some([rk, rv]), &spec))),
            ("linear_attention", Box::new(move |be| be.linear_attention(att, den, lscratch, qkv, 2))),
            ("linear_attention_backward", Box::new(move |be| be.linear_attention_backward(dqkv, lscratch, datt, att, den, qkv, 2))),
            ("linear_attention_state", Box::new(move |be| be.linear_attention_state(lstate, qkvr.reshape(&[6, 12]), 2))),
            ("linear_attention_step", Box::new(move |be| be.linear_attention_step(att1, lstate, cache.first_rows(1), 2))),
            ("copy_rows", Box::new(move |be| be.copy_rows(cache, 2, qkvr.reshape(&[6, 12]), 1, 2))),
        ];
        // Warm-up: anything allocated lazily on first use is allowed once.
        ops.iter().for_each(|(_, op)| op(&mut be));
        let allocating: Vec<(&str, u64)> = ops.iter().map(|(name, op)| (*name, allocations(|| op(&mut be)))).filter(|&(_, n)| n > 0).collect();
        assert!(allocating.is_empty(), "{}: ops that allocate (name, allocations): {allocating:?}", kern.name);
    }
}
