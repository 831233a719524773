//! Every family on the GPU backend against the CPU backend (the oracle): one training batch's loss
//! and every gradient, then 50 steps of training from one seed, through the whole session (the
//! trainer's one readback per chunk, evaluation, scoring, generation, saving and loading on the
//! other backend). Natively on whatever Vulkan adapter there is (lavapipe in CI); skipped with a
//! notice where there is none.
//!
//! Tolerances: a gradient within 5e-4 + 5e-3·|g| of the CPU's (f32 sums in another order, and the
//! CPU's attention accumulates its dot products in f64); losses within 1e-4 relative after one
//! step and 2e-3 relative over 50 steps of Adam.

use crate::nn::backend::cpu::Cpu;
use crate::nn::backend::gpu::{test_context, Gpu};
use crate::nn::backend::Backend;
use crate::nn::batches::Batch;
use crate::nn::model::{Network, NeuralModel};
use crate::nn::models::fixed_window::{FixedWindow, FixedWindowConfig};
use crate::nn::models::recurrent::{GruCell, LstmCell, Recurrent, RecurrentConfig, RnnCell};
use crate::nn::models::transformer::{AttentionKind, NormPlacement, Positional, Transformer, TransformerConfig};
use crate::nn::ops::activation::Activation;
use crate::session::{Device, ModelConfig, RunConfig, Session};
use super::recurrent::{stream, vocab};
use crate::text::{DataConfig, Tokenizer, TokenizerKind, BOS};
use crate::train::LossPoint;

fn gpu() -> Option<Box<dyn Backend>> {
    Some(Box::new(Gpu::new(test_context()?)))
}

/// One batch's mean loss and every parameter's gradient, on both backends from the same weights.
fn same_step<M: NeuralModel>(what: &str, c: M::Config, batch: &Batch) {
    let Some(be) = gpu() else { return };
    let s = stream(60);
    let cpu = Network::<M>::new(c.clone(), vocab(), Box::new(Cpu::new()), Some(5)).unwrap();
    let gpu = Network::<M>::new(c, vocab(), be, Some(5)).unwrap();
    // Weights of a trained-looking size, so that every gradient is far from zero.
    let mut rng = crate::rng::Rng::new(6);
    let mut p = cpu.engine.borrow_mut().params_named();
    for (name, t) in p.iter_mut() {
        let base = if name.contains("ln_") && name.ends_with("weight") { 1.0 } else { 0.0 };
        t.data.iter_mut().for_each(|x| *x = (base + 0.3 * rng.normal()) as f32);
    }
    cpu.engine.borrow_mut().set_params(&mut p.clone()).unwrap();
    gpu.engine.borrow_mut().set_params(&mut p).unwrap();
    let (lc, lg) = (cpu.loss_and_gradients(&s, batch), gpu.loss_and_gradients(&s, batch));
    assert!((lc - lg).abs() <= 1e-4 * (1.0 + lc.abs()), "{what}: loss cpu {lc}, gpu {lg}");
    let (gc, gg) = (cpu.engine.borrow_mut().grads_named(), gpu.engine.borrow_mut().grads_named());
    let mut biggest = 0.0f32;
    for ((name, c), (_, g)) in gc.iter().zip(&gg) {
        for (i, (a, b)) in c.data.iter().zip(&g.data).enumerate() {
            biggest = biggest.max(a.abs());
            assert!((a - b).abs() <= 5e-4 + 5e-3 * a.abs(), "{what}: d/d{name}[{i}]: cpu {a}, gpu {b}");
        }
    }
    assert!(biggest > 1e-2, "{what}: gradients too small to compare ({biggest})");
}

fn recurrent(layers: usize, dropout: f64, bidirectional: bool) -> RecurrentConfig {
    let mut c = RecurrentConfig { layers, embed: 6, hidden: 8, bptt: 5, dropout, bidirectional, ..Default::default() };
    c.train.batch = 3;
    c
}

