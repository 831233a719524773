//! Compute kernels, in flavours with identical signatures (candle's `cpu/simd128.rs` style):
//!
//! * [`scalar`]: plain loops, the **oracle** every faster flavour is tested against;
//! * [`portable`]: the packed, register-blocked sgemm driver ([`gemm`]) with a micro-kernel written as
//!   plain Rust over fixed-size arrays, which LLVM vectorizes for the build target. It is what native code
//!   runs (the CLI, native benchmarks); on baseline x86-64 that is SSE2, the same 128-bit width as wasm;
//! * [`simd128`] (wasm32 only): the same driver with a `core::arch::wasm32` micro-kernel, and simd128
//!   versions of the vector kernels. It is what the page runs.
//!
//! A flavour is a [`Kernels`] table of function pointers, so tests are written once and run over
//! [`flavours()`] on every target, and the CPU backend calls [`best()`].
//!
//! The matmul splits by row blocks: [`sgemm_rows`] computes rows `[r0, r1)` of C only, touching no
//! other row, so a later issue can hand disjoint row ranges to Web Worker threads (each with its own
//! [`GemmScratch`]).
//!
//! No kernel allocates: the sgemm packs into a [`GemmScratch`] its caller owns (the CPU backend
//! allocates one when it is created), so a training step allocates nothing.

pub mod gemm;
pub mod portable;
pub mod scalar;
#[cfg(target_arch = "wasm32")]
pub mod simd128;
pub mod vmath;

/// A read-only matrix view with arbitrary strides: element (i, j) is `data[i * rs + j * cs]`.
/// A transposed operand is the same data with the strides swapped, so every matmul form
/// (NN, NT, TN, TT) is one kernel: packing reads through the strides.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major `rows × cols` matrix.
    pub fn rows(data: &'a [f32], cols: usize) -> Self {
        MatRef { data, rs: cols, cs: 1 }
    }
    /// The transpose of a row-major `rows × cols` matrix (a `cols × rows` view).
    pub fn t(data: &'a [f32], cols: usize) -> Self {
        MatRef { data, rs: 1, cs: cols }
    }
    /// The same matrix starting at row `r`.
    pub fn from_row(self, r: usize) -> Self {
        MatRef { data: &self.data[r * self.rs..], ..self }
    }
    #[inline(always)]
    pub fn at(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.rs + j * self.cs]
    }
}

/// One Adam / AdamW step with its scalars precomputed in f64 and rounded once, as PyTorch does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    /// lr / (1 − β₁ᵗ)
    pub step_size: f32,
    /// √(1 − β₂ᵗ)
    pub sqrt_bias2: f32,
    /// 1 − β₁ (m moves toward g by this fraction: `lerp`).
    pub one_minus_beta1: f32,
    pub beta2: f32,
    pub one_minus_beta2: f32,
    pub eps: f32,
    /// Decoupled weight decay (AdamW): p ← p·decay with decay = 1 − lr·wd; 1 for Adam.
    pub decay: f32,
}

impl AdamStep {
    /// The scalars of step `t` (1-based).
    pub fn new(lr: f64, beta1: f64, beta2: f64, eps: f64, decoupled_wd: f64, t: u64) -> Self {
        let (b1t, b2t) = (1.0 - beta1.powi(t as i32), 1.0 - beta2.powi(t as i32));
        AdamStep {
            step_size: (lr / b1t) as f32,
            sqrt_bias2: b2t.sqrt() as f32,
            one_minus_beta1: (1.0 - beta1) as f32,
            beta2: beta2 as f32,
            one_minus_beta2: (1.0 - beta2) as f32,
            eps: eps as f32,
            decay: (1.0 - lr * decoupled_wd) as f32,
        }
    }
}

/// Packing scratch for the sgemm ([`gemm::SCRATCH_FLOATS`] floats): allocated once by its owner and
/// reused by every call, so a matmul allocates nothing. Its contents between calls mean nothing.
pub struct GemmScratch {
    buf: Vec<f32>,
}

