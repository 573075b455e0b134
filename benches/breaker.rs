//! The cost of a circuit breaker on the call path: sinew-breaker beside failsafe and recloser.
//!
//! Run with `cargo bench -p sinew-benches --bench breaker`.
//!
//! Every benchmark is `BenchmarkId::new(implementation, configuration)`: `"sinew"`, `"recloser"`,
//! `"failsafe"`, `"tower-resilience-circuitbreaker"` or `"baseline"`, and `"default"` for what a
//! user gets from the obvious constructor, else the non-default choice.
//!
//! # Groups
//!
//! - `breaker_closed_call_1_thread`: one successful call through a closed breaker, per
//!   iteration. The call itself is `Ok(black_box(1))`, so the figure is the breaker's
//!   overhead; `baseline / closure alone` calls the closure directly.
//! - `breaker_closed_call_2_threads`: one breaker shared by 2 threads, both calling; the figure
//!   is wall time per call (each thread makes half of the iterations), so perfect scaling would
//!   halve it. With every call a success, sinew's window stays clean (its last 100 calls all
//!   succeeded) and a success writes nothing shared. The `1% failures` rows make every 100th
//!   call of each thread fail (no breaker trips on that): with failures in the window, each
//!   sinew success takes the next slot of the shared count window with a `fetch_add` on its
//!   cursor, so these rows measure the contention a less healthy dependency brings back.
//! - `breaker_open_reject`: one call turned away by an open breaker (tripped, with an hour
//!   left to wait), single-threaded.
//! - `breaker_tower_call_1_thread`: one request through a tower service guarded by a
//!   circuit-breaker layer (`poll_ready`, `call`, then one poll of the response future with a
//!   no-op waker; the inner `service_fn` answers at once). `baseline / service_fn, no layer`
//!   is the service alone.
//!
//! # Configuration (defaults, which are one policy for sinew and recloser)
//!
//! - sinew: `CircuitBreaker::builder().build()`: a count window of the last 100 calls, trip at
//!   50% failures after 100 calls (resilience4j's defaults), no slow-call rule, the default
//!   clock; `default` is `call` around the closure (a drop guard records a panic as a failure,
//!   no `catch_unwind`); `try_acquire, success` is `try_acquire()?.success()` around it.
//!   `slow-call rule` adds `slow_call(1 s, 100%)`, which reads the clock at admission and at
//!   report (the default clock, or `CachedClock` where named); no peer has that rule.
//! - recloser 1.4: `Recloser::custom().build()`: a ring of the last 100 calls, trip at 50%
//!   (the same policy as sinew's defaults), `call`.
//! - failsafe 1.3: `Config::new().build()`, its recommended default (success rate over a time
//!   window, or 5 consecutive failures; a mutex around the state machine), `call`.
//! - tower-resilience-circuitbreaker 0.14: `CircuitBreakerLayer::builder()` with the same
//!   policy as sinew's defaults (last 100 calls, 50%, minimum 100; its own defaults are a window
//!   of 10): `last 100 calls, 50%`. It boxes each response future and takes a
//!   `tokio::sync::Mutex` per call.
//!
//! For `breaker_open_reject` the only change from the defaults is an open wait of one hour, so
//! the breakers stay open through the run: sinew is tripped by failing a full window of 100
//! calls, recloser by 101 failed calls (it decides at the call after the one that fills its
//! ring), failsafe by a `consecutive_failures(1, constant(1 h))` policy (its default backoff
//! would not keep it open for the whole run). An open breaker must read the clock to know
//! whether its wait is over (sinew with its default clock, recloser and failsafe with
//! `Instant::now`); `CachedClock` reads a cached clock (one atomic load); `forced open` reads no
//! clock.
//!
//! Every breaker is checked in the setup (never in a timed loop): closed admits, open rejects.

// Benches may panic on setup failure; that is a failed run, not a bug to handle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::task::{Context, Waker};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use failsafe::CircuitBreaker as _;
use sinew_benches::{tower_once, two_threads, two_threads_with};
use sinew_breaker::{CachedClock, CircuitBreaker, Clock};

const HOUR: Duration = Duration::from_secs(3600);

/// Every how many calls a thread's call fails in the `1% failures` rows.
const FAIL_EVERY: u32 = 100;

// ---- The breakers, each in the setup named in the module docs. ----

/// sinew's defaults, with whatever clock is the default.
fn sinew() -> CircuitBreaker {
    CircuitBreaker::builder().build().unwrap()
}

/// `b` (built with an open wait of an hour) tripped, for the open group.
fn tripped<C: Clock>(b: CircuitBreaker<C>) -> CircuitBreaker<C> {
    for _ in 0..100 {
        b.try_acquire().unwrap().failure();
    }
    assert!(b.try_acquire().is_err(), "sinew is open");
    b
}