fn transformer(pos: Positional) -> TransformerConfig {
    let mut c = TransformerConfig { layers: 2, heads: 2, width: 8, ffn: 12, context: 6, positional: pos, rel_clip: 2, window: 2, stride: 3, activation: Activation::Gelu, ..Default::default() };
    c.train.batch = 3;
    c
}

const ALL_POSITIONAL: [Positional; 6] = [Positional::Learned, Positional::Sinusoidal, Positional::Relative, Positional::Alibi, Positional::Rope, Positional::None];

#[test]
fn a_step_on_the_gpu_equals_the_cpu_step_for_every_family() {
    let lanes = Batch { starts: &[0, 10, 20], len: 5, reset: true, index: 3 };
    // Predicted positions whose target is not `<s>` (never predicted: an infinite loss).
    let positions: Vec<u32> = (3..40u32).filter(|&i| stream(60)[i as usize] != BOS).take(6).collect();
    for (act, name) in [(Activation::Tanh, "fixed-window tanh"), (Activation::Relu, "fixed-window relu")] {
        let c = FixedWindowConfig { context: 3, embed: 6, hidden: 8, activation: act, ..Default::default() };
        same_step::<FixedWindow>(name, c, &Batch { starts: &positions, len: 1, reset: false, index: 0 });
    }
    same_step::<Recurrent<RnnCell>>("rnn", recurrent(2, 0.0, false), &lanes);
    same_step::<Recurrent<RnnCell>>("rnn sigmoid", RecurrentConfig { activation: Activation::Sigmoid, ..recurrent(1, 0.0, false) }, &lanes);
    same_step::<Recurrent<LstmCell>>("lstm", recurrent(2, 0.3, false), &lanes);
    same_step::<Recurrent<GruCell>>("gru", recurrent(2, 0.0, false), &lanes);
    same_step::<Recurrent<LstmCell>>("bidirectional lstm", recurrent(1, 0.0, true), &lanes);
    let windows = Batch { starts: &[0, 11, 30], len: 6, reset: false, index: 2 };
    for pos in ALL_POSITIONAL {
        same_step::<Transformer>(&format!("transformer {pos:?}"), transformer(pos), &windows);
    }
    let sparse = TransformerConfig { attention: AttentionKind::Sparse, ..transformer(Positional::Rope) };
    same_step::<Transformer>("transformer sparse + RoPE", sparse.clone(), &windows);
    same_step::<Transformer>("transformer linear", TransformerConfig { attention: AttentionKind::Linear, ..transformer(Positional::Sinusoidal) }, &windows);
    same_step::<Transformer>("transformer post-LN relative", TransformerConfig { norm: NormPlacement::Post, ..transformer(Positional::Relative) }, &windows);
    same_step::<Transformer>("transformer untied ALiBi", TransformerConfig { tied: false, ..transformer(Positional::Alibi) }, &windows);
    same_step::<Transformer>("transformer dropout sparse ALiBi", TransformerConfig { dropout: 0.3, attention: AttentionKind::Sparse, ..transformer(Positional::Alibi) }, &windows);
    same_step::<Transformer>("transformer dropout relative", TransformerConfig { dropout: 0.3, ..transformer(Positional::Relative) }, &windows);
}

const CORPUS: &str = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe mat and the log\n";

fn run_config(family: &str, model: impl serde::Serialize) -> RunConfig {
    RunConfig {
        seed: 5,
        data: DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Char, false), ..Default::default() },
        model: ModelConfig::new(family, &model),
        ..Default::default()
    }
}

