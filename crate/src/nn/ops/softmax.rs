//! Softmax and log-softmax over the last dimension of a [rows × cols] matrix. Entries of −∞ (masked)
//! get probability 0 and receive no gradient.

use super::Float;

/// y[r] = softmax(x[r]) for each of the `rows` rows of length `cols`.
pub fn softmax_forward<F: Float>(y: &mut [F], x: &[F], cols: usize) {
    for (y, x) in y.chunks_exact_mut(cols).zip(x.chunks_exact(cols)) {
        let max = x.iter().fold(F::neg_infinity(), |m, &v| m.max(v));
        let mut sum = F::zero();
        for (y, &x) in y.iter_mut().zip(x) {
            *y = (x - max).exp();
            sum = sum + *y;
        }
        let inv = F::one() / sum;
        y.iter_mut().for_each(|v| *v = *v * inv);
    }
}

/// dx += y ⊙ (dy − ⟨dy, y⟩) per row.
pub fn softmax_backward<F: Float>(dx: &mut [F], y: &[F], dy: &[F], cols: usize) {
    for ((dx, y), dy) in dx.chunks_exact_mut(cols).zip(y.chunks_exact(cols)).zip(dy.chunks_exact(cols)) {
        let dot: F = y.iter().zip(dy).map(|(&a, &b)| a * b).sum();
        for i in 0..cols {
            dx[i] = dx[i] + y[i] * (dy[i] - dot);
        }
    }
}

/// y[r] = x[r] − logsumexp(x[r]).
pub fn log_softmax_forward<F: Float>(y: &mut [F], x: &[F], cols: usize) {
    for (y, x) in y.chunks_exact_mut(cols).zip(x.chunks_exact(cols)) {
        let max = x.iter().fold(F::neg_infinity(), |m, &v| m.max(v));
        let sum: F = x.iter().map(|&v| (v - max).exp()).sum();
        let lse = max + sum.ln();
        y.iter_mut().zip(x).for_each(|(y, &x)| *y = x - lse);
    }
}

/// dx += dy − softmax(x)·Σdy per row (softmax = exp(y)); masked (−∞) entries get nothing.
pub fn log_softmax_backward<F: Float>(dx: &mut [F], y: &[F], dy: &[F], cols: usize) {
    for ((dx, y), dy) in dx.chunks_exact_mut(cols).zip(y.chunks_exact(cols)).zip(dy.chunks_exact(cols)) {
        let sum: F = dy.iter().copied().sum();
        for i in 0..cols {
            if y[i] != F::neg_infinity() {
                dx[i] = dx[i] + dy[i] - y[i].exp() * sum;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;
    use crate::nn::ops::gradcheck::{check, rand, Grad};
    use crate::rng::Rng;

    #[test]
    fn rows_sum_to_one_and_masked_entries_are_zero() {
        let x = [1.0, 2.0, f64::NEG_INFINITY, 0.0, 0.0, 0.0];
        let mut y = [0.0; 6];
        softmax_forward(&mut y, &x, 3);
        assert!((y[0] + y[1] - 1.0).abs() < 1e-15 && y[2] == 0.0 && (y[3] - 1.0 / 3.0).abs() < 1e-15);
        let mut l = [0.0; 6];
        log_softmax_forward(&mut l, &x, 3);
        assert!((l[0].exp() - y[0]).abs() < 1e-15 && l[2] == f64::NEG_INFINITY);
    }

    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(4);
        let (rows, cols) = (3, 5);
        let mut x = rand(&mut rng, rows * cols);
        let mut w = rand(&mut rng, rows * cols);
        for masked in [false, true] {
            if masked {
                // A masked entry in row 0: probability 0, no gradient. Its output is a constant, so
                // any loss gives it a zero output gradient (as PyTorch, the backward sums every dy).
                x[2] = f64::NEG_INFINITY;
                w[2] = 0.0;
            }
            for log in [false, true] {
                let fwd = |y: &mut [f64], x: &[f64]| if log { log_softmax_forward(y, x, cols) } else { softmax_forward(y, x, cols) };
                let mut y = vec![0.0; x.len()];
                fwd(&mut y, &x);
                let mut dx = Grad::random(&mut rng, x.len());
                if log {
                    log_softmax_backward(&mut dx, &y, &w, cols);
                } else {
                    softmax_backward(&mut dx, &y, &w, cols);
                }
                let what = if log { "log_softmax" } else { "softmax" };
                let keep: Vec<usize> = (0..x.len()).filter(|&i| !(masked && i == 2)).collect();
                if masked {
                    assert!(dx.untouched(2), "{what}: a masked entry got a gradient");
                }
                // Finite differences on every finite entry.
                let xs: Vec<f64> = keep.iter().map(|&i| x[i]).collect();
                let ds = dx.select(&keep);
                check(what, &xs, &ds, |v| {
                    let mut full = x.clone();
                    keep.iter().zip(v).for_each(|(&i, &val)| full[i] = val);
                    let mut y = vec![0.0; full.len()];
                    fwd(&mut y, &full);
                    // A masked output (0 or −∞) is constant: leave it out of the weighted sum.
                    keep.iter().map(|&i| w[i] * y[i]).sum()
                });
            }
        }
    }
}
