//! The cost lesson, measured: one attention forward pass (the ops the Transformer runs,
//! `Backend::attention` and `Backend::linear_attention`) on a sequence of T random queries, keys and
//! values, timed, with the bytes its tensors take. The page runs it in its Web Worker for
//! T = 64 … 4096 and each pattern and draws time and memory log-log: full attention computes and
//! stores T² scores (slope ≈ 2); linear attention keeps a d_k × d_k state per head instead
//! (slope ≈ 1); a local-only sparse pattern (stride 0) reads a fixed number of keys per query, and the
//! kernel visits only those, so its slope tends to 1 too (a stride s adds T/s keys per query); it keeps
//! no T × T matrix either, only each row's log-sum-exp, so its memory grows as T. The fused
//! (FlashAttention) form of full attention computes the same T² scores but keeps only each row's
//! log-sum-exp (`AttnSpec::lse`): its time grows as T², its memory as T.
//!
//! ```text
//! qkv: [1 × T × 3C] random (seeded), out: [1 × T × C]
//! full: probs [1 × H × T × T];  sparse, fused: lse [1 × H × T];  linear: den [1 × H × T], state [d_k² + d_k]
//! ms    = median wall time of `repeats` forwards (after one warm-up), repeats chosen to fill ~50 ms
//! bytes = what the pass allocates on the backend: qkv + out + probs (or den + state)
//! ```
//!
//! It runs on the page's chosen backend (`measure_on`): on a GPU each pass is timed to its awaited
//! completion.

use crate::clock::now_ms;
use crate::nn::backend::{cpu::Cpu, Backend};
use crate::nn::ops::attention::{AttnSpec, Pattern};
use crate::nn::tensor::{Shape, Tensor};
use crate::rng::Rng;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// The patterns whose cost can be measured, by the names the page shows (`attn.<name>`).
pub const PATTERNS: &[&str] = &["full", "sparse", "linear", "fused"];

/// One measurement's settings (JSON from the page).
#[derive(Deserialize, Clone, Debug)]
#[serde(default)]
pub struct CostArgs {
    /// `full`, `sparse`, `linear` or `fused` (full attention, memory-efficient).
    pub pattern: String,
    /// Sequence length T (1 … 8192).
    pub t: usize,
    /// Width C (split into `heads` heads). Default 32.
    pub width: usize,
    /// Heads. Default 1.
    pub heads: usize,
    /// Sparse: the local window and the stride. Defaults 8 and 0 (local only).
    pub window: usize,
    pub stride: usize,
}

