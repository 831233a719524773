//! Fused softmax + cross-entropy over a vocabulary (llm.c's `crossentropy_softmax_backward`):
//! the forward keeps the probabilities, so the backward is just p − onehot(target).
//! Losses are natural-log cross-entropies (nats); perplexity reports convert to bits.

use super::softmax::softmax_forward;
use super::Float;
use crate::text::TokenId;

/// probs[r] = softmax(logits[r]); losses[r] = −ln probs[r][targets[r]].
/// logits, probs: [rows × cols]; targets, losses: [rows].
pub fn cross_entropy_forward<F: Float>(losses: &mut [F], probs: &mut [F], logits: &[F], targets: &[TokenId], cols: usize) {
    softmax_forward(probs, logits, cols);
    nll(losses, probs, targets, cols);
}

/// losses[r] = −ln probs[r][targets[r]]: the loss from probabilities already computed (a backend's
/// own softmax, then this).
pub fn nll<F: Float>(losses: &mut [F], probs: &[F], targets: &[TokenId], cols: usize) {
    for (r, (&t, loss)) in targets.iter().zip(losses.iter_mut()).enumerate() {
        *loss = -probs[r * cols + t as usize].ln();
    }
}

/// dlogits[r] += scale · (probs[r] − onehot(targets[r])): the gradient of scale·Σ_r losses[r]
/// (scale = 1/rows for the mean loss). One scalar, not a per-row vector, so no caller builds one.
pub fn cross_entropy_backward<F: Float>(dlogits: &mut [F], probs: &[F], targets: &[TokenId], scale: F, cols: usize) {
    for (r, &t) in targets.iter().enumerate() {
        let row = &mut dlogits[r * cols..(r + 1) * cols];
        let p = &probs[r * cols..(r + 1) * cols];
        for i in 0..cols {
            let ind = if i == t as usize { F::one() } else { F::zero() };
            row[i] = row[i] + scale * (p[i] - ind);
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
    fn uniform_logits_give_ln_v() {
        let (mut l, mut p) = ([0.0f64; 1], [0.0; 4]);
        cross_entropy_forward(&mut l, &mut p, &[0.0; 4], &[2], 4);
        assert!((l[0] - 4f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(5);
        let (rows, cols) = (4, 6);
        let mut x = rand(&mut rng, rows * cols);
        x[1] = f64::NEG_INFINITY; // a masked vocabulary entry (e.g. <s>) in row 0
        let targets = [0, 5, 3, 3];
        let scale = 0.7; // the mean loss would be 1/rows
        let mut losses = vec![0.0; rows];
        let mut probs = vec![0.0; rows * cols];
        cross_entropy_forward(&mut losses, &mut probs, &x, &targets, cols);
        let mut dx = Grad::random(&mut rng, rows * cols);
        cross_entropy_backward(&mut dx, &probs, &targets, scale, cols);
        assert!(dx.untouched(1), "a masked logit got a gradient");
        // Finite differences of scale·Σ losses on every finite logit.
        let f = |x: &[f64]| {
            let mut l = vec![0.0; rows];
            let mut p = vec![0.0; rows * cols];
            cross_entropy_forward(&mut l, &mut p, x, &targets, cols);
            scale * l.iter().sum::<f64>()
        };
        let keep: Vec<usize> = (0..x.len()).filter(|&i| i != 1).collect();
        let xs: Vec<f64> = keep.iter().map(|&i| x[i]).collect();
        let ds = dx.select(&keep);
        check("cross_entropy", &xs, &ds, |v| {
            let mut full = x.clone();
            keep.iter().zip(v).for_each(|(&i, &val)| full[i] = val);
            f(&full)
        });
    }
}
