//! The CPU backend's attention: the formulas of `ops::attention` (the oracle, one query row at a
//! time with f64 sums) rearranged into small sgemms per (batch, head), so the score and output
//! products run through the SIMD micro-kernel. Tested against the oracle below.
//!
//! ```text
//! per (batch b, head h), per block of R query rows [q0, q1) whose keys are 0 … nk−1 (causal: nk = Tk − Tq + q1)
//!   S   [R × nk]  = Q_blk · K[0..nk]ᵀ                    into probs (row stride Tk)
//!   QW  [R × k+1] = Q_blk · W^Kᵀ                         relative positions: score_ij += QW[i, r_ij]
//!   P   = softmax(S·/√d_k + QW[·, r]/√d_k − m_h·(i − j), masked)   in place; columns ≥ nk are 0
//!   O   [R × d_k] = P · V[0..nk]  (+ A · W^V, A[i, r] = Σ_{j: r_ij = r} P_ij)
//! backward, from dO:
//!   dP  = dO · Vᵀ (+ dO·W^Vᵀ gathered by r)   dV += Pᵀ·dO   dW^V += Aᵀ·dO
//!   dS  = P ⊙ (dP − D)/√d_k, D_i = Σ_j P_ij·dP_ij  (= ⟨dO_i, O_i⟩, FlashAttention's identity)
//!   dQ += dS·K (+ dQW·W^K, dQW[i, r] = Σ_{j: r_ij = r} dS_ij)   dK += dSᵀ·Q   dW^K += dQWᵀ·Q
//! ```
//! With dropout on the probabilities (training), the products read P ⊙ m, m the oracle's mask
//! drawn at each entry's index in `probs`, and dP = m ⊙ d(P ⊙ m); `probs` keeps P.
//!
//! Blocking the query rows skips most of the keys above the diagonal: at T = 64 with R = 16 the
//! products touch 62 % of the T² pairs, the oracle's loop half of them but one at a time.
//! Only the full pattern comes here; the sparse pattern's kernel visits the allowed pairs only
//! (`ops::attention`), which for long windows is the point of the pattern.

use crate::nn::kernels::{GemmScratch, Kernels, MatRef, PackedB};
use crate::nn::ops::attention::{alibi_slope, AttnSpec, Pattern};
use crate::nn::ops::dropout::Mask;

/// Query rows per block.
const R: usize = 16;

/// Whether this path computes `s` (otherwise the oracle does). Dropout on the probabilities (m_ij,
/// `AttnDropout`) is the oracle's mask, drawn at the same indices: the products read P ⊙ m.
pub fn handles(s: &AttnSpec) -> bool {
    s.pattern == Pattern::Full && !s.lse && std::env::var("ORACLE").is_err()
}

/// Floats of work space a call needs: a block's dP/dS (R × Tk), the relative terms (two R × (k+1))
/// and a head's keys and values packed for the products that read all of them ([`Packs`]).
pub fn work_floats(kern: &Kernels, s: &AttnSpec, tk: usize, c: usize) -> usize {
    2 * R * tk + 2 * R * s.rel.map_or(0, |k| k + 1) + Packs::floats(kern, tk, c / s.heads)
}

/// A head's K and V packed once as the B of the products every query block repeats (the blocks
/// read the first nk keys of the same matrices): S = Q·Kᵀ and O = P·V forward, dP = dO·Vᵀ and
/// dQ = dS·K backward. `t` holds a d_k × Tk transpose (Kᵀ or Vᵀ), `m` a Tk × d_k matrix (V or K).
struct Packs<'a> {
    t: &'a mut [f32],
    m: &'a mut [f32],
}