/// 50 steps in chunks of 20 (so a chunk records many steps before its one readback): the same loss
/// curve, the same validation losses and perplexity; then the GPU's model generates, and loads on
/// the CPU with the same perplexity.
fn same_training(family: &str, config: RunConfig) {
    let Some(be) = gpu() else { return };
    let corpus = CORPUS.repeat(6);
    let mut cpu = Session::new(&corpus, config.clone()).unwrap();
    let mut gpu = Session::with_device(&corpus, config, Device::new("gpu", be)).unwrap();
    let (mut pc, mut pg) = (Vec::<LossPoint>::new(), Vec::<LossPoint>::new());
    loop {
        let (a, b) = (cpu.train_step(20).unwrap(), gpu.train_step(20).unwrap());
        pc.extend(a.points);
        pg.extend(b.points);
        if a.done {
            assert!(b.done);
            break;
        }
    }
    assert_eq!(pc.len(), 50, "{family}");
    for (a, b) in pc.iter().zip(&pg) {
        let close = |x: f64, y: f64| (x - y).abs() <= 2e-3 * (1.0 + x.abs());
        assert!(close(a.train_loss, b.train_loss), "{family} step {}: train loss cpu {}, gpu {}", a.step, a.train_loss, b.train_loss);
        assert!(close(a.grad_norm, b.grad_norm), "{family} step {}: gradient norm cpu {}, gpu {}", a.step, a.grad_norm, b.grad_norm);
        match (a.valid_loss, b.valid_loss) {
            (Some(x), Some(y)) => assert!(close(x, y), "{family} step {}: valid loss cpu {x}, gpu {y}", a.step),
            (x, y) => assert_eq!(x.is_some(), y.is_some()),
        }
    }
    let (rc, rg) = (cpu.report().unwrap(), gpu.report().unwrap());
    let (xc, xg) = (rc.validation.perplexity, rg.validation.perplexity);
    assert!((xc - xg).abs() <= 2e-3 * xc, "{family}: perplexity cpu {xc}, gpu {xg}");
    if gpu.can_generate().is_ok() {
        let mut n = 0;
        gpu.generate("the ", &crate::lm::sample::SampleConfig { length: 20, seed: 3, ..Default::default() }, |_| {
            n += 1;
            true
        })
        .unwrap();
        assert!(n > 0, "{family}: the GPU model generates");
    }
    // A model trained on the GPU loads on the CPU, and scores the same.
    let back = Session::load(&gpu.save().unwrap(), Some(&corpus)).unwrap();
    let xb = back.report().unwrap().validation.perplexity;
    assert!((xb - xg).abs() <= 1e-3 * xg, "{family}: reloaded on the CPU {xb}, on the GPU {xg}");
}

#[test]
fn fifty_steps_on_the_gpu_follow_the_cpu_curve() {
    let mut fw = FixedWindowConfig { context: 3, embed: 8, hidden: 16, ..Default::default() };
    fw.train.steps = 50;
    fw.train.eval_interval = 25;
    same_training("fixed-window", run_config("fixed-window", fw));
    for family in ["rnn", "lstm", "gru"] {
        let mut c = RecurrentConfig { layers: 2, embed: 8, hidden: 16, bptt: 8, ..Default::default() };
        c.train.batch = 4;
        c.train.steps = 50;
        c.train.eval_interval = 25;
        same_training(family, run_config(family, c));
    }
    for (pos, attention) in [(Positional::Learned, AttentionKind::Full), (Positional::Rope, AttentionKind::Sparse), (Positional::Alibi, AttentionKind::Full), (Positional::Sinusoidal, AttentionKind::Linear)] {
        let mut c = TransformerConfig { layers: 2, heads: 2, width: 16, ffn: 32, context: 16, positional: pos, attention, window: 4, stride: 4, ..Default::default() };
        c.train.batch = 4;
        c.train.steps = 50;
        c.train.eval_interval = 25;
        same_training(&format!("transformer {pos:?} {attention:?}"), run_config("transformer", c));
    }
}

