//! Benchmarks shared by every target: `lmplay bench` runs them natively, the harness
//! (`tests/bench/run.mjs`, via `./build.sh bench`) runs the same code as wasm in node and in chromium.
//! Each case returns JSON: its figures (medians over repeats) and what it measured.

use crate::clock::now_ms;
use crate::{Error, Result};
use serde_json::{json, Value};

/// The benchmark cases, by name.
pub const CASES: &[&str] = &["bpe-train", "ngram-train", "ngram-estimate", "sgemm", "gpu-matmul", "fixed-window-train", "lstm-train", "transformer-train", "attention", "simd-peak"];

/// The backend a case runs on: `args.device` = `cpu` (default) or `gpu` (natively the Vulkan
/// adapter wgpu finds, software or not), and what it is, for the JSON.
fn bench_backend(args: &Value) -> Result<(Box<dyn crate::nn::backend::Backend>, Value)> {
    match args.get("device").and_then(Value::as_str).unwrap_or("cpu") {
        "cpu" => Ok((Box::new(crate::nn::backend::cpu::Cpu::new()), json!({ "backend": "cpu" }))),
        #[cfg(not(target_arch = "wasm32"))]
        "gpu" => {
            let gpu = crate::nn::backend::gpu::Gpu::native().map_err(|e| Error::new("no-gpu", format!("bench: no GPU adapter ({e})")))?;
            let adapter = serde_json::to_value(gpu.adapter()).expect("json");
            Ok((Box::new(gpu), json!({ "backend": "gpu", "adapter": adapter })))
        }
        other => Err(Error::config(format!("bench: device '{other}' is not available on this target"))),
    }
}

/// Waits until the backend has done what was recorded (a GPU runs asynchronously): reads one float.
fn finish(be: &mut dyn crate::nn::backend::Backend, t: crate::nn::tensor::Tensor) {
    if be.name() == "gpu" {
        let one = crate::nn::tensor::Tensor { shape: crate::nn::tensor::Shape::new(&[1]), ..t };
        std::hint::black_box(be.read(one));
    }
}

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

/// Peak memory of this process so far, in bytes, and what the number is. Natively the peak resident
/// set (VmHWM); in wasm the linear memory's size, which never shrinks, so it is the peak of the
/// module's heap (JS-side memory not included).
pub fn peak_memory() -> (u64, &'static str) {
    #[cfg(target_arch = "wasm32")]
    {
        (core::arch::wasm32::memory_size(0) as u64 * 65536, "wasm memory size")
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let kb = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()));
        (kb.unwrap_or(0) * 1024, "peak RSS (VmHWM)")
    }
}

