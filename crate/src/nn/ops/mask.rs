//! Masking: set chosen entries to a fill value (−∞ before a softmax), so they get probability 0.
//! Two forms: a column mask shared by every row (vocabulary entries a model may never predict, such
//! as `<s>`), and the causal mask of attention scores (position t sees positions ≤ t). The backward
//! passes the gradient through unmasked entries only.

use super::Float;

/// x[r][j] = fill for every row r and every j with mask[j]. In place; x: [rows × len(mask)].
pub fn mask_columns_forward<F: Float>(x: &mut [F], mask: &[bool], fill: F) {
    for row in x.chunks_exact_mut(mask.len()) {
        row.iter_mut().zip(mask).filter(|(_, &m)| m).for_each(|(v, _)| *v = fill);
    }
}

/// dx += dout on unmasked entries.
pub fn mask_columns_backward<F: Float>(dx: &mut [F], dout: &[F], mask: &[bool]) {
    for (d, g) in dx.chunks_exact_mut(mask.len()).zip(dout.chunks_exact(mask.len())) {
        for j in 0..mask.len() {
            if !mask[j] {
                d[j] = d[j] + g[j];
            }
        }
    }
}

/// Causal mask of [batch × t × t] attention scores: x[b][i][j] = fill for j > i. In place.
pub fn causal_mask_forward<F: Float>(x: &mut [F], t: usize, fill: F) {
    for m in x.chunks_exact_mut(t * t) {
        for i in 0..t {
            m[i * t + i + 1..(i + 1) * t].fill(fill);
        }
    }
}

/// dx += dout for j ≤ i.
pub fn causal_mask_backward<F: Float>(dx: &mut [F], dout: &[F], t: usize) {
    for (d, g) in dx.chunks_exact_mut(t * t).zip(dout.chunks_exact(t * t)) {
        for i in 0..t {
            for j in 0..=i {
                d[i * t + j] = d[i * t + j] + g[i * t + j];
            }
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
    fn masks_and_their_backward() {
        let mut x = [1.0, 2.0, 3.0, 4.0];
        causal_mask_forward(&mut x, 2, f64::NEG_INFINITY);
        assert_eq!(x, [1.0, f64::NEG_INFINITY, 3.0, 4.0]);
        let mut y = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        mask_columns_forward(&mut y, &[false, true, false], 0.0);
        assert_eq!(y, [1.0, 0.0, 3.0, 4.0, 0.0, 6.0]);

        // With fill 0 the masked op is linear and differentiable everywhere: check it numerically.
        let mut rng = Rng::new(8);
        let (t, mask) = (3, [true, false, false, true]);
        let x = rand(&mut rng, 2 * t * t);
        let w = rand(&mut rng, 2 * t * t);
        let mut dx = Grad::random(&mut rng, x.len());
        causal_mask_backward(&mut dx, &w, t);
        check("causal mask", &x, &dx, |x| {
            let mut y = x.to_vec();
            causal_mask_forward(&mut y, t, 0.0);
            weighted(&w, &y)
        });
        let x = rand(&mut rng, 3 * mask.len());
        let w = rand(&mut rng, 3 * mask.len());
        let mut dx = Grad::random(&mut rng, x.len());
        mask_columns_backward(&mut dx, &w, &mask);
        check("column mask", &x, &dx, |x| {
            let mut y = x.to_vec();
            mask_columns_forward(&mut y, &mask, 0.0);
            weighted(&w, &y)
        });
    }
}
