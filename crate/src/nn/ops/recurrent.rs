//! The gated recurrent cells, fused (one pass per time step, one GPU dispatch later), in PyTorch's
//! gate layouts so `nn.LSTM` / `nn.GRU` weights load as they are.
//!
//! ```text
//! LSTM (gates i, f, g, o):  pre = W_ih x + b_ih + W_hh h₋ + b_hh            pre: [B × 4H]
//!   i = σ(pre_i)  f = σ(pre_f)  g = tanh(pre_g)  o = σ(pre_o)
//!   c = f ⊙ c₋ + i ⊙ g          h = o ⊙ tanh(c)                            c, h: [B × H]
//! GRU (gates r, z, n):  ih = W_ih x + b_ih,  hh = W_hh h₋ + b_hh              ih, hh: [B × 3H]
//!   r = σ(ih_r + hh_r)  z = σ(ih_z + hh_z)  n = tanh(ih_n + r ⊙ hh_n)
//!   h = (1 − z) ⊙ n + z ⊙ h₋
//! ```
//! The forward passes save the activated gates ([B × 4H] or [B × 3H]); the backward passes
//! accumulate into the gradients of their inputs, like every op.

use super::Float;

fn sigmoid<F: Float>(x: F) -> F {
    F::one() / (F::one() + (-x).exp())
}

/// LSTM cell forward: `gates` (activated i, f, g, o), `c` and `h` from `pre` and `c_prev`.
pub fn lstm_forward<F: Float>(gates: &mut [F], c: &mut [F], h: &mut [F], pre: &[F], c_prev: &[F], hd: usize) {
    for b in 0..c.len() / hd.max(1) {
        let (p, gt) = (&pre[b * 4 * hd..(b + 1) * 4 * hd], &mut gates[b * 4 * hd..(b + 1) * 4 * hd]);
        for j in 0..hd {
            let (i, f, g, o) = (sigmoid(p[j]), sigmoid(p[hd + j]), p[2 * hd + j].tanh(), sigmoid(p[3 * hd + j]));
            let cj = f * c_prev[b * hd + j] + i * g;
            (gt[j], gt[hd + j], gt[2 * hd + j], gt[3 * hd + j]) = (i, f, g, o);
            c[b * hd + j] = cj;
            h[b * hd + j] = o * cj.tanh();
        }
    }
}

/// LSTM cell backward: from dh and dc (the gradient reaching c from the next step), accumulates
/// into dpre and dc_prev.
#[allow(clippy::too_many_arguments)]
pub fn lstm_backward<F: Float>(dpre: &mut [F], dc_prev: &mut [F], gates: &[F], c: &[F], c_prev: &[F], dh: &[F], dc: &[F], hd: usize) {
    let one = F::one();
    for b in 0..c.len() / hd.max(1) {
        let (gt, dp) = (&gates[b * 4 * hd..(b + 1) * 4 * hd], &mut dpre[b * 4 * hd..(b + 1) * 4 * hd]);
        for j in 0..hd {
            let k = b * hd + j;
            let (i, f, g, o) = (gt[j], gt[hd + j], gt[2 * hd + j], gt[3 * hd + j]);
            let tc = c[k].tanh();
            let dct = dc[k] + dh[k] * o * (one - tc * tc);
            dp[j] = dp[j] + dct * g * i * (one - i);
            dp[hd + j] = dp[hd + j] + dct * c_prev[k] * f * (one - f);
            dp[2 * hd + j] = dp[2 * hd + j] + dct * i * (one - g * g);
            dp[3 * hd + j] = dp[3 * hd + j] + dh[k] * tc * o * (one - o);
            dc_prev[k] = dc_prev[k] + dct * f;
        }
    }
}

/// GRU cell forward: `gates` (activated r, z, n) and `h` from `ih`, `hh` and `h_prev`.
pub fn gru_forward<F: Float>(gates: &mut [F], h: &mut [F], ih: &[F], hh: &[F], h_prev: &[F], hd: usize) {
    let one = F::one();
    for b in 0..h.len() / hd.max(1) {
        let (x, r_, gt) = (&ih[b * 3 * hd..(b + 1) * 3 * hd], &hh[b * 3 * hd..(b + 1) * 3 * hd], &mut gates[b * 3 * hd..(b + 1) * 3 * hd]);
        for j in 0..hd {
            let r = sigmoid(x[j] + r_[j]);
            let z = sigmoid(x[hd + j] + r_[hd + j]);
            let n = (x[2 * hd + j] + r * r_[2 * hd + j]).tanh();
            (gt[j], gt[hd + j], gt[2 * hd + j]) = (r, z, n);
            h[b * hd + j] = (one - z) * n + z * h_prev[b * hd + j];
        }
    }
}

