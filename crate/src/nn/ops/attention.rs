//! Multi-head causal self-attention, fused (one pass per (batch, head), one GPU dispatch later), as
//! the course writes it, with the positional terms that live inside the scores:
//!
//! ```text
//! qkv: [B × Tk × 3C] = [Q | K | V], head h of each in columns h·d_k .. (h+1)·d_k  (d_k = C/H)
//! query row qi (of the last Tq rows) sits at position i = Tk − Tq + qi; key j at position j
//! score_ij = q_iᵀ(k_j + w^K_{r_ij}) / √d_k  +  bias_h(i − j)      where allowed(i, j), else −∞
//! a_i      = softmax_j(score_i·)                                    probs: [B × H × Tq × Tk]
//! out_i    = Σ_j a_ij (v_j + w^V_{r_ij})                            out: [B × Tq × C] (heads side by side)
//! ```
//! * allowed(i, j): j ≤ i (the causal mask of −∞ above the diagonal), and with the sparse pattern
//!   also i − j < window or (i − j) mod stride = 0 (a local sliding window plus a strided pattern,
//!   Child et al. 2019);
//! * relative positions (Shaw et al. 2018): r_ij = clip(i − j, −k, k); a causal model only ever sees
//!   i − j ≥ 0, so the tables hold the rows r = 0 … k: w^K, w^V: [(k + 1) × d_k], shared by the heads;
//! * ALiBi (Press et al. 2022): bias_h(i − j) = −m_h·(i − j) with slopes m_h = 2^(−8(h+1)/H).
//!
//! Tq < Tk is a stream reading its KV cache: the last Tq rows of `qkv` are the new tokens.
//! The backward uses D_i = Σ_j a_ij·∂L/∂a_ij = ⟨dout_i, out_i⟩ (FlashAttention's identity), so it
//! needs no scratch row.

use super::Float;

/// Which key positions a query may read (always causal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    Full,
    /// Local: the last `window` positions (itself included); strided: every position at a distance
    /// that is a multiple of `stride`.
    Sparse { window: usize, stride: usize },
}

impl Pattern {
    /// Whether query position i reads key position j.
    #[inline]
    pub fn allowed(self, i: usize, j: usize) -> bool {
        j <= i
            && match self {
                Pattern::Full => true,
                Pattern::Sparse { window, stride } => i - j < window || (stride > 0 && (i - j).is_multiple_of(stride)),
            }
    }
}

/// Everything but the tensors: heads, the mask pattern, ALiBi, the relative clip distance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttnSpec {
    pub heads: usize,
    pub pattern: Pattern,
    pub alibi: bool,
    /// Shaw et al.'s k (the tables have k + 1 rows); `None` without relative positions.
    pub rel: Option<usize>,
}

/// ⟨a, b⟩, accumulated in f64: scores and their gradients sum d_k products (and the relative
/// tables' gradients many rows of them), and f64 keeps that rounding out of the f32 results.
#[inline]
fn dot<F: Float>(a: &[F], b: &[F]) -> F {
    F::c(a.iter().zip(b).map(|(&x, &y)| x.to_f64().unwrap_or(0.0) * y.to_f64().unwrap_or(0.0)).sum::<f64>())
}

/// ALiBi's slope of head h of H: 2^(−8(h+1)/H).
pub fn alibi_slope(h: usize, heads: usize) -> f64 {
    (2.0f64).powf(-8.0 * (h + 1) as f64 / heads as f64)
}

