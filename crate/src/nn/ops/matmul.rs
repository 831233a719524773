//! Matrix products: out = op(A)·op(B), op ∈ {identity, transpose}, and the batched form.
//! This generic version is the reference (and the f64 one for gradient checks); the model's f32
//! matmuls go through `kernels` (packed, register-blocked, SIMD), tested against the scalar oracle.

use super::Float;

/// op(A)[i][p]: A is [m×k], or [k×m] when `ta`.
#[inline]
fn at<F: Float>(x: &[F], rows: usize, cols: usize, t: bool, i: usize, j: usize) -> F {
    if t { x[j * rows + i] } else { x[i * cols + j] }
}

/// out[m×n] (+)= op(a)[m×k] · op(b)[k×n]. a: [m×k] or [k×m] (`ta`); b: [k×n] or [n×k] (`tb`).
#[allow(clippy::too_many_arguments)]
pub fn matmul_forward<F: Float>(out: &mut [F], a: &[F], b: &[F], m: usize, n: usize, k: usize, ta: bool, tb: bool, accumulate: bool) {
    for i in 0..m {
        for j in 0..n {
            let mut s = F::zero();
            for p in 0..k {
                s = s + at(a, m, k, ta, i, p) * at(b, k, n, tb, p, j);
            }
            out[i * n + j] = if accumulate { out[i * n + j] + s } else { s };
        }
    }
}

/// da += ∂L/∂a and db += ∂L/∂b for out = op(a)·op(b), from dout [m×n]:
/// d op(a) = dout · op(b)ᵀ, d op(b) = op(a)ᵀ · dout, transposed back when the operand was.
#[allow(clippy::too_many_arguments)]
pub fn matmul_backward<F: Float>(da: &mut [F], db: &mut [F], dout: &[F], a: &[F], b: &[F], m: usize, n: usize, k: usize, ta: bool, tb: bool) {
    for i in 0..m {
        for p in 0..k {
            let mut s = F::zero();
            for j in 0..n {
                s = s + dout[i * n + j] * at(b, k, n, tb, p, j);
            }
            let idx = if ta { p * m + i } else { i * k + p };
            da[idx] = da[idx] + s;
        }
    }
    for p in 0..k {
        for j in 0..n {
            let mut s = F::zero();
            for i in 0..m {
                s = s + at(a, m, k, ta, i, p) * dout[i * n + j];
            }
            let idx = if tb { j * k + p } else { p * n + j };
            db[idx] = db[idx] + s;
        }
    }
}

/// Batched: out[b] = op(a[b])·op(b[b]) for `batch` independent products stored back to back
/// (attention's Q·Kᵀ and P·V per head).
#[allow(clippy::too_many_arguments)]
pub fn bmm_forward<F: Float>(out: &mut [F], a: &[F], b: &[F], batch: usize, m: usize, n: usize, k: usize, ta: bool, tb: bool) {
    for i in 0..batch {
        matmul_forward(&mut out[i * m * n..(i + 1) * m * n], &a[i * m * k..(i + 1) * m * k], &b[i * k * n..(i + 1) * k * n], m, n, k, ta, tb, false);
    }
}

#[allow(clippy::too_many_arguments)]
pub fn bmm_backward<F: Float>(da: &mut [F], db: &mut [F], dout: &[F], a: &[F], b: &[F], batch: usize, m: usize, n: usize, k: usize, ta: bool, tb: bool) {
    let (sa, sb, so) = (m * k, k * n, m * n);
    for i in 0..batch {
        matmul_backward(
            &mut da[i * sa..(i + 1) * sa],
            &mut db[i * sb..(i + 1) * sb],
            &dout[i * so..(i + 1) * so],
            &a[i * sa..(i + 1) * sa],
            &b[i * sb..(i + 1) * sb],
            m, n, k, ta, tb,
        );
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;
    use crate::nn::ops::gradcheck::{check, rand, weighted, Grad};
    use crate::rng::Rng;

    #[test]
    fn matmul_values() {
        // [1 2; 3 4] · [5; 6] = [17; 39]; and with A transposed: [1 3; 2 4] · [5; 6] = [23; 34]
        let mut o = [0.0; 2];
        matmul_forward(&mut o, &[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0], 2, 1, 2, false, false, false);
        assert_eq!(o, [17.0, 39.0]);
        matmul_forward(&mut o, &[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0], 2, 1, 2, true, false, false);
        assert_eq!(o, [23.0, 34.0]);
    }

    #[test]
    fn matmul_and_bmm_backward_match_finite_differences() {
        let mut rng = Rng::new(1);
        let (batch, m, n, k) = (2, 3, 4, 5);
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            // One product, into pre-filled gradients (backward accumulates).
            let a = rand(&mut rng, m * k);
            let b = rand(&mut rng, k * n);
            let w = rand(&mut rng, m * n);
            let (mut da, mut db) = (Grad::random(&mut rng, a.len()), Grad::random(&mut rng, b.len()));
            matmul_backward(&mut da, &mut db, &w, &a, &b, m, n, k, ta, tb);
            let f = |a: &[f64], b: &[f64]| {
                let mut o = vec![0.0; m * n];
                matmul_forward(&mut o, a, b, m, n, k, ta, tb, false);
                weighted(&w, &o)
            };
            check("matmul dA", &a, &da, |x| f(x, &b));
            check("matmul dB", &b, &db, |x| f(&a, x));

            let a = rand(&mut rng, batch * m * k);
            let b = rand(&mut rng, batch * k * n);
            let w = rand(&mut rng, batch * m * n);
            let (mut da, mut db) = (Grad::random(&mut rng, a.len()), Grad::random(&mut rng, b.len()));
            bmm_backward(&mut da, &mut db, &w, &a, &b, batch, m, n, k, ta, tb);
            let f = |a: &[f64], b: &[f64]| {
                let mut o = vec![0.0; batch * m * n];
                bmm_forward(&mut o, a, b, batch, m, n, k, ta, tb);
                weighted(&w, &o)
            };
            check("bmm dA", &a, &da, |x| f(x, &b));
            check("bmm dB", &b, &db, |x| f(&a, x));
        }
    }
}
