//! The cost of a circuit breaker on the call path: sinew-breaker beside failsafe and recloser.
//!
//! Run with `cargo bench -p sinew-benches --bench breaker`.
//!
//! # Groups
//!
//! - `closed_call_1_thread`: one successful call through a closed breaker, per iteration. The
//!   call itself is `Ok(black_box(1))`, so the figure is the breaker's overhead; `no breaker`
//!   is the baseline of calling the closure directly.
//! - `closed_call_2_threads`: one breaker shared by 2 threads, both calling; the figure is wall
//!   time per call (each thread makes half of the iterations), so perfect scaling would halve
//!   it. Every successful call takes the next slot of the shared count window with a
//!   `fetch_add` on its cursor (and, a success replacing a success, writes nothing else), so
//!   this measures contention on that cursor's cache line.
//! - `open_reject`: one call turned away by an open breaker (tripped, with an hour left to
//!   wait), single-threaded.
//! - `tower_call_1_thread`: one request through a tower service guarded by a circuit-breaker
//!   layer (`poll_ready`, `call`, then one poll of the response future with a no-op waker;
//!   the inner `service_fn` answers at once). `service_fn, no layer` is the baseline. Peer:
//!   tower-resilience-circuitbreaker 0.14 (`CircuitBreakerLayer::builder()` with a count
//!   window of 100 and a 50% threshold, the same policy; it boxes each response future and
//!   takes a `tokio::sync::Mutex` per call).
//!
//! # Configuration (the same policy everywhere it can be)
//!
//! - sinew: a count window of the last 100 calls, trip at 50% failures after 100 calls (the
//!   defaults, which are resilience4j's), no slow-call rule, `SystemClock` unless named.
//!   `sinew call` wraps the closure (a drop guard records a panic as a failure; no
//!   `catch_unwind`); `sinew permit` is `try_acquire()?.success()` around it. `sinew call, slow-call rule` adds the slow-call
//!   rule, which reads the clock at admission and at report (`SystemClock`, or `CachedClock`
//!   where named).
//! - recloser 1.4: `Recloser::custom()` with `error_rate(0.5)` and `closed_len(100)` (a ring
//!   of the last 100 calls, trip at 50%: the same policy) and a one-hour open wait, `call`.
//! - failsafe 1.3: `Config::new().build()`, its recommended default (success rate over a time
//!   window, or 5 consecutive failures; a mutex around the state machine), `call`.
//!
//! For `open_reject`, each breaker is tripped in the setup with an open wait of one hour:
//! sinew by failing a full window of 100 calls, recloser by 101 failed calls (it decides at
//! the call after the one that fills its ring), failsafe by a
//! `consecutive_failures(1, constant(1 h))` policy (its default backoff would not keep it open
//! for the whole run). An open breaker must read the clock to know whether its wait is over
//! (sinew with `SystemClock`, recloser and failsafe read `Instant::now`); `sinew CachedClock`
//! reads a cached clock (one atomic load); `sinew forced open` reads no clock.
//!
//! Every breaker is checked in the setup (never in a timed loop): closed admits, open rejects.

// Benches may panic on setup failure; that is a failed run, not a bug to handle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use failsafe::CircuitBreaker as _;
use sinew_benches::two_threads;
use sinew_breaker::{CachedClock, CircuitBreaker, Clock, SystemClock};

const HOUR: Duration = Duration::from_secs(3600);

// ---- The breakers, each in the setup named in the module docs. ----

fn sinew() -> CircuitBreaker<SystemClock> {
    CircuitBreaker::builder()
        .count_window(100)
        .minimum_calls(100)
        .failure_rate_threshold(0.5)
        .wait_in_open(HOUR)
        .build()
        .unwrap()
}

fn sinew_with<C: Clock>(clock: C) -> CircuitBreaker<C> {
    CircuitBreaker::builder()
        .count_window(100)
        .minimum_calls(100)
        .failure_rate_threshold(0.5)
        .wait_in_open(HOUR)
        .clock(clock)
        .build()
        .unwrap()
}

fn sinew_slow<C: Clock>(clock: C) -> CircuitBreaker<C> {
    CircuitBreaker::builder()
        .count_window(100)
        .minimum_calls(100)
        .slow_call(Duration::from_secs(1), 1.0)
        .wait_in_open(HOUR)
        .clock(clock)
        .build()
        .unwrap()
}

