//! The cost of one clock read: sinew-clock's clocks beside the standard library's.
//!
//! Run with `cargo bench -p sinew-benches --bench clock`. Everything is single-threaded: a
//! clock read takes no lock, so a second thread changes nothing but noise.
//!
//! - `Instant::now` and `SystemTime::now` are the standard library's reads (a vDSO call each on
//!   Linux), the floor for any clock that asks the operating system.
//! - `SystemClock` is one `Instant::now` plus an addition to a wall time sampled once.
//! - `CachedClock` (default 1 ms background refresh) is one relaxed atomic load.

// Benches may panic on setup failure; that is a failed run, not a bug to handle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Instant, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use sinew_clock::{CachedClock, Clock, SystemClock};

fn clock_now(c: &mut Criterion) {
    let mut group = c.benchmark_group("clock_now");

    group.bench_function("Instant::now", |b| b.iter(Instant::now));
    group.bench_function("SystemTime::now", |b| b.iter(SystemTime::now));

    // `black_box(&clock)` keeps the compiler from hoisting the read out of the loop.
    let system = SystemClock::new();
    group.bench_function("SystemClock::now", |b| b.iter(|| black_box(&system).now()));
    group.bench_function("SystemClock::now_nanos", |b| {
        b.iter(|| black_box(&system).now_nanos());
    });

    let cached = CachedClock::new();
    // Setup check, outside the timed loop: the refresher thread is running and moves the cache.
    let first = cached.now_nanos();
    let deadline = Instant::now() + std::time::Duration::from_secs(5);
    while cached.now_nanos() == first {
        assert!(Instant::now() < deadline, "CachedClock never refreshed");
        std::thread::yield_now();
    }
    group.bench_function("CachedClock::now_nanos", |b| {
        b.iter(|| black_box(&cached).now_nanos());
    });
    group.bench_function("CachedClock::now", |b| b.iter(|| black_box(&cached).now()));

    group.finish();
}

criterion_group!(benches, clock_now);
criterion_main!(benches);
