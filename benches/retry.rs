//! sinew-retry beside the Rust retry crates people use.
//!
//! Groups (ids are `BenchmarkId::new(implementation, configuration)`):
//!
//! - `retry_backoff_next`: the first delay of a fresh delay iterator (`iter_batched_ref`
//!   builds the iterators outside the timing). sinew's `Backoff::default()` (exponential from
//!   100 ms, factor 2, cap 10 s, full jitter, 3 retries) against backon 1's
//!   `ExponentialBuilder::default()` (from 1 s, factor 2, no jitter, 3 retries) as the headline
//!   ("default"), then like for like: both without jitter ("exponential, no jitter"), both
//!   with jitter ("exponential, jitter": backon's `with_jitter()` adds a uniform [0, delay) on
//!   top, sinew's full jitter draws from [0, delay]); the `backoff` 0.4 crate's
//!   `ExponentialBackoff::default()` (randomization 0.5, and it reads the clock for its
//!   elapsed-time limit on every call) is its own row ("default").
//! - `retry_budget_1_thread`: one original request's `deposit` and one retry's withdrawal
//!   (most are refused: a deposit buys a tenth or a fifth of a retry, and the floor's 10 a
//!   second run out at once). sinew's `RetryBudget::new()` (10% of requests, 10 a second
//!   floor, 10 s window) against tower 0.5's `TpsBudget::default()` (20%, 10 a second, 10 s).
//! - `retry_budget_2_threads`: the same, two threads on one shared budget (figure per
//!   operation, per thread).
//! - `retry_tower_call`: one request through a retry layer over a service that answers at
//!   once (the no-retry path every request takes), polled by hand. sinew's `RetryLayer` with a
//!   `RetryPolicy::new(Backoff::default())` and its default budget, against tower's
//!   `RetryLayer` with a policy over `TpsBudget::default()` (the policy tower's docs show:
//!   deposit on a success, withdraw on an error).
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use sinew_benches::{tower_once, two_threads};
use sinew_retry::{Backoff, Jitter, RetryBudget, RetryPolicy};
use tower::retry::budget::{Budget as _, TpsBudget};

fn backoff_next(c: &mut Criterion) {
    let mut g = c.benchmark_group("retry_backoff_next");
    let sinew_default = Backoff::default();
    g.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter_batched_ref(
            || sinew_default.delays(),
            |d| black_box(d.next()),
            BatchSize::SmallInput,
        );
    });
    let backon_default = backon::ExponentialBuilder::default();
    g.bench_function(BenchmarkId::new("backon", "default"), |b| {
        b.iter_batched_ref(
            || backon::BackoffBuilder::build(backon_default),
            |d| black_box(d.next()),
            BatchSize::SmallInput,
        );
    });
    g.bench_function(BenchmarkId::new("backoff", "default"), |b| {
        b.iter_batched_ref(
            backoff::ExponentialBackoff::default,
            |d| black_box(backoff::backoff::Backoff::next_backoff(d)),
            BatchSize::SmallInput,
        );
    });

    let sinew_plain = Backoff::exponential(Duration::from_secs(1))
        .jitter(Jitter::None)
        .build()
        .unwrap();
    g.bench_function(BenchmarkId::new("sinew", "exponential, no jitter"), |b| {
        b.iter_batched_ref(
            || sinew_plain.delays(),
            |d| black_box(d.next()),
            BatchSize::SmallInput,
        );
    });
    g.bench_function(BenchmarkId::new("backon", "exponential, no jitter"), |b| {
        b.iter_batched_ref(
            || backon::BackoffBuilder::build(backon_default),
            |d| black_box(d.next()),
            BatchSize::SmallInput,
        );
    });

    let sinew_jitter = Backoff::exponential(Duration::from_secs(1))
        .jitter(Jitter::Full)
        .build()
        .unwrap();
    g.bench_function(BenchmarkId::new("sinew", "exponential, jitter"), |b| {
        b.iter_batched_ref(
            || sinew_jitter.delays(),
            |d| black_box(d.next()),
            BatchSize::SmallInput,
        );
    });
    let backon_jitter = backon::ExponentialBuilder::default().with_jitter();
    g.bench_function(BenchmarkId::new("backon", "exponential, jitter"), |b| {
        b.iter_batched_ref(
            || backon::BackoffBuilder::build(backon_jitter),
            |d| black_box(d.next()),
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

/// One deposit and one withdrawal.
fn sinew_budget_op(b: &RetryBudget) -> bool {
    b.deposit();
    b.try_withdraw()
}

fn tower_budget_op(b: &TpsBudget) -> bool {
    b.deposit();
    b.withdraw()
}

fn budget_1_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("retry_budget_1_thread");
    let s = RetryBudget::new();
    g.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| sinew_budget_op(black_box(&s)));
    });
    let t = TpsBudget::default();
    g.bench_function(BenchmarkId::new("tower", "default"), |b| {
        b.iter(|| tower_budget_op(black_box(&t)));
    });
    g.finish();
}

fn budget_2_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("retry_budget_2_threads");
    let s = RetryBudget::new();
    g.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter_custom(|iters| two_threads(iters, &|| sinew_budget_op(&s)));
    });
    let t = TpsBudget::default();
    g.bench_function(BenchmarkId::new("tower", "default"), |b| {
        b.iter_custom(|iters| two_threads(iters, &|| tower_budget_op(&t)));
    });
    g.finish();
}

/// tower's retry policy as its docs write it: deposit on a success, retry an error while the
/// budget allows.
#[derive(Clone)]
struct TowerPolicy(Arc<TpsBudget>);

impl<Req: Clone, Res, E> tower::retry::Policy<Req, Res, E> for TowerPolicy {
    type Future = std::future::Ready<()>;
    fn retry(&mut self, _req: &mut Req, result: &mut Result<Res, E>) -> Option<Self::Future> {
        match result {
            Ok(_) => {
                self.0.deposit();
                None
            }
            Err(_) => self.0.withdraw().then(|| std::future::ready(())),
        }
    }
    fn clone_request(&mut self, req: &Req) -> Option<Req> {
        Some(req.clone())
    }
}

fn tower_call(c: &mut Criterion) {
    use tower::Layer;
    let mut g = c.benchmark_group("retry_tower_call");
    let mut cx = Context::from_waker(Waker::noop());
    let inner = || tower::service_fn(|x: u64| std::future::ready(Ok::<u64, ()>(x)));

    let mut bare = inner();
    assert!(tower_once(&mut bare, &mut cx));
    g.bench_function(BenchmarkId::new("baseline", "service_fn, no layer"), |b| {
        b.iter(|| tower_once(&mut bare, &mut cx));
    });

    let policy = Arc::new(RetryPolicy::new(Backoff::default()).budget(RetryBudget::new()));
    let mut s = sinew_retry::tower::RetryLayer::new(policy).layer(inner());
    assert!(tower_once(&mut s, &mut cx), "sinew layer serves");
    g.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| tower_once(&mut s, &mut cx));
    });

    let layer = tower::retry::RetryLayer::new(TowerPolicy(Arc::new(TpsBudget::default())));
    let mut t = layer.layer(inner());
    assert!(tower_once(&mut t, &mut cx), "tower layer serves");
    g.bench_function(BenchmarkId::new("tower", "default"), |b| {
        b.iter(|| tower_once(&mut t, &mut cx));
    });
    g.finish();
}

criterion_group!(
    benches,
    backoff_next,
    budget_1_thread,
    budget_2_threads,
    tower_call
);
criterion_main!(benches);
