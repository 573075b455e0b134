//! The cost of one clock read: sinew-clock's clocks beside the standard library's and quanta's.
//!
//! Run with `cargo bench -p sinew-benches --bench clock`. Everything is single-threaded: a
//! clock read takes no lock, so a second thread changes nothing but noise.
//!
//! Rows (`implementation / configuration`):
//! - `sinew / default`: `SystemClock::now_nanos`, the clock every timed primitive uses unless
//!   told otherwise: one time-stamp-counter read on a line refitted to the OS clock (where the
//!   kernel uses the counter itself; `SystemClock::source()` says which, printed at the start).
//! - `sinew / Duration`: the same read as a `Duration` (`SystemClock::now`).
//! - `sinew / QuantaClock`, `quanta / default`: quanta's clock through sinew's wrapper and
//!   bare (`quanta::Clock::now`), governor's default clock.
//! - `sinew / cached clock`: `CachedClock::now_nanos` (default 1 ms background refresh), one
//!   relaxed atomic load.
//! - `std / Instant::now`, `std / SystemTime::now`: the standard library's reads (a vDSO call
//!   each on Linux), the floor for any clock that asks the operating system.
//!
//! The hybrid logical clock (`HybridClock`), one timestamp per iteration:
//! - `clock_hlc_now`: `sinew / default` is `HybridClock::new(SystemClock)` (what
//!   `HybridClock::system()` and `Default` build) calling `now()`: one clock read and one
//!   compare-and-swap. `uhlc / default` is the `uhlc` crate (Zenoh's HLC) as its docs set it
//!   up, `HLC::default()` and `new_timestamp()`: `SystemTime::now` and a `Mutex`.
//! - `clock_hlc_now_2_threads`: the same, one clock shared by 2 threads, both taking
//!   timestamps; wall time per timestamp (each thread does half of the iterations).

// Benches may panic on setup failure; that is a failed run, not a bug to handle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Instant, SystemTime};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sinew_benches::two_threads;
use sinew_clock::{CachedClock, Clock, HybridClock, QuantaClock, SystemClock};

fn clock_now(c: &mut Criterion) {
    println!("SystemClock source: {:?}", SystemClock::source());
    let mut group = c.benchmark_group("clock_now");
    let id = BenchmarkId::new;

    // `black_box(&clock)` keeps the compiler from hoisting the read out of the loop.
    let system = SystemClock::new();
    group.bench_function(id("sinew", "default"), |b| {
        b.iter(|| black_box(&system).now_nanos());
    });
    group.bench_function(id("sinew", "Duration"), |b| {
        b.iter(|| black_box(&system).now());
    });

    let quanta_clock = QuantaClock::new();
    group.bench_function(id("sinew", "QuantaClock"), |b| {
        b.iter(|| black_box(&quanta_clock).now_nanos());
    });
    let bare = quanta::Clock::new();
    group.bench_function(id("quanta", "default"), |b| {
        b.iter(|| black_box(&bare).now());
    });

    let cached = CachedClock::new();
    // Setup check, outside the timed loop: the refresher thread is running and moves the cache.
    let first = cached.now_nanos();
    let deadline = Instant::now() + std::time::Duration::from_secs(5);
    while cached.now_nanos() == first {
        assert!(Instant::now() < deadline, "CachedClock never refreshed");
        std::thread::yield_now();
    }
    group.bench_function(id("sinew", "cached clock"), |b| {
        b.iter(|| black_box(&cached).now_nanos());
    });

    group.bench_function(id("std", "Instant::now"), |b| b.iter(Instant::now));
    group.bench_function(id("std", "SystemTime::now"), |b| b.iter(SystemTime::now));

    group.finish();
}

fn clock_hlc_now(c: &mut Criterion) {
    let sinew = HybridClock::new(SystemClock);
    let peer = uhlc::HLC::default();
    // Setup check, outside the timed loops: both issue increasing timestamps.
    assert!(sinew.now() < sinew.now());
    assert!(peer.new_timestamp() < peer.new_timestamp());
    let id = BenchmarkId::new;

    let mut group = c.benchmark_group("clock_hlc_now");
    group.bench_function(id("sinew", "default"), |b| {
        b.iter(|| black_box(&sinew).now());
    });
    group.bench_function(id("uhlc", "default"), |b| {
        b.iter(|| black_box(&peer).new_timestamp());
    });
    group.finish();

    let mut group = c.benchmark_group("clock_hlc_now_2_threads");
    group.bench_function(id("sinew", "default"), |b| {
        b.iter_custom(|iters| two_threads(iters, &|| sinew.now()));
    });
    group.bench_function(id("uhlc", "default"), |b| {
        b.iter_custom(|iters| two_threads(iters, &|| peer.new_timestamp()));
    });
    group.finish();
}

criterion_group!(benches, clock_now, clock_hlc_now);
criterion_main!(benches);
