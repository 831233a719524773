//! The fixed-window model through the whole stack: the shared trainer, sessions, model files.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::modelfile::{self, TensorData};
use crate::nn::backend::{cpu::Cpu, Backend};
use crate::nn::model::Network;
use crate::nn::models::fixed_window::{FixedWindow, FixedWindowConfig};
use crate::nn::optim::OptimizerKind;
use crate::nn::trainer::estimate;
use crate::session::{Device, ModelConfig, RunConfig, Session};
use crate::text::{DataConfig, Tokenizer, TokenizerKind, Vocab};
use crate::train::LossPoint;

pub const CORPUS: &str = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe mat and the log\n";

pub fn small(steps: u64) -> FixedWindowConfig {
    let mut c = FixedWindowConfig { context: 2, embed: 8, hidden: 16, ..Default::default() };
    c.train.steps = steps;
    c.train.batch = 16;
    c.train.warmup = 5;
    c.train.eval_interval = 10;
    c.train.lr = 1e-2;
    c
}

pub fn run_config(c: FixedWindowConfig) -> RunConfig {
    RunConfig {
        seed: 5,
        data: DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Word, false), ..Default::default() },
        model: ModelConfig::new("fixed-window", &c),
        ..Default::default()
    }
}

fn cpu(be: Cpu) -> Device {
    Device::new("cpu", Box::new(be) as Box<dyn Backend>)
}

fn train_in_chunks(s: &mut Session, chunk: u64) -> Vec<LossPoint> {
    let mut points = Vec::new();
    loop {
        let p = s.train_step(chunk).unwrap();
        points.extend(p.points.clone());
        if p.done {
            return points;
        }
    }
}

#[test]
fn the_estimate_is_what_gets_allocated_and_too_large_is_refused() {
    let vocab = Vocab::from_tokens((0..100).map(|i| format!("w{i}")), true);
    let data = crate::text::Dataset::empty(&DataConfig::default(), vocab.clone());
    let c = small(1);
    let e = estimate::<FixedWindow>(&c, vocab.len());
    let t = crate::families::find("fixed-window").unwrap().trainer(&serde_json::to_value(&c).unwrap(), &data, 1, crate::session::cpu_device());
    let t = t.unwrap();
    assert_eq!(t.estimate().unwrap(), e);
    let model = t.model().unwrap();
    assert_eq!(e.parameters, model.info().parameters);
    let net = Network::<FixedWindow>::new(c.clone(), vocab.clone(), Box::new(Cpu::new()), Some(1)).unwrap();
    let allocated = net.engine.borrow().be.allocated_bytes();
    // Everything but the trainer's chunk statistics: the model's buffers and the backend's scratch.
    let stats = (3 * crate::nn::trainer::CHUNK_STEPS * crate::nn::params::ALIGN + 1) as u64 * 4;
    assert_eq!(e.total_bytes - stats, allocated);
    let huge = FixedWindowConfig { embed: 4096, hidden: 16_384, context: 64, ..c };
    let err = Network::<FixedWindow>::new(huge, vocab, Box::new(Cpu::new()), Some(1)).err().unwrap();
    assert_eq!(err.code, "model-too-large");
    assert!(err.message.contains("GiB") && err.message.contains("Reduce"), "{}", err.message);
}

#[test]
fn training_lowers_the_loss_reproducibly_and_resumes_from_a_file() {
    let train = |steps, chunk| {
        let mut s = Session::new(CORPUS, run_config(small(steps))).unwrap();
        let points = train_in_chunks(&mut s, chunk);
        (s, points)
    };
    let (s, a) = train(40, 7);
    let (_, b) = train(40, 7);
    assert_eq!(a, b, "same seed, same curve");
    let (_, c) = train(40, 40);
    assert_eq!(a, c, "the chunking does not change the curve");
    assert_eq!(a.len(), 40);
    assert_eq!(a.iter().filter(|p| p.valid_loss.is_some()).count(), 4);
    let first: f64 = a[..5].iter().map(|p| p.train_loss).sum::<f64>() / 5.0;
    let last: f64 = a[35..].iter().map(|p| p.train_loss).sum::<f64>() / 5.0;
    assert!(last < first - 0.3, "{first} → {last}");
    assert!(s.report().unwrap().validation.perplexity.is_finite());

    // Save after 20 of 40 steps, load with the corpus, finish: the same curve as straight through.
    let mut half = Session::new(CORPUS, run_config(small(40))).unwrap();
    half.train_step(20).unwrap();
    let bytes = half.save().unwrap();
    let file = modelfile::read(&bytes).unwrap();
    assert!(file.state["sampler"]["rng"].is_string(), "the file keeps the batch stream's state");
    let mut resumed = Session::load(&bytes, Some(CORPUS)).unwrap();
    let p = resumed.train_to_end().unwrap();
    assert_eq!(p.step, 40);
    let hist = resumed.view("history", &serde_json::json!({})).unwrap();
    let resumed_points: Vec<LossPoint> = serde_json::from_value(hist["points"].clone()).unwrap();
    assert_eq!(resumed_points, a);

    // Without the corpus: it scores and generates like the original, but cannot train on.
    let mut alone = Session::load(&s.save().unwrap(), None).unwrap();
    let tokens = s.data.valid.clone();
    assert_eq!(alone.model().unwrap().score(&tokens), s.model().unwrap().score(&tokens));
    let cfg = crate::lm::sample::SampleConfig { length: 12, seed: 2, ..Default::default() };
    let gen = |s: &Session| {
        let mut out = String::new();
        s.generate("the", &cfg, |g| {
            out.push_str(&g.text);
            true
        })
        .unwrap();
        out
    };
    assert_eq!(gen(&alone), gen(&s));
    assert_eq!(alone.train_step(1).unwrap_err().code, "no-corpus");
    // Saved again without its corpus, it keeps the file's batch stream: with the corpus it resumes alike.
    let kept = Session::load(&half.save().unwrap(), None).unwrap().save().unwrap();
    let mut again = Session::load(&kept, Some(CORPUS)).unwrap();
    again.train_to_end().unwrap();
    let hist = again.view("history", &serde_json::json!({})).unwrap();
    assert_eq!(serde_json::from_value::<Vec<LossPoint>>(hist["points"].clone()).unwrap(), a);
    assert_eq!(Session::load(&s.save().unwrap(), Some("other words entirely\nand more\n")).err().unwrap().code, "vocab-mismatch");
}