/// Runs one case. `args.corpus` (text) is passed in by the caller, since wasm cannot read files.
pub fn run(name: &str, args: &Value) -> Result<Value> {
    use crate::session::{RunConfig, Session};
    let repeats = args.get("repeats").and_then(Value::as_u64).unwrap_or(5) as usize;
    match name {
        // Learning BPE merges alone (the page does it before every BPE run): to `vocab` tokens, with
        // the counts kept up to date (`incremental`, the product's) or recounted per merge (`recount`).
        "bpe-train" => {
            use crate::text::bpe::{distinct_chunks, learn, learn_by_recounting, FIRST_MERGE};
            let corpus = arg_str(args, "corpus")?;
            let vocab = args.get("vocab").and_then(Value::as_u64).unwrap_or(1024) as usize;
            let method = args.get("method").and_then(Value::as_str).unwrap_or("incremental");
            let wanted = vocab.saturating_sub(FIRST_MERGE as usize);
            let mut merges = 0;
            let ms = time_ms(repeats, || {
                let chunks = distinct_chunks(corpus.lines());
                merges = match method {
                    "recount" => learn_by_recounting(chunks, wanted).0.len(),
                    _ => learn(chunks, wanted, &mut |_, _| {}).0.len(),
                };
            });
            Ok(json!({ "median_ms": ms, "merges": merges, "method": method, "chars": corpus.chars().count(), "repeats": repeats }))
        }
        "ngram-train" => {
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
        // Tokenizing, counting and estimating timed separately, then scoring throughput and memory.
        "ngram-estimate" => {
            use crate::lm::eval::perplexity;
            use crate::ngram::counts::NgramCounts;
            use crate::ngram::NgramModel;
            use std::sync::Arc;
            let corpus = arg_str(args, "corpus")?;
            let config: RunConfig = serde_json::from_value(args.get("config").cloned().unwrap_or(json!({})))?;
            if config.model.family() != "ngram" {
                return Err(Error::config("bench: ngram-estimate needs an n-gram model"));
            }
            let ngram: crate::ngram::NgramConfig = config.validated()?.model.parse()?;
            let mut data = None;
            let tokenize_ms = time_ms(repeats, || data = Some(Session::new(corpus, config.clone()).expect("bench corpus").data));
            let data = data.expect("ran");
            let mut counts = None;
            let count_ms = time_ms(repeats, || counts = Some(NgramCounts::count(&data.train, ngram.order, &mut |_, _| {})));
            let counts = Arc::new(counts.expect("ran"));
            let mut model = None;
            let estimate_ms = time_ms(repeats, || {
                model = Some(NgramModel::from_counts(counts.clone(), data.vocab.clone(), ngram.clone(), None).expect("estimate"))
            });
            let model = model.expect("ran");
            // Writing the ARPA text, as lmplz's timing includes writing its file.
            let mut arpa_bytes = 0;
            let arpa_ms = time_ms(repeats.min(3), || arpa_bytes = model.to_arpa().map_or(0, |a| a.len()));
            // Score the validation stream often enough to take a measurable time.
            let m = data.stats.valid_tokens.max(1);
            let passes = (200_000 / m).max(1);
            let mut ppl = 0.0;
            let score_ms = time_ms(repeats, || {
                for _ in 0..passes {
                    ppl = perplexity(&model, &data.valid).perplexity;
                }
            });
            let (memory, memory_kind) = peak_memory();
            Ok(json!({
                "tokenize_ms": tokenize_ms,
                "count_ms": count_ms,
                "estimate_ms": estimate_ms,
                "count_estimate_ms": count_ms + estimate_ms,
                "end_to_end_ms": tokenize_ms + count_ms + estimate_ms,
                "arpa_ms": arpa_ms,
                "arpa_bytes": arpa_bytes,
                "score_tokens_per_s": (passes * m) as f64 / (score_ms / 1000.0),
                "train_tokens": data.stats.train_tokens,
                "valid_tokens": m,
                "vocab": data.stats.vocab_size,
                "ngrams": counts.num_entries(),
                "contexts": counts.num_contexts(),
                "perplexity": ppl,
                "peak_memory_bytes": memory,
                "memory_kind": memory_kind,
                "repeats": repeats,
            }))
        }
        "sgemm" => sgemm(args, repeats),
        "gpu-matmul" => backend_matmul(args, repeats),
        "fixed-window-train" => neural_train(args, repeats, "fixed-window"),
        "lstm-train" => neural_train(args, repeats, "lstm"),
        "transformer-train" => neural_train(args, repeats, "transformer"),
        "attention" => attention(args, repeats),
        "simd-peak" => simd_peak(args, repeats),
        _ => Err(Error::config(format!("unknown benchmark '{name}'; cases: {}", CASES.join(", ")))),
    }
}

/// Training throughput of a neural model (`fixed-window-train`): `steps` optimizer steps per timed
/// chunk, through the session exactly as the page and the CLI train (one readback per chunk).
fn neural_train(args: &Value, repeats: usize, family: &str) -> Result<Value> {
    use crate::session::{RunConfig, Session};
    let corpus = arg_str(args, "corpus")?;
    let config: RunConfig = serde_json::from_value(args.get("config").cloned().unwrap_or(json!({})))?;
    if config.model.family() != family {
        return Err(Error::config(format!("bench: the config must be a {family} model")));
    }
    let steps = args.get("steps").and_then(Value::as_u64).unwrap_or(50);
    // Enough steps for every timed chunk, and no evaluation: this measures training steps only.
    let mut settings = config.validated()?.model.settings();
    settings["train"]["steps"] = json!(steps * (repeats.max(1) as u64 + 1) + 1);
    settings["train"]["eval_interval"] = json!(u64::MAX / 2);
    let config = RunConfig { model: crate::config::ModelConfig::from_settings(family, settings.clone()), ..config };
    let (be, device) = bench_backend(args)?;
    let mut s = Session::with_device(corpus, config, crate::train::Device::new("bench", be))?;
    let mut last = None;
    // Tokens a step trains on (the batch for the fixed-window model, batch × BPTT for recurrent ones,
    // batch × context for a Transformer).
    let mut tokens_per_step = 0.0;
    let ms = time_ms(repeats, || {
        let mut left = steps;
        while left > 0 {
            let p = s.train_step(left).expect("train");
            let n = p.points.len() as u64;
            tokens_per_step = p.tokens as f64 / p.step.max(1) as f64;
            left = left.saturating_sub(n);
            last = p.train_loss;
            if p.done {
                break;
            }
        }
    });
    // Sampling after the timed steps, as the page generates (one token at a time, the state carried,
    // the top alternatives reported): `sample_tokens` tokens per timed run.
    let sample_tokens = arg_usize(args, "sample_tokens", 0);
    let sample_ms = if sample_tokens > 0 {
        let cfg = crate::lm::sample::SampleConfig { length: sample_tokens, seed: 1, ..Default::default() };
        let mut n = 0usize;
        let ms = time_ms(repeats, || {
            n = 0;
            s.generate("", &cfg, |_| {
                n += 1;
                true
            })
            .expect("generate");
        });
        Some(ms * sample_tokens as f64 / n.max(1) as f64)
    } else {
        None
    };
    let model = s.model()?;
    Ok(json!({
        "sample_tokens_per_s": sample_ms.map(|ms| sample_tokens as f64 / ms * 1000.0),
        "median_ms": ms,
        "steps": steps,
        "steps_per_s": steps as f64 / ms * 1000.0,
        "tokens_per_s": steps as f64 * tokens_per_step / ms * 1000.0,
        "vocab_size": s.data.vocab.len(),
        "parameters": model.info().parameters,
        "final_loss": last,
        "repeats": repeats,
        "device": device,
    }))
}

/// The cost lesson, measured: forward + backward time of one attention layer (H heads, width C, one
/// sequence) against the sequence length T, for full, sparse (window 16, stride 16) and linear
/// attention, and the floats each saves for its backward (B·H·T² probabilities, or H·T
/// denominators). `t`: the lengths (default 64 … 2048), `heads` (4), `width` (128), `patterns`
/// (default all three).
fn attention(args: &Value, repeats: usize) -> Result<Value> {
    use crate::nn::backend::Backend;
    use crate::nn::ops::attention::{AttnSpec, Pattern};
    use crate::nn::tensor::{Shape, Tensor};
    let ts: Vec<usize> = args.get("t").and_then(Value::as_array).map_or_else(|| vec![64, 128, 256, 512, 1024, 2048], |a| a.iter().filter_map(Value::as_u64).map(|x| x as usize).collect());
    let (h, c) = (arg_usize(args, "heads", 4), arg_usize(args, "width", 128));
    let mut rng = crate::rng::Rng::new(3);
    let mut rows = Vec::new();
    let patterns: Vec<&str> = args.get("patterns").and_then(Value::as_array).map_or_else(|| vec!["full", "sparse", "linear"], |a| a.iter().filter_map(Value::as_str).collect());
    let mut device = json!(null);
    for pattern in patterns {
        let mut points = Vec::new();
        for &t in &ts {
            let (mut be, d) = bench_backend(args)?;
            device = d;
            let be = &mut *be;
            let mut new = |be: &mut dyn Backend, dims: &[usize]| {
                let shape = Shape::new(dims);
                let x = Tensor { buf: be.alloc(shape.numel()), offset: 0, shape };
                be.write(x, &(0..shape.numel()).map(|_| rng.normal() as f32 * 0.5).collect::<Vec<_>>());
                x
            };
            let (qkv, dqkv, out, dout) = (new(be, &[1, t, 3 * c]), new(be, &[1, t, 3 * c]), new(be, &[1, t, c]), new(be, &[1, t, c]));
            // What the forward keeps for the backward: the probabilities, or (linear, fused) a value per row.
            let saved = if pattern == "linear" || pattern == "fused" { h * t } else { h * t * t };
            let probs = new(be, &[saved]);
            let scratch = new(be, &[(c / h) * (c / h) + c / h]);
            let spec = AttnSpec { heads: h, pattern: if pattern == "sparse" { Pattern::Sparse { window: 16, stride: 16 } } else { Pattern::Full }, alibi: false, rel: None, dropout: None, lse: pattern == "fused" };
            let probs4 = Tensor { shape: if spec.lse { Shape::new(&[1, h, t]) } else { Shape::new(&[1, h, t, t]) }, ..probs };
            let ms = time_ms(repeats, || {
                if pattern == "linear" {
                    be.linear_attention(out, probs, scratch, qkv, h);
                    be.linear_attention_backward(dqkv, scratch, dout, out, probs, qkv, h);
                } else {
                    be.attention(out, probs4, qkv, None, &spec);
                    be.attention_backward(dqkv, None, dout, out, probs4, qkv, None, &spec);
                }
                finish(be, dqkv);
            });
            points.push(json!({ "t": t, "ms": ms, "saved_floats": saved }));
        }
        rows.push(json!({ "pattern": pattern, "points": points }));
    }
    Ok(json!({ "heads": h, "width": c, "repeats": repeats, "patterns": rows, "device": device }))
}

fn arg_usize(args: &Value, key: &str, default: usize) -> usize {
    args.get(key).and_then(Value::as_u64).map_or(default, |v| v as usize)
}

/// C[m×n] = A[m×k]·B[k×n] through a backend's `matmul` (`args.device`: the GPU's tiled WGSL kernel,
/// or the CPU backend's sgemm), timed to completion (a GPU's work is read back once per sample).
fn backend_matmul(args: &Value, repeats: usize) -> Result<Value> {
    use crate::nn::tensor::{Shape, Tensor};
    let (m, n, k) = (arg_usize(args, "m", 512), arg_usize(args, "n", 512), arg_usize(args, "k", 512));
    let (mut be, device) = bench_backend(args)?;
    let mut rng = crate::rng::Rng::new(1);
    let mut new = |be: &mut dyn crate::nn::backend::Backend, dims: &[usize]| {
        let shape = Shape::new(dims);
        let x = Tensor { buf: be.alloc(shape.numel()), offset: 0, shape };
        be.write(x, &(0..shape.numel()).map(|_| rng.normal() as f32).collect::<Vec<_>>());
        x
    };
    let (a, b, c) = (new(&mut *be, &[m, k]), new(&mut *be, &[k, n]), new(&mut *be, &[m, n]));
    let flops = 2.0 * m as f64 * n as f64 * k as f64;
    let calls = ((2e9 / flops).ceil() as usize).clamp(1, 1000);
    let ms = time_ms(repeats, || {
        for _ in 0..calls {
            be.matmul(c, a, b, false, false, false);
        }
        finish(&mut *be, c);
    }) / calls as f64;
    Ok(json!({ "gflops": flops / ms / 1e6, "median_ms": ms, "m": m, "n": n, "k": k, "calls": calls, "repeats": repeats, "device": device }))
}

/// Single-thread sgemm C[m×n] = op(A)·op(B) with the target's best kernel flavour, or the one named
/// by `args.flavour`; `ta` / `tb` read A [k×m] / B [n×k] transposed, as the layers' backward and
/// x·Wᵀ do. GFLOP/s = 2·m·n·k / median time.
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
    let (ta, tb) = (args.get("ta").and_then(Value::as_bool).unwrap_or(false), args.get("tb").and_then(Value::as_bool).unwrap_or(false));
    let am = if ta { MatRef::t(&a, m) } else { MatRef::rows(&a, k) };
    let bm = if tb { MatRef::t(&b, k) } else { MatRef::rows(&b, n) };
    let mut c = vec![0.0f32; m * n];
    // Small products take microseconds: time enough calls per sample for a stable median.
    let flops = 2.0 * m as f64 * n as f64 * k as f64; // in f64: usize is 32 bits in wasm
    let calls = ((2e8 / flops).ceil() as usize).clamp(1, 10_000);
    let mut scratch = kernels::GemmScratch::new();
    let ms = time_ms(repeats, || {
        for _ in 0..calls {
            (kern.sgemm)(m, n, k, am, bm, &mut c, n, false, &mut scratch);
        }
    }) / calls as f64;
    Ok(json!({ "gflops": flops / ms / 1e6, "median_ms": ms, "m": m, "n": n, "k": k, "ta": ta, "tb": tb, "flavour": kern.name, "repeats": repeats }))
}

