//! Central finite differences in f64: the check every op's backward must pass.
//! For an op y = f(x), we take the scalar L = Σ wᵢ·yᵢ with random weights w (so every output
//! matters with a different weight), get ∂L/∂x from the op's backward with dy = w, and compare each
//! component with (L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h. With h = 1e-6 in f64 the truncation error is
//! O(h²) ≈ 1e-12 and the rounding error ≈ 1e-16/h = 1e-10, so we require
//! |analytic − numeric| ≤ 1e-6 · max(1, |numeric|).

use crate::rng::Rng;

pub fn rand(rng: &mut Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.normal()).collect()
}

/// Checks `analytic` = ∂L/∂x where L(x) = `loss(x)`, by central differences on every component.
pub fn check(what: &str, x: &[f64], analytic: &[f64], mut loss: impl FnMut(&[f64]) -> f64) {
    assert_eq!(x.len(), analytic.len(), "{what}: gradient length");
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
        assert!(err <= 1e-6 * numeric.abs().max(1.0), "{what}: d/dx[{i}] analytic {} vs numeric {numeric}", analytic[i]);
    }
}

/// Σ wᵢ·yᵢ
pub fn weighted(w: &[f64], y: &[f64]) -> f64 {
    w.iter().zip(y).map(|(a, b)| a * b).sum()
}