/// A chunk of training reads back from the device once, however many steps and evaluations it holds.
#[test]
fn a_chunk_reads_back_once() {
    let be = Cpu::new();
    let reads = be.read_counts();
    let mut s = Session::with_device(CORPUS, run_config(small(40)), cpu(be)).unwrap();
    reads.set((0, 0));
    let p = s.train_step(35).unwrap();
    assert_eq!((p.points.len(), p.points.iter().filter(|p| p.valid_loss.is_some()).count()), (35, 3));
    assert_eq!(reads.get(), (0, 1), "(reads, readbacks) for one chunk of 35 steps with 3 evaluations");
}

/// Every call the model makes — training, evaluation, scoring, generation, saving and loading —
/// follows the buffer rules a WebGPU backend needs (the checked CPU backend panics otherwise).
#[test]
fn the_model_keeps_the_gpu_buffer_rules() {
    let mut s = Session::with_device(CORPUS, run_config(small(12)), cpu(Cpu::checked())).unwrap();
    s.train_step(6).unwrap();
    s.report().unwrap();
    s.view("next", &serde_json::json!({ "context": "the" })).unwrap();
    s.start_generation("the", &Default::default()).unwrap();
    while !s.generate_chunk(16, |_| true).unwrap() {}
    let bytes = s.save().unwrap();
    let mut back = Session::load_on(&bytes, Some(CORPUS), cpu(Cpu::checked())).unwrap();
    assert!(back.train_to_end().unwrap().done);
    back.report().unwrap();
}

#[test]
fn big_models_split_their_parameters_into_bindable_parts() {
    use crate::nn::params::MAX_PART_FLOATS;
    // V · d for the embedding alone is over 128 MiB: refused with a clear message, not a GPU error.
    let vocab = Vocab::from_tokens((0..40_000).map(|i| format!("w{i}")), true);
    let c = FixedWindowConfig { embed: 1024, hidden: 16, context: 1, ..small(1) };
    let err = Network::<FixedWindow>::new(c, vocab.clone(), Box::new(Cpu::checked()), None).err().unwrap();
    assert_eq!(err.code, "model-too-large");
    assert!(err.message.contains("embedding.weight") && err.message.contains("128.0 MiB"), "{}", err.message);
    // Tensors that fit one by one but not together go into several parts.
    let c = FixedWindowConfig { embed: 600, hidden: 600, context: 1, ..small(1) };
    let net = Network::<FixedWindow>::new(c, vocab, Box::new(Cpu::checked()), Some(1)).unwrap();
    let eng = net.engine.borrow();
    assert!(eng.layout.parts.len() >= 2 && eng.layout.parts.iter().all(|&p| p <= MAX_PART_FLOATS), "{:?}", eng.layout.parts);
}

