//! Learning-rate schedule: linear warm-up, then cosine decay (or a constant rate).

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Decay {
    /// Cosine from the peak rate down to `min_lr_ratio`·peak at the last step.
    #[default]
    Cosine,
    /// Constant after warm-up.
    None,
}

/// The learning rate of optimizer step `step` (0-based) out of `total`:
/// warm-up: lr·(step + 1)/warmup for step < warmup;
/// cosine: lr_min + (lr − lr_min)·½(1 + cos(π·(step − warmup)/(total − warmup))), lr_min = ratio·lr.
pub fn learning_rate(lr: f64, step: u64, warmup: u64, total: u64, decay: Decay, min_lr_ratio: f64) -> f64 {
    if step < warmup {
        return lr * (step + 1) as f64 / warmup as f64;
    }
    match decay {
        Decay::None => lr,
        Decay::Cosine => {
            let span = total.saturating_sub(warmup).max(1) as f64;
            let progress = ((step - warmup) as f64 / span).min(1.0);
            let min = lr * min_lr_ratio;
            min + (lr - min) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    #[test]
    fn warmup_then_cosine() {
        let lr = |s| learning_rate(1.0, s, 4, 14, Decay::Cosine, 0.1);
        assert_eq!([lr(0), lr(1), lr(3)], [0.25, 0.5, 1.0]);
        assert_eq!(lr(4), 1.0); // the peak, then down
        assert!((lr(9) - 0.55).abs() < 1e-12); // halfway: (1 + 0.1)/2
        assert!((lr(14) - 0.1).abs() < 1e-12);
        assert_eq!(learning_rate(0.5, 100, 0, 10, Decay::None, 0.0), 0.5);
    }
}