/// The machine's peak f32 throughput at 128-bit width on one thread: 12 independent 4-lane chains of
/// `acc = acc·m + c`, as a multiply then an add (`mul_add`) and, where the target has it, fused
/// (`fma`: wasm's `f32x4.relaxed_madd` in the relaxed-SIMD build). GFLOP/s counts 2 per lane per
/// update. 12 chains cover the latency of either form on current x86 cores (and fit V8's 15
/// allocatable vector registers), so this is the rate an sgemm micro-kernel could at best reach.
fn simd_peak(args: &Value, repeats: usize) -> Result<Value> {
    let iters = arg_usize(args, "iters", 20_000_000);
    let flops = iters as f64 * (12 * 4 * 2) as f64; // in f64: usize is 32 bits in wasm
    let mut sink = 0.0f32;
    // `black_box` on the argument and the result: the chains have no side effects, so the compiler
    // may otherwise move them out of the timed interval (it did, for the fused chains in wasm).
    use std::hint::black_box;
    let mul_add = time_ms(repeats, || sink += black_box(peak::mul_add(black_box(iters))));
    let fma = peak::fma(1).map(|_| time_ms(repeats, || sink += black_box(peak::fma(black_box(iters)).unwrap_or(0.0))));
    Ok(json!({
        "mul_add_gflops": flops / mul_add / 1e6,
        "fma_gflops": fma.map(|ms| flops / ms / 1e6),
        "iters": iters,
        "checksum": sink,
        "repeats": repeats,
    }))
}

