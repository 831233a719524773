//! Causal linear attention (Katharopoulos et al. 2020) in prefix-sum form, per head:
//!
//! ```text
//! φ(x) = elu(x) + 1                                  (x + 1 for x > 0, eˣ otherwise: positive)
//! S_i = Σ_{j≤i} φ(k_j) v_jᵀ   [d_k × d_k]            z_i = Σ_{j≤i} φ(k_j)   [d_k]
//! out_i = S_iᵀ φ(q_i) / (φ(q_i)ᵀ z_i)
//! ```
//! O(T·d_k²) time and O(d_k²) state per head instead of softmax attention's O(T²·d_k): the same
//! [B × Tk × 3C] qkv layout as `attention` (the last Tq rows are the queries), the denominators
//! saved for the backward ([B × H × Tq]), and a scratch of d_k² + d_k floats (the running S and z,
//! then the suffix sums of their gradients).
//!
//! A stream keeps (S, z) of every head between tokens ([H × (d_k² + d_k)]): `linear_attention_state`
//! sums them over a window, `linear_attention_step` adds one token and reads its output — O(H·d_k²)
//! whatever the position. Both run the forward's own accumulate and read, in the same order, so a
//! stream's outputs are bit for bit the forward's.

use super::Float;

#[inline]
fn phi<F: Float>(x: F) -> F {
    if x > F::zero() { x + F::one() } else { x.exp() }
}

#[inline]
fn dphi<F: Float>(x: F) -> F {
    if x > F::zero() { F::one() } else { x.exp() }
}

/// S += φ(k) vᵀ, z += φ(k): one token into a head's running state.
#[inline]
fn accumulate<F: Float>(s: &mut [F], z: &mut [F], k: &[F], v: &[F]) {
    let dk = k.len();
    for d in 0..dk {
        let a = phi(k[d]);
        z[d] = z[d] + a;
        for e in 0..dk {
            s[d * dk + e] = s[d * dk + e] + a * v[e];
        }
    }
}

/// o = Sᵀφ(q) / φ(q)ᵀz from a head's running state; returns the denominator φ(q)ᵀz.
#[inline]
fn read<F: Float>(o: &mut [F], s: &[F], z: &[F], q: &[F]) -> F {
    let dk = q.len();
    o.iter_mut().for_each(|v| *v = F::zero());
    let mut dn = F::zero();
    for d in 0..dk {
        let bq = phi(q[d]);
        dn = dn + bq * z[d];
        for e in 0..dk {
            o[e] = o[e] + bq * s[d * dk + e];
        }
    }
    o.iter_mut().for_each(|v| *v = *v / dn);
    dn
}

/// Forward: out [B × Tq × C], den [B × H × Tq] from qkv [B × Tk × 3C].
#[allow(clippy::too_many_arguments)]
pub fn linear_attention_forward<F: Float>(out: &mut [F], den: &mut [F], scratch: &mut [F], qkv: &[F], heads: usize, b: usize, tq: usize, tk: usize, c: usize) {
    let dk = c / heads;
    let row = 3 * c;
    let (s, z) = scratch[..dk * dk + dk].split_at_mut(dk * dk);
    for bi in 0..b {
        let x = &qkv[bi * tk * row..(bi + 1) * tk * row];
        for h in 0..heads {
            s.iter_mut().for_each(|v| *v = F::zero());
            z.iter_mut().for_each(|v| *v = F::zero());
            for j in 0..tk {
                accumulate(s, z, &x[j * row + c + h * dk..][..dk], &x[j * row + 2 * c + h * dk..][..dk]);
                if j + tq < tk {
                    continue;
                }
                let qi = j + tq - tk;
                let o = &mut out[(bi * tq + qi) * c + h * dk..][..dk];
                den[(bi * heads + h) * tq + qi] = read(o, s, z, &x[j * row + h * dk..][..dk]);
            }
        }
    }
}