/// The browser's read design, natively: a GPU backend that refuses synchronous reads (as WebGPU in
/// the page must) still trains, reports, scores, generates, shows every view and saves — the
/// model's CPU twin, refreshed by each chunk's one readback, serves all of it — and agrees with
/// the same run on the CPU. Any synchronous read on the device would panic here.
#[test]
fn a_gpu_that_cannot_block_serves_every_session_call() {
    let Some(ctx) = test_context() else { return };
    let corpus = CORPUS.repeat(6);
    let mut lstm = RecurrentConfig { layers: 2, embed: 8, hidden: 16, bptt: 8, ..Default::default() };
    lstm.train.batch = 4;
    lstm.train.steps = 30;
    lstm.train.eval_interval = 10;
    let mut gpt = TransformerConfig { layers: 2, heads: 2, width: 16, ffn: 32, context: 16, ..Default::default() };
    gpt.train.batch = 4;
    gpt.train.steps = 30;
    gpt.train.eval_interval = 10;
    let views: [(&str, serde_json::Value); 5] = [
        ("next", serde_json::json!({ "context": "the c" })),
        ("surprisal", serde_json::json!({ "text": "the cat" })),
        ("history", serde_json::json!({})),
        ("hidden-states", serde_json::json!({ "text": "the dog" })),
        ("attention", serde_json::json!({ "text": "the dog" })),
    ];
    for (family, config) in [("lstm", run_config("lstm", lstm)), ("transformer", run_config("transformer", gpt))] {
        let mut cpu = Session::new(&corpus, config.clone()).unwrap();
        let mut gpu = Session::with_device(&corpus, config, Device::new("gpu", Box::new(Gpu::async_only(ctx.clone())) as Box<dyn Backend>)).unwrap();
        // Before any training the twin already has the device's initial weights.
        let x0 = (cpu.report().unwrap().validation.perplexity, gpu.report().unwrap().validation.perplexity);
        assert!((x0.0 - x0.1).abs() <= 1e-4 * x0.0, "{family}: untrained perplexity {x0:?}");
        cpu.train_to_end().unwrap();
        gpu.train_to_end().unwrap();
        let (xc, xg) = (cpu.report().unwrap().validation.perplexity, gpu.report().unwrap().validation.perplexity);
        assert!((xc - xg).abs() <= 2e-3 * xc, "{family}: perplexity cpu {xc}, gpu {xg}");
        for (name, args) in &views {
            let (a, b) = (cpu.view(name, args), gpu.view(name, args));
            assert_eq!(a.is_ok(), b.is_ok(), "{family} view {name}");
        }
        let mut text = String::new();
        gpu.generate("the ", &crate::lm::sample::SampleConfig { length: 12, seed: 3, ..Default::default() }, |g| {
            text.push_str(&g.text);
            true
        })
        .unwrap();
        assert!(!text.is_empty(), "{family} generates");
        // Saving needs the moments first: without the prefetch it is refused, with it the file
        // loads on the CPU, continues training, and scores as the GPU did.
        assert!(gpu.save().is_err(), "{family}: save without the prefetch");
        let moments = crate::train::readback::block_on(gpu.save_prefetch().expect("a GPU session prefetches"));
        gpu.save_prefetched(moments);
        let file = gpu.save().unwrap();
        let back = Session::load(&file, Some(&corpus)).unwrap();
        let xb = back.report().unwrap().validation.perplexity;
        assert!((xb - xg).abs() <= 1e-6 * xg, "{family}: the CPU reload scores {xb}, the GPU {xg}");
        let (mc, mg) = (crate::modelfile::read(&cpu.save().unwrap()).unwrap(), crate::modelfile::read(&file).unwrap());
        for (a, b) in mc.tensors.iter().zip(&mg.tensors) {
            assert_eq!(a.name, b.name);
            if let (crate::modelfile::TensorData::F32(x), crate::modelfile::TensorData::F32(y)) = (&a.data, &b.data) {
                let worst = x.iter().zip(y).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
                assert!(worst <= 2e-3, "{family}: {} differs by {worst} after 30 steps", a.name);
            }
        }
    }
}

