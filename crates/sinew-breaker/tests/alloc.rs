//! No heap allocation on any per-call path: a counting global allocator around every path a
//! call can take (closed admit and report, trips, open rejection, half-open trials, drops,
//! `call`, the time window).
#![allow(unsafe_code, clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use sinew_breaker::{CircuitBreaker, ManualClock, State};

struct Counting;

thread_local! {
    /// Allocations made by this thread (the test harness allocates on other threads).
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every method forwards to the system allocator unchanged; the count is a
// thread-local `Cell` of a `u64`, which neither allocates nor re-enters the allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded with the caller's layout, under the caller's contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
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
