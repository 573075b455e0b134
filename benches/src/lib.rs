//! Helpers shared by the benchmarks in `benches/` (the benchmarks themselves live there).

use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

/// Wall time for `iters` calls of `f` made by 2 threads, `iters / 2` each (the first takes the
/// odd one), released together by a barrier: from the first thread's start to the last
/// thread's end. Spawning the threads is outside the timed span. For criterion's
/// `iter_custom`.
pub fn two_threads<T>(iters: u64, f: &(impl Fn() -> T + Sync)) -> Duration {
    two_threads_with(iters, &|| (), &|_: &mut ()| f())
}

/// As [`two_threads`], with per-thread state: each thread makes its own state with `init`
/// (outside the timed span, before the barrier) and calls `next` on it `iters / 2` times.
pub fn two_threads_with<S, T>(
    iters: u64,
    init: &(impl Fn() -> S + Sync),
    next: &(impl Fn(&mut S) -> T + Sync),
) -> Duration {
    let barrier = Barrier::new(2);
    let barrier = &barrier;
    let [(start_a, end_a), (start_b, end_b)] = thread::scope(|s| {
        [iters - iters / 2, iters / 2]
            .map(|n| {
                s.spawn(move || {
                    let mut state = init();
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..n {
                        black_box(next(&mut state));
                    }
                    (start, Instant::now())
                })
            })
            // A panicking benchmark thread fails the run with its own panic.
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
    });
    end_a.max(end_b) - start_a.min(start_b)
}

/// One request through a tower service polled by hand: ready, call, one poll of the response
/// (every service the benches wrap answers at once). `true` if it answered `Ok`; the benches
/// assert it once before timing, so a layer that refuses cannot look fast.
pub fn tower_once<S: tower::Service<u64>>(svc: &mut S, cx: &mut std::task::Context<'_>) -> bool {
    use std::task::Poll;
    if !matches!(svc.poll_ready(cx), Poll::Ready(Ok(()))) {
        return false;
    }
    let mut fut = std::pin::pin!(svc.call(black_box(1)));
    matches!(fut.as_mut().poll(cx), Poll::Ready(Ok(_)))
}
