//! A steady-state training step allocates nothing on the heap (docs/architecture.md), with the
//! counting allocator of `nn::alloc_tests` (this test binary only, per thread). That file checks
//! every backend op; this one the whole step: the sampler, the model, the trainer.

use super::fixed_window::{run_config, small, CORPUS};
use crate::session::Session;
use crate::train::Trainer;
use crate::nn::alloc_tests::{allocations, peak_bytes};

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

/// Saving streams the model into the file: about one copy of the parameters besides the output.
#[test]
fn saving_holds_about_one_model_besides_the_file() {
    let mut c = small(2);
    c.hidden = 256;
    c.embed = 64;
    let mut s = Session::new(&CORPUS.repeat(20), run_config(c)).unwrap();
    s.train_step(1).unwrap();
    let mut size = 0;
    let peak = peak_bytes(|| size = s.save().unwrap().len());
    // The file holds parameters and two moments; the host copies of them are dropped as written.
    assert!(peak < (size as f64 * 2.3) as i64, "peak {peak} bytes for a {size}-byte file");
}

#[allow(dead_code)]
fn _trainer_is_object_safe(_: &dyn Trainer) {}
