//! A steady-state training step allocates nothing on the heap (docs/architecture.md). A counting
//! global allocator (this test binary only) counts the allocations of the current thread.

use super::fixed_window::{run_config, small, CORPUS};
use crate::session::Session;
use crate::train::Trainer;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        let _ = LIVE.try_with(|l| {
            l.set(l.get() + layout.size() as i64);
            let _ = PEAK.try_with(|p| p.set(p.get().max(l.get())));
        });
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = LIVE.try_with(|l| l.set(l.get() - layout.size() as i64));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        let _ = LIVE.try_with(|l| {
            l.set(l.get() + new_size as i64 - layout.size() as i64);
            let _ = PEAK.try_with(|p| p.set(p.get().max(l.get())));
        });
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made by `f` on this thread.
pub fn allocations(f: impl FnOnce()) -> u64 {
    let before = COUNT.with(Cell::get);
    f();
    COUNT.with(Cell::get) - before
}

/// The most bytes `f` held at once beyond what was live before it.
pub fn peak_bytes(f: impl FnOnce()) -> i64 {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    f();
    PEAK.with(Cell::get) - base
}

/// Recording a chunk costs the same allocations (its one readback) whether it holds 1 step or 40,
/// evaluation included: so a step allocates nothing.
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
    let one = chunk(1);
    let forty = chunk(40);
    assert_eq!(forty, one, "40 steps (with 4 evaluations) allocate as much as 1: per step, nothing");
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
