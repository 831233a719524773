//! A steady-state training step allocates nothing on the heap (docs/architecture.md), with the
//! counting allocator of `nn::alloc_tests` (this test binary only, per thread). That file checks
//! every backend op; this one the whole step: the sampler, the model, the trainer.

use super::fixed_window::{run_config, small, CORPUS};
use crate::nn::models::fixed_window::FixedWindowConfig;
use crate::session::Session;
use crate::train::Trainer;
use crate::nn::alloc_tests::{allocations, peak_and_retained, peak_bytes};

/// Recording a chunk costs the same allocations (its one readback) whether it holds 10 steps or 40,
/// evaluations included: so a step allocates nothing.
#[test]
fn a_training_step_allocates_nothing() {
    let mut c = small(400);
    c.train.eval_interval = 10;
    let mut s = Session::new(CORPUS, run_config(c)).unwrap();
    s.train_step(25).unwrap(); // warm-up: every buffer and scratch reaches its size
    let (data, trainer) = s.parts_for_tests();
    let mut chunk = |n: u64| {
        let mut rb = None;
        let a = allocations(|| rb = Some(trainer.run(data, n).unwrap()));
        let values = crate::train::block_on(rb.unwrap().readback);
        trainer.finish(data, values).unwrap();
        a
    };
    // Both chunks evaluate (every 10 steps), so their readbacks are alike.
    let ten = chunk(10);
    let forty = chunk(40);
    assert_eq!(forty, ten, "40 steps (with 4 evaluations) allocate as much as 10 (with 1): per step, nothing");
}

/// The same for a Transformer of every attention kind (and dropout, and RoPE): a step allocates nothing.
#[test]
fn a_transformer_step_allocates_nothing() {
    use crate::nn::models::transformer::{AttentionKind, Positional, TransformerConfig};
    for (attention, positional, dropout) in [(AttentionKind::Full, Positional::Rope, 0.1), (AttentionKind::Sparse, Positional::Relative, 0.0), (AttentionKind::Linear, Positional::Learned, 0.0)] {
        let mut c = TransformerConfig { layers: 2, heads: 2, width: 8, context: 6, attention, positional, dropout, ..Default::default() };
        c.train.batch = 3;
        c.train.steps = 400;
        c.train.eval_interval = 10;
        c.train.eval_tokens = 50;
        let rc = crate::session::RunConfig { model: crate::config::ModelConfig::new("transformer", &c), ..run_config(small(400)) };
        let mut s = Session::new(CORPUS, rc).unwrap();
        s.train_step(25).unwrap();
        let (data, trainer) = s.parts_for_tests();
        let mut chunk = |n: u64| {
            let mut rb = None;
            let a = allocations(|| rb = Some(trainer.run(data, n).unwrap()));
            let values = crate::train::block_on(rb.unwrap().readback);
            trainer.finish(data, values).unwrap();
            a
        };
        let ten = chunk(10);
        let forty = chunk(40);
        assert_eq!(forty, ten, "{attention:?}: 40 steps allocate as much as 10");
    }
}

/// A model trained one step on a vocabulary of 1000 words, so that no one tensor dominates its file.
fn thousand_words() -> (String, Session) {
    let corpus: String = (0..4000).map(|i| format!("w{}{}", i % 1000, if i % 10 == 9 { "\n" } else { " " })).collect();
    let c = FixedWindowConfig { context: 1, embed: 32, hidden: 32, ..small(2) };
    let mut s = Session::new(&corpus, run_config(c)).unwrap();
    s.train_step(1).unwrap();
    (corpus, s)
}

/// Saving streams the model into the file: besides the output it holds one tensor at a time (it
/// used to hold about four copies of the model).
#[test]
fn saving_holds_one_tensor_at_a_time_besides_the_file() {
    let (_, s) = thousand_words();
    let mut size = 0;
    let peak = peak_bytes(|| size = s.save().unwrap().len());
    // The file holds the parameters and two moments; the largest of them (W, H × n·d) is a small share.
    let file = crate::modelfile::read(&s.save().unwrap()).unwrap();
    let largest = file.tensors.iter().map(|t| t.shape.iter().product::<usize>() as i64 * 4).max().unwrap();
    assert!(largest * 4 < size as i64);
    assert!(peak < size as i64 + largest + (64 << 10), "peak {peak} bytes for a {size}-byte file (largest tensor {largest} bytes)");
}

/// Loading decodes each tensor once and moves it onto the device (it used to clone every tensor
/// again): what it holds beyond the loaded model itself is about one file.
#[test]
fn loading_holds_about_one_file_besides_the_model() {
    let (corpus, s) = thousand_words();
    let bytes = s.save().unwrap();
    let mut back = None;
    let (peak, retained) = peak_and_retained(|| back = Some(Session::load(&bytes, Some(&corpus)).unwrap()));
    let transient = peak - retained;
    assert!(transient < (bytes.len() as f64 * 1.3) as i64, "load held {transient} bytes beyond the model for a {}-byte file", bytes.len());
}

#[allow(dead_code)]
fn _trainer_is_object_safe(_: &dyn Trainer) {}