impl Default for CostArgs {
    fn default() -> Self {
        CostArgs { pattern: "full".into(), t: 64, width: 32, heads: 1, window: 8, stride: 0 }
    }
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct CostPoint {
    pub pattern: String,
    pub t: usize,
    /// Median milliseconds of one forward.
    pub ms: f64,
    /// Forwards timed (besides a warm-up).
    pub repeats: usize,
    /// Bytes of the pass's tensors on the backend.
    pub bytes: u64,
    /// Keys read per query, summed over the queries (the scores the pattern forms); 0 for linear
    /// attention, which forms none.
    pub scores: u64,
    /// What ran it (`Backend::describe`): the CPU's kernels or the GPU's adapter.
    pub backend: String,
}

/// Median of some numbers (sorted in place).
fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Measures one attention forward of `a.t` tokens under `a.pattern`, on the CPU backend.
pub fn measure(a: &CostArgs) -> Result<CostPoint> {
    crate::train::readback::block_on(Box::pin(measure_on(Box::new(Cpu::new()), a.clone())))
}

/// The same on any backend. Each pass is timed to its completion: a one-float readback of its
/// output is awaited (a GPU runs asynchronously; on the CPU the readback is ready at once).
pub async fn measure_on(mut be: Box<dyn Backend>, a: CostArgs) -> Result<CostPoint> {
    let a = &a;
    // None: linear attention.
    let pattern = match a.pattern.as_str() {
        "full" | "fused" => Some(Pattern::Full),
        "sparse" if a.window >= 1 => Some(Pattern::Sparse { window: a.window, stride: a.stride }),
        "sparse" => return Err(Error::setting("sparse-window", "sparse attention needs a local window of at least 1 position")),
        "linear" => None,
        other => return Err(Error::setting("attention-pattern", format!("unknown attention pattern '{other}' (full, sparse, linear or fused)")).with("name", other)),
    };
    if !(1..=8192).contains(&a.t) || a.heads == 0 || a.width == 0 || !a.width.is_multiple_of(a.heads) || a.width > 1024 {
        return Err(Error::setting("cost-sizes", "the cost measurement needs 1 ≤ T ≤ 8192 and a width of at most 1024, a multiple of the heads"));
    }
    let (t, c, h) = (a.t, a.width, a.heads);
    let be = &mut *be;
    let before = be.allocated_bytes();
    let tensor = |be: &mut dyn Backend, dims: &[usize]| {
        let shape = Shape::new(dims);
        Tensor { buf: be.alloc(shape.numel()), offset: 0, shape }
    };
    let qkv = tensor(be, &[1, t, 3 * c]);
    let out = tensor(be, &[1, t, c]);
    let dk = c / h;
    // Full: the probabilities; sparse and fused: each row's log-sum-exp; linear: the denominators and
    // the running state.
    // Sparse attention forms only its pattern's scores, so like the fused form it keeps nothing T × T:
    // each row's log-sum-exp (the maps, which the lesson does not draw, are what would need more).
    let lse = a.pattern == "fused" || a.pattern == "sparse";
    let [p0, p1] = match pattern {
        Some(_) if lse => [tensor(be, &[1, h, t]), tensor(be, &[0])],
        Some(_) => [tensor(be, &[1, h, t, t]), tensor(be, &[0])],
        None => [tensor(be, &[1, h, t]), tensor(be, &[dk * dk + dk])],
    };
    let bytes = be.allocated_bytes() - before;
    let mut rng = Rng::derive(7, "attention-cost");
    let x: Vec<f32> = (0..qkv.len()).map(|_| (rng.uniform() * 2.0 - 1.0) as f32).collect();
    be.write(qkv, &x);
    let spec = pattern.map(|pattern| AttnSpec { heads: h, pattern, alibi: false, rel: None, dropout: None, lse });
    let one = Tensor { shape: Shape::new(&[1]), ..out };
    // Enough repeats to fill ~50 ms (at least 1, at most 9) after a first pass that sets the count:
    // a long pass is timed once more.
    let (mut ts, mut repeats) = (Vec::with_capacity(9), 1);
    for pass in 0..=9 {
        let t0 = now_ms();
        match &spec {
            Some(spec) => be.attention(out, p0, qkv, None, spec),
            None => be.linear_attention(out, p0, p1, qkv, h),
        }
        be.read_async(&[one]).await;
        let ms = now_ms() - t0;
        if pass == 0 {
            repeats = ((50.0 / ms.max(1e-3)) as usize).clamp(1, 9);
        } else {
            ts.push(ms);
            if ts.len() == repeats {
                break;
            }
        }
    }
    let scores = pattern.map_or(0, |p| (0..t).map(|i| (0..=i).filter(|&j| p.allowed(i, j)).count() as u64).sum::<u64>() * h as u64);
    Ok(CostPoint { pattern: a.pattern.clone(), t, ms: median(&mut ts), repeats, bytes, scores, backend: be.describe() })
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    #[test]
    fn full_attention_stores_t_squared_scores_and_sparse_reads_fewer_keys() {
        let full = measure(&CostArgs { t: 128, ..CostArgs::default() }).unwrap();
        assert_eq!(full.bytes, 4 * (128 * 96 + 128 * 32 + 128 * 128));
        assert_eq!(full.scores, 128 * 129 / 2);
        assert!(full.ms >= 0.0 && full.repeats >= 1);
        let sparse = measure(&CostArgs { pattern: "sparse".into(), t: 128, window: 8, stride: 0, ..CostArgs::default() }).unwrap();
        // The last 8 keys (fewer for the first 7 queries): 8·128 − (7·8)/2.
        assert_eq!(sparse.scores, 8 * 128 - 28);
        // It keeps no T × T matrix: qkv + out + one log-sum-exp per query, linear in T.
        assert_eq!(sparse.bytes, 4 * (128 * 96 + 128 * 32 + 128));
        let twice = measure(&CostArgs { t: 256, ..CostArgs::default() }).unwrap();
        assert_eq!(twice.bytes - 4 * (256 * 128), 4 * 256 * 256, "probs grow as T²");
    }

    #[test]
    fn linear_attention_keeps_a_state_not_the_scores() {
        let a = measure(&CostArgs { pattern: "linear".into(), t: 128, width: 32, heads: 2, ..CostArgs::default() }).unwrap();
        // qkv + out + den [H × T] + state [d_k² + d_k], d_k = 16: linear in T.
        assert_eq!(a.bytes, 4 * (128 * 96 + 128 * 32 + 2 * 128 + 16 * 16 + 16));
        assert_eq!(a.scores, 0);
        let b = measure(&CostArgs { pattern: "linear".into(), t: 256, width: 32, heads: 2, ..CostArgs::default() }).unwrap();
        assert_eq!(b.bytes - a.bytes, 4 * 128 * (96 + 32 + 2));
    }

    /// The fused form reads the same T² scores as full attention, but its memory is linear in T:
    /// qkv + out + one log-sum-exp per (head, query).
    #[test]
    fn fused_attention_reads_t_squared_scores_in_linear_memory() {
        let a = measure(&CostArgs { pattern: "fused".into(), t: 128, width: 32, heads: 2, ..CostArgs::default() }).unwrap();
        assert_eq!(a.bytes, 4 * (128 * 96 + 128 * 32 + 2 * 128));
        assert_eq!(a.scores, 2 * 128 * 129 / 2);
        let b = measure(&CostArgs { pattern: "fused".into(), t: 256, width: 32, heads: 2, ..CostArgs::default() }).unwrap();
        assert_eq!(b.bytes - a.bytes, 4 * 128 * (96 + 32 + 2), "memory grows as T");
        assert_eq!(b.scores, 2 * 256 * 257 / 2, "the scores as T²");
    }

    #[test]
    fn bad_settings_are_refused_with_a_message() {
        for a in [
            CostArgs { pattern: "dense".into(), ..CostArgs::default() },
            CostArgs { t: 0, ..CostArgs::default() },
            CostArgs { width: 30, heads: 4, ..CostArgs::default() },
            CostArgs { pattern: "sparse".into(), window: 0, ..CostArgs::default() },
        ] {
            assert!(measure(&a).is_err(), "{a:?}");
        }
    }
}