/// A diverging run stops at the first non-finite step — even in the middle of a chunk — and the
/// model keeps its weights from the step before: the update of the bad step is skipped on the device.
#[test]
fn a_diverging_run_stops_with_nan_loss_and_keeps_its_last_good_weights() {
    let mut c = small(50);
    c.train.lr = 1e9;
    c.train.clip = 0.0;
    c.train.warmup = 0;
    c.train.optim.optimizer = OptimizerKind::Sgd;
    let mut s = Session::new(CORPUS, run_config(c)).unwrap();
    let err = s.train_step(50).unwrap_err();
    assert_eq!(err.code, "nan-loss");
    assert!(err.message.starts_with("Step "), "{}", err.message);
    let failed: u64 = err.message[5..].split(':').next().unwrap().parse().unwrap();
    let hist = s.view("history", &serde_json::json!({})).unwrap();
    let points: Vec<LossPoint> = serde_json::from_value(hist["points"].clone()).unwrap();
    assert_eq!(points.len() as u64, failed - 1, "the steps before the failure are kept");
    assert!(points.iter().all(|p| p.train_loss.is_finite()));
    // The model is the one after the last good step: a fresh run stopped there scores the same.
    let mut again = Session::new(CORPUS, s.config.clone()).unwrap();
    if failed > 1 {
        again.train_step(failed - 1).unwrap();
    }
    let tokens = s.data.train.clone();
    let (a, b) = (s.model().unwrap().score(&tokens), again.model().unwrap().score(&tokens));
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())));
    // Its file is that of the run stopped there: the sampler stands where the good steps left it.
    let (f, g) = (modelfile::read(&s.save().unwrap()).unwrap(), modelfile::read(&again.save().unwrap()).unwrap());
    assert_eq!((&f.state["step"], &f.state["sampler"]), (&g.state["step"], &g.state["sampler"]));
}

fn edit_file(bytes: &[u8], f: impl FnOnce(&mut modelfile::ModelFile)) -> Vec<u8> {
    let mut file = modelfile::read(bytes).unwrap();
    f(&mut file);
    modelfile::write(file).unwrap()
}

#[test]
fn a_file_claiming_more_steps_than_its_run_is_refused() {
    let mut s = Session::new(CORPUS, run_config(small(10))).unwrap();
    s.train_step(5).unwrap();
    let forged = edit_file(&s.save().unwrap(), |f| f.state["step"] = 11.into());
    assert_eq!(Session::load(&forged, Some(CORPUS)).err().unwrap().code, "file-corrupt");
}

/// Optimizer moments load all or nothing: with one missing, none is written (no half-restored
/// state), the step count restarts, and the model itself still loads.
#[test]
fn missing_optimizer_moments_leave_no_half_written_state() {
    let mut s = Session::new(CORPUS, run_config(small(10))).unwrap();
    s.train_step(5).unwrap();
    let bytes = edit_file(&s.save().unwrap(), |f| {
        f.take("optim.v/output.bias").unwrap();
    });
    let back = Session::load(&bytes, Some(CORPUS)).unwrap();
    let saved = modelfile::read(&back.save().unwrap()).unwrap();
    assert_eq!(saved.state["optimizer_steps"], 0);
    for t in saved.tensors.iter().filter(|t| t.name.starts_with("optim.")) {
        let TensorData::F32(v) = &t.data else { unreachable!() };
        assert!(v.iter().all(|&x| x == 0.0), "{} was written", t.name);
    }
    let TensorData::F32(w) = &saved.tensor("output.weight").unwrap().data else { unreachable!() };
    assert!(w.iter().any(|&x| x != 0.0), "the parameters load");
}

/// "Train more": a run that ended (or stopped) continues to a raised step count with its optimizer
/// state and loss curve. With a constant rate after warm-up, 20 steps then 20 more equal 40 straight;
/// the raised count is what a saved file carries; a lower count and an n-gram model are refused.
#[test]
fn a_finished_run_trains_more_to_a_raised_step_count() {
    let constant = |steps| {
        let mut c = small(steps);
        c.train.decay = crate::nn::optim::schedule::Decay::None;
        run_config(c)
    };
    let mut straight = Session::new(CORPUS, constant(40)).unwrap();
    let a = train_in_chunks(&mut straight, 40);
    let mut more = Session::new(CORPUS, constant(20)).unwrap();
    assert_eq!(more.train_to_end().unwrap().step, 20);
    assert_eq!(more.set_steps(10).unwrap_err().code, "bad-steps");
    more.set_steps(40).unwrap();
    let p = more.train_to_end().unwrap();
    assert_eq!((p.step, p.total_steps), (40, 40));
    let hist = more.view("history", &serde_json::json!({})).unwrap();
    assert_eq!(serde_json::from_value::<Vec<LossPoint>>(hist["points"].clone()).unwrap(), a, "the same curve as 40 steps straight");
    let loaded = Session::load(&more.save().unwrap(), Some(CORPUS)).unwrap();
    assert_eq!(loaded.config.model.settings()["train"]["steps"], 40);
    let mut ngram = Session::new(CORPUS, RunConfig { model: ModelConfig::from_settings("ngram", serde_json::json!({"order": 2, "method": "witten-bell"})), ..Default::default() }).unwrap();
    ngram.train_to_end().unwrap();
    assert_eq!(ngram.set_steps(5).unwrap_err().code, "cannot-continue");
}