/// A stream's running state after the Tk tokens of qkv [Tk × 3C] (one sequence): per head h,
/// state[h] = (S [d_k × d_k], z [d_k]), i.e. state [H × (d_k² + d_k)] (overwritten).
pub fn linear_attention_state<F: Float>(state: &mut [F], qkv: &[F], heads: usize, tk: usize, c: usize) {
    let dk = c / heads;
    let row = 3 * c;
    for h in 0..heads {
        let (s, z) = state[h * (dk * dk + dk)..][..dk * dk + dk].split_at_mut(dk * dk);
        s.iter_mut().for_each(|v| *v = F::zero());
        z.iter_mut().for_each(|v| *v = F::zero());
        for j in 0..tk {
            accumulate(s, z, &qkv[j * row + c + h * dk..][..dk], &qkv[j * row + 2 * c + h * dk..][..dk]);
        }
    }
}

/// One new token of a stream: its key and value (qkv [3C], one row) into the running state
/// [H × (d_k² + d_k)] (in place), then its output out [C]. O(H·d_k²): the position does not enter.
pub fn linear_attention_step<F: Float>(out: &mut [F], state: &mut [F], qkv: &[F], heads: usize, c: usize) {
    let dk = c / heads;
    for h in 0..heads {
        let (s, z) = state[h * (dk * dk + dk)..][..dk * dk + dk].split_at_mut(dk * dk);
        accumulate(s, z, &qkv[c + h * dk..][..dk], &qkv[2 * c + h * dk..][..dk]);
        read(&mut out[h * dk..][..dk], s, z, &qkv[h * dk..][..dk]);
    }
}