/// Auto takes a hardware GPU when the model fits it, and the CPU (saying why) when the model is
/// over the adapter's buffer limit; `gpu` refuses such a model with the figures.
#[test]
fn auto_falls_back_to_the_cpu_for_a_model_over_the_gpus_limits() {
    use crate::devices::{Chosen, DeviceChoice};
    use crate::nn::backend::gpu::GpuContext;
    let Some(_) = test_context() else { return };
    let ctx = |limit: u64| {
        let mut c = GpuContext::request_blocking().unwrap();
        c.adapter.software = false; // as a hardware adapter would be
        c.adapter.max_binding_bytes = limit;
        std::rc::Rc::new(c)
    };
    let mut c = TransformerConfig { layers: 1, heads: 2, width: 64, ffn: 256, context: 16, ..Default::default() };
    c.train.steps = 1;
    let config = run_config("transformer", c);
    let corpus = CORPUS.repeat(6);
    let (s, report) = Chosen::new(DeviceChoice::Auto, Ok(ctx(1 << 30)), false).unwrap().session(|d| Session::with_device(&corpus, config.clone(), d)).unwrap();
    assert_eq!((report.backend.as_str(), report.reason.as_str()), ("gpu", "auto-gpu"));
    drop(s);
    let (mut s, report) = Chosen::new(DeviceChoice::Auto, Ok(ctx(4096)), false).unwrap().session(|d| Session::with_device(&corpus, config.clone(), d)).unwrap();
    assert_eq!((report.backend.as_str(), report.reason.as_str()), ("cpu", "auto-too-large"), "{}", report.why);
    assert!(s.train_step(1).is_ok());
    let err = Chosen::new(DeviceChoice::Gpu, Ok(ctx(4096)), false).unwrap().session(|d| Session::with_device(&corpus, config.clone(), d)).err().unwrap();
    assert_eq!(err.code, "model-too-large");
    assert!(err.message.contains("4.0 KiB") || err.message.contains("4 KiB") || err.message.contains("4096"), "{}", err.message);
}

/// A Transformer whose training probabilities [B × H × T × T] exceed the GPU's binding limit (but
/// one sequence's [H × T × T] does not) trains there in the memory-efficient form (a log-sum-exp per
/// row) instead of being refused: the same losses as the CPU's (which keeps the probabilities), and
/// the attention view still draws every head's map.
#[test]
fn attention_over_the_gpus_limit_trains_in_the_memory_efficient_form() {
    use crate::nn::backend::gpu::GpuContext;
    let Some(_) = test_context() else { return };
    let mut c = TransformerConfig { layers: 1, heads: 4, width: 16, context: 32, ..Default::default() };
    c.train.batch = 8;
    c.train.steps = 6;
    c.train.eval_interval = 3;
    let config = run_config("transformer", c);
    let corpus = CORPUS.repeat(12);
    // 20,000 floats: over every other tensor (the FFN's 256 rows × 64), under B·H·T² = 32,768.
    let limited = |limit: u64| {
        let mut ctx = GpuContext::request_blocking().unwrap();
        ctx.adapter.max_binding_bytes = limit;
        Gpu::new(std::rc::Rc::new(ctx))
    };
    let mut cpu = Session::new(&corpus, config.clone()).unwrap();
    let mut gpu = Session::with_device(&corpus, config.clone(), Device::new("gpu", Box::new(limited(20_000 * 4)) as Box<dyn Backend>)).unwrap();
    let (a, b) = (cpu.train_step(6).unwrap(), gpu.train_step(6).unwrap());
    for (x, y) in a.points.iter().zip(&b.points) {
        assert!((x.train_loss - y.train_loss).abs() <= 2e-3 * x.train_loss, "step {}: cpu {}, gpu {}", x.step, x.train_loss, y.train_loss);
    }
    let view = gpu.view("attention", &serde_json::json!({ "text": "the cat sat" })).unwrap();
    assert_eq!(view["layers"][0]["heads"].as_array().map(Vec::len), Some(4), "{view}");
    // Below one sequence's maps, the model is refused with the figures, as before.
    let err = Session::with_device(&corpus, config, Device::new("gpu", Box::new(limited(1_000 * 4)) as Box<dyn Backend>)).err().unwrap();
    assert_eq!(err.code, "model-too-large");
}

