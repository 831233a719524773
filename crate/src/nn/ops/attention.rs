//! Multi-head causal self-attention, fused (one pass per (batch, head), one GPU dispatch later), as
//! the course writes it, with the positional terms that live inside the scores:
//!
//! ```text
//! qkv: [B × Tk × 3C] = [Q | K | V], head h of each in columns h·d_k .. (h+1)·d_k  (d_k = C/H)
//! query row qi (of the last Tq rows) sits at position i = Tk − Tq + qi; key j at position j
//! score_ij = q_iᵀ(k_j + w^K_{r_ij}) / √d_k  +  bias_h(i − j)      where allowed(i, j), else −∞
//! a_i      = softmax_j(score_i·)                                    probs: [B × H × Tq × Tk]
//! out_i    = Σ_j a_ij·m_ij (v_j + w^V_{r_ij})                       out: [B × Tq × C] (heads side by side)
//! ```
//! * allowed(i, j): j ≤ i (the causal mask of −∞ above the diagonal), and with the sparse pattern
//!   also i − j < window or (i − j) mod stride = 0 (a local sliding window plus a strided pattern,
//!   Child et al. 2019). Both passes visit only the allowed pairs (`Pattern::keys`), in ascending j,
//!   so the sparse pattern costs O(T·(window + T/stride)), and give what the dense masked
//!   computation gives (masked pairs have a_ij = 0 and add nothing); `probs` keeps its [Tq × Tk]
//!   rows (the attention maps read them), but entries outside the pattern are left unwritten;
//! * m_ij: dropout on the probabilities while training (inverted, 1/(1 − p) or 0, `AttnDropout`),
//!   else 1;
//! * relative positions (Shaw et al. 2018): r_ij = clip(i − j, −k, k); a causal model only ever sees
//!   i − j ≥ 0, so the tables hold the rows r = 0 … k: w^K, w^V: [(k + 1) × d_k], shared by the heads;
//! * ALiBi (Press et al. 2022): bias_h(i − j) = −m_h·(i − j) with slopes m_h = 2^(−8(h+1)/H).
//!
//! Tq < Tk is a stream reading its KV cache: the last Tq rows of `qkv` are the new tokens.
//! The backward uses D_i = Σ_j a_ij·∂L/∂a_ij = ⟨dout_i, out_i⟩ (FlashAttention's identity), so it
//! needs no scratch row.

use super::dropout::Mask;
use super::Float;
use std::iter::{Chain, StepBy};
use std::ops::{Range, RangeInclusive};

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

    /// The key positions query position i reads (exactly those `allowed`), ascending: the strided
    /// columns j ≡ i (mod stride) before the window, then the window [i − window + 1, i]. The
    /// kernels visit only these: O(T·(window + T/stride)) pairs for sparse instead of T².
    #[inline]
    pub fn keys(self, i: usize) -> Chain<StepBy<Range<usize>>, RangeInclusive<usize>> {
        let (lo, strided) = match self {
            Pattern::Full => (0, (0..0).step_by(1)),
            Pattern::Sparse { window, stride } => {
                let lo = (i + 1).saturating_sub(window);
                (lo, if stride > 0 { (i % stride..lo).step_by(stride) } else { (0..0).step_by(1) })
            }
        };
        strided.chain(lo..=i)
    }
}

/// Dropout on the attention probabilities while training (nanoGPT's `attn_dropout`): out_i =
/// Σ_j a_ij·m_ij·(v_j + w^V_r) with m the inverted mask of `nn::ops::dropout`, element (b, h, qi, j)
/// drawn at its index in `probs`. The mask is evaluated again by the backward, never stored; `probs`
/// keeps the undropped a (the softmax backward and the attention maps read them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttnDropout {
    pub p: f32,
    pub seed: u32,
}