/// Backward of a whole window (Tq = Tk = T): dqkv += from dout, given out and den.
#[allow(clippy::too_many_arguments)]
pub fn linear_attention_backward<F: Float>(dqkv: &mut [F], scratch: &mut [F], dout: &[F], out: &[F], den: &[F], qkv: &[F], heads: usize, b: usize, t: usize, c: usize) {
    let dk = c / heads;
    let row = 3 * c;
    let (s, z) = scratch[..dk * dk + dk].split_at_mut(dk * dk);
    let dot = |a: &[F], b: &[F]| a.iter().zip(b).fold(F::zero(), |acc, (&x, &y)| acc + x * y);
    for bi in 0..b {
        let x = &qkv[bi * t * row..(bi + 1) * t * row];
        let dx = &mut dqkv[bi * t * row..(bi + 1) * t * row];
        for h in 0..heads {
            let at = |i: usize| (bi * t + i) * c + h * dk;
            // ∂L/∂num_i = dout_i/den_i; ∂L/∂den_i = −⟨dout_i, out_i⟩/den_i.
            let grads = |i: usize| {
                let dn = den[(bi * heads + h) * t + i];
                (dn, -dot(&dout[at(i)..at(i) + dk], &out[at(i)..at(i) + dk]) / dn)
            };
            // Pass 1, forward: dφ(q_i) = S_i ∂num_i + z_i ∂den_i.
            s.iter_mut().for_each(|v| *v = F::zero());
            z.iter_mut().for_each(|v| *v = F::zero());
            for i in 0..t {
                for d in 0..dk {
                    let a = phi(x[i * row + c + h * dk + d]);
                    z[d] = z[d] + a;
                    for e in 0..dk {
                        s[d * dk + e] = s[d * dk + e] + a * x[i * row + 2 * c + h * dk + e];
                    }
                }
                let (dn, dden) = grads(i);
                let go = &dout[at(i)..at(i) + dk];
                for d in 0..dk {
                    let db = (0..dk).fold(F::zero(), |acc, e| acc + s[d * dk + e] * go[e]) / dn + z[d] * dden;
                    let qa = i * row + h * dk + d;
                    dx[qa] = dx[qa] + db * dphi(x[qa]);
                }
            }
            // Pass 2, backward: G_j = Σ_{i≥j} φ(q_i) ∂num_iᵀ, g_j = Σ_{i≥j} φ(q_i) ∂den_i;
            // dφ(k_j) = G_j v_j + g_j, dv_j = G_jᵀ φ(k_j).
            s.iter_mut().for_each(|v| *v = F::zero());
            z.iter_mut().for_each(|v| *v = F::zero());
            for j in (0..t).rev() {
                let (dn, dden) = grads(j);
                let go = &dout[at(j)..at(j) + dk];
                for d in 0..dk {
                    let bq = phi(x[j * row + h * dk + d]);
                    z[d] = z[d] + bq * dden;
                    for e in 0..dk {
                        s[d * dk + e] = s[d * dk + e] + bq * go[e] / dn;
                    }
                }
                for d in 0..dk {
                    let (ka, va) = (j * row + c + h * dk + d, j * row + 2 * c + h * dk);
                    let da = (0..dk).fold(F::zero(), |acc, e| acc + s[d * dk + e] * x[va + e]) + z[d];
                    dx[ka] = dx[ka] + da * dphi(x[ka]);
                    let a = phi(x[ka]);
                    for e in 0..dk {
                        dx[va + e] = dx[va + e] + a * s[d * dk + e];
                    }
                }
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

    const B: usize = 2;
    const H: usize = 2;
    const C: usize = 6;

    fn run(qkv: &[f64], tq: usize, tk: usize) -> (Vec<f64>, Vec<f64>) {
        let (mut out, mut den, mut scratch) = (vec![0.0; B * tq * C], vec![0.0; B * H * tq], vec![0.0; 16]);
        linear_attention_forward(&mut out, &mut den, &mut scratch, qkv, H, B, tq, tk, C);
        (out, den)
    }

    #[test]
    fn linear_attention_matches_finite_differences_and_the_quadratic_form() {
        let mut rng = Rng::new(33);
        let t = 5;
        let qkv = rand(&mut rng, B * t * 3 * C);
        let w = rand(&mut rng, B * t * C);
        let (out, den) = run(&qkv, t, t);
        let mut dqkv = Grad::random(&mut rng, qkv.len());
        let mut scratch = vec![0.0; 16];
        linear_attention_backward(&mut dqkv, &mut scratch, &w, &out, &den, &qkv, H, B, t, C);
        check("linear attention d qkv", &qkv, &dqkv, |x| weighted(&w, &run(x, t, t).0));
        // The same numbers as Σ_j (φ(q_i)·φ(k_j)) v_j / Σ_j φ(q_i)·φ(k_j), and a stream's last row.
        let dk = C / H;
        let (last, _) = run(&qkv, 1, t);
        for bi in 0..B {
            for h in 0..H {
                for i in 0..t {
                    let r = |j: usize, part: usize| &qkv[(bi * t + j) * 3 * C + part * C + h * dk..][..dk];
                    let a: Vec<f64> = (0..=i).map(|j| r(i, 0).iter().zip(r(j, 1)).map(|(&q, &k)| phi(q) * phi(k)).sum()).collect();
                    let sum: f64 = a.iter().sum();
                    for e in 0..dk {
                        let want = (0..=i).map(|j| a[j] * r(j, 2)[e]).sum::<f64>() / sum;
                        assert!((out[(bi * t + i) * C + h * dk + e] - want).abs() < 1e-12);
                        if i == t - 1 {
                            assert!((last[bi * C + h * dk + e] - want).abs() < 1e-12);
                        }
                    }
                }
            }
        }
    }

    /// The running state of a window, then one step per further token, gives bit for bit the
    /// forward's rows (f32, as the device computes), whatever the split point.
    #[test]
    fn a_stream_state_and_steps_equal_the_prefix_sum_forward() {
        let mut rng = Rng::new(34);
        let t = 7;
        let qkv: Vec<f32> = rand(&mut rng, t * 3 * C).iter().map(|&x| x as f32).collect();
        let (mut out, mut den, mut scratch) = (vec![0.0f32; t * C], vec![0.0f32; H * t], vec![0.0f32; 16]);
        linear_attention_forward(&mut out, &mut den, &mut scratch, &qkv, H, 1, t, t, C);
        let dk = C / H;
        for split in 0..t {
            let mut state = vec![f32::NAN; H * (dk * dk + dk)];
            linear_attention_state(&mut state, &qkv[..split * 3 * C], H, split, C);
            for j in split..t {
                let mut o = vec![0.0f32; C];
                linear_attention_step(&mut o, &mut state, &qkv[j * 3 * C..(j + 1) * 3 * C], H, C);
                assert_eq!(o, out[j * C..(j + 1) * C], "split {split}, row {j}");
            }
        }
    }
}