fn sinew_slow() -> CircuitBreaker {
    CircuitBreaker::builder()
        .slow_call(Duration::from_secs(1), 1.0)
        .build()
        .unwrap()
}

fn sinew_slow_with<C: Clock>(clock: C) -> CircuitBreaker<C> {
    CircuitBreaker::builder()
        .slow_call(Duration::from_secs(1), 1.0)
        .clock(clock)
        .build()
        .unwrap()
}

fn recloser() -> recloser::Recloser {
    recloser::Recloser::custom().build()
}

type Failsafe = failsafe::StateMachine<
    failsafe::failure_policy::OrElse<
        failsafe::failure_policy::SuccessRateOverTimeWindow<failsafe::backoff::EqualJittered>,
        failsafe::failure_policy::ConsecutiveFailures<failsafe::backoff::EqualJittered>,
    >,
    (),
>;

fn failsafe() -> Failsafe {
    failsafe::Config::new().build()
}

fn failsafe_open() -> impl failsafe::CircuitBreaker {
    let policy =
        failsafe::failure_policy::consecutive_failures(1, failsafe::backoff::constant(HOUR));
    let b = failsafe::Config::new().failure_policy(policy).build();
    let _ = b.call(|| Err::<(), ()>(()));
    assert!(!b.is_call_permitted(), "failsafe is open");
    b
}

#[inline]
fn work() -> Result<u64, ()> {
    Ok(black_box(1))
}

/// The call of the `1% failures` rows: fails when the thread's `count` comes round.
#[inline]
fn work_failing_sometimes(count: &mut u32) -> Result<u64, ()> {
    *count += 1;
    if *count == FAIL_EVERY {
        *count = 0;
        Err(())
    } else {
        work()
    }
}

fn sinew_call<C: Clock>(b: &CircuitBreaker<C>) -> u64 {
    b.call(work).unwrap()
}

fn sinew_permit<C: Clock>(b: &CircuitBreaker<C>) -> u64 {
    let p = b.try_acquire().unwrap();
    let v = work();
    p.success();
    v.unwrap()
}

fn recloser_call(b: &recloser::Recloser) -> u64 {
    b.call(work).unwrap()
}

fn failsafe_call(b: &Failsafe) -> u64 {
    b.call(work).unwrap()
}

/// `1% failures` calls; `true` when the breaker ran the call (success or counted failure).
fn sinew_call_failing(b: &CircuitBreaker, count: &mut u32) -> bool {
    !matches!(
        b.call(|| work_failing_sometimes(count)),
        Err(sinew_breaker::CallError::Rejected(_))
    )
}

fn recloser_call_failing(b: &recloser::Recloser, count: &mut u32) -> bool {
    !matches!(
        b.call(|| work_failing_sometimes(count)),
        Err(recloser::Error::Rejected)
    )
}

fn failsafe_call_failing(b: &Failsafe, count: &mut u32) -> bool {
    !matches!(
        b.call(|| work_failing_sometimes(count)),
        Err(failsafe::Error::Rejected)
    )
}

/// Checks that `call` (one of the `_failing` calls) keeps the breaker closed at 1% failures.
fn assert_stays_closed(name: &str, call: impl Fn(&mut u32) -> bool) {
    let mut count = 0;
    for _ in 0..10 * FAIL_EVERY {
        assert!(call(&mut count), "{name} tripped at 1% failures");
    }
}

fn closed_call_1_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("breaker_closed_call_1_thread");
    g.bench_function(BenchmarkId::new("baseline", "closure alone"), |b| {
        b.iter(|| work().unwrap());
    });
    let s = sinew();
    g.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| sinew_call(&s));
    });
    g.bench_function(BenchmarkId::new("sinew", "try_acquire, success"), |b| {
        b.iter(|| sinew_permit(&s));
    });
    let slow = sinew_slow();
    g.bench_function(BenchmarkId::new("sinew", "slow-call rule"), |b| {
        b.iter(|| sinew_call(&slow));
    });
    let slow_cached = sinew_slow_with(CachedClock::new());
    g.bench_function(
        BenchmarkId::new("sinew", "slow-call rule, CachedClock"),
        |b| {
            b.iter(|| sinew_call(&slow_cached));
        },
    );
    let r = recloser();
    g.bench_function(BenchmarkId::new("recloser", "default"), |b| {
        b.iter(|| recloser_call(&r));
    });
    let f = failsafe();
    g.bench_function(BenchmarkId::new("failsafe", "default"), |b| {
        b.iter(|| failsafe_call(&f));
    });
    g.finish();
}