mod peak {
    #[cfg(target_arch = "wasm32")]
    use core::arch::wasm32::*;

    /// Runs the chains `iters` times with `step` on 12 accumulators; returns a checksum. The loop runs
    /// as many calls of [`chunk`] of `CHUNK` iterations: V8 compiles a wasm function with its
    /// baseline compiler (Liftoff) first and switches to the optimizing one (TurboFan) only at a later
    /// call — there is no on-stack replacement — so one long call would time Liftoff's code (it
    /// did: 4.5–9.7 GFLOP/s while the sgemm ran at 35).
    #[cfg(target_arch = "wasm32")]
    #[inline(always)]
    fn chains(iters: usize, step: impl Fn(v128, v128, v128) -> v128 + Copy) -> f32 {
        const CHUNK: usize = 100_000;
        let mut acc: [v128; 12] = core::array::from_fn(|i| f32x4_splat(i as f32));
        for n in (0..iters).step_by(CHUNK) {
            chunk(&mut acc, CHUNK.min(iters - n), step);
        }
        acc.iter().map(|&a| f32x4_extract_lane::<0>(a)).sum()
    }

    #[cfg(target_arch = "wasm32")]
    #[inline(never)]
    fn chunk(acc: &mut [v128; 12], iters: usize, step: impl Fn(v128, v128, v128) -> v128) {
        let (m, c) = (f32x4_splat(0.999_999), f32x4_splat(1e-7));
        let mut a = *acc;
        for _ in 0..iters {
            for x in a.iter_mut() {
                *x = step(*x, m, c);
            }
        }
        *acc = a;
    }