impl<'a> Packs<'a> {
    fn floats(kern: &Kernels, tk: usize, dk: usize) -> usize {
        (kern.packed_b_floats)(dk, tk) + (kern.packed_b_floats)(tk, dk)
    }
    fn split(kern: &Kernels, work: &'a mut [f32], tk: usize, dk: usize) -> Packs<'a> {
        let (t, m) = work.split_at_mut((kern.packed_b_floats)(dk, tk));
        Packs { t, m: &mut m[..(kern.packed_b_floats)(tk, dk)] }
    }
    /// Packs `xt` (read transposed: d_k × Tk) and `xm` (Tk × d_k): head columns of a qkv sequence.
    fn pack(&mut self, kern: &Kernels, d: &Dims, xt: MatRef, xm: MatRef) -> (PackedB<'_>, PackedB<'_>) {
        (kern.pack_b)(d.dk, d.tk, xt, self.t);
        (kern.pack_b)(d.tk, d.dk, xm, self.m);
        (PackedB { data: self.t, k: d.dk, n: d.tk }, PackedB { data: self.m, k: d.tk, n: d.dk })
    }
}

/// The dropped probabilities a·m of a block (`rows` rows of `nk` keys), m evaluated at each entry's
/// index in `probs` (`at0`: the block's first), as the oracle draws it.
fn drop_block(mask: &Mask, p: &[f32], at0: usize, rows: usize, nk: usize, tk: usize, out: &mut [f32]) {
    for r in 0..rows {
        for j in 0..nk {
            out[r * tk + j] = p[r * tk + j] * mask.at(at0 + r * tk + j);
        }
    }
}

/// The sizes and views every product shares.
struct Dims {
    heads: usize,
    dk: usize,
    c: usize,
    tq: usize,
    tk: usize,
    scale: f32,
}

impl Dims {
    fn new(s: &AttnSpec, tq: usize, tk: usize, c: usize) -> Dims {
        let dk = c / s.heads;
        Dims { heads: s.heads, dk, c, tq, tk, scale: (1.0 / (dk as f64).sqrt()) as f32 }
    }
    /// Rows of Q (0), K (1) or V (2) of head h in a batch's qkv, from key row `r0`.
    fn qkv<'a>(&self, x: &'a [f32], part: usize, h: usize, r0: usize) -> MatRef<'a> {
        MatRef { data: &x[r0 * 3 * self.c + part * self.c + h * self.dk..], rs: 3 * self.c, cs: 1 }
    }
    /// The keys of query row qi's block end: causal, so a block of rows up to q1 reads keys < nk.
    fn keys(&self, q1: usize) -> usize {
        self.tk - self.tq + q1
    }
}

/// r_ij for a causal pair: min(i − j, k).
#[inline]
fn rel_index(i: usize, j: usize, kmax: usize) -> usize {
    (i - j).min(kmax)
}

/// Sums the row's entries `v[0..=i]` into buckets by r_ij: bucket r < k holds the one entry at
/// j = i − r, bucket k the sum of every j ≤ i − k (in f64, rounded once, as the oracle does).
fn bucket(v: &[f32], i: usize, kmax: usize, out: &mut [f32]) {
    out.fill(0.0);
    let far = (i + 1).saturating_sub(kmax);
    out[kmax] = v[..far].iter().map(|&x| x as f64).sum::<f64>() as f32;
    for j in far..=i {
        out[i - j] = v[j];
    }
}

