//! Device readbacks. A GPU returns data only after its queue drains (asynchronously in the browser:
//! `map_async`), so everything a trainer reads from its device comes back through one [`Readback`]
//! per chunk. The future owns what it needs, so no borrow of the model is held while it is awaited.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Tensors read back from a device, in the order they were asked for.
pub type Readback = Pin<Box<dyn Future<Output = Vec<Vec<f32>>>>>;

/// A readback whose values are already on the host (the CPU backend).
pub fn ready(values: Vec<Vec<f32>>) -> Readback {
    Box::pin(std::future::ready(values))
}

/// Waits for a readback on a synchronous caller (the CLI, tests). Host readbacks are ready at once;
/// a native GPU backend's future drives its device from `poll`, so spinning here completes it.
pub fn block_on<T>(fut: Pin<Box<dyn Future<Output = T>>>) -> T {
    let mut fut = fut;
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::hint::spin_loop();
    }
}
