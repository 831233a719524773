//! Pointwise nonlinearities: tanh, sigmoid, ReLU and GELU (the tanh approximation, as in GPT-2 and
//! PyTorch's `gelu(approximate="tanh")`).

use super::Float;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    #[default]
    Tanh,
    Relu,
    Sigmoid,
    Gelu,
}

impl Activation {
    pub fn name(self) -> &'static str {
        match self {
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Gelu => "gelu",
        }
    }
}

const GELU_K: f64 = 0.797_884_560_802_865_4; // √(2/π)

/// y = f(x)
pub fn activation_forward<F: Float>(act: Activation, y: &mut [F], x: &[F]) {
    let half = F::c(0.5);
    for (y, &x) in y.iter_mut().zip(x) {
        *y = match act {
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.max(F::zero()),
            Activation::Sigmoid => F::one() / (F::one() + (-x).exp()),
            Activation::Gelu => half * x * (F::one() + (F::c(GELU_K) * (x + F::c(0.044715) * x * x * x)).tanh()),
        };
    }
}

/// dx = f'(x)·dy, or dx += f'(x)·dy with `accumulate`, using the saved input x and output y (tanh and
/// sigmoid reuse y). Overwriting spares the callers a zeroing pass over dx (every model's dx here is
/// written by this op alone).
pub fn activation_backward<F: Float>(act: Activation, dx: &mut [F], x: &[F], y: &[F], dy: &[F], accumulate: bool) {
    if accumulate {
        backward_into::<F, true>(act, dx, x, y, dy)
    } else {
        backward_into::<F, false>(act, dx, x, y, dy)
    }
}

/// One loop per activation, so the match is outside it and ReLU's test is a select, not a branch
/// (its signs are random: a branch would be mispredicted half the time); `ACC` a constant, so each
/// loop is a plain store or a read-modify-write.
fn backward_into<F: Float, const ACC: bool>(act: Activation, dx: &mut [F], x: &[F], y: &[F], dy: &[F]) {
    let (one, half) = (F::one(), F::c(0.5));
    let n = dx.len();
    let put = |g: &mut F, v: F| *g = if ACC { *g + v } else { v };
    match act {
        Activation::Relu => {
            for ((g, &xi), &gy) in dx.iter_mut().zip(&x[..n]).zip(&dy[..n]) {
                put(g, if xi > F::zero() { gy } else { F::zero() });
            }
        }
        Activation::Tanh => {
            for ((g, &yi), &gy) in dx.iter_mut().zip(&y[..n]).zip(&dy[..n]) {
                put(g, (one - yi * yi) * gy);
            }
        }
        Activation::Sigmoid => {
            for ((g, &yi), &gy) in dx.iter_mut().zip(&y[..n]).zip(&dy[..n]) {
                put(g, yi * (one - yi) * gy);
            }
        }
        Activation::Gelu => {
            for ((g, &xi), &gy) in dx.iter_mut().zip(&x[..n]).zip(&dy[..n]) {
                let u = F::c(GELU_K) * (xi + F::c(0.044715) * xi * xi * xi);
                let t = u.tanh();
                let du = F::c(GELU_K) * (one + F::c(3.0 * 0.044715) * xi * xi);
                put(g, (half * (one + t) + half * xi * (one - t * t) * du) * gy);
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
    fn values() {
        let mut y = [0.0f64; 3];
        activation_forward(Activation::Relu, &mut y, &[-1.0, 0.0, 2.0]);
        assert_eq!(y, [0.0, 0.0, 2.0]);
        activation_forward(Activation::Sigmoid, &mut y, &[0.0, 0.0, 0.0]);
        assert_eq!(y, [0.5; 3]);
        activation_forward(Activation::Gelu, &mut y, &[1.0, 0.0, -1.0]);
        assert!((y[0] - 0.841_191_990_607_5).abs() < 1e-12 && y[1] == 0.0);
    }

    /// Without `accumulate` the op writes dx whatever it held: the same values as accumulating into zeros.
    #[test]
    fn backward_overwrites_without_accumulate() {
        let mut rng = Rng::new(5);
        for act in [Activation::Tanh, Activation::Relu, Activation::Sigmoid, Activation::Gelu] {
            let (x, w) = (rand(&mut rng, 13), rand(&mut rng, 13));
            let mut y = vec![0.0; 13];
            activation_forward(act, &mut y, &x);
            let mut from_zero = vec![0.0; 13];
            activation_backward(act, &mut from_zero, &x, &y, &w, true);
            let mut dx = rand(&mut rng, 13);
            activation_backward(act, &mut dx, &x, &y, &w, false);
            assert_eq!(dx, from_zero, "{}", act.name());
        }
    }

    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(3);
        for act in [Activation::Tanh, Activation::Relu, Activation::Sigmoid, Activation::Gelu] {
            // Keep ReLU inputs away from the kink at 0, where the derivative is undefined.
            let x: Vec<f64> = rand(&mut rng, 20).into_iter().map(|v| if v.abs() < 1e-3 { 0.5 } else { v }).collect();
            let w = rand(&mut rng, 20);
            let mut y = vec![0.0; 20];
            activation_forward(act, &mut y, &x);
            let mut dx = Grad::random(&mut rng, 20);
            activation_backward(act, &mut dx, &x, &y, &w, true);
            check(act.name(), &x, &dx, |x| {
                let mut y = vec![0.0; 20];
                activation_forward(act, &mut y, x);
                weighted(&w, &y)
            });
        }
    }
}