/// After a warm-up chunk, training makes no new GPU objects: no storage buffer, bind group or
/// pipeline (the model's buffers are allocated once, bind groups and pipelines cached), and a chunk
/// is a few submits, not one per op. The warm-up is a whole chunk (256 steps): each step's loss and
/// norm go to a slot of their own, a binding of its own.
#[test]
fn a_gpu_training_step_makes_no_new_gpu_objects() {
    let Some(ctx) = test_context() else { return };
    let mut lstm = RecurrentConfig { layers: 2, embed: 8, hidden: 16, bptt: 8, dropout: 0.2, ..Default::default() };
    lstm.train.batch = 4;
    lstm.train.steps = 400;
    lstm.train.eval_interval = 8;
    let mut gpt = TransformerConfig { layers: 2, heads: 2, width: 16, ffn: 32, context: 16, dropout: 0.1, positional: Positional::Rope, ..Default::default() };
    gpt.train.batch = 4;
    gpt.train.steps = 400;
    gpt.train.eval_interval = 8;
    for (family, config) in [("lstm", run_config("lstm", lstm)), ("transformer", run_config("transformer", gpt))] {
        let gpu = Gpu::new(ctx.clone());
        let (made, submits) = (gpu.made(), gpu.submit_count());
        let mut s = Session::with_device(&CORPUS.repeat(6), config, Device::new("gpu", Box::new(gpu) as Box<dyn Backend>)).unwrap();
        s.train_step(256).unwrap();
        let (before, sub) = (made.get(), submits.get());
        s.train_step(40).unwrap();
        assert_eq!(made.get(), before, "{family}: 40 more steps (4 evaluations) made no storage buffer, bind group or pipeline");
        assert!(submits.get() - sub <= 3, "{family}: a chunk of 40 steps took {} submits", submits.get() - sub);
    }
}

/// A char-LSTM step (H = 128, T = 64, B = 32, the bench's) is not a chain of tiny dispatches: each
/// layer's pass through time is one dispatch each way (`recurrence.wgsl`), and the steps' gathers,
/// scatters and slices are one each. The per-step ops were about 600 dispatches.
#[test]
fn a_recurrent_step_on_the_gpu_is_a_few_dispatches() {
    let Some(ctx) = test_context() else { return };
    let mut lstm = RecurrentConfig { layers: 1, embed: 64, hidden: 128, bptt: 64, ..Default::default() };
    lstm.train.batch = 32;
    lstm.train.steps = 10;
    lstm.train.eval_interval = 1000;
    let gpu = Gpu::new(ctx);
    let dispatches = gpu.dispatch_count();
    let mut s = Session::with_device(&CORPUS.repeat(40), run_config("lstm", lstm), Device::new("gpu", Box::new(gpu) as Box<dyn Backend>)).unwrap();
    s.train_step(1).unwrap();
    let before = dispatches.get();
    s.train_step(2).unwrap();
    let per_step = (dispatches.get() - before) / 2;
    println!("char-LSTM training step on the GPU: {per_step} dispatches");
    assert!(per_step <= 60, "a char-LSTM step took {per_step} dispatches");
}

/// The cost lesson measures on the GPU too: the same tensors (the bytes up to the GPU's 256-byte
/// buffer rounding, the same scores) as on the CPU, each pass timed to its completion, and the point
/// says what ran it.
#[test]
fn the_cost_lesson_measures_on_the_gpu() {
    use crate::nn::attention_cost::{measure, measure_on, CostArgs};
    let Some(ctx) = test_context() else { return };
    for pattern in crate::nn::attention_cost::PATTERNS.iter().copied() {
        let a = CostArgs { pattern: pattern.into(), t: 128, ..CostArgs::default() };
        let cpu = measure(&a).unwrap();
        let gpu = crate::train::readback::block_on(Box::pin(measure_on(Box::new(Gpu::async_only(ctx.clone())), a))).unwrap();
        assert_eq!(gpu.scores, cpu.scores, "{pattern}");
        assert!(gpu.bytes >= cpu.bytes && gpu.bytes <= cpu.bytes + 4 * 256, "{pattern}: {} bytes on the GPU, {} on the CPU", gpu.bytes, cpu.bytes);
        assert!(gpu.ms > 0.0 && gpu.repeats >= 1);
        assert!(gpu.backend.starts_with("gpu (") && cpu.backend.starts_with("cpu ("), "{} / {}", gpu.backend, cpu.backend);
    }
}
