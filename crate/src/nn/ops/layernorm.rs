//! LayerNorm over the last dimension (llm.c's `layernorm_forward/backward`), ε = 1e-5 as in PyTorch.

use super::Float;

pub const EPS: f64 = 1e-5;

/// out[r] = (x[r] − μ)/σ ⊙ weight + bias. Saves mean and rstd = 1/σ per row for the backward.
/// x, out: [rows × c]; weight, bias: [c]; mean, rstd: [rows].
pub fn layernorm_forward<F: Float>(out: &mut [F], mean: &mut [F], rstd: &mut [F], x: &[F], weight: &[F], bias: &[F], c: usize) {
    let cf = F::c(c as f64);
    for (r, (o, x)) in out.chunks_exact_mut(c).zip(x.chunks_exact(c)).enumerate() {
        let m = x.iter().copied().sum::<F>() / cf;
        let var = x.iter().map(|&v| (v - m) * (v - m)).sum::<F>() / cf;
        let s = F::one() / (var + F::c(EPS)).sqrt();
        for i in 0..c {
            o[i] = (x[i] - m) * s * weight[i] + bias[i];
        }
        mean[r] = m;
        rstd[r] = s;
    }
}

/// dx, dweight, dbias += their gradients from dout.
#[allow(clippy::too_many_arguments)]
pub fn layernorm_backward<F: Float>(
    dx: &mut [F], dweight: &mut [F], dbias: &mut [F], dout: &[F], x: &[F], weight: &[F], mean: &[F], rstd: &[F], c: usize,
) {
    let cf = F::c(c as f64);
    for r in 0..mean.len() {
        let (x, dout, dx) = (&x[r * c..(r + 1) * c], &dout[r * c..(r + 1) * c], &mut dx[r * c..(r + 1) * c]);
        let (m, s) = (mean[r], rstd[r]);
        // x̂ = (x − μ)·s; dx̂ = dout ⊙ w; dx = s·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂))
        let mut dnorm_mean = F::zero();
        let mut dnorm_norm_mean = F::zero();
        for i in 0..c {
            let xhat = (x[i] - m) * s;
            let dn = dout[i] * weight[i];
            dnorm_mean = dnorm_mean + dn;
            dnorm_norm_mean = dnorm_norm_mean + dn * xhat;
        }
        dnorm_mean = dnorm_mean / cf;
        dnorm_norm_mean = dnorm_norm_mean / cf;
        for i in 0..c {
            let xhat = (x[i] - m) * s;
            let dn = dout[i] * weight[i];
            dbias[i] = dbias[i] + dout[i];
            dweight[i] = dweight[i] + xhat * dout[i];
            dx[i] = dx[i] + s * (dn - dnorm_mean - xhat * dnorm_norm_mean);
        }
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
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(6);
        let (rows, c) = (3, 7);
        let x = rand(&mut rng, rows * c);
        let wt = rand(&mut rng, c);
        let b = rand(&mut rng, c);
        let w = rand(&mut rng, rows * c);
        let f = |x: &[f64], wt: &[f64], b: &[f64]| {
            let (mut o, mut m, mut s) = (vec![0.0; rows * c], vec![0.0; rows], vec![0.0; rows]);
            layernorm_forward(&mut o, &mut m, &mut s, x, wt, b, c);
            (weighted(&w, &o), m, s, o)
        };
        let (_, m, s, o) = f(&x, &wt, &b);
        // Normalised rows have mean 0 and variance 1 before the affine part.
        let xhat0: Vec<f64> = (0..c).map(|i| (o[i] - b[i]) / wt[i]).collect();
        assert!(xhat0.iter().sum::<f64>().abs() < 1e-12);
        let (mut dx, mut dw, mut db) = (Grad::random(&mut rng, rows * c), Grad::random(&mut rng, c), Grad::random(&mut rng, c));
        layernorm_backward(&mut dx, &mut dw, &mut db, &w, &x, &wt, &m, &s, c);
        check("layernorm dx", &x, &dx, |v| f(v, &wt, &b).0);
        check("layernorm dweight", &wt, &dw, |v| f(&x, v, &b).0);
        check("layernorm dbias", &b, &db, |v| f(&x, &wt, v).0);
    }
}
