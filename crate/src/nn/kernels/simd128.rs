//! The wasm `simd128` flavour: explicit `core::arch::wasm32` code with the same signatures as
//! [`super::scalar`]. Built for every wasm target by `.cargo/config.toml` (`+simd128`).
//!
//! The sgemm micro-kernel keeps a 4 × 8 tile of C in eight `f32x4` accumulators; each step of k loads
//! one row of the B panel (two vectors), broadcasts four A values (`v128.load32_splat`) and does eight
//! multiply-adds. That needs 11 vector registers, below the 15 that V8 allocates on x86-64, so nothing
//! spills. Without relaxed SIMD there is no fused multiply-add: each update is an `f32x4.mul` and an
//! `f32x4.add`, rounded like the scalar code.
//!
//! Built with `+relaxed-simd` as well (the second module, `www/pkg-relaxed`, see build.sh), the
//! multiply-adds become `f32x4.relaxed_madd`, which is a fused multiply-add (one rounding) on CPUs
//! with FMA. A module that uses it fails validation where relaxed SIMD is unsupported, so the page
//! loads it only after a feature test (docs/architecture.md).

use super::gemm::{self, MicroKernel};
use super::{AdamStep, GemmScratch, Kernels, MatRef, PackedB};
use core::arch::wasm32::*;
/// The LSTM cell: the portable loops, which LLVM vectorizes to simd128 as they are.
use super::portable::{lstm_backward, lstm_forward};
use super::vmath;
/// Packing B whole: the portable flavour's (the same NR = 8 panels).
use super::portable::{pack_b, packed_b_floats};

#[cfg(not(target_feature = "relaxed-simd"))]
pub static KERNELS: Kernels = Kernels { name: "simd128", sgemm, packed_b_floats, pack_b, sgemm_packed_b, axpy, dot, scale, adam, lstm_forward, lstm_backward, exp_sum };
#[cfg(target_feature = "relaxed-simd")]
pub static KERNELS: Kernels = Kernels { name: "simd128+relaxed", sgemm, packed_b_floats, pack_b, sgemm_packed_b, axpy, dot, scale, adam, lstm_forward, lstm_backward, exp_sum };

/// a·b + c: fused (`relaxed_madd`) in the relaxed build, `mul` then `add` otherwise.
#[inline(always)]
fn madd(a: v128, b: v128, c: v128) -> v128 {
    #[cfg(target_feature = "relaxed-simd")]
    return f32x4_relaxed_madd(a, b, c);
    #[cfg(not(target_feature = "relaxed-simd"))]
    return f32x4_add(f32x4_mul(a, b), c);
}

pub struct Tile<const MR: usize>;

impl<const R: usize> MicroKernel for Tile<R> {
    const MR: usize = R;
    const NR: usize = 8;

