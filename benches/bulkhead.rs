//! sinew-bulkhead beside the concurrency limits Rust services use today.
//!
//! Groups (ids are `BenchmarkId::new(implementation, configuration)`):
//!
//! - `bulkhead_try_acquire`: take a permit and give it back, uncontended, on a bulkhead of
//!   1,000. sinew's `Bulkhead::new(1000)` `try_acquire` against tokio 1's
//!   `Semaphore::new(1000)` `try_acquire` (the basis of `tower::limit::ConcurrencyLimit`),
//!   then the owned forms (`try_acquire_owned`, tokio's on an `Arc<Semaphore>`).
//! - `bulkhead_try_acquire_2_threads`: the same with two threads sharing one bulkhead (figure
//!   per operation, per thread).
//! - `bulkhead_adaptive_acquire_success`: an `AdaptiveLimit` admission and the permit closed
//!   with `success()` (its round-trip time read from the clock), one row per algorithm with
//!   its defaults. No Rust crate offers this to compare with; the target is at most 20 ns.
//! - `bulkhead_tower_call`: one request through a concurrency-limiting layer over a service
//!   that answers at once, polled by hand: sinew's `BulkheadLayer` (a `Bulkhead` of 1,000)
//!   against `tower::limit::ConcurrencyLimitLayer::new(1000)` and tower-resilience-bulkhead
//!   0.14's `BulkheadLayer::builder().max_concurrent_calls(1000)` (its default mode).
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::task::{Context, Waker};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sinew_benches::{tower_once, two_threads};
use sinew_bulkhead::{AdaptiveLimit, Aimd, Bulkhead, Gradient2, Vegas};
use tokio::sync::Semaphore;

fn try_acquire(c: &mut Criterion) {
    let mut g = c.benchmark_group("bulkhead_try_acquire");
    let b = Bulkhead::new(1000);
    g.bench_function(BenchmarkId::new("sinew", "default"), |bench| {
        bench.iter(|| drop(black_box(b.try_acquire())));
    });
    let s = Semaphore::new(1000);
    g.bench_function(BenchmarkId::new("tokio", "default"), |bench| {
        bench.iter(|| drop(black_box(s.try_acquire())));
    });
    g.bench_function(BenchmarkId::new("sinew", "owned"), |bench| {
        bench.iter(|| drop(black_box(b.try_acquire_owned())));
    });
    let s = Arc::new(Semaphore::new(1000));
    g.bench_function(BenchmarkId::new("tokio", "owned"), |bench| {
        bench.iter(|| drop(black_box(Arc::clone(&s).try_acquire_owned())));
    });
    g.finish();
}

fn try_acquire_2_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("bulkhead_try_acquire_2_threads");
    let b = Bulkhead::new(1000);
    g.bench_function(BenchmarkId::new("sinew", "default"), |bench| {
        bench.iter_custom(|iters| two_threads(iters, &|| b.try_acquire().is_ok()));
    });
    let s = Semaphore::new(1000);
    g.bench_function(BenchmarkId::new("tokio", "default"), |bench| {
        bench.iter_custom(|iters| two_threads(iters, &|| s.try_acquire().is_ok()));
    });
    g.finish();
}

fn adaptive(c: &mut Criterion) {
    let mut g = c.benchmark_group("bulkhead_adaptive_acquire_success");
    let limits = [
        ("aimd", AdaptiveLimit::new(Aimd::new())),
        ("vegas", AdaptiveLimit::new(Vegas::new())),
        ("gradient2", AdaptiveLimit::new(Gradient2::new())),
    ];
    for (name, limit) in limits {
        g.bench_function(BenchmarkId::new("sinew", name), |bench| {
            bench.iter(|| {
                if let Ok(permit) = black_box(&limit).try_acquire() {
                    permit.success();
                }
            });
        });
    }
    g.finish();
}

fn tower_call(c: &mut Criterion) {
    use tower::Layer;
    let mut g = c.benchmark_group("bulkhead_tower_call");
    let mut cx = Context::from_waker(Waker::noop());
    let inner = || tower::service_fn(|x: u64| std::future::ready(Ok::<u64, ()>(x)));

    let mut bare = inner();
    assert!(tower_once(&mut bare, &mut cx));
    g.bench_function(BenchmarkId::new("baseline", "service_fn, no layer"), |b| {
        b.iter(|| tower_once(&mut bare, &mut cx));
    });

    let mut s = sinew_bulkhead::tower::BulkheadLayer::new(Bulkhead::new(1000)).layer(inner());
    assert!(tower_once(&mut s, &mut cx), "sinew layer serves");
    g.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| tower_once(&mut s, &mut cx));
    });

    let mut t = tower::limit::ConcurrencyLimitLayer::new(1000).layer(inner());
    assert!(tower_once(&mut t, &mut cx), "tower layer serves");
    g.bench_function(BenchmarkId::new("tower", "default"), |b| {
        b.iter(|| tower_once(&mut t, &mut cx));
    });

    // tower-resilience's bulkhead may read tokio's clock: give it a runtime context.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _in_runtime = rt.enter();
    let peer = tower_resilience_bulkhead::BulkheadLayer::builder()
        .max_concurrent_calls(1000)
        .build()
        .unwrap();
    let mut r = peer.layer(inner());
    assert!(tower_once(&mut r, &mut cx), "tower-resilience layer serves");
    g.bench_function(
        BenchmarkId::new("tower-resilience-bulkhead", "default"),
        |b| b.iter(|| tower_once(&mut r, &mut cx)),
    );
    g.finish();
}

criterion_group!(
    benches,
    try_acquire,
    try_acquire_2_threads,
    adaptive,
    tower_call
);
criterion_main!(benches);
