//! Reductions: sums and means over rows or columns of a [rows × cols] matrix, and the sum of squares
//! (for the global gradient norm). Bias gradients are `sum_rows` of the output gradient.

use super::Float;

/// out[c] (+)= Σ_r x[r][c]: [rows × cols] → [cols].
pub fn sum_rows_forward<F: Float>(out: &mut [F], x: &[F], accumulate: bool) {
    let cols = out.len();
    if !accumulate {
        out.fill(F::zero());
    }
    for row in x.chunks_exact(cols) {
        out.iter_mut().zip(row).for_each(|(o, &v)| *o = *o + v);
    }
}

/// dx[r][c] += dout[c]
pub fn sum_rows_backward<F: Float>(dx: &mut [F], dout: &[F]) {
    for row in dx.chunks_exact_mut(dout.len()) {
        row.iter_mut().zip(dout).for_each(|(d, &g)| *d = *d + g);
    }
}

/// out[r] = scale · Σ_c x[r][c]: [rows × cols] → [rows]. scale = 1/cols gives the mean.
pub fn sum_cols_forward<F: Float>(out: &mut [F], x: &[F], cols: usize, scale: F) {
    for (o, row) in out.iter_mut().zip(x.chunks_exact(cols)) {
        *o = scale * row.iter().copied().sum::<F>();
    }
}

/// dx[r][c] += scale · dout[r]
pub fn sum_cols_backward<F: Float>(dx: &mut [F], dout: &[F], cols: usize, scale: F) {
    for (row, &g) in dx.chunks_exact_mut(cols).zip(dout) {
        row.iter_mut().for_each(|d| *d = *d + scale * g);
    }
}

/// Σ xᵢ²
pub fn sum_squares_forward<F: Float>(x: &[F]) -> F {
    x.iter().map(|&v| v * v).sum()
}

/// dx += 2·x·dout
pub fn sum_squares_backward<F: Float>(dx: &mut [F], x: &[F], dout: F) {
    dx.iter_mut().zip(x).for_each(|(d, &v)| *d = *d + F::c(2.0) * v * dout);
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;
    use crate::nn::ops::gradcheck::{check, rand, weighted, Grad};
    use crate::rng::Rng;

    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(9);
        let (rows, cols) = (4, 3);
        let x = rand(&mut rng, rows * cols);
        let wc = rand(&mut rng, cols);
        let wr = rand(&mut rng, rows);
        let mut dx = Grad::random(&mut rng, x.len());
        sum_rows_backward(&mut dx, &wc);
        check("sum_rows", &x, &dx, |x| {
            let mut o = vec![0.0; cols];
            sum_rows_forward(&mut o, x, false);
            weighted(&wc, &o)
        });
        let mut dx = Grad::random(&mut rng, x.len());
        sum_cols_backward(&mut dx, &wr, cols, 1.0 / cols as f64);
        check("mean over columns", &x, &dx, |x| {
            let mut o = vec![0.0; rows];
            sum_cols_forward(&mut o, x, cols, 1.0 / cols as f64);
            weighted(&wr, &o)
        });
        let mut dx = Grad::random(&mut rng, x.len());
        sum_squares_backward(&mut dx, &x, 0.3);
        check("sum_squares", &x, &dx, |x| 0.3 * sum_squares_forward(x));
    }
}
