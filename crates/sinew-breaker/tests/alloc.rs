//! No heap allocation on any per-call path: a counting global allocator around every path a
//! call can take (closed admit and report, trips, open rejection, half-open trials, drops,
//! `call`, the time window).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sinew_breaker::{CircuitBreaker, ManualClock, State};
use sinew_testkit::CountingAllocator;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

fn allocs() -> u64 {
    CountingAllocator::allocations_on_this_thread()
}

fn exercise(b: &CircuitBreaker<ManualClock>, clock: &ManualClock) {
    for round in 0..100 {
        // Closed: successes, then failures until it trips.
        for _ in 0..20 {
            b.try_acquire().unwrap().success();
        }
        let _ = b.call(|| Ok::<_, u8>(round));
        let _ = b.call_with(|| Err::<u8, _>(1u8), |_| false);
        drop(b.try_acquire().unwrap());
        while b.state() == State::Closed {
            b.try_acquire().unwrap().failure();
        }
        // Open: rejections.
        for _ in 0..10 {
            assert!(b.try_acquire().is_err());
        }
        let _ = b.metrics();
        // Half-open: trials, a dropped one, a full rejection, then close.
        clock.advance(Duration::from_secs(30));
        let t1 = b.try_acquire().unwrap();
        drop(b.try_acquire().unwrap());
        let t2 = b.try_acquire().unwrap();
        assert!(b.try_acquire().is_err());
        t1.success();
        t2.success();
        assert_eq!(b.state(), State::Closed);
    }
    b.force_open();
    assert!(b.try_acquire().is_err());
    b.reset();
}

#[test]
fn no_allocation_per_call() {
    let clock = ManualClock::new(Duration::from_secs(1_000));
    let count = CircuitBreaker::builder()
        .count_window(20)
        .minimum_calls(10)
        .slow_call(Duration::from_secs(1), 1.0)
        .wait_in_open(Duration::from_secs(30))
        .half_open_permits(2)
        .on_transition(|_| {})
        .clock(clock.clone())
        .build()
        .unwrap();
    let time = CircuitBreaker::builder()
        .time_window(Duration::from_secs(10))
        .minimum_calls(10)
        .consecutive_failures(15)
        .wait_in_open(Duration::from_secs(30))
        .half_open_permits(2)
        .clock(clock.clone())
        .build()
        .unwrap();
    // Warm up anything lazily initialized (thread-locals, the panic machinery).
    exercise(&count, &clock);
    let before = allocs();
    exercise(&count, &clock);
    exercise(&time, &clock);
    assert_eq!(allocs() - before, 0, "allocations on the per-call paths");
    // The counter works: building a breaker allocates its window.
    let before = allocs();
    let _b = CircuitBreaker::builder().build().unwrap();
    assert!(allocs() > before);
}