    #[cfg(target_arch = "wasm32")]
    pub fn mul_add(iters: usize) -> f32 {
        chains(iters, |a, m, c| f32x4_add(f32x4_mul(a, m), c))
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    pub fn fma(iters: usize) -> Option<f32> {
        Some(chains(iters, |a, m, c| f32x4_relaxed_madd(a, m, c)))
    }

    #[cfg(all(target_arch = "wasm32", not(target_feature = "relaxed-simd")))]
    pub fn fma(_: usize) -> Option<f32> {
        None
    }

    /// Natively: plain arrays, which LLVM turns into the build target's 4-lane multiplies and adds
    /// (SSE2 on baseline x86-64, which has no FMA).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn mul_add(iters: usize) -> f32 {
        let mut acc = [[0.0f32; 4]; 12];
        for (i, a) in acc.iter_mut().enumerate() {
            *a = [i as f32; 4];
        }
        let (m, c) = (std::hint::black_box(0.999_999f32), std::hint::black_box(1e-7f32));
        for _ in 0..iters {
            for a in acc.iter_mut() {
                for x in a.iter_mut() {
                    *x = *x * m + c;
                }
            }
        }
        acc.iter().map(|a| a[0]).sum()
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn fma(_: usize) -> Option<f32> {
        None
    }
}
