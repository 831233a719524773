//! The scalar flavour: the plainest correct loops, the oracle every other flavour is tested against.

use super::{AdamStep, GemmScratch, Kernels, MatRef, PackedB};

pub static KERNELS: Kernels = Kernels { name: "scalar", sgemm, packed_b_floats, pack_b, sgemm_packed_b, axpy, dot, scale, adam, lstm_forward, lstm_backward, exp_sum };

/// The LSTM cell's oracle is the op itself (libm `exp` and `tanh`).
use crate::nn::ops::recurrent::{lstm_backward, lstm_forward};

/// C = A·B (or C += A·B): the textbook triple loop, one f32 accumulator per element, k in order.
/// It packs nothing, so it ignores the scratch (taken for the common signature).
#[allow(clippy::too_many_arguments)]
pub fn sgemm(m: usize, n: usize, k: usize, a: MatRef, b: MatRef, c: &mut [f32], ldc: usize, accumulate: bool, _scratch: &mut GemmScratch) {
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f32;
            for p in 0..k {
                s += a.at(i, p) * b.at(p, j);
            }
            let cij = &mut c[i * ldc + j];
            *cij = if accumulate { *cij + s } else { s };
        }
    }
}

/// The scalar "packing" is a row-major copy of B.
pub fn packed_b_floats(k: usize, n: usize) -> usize {
    k * n
}

pub fn pack_b(k: usize, n: usize, b: MatRef, dst: &mut [f32]) {
    for p in 0..k {
        for j in 0..n {
            dst[p * n + j] = b.at(p, j);
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn sgemm_packed_b(m: usize, n: usize, k: usize, a: MatRef, bp: PackedB, c: &mut [f32], ldc: usize, accumulate: bool, scratch: &mut GemmScratch) {
    assert!(k <= bp.k && n <= bp.n, "the product reads {k} × {n} of a packed {} × {}", bp.k, bp.n);
    sgemm(m, n, k, a, MatRef::rows(bp.data, bp.n), c, ldc, accumulate, scratch)
}

/// In order, with libm's `exp`, as `ops::softmax` computes it.
pub fn exp_sum(v: &mut [f32], max: f32) -> f32 {
    let mut sum = 0.0f32;
    for x in v {
        *x = (*x - max).exp();
        sum += *x;
    }
    sum
}

pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len());
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

pub fn dot(x: &[f32], y: &[f32]) -> f32 {
    assert_eq!(x.len(), y.len());
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

pub fn scale(alpha: f32, x: &mut [f32]) {
    x.iter_mut().for_each(|v| *v *= alpha);
}

/// PyTorch's Adam / AdamW (`torch.optim.Adam(W)`, single-tensor path), operation for operation:
/// p ← p·decay; m ← lerp(m, g, 1−β₁); v ← β₂v + (1−β₂)g²; p ← p − step_size·(m / (√v/√(1−β₂ᵗ) + ε)).
pub fn adam(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: &AdamStep) {
    assert!(g.len() == p.len() && m.len() == p.len() && v.len() == p.len());
    for i in 0..p.len() {
        let gi = g[i];
        m[i] += s.one_minus_beta1 * (gi - m[i]);
        v[i] = v[i] * s.beta2 + s.one_minus_beta2 * gi * gi;
        let denom = v[i].sqrt() / s.sqrt_bias2 + s.eps;
        p[i] = p[i] * s.decay - s.step_size * (m[i] / denom);
    }
}