/// Forward. `b`, `tq`, `tk`, `c` are the sizes; `wk`, `wv` the relative tables (empty without).
#[allow(clippy::too_many_arguments)]
pub fn attention_forward<F: Float>(out: &mut [F], probs: &mut [F], qkv: &[F], wk: &[F], wv: &[F], s: &AttnSpec, b: usize, tq: usize, tk: usize, c: usize) {
    let (h_n, dk) = (s.heads, c / s.heads);
    let scale = F::c(1.0 / (dk as f64).sqrt());
    let row = 3 * c;
    for bi in 0..b {
        let x = &qkv[bi * tk * row..(bi + 1) * tk * row];
        for h in 0..h_n {
            let slope = F::c(if s.alibi { alibi_slope(h, h_n) } else { 0.0 });
            for qi in 0..tq {
                let i = tk - tq + qi;
                let q = &x[i * row + h * dk..][..dk];
                let p = &mut probs[((bi * h_n + h) * tq + qi) * tk..][..tk];
                let mut max = F::neg_infinity();
                for j in 0..tk {
                    if !s.pattern.allowed(i, j) {
                        p[j] = F::neg_infinity();
                        continue;
                    }
                    let k = &x[j * row + c + h * dk..][..dk];
                    let mut qk = dot(q, k);
                    if let Some(kmax) = s.rel {
                        let r = (i - j).min(kmax);
                        qk = qk + dot(q, &wk[r * dk..(r + 1) * dk]);
                    }
                    let v = qk * scale - slope * F::c((i - j) as f64);
                    p[j] = v;
                    max = max.max(v);
                }
                let mut sum = F::zero();
                for v in p.iter_mut() {
                    *v = (*v - max).exp();
                    sum = sum + *v;
                }
                let inv = F::one() / sum;
                let o = &mut out[(bi * tq + qi) * c + h * dk..][..dk];
                o.iter_mut().for_each(|v| *v = F::zero());
                for j in 0..tk {
                    let a = p[j] * inv;
                    p[j] = a;
                    if a == F::zero() {
                        continue;
                    }
                    let v = &x[j * row + 2 * c + h * dk..][..dk];
                    for (o, &v) in o.iter_mut().zip(v) {
                        *o = *o + a * v;
                    }
                    if let Some(kmax) = s.rel {
                        let r = (i - j).min(kmax);
                        for (o, &w) in o.iter_mut().zip(&wv[r * dk..(r + 1) * dk]) {
                            *o = *o + a * w;
                        }
                    }
                }
            }
        }
    }
}