fn recloser() -> recloser::Recloser {
    recloser::Recloser::custom()
        .error_rate(0.5)
        .closed_len(100)
        .open_wait(HOUR)
        .build()
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

fn closed_call_1_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("closed_call_1_thread");
    g.bench_function("no breaker", |b| b.iter(|| work().unwrap()));
    let s = sinew();
    g.bench_function("sinew call", |b| b.iter(|| sinew_call(&s)));
    g.bench_function("sinew permit", |b| b.iter(|| sinew_permit(&s)));
    let slow = sinew_slow(SystemClock);
    g.bench_function("sinew call, slow-call rule", |b| {
        b.iter(|| sinew_call(&slow));
    });
    let slow_cached = sinew_slow(CachedClock::new());
    g.bench_function("sinew call, slow-call rule, CachedClock", |b| {
        b.iter(|| sinew_call(&slow_cached));
    });
    let r = recloser();
    g.bench_function("recloser 1.4", |b| b.iter(|| recloser_call(&r)));
    let f = failsafe();
    g.bench_function("failsafe 1.3", |b| b.iter(|| failsafe_call(&f)));
    g.finish();
}

fn closed_call_2_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("closed_call_2_threads");
    let s = sinew();
    g.bench_function("sinew call", |b| {
        b.iter_custom(|iters| two_threads(iters, &|| sinew_call(&s)));
    });
    let slow = sinew_slow(SystemClock);
    g.bench_function("sinew call, slow-call rule", |b| {
        b.iter_custom(|iters| two_threads(iters, &|| sinew_call(&slow)));
    });
    let r = recloser();
    g.bench_function("recloser 1.4", |b| {
        b.iter_custom(|iters| two_threads(iters, &|| recloser_call(&r)));
    });
    let f = failsafe();
    g.bench_function("failsafe 1.3", |b| {
        b.iter_custom(|iters| two_threads(iters, &|| failsafe_call(&f)));
    });
    g.finish();
}

fn open_reject(c: &mut Criterion) {
    let mut g = c.benchmark_group("open_reject");
    let trip_sinew = |b: &CircuitBreaker<_>| {
        for _ in 0..100 {
            b.try_acquire().unwrap().failure();
        }
        assert!(b.try_acquire().is_err(), "sinew is open");
    };
    let s = sinew();
    trip_sinew(&s);
    g.bench_function("sinew SystemClock", |b| b.iter(|| s.try_acquire().is_err()));
    let cached = sinew_with(CachedClock::new());
    for _ in 0..100 {
        cached.try_acquire().unwrap().failure();
    }
    assert!(cached.try_acquire().is_err(), "sinew CachedClock is open");
    g.bench_function("sinew CachedClock", |b| {
        b.iter(|| cached.try_acquire().is_err());
    });
    let forced = sinew();
    forced.force_open();
    g.bench_function("sinew forced open", |b| {
        b.iter(|| forced.try_acquire().is_err());
    });
    let r = recloser();
    // recloser decides from the call after the one that fills its ring.
    for _ in 0..101 {
        let _ = r.call(|| Err::<(), ()>(()));
    }
    assert!(
        matches!(r.call(work), Err(recloser::Error::Rejected)),
        "recloser is open"
    );
    g.bench_function("recloser 1.4", |b| b.iter(|| r.call(work).is_err()));
    let f = failsafe_open();
    assert!(
        matches!(f.call(work), Err(failsafe::Error::Rejected)),
        "failsafe is open"
    );
    g.bench_function("failsafe 1.3", |b| b.iter(|| f.call(work).is_err()));
    g.finish();
}

/// One request through `svc`: ready, call, one poll (every service here answers at once).
fn tower_once<S: tower::Service<u64>>(svc: &mut S, cx: &mut Context<'_>) -> bool {
    if !matches!(svc.poll_ready(cx), Poll::Ready(Ok(()))) {
        return false;
    }
    let mut fut = std::pin::pin!(svc.call(black_box(1)));
    matches!(fut.as_mut().poll(cx), Poll::Ready(Ok(_)))
}

fn tower_call_1_thread(c: &mut Criterion) {
    use tower::Layer;
    let mut g = c.benchmark_group("tower_call_1_thread");
    let mut cx = Context::from_waker(Waker::noop());
    let inner = || tower::service_fn(|x: u64| std::future::ready(Ok::<u64, ()>(x)));

    let mut bare = inner();
    assert!(tower_once(&mut bare, &mut cx));
    g.bench_function("service_fn, no layer", |b| {
        b.iter(|| tower_once(&mut bare, &mut cx));
    });

    let layer = sinew_breaker::tower::CircuitBreakerLayer::new(std::sync::Arc::new(sinew()));
    let mut s = layer.layer(inner());
    assert!(tower_once(&mut s, &mut cx), "sinew layer serves");
    g.bench_function("sinew CircuitBreakerLayer", |b| {
        b.iter(|| tower_once(&mut s, &mut cx));
    });

    let peer = tower_resilience_circuitbreaker::CircuitBreakerLayer::builder()
        .failure_rate_threshold(0.5)
        .sliding_window_size(100)
        .minimum_number_of_calls(100)
        .wait_duration_in_open(HOUR)
        .build()
        .unwrap();
    let mut r = peer.layer(inner());
    assert!(tower_once(&mut r, &mut cx), "tower-resilience layer serves");
    g.bench_function("tower-resilience 0.14", |b| {
        b.iter(|| tower_once(&mut r, &mut cx));
    });
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