/// Everything but the tensors: heads, the mask pattern, ALiBi, the relative clip distance, dropout.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttnSpec {
    pub heads: usize,
    pub pattern: Pattern,
    pub alibi: bool,
    /// Shaw et al.'s k (the tables have k + 1 rows); `None` without relative positions.
    pub rel: Option<usize>,
    /// `None` outside training (evaluation, streams, views) and with p = 0.
    pub dropout: Option<AttnDropout>,
    /// The memory-efficient (FlashAttention) form: `probs` holds only each query row's
    /// log-sum-exp [B × H × Tq] — O(T) memory, not O(T²) — and the backward recomputes the
    /// probabilities from it (a_ij = exp(s_ij − lse_i)). The same O(T²) time; no maps to show.
    pub lse: bool,
}

impl AttnSpec {
    /// The dropout mask of the probabilities (`None` without dropout); every kernel draws it here.
    pub fn mask(&self) -> Option<Mask> {
        self.dropout.map(|d| Mask::new(d.p, d.seed))
    }
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

/// m_ij of `probs` entry `at` (1 without dropout).
#[inline]
fn kept<F: Float>(mask: &Option<Mask>, at: usize) -> F {
    mask.map_or(F::one(), |m| F::c(m.at(at) as f64))
}

/// The score of query position i against key position j, head h: (q_i·k_j + q_i·w^K_r)/√d_k
/// − slope·(i − j).
#[allow(clippy::too_many_arguments)]
#[inline]
fn score<F: Float>(x: &[F], wk: &[F], s: &AttnSpec, c: usize, dk: usize, h: usize, i: usize, j: usize, scale: F, slope: F) -> F {
    let row = 3 * c;
    let q = &x[i * row + h * dk..][..dk];
    let k = &x[j * row + c + h * dk..][..dk];
    let mut qk = dot(q, k);
    if let Some(kmax) = s.rel {
        let r = (i - j).min(kmax);
        qk = qk + dot(q, &wk[r * dk..(r + 1) * dk]);
    }
    qk * scale - slope * F::c((i - j) as f64)
}

/// Forward. `b`, `tq`, `tk`, `c` are the sizes; `wk`, `wv` the relative tables (empty without).
/// Entries of `probs` outside the pattern (a_ij = 0) are not written: O(pairs read), not O(T²);
/// whoever shows the matrix masks it (`Pattern::allowed`). With `s.lse`, `probs` is [B × H × Tq]
/// and gets each row's log-sum-exp (the probabilities go through a one-row scratch).
#[allow(clippy::too_many_arguments)]
pub fn attention_forward<F: Float>(out: &mut [F], probs: &mut [F], qkv: &[F], wk: &[F], wv: &[F], s: &AttnSpec, b: usize, tq: usize, tk: usize, c: usize) {
    let (h_n, dk) = (s.heads, c / s.heads);
    let scale = F::c(1.0 / (dk as f64).sqrt());
    let row = 3 * c;
    let mask = s.mask();
    let mut scratch = vec![F::zero(); if s.lse { tk } else { 0 }];
    for bi in 0..b {
        let x = &qkv[bi * tk * row..(bi + 1) * tk * row];
        for h in 0..h_n {
            let slope = F::c(if s.alibi { alibi_slope(h, h_n) } else { 0.0 });
            for qi in 0..tq {
                let i = tk - tq + qi;
                let at = ((bi * h_n + h) * tq + qi) * tk;
                let p = if s.lse { &mut scratch[..] } else { &mut probs[at..][..tk] };
                let mut max = F::neg_infinity();
                for j in s.pattern.keys(i) {
                    let v = score(x, wk, s, c, dk, h, i, j, scale, slope);
                    p[j] = v;
                    max = max.max(v);
                }
                let mut sum = F::zero();
                for j in s.pattern.keys(i) {
                    p[j] = (p[j] - max).exp();
                    sum = sum + p[j];
                }
                let inv = F::one() / sum;
                let o = &mut out[(bi * tq + qi) * c + h * dk..][..dk];
                o.iter_mut().for_each(|v| *v = F::zero());
                for j in s.pattern.keys(i) {
                    let a = p[j] * inv;
                    p[j] = a;
                    let a = a * kept(&mask, at + j);
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
                if s.lse {
                    probs[(bi * h_n + h) * tq + qi] = max + sum.ln();
                }
            }
        }
    }
}

/// Backward: dqkv (and dwk, dwv with relative positions) += from dout, given the forward's out and
/// probs (and the same spec: dropout's mask is drawn again). With `s.lse`, probs holds the rows'
/// log-sum-exps and each row's probabilities are recomputed.
#[allow(clippy::too_many_arguments)]
pub fn attention_backward<F: Float>(
    dqkv: &mut [F], dwk: &mut [F], dwv: &mut [F], dout: &[F], out: &[F], probs: &[F], qkv: &[F], wk: &[F], wv: &[F], s: &AttnSpec, b: usize, tq: usize, tk: usize, c: usize,
) {
    let (h_n, dk) = (s.heads, c / s.heads);
    let scale = F::c(1.0 / (dk as f64).sqrt());
    let row = 3 * c;
    let mask = s.mask();
    let mut scratch = vec![F::zero(); if s.lse { tk } else { 0 }];
    for bi in 0..b {
        let x = &qkv[bi * tk * row..(bi + 1) * tk * row];
        let dx = &mut dqkv[bi * tk * row..(bi + 1) * tk * row];
        for h in 0..h_n {
            let slope = F::c(if s.alibi { alibi_slope(h, h_n) } else { 0.0 });
            for qi in 0..tq {
                let i = tk - tq + qi;
                let at = ((bi * h_n + h) * tq + qi) * tk;
                let p = if s.lse {
                    // The memory-efficient form: the row's probabilities again, from its log-sum-exp.
                    let lse = probs[(bi * h_n + h) * tq + qi];
                    for j in s.pattern.keys(i) {
                        scratch[j] = (score(x, wk, s, c, dk, h, i, j, scale, slope) - lse).exp();
                    }
                    &scratch[..]
                } else {
                    &probs[at..][..tk]
                };
                let go = &dout[(bi * tq + qi) * c + h * dk..][..dk];
                let o = &out[(bi * tq + qi) * c + h * dk..][..dk];
                // D_i = Σ_j a_ij·∂L/∂a_ij = Σ_j a_ij·m_ij·dout_i·(v_j + w^V_r) = ⟨dout_i, out_i⟩,
                // with dropout too.
                let d_i = dot(go, o);
                let q_at = i * row + h * dk;
                let (mut far_a, mut far_ds) = (F::zero(), F::zero());
                for j in s.pattern.keys(i) {
                    let a = p[j];
                    if a == F::zero() {
                        continue;
                    }
                    let rel = s.rel.map(|kmax| (i - j).min(kmax));
                    // With ã = a·m: ∂L/∂ã_ij = dout_i·(v_j + w^V_r), ∂L/∂a_ij = m·that;
                    // dv_j += ã·dout_i; dw^V_r += ã·dout_i. A dropped pair (ã = 0) still has
                    // ∂L/∂a = 0 against D_i in the softmax's backward below.
                    let m = kept(&mask, at + j);
                    let dropped = a * m;
                    let mut da = F::zero();
                    if dropped != F::zero() {
                        let v_at = j * row + 2 * c + h * dk;
                        da = dot(go, &x[v_at..v_at + dk]);
                        for e in 0..dk {
                            dx[v_at + e] = dx[v_at + e] + dropped * go[e];
                        }
                        if let Some(r) = rel {
                            da = da + dot(go, &wv[r * dk..(r + 1) * dk]);
                            if Some(r) == s.rel {
                                far_a = far_a + dropped;
                            } else {
                                for e in 0..dk {
                                    dwv[r * dk + e] = dwv[r * dk + e] + dropped * go[e];
                                }
                            }
                        }
                        da = da * m;
                    }
                    // Through the softmax (the undropped a), then the scale:
                    // ∂L/∂(q·k) = a·(da − D_i)/√d_k.
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
        // NaN: what the forward leaves unwritten (the pairs outside the pattern) shows.
        let (mut out, mut probs) = (vec![0.0; B * tq * C], vec![f64::NAN; B * H * tq * tk]);
        attention_forward(&mut out, &mut probs, qkv, wk, wv, s, B, tq, tk, C);
        (out, probs)
    }

    /// The memory-efficient form (each row's log-sum-exp kept, the probabilities recomputed in the
    /// backward) computes the same output and gradients as the form that keeps the probabilities,
    /// for every variant.
    #[test]
    fn the_memory_efficient_form_equals_the_stored_one() {
        let mut rng = Rng::new(37);
        let sparse = Pattern::Sparse { window: 2, stride: 3 };
        let drop = Some(AttnDropout { p: 0.3, seed: 5 });
        for (pattern, alibi, rel, dropout) in [(Pattern::Full, false, None, None), (sparse, true, Some(1), None), (Pattern::Full, false, Some(2), drop), (sparse, false, None, drop)] {
            for (tq, tk) in [(5, 5), (2, 5)] {
                let qkv = rand(&mut rng, B * tk * 3 * C);
                let dk = C / H;
                let (wk, wv) = if rel.is_some() { (rand(&mut rng, 3 * dk), rand(&mut rng, 3 * dk)) } else { (vec![], vec![]) };
                let dout = rand(&mut rng, B * tq * C);
                let mut results = Vec::new();
                for lse in [false, true] {
                    let s = AttnSpec { heads: H, pattern, alibi, rel, dropout, lse };
                    let mut out = vec![0.0; B * tq * C];
                    let mut probs = vec![0.0; B * H * tq * if lse { 1 } else { tk }];
                    attention_forward(&mut out, &mut probs, &qkv, &wk, &wv, &s, B, tq, tk, C);
                    let (mut dqkv, mut dwk, mut dwv) = (vec![0.0; qkv.len()], vec![0.0; wk.len()], vec![0.0; wv.len()]);
                    attention_backward(&mut dqkv, &mut dwk, &mut dwv, &dout, &out, &probs, &qkv, &wk, &wv, &s, B, tq, tk, C);
                    results.push((out, dqkv, dwk, dwv));
                }
                let (a, b) = (&results[0], &results[1]);
                for (what, x, y) in [("out", &a.0, &b.0), ("dqkv", &a.1, &b.1), ("dwk", &a.2, &b.2), ("dwv", &a.3, &b.3)] {
                    for (u, v) in x.iter().zip(y.iter()) {
                        assert!((u - v).abs() <= 1e-12 * (1.0 + u.abs()), "{pattern:?} rel {rel:?} tq {tq} {what}: {u} vs {v}");
                    }
                }
            }
        }
    }

    /// L = Σ w·out against central differences in qkv and the relative tables, for every variant,
    /// with dropout on the probabilities too (a fixed seed: a fixed mask), over a whole window
    /// (Tq = Tk) and a stream's last rows (Tq < Tk).
    #[test]
    fn every_variant_matches_finite_differences() {
        let mut rng = Rng::new(31);
        let sparse = Pattern::Sparse { window: 2, stride: 3 };
        let drop = Some(AttnDropout { p: 0.3, seed: 17 });
        let variants = [
            (Pattern::Full, false, None, None),
            (sparse, false, None, None),
            (Pattern::Full, true, None, None),
            (Pattern::Full, false, Some(2), None),
            (sparse, true, Some(1), None),
            (Pattern::Full, false, None, drop),
            (sparse, false, None, drop),
            (Pattern::Full, true, None, drop),
            (Pattern::Full, false, Some(2), drop),
            (sparse, true, Some(1), drop),
        ];
        for (pattern, alibi, rel, dropout) in variants {
            let s = AttnSpec { heads: H, pattern, alibi, rel, dropout, lse: false };
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
                // Allowed entries sum to 1 (the undropped probabilities); masked ones are not written.
                for (r, p) in probs.chunks(tk).enumerate() {
                    let i = tk - tq + r % tq;
                    assert!(((0..tk).filter(|&j| pattern.allowed(i, j)).map(|j| p[j]).sum::<f64>() - 1.0).abs() < 1e-12);
                    assert!((0..tk).all(|j| pattern.allowed(i, j) != p[j].is_nan()));
                }
            }
        }
    }

    fn dotf(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    /// The dense masked computation, written plainly from the module comment's formulas: every
    /// (i, j) pair, −∞ where not allowed, the softmax over the whole row, out = Σ a·m·(v + w^V); its
    /// backward by the chain rule through the softmax's Jacobian (a_j·(dA_j − Σ_k a_k·dA_k), not the
    /// D_i identity). Returns out, probs, dqkv, dwk, dwv (gradients from zero).
    #[allow(clippy::too_many_arguments)]
    fn dense(qkv: &[f64], wk: &[f64], wv: &[f64], s: &AttnSpec, b: usize, tq: usize, tk: usize, c: usize, dout: &[f64]) -> [Vec<f64>; 5] {
        let (hn, dk) = (s.heads, c / s.heads);
        let sq = (dk as f64).sqrt();
        let mask = s.mask();
        let (mut out, mut probs) = (vec![0.0; b * tq * c], vec![0.0; b * hn * tq * tk]);
        let (mut dqkv, mut dwk, mut dwv) = (vec![0.0; qkv.len()], vec![0.0; wk.len()], vec![0.0; wv.len()]);
        let at = |bi: usize, t: usize, part: usize, h: usize| (bi * tk + t) * 3 * c + part * c + h * dk;
        for bi in 0..b {
            for h in 0..hn {
                let slope = if s.alibi { alibi_slope(h, hn) } else { 0.0 };
                for qi in 0..tq {
                    let i = tk - tq + qi;
                    let r = |j: usize| s.rel.map(|k| (i - j).min(k));
                    // k_j + w^K_r and v_j + w^V_r (allowed j only: j ≤ i).
                    let plus = |j: usize, part: usize, table: &[f64]| (0..dk).map(|e| qkv[at(bi, j, part, h) + e] + r(j).map_or(0.0, |r| table[r * dk + e])).collect::<Vec<f64>>();
                    let q = &qkv[at(bi, i, 0, h)..][..dk];
                    let score: Vec<f64> = (0..tk).map(|j| if s.pattern.allowed(i, j) { dotf(q, &plus(j, 1, wk)) / sq - slope * (i - j) as f64 } else { f64::NEG_INFINITY }).collect();
                    let max = score.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let z: f64 = score.iter().map(|x| (x - max).exp()).sum();
                    let row = ((bi * hn + h) * tq + qi) * tk;
                    let go = &dout[(bi * tq + qi) * c + h * dk..][..dk];
                    let mut da = vec![0.0; tk];
                    for j in (0..tk).filter(|&j| s.pattern.allowed(i, j)) {
                        let a = (score[j] - max).exp() / z;
                        probs[row + j] = a;
                        let m = mask.map_or(1.0, |mk| mk.at(row + j) as f64);
                        let v = plus(j, 2, wv);
                        for e in 0..dk {
                            out[(bi * tq + qi) * c + h * dk + e] += a * m * v[e];
                            dqkv[at(bi, j, 2, h) + e] += a * m * go[e];
                            if let Some(r) = r(j) {
                                dwv[r * dk + e] += a * m * go[e];
                            }
                        }
                        da[j] = m * dotf(go, &v);
                    }
                    let a = &probs[row..row + tk];
                    let mean = dotf(a, &da);
                    for j in (0..tk).filter(|&j| s.pattern.allowed(i, j)) {
                        let ds = a[j] * (da[j] - mean) / sq;
                        let k = plus(j, 1, wk);
                        for e in 0..dk {
                            dqkv[at(bi, i, 0, h) + e] += ds * k[e];
                            dqkv[at(bi, j, 1, h) + e] += ds * q[e];
                            if let Some(r) = r(j) {
                                dwk[r * dk + e] += ds * q[e];
                            }
                        }
                    }
                }
            }
        }
        [out, probs, dqkv, dwk, dwv]
    }

    /// The kernels visit only the allowed pairs: they give the dense masked computation, forward
    /// and backward, on shapes where T is no multiple of the window or the stride, the window is
    /// longer than T, the stride is 1 or 0, with ALiBi, relative positions and dropout.
    #[test]
    fn the_sparse_kernel_equals_the_dense_masked_computation() {
        let mut rng = Rng::new(33);
        let sp = |window, stride| Pattern::Sparse { window, stride };
        let drop = Some(AttnDropout { p: 0.25, seed: 5 });
        let cases = [
            // (b, heads, c, tq, tk, pattern, alibi, rel, dropout)
            (2, 2, 6, 13, 13, sp(3, 4), false, None, None),
            (1, 3, 6, 11, 11, sp(20, 3), true, None, None),
            (2, 2, 4, 9, 9, sp(2, 1), false, Some(2), None),
            (1, 2, 8, 10, 10, sp(4, 0), true, Some(20), drop),
            (2, 1, 3, 7, 7, sp(1, 5), false, None, drop),
            (1, 2, 6, 3, 12, sp(3, 5), true, Some(3), None),
            (2, 2, 6, 12, 12, Pattern::Full, true, Some(3), drop),
            (1, 2, 4, 2, 9, Pattern::Full, false, None, None),
        ];
        for (b, heads, c, tq, tk, pattern, alibi, rel, dropout) in cases {
            let s = AttnSpec { heads, pattern, alibi, rel, dropout, lse: false };
            let nrel = rel.map_or(0, |k| (k + 1) * c / heads);
            let (qkv, wk, wv, dout) = (rand(&mut rng, b * tk * 3 * c), rand(&mut rng, nrel), rand(&mut rng, nrel), rand(&mut rng, b * tq * c));
            let (mut out, mut probs) = (vec![0.0; b * tq * c], vec![f64::NAN; b * heads * tq * tk]);
            attention_forward(&mut out, &mut probs, &qkv, &wk, &wv, &s, b, tq, tk, c);
            let (mut dqkv, mut dwk, mut dwv) = (vec![0.0; qkv.len()], vec![0.0; nrel], vec![0.0; nrel]);
            attention_backward(&mut dqkv, &mut dwk, &mut dwv, &dout, &out, &probs, &qkv, &wk, &wv, &s, b, tq, tk, c);
            let want = dense(&qkv, &wk, &wv, &s, b, tq, tk, c, &dout);
            // The pairs outside the pattern are left unwritten (NaN here), the oracle's are 0.
            let allowed = |k: usize| s.pattern.allowed(tk - tq + (k / tk) % tq, k % tk);
            assert!(probs.iter().enumerate().all(|(k, p)| allowed(k) != p.is_nan()));
            let probs: Vec<f64> = probs.iter().map(|&p| if p.is_nan() { 0.0 } else { p }).collect();
            for (name, got, want) in [("out", &out, &want[0]), ("probs", &probs, &want[1]), ("dqkv", &dqkv, &want[2]), ("dwk", &dwk, &want[3]), ("dwv", &dwv, &want[4])] {
                for (k, (g, w)) in got.iter().zip(want).enumerate() {
                    assert!((g - w).abs() <= 1e-12 * w.abs().max(1.0), "{s:?} tq {tq} tk {tk}: {name}[{k}] {g} vs {w}");
                }
            }
        }
    }

    /// `keys` lists exactly the allowed positions, ascending, for every query of every pattern.
    #[test]
    fn the_keys_are_the_allowed_positions() {
        for pattern in [Pattern::Full, Pattern::Sparse { window: 3, stride: 4 }, Pattern::Sparse { window: 9, stride: 2 }, Pattern::Sparse { window: 1, stride: 1 }, Pattern::Sparse { window: 2, stride: 0 }] {
            for i in 0..20 {
                let want: Vec<usize> = (0..=i).filter(|&j| pattern.allowed(i, j)).collect();
                assert_eq!(pattern.keys(i).collect::<Vec<_>>(), want, "{pattern:?} i {i}");
            }
        }
    }

    /// Dropout on the probabilities: with uniform attention (q = k = 0) and one-hot values
    /// (v_j = e_j), out_i[j] = a_ij·m_ij reads the mask off: the existing dropout's mask at the
    /// entry's index in `probs`, kept with probability 1 − p, mean 1; `probs` stays undropped.
    /// p = 0 is bit for bit no dropout.
    #[test]
    fn dropout_keeps_one_minus_p_and_the_mean() {
        let (b, heads, t, p) = (20, 2, 32, 0.25f32);
        let c = heads * t;
        let mut qkv = vec![0.0f64; b * t * 3 * c];
        for bi in 0..b {
            for j in 0..t {
                for h in 0..heads {
                    qkv[(bi * t + j) * 3 * c + 2 * c + h * t + j] = 1.0;
                }
            }
        }
        let s = AttnSpec { heads, pattern: Pattern::Full, alibi: false, rel: None, dropout: Some(AttnDropout { p, seed: 99 }), lse: false };
        let (mut out, mut probs) = (vec![0.0; b * t * c], vec![0.0; b * heads * t * t]);
        attention_forward(&mut out, &mut probs, &qkv, &[], &[], &s, b, t, t, c);
        let rule = Mask::new(p, 99);
        let (mut n, mut kept, mut sum) = (0usize, 0usize, 0.0f64);
        for bi in 0..b {
            for h in 0..heads {
                for i in 0..t {
                    let row = ((bi * heads + h) * t + i) * t;
                    for j in 0..=i {
                        let a = 1.0 / (i + 1) as f64;
                        assert!((probs[row + j] - a).abs() < 1e-15);
                        let m = out[(bi * t + i) * c + h * t + j] / a;
                        assert!((m - rule.at(row + j) as f64).abs() < 1e-9);
                        n += 1;
                        kept += usize::from(m != 0.0);
                        sum += m;
                    }
                }
            }
        }
        let (kept, mean) = (kept as f64 / n as f64, sum / n as f64);
        assert!((kept - 0.75).abs() < 0.015 && (mean - 1.0).abs() < 0.02, "kept {kept}, mean {mean} over {n}");
        // p = 0: the same bits as no dropout, forward and backward.
        let mut rng = Rng::new(34);
        let qkv = rand(&mut rng, B * 7 * 3 * C);
        let (wk, wv, dout) = (rand(&mut rng, 3 * C / H), rand(&mut rng, 3 * C / H), rand(&mut rng, B * 7 * C));
        let bits = |dropout| {
            let s = AttnSpec { heads: H, pattern: Pattern::Sparse { window: 2, stride: 3 }, alibi: true, rel: Some(2), dropout, lse: false };
            let (out, probs) = run(&qkv, &wk, &wv, &s, 7, 7);
            let (mut dqkv, mut dwk, mut dwv) = (vec![0.0; qkv.len()], vec![0.0; wk.len()], vec![0.0; wv.len()]);
            attention_backward(&mut dqkv, &mut dwk, &mut dwv, &dout, &out, &probs, &qkv, &wk, &wv, &s, B, 7, 7, C);
            [out, probs, dqkv, dwk, dwv].concat().iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        };
        assert_eq!(bits(None), bits(Some(AttnDropout { p: 0.0, seed: 3 })));
    }

    /// The query rows of a stream (Tq = 1 over a cache of Tk keys) are exactly the last rows of the
    /// full window: what makes the KV cache exact.
    #[test]
    fn a_cached_query_equals_the_last_row_of_the_window() {
        let mut rng = Rng::new(32);
        let s = AttnSpec { heads: H, pattern: Pattern::Sparse { window: 2, stride: 2 }, alibi: true, rel: Some(1), dropout: None, lse: false };
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