/// Backward: dqkv (and dwk, dwv with relative positions) += from dout, given the forward's out and
/// probs.
#[allow(clippy::too_many_arguments)]
pub fn attention_backward<F: Float>(
    dqkv: &mut [F], dwk: &mut [F], dwv: &mut [F], dout: &[F], out: &[F], probs: &[F], qkv: &[F], wk: &[F], wv: &[F], s: &AttnSpec, b: usize, tq: usize, tk: usize, c: usize,
) {
    let (h_n, dk) = (s.heads, c / s.heads);
    let scale = F::c(1.0 / (dk as f64).sqrt());
    let row = 3 * c;
    for bi in 0..b {
        let x = &qkv[bi * tk * row..(bi + 1) * tk * row];
        let dx = &mut dqkv[bi * tk * row..(bi + 1) * tk * row];
        for h in 0..h_n {
            for qi in 0..tq {
                let i = tk - tq + qi;
                let p = &probs[((bi * h_n + h) * tq + qi) * tk..][..tk];
                let go = &dout[(bi * tq + qi) * c + h * dk..][..dk];
                let o = &out[(bi * tq + qi) * c + h * dk..][..dk];
                let d_i = dot(go, o);
                let q_at = i * row + h * dk;
                let (mut far_a, mut far_ds) = (F::zero(), F::zero());
                for (j, &a) in p.iter().enumerate().take(i + 1) {
                    if a == F::zero() {
                        continue;
                    }
                    let rel = s.rel.map(|kmax| (i - j).min(kmax));
                    // ∂L/∂a_ij = dout_i·(v_j + w^V_r); dv_j += a·dout_i; dw^V_r += a·dout_i.
                    let v_at = j * row + 2 * c + h * dk;
                    let mut da = dot(go, &x[v_at..v_at + dk]);
                    for e in 0..dk {
                        dx[v_at + e] = dx[v_at + e] + a * go[e];
                    }
                    if let Some(r) = rel {
                        da = da + dot(go, &wv[r * dk..(r + 1) * dk]);
                        if Some(r) == s.rel {
                            far_a = far_a + a;
                        } else {
                            for e in 0..dk {
                                dwv[r * dk + e] = dwv[r * dk + e] + a * go[e];
                            }
                        }
                    }
                    // Through the softmax, then the scale: ∂L/∂(q·k) = a·(da − D_i)/√d_k.
                    let ds = a * (da - d_i) * scale;
                    let k_at = j * row + c + h * dk;
                    for e in 0..dk {
                        let kv = x[k_at + e] + rel.map_or(F::zero(), |r| wk[r * dk + e]);
                        dx[q_at + e] = dx[q_at + e] + ds * kv;
                        let qv = x[q_at + e];
                        dx[k_at + e] = dx[k_at + e] + ds * qv;
                        if let Some(r) = rel.filter(|&r| Some(r) != s.rel) {
                            dwk[r * dk + e] = dwk[r * dk + e] + ds * qv;
                        }
                    }
                    if rel.is_some() && rel == s.rel {
                        far_ds = far_ds + ds;
                    }
                }
                // Every key at distance ≥ k shares the clipped row: sum its weights first (one
                // rounding per row instead of one per key).
                if let Some(kmax) = s.rel {
                    for e in 0..dk {
                        dwk[kmax * dk + e] = dwk[kmax * dk + e] + far_ds * x[q_at + e];
                        dwv[kmax * dk + e] = dwv[kmax * dk + e] + far_a * go[e];
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

    fn run(qkv: &[f64], wk: &[f64], wv: &[f64], s: &AttnSpec, tq: usize, tk: usize) -> (Vec<f64>, Vec<f64>) {
        let (mut out, mut probs) = (vec![0.0; B * tq * C], vec![0.0; B * H * tq * tk]);
        attention_forward(&mut out, &mut probs, qkv, wk, wv, s, B, tq, tk, C);
        (out, probs)
    }

    /// L = Σ w·out against central differences in qkv and the relative tables, for every variant,
    /// over a whole window (Tq = Tk) and a stream's last rows (Tq < Tk).
    #[test]
    fn every_variant_matches_finite_differences() {
        let mut rng = Rng::new(31);
        let sparse = Pattern::Sparse { window: 2, stride: 3 };
        for (pattern, alibi, rel) in [(Pattern::Full, false, None), (sparse, false, None), (Pattern::Full, true, None), (Pattern::Full, false, Some(2)), (sparse, true, Some(1))] {
            let s = AttnSpec { heads: H, pattern, alibi, rel };
            for (tq, tk) in [(5, 5), (2, 5)] {
                let qkv = rand(&mut rng, B * tk * 3 * C);
                let nrel = rel.map_or(0, |k| (k + 1) * C / H);
                let (wk, wv) = (rand(&mut rng, nrel), rand(&mut rng, nrel));
                let w = rand(&mut rng, B * tq * C);
                let (out, probs) = run(&qkv, &wk, &wv, &s, tq, tk);
                let (mut dqkv, mut dwk, mut dwv) = (Grad::random(&mut rng, qkv.len()), Grad::random(&mut rng, nrel), Grad::random(&mut rng, nrel));
                attention_backward(&mut dqkv, &mut dwk, &mut dwv, &w, &out, &probs, &qkv, &wk, &wv, &s, B, tq, tk, C);
                let what = format!("{s:?} tq {tq}");
                check(&format!("{what}: d qkv"), &qkv, &dqkv, |x| weighted(&w, &run(x, &wk, &wv, &s, tq, tk).0));
                check(&format!("{what}: d w^K"), &wk, &dwk, |x| weighted(&w, &run(&qkv, x, &wv, &s, tq, tk).0));
                check(&format!("{what}: d w^V"), &wv, &dwv, |x| weighted(&w, &run(&qkv, &wk, x, &s, tq, tk).0));
                // Masked entries have probability 0; rows sum to 1.
                for (r, p) in probs.chunks(tk).enumerate() {
                    let i = tk - tq + r % tq;
                    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                    assert!((0..tk).all(|j| pattern.allowed(i, j) || p[j] == 0.0));
                }
            }
        }
    }

    /// The query rows of a stream (Tq = 1 over a cache of Tk keys) are exactly the last rows of the
    /// full window: what makes the KV cache exact.
    #[test]
    fn a_cached_query_equals_the_last_row_of_the_window() {
        let mut rng = Rng::new(32);
        let s = AttnSpec { heads: H, pattern: Pattern::Sparse { window: 2, stride: 2 }, alibi: true, rel: Some(1) };
        let tk = 6;
        let qkv = rand(&mut rng, B * tk * 3 * C);
        let (wk, wv) = (rand(&mut rng, 2 * C / H), rand(&mut rng, 2 * C / H));
        let (full, _) = run(&qkv, &wk, &wv, &s, tk, tk);
        let (last, _) = run(&qkv, &wk, &wv, &s, 1, tk);
        for bi in 0..B {
            let (a, b) = (&full[(bi * tk + tk - 1) * C..][..C], &last[bi * C..][..C]);
            assert!(a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12));
        }
    }

    #[test]
    fn patterns_and_slopes() {
        let s = Pattern::Sparse { window: 2, stride: 3 };
        let seen: Vec<usize> = (0..=7).filter(|&j| s.allowed(7, j)).collect();
        assert_eq!(seen, [1, 4, 6, 7]);
        assert!(!Pattern::Full.allowed(2, 3));
        assert_eq!(alibi_slope(0, 8), 0.5);
        assert_eq!(alibi_slope(7, 8), 1.0 / 256.0);
    }
}