fn closed_call_2_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("breaker_closed_call_2_threads");
    let s = sinew();
    g.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter_custom(|iters| two_threads(iters, &|| sinew_call(&s)));
    });
    let slow = sinew_slow();
    g.bench_function(BenchmarkId::new("sinew", "slow-call rule"), |b| {
        b.iter_custom(|iters| two_threads(iters, &|| sinew_call(&slow)));
    });
    let r = recloser();
    g.bench_function(BenchmarkId::new("recloser", "default"), |b| {
        b.iter_custom(|iters| two_threads(iters, &|| recloser_call(&r)));
    });
    let f = failsafe();
    g.bench_function(BenchmarkId::new("failsafe", "default"), |b| {
        b.iter_custom(|iters| two_threads(iters, &|| failsafe_call(&f)));
    });

    let s = sinew();
    assert_stays_closed("sinew", |n| sinew_call_failing(&s, n));
    g.bench_function(BenchmarkId::new("sinew", "1% failures"), |b| {
        b.iter_custom(|iters| two_threads_with(iters, &|| 0, &|n| sinew_call_failing(&s, n)));
    });
    let r = recloser();
    assert_stays_closed("recloser", |n| recloser_call_failing(&r, n));
    g.bench_function(BenchmarkId::new("recloser", "1% failures"), |b| {
        b.iter_custom(|iters| two_threads_with(iters, &|| 0, &|n| recloser_call_failing(&r, n)));
    });
    let f = failsafe();
    assert_stays_closed("failsafe", |n| failsafe_call_failing(&f, n));
    g.bench_function(BenchmarkId::new("failsafe", "1% failures"), |b| {
        b.iter_custom(|iters| two_threads_with(iters, &|| 0, &|n| failsafe_call_failing(&f, n)));
    });
    g.finish();
}

fn open_reject(c: &mut Criterion) {
    let mut g = c.benchmark_group("breaker_open_reject");
    let s = tripped(
        CircuitBreaker::builder()
            .wait_in_open(HOUR)
            .build()
            .unwrap(),
    );
    g.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| s.try_acquire().is_err());
    });
    let cached = tripped(
        CircuitBreaker::builder()
            .wait_in_open(HOUR)
            .clock(CachedClock::new())
            .build()
            .unwrap(),
    );
    g.bench_function(BenchmarkId::new("sinew", "CachedClock"), |b| {
        b.iter(|| cached.try_acquire().is_err());
    });
    let forced = sinew();
    forced.force_open();
    g.bench_function(BenchmarkId::new("sinew", "forced open"), |b| {
        b.iter(|| forced.try_acquire().is_err());
    });
    let r = recloser::Recloser::custom().open_wait(HOUR).build();
    // recloser decides from the call after the one that fills its ring.
    for _ in 0..101 {
        let _ = r.call(|| Err::<(), ()>(()));
    }
    assert!(
        matches!(r.call(work), Err(recloser::Error::Rejected)),
        "recloser is open"
    );
    g.bench_function(BenchmarkId::new("recloser", "default"), |b| {
        b.iter(|| r.call(work).is_err());
    });
    let f = failsafe_open();
    assert!(
        matches!(f.call(work), Err(failsafe::Error::Rejected)),
        "failsafe is open"
    );
    g.bench_function(BenchmarkId::new("failsafe", "default"), |b| {
        b.iter(|| f.call(work).is_err());
    });
    g.finish();
}

fn tower_call_1_thread(c: &mut Criterion) {
    use tower::Layer;
    let mut g = c.benchmark_group("breaker_tower_call_1_thread");
    let mut cx = Context::from_waker(Waker::noop());
    let inner = || tower::service_fn(|x: u64| std::future::ready(Ok::<u64, ()>(x)));

    let mut bare = inner();
    assert!(tower_once(&mut bare, &mut cx));
    g.bench_function(BenchmarkId::new("baseline", "service_fn, no layer"), |b| {
        b.iter(|| tower_once(&mut bare, &mut cx));
    });

    let layer = sinew_breaker::tower::CircuitBreakerLayer::new(std::sync::Arc::new(sinew()));
    let mut s = layer.layer(inner());
    assert!(tower_once(&mut s, &mut cx), "sinew layer serves");
    g.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| tower_once(&mut s, &mut cx));
    });

    let peer = tower_resilience_circuitbreaker::CircuitBreakerLayer::builder()
        .failure_rate_threshold(0.5)
        .sliding_window_size(100)
        .minimum_number_of_calls(100)
        .build()
        .unwrap();
    let mut r = peer.layer(inner());
    assert!(tower_once(&mut r, &mut cx), "tower-resilience layer serves");
    g.bench_function(
        BenchmarkId::new("tower-resilience-circuitbreaker", "last 100 calls, 50%"),
        |b| b.iter(|| tower_once(&mut r, &mut cx)),
    );
    g.finish();
}

criterion_group!(
    benches,
    closed_call_1_thread,
    closed_call_2_threads,
    open_reject,
    tower_call_1_thread
);
criterion_main!(benches);
