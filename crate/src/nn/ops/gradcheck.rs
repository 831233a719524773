//! Central finite differences in f64: the check every op's backward must pass.
//! For an op y = f(x), we take the scalar L = Σ wᵢ·yᵢ with random weights w (so every output
//! matters with a different weight), get ∂L/∂x from the op's backward with dy = w, and compare each
//! component with (L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h. With h = 1e-6 in f64 the truncation error is
//! O(h²) ≈ 1e-12 and the rounding error ≈ 1e-16/h = 1e-10, so we require
//! |analytic − numeric| ≤ 1e-6 · max(1, |numeric|).
//!
//! Backward functions *accumulate* into input gradients (BPTT, residuals and tied weights rely on
//! it), so no check starts from zeros: every gradient buffer is a [`Grad`], pre-filled with random
//! values, and the analytic gradient is what the backward *added* (after − before). A backward that
//! overwrote its buffer, or zeroed it first, fails.

use crate::rng::Rng;
use std::ops::{Deref, DerefMut};

pub fn rand(rng: &mut Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.normal()).collect()
}

/// A gradient buffer pre-filled with random values (what earlier contributions left there). It
/// derefs to the buffer, so it is passed to a backward as is.
pub struct Grad {
    before: Vec<f64>,
    now: Vec<f64>,
}

impl Grad {
    pub fn random(rng: &mut Rng, n: usize) -> Grad {
        let before = rand(rng, n);
        Grad { now: before.clone(), before }
    }
    /// What the backward added: after − before.
    pub fn added(&self) -> Vec<f64> {
        self.now.iter().zip(&self.before).map(|(a, b)| a - b).collect()
    }
    /// The entries `keep` only (to check the finite ones where others are masked).
    pub fn select(&self, keep: &[usize]) -> Grad {
        Grad { before: keep.iter().map(|&i| self.before[i]).collect(), now: keep.iter().map(|&i| self.now[i]).collect() }
    }
    /// Whether entry `i` is exactly as it was before the backward (an entry that gets no gradient).
    pub fn untouched(&self, i: usize) -> bool {
        self.now[i].to_bits() == self.before[i].to_bits()
    }
}

impl Deref for Grad {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        &self.now
    }
}

impl DerefMut for Grad {
    fn deref_mut(&mut self) -> &mut [f64] {
        &mut self.now
    }
}

/// The first component where what `grad` received differs from ∂L/∂x by central differences, as a
/// message; `None` if every component agrees.
pub fn violation(what: &str, x: &[f64], grad: &Grad, mut loss: impl FnMut(&[f64]) -> f64) -> Option<String> {
    assert_eq!(x.len(), grad.now.len(), "{what}: gradient length");
    let analytic = grad.added();
    let h = 1e-6;
    let mut xp = x.to_vec();
    for i in 0..x.len() {
        xp[i] = x[i] + h;
        let lp = loss(&xp);
        xp[i] = x[i] - h;
        let lm = loss(&xp);
        xp[i] = x[i];
        let numeric = (lp - lm) / (2.0 * h);
        let err = (analytic[i] - numeric).abs();
        if err.is_nan() || err > 1e-6 * numeric.abs().max(1.0) {
            return Some(format!("{what}: d/dx[{i}] analytic {} (added to {}) vs numeric {numeric}", analytic[i], grad.before[i]));
        }
    }
    None
}

/// Checks that the backward added ∂L/∂x to `grad`, where L(x) = `loss(x)`, on every component.
pub fn check(what: &str, x: &[f64], grad: &Grad, loss: impl FnMut(&[f64]) -> f64) {
    if let Some(msg) = violation(what, x, grad, loss) {
        panic!("{msg}");
    }
}

/// Σ wᵢ·yᵢ
pub fn weighted(w: &[f64], y: &[f64]) -> f64 {
    w.iter().zip(y).map(|(a, b)| a * b).sum()
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;
    use crate::nn::ops::elementwise::{scale_backward, scale_forward};

    /// The harness itself: a backward that overwrites (`=` instead of `+=`) would pass a check that
    /// started from zeros, and must fail this one; the real (accumulating) backward passes.
    #[test]
    fn a_backward_that_overwrites_fails_the_check() {
        let mut rng = Rng::new(12);
        let x = rand(&mut rng, 6);
        let w = rand(&mut rng, 6);
        let loss = |x: &[f64]| {
            let mut y = vec![0.0; 6];
            scale_forward(&mut y, x, 0.3);
            weighted(&w, &y)
        };
        let mut good = Grad::random(&mut rng, 6);
        scale_backward(&mut good, &w, 0.3);
        assert_eq!(violation("accumulating", &x, &good, loss), None);
        let mut bad = Grad::random(&mut rng, 6);
        bad.iter_mut().zip(&w).for_each(|(d, &g)| *d = 0.3 * g);
        assert!(violation("overwriting", &x, &bad, loss).is_some());
        // Zero-filled, the overwriting backward would have passed: the pre-fill is what catches it.
        let mut zeroed = Grad { before: vec![0.0; 6], now: vec![0.0; 6] };
        zeroed.iter_mut().zip(&w).for_each(|(d, &g)| *d = 0.3 * g);
        assert_eq!(violation("overwriting from zeros", &x, &zeroed, loss), None);
    }
}
