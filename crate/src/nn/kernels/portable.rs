//! The portable flavour: the packed sgemm driver with a micro-kernel in plain Rust over fixed-size
//! arrays, which LLVM turns into vector code for whatever the build targets (SSE2 on baseline
//! x86-64, NEON on aarch64, simd128 on wasm). It is the native flavour, so native benchmarks measure
//! the same algorithm as the wasm one. The vector kernels keep several independent partial sums, which
//! lets LLVM vectorize them (so their rounding differs from the scalar oracle's, within tolerance).

use super::gemm::{self, MicroKernel};
use super::vmath::{sigmoid, tanh};
use super::{AdamStep, GemmScratch, Kernels, MatRef, PackedB};

pub static KERNELS: Kernels = Kernels { name: "portable", sgemm, packed_b_floats, pack_b, sgemm_packed_b, axpy, dot, scale, adam, lstm_forward, lstm_backward, exp_sum };

/// Register tile: MR rows × 8 columns of C held in locals.
pub struct Tile<const MR: usize>;

impl<const R: usize> MicroKernel for Tile<R> {
    const MR: usize = R;
    const NR: usize = 8;

    #[inline(always)]
    unsafe fn tile(kc: usize, a: *const f32, ars: usize, acs: usize, b: *const f32, c: *mut f32, ldc: usize, accumulate: bool) {
        let mut acc = [[0.0f32; 8]; R];
        for p in 0..kc {
            // SAFETY (caller): the B panel holds kc·8 floats; A holds R × kc values at the strides.
            let bv: [f32; 8] = unsafe { b.add(p * 8).cast::<[f32; 8]>().read_unaligned() };
            let av: [f32; R] = std::array::from_fn(|i| unsafe { *a.add(i * ars + p * acs) });
            for i in 0..R {
                for j in 0..8 {
                    acc[i][j] += av[i] * bv[j];
                }
            }
        }
        for (i, row) in acc.iter().enumerate() {
            // SAFETY (caller): C is an R × 8 tile with row stride ldc.
            let cr = unsafe { std::slice::from_raw_parts_mut(c.add(i * ldc), 8) };
            for j in 0..8 {
                cr[j] = if accumulate { cr[j] + row[j] } else { row[j] };
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn sgemm(m: usize, n: usize, k: usize, a: MatRef, b: MatRef, c: &mut [f32], ldc: usize, accumulate: bool, scratch: &mut GemmScratch) {
    gemm::sgemm::<Tile<4>>(m, n, k, a, b, c, ldc, accumulate, scratch)
}

pub fn packed_b_floats(k: usize, n: usize) -> usize {
    gemm::packed_b_floats(k, n, 8)
}

pub fn pack_b(k: usize, n: usize, b: MatRef, dst: &mut [f32]) {
    gemm::pack_b_whole(k, n, b, dst, 8)
}

#[allow(clippy::too_many_arguments)]
pub fn sgemm_packed_b(m: usize, n: usize, k: usize, a: MatRef, bp: PackedB, c: &mut [f32], ldc: usize, accumulate: bool, scratch: &mut GemmScratch) {
    gemm::sgemm_packed::<Tile<4>>(m, n, k, a, bp, c, ldc, accumulate, scratch)
}

pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len());
    // One plain loop: LLVM vectorizes it whole (the chunked form it left mostly scalar).
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

pub fn dot(x: &[f32], y: &[f32]) -> f32 {
    assert_eq!(x.len(), y.len());
    let mut acc = [0.0f32; 8];
    let (xc, yc) = (x.chunks_exact(8), y.chunks_exact(8));
    let tail: f32 = xc.remainder().iter().zip(yc.remainder()).map(|(a, b)| a * b).sum();
    for (xs, ys) in xc.zip(yc) {
        for j in 0..8 {
            acc[j] += xs[j] * ys[j];
        }
    }
    acc.iter().sum::<f32>() + tail
}

pub fn scale(alpha: f32, x: &mut [f32]) {
    x.iter_mut().for_each(|v| *v *= alpha);
}

pub fn adam(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: &AdamStep) {
    // The scalar loop has no cross-element dependency, so LLVM vectorizes it as is.
    super::scalar::adam(p, g, m, v, s)
}

/// `scalar::exp_sum` with [`super::vmath::exp`] (0 below its range, where e^x is under f32's
/// normal range anyway) and eight partial sums, so both the exponentials and the sum vectorize.
pub fn exp_sum(v: &mut [f32], max: f32) -> f32 {
    #[inline(always)]
    fn e(x: f32) -> f32 {
        if x < -87.0 { 0.0 } else { super::vmath::exp(x) }
    }
    let mut acc = [0.0f32; 8];
    let mut chunks = v.chunks_exact_mut(8);
    for c in &mut chunks {
        for j in 0..8 {
            c[j] = e(c[j] - max);
            acc[j] += c[j];
        }
    }
    let mut tail = 0.0f32;
    for x in chunks.into_remainder() {
        *x = e(*x - max);
        tail += *x;
    }
    acc.iter().sum::<f32>() + tail
}

/// The LSTM cell forward, `ops::recurrent::lstm_forward` with the vectorizable [`super::vmath`]
/// functions: each row's H units are one loop over exact-length slices, which LLVM vectorizes.
pub fn lstm_forward(gates: &mut [f32], c: &mut [f32], h: &mut [f32], pre: &[f32], c_prev: &[f32], hd: usize) {
    if hd == 0 {
        return;
    }
    let rows = c.len() / hd;
    for b in 0..rows {
        let p = &pre[b * 4 * hd..(b + 1) * 4 * hd];
        let (pi, rest) = p.split_at(hd);
        let (pf, rest) = rest.split_at(hd);
        let (pg, po) = rest.split_at(hd);
        let gt = &mut gates[b * 4 * hd..(b + 1) * 4 * hd];
        let (gi, rest) = gt.split_at_mut(hd);
        let (gf, rest) = rest.split_at_mut(hd);
        let (gg, go) = rest.split_at_mut(hd);
        let (cb, hb, cp) = (&mut c[b * hd..(b + 1) * hd], &mut h[b * hd..(b + 1) * hd], &c_prev[b * hd..(b + 1) * hd]);
        for j in 0..hd {
            let (i, f, g, o) = (sigmoid(pi[j]), sigmoid(pf[j]), tanh(pg[j]), sigmoid(po[j]));
            let cj = f * cp[j] + i * g;
            (gi[j], gf[j], gg[j], go[j]) = (i, f, g, o);
            cb[j] = cj;
            hb[j] = o * tanh(cj);
        }
    }
}

/// The LSTM cell backward, `ops::recurrent::lstm_backward` with the vectorizable tanh.
#[allow(clippy::too_many_arguments)]
pub fn lstm_backward(dpre: &mut [f32], dc_prev: &mut [f32], gates: &[f32], c: &[f32], c_prev: &[f32], dh: &[f32], dc: &[f32], hd: usize) {
    if hd == 0 {
        return;
    }
    let rows = c.len() / hd;
    for b in 0..rows {
        let gt = &gates[b * 4 * hd..(b + 1) * 4 * hd];
        let (gi, rest) = gt.split_at(hd);
        let (gf, rest) = rest.split_at(hd);
        let (gg, go) = rest.split_at(hd);
        let dp = &mut dpre[b * 4 * hd..(b + 1) * 4 * hd];
        let (di, rest) = dp.split_at_mut(hd);
        let (df, rest) = rest.split_at_mut(hd);
        let (dg, d_o) = rest.split_at_mut(hd);
        let r = b * hd..(b + 1) * hd;
        let (cb, cp, dhb, dcb, dcp) = (&c[r.clone()], &c_prev[r.clone()], &dh[r.clone()], &dc[r.clone()], &mut dc_prev[r]);
        for j in 0..hd {
            let (i, f, g, o) = (gi[j], gf[j], gg[j], go[j]);
            let tc = tanh(cb[j]);
            let dct = dcb[j] + dhb[j] * o * (1.0 - tc * tc);
            di[j] += dct * g * i * (1.0 - i);
            df[j] += dct * cp[j] * f * (1.0 - f);
            dg[j] += dct * i * (1.0 - g * g);
            d_o[j] += dhb[j] * tc * o * (1.0 - o);
            dcp[j] += dct * f;
        }
    }
}
