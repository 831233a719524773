//! Rotary position embedding (RoPE, Su et al. 2021) on the queries and keys of a [rows × 3C] qkv
//! matrix (`ops::attention`'s layout); the values pass through unchanged.
//!
//! ```text
//! row r holds the token at position m = pos0 + (r mod T); in each head, pairs (2i, 2i+1), i < d_k/2:
//! θ_i = 10000^(−2i/d_k)
//! [x'_{2i}, x'_{2i+1}] = [x_{2i} cos mθ_i − x_{2i+1} sin mθ_i,  x_{2i} sin mθ_i + x_{2i+1} cos mθ_i]
//! ```
//! so q_mᵀk_n depends on m − n only. The backward is the inverse rotation (the transpose).

use super::Float;

/// θ_i of pair i in a head of width d_k.
pub fn theta(i: usize, dk: usize) -> f64 {
    10000f64.powf(-2.0 * i as f64 / dk as f64)
}

/// Calls `f(offset of the pair in the row, cos, sin)` for every rotated pair of a row at position m.
#[inline]
fn pairs(c: usize, heads: usize, m: usize, mut f: impl FnMut(usize, f64, f64)) {
    let dk = c / heads;
    for i in 0..dk / 2 {
        let (sin, cos) = (m as f64 * theta(i, dk)).sin_cos();
        for h in 0..2 * heads {
            // q heads, then k heads: columns h·d_k (+ 2i).
            f(h * dk + 2 * i, cos, sin);
        }
    }
}

/// out = RoPE(x); x, out: [rows × 3C], T tokens per sequence, the first at position `pos0`.
pub fn rope_forward<F: Float>(out: &mut [F], x: &[F], c: usize, heads: usize, t: usize, pos0: usize) {
    out.copy_from_slice(x);
    for (r, (o, x)) in out.chunks_exact_mut(3 * c).zip(x.chunks_exact(3 * c)).enumerate() {
        pairs(c, heads, pos0 + r % t, |k, cos, sin| {
            let (cos, sin) = (F::c(cos), F::c(sin));
            o[k] = x[k] * cos - x[k + 1] * sin;
            o[k + 1] = x[k] * sin + x[k + 1] * cos;
        });
    }
}

/// dx += RoPE⁻¹(dout).
pub fn rope_backward<F: Float>(dx: &mut [F], dout: &[F], c: usize, heads: usize, t: usize, pos0: usize) {
    for (r, (d, g)) in dx.chunks_exact_mut(3 * c).zip(dout.chunks_exact(3 * c)).enumerate() {
        // Values (and any column not in a pair) pass through.
        for k in 2 * c..3 * c {
            d[k] = d[k] + g[k];
        }
        pairs(c, heads, pos0 + r % t, |k, cos, sin| {
            let (cos, sin) = (F::c(cos), F::c(sin));
            d[k] = d[k] + g[k] * cos + g[k + 1] * sin;
            d[k + 1] = d[k + 1] - g[k] * sin + g[k + 1] * cos;
        });
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
    fn rope_backward_matches_finite_differences_and_scores_depend_on_distance() {
        let mut rng = Rng::new(41);
        let (c, heads, t) = (8, 2, 3);
        let x = rand(&mut rng, 2 * t * 3 * c);
        let w = rand(&mut rng, x.len());
        let mut dx = Grad::random(&mut rng, x.len());
        rope_backward(&mut dx, &w, c, heads, t, 4);
        check("rope", &x, &dx, |x| {
            let mut y = vec![0.0; x.len()];
            rope_forward(&mut y, x, c, heads, t, 4);
            weighted(&w, &y)
        });
        // The same q and k at positions (m, n) and (m + 5, n + 5) give the same score.
        let row: Vec<f64> = rand(&mut rng, 3 * c);
        let score = |m: usize, n: usize| {
            let (mut a, mut b) = (vec![0.0; 3 * c], vec![0.0; 3 * c]);
            rope_forward(&mut a, &row, c, heads, 1, m);
            rope_forward(&mut b, &row, c, heads, 1, n);
            (0..c / heads).map(|e| a[e] * b[c + e]).sum::<f64>()
        };
        assert!((score(7, 3) - score(12, 8)).abs() < 1e-12);
        assert!((score(7, 3) - score(7, 4)).abs() > 1e-6);
    }
}
