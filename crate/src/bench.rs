//! Benchmarks shared by every target: `lmplay bench` runs them natively, the harness
//! (`tests/bench/run.mjs`, via `./build.sh bench`) runs the same code as wasm in node and in chromium.
//! Each case returns JSON: its figures (medians over repeats) and what it measured.

use crate::clock::now_ms;
use crate::{Error, Result};
use serde_json::{json, Value};

/// The benchmark cases, by name.
pub const CASES: &[&str] = &["ngram-train", "sgemm", "fixed-window-train"];

/// Median of a sample (upper median for even sizes).
pub fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Times `f` `repeats` times after one warm-up run; returns the median milliseconds.
pub fn time_ms(repeats: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut ts: Vec<f64> = (0..repeats.max(1))
        .map(|_| {
            let t = now_ms();
            f();
            now_ms() - t
        })
        .collect();
    median(&mut ts)
}

fn arg_str<'a>(args: &'a Value, key: &str) -> Result<&'a str> {
    args.get(key).and_then(Value::as_str).ok_or_else(|| Error::config(format!("bench: missing '{key}'")))
}

/// Runs one case. `args.corpus` (text) is passed in by the caller, since wasm cannot read files.
pub fn run(name: &str, args: &Value) -> Result<Value> {
    let repeats = args.get("repeats").and_then(Value::as_u64).unwrap_or(5) as usize;
    match name {
        "ngram-train" => {
            use crate::session::{RunConfig, Session};
            let corpus = arg_str(args, "corpus")?;
            let config: RunConfig = serde_json::from_value(args.get("config").cloned().unwrap_or(json!({})))?;
            let mut tokens = 0;
            let ms = time_ms(repeats, || {
                let mut s = Session::new(corpus, config.clone()).expect("bench corpus");
                s.train_to_end().expect("train");
                tokens = s.data.stats.train_tokens;
            });
            Ok(json!({ "median_ms": ms, "train_tokens": tokens, "repeats": repeats }))
        }
        "sgemm" => sgemm(args, repeats),
        "fixed-window-train" => crate::nn::models::fixed_window::bench_train(args, repeats),
        
        _ => Err(Error::config(format!("unknown benchmark '{name}'; cases: {}", CASES.join(", ")))),
    }
}

fn arg_usize(args: &Value, key: &str, default: usize) -> usize {
    args.get(key).and_then(Value::as_u64).map_or(default, |v| v as usize)
}

/// Single-thread sgemm C[m×n] = A[m×k]·B[k×n] (row-major, no transposes) with the target's best
/// kernel flavour, or the one named by `args.flavour`. GFLOP/s = 2·m·n·k / median time.
fn sgemm(args: &Value, repeats: usize) -> Result<Value> {
    use crate::nn::kernels::{self, MatRef};
    let (m, n, k) = (arg_usize(args, "m", 512), arg_usize(args, "n", 512), arg_usize(args, "k", 512));
    let kern = match args.get("flavour").and_then(Value::as_str) {
        None => kernels::best(),
        Some(f) => *kernels::flavours()
            .iter()
            .find(|k| k.name == f)
            .ok_or_else(|| Error::config(format!("bench: no kernel flavour '{f}' on this target")))?,
    };
    let mut rng = crate::rng::Rng::new(1);
    let a: Vec<f32> = (0..m * k).map(|_| rng.normal() as f32).collect();
    let b: Vec<f32> = (0..k * n).map(|_| rng.normal() as f32).collect();
    let mut c = vec![0.0f32; m * n];
    // Small products take microseconds: time enough calls per sample for a stable median.
    let flops = 2.0 * (m * n * k) as f64;
    let calls = ((2e8 / flops).ceil() as usize).clamp(1, 10_000);
    let ms = time_ms(repeats, || {
        for _ in 0..calls {
            (kern.sgemm)(m, n, k, MatRef::rows(&a, k), MatRef::rows(&b, n), &mut c, n, false);
        }
    }) / calls as f64;
    Ok(json!({ "gflops": flops / ms / 1e6, "median_ms": ms, "m": m, "n": n, "k": k, "flavour": kern.name, "repeats": repeats }))
}