impl GemmScratch {
    pub fn new() -> Self {
        GemmScratch { buf: vec![0.0; gemm::SCRATCH_FLOATS] }
    }
    /// Bytes it holds (counted in a backend's allocation and in the memory estimate).
    pub fn bytes(&self) -> u64 {
        self.buf.len() as u64 * 4
    }
    /// Fills it with NaN, so a test sees any read of a value the current call did not pack.
    #[cfg(test)]
    pub fn poison(&mut self) {
        self.buf.fill(f32::NAN);
    }
}

impl Default for GemmScratch {
    fn default() -> Self {
        Self::new()
    }
}

/// C[m×n] = A[m×k]·B[k×n] (`accumulate`: C += A·B); C row-major with row stride `ldc`; packing in
/// `scratch`.
pub type SgemmFn =
    fn(m: usize, n: usize, k: usize, a: MatRef, b: MatRef, c: &mut [f32], ldc: usize, accumulate: bool, scratch: &mut GemmScratch);

/// A matrix B packed whole by a flavour's `pack_b` as a `k × n` matrix. A product may read its
/// top-left corner (fewer rows, fewer columns): attention packs a sequence's keys once and each
/// query block reads the keys it can see.
#[derive(Clone, Copy)]
pub struct PackedB<'a> {
    pub data: &'a [f32],
    pub k: usize,
    pub n: usize,
}

/// C[m×n] (+)= A[m×k]·B[k×n], B the top-left k × n of a B packed by the same flavour's `pack_b`.
pub type SgemmPackedFn =
    fn(m: usize, n: usize, k: usize, a: MatRef, bp: PackedB, c: &mut [f32], ldc: usize, accumulate: bool, scratch: &mut GemmScratch);

/// One flavour of every kernel. All flavours take the same arguments and agree within the
/// tolerances stated in the tests below.
pub struct Kernels {
    pub name: &'static str,
    /// C[m×n] = A[m×k]·B[k×n] (`accumulate`: C += A·B). C is row-major with row stride `ldc`; the
    /// packed blocks go into `scratch` (nothing is allocated).
    pub sgemm: SgemmFn,
    /// Floats that [`Kernels::pack_b`] writes for a k × n B.
    pub packed_b_floats: fn(k: usize, n: usize) -> usize,
    /// Packs all of B (k × n) for [`Kernels::sgemm_packed_b`]; the layout is the flavour's own.
    pub pack_b: fn(k: usize, n: usize, b: MatRef, dst: &mut [f32]),
    /// [`Kernels::sgemm`] with B packed beforehand by `pack_b`: the same result bit for bit, without
    /// packing B (a weight used by many products is packed once).
    pub sgemm_packed_b: SgemmPackedFn,
    /// y += α·x
    pub axpy: fn(alpha: f32, x: &[f32], y: &mut [f32]),
    /// Σ xᵢ·yᵢ
    pub dot: fn(x: &[f32], y: &[f32]) -> f32,
    /// x ← α·x
    pub scale: fn(alpha: f32, x: &mut [f32]),
    /// One Adam(W) update of parameters `p` from gradients `g`, moments `m` and `v` (PyTorch's formula).
    pub adam: AdamFn,
    /// The fused LSTM cell over [B × 4H] pre-activations (`ops::recurrent::lstm_forward`'s contract).
    pub lstm_forward: LstmForwardFn,
    /// Its backward, accumulating (`ops::recurrent::lstm_backward`'s contract).
    pub lstm_backward: LstmBackwardFn,
    /// vᵢ ← e^(vᵢ − max), returning Σ vᵢ: the inner loop of every softmax (`max` is the row's
    /// maximum, so the arguments are ≤ 0; −∞ gives 0).
    pub exp_sum: fn(v: &mut [f32], max: f32) -> f32,
}

