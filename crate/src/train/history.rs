//! The loss curve a trainer keeps (and a model file stores), bounded however long a run is.

use serde::{Deserialize, Serialize};

/// One point of the loss curve.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LossPoint {
    /// Optimizer steps done when it was measured (1-based).
    pub step: u64,
    /// Mean cross-entropy of that step's batch, in nats per token.
    pub train_loss: f64,
    /// Validation cross-entropy (nats per token), at evaluation steps only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub valid_loss: Option<f64>,
    /// Learning rate used for the step.
    pub lr: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
}

/// Most points kept. Past it the curve is thinned: every other training-only point is dropped, and
/// once validation points alone exceed [`MAX_VALID`], every other one of those too. So a run of any
/// length stays a few hundred kilobytes, and its model file can always be opened again.
pub const MAX_POINTS: usize = 10_000;
/// Most validation points kept.
pub const MAX_VALID: usize = 2_000;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(transparent)]
pub struct History {
    pub points: Vec<LossPoint>,
}

impl History {
    pub fn push(&mut self, p: LossPoint) {
        let valid = p.valid_loss.is_some();
        self.points.push(p);
        if self.points.len() > MAX_POINTS || (valid && self.valid_count() > MAX_VALID) {
            self.thin();
        }
    }

    fn valid_count(&self) -> usize {
        self.points.iter().filter(|p| p.valid_loss.is_some()).count()
    }

    pub fn last(&self) -> Option<&LossPoint> {
        self.points.last()
    }

    pub fn last_valid(&self) -> Option<f64> {
        self.points.iter().rev().find_map(|p| p.valid_loss)
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Drops every other training-only point past `MAX_POINTS` points, and every other validation
    /// point past `MAX_VALID` of them; the first and the last point always stay.
    fn thin(&mut self) {
        let last = self.points.len() - 1;
        let thin_valid = self.valid_count() > MAX_VALID;
        let thin_train = self.points.len() > MAX_POINTS;
        let (mut i, mut v) = (0usize, 0usize);
        self.points.retain(|p| {
            let keep = if p.valid_loss.is_some() {
                v += 1;
                !thin_valid || v % 2 == 1
            } else {
                !thin_train || i % 2 == 0
            };
            let keep = keep || i == last || i == 0;
            i += 1;
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    fn point(step: u64, valid: bool) -> LossPoint {
        LossPoint { step, train_loss: 1.0, valid_loss: valid.then_some(2.0), lr: 0.1, grad_norm: 1.0 }
    }

    #[test]
    fn training_points_are_thinned() {
        let mut h = History::default();
        for step in 1..=MAX_POINTS as u64 + 1 {
            h.push(point(step, step % 100 == 0));
        }
        assert!(h.len() <= MAX_POINTS / 2 + MAX_POINTS / 100 + 2, "{}", h.len());
        assert_eq!(h.points.iter().filter(|p| p.valid_loss.is_some()).count(), MAX_POINTS / 100);
        assert_eq!(h.last().unwrap().step, MAX_POINTS as u64 + 1);
    }

    /// Evaluating every step used to keep every point forever: a long run wrote a model file whose
    /// metadata grew without bound.
    #[test]
    fn validation_points_are_bounded_too() {
        let mut h = History::default();
        for step in 1..=200_000u64 {
            h.push(point(step, true));
        }
        assert!(h.len() <= MAX_POINTS, "{}", h.len());
        assert!(h.points.iter().filter(|p| p.valid_loss.is_some()).count() <= MAX_VALID);
        assert_eq!((h.points[0].step, h.last().unwrap().step), (1, 200_000));
        assert!(h.points.windows(2).all(|w| w[0].step < w[1].step));
    }
}