/// GRU cell backward: from dh, accumulates into dih, dhh and dh_prev.
#[allow(clippy::too_many_arguments)]
pub fn gru_backward<F: Float>(dih: &mut [F], dhh: &mut [F], dh_prev: &mut [F], gates: &[F], hh: &[F], h_prev: &[F], dh: &[F], hd: usize) {
    let one = F::one();
    for b in 0..dh.len() / hd.max(1) {
        let s = b * 3 * hd;
        for j in 0..hd {
            let k = b * hd + j;
            let (r, z, n) = (gates[s + j], gates[s + hd + j], gates[s + 2 * hd + j]);
            let dn = dh[k] * (one - z) * (one - n * n);
            let dz = dh[k] * (h_prev[k] - n) * z * (one - z);
            let dr = dn * hh[s + 2 * hd + j] * r * (one - r);
            dih[s + j] = dih[s + j] + dr;
            dhh[s + j] = dhh[s + j] + dr;
            dih[s + hd + j] = dih[s + hd + j] + dz;
            dhh[s + hd + j] = dhh[s + hd + j] + dz;
            dih[s + 2 * hd + j] = dih[s + 2 * hd + j] + dn;
            dhh[s + 2 * hd + j] = dhh[s + 2 * hd + j] + dn * r;
            dh_prev[k] = dh_prev[k] + dh[k] * z;
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
    const H: usize = 3;

    /// L = Σ w_h·h + Σ w_c·c of one LSTM step, checked against finite differences in pre and c₋.
    #[test]
    fn lstm_backward_matches_finite_differences() {
        let mut rng = Rng::new(21);
        let (pre, cp) = (rand(&mut rng, B * 4 * H), rand(&mut rng, B * H));
        let (wh, wc) = (rand(&mut rng, B * H), rand(&mut rng, B * H));
        let run = |pre: &[f64], cp: &[f64]| {
            let (mut g, mut c, mut h) = (vec![0.0; B * 4 * H], vec![0.0; B * H], vec![0.0; B * H]);
            lstm_forward(&mut g, &mut c, &mut h, pre, cp, H);
            (g, c, h)
        };
        let (g, c, _) = run(&pre, &cp);
        let (mut dpre, mut dcp) = (Grad::random(&mut rng, B * 4 * H), Grad::random(&mut rng, B * H));
        lstm_backward(&mut dpre, &mut dcp, &g, &c, &cp, &wh, &wc, H);
        let loss = |pre: &[f64], cp: &[f64]| {
            let (_, c, h) = run(pre, cp);
            weighted(&wh, &h) + weighted(&wc, &c)
        };
        check("lstm d pre", &pre, &dpre, |x| loss(x, &cp));
        check("lstm d c_prev", &cp, &dcp, |x| loss(&pre, x));
    }

    #[test]
    fn gru_backward_matches_finite_differences() {
        let mut rng = Rng::new(22);
        let (ih, hh, hp) = (rand(&mut rng, B * 3 * H), rand(&mut rng, B * 3 * H), rand(&mut rng, B * H));
        let w = rand(&mut rng, B * H);
        let run = |ih: &[f64], hh: &[f64], hp: &[f64]| {
            let (mut g, mut h) = (vec![0.0; B * 3 * H], vec![0.0; B * H]);
            gru_forward(&mut g, &mut h, ih, hh, hp, H);
            (g, h)
        };
        let (g, _) = run(&ih, &hh, &hp);
        let (mut dih, mut dhh, mut dhp) = (Grad::random(&mut rng, B * 3 * H), Grad::random(&mut rng, B * 3 * H), Grad::random(&mut rng, B * H));
        gru_backward(&mut dih, &mut dhh, &mut dhp, &g, &hh, &hp, &w, H);
        check("gru d ih", &ih, &dih, |x| weighted(&w, &run(x, &hh, &hp).1));
        check("gru d hh", &hh, &dhh, |x| weighted(&w, &run(&ih, x, &hp).1));
        check("gru d h_prev", &hp, &dhp, |x| weighted(&w, &run(&ih, &hh, x).1));
    }
}