/// (p, g, m, v, step): one Adam(W) update in place.
pub type AdamFn = fn(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: &AdamStep);
/// (gates, c, h, pre, c_prev, H): gates, c and h from pre and c_prev.
pub type LstmForwardFn = fn(gates: &mut [f32], c: &mut [f32], h: &mut [f32], pre: &[f32], c_prev: &[f32], hd: usize);
/// (dpre, dc_prev, gates, c, c_prev, dh, dc, H): accumulates into dpre and dc_prev.
pub type LstmBackwardFn = fn(dpre: &mut [f32], dc_prev: &mut [f32], gates: &[f32], c: &[f32], c_prev: &[f32], dh: &[f32], dc: &[f32], hd: usize);

/// Every flavour that runs on this target, the oracle first.
pub fn flavours() -> Vec<&'static Kernels> {
    #[allow(unused_mut)]
    let mut v = vec![&scalar::KERNELS, &portable::KERNELS];
    #[cfg(target_arch = "wasm32")]
    v.push(&simd128::KERNELS);
    v
}

/// The fastest flavour on this target.
pub fn best() -> &'static Kernels {
    #[cfg(target_arch = "wasm32")]
    return &simd128::KERNELS;
    #[cfg(not(target_arch = "wasm32"))]
    return &portable::KERNELS;
}