/// Forward: out [B × Tq × C], probs [B × H × Tq × Tk] from qkv [B × Tk × 3C] and the relative tables
/// (`wk`, `wv`: [(k+1) × d_k], empty without), for the full pattern.
#[allow(clippy::too_many_arguments)]
pub fn forward(kern: &Kernels, scratch: &mut GemmScratch, work: &mut [f32], out: &mut [f32], probs: &mut [f32], qkv: &[f32], wk: &[f32], wv: &[f32], s: &AttnSpec, b: usize, tq: usize, tk: usize, c: usize) {
    let d = Dims::new(s, tq, tk, c);
    let (dk, nrel) = (d.dk, s.rel.map_or(0, |k| k + 1));
    let mask = s.mask();
    let (pd, rest) = work.split_at_mut(R * tk);
    let (qw, rest) = rest.split_at_mut(R * nrel);
    let (abuck, rest) = rest.split_at_mut(R * nrel);
    let mut packs = Packs::split(kern, rest, tk, dk);
    for bi in 0..b {
        let x = &qkv[bi * tk * 3 * c..(bi + 1) * tk * 3 * c];
        for h in 0..d.heads {
            let slope = if s.alibi { alibi_slope(h, d.heads) as f32 } else { 0.0 };
            let pbase = (bi * d.heads + h) * tq * tk;
            // Kᵀ (K read transposed in place: rows are the key's columns) and V.
            let (kt, vm) = packs.pack(kern, &d, MatRef { data: &x[c + h * dk..], rs: 1, cs: 3 * c }, d.qkv(x, 2, h, 0));
            for q0 in (0..tq).step_by(R) {
                let (q1, nk) = ((q0 + R).min(tq), d.keys((q0 + R).min(tq)));
                let rows = q1 - q0;
                let qm = d.qkv(x, 0, h, tk - tq + q0);
                let p = &mut probs[pbase + q0 * tk..pbase + q1 * tk];
                // S = Q·Kᵀ over the keys this block sees.
                (kern.sgemm_packed_b)(rows, nk, dk, qm, kt, p, tk, false, scratch);
                if s.rel.is_some() {
                    let wkt = MatRef { data: wk, rs: 1, cs: dk };
                    (kern.sgemm)(rows, nrel, dk, qm, wkt, qw, nrel, false, scratch);
                }
                for r in 0..rows {
                    // Causal: row i's keys are 0..=i (i < nk); the rest of the row is 0.
                    let i = tk - tq + q0 + r;
                    let (live, masked) = p[r * tk..(r + 1) * tk].split_at_mut(i + 1);
                    let mut max = f32::NEG_INFINITY;
                    for (j, v) in live.iter_mut().enumerate() {
                        let mut sc = *v;
                        if let Some(kmax) = s.rel {
                            sc += qw[r * nrel + rel_index(i, j, kmax)];
                        }
                        *v = sc * d.scale - slope * (i - j) as f32;
                        if *v > max {
                            max = *v; // not f32::max: a call to fmaxf in wasm
                        }
                    }
                    let sum = (kern.exp_sum)(live, max);
                    (kern.scale)(1.0 / sum, live);
                    masked.fill(0.0);
                }
                // With dropout the products read P ⊙ m; `probs` keeps P.
                let pm: &[f32] = match &mask {
                    Some(m) => {
                        drop_block(m, p, pbase + q0 * tk, rows, nk, tk, pd);
                        pd
                    }
                    None => p,
                };
                if let Some(kmax) = s.rel {
                    for r in 0..rows {
                        bucket(&pm[r * tk..(r + 1) * tk], tk - tq + q0 + r, kmax, &mut abuck[r * nrel..(r + 1) * nrel]);
                    }
                }
                // O = (P ⊙ m)·V (+ A·W^V) into the head's columns of out.
                let o = &mut out[(bi * tq + q0) * c + h * dk..];
                (kern.sgemm_packed_b)(rows, dk, nk, MatRef::rows(pm, tk), vm, o, c, false, scratch);
                if s.rel.is_some() {
                    (kern.sgemm)(rows, dk, nrel, MatRef::rows(abuck, nrel), MatRef::rows(wv, dk), o, c, true, scratch);
                }
            }
        }
    }
}