    #[inline(always)]
    unsafe fn tile(kc: usize, a: *const f32, ars: usize, acs: usize, b: *const f32, c: *mut f32, ldc: usize, accumulate: bool) {
        // SAFETY (caller): the B panel holds kc·8 floats, A R × kc values at the strides; C is an
        // R × 8 tile with stride ldc. wasm loads and stores need no alignment.
        unsafe {
            let mut acc = [[f32x4_splat(0.0); 2]; R];
            let (mut a, mut b) = (a, b);
            for _ in 0..kc {
                let b0 = v128_load(b.cast());
                let b1 = v128_load(b.add(4).cast());
                for (i, row) in acc.iter_mut().enumerate() {
                    let ai = v128_load32_splat(a.add(i * ars).cast());
                    row[0] = madd(ai, b0, row[0]);
                    row[1] = madd(ai, b1, row[1]);
                }
                a = a.add(acs);
                b = b.add(8);
            }
            for (i, row) in acc.iter().enumerate() {
                let cp = c.add(i * ldc);
                let (mut c0, mut c1) = (row[0], row[1]);
                if accumulate {
                    c0 = f32x4_add(v128_load(cp.cast()), c0);
                    c1 = f32x4_add(v128_load(cp.add(4).cast()), c1);
                }
                v128_store(cp.cast(), c0);
                v128_store(cp.add(4).cast(), c1);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn sgemm(m: usize, n: usize, k: usize, a: MatRef, b: MatRef, c: &mut [f32], ldc: usize, accumulate: bool, scratch: &mut GemmScratch) {
    gemm::sgemm::<Tile<4>>(m, n, k, a, b, c, ldc, accumulate, scratch)
}

#[allow(clippy::too_many_arguments)]
pub fn sgemm_packed_b(m: usize, n: usize, k: usize, a: MatRef, bp: PackedB, c: &mut [f32], ldc: usize, accumulate: bool, scratch: &mut GemmScratch) {
    gemm::sgemm_packed::<Tile<4>>(m, n, k, a, bp, c, ldc, accumulate, scratch)
}

pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len());
    let n4 = x.len() / 4 * 4;
    let va = f32x4_splat(alpha);
    for i in (0..n4).step_by(4) {
        // SAFETY: i + 4 ≤ len for both slices.
        unsafe {
            let xp = x.as_ptr().add(i).cast::<v128>();
            let yp = y.as_mut_ptr().add(i).cast::<v128>();
            v128_store(yp, madd(va, v128_load(xp), v128_load(yp)));
        }
    }
    for i in n4..x.len() {
        y[i] += alpha * x[i];
    }
}

pub fn dot(x: &[f32], y: &[f32]) -> f32 {
    assert_eq!(x.len(), y.len());
    let n8 = x.len() / 8 * 8;
    let (mut s0, mut s1) = (f32x4_splat(0.0), f32x4_splat(0.0));
    for i in (0..n8).step_by(8) {
        // SAFETY: i + 8 ≤ len for both slices.
        unsafe {
            let (xp, yp) = (x.as_ptr().add(i), y.as_ptr().add(i));
            s0 = madd(v128_load(xp.cast()), v128_load(yp.cast()), s0);
            s1 = madd(v128_load(xp.add(4).cast()), v128_load(yp.add(4).cast()), s1);
        }
    }
    let s = f32x4_add(s0, s1);
    let mut total = f32x4_extract_lane::<0>(s) + f32x4_extract_lane::<1>(s) + f32x4_extract_lane::<2>(s) + f32x4_extract_lane::<3>(s);
    for i in n8..x.len() {
        total += x[i] * y[i];
    }
    total
}

pub fn scale(alpha: f32, x: &mut [f32]) {
    let n4 = x.len() / 4 * 4;
    let va = f32x4_splat(alpha);
    for i in (0..n4).step_by(4) {
        // SAFETY: i + 4 ≤ len.
        unsafe {
            let p = x.as_mut_ptr().add(i).cast::<v128>();
            v128_store(p, f32x4_mul(v128_load(p), va));
        }
    }
    for v in &mut x[n4..] {
        *v *= alpha;
    }
}

pub fn adam(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: &AdamStep) {
    assert!(g.len() == p.len() && m.len() == p.len() && v.len() == p.len());
    let n4 = p.len() / 4 * 4;
    let (c1, b2, c2) = (f32x4_splat(s.one_minus_beta1), f32x4_splat(s.beta2), f32x4_splat(s.one_minus_beta2));
    let (step, sqrt_b2, eps, decay) = (f32x4_splat(s.step_size), f32x4_splat(s.sqrt_bias2), f32x4_splat(s.eps), f32x4_splat(s.decay));
    for i in (0..n4).step_by(4) {
        // SAFETY: i + 4 ≤ len for all four slices (checked above). Same operations as the scalar loop.
        unsafe {
            let (pp, mp, vp) = (p.as_mut_ptr().add(i).cast::<v128>(), m.as_mut_ptr().add(i).cast::<v128>(), v.as_mut_ptr().add(i).cast::<v128>());
            let gi = v128_load(g.as_ptr().add(i).cast());
            let m0 = v128_load(mp);
            let mi = f32x4_add(m0, f32x4_mul(c1, f32x4_sub(gi, m0)));
            let vi = f32x4_add(f32x4_mul(v128_load(vp), b2), f32x4_mul(f32x4_mul(c2, gi), gi));
            let denom = f32x4_add(f32x4_div(f32x4_sqrt(vi), sqrt_b2), eps);
            let pi = f32x4_sub(f32x4_mul(v128_load(pp), decay), f32x4_mul(step, f32x4_div(mi, denom)));
            v128_store(mp, mi);
            v128_store(vp, vi);
            v128_store(pp, pi);
        }
    }
    if n4 < p.len() {
        super::scalar::adam(&mut p[n4..], &g[n4..], &mut m[n4..], &mut v[n4..], s);
    }
}

/// [`vmath::exp`] on four lanes, operation for operation (so the same bits; no fused multiply-add,
/// in the relaxed build too).
#[inline(always)]
fn exp4(x: v128) -> v128 {
    let x = f32x4_pmin(f32x4_pmax(x, f32x4_splat(vmath::EXP_MIN)), f32x4_splat(vmath::EXP_MAX));
    let magic = f32x4_splat(vmath::MAGIC);
    let v = f32x4_add(f32x4_mul(x, f32x4_splat(vmath::LOG2E)), magic);
    let n = f32x4_sub(v, magic);
    let r = f32x4_sub(f32x4_sub(x, f32x4_mul(n, f32x4_splat(vmath::LN2_HI))), f32x4_mul(n, f32x4_splat(vmath::LN2_LO)));
    let mut p = f32x4_splat(vmath::EXP_POLY[0]);
    for &c in &vmath::EXP_POLY[1..] {
        p = f32x4_add(f32x4_mul(p, r), f32x4_splat(c));
    }
    let p = f32x4_add(f32x4_add(f32x4_mul(p, f32x4_mul(r, r)), r), f32x4_splat(1.0));
    let k = i32x4_sub(v, magic);
    f32x4_mul(p, i32x4_shl(i32x4_add(k, i32x4_splat(127)), 23))
}

/// `portable::exp_sum` in explicit simd128 (LLVM leaves that loop scalar on wasm): the same
/// exponentials and the same eight partial sums, added in the same order, so the same bits.
pub fn exp_sum(v: &mut [f32], max: f32) -> f32 {
    let n8 = v.len() / 8 * 8;
    let (vm, low) = (f32x4_splat(max), f32x4_splat(-87.0));
    let (mut s0, mut s1) = (f32x4_splat(0.0), f32x4_splat(0.0));
    for i in (0..n8).step_by(8) {
        // SAFETY: i + 8 ≤ len.
        unsafe {
            let p = v.as_mut_ptr().add(i);
            let x0 = f32x4_sub(v128_load(p.cast()), vm);
            let x1 = f32x4_sub(v128_load(p.add(4).cast()), vm);
            // e^x, and 0 below −87 (−∞ included); NaN stays NaN.
            let e0 = v128_andnot(exp4(x0), f32x4_lt(x0, low));
            let e1 = v128_andnot(exp4(x1), f32x4_lt(x1, low));
            v128_store(p.cast(), e0);
            v128_store(p.add(4).cast(), e1);
            s0 = f32x4_add(s0, e0);
            s1 = f32x4_add(s1, e1);
        }
    }
    let lanes = [
        f32x4_extract_lane::<0>(s0),
        f32x4_extract_lane::<1>(s0),
        f32x4_extract_lane::<2>(s0),
        f32x4_extract_lane::<3>(s0),
        f32x4_extract_lane::<0>(s1),
        f32x4_extract_lane::<1>(s1),
        f32x4_extract_lane::<2>(s1),
        f32x4_extract_lane::<3>(s1),
    ];
    lanes.iter().sum::<f32>() + super::portable::exp_sum(&mut v[n8..], max)
}