/// Rows `[r0, r1)` of C = A·B: the unit of work a thread will get. `c` holds all of C (row stride
/// `ldc`); only its rows `r0..r1` are read or written. Each thread brings its own `scratch`.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_rows(
    kern: &Kernels,
    rows: std::ops::Range<usize>,
    n: usize,
    k: usize,
    a: MatRef,
    b: MatRef,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
    scratch: &mut GemmScratch,
) {
    let (r0, r1) = (rows.start, rows.end);
    if r0 >= r1 {
        return;
    }
    let a = if k == 0 { a } else { a.from_row(r0) };
    (kern.sgemm)(r1 - r0, n, k, a, b, &mut c[r0 * ldc..], ldc, accumulate, scratch);
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;
    use crate::rng::Rng;

    fn rand_vec(rng: &mut Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.normal() as f32).collect()
    }

    /// Tolerance for a computed C[i][j] against the oracle: both are f32 sums of k products, each within
    /// γₖ·(|A|·|B|)ᵢⱼ of the exact value (γₖ ≈ k·ε, the standard dot-product bound), so they differ by at
    /// most 2γₖ·(|A|·|B|)ᵢⱼ. We allow 2·(k+2)·ε·(|A|·|B|)ᵢⱼ (the +2 covers the accumulate-into-C add).
    fn gemm_tol(k: usize, abs_ab: f32) -> f32 {
        2.0 * (k as f32 + 2.0) * f32::EPSILON * abs_ab + f32::MIN_POSITIVE
    }

    /// Every flavour against the scalar oracle, on random shapes including odd sizes, sizes that are not
    /// multiples of any block (MR, NR, KC, MC), shapes past every block — n > NC (the output layer's n
    /// is the vocabulary size, often above NC), k > KC (one and two KC steps beyond), not multiples of
    /// NR or NC —, all four transpose forms, accumulation and a C row stride wider than n. One scratch,
    /// poisoned with NaN, serves every call (as in the backend), so no call may read stale packing.
    #[test]
    fn sgemm_flavours_match_the_scalar_oracle() {
        use gemm::{KC, NC};
        let mut rng = Rng::new(11);
        let mut shapes = vec![(1, 1, 1), (1, 7, 3), (5, 1, 9), (3, 5, 0), (17, 33, 65), (64, 128, 512), (130, 67, 300)];
        for _ in 0..12 {
            shapes.push((1 + rng.below(90), 1 + rng.below(90), 1 + rng.below(300)));
        }
        shapes.extend([(5, NC + 3, KC + 7), (9, NC + 3, 2 * KC + 5), (2, 2 * NC + 7, KC + 44)]);
        let mut scratch = GemmScratch::new();
        scratch.poison();
        for &(m, n, k) in &shapes {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                let a = rand_vec(&mut rng, m * k);
                let b = rand_vec(&mut rng, k * n);
                let am = if ta { MatRef::t(&a, m) } else { MatRef::rows(&a, k) };
                let bm = if tb { MatRef::t(&b, k) } else { MatRef::rows(&b, n) };
                let ldc = n + 3; // a C row stride wider than n
                let c0 = rand_vec(&mut rng, m * ldc);
                let abs_ab: Vec<f32> = (0..m * n)
                    .map(|ij| (0..k).map(|p| (am.at(ij / n, p) * bm.at(p, ij % n)).abs()).sum::<f32>())
                    .collect();
                for accumulate in [false, true] {
                    let mut want = c0.clone();
                    (scalar::KERNELS.sgemm)(m, n, k, am, bm, &mut want, ldc, accumulate, &mut scratch);
                    for kern in flavours() {
                        let mut got = c0.clone();
                        (kern.sgemm)(m, n, k, am, bm, &mut got, ldc, accumulate, &mut scratch);
                        for i in 0..m {
                            for j in 0..ldc {
                                let (g, w) = (got[i * ldc + j], want[i * ldc + j]);
                                if j >= n {
                                    assert_eq!(g, c0[i * ldc + j], "{} wrote outside C", kern.name);
                                    continue;
                                }
                                let tol = gemm_tol(k, abs_ab[i * n + j] + if accumulate { c0[i * ldc + j].abs() } else { 0.0 });
                                assert!((g - w).abs() <= tol, "{} {m}x{n}x{k} ta={ta} tb={tb} acc={accumulate} C[{i}][{j}]: {g} vs {w}", kern.name);
                            }
                        }
                    }
                }
            }
        }
    }

    /// B packed whole once (`pack_b`) gives, in every flavour, exactly that flavour's `sgemm` (the same
    /// blocks in the same order), on shapes past KC and NC, every transpose of A and B and accumulation;
    /// packed-buffer floats beyond `packed_b_floats` are never read (NaN there); so does a product
    /// over a corner of the packed matrix.
    #[test]
    fn sgemm_with_b_packed_once_is_bit_identical() {
        use gemm::{KC, NC};
        let mut rng = Rng::new(12);
        let mut scratch = GemmScratch::new();
        for (m, n, k) in [(1, 1, 1), (4, 8, 16), (32, 512, 128), (32, 128, 512), (7, 13, 300), (3, NC + 9, KC + 3), (5, 2 * NC + 1, 2 * KC + 1)] {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                let a = rand_vec(&mut rng, m * k);
                let b = rand_vec(&mut rng, k * n);
                let am = if ta { MatRef::t(&a, m) } else { MatRef::rows(&a, k) };
                let bm = if tb { MatRef::t(&b, k) } else { MatRef::rows(&b, n) };
                let c0 = rand_vec(&mut rng, m * n);
                for kern in flavours() {
                    let mut bp = vec![f32::NAN; (kern.packed_b_floats)(k, n) + 5];
                    (kern.pack_b)(k, n, bm, &mut bp);
                    let packed = PackedB { data: &bp, k, n };
                    // The whole matrix, and a top-left corner of it (fewer rows and columns, across
                    // the KC and NC block edges where the shape has them).
                    for (kk, nn) in [(k, n), (k - k / 3, n - n / 3)] {
                        for accumulate in [false, true] {
                            let (mut want, mut got) = (c0.clone(), c0.clone());
                            scratch.poison();
                            (kern.sgemm)(m, nn, kk, am, bm, &mut want, nn, accumulate, &mut scratch);
                            scratch.poison();
                            (kern.sgemm_packed_b)(m, nn, kk, am, packed, &mut got, nn, accumulate, &mut scratch);
                            assert!(got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits()), "{} {m}x{nn}x{kk} of {n}x{k} ta={ta} tb={tb} acc={accumulate}", kern.name);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn sgemm_rows_touches_only_its_rows_and_blocks_compose() {
        let mut rng = Rng::new(5);
        let (m, n, k) = (37, 29, 41);
        let a = rand_vec(&mut rng, m * k);
        let b = rand_vec(&mut rng, k * n);
        for kern in flavours() {
            let mut scratch = GemmScratch::new();
            let mut whole = vec![0.0; m * n];
            (kern.sgemm)(m, n, k, MatRef::rows(&a, k), MatRef::rows(&b, n), &mut whole, n, false, &mut scratch);
            let mut parts = vec![f32::NAN; m * n];
            for rows in [0..5, 5..6, 6..30, 30..37] {
                let before = parts.clone();
                sgemm_rows(kern, rows.clone(), n, k, MatRef::rows(&a, k), MatRef::rows(&b, n), &mut parts, n, false, &mut scratch);
                for i in (0..m).filter(|i| !rows.contains(i)) {
                    assert!(parts[i * n..(i + 1) * n].iter().zip(&before[i * n..(i + 1) * n]).all(|(x, y)| x.to_bits() == y.to_bits()));
                }
            }
            // The same flavour computes each row identically however the rows are split.
            assert_eq!(whole, parts, "{}", kern.name);
        }
    }

    #[test]
    fn vector_kernels_match_the_oracle() {
        let mut rng = Rng::new(3);
        for len in [0, 1, 3, 4, 7, 16, 33, 1000] {
            let x = rand_vec(&mut rng, len);
            let y = rand_vec(&mut rng, len);
            let abs_dot: f32 = x.iter().zip(&y).map(|(a, b)| (a * b).abs()).sum();
            let want_dot = (scalar::KERNELS.dot)(&x, &y);
            let mut want_axpy = y.clone();
            (scalar::KERNELS.axpy)(0.37, &x, &mut want_axpy);
            let mut want_scale = x.clone();
            (scalar::KERNELS.scale)(-1.5, &mut want_scale);
            for kern in flavours() {
                let d = (kern.dot)(&x, &y);
                assert!((d - want_dot).abs() <= gemm_tol(len, abs_dot), "{} dot {len}", kern.name);
                let mut ax = y.clone();
                (kern.axpy)(0.37, &x, &mut ax);
                // One multiply and one add per element: at most one rounding apart (a fused
                // multiply-add may skip the product's rounding).
                for (g, w) in ax.iter().zip(&want_axpy) {
                    assert!((g - w).abs() <= 2.0 * f32::EPSILON * w.abs().max(1.0), "{} axpy", kern.name);
                }
                let mut sc = x.clone();
                (kern.scale)(-1.5, &mut sc);
                assert_eq!(sc, want_scale, "{} scale", kern.name);
            }
        }
    }

    /// The LSTM cell of every flavour against the op (libm exp and tanh), forward and accumulating
    /// backward, on pre-activations wide enough to saturate the gates (N(0, 3²), and ±40). Each
    /// activation is within a few ulp (vmath's tests), so every output is within 32ε·(1 + |oracle|).
    /// The softmax exponentials: every flavour within 4 ulp of the oracle (vmath's exp is within 2 of
    /// the true value, libm's within 1) and its sum within the reordering of n positive terms; −∞
    /// (masked) gives exactly 0, NaN stays NaN. Lengths around the 8-wide chunks.
    #[test]
    fn exp_sum_flavours_match_the_oracle() {
        let mut rng = Rng::new(13);
        for n in [0, 1, 7, 8, 9, 16, 67, 68, 129] {
            let mut x: Vec<f32> = (0..n).map(|_| 6.0 * rng.normal() as f32).collect();
            if n > 3 {
                x[2] = f32::NEG_INFINITY;
                x[n - 1] = -100.0;
            }
            let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let mut want = x.clone();
            let want_sum = (scalar::KERNELS.exp_sum)(&mut want, max);
            for kern in flavours() {
                let mut got = x.clone();
                let sum = (kern.exp_sum)(&mut got, max);
                for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                    assert!((g - w).abs() <= 4.0 * f32::EPSILON * w + f32::MIN_POSITIVE, "{} exp_sum n={n} [{i}]: {g} vs {w}", kern.name);
                }
                if n > 3 {
                    assert_eq!(got[2], 0.0, "{}: e^−∞", kern.name);
                }
                assert!((sum - want_sum).abs() <= (n as f32 + 4.0) * f32::EPSILON * want_sum, "{} sum n={n}: {sum} vs {want_sum}", kern.name);
                // The simd128 flavour is the portable one's operations in explicit vectors: the same bits.
                if kern.name.starts_with("simd128") {
                    let mut port = x.clone();
                    let psum = (portable::KERNELS.exp_sum)(&mut port, max);
                    assert_eq!((got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), sum.to_bits()), (port.iter().map(|v| v.to_bits()).collect(), psum.to_bits()), "{} n={n}", kern.name);
                }
            }
        }
        for kern in flavours() {
            let mut v = [f32::NAN, 0.0];
            assert!((kern.exp_sum)(&mut v, 0.0).is_nan() && v[0].is_nan() && v[1] == 1.0, "{}: NaN", kern.name);
        }
    }

    #[test]
    fn lstm_cell_flavours_match_the_oracle() {
        let mut rng = Rng::new(17);
        for (rows, hd) in [(1, 1), (3, 5), (32, 128), (2, 67)] {
            let mut pre: Vec<f32> = (0..rows * 4 * hd).map(|_| 3.0 * rng.normal() as f32).collect();
            pre[0] = 40.0;
            *pre.last_mut().unwrap() = -40.0;
            let cp = rand_vec(&mut rng, rows * hd);
            let (dh, dc) = (rand_vec(&mut rng, rows * hd), rand_vec(&mut rng, rows * hd));
            let (dpre0, dcp0) = (rand_vec(&mut rng, rows * 4 * hd), rand_vec(&mut rng, rows * hd));
            let run = |k: &Kernels| {
                let (mut g, mut c, mut h) = (vec![0.0; rows * 4 * hd], vec![0.0; rows * hd], vec![0.0; rows * hd]);
                (k.lstm_forward)(&mut g, &mut c, &mut h, &pre, &cp, hd);
                let (mut dpre, mut dcp) = (dpre0.clone(), dcp0.clone());
                (k.lstm_backward)(&mut dpre, &mut dcp, &g, &c, &cp, &dh, &dc, hd);
                [g, c, h, dpre, dcp]
            };
            let want = run(&scalar::KERNELS);
            for kern in flavours() {
                for (name, (got, want)) in ["gates", "c", "h", "dpre", "dc_prev"].iter().zip(run(kern).iter().zip(&want)) {
                    for (i, (g, w)) in got.iter().zip(want).enumerate() {
                        assert!((g - w).abs() <= 32.0 * f32::EPSILON * (1.0 + w.abs()), "{} lstm {rows}x{hd} {name}[{i}]: {g} vs {w}", kern.name);
                    }
                }
            }
        }
    }

    #[test]
    fn adam_flavours_match_the_oracle() {
        let mut rng = Rng::new(8);
        for len in [1, 5, 8, 67] {
            let p0 = rand_vec(&mut rng, len);
            let g = rand_vec(&mut rng, len);
            let m0 = rand_vec(&mut rng, len);
            let v0: Vec<f32> = rand_vec(&mut rng, len).iter().map(|x| x * x).collect();
            let s = AdamStep::new(1e-2, 0.9, 0.999, 1e-8, 0.1, 2);
            let (mut pw, mut mw, mut vw) = (p0.clone(), m0.clone(), v0.clone());
            (scalar::KERNELS.adam)(&mut pw, &g, &mut mw, &mut vw, &s);
            for kern in flavours() {
                let (mut p, mut m, mut v) = (p0.clone(), m0.clone(), v0.clone());
                (kern.adam)(&mut p, &g, &mut m, &mut v, &s);
                // A handful of roundings per element, each ≤ ε relative.
                let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 8.0 * f32::EPSILON * y.abs().max(1e-3));
                assert!(close(&p, &pw) && close(&m, &mw) && close(&v, &vw), "{} adam {len}", kern.name);
            }
        }
    }
}