/// Backward: dqkv (and dwk, dwv with relative positions) += from dout, given the forward's out and
/// probs; the oracle's contract (`ops::attention::attention_backward`). `out` is unused: D comes from dP.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    kern: &Kernels, scratch: &mut GemmScratch, work: &mut [f32], dqkv: &mut [f32], dwk: &mut [f32], dwv: &mut [f32], dout: &[f32], _out: &[f32], probs: &[f32], qkv: &[f32], wk: &[f32], wv: &[f32], s: &AttnSpec, b: usize, tq: usize,
    tk: usize, c: usize,
) {
    let d = Dims::new(s, tq, tk, c);
    let (dk, nrel) = (d.dk, s.rel.map_or(0, |k| k + 1));
    let mask = s.mask();
    let (ds, rest) = work.split_at_mut(R * tk);
    let (pd, rest) = rest.split_at_mut(R * tk);
    let (dqw, rest) = rest.split_at_mut(R * nrel);
    let (abuck, rest) = rest.split_at_mut(R * nrel);
    let mut packs = Packs::split(kern, rest, tk, dk);
    let row3 = 3 * c;
    for bi in 0..b {
        let x = &qkv[bi * tk * row3..(bi + 1) * tk * row3];
        let dx = &mut dqkv[bi * tk * row3..(bi + 1) * tk * row3];
        for h in 0..d.heads {
            let pbase = (bi * d.heads + h) * tq * tk;
            // Vᵀ (read transposed in place) and K.
            let (vt, km) = packs.pack(kern, &d, MatRef { data: &x[2 * c + h * dk..], rs: 1, cs: row3 }, d.qkv(x, 1, h, 0));
            for q0 in (0..tq).step_by(R) {
                let (q1, nk) = ((q0 + R).min(tq), d.keys((q0 + R).min(tq)));
                let rows = q1 - q0;
                let i0 = tk - tq + q0;
                let p = &probs[pbase + q0 * tk..pbase + q1 * tk];
                let pm: &[f32] = match &mask {
                    Some(m) => {
                        drop_block(m, p, pbase + q0 * tk, rows, nk, tk, pd);
                        pd
                    }
                    None => p,
                };
                let go = MatRef { data: &dout[(bi * tq + q0) * c + h * dk..], rs: c, cs: 1 };
                // d(P ⊙ m) = dO·Vᵀ (+ dO·W^Vᵀ gathered by r).
                (kern.sgemm_packed_b)(rows, nk, dk, go, vt, ds, tk, false, scratch);
                if let Some(kmax) = s.rel {
                    (kern.sgemm)(rows, nrel, dk, go, MatRef { data: wv, rs: 1, cs: dk }, dqw, nrel, false, scratch);
                    for r in 0..rows {
                        let i = i0 + r;
                        for j in 0..=i {
                            ds[r * tk + j] += dqw[r * nrel + rel_index(i, j, kmax)];
                        }
                        bucket(&pm[r * tk..(r + 1) * tk], i, kmax, &mut abuck[r * nrel..(r + 1) * nrel]);
                    }
                    // dW^V += Aᵀ·dO.
                    (kern.sgemm)(nrel, dk, rows, MatRef { data: abuck, rs: 1, cs: nrel }, go, dwv, dk, true, scratch);
                }
                // dV += (P ⊙ m)ᵀ·dO.
                let pt = MatRef { data: pm, rs: 1, cs: tk };
                (kern.sgemm)(nk, dk, rows, pt, go, &mut dx[2 * c + h * dk..], row3, true, scratch);
                // dS = P ⊙ (dP − D)/√d_k, with D_i = Σ_j P_ij·dP_ij (= ⟨dO_i, O_i⟩) from the same dP:
                // the dominant key's error in dP then enters scaled by 1 − P_ij, not by 1.
                for r in 0..rows {
                    let (pr, dr) = (&p[r * tk..r * tk + nk], &mut ds[r * tk..r * tk + nk]);
                    if let Some(m) = &mask {
                        let at = pbase + (q0 + r) * tk;
                        dr.iter_mut().enumerate().for_each(|(j, g)| *g *= m.at(at + j));
                    }
                    let di = pr.iter().zip(dr.iter()).map(|(&a, &g)| a as f64 * g as f64).sum::<f64>() as f32;
                    for (g, &a) in dr.iter_mut().zip(pr) {
                        *g = a * (*g - di) * d.scale;
                    }
                    if let Some(kmax) = s.rel {
                        bucket(dr, i0 + r, kmax, &mut dqw[r * nrel..(r + 1) * nrel]);
                    }
                }
                let dsm = MatRef::rows(ds, tk);
                let qm = d.qkv(x, 0, h, i0);
                // dQ += dS·K (+ dQW·W^K); dK += dSᵀ·Q; dW^K += dQWᵀ·Q.
                (kern.sgemm_packed_b)(rows, dk, nk, dsm, km, &mut dx[i0 * row3 + h * dk..], row3, true, scratch);
                (kern.sgemm)(nk, dk, rows, MatRef { data: ds, rs: 1, cs: tk }, qm, &mut dx[c + h * dk..], row3, true, scratch);
                if s.rel.is_some() {
                    (kern.sgemm)(rows, dk, nrel, MatRef::rows(dqw, nrel), MatRef::rows(wk, dk), &mut dx[i0 * row3 + h * dk..], row3, true, scratch);
                    (kern.sgemm)(nrel, dk, rows, MatRef { data: dqw, rs: 1, cs: nrel }, qm, dwk, dk, true, scratch);
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
    use crate::nn::kernels::flavours;
    use crate::nn::ops::attention::{attention_backward, attention_forward, AttnDropout};
    use crate::rng::Rng;

    fn rand(rng: &mut Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.normal() as f32).collect()
    }

    fn wide(x: &[f32]) -> Vec<f64> {
        x.iter().map(|&v| v as f64).collect()
    }

    /// max |x − truth| over max |truth|.
    fn error(x: &[f32], truth: &[f64]) -> f64 {
        let big = truth.iter().fold(1e-30f64, |m, v| m.max(v.abs()));
        x.iter().zip(truth).map(|(&a, b)| (a as f64 - b).abs()).fold(0.0, f64::max) / big
    }

    /// Against the oracle computed in f64 (the truth), this path's error is at most a small multiple
    /// of the f32 oracle's own, for every flavour's sgemm, with and without ALiBi, relative
    /// positions and dropout on the probabilities, over windows (Tq = Tk) and stream rows (Tq < Tk), with T not a multiple of the
    /// block (and below it) and several head widths.
    #[test]
    fn is_as_accurate_as_the_oracle() {
        let mut rng = Rng::new(41);
        let mut worst = 0.0f64;
        for (heads, c) in [(2, 12), (4, 32), (3, 9)] {
            let drop = Some(AttnDropout { p: 0.3, seed: 5 });
            for (alibi, rel, dropout) in [(false, None, None), (true, None, None), (false, Some(3), None), (true, Some(40), None), (false, None, drop), (true, Some(2), drop)] {
                let s = AttnSpec { heads, pattern: Pattern::Full, alibi, rel, dropout, lse: false };
                for (b, tq, tk) in [(2, 37, 37), (1, 5, 5), (2, 3, 21), (1, 1, 18), (1, 16, 16)] {
                    let dk = c / heads;
                    let nrel = rel.map_or(0, |k| k + 1) * dk;
                    let qkv = rand(&mut rng, b * tk * 3 * c);
                    let (wk, wv) = (rand(&mut rng, nrel), rand(&mut rng, nrel));
                    let dout = rand(&mut rng, b * tq * c);
                    let start = rand(&mut rng, qkv.len());
                    // The truth: the oracle in f64 on the same (f32) inputs.
                    let (mut ot, mut pt) = (vec![0.0; b * tq * c], vec![0.0; b * heads * tq * tk]);
                    let (x64, wk64, wv64) = (wide(&qkv), wide(&wk), wide(&wv));
                    attention_forward(&mut ot, &mut pt, &x64, &wk64, &wv64, &s, b, tq, tk, c);
                    let (mut dxt, mut dkt, mut dvt) = (wide(&start), vec![0.5; nrel], vec![-0.5; nrel]);
                    attention_backward(&mut dxt, &mut dkt, &mut dvt, &wide(&dout), &ot, &pt, &x64, &wk64, &wv64, &s, b, tq, tk, c);
                    // The f32 oracle, the reference error level.
                    let (mut o0, mut p0) = (vec![0.0; b * tq * c], vec![0.0; b * heads * tq * tk]);
                    attention_forward(&mut o0, &mut p0, &qkv, &wk, &wv, &s, b, tq, tk, c);
                    let (mut dx0, mut dk0, mut dv0) = (start.clone(), vec![0.5; nrel], vec![-0.5; nrel]);
                    attention_backward(&mut dx0, &mut dk0, &mut dv0, &dout, &o0, &p0, &qkv, &wk, &wv, &s, b, tq, tk, c);
                    let level = [error(&o0, &ot), error(&p0, &pt), error(&dx0, &dxt), error(&dk0, &dkt), error(&dv0, &dvt)];
                    for kern in flavours() {
                        let what = format!("{} {s:?} b {b} tq {tq} tk {tk} c {c}", kern.name);
                        let mut scratch = GemmScratch::new();
                        let mut work = vec![f32::NAN; work_floats(kern, &s, tk, c)];
                        let (mut o, mut p) = (vec![f32::NAN; o0.len()], vec![f32::NAN; p0.len()]);
                        forward(kern, &mut scratch, &mut work, &mut o, &mut p, &qkv, &wk, &wv, &s, b, tq, tk, c);
                        let (mut dx, mut dkk, mut dvv) = (start.clone(), vec![0.5; nrel], vec![-0.5; nrel]);
                        work.fill(f32::NAN);
                        // From the f32 oracle's forward, so the backward is judged on its own.
                        backward(kern, &mut scratch, &mut work, &mut dx, &mut dkk, &mut dvv, &dout, &o0, &p0, &qkv, &wk, &wv, &s, b, tq, tk, c);
                        let got = [error(&o, &ot), error(&p, &pt), error(&dx, &dxt), error(&dkk, &dkt), error(&dvv, &dvt)];
                        for (name, (g, l)) in ["out", "probs", "dqkv", "dw^K", "dw^V"].iter().zip(got.iter().zip(level)) {
                            // 4 ulp of slack (1 ulp = 6e-8) where the f32 oracle happens to be exact.
                            assert!(*g <= 3.0 * l + 2.4e-7, "{what}: {name}: error {g:.2e} against the f32 oracle's {l:.2e}");
                            worst = worst.max(g / (l + 6e-8));
                        }
                    }
                }
            }
        }
        eprintln!("attention_gemm: worst error / the f32 oracle's = {worst:.2}");
    }
}
