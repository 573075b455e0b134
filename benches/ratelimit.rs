//! The cost of one rate-limit decision: sinew-ratelimit beside governor, ratelimit,
//! leaky-bucket and tower's `RateLimit`, and the memory per key of the keyed limiters.
//!
//! Run with `cargo bench -p sinew-benches --bench ratelimit`.
//!
//! # Groups
//!
//! Rows are `implementation / configuration` (the README's tables are generated from them by
//! `cargo run --release -p sinew-benches --bin bench_report`): `default` is what the obvious
//! constructor gives; `cached clock` pairs sinew's `CachedClock` with governor's
//! `QuantaUpkeepClock`, both refreshed every 1 ms; `QuantaClock` is sinew on governor's very
//! clock.
//!
//! - `allow_1_thread`: one admitted check per iteration. Every limiter gets a rate of 10^8 per
//!   second and a bucket of `u32::MAX` tokens (about 43 s of credit), so no check in the run is
//!   denied (verified in the setup); the figure is the admit path: clock read plus update.
//! - `deny_1_thread`: one denied check per iteration on an empty bucket that refills one token
//!   per hour (verified in the setup): the deny path.
//! - `allow_2_threads`: one limiter shared by 2 threads, both checking (admit path); wall
//!   time per check (each thread does half of the iterations), so perfect scaling would halve it.
//! - `keyed_hot_key`: a keyed limiter, one `u64` key checked over and over (admit path).
//! - `keyed_1M_keys`: a keyed limiter tracking 1,000,000 `u64` keys, checked in a scrambled
//!   order (admit path): the cold-cache figure, a table far bigger than L2.
//! - Memory: 1,000,000 distinct `u64` keys checked once each into a keyed limiter (one token per
//!   hour, so every key stays tracked); the bytes allocated, counted by a global allocator
//!   wrapper, divided by the keys tracked, are printed (not a criterion measurement).
//!
//! # Configuration (fair setup)
//!
//! - sinew: `RateLimiter::new` (the default `SystemClock`: one time-stamp-counter read per
//!   check where the kernel trusts the counter, as on the reference machine),
//!   `RateLimiter::with_clock(.., QuantaClock::new())` (quanta's clock as governor reads it),
//!   and `RateLimiter::with_clock(.., CachedClock::new())` (one atomic load per clock read,
//!   refreshed every 1 ms by a thread). Keyed: `KeyedRateLimiter::new(quota, 1_000_000)`
//!   (std's SipHash `RandomState`, like governor's default).
//! - governor 0.10: `RateLimiter::direct(quota)` and `RateLimiter::keyed(quota)` (its
//!   `DefaultClock`, the `quanta` TSC clock, and its default keyed store, a `DashMap` with
//!   std's `RandomState`); and `direct_with_clock(.., QuantaUpkeepClock)` refreshed every 1 ms,
//!   its counterpart to sinew's `CachedClock`.
//! - ratelimit 2: `Ratelimiter::builder(rate).max_tokens(..).initial_available(..)` (its
//!   `StdClock`), `try_wait()`.
//! - leaky-bucket 1.1: `RateLimiter::builder().max(..).initial(..).refill(..).interval(..)`,
//!   `try_acquire(1)` (its synchronous path; refill granularity 1 ms).
//! - tower 0.5 `RateLimit` (admit path only: it has no deny path that returns, since
//!   `poll_ready` waits): `poll_ready` + `call` on a ready `service_fn`, polled with a no-op
//!   waker. It is per instance (not shared), so it has no 2-thread figure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss
)]

use std::future::Future;
use std::hint::black_box;
use std::num::NonZeroU32;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sinew_benches::two_threads;
use sinew_testkit::CountingAllocator;

/// Counts live bytes, for bytes per key.
#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;
use sinew_clock::{CachedClock, QuantaClock};
use sinew_ratelimit::{KeyedRateLimiter, Quota, RateLimiter};

/// A row of a group: implementation and configuration, as the README report reads them.
fn id(implementation: &str, configuration: &str) -> BenchmarkId {
    BenchmarkId::new(implementation, configuration)
}

// ---- Quotas. ----

const FAST_RATE: u32 = 100_000_000;

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

fn sinew_fast() -> Quota {
    Quota::per_second(FAST_RATE)
        .unwrap()
        .burst(u32::MAX)
        .unwrap()
}

fn sinew_slow() -> Quota {
    Quota::per_hour(1).unwrap().burst(1).unwrap()
}

/// A deep bucket refilled slowly: after its first check a key's bucket is never full again,
/// so it stays tracked, and a million checks fit before any is denied.
fn sinew_tracked() -> Quota {
    Quota::per_hour(1).unwrap().burst(1_000_000).unwrap()
}

fn governor_tracked() -> governor::Quota {
    governor::Quota::per_hour(nz(1)).allow_burst(nz(1_000_000))
}

fn governor_fast() -> governor::Quota {
    governor::Quota::per_second(nz(FAST_RATE)).allow_burst(nz(u32::MAX))
}

fn governor_slow() -> governor::Quota {
    governor::Quota::per_hour(nz(1))
}

fn ratelimit_fast() -> ratelimit::Ratelimiter {
    ratelimit::Ratelimiter::builder(u64::from(FAST_RATE))
        .max_tokens(u64::from(u32::MAX))
        .initial_available(u64::from(u32::MAX))
        .build()
        .unwrap()
}

fn ratelimit_slow() -> ratelimit::Ratelimiter {
    ratelimit::Ratelimiter::builder(1)
        .period(Duration::from_secs(3600))
        .max_tokens(1)
        .initial_available(0)
        .build()
        .unwrap()
}

fn leaky_fast() -> leaky_bucket::RateLimiter {
    leaky_bucket::RateLimiter::builder()
        .max(u32::MAX as usize)
        .initial(u32::MAX as usize)
        .refill(100_000)
        .interval(Duration::from_millis(1))
        .build()
}

fn leaky_slow() -> leaky_bucket::RateLimiter {
    leaky_bucket::RateLimiter::builder()
        .max(1)
        .initial(0)
        .refill(1)
        .interval(Duration::from_secs(3600))
        .build()
}

type GovernorDirect<C> = governor::RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    C,
    governor::middleware::NoOpMiddleware<<C as governor::clock::Clock>::Instant>,
>;

fn governor_upkeep(quota: governor::Quota) -> GovernorDirect<governor::clock::QuantaUpkeepClock> {
    let clock =
        governor::clock::QuantaUpkeepClock::from_interval(Duration::from_millis(1)).unwrap();
    governor::RateLimiter::direct_with_clock(quota, clock)
}

/// Panics unless `check` gives `expect` for `n` calls in a row (setup sanity, never timed).
fn verify(name: &str, expect: bool, check: impl Fn() -> bool) {
    for i in 0..100_000 {
        assert_eq!(check(), expect, "{name}: call {i}");
    }
}

fn allow_1_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("ratelimit_allow_1_thread");

    let sinew = RateLimiter::new(sinew_fast());
    verify("sinew", true, || sinew.check().is_ok());
    g.bench_function(id("sinew", "default"), |b| {
        b.iter(|| black_box(sinew.check()));
    });

    let sinew_cached = RateLimiter::with_clock(sinew_fast(), CachedClock::new());
    verify("sinew cached", true, || sinew_cached.check().is_ok());
    g.bench_function(id("sinew", "cached clock"), |b| {
        b.iter(|| black_box(sinew_cached.check()));
    });

    let sinew_quanta = RateLimiter::with_clock(sinew_fast(), QuantaClock::new());
    verify("sinew quanta", true, || sinew_quanta.check().is_ok());
    g.bench_function(id("sinew", "QuantaClock"), |b| {
        b.iter(|| black_box(sinew_quanta.check()));
    });

    let gov = governor::RateLimiter::direct(governor_fast());
    verify("governor", true, || gov.check().is_ok());
    g.bench_function(id("governor", "default"), |b| {
        b.iter(|| black_box(gov.check()));
    });

    let gov_upkeep = governor_upkeep(governor_fast());
    verify("governor upkeep", true, || gov_upkeep.check().is_ok());
    g.bench_function(id("governor", "cached clock"), |b| {
        b.iter(|| black_box(gov_upkeep.check()));
    });

    let rl = ratelimit_fast();
    verify("ratelimit", true, || rl.try_wait().is_ok());
    g.bench_function(id("ratelimit", "default"), |b| {
        b.iter(|| black_box(rl.try_wait()));
    });

    let lb = leaky_fast();
    verify("leaky-bucket", true, || lb.try_acquire(1));
    g.bench_function(id("leaky-bucket", "default"), |b| {
        b.iter(|| black_box(lb.try_acquire(1)));
    });

    // tower's RateLimit polls a tokio Sleep when empty, so it needs a runtime context.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let mut svc = tower::limit::RateLimit::new(
        tower::service_fn(|x: u64| std::future::ready(Ok::<_, ()>(x))),
        tower::limit::rate::Rate::new(1 << 62, Duration::from_secs(1)),
    );
    let mut cx = Context::from_waker(Waker::noop());
    let mut tower_call = move || {
        use tower::Service;
        assert!(matches!(svc.poll_ready(&mut cx), Poll::Ready(Ok(()))));
        let mut fut = std::pin::pin!(svc.call(1));
        fut.as_mut().poll(&mut cx).is_ready()
    };
    for _ in 0..100_000 {
        assert!(tower_call());
    }
    g.bench_function(id("tower RateLimit", "default"), |b| {
        b.iter(|| black_box(tower_call()));
    });
    g.finish();
}

fn deny_1_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("ratelimit_deny_1_thread");

    let sinew = RateLimiter::new(sinew_slow());
    sinew.check().unwrap();
    verify("sinew", false, || sinew.check().is_ok());
    g.bench_function(id("sinew", "default"), |b| {
        b.iter(|| black_box(sinew.check()));
    });

    let sinew_cached = RateLimiter::with_clock(sinew_slow(), CachedClock::new());
    sinew_cached.check().unwrap();
    verify("sinew cached", false, || sinew_cached.check().is_ok());
    g.bench_function(id("sinew", "cached clock"), |b| {
        b.iter(|| black_box(sinew_cached.check()));
    });

    let sinew_quanta = RateLimiter::with_clock(sinew_slow(), QuantaClock::new());
    sinew_quanta.check().unwrap();
    verify("sinew quanta", false, || sinew_quanta.check().is_ok());
    g.bench_function(id("sinew", "QuantaClock"), |b| {
        b.iter(|| black_box(sinew_quanta.check()));
    });

    let gov = governor::RateLimiter::direct(governor_slow());
    gov.check().unwrap();
    verify("governor", false, || gov.check().is_ok());
    g.bench_function(id("governor", "default"), |b| {
        b.iter(|| black_box(gov.check()));
    });

    let gov_upkeep = governor_upkeep(governor_slow());
    gov_upkeep.check().unwrap();
    verify("governor upkeep", false, || gov_upkeep.check().is_ok());
    g.bench_function(id("governor", "cached clock"), |b| {
        b.iter(|| black_box(gov_upkeep.check()));
    });

    let rl = ratelimit_slow();
    verify("ratelimit", false, || rl.try_wait().is_ok());
    g.bench_function(id("ratelimit", "default"), |b| {
        b.iter(|| black_box(rl.try_wait()));
    });

    let lb = leaky_slow();
    verify("leaky-bucket", false, || lb.try_acquire(1));
    g.bench_function(id("leaky-bucket", "default"), |b| {
        b.iter(|| black_box(lb.try_acquire(1)));
    });
    g.finish();
}

fn allow_2_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("ratelimit_allow_2_threads");

    let sinew = RateLimiter::new(sinew_fast());
    g.bench_function(id("sinew", "default"), |b| {
        b.iter_custom(|n| two_threads(n, &|| sinew.check()));
    });
    let sinew_cached = RateLimiter::with_clock(sinew_fast(), CachedClock::new());
    g.bench_function(id("sinew", "cached clock"), |b| {
        b.iter_custom(|n| two_threads(n, &|| sinew_cached.check()));
    });
    let sinew_quanta = RateLimiter::with_clock(sinew_fast(), QuantaClock::new());
    g.bench_function(id("sinew", "QuantaClock"), |b| {
        b.iter_custom(|n| two_threads(n, &|| sinew_quanta.check()));
    });
    let gov = governor::RateLimiter::direct(governor_fast());
    g.bench_function(id("governor", "default"), |b| {
        b.iter_custom(|n| two_threads(n, &|| gov.check()));
    });
    let gov_upkeep = governor_upkeep(governor_fast());
    g.bench_function(id("governor", "cached clock"), |b| {
        b.iter_custom(|n| two_threads(n, &|| gov_upkeep.check()));
    });
    let rl = ratelimit_fast();
    g.bench_function(id("ratelimit", "default"), |b| {
        b.iter_custom(|n| two_threads(n, &|| rl.try_wait()));
    });
    let lb = leaky_fast();
    g.bench_function(id("leaky-bucket", "default"), |b| {
        b.iter_custom(|n| two_threads(n, &|| lb.try_acquire(1)));
    });
    // The admit path was taken throughout (the buckets hold ~43 s of credit).
    assert!(sinew.check().is_ok() && gov.check().is_ok() && rl.try_wait().is_ok());
    g.finish();
}

fn keyed_hot_key(c: &mut Criterion) {
    let mut g = c.benchmark_group("ratelimit_keyed_hot_key");
    let key = 42u64;

    let sinew = KeyedRateLimiter::new(sinew_fast(), 1_000_000);
    verify("sinew keyed", true, || sinew.check_key(&key).is_ok());
    g.bench_function(id("sinew", "default"), |b| {
        b.iter(|| black_box(sinew.check_key(&key)));
    });

    let sinew_cached = KeyedRateLimiter::with_clock(sinew_fast(), 1_000_000, CachedClock::new());
    verify("sinew keyed cached", true, || {
        sinew_cached.check_key(&key).is_ok()
    });
    g.bench_function(id("sinew", "cached clock"), |b| {
        b.iter(|| black_box(sinew_cached.check_key(&key)));
    });

    let sinew_quanta = KeyedRateLimiter::with_clock(sinew_fast(), 1_000_000, QuantaClock::new());
    verify("sinew keyed quanta", true, || {
        sinew_quanta.check_key(&key).is_ok()
    });
    g.bench_function(id("sinew", "QuantaClock"), |b| {
        b.iter(|| black_box(sinew_quanta.check_key(&key)));
    });

    let gov = governor::RateLimiter::keyed(governor_fast());
    verify("governor keyed", true, || gov.check_key(&key).is_ok());
    g.bench_function(id("governor", "default"), |b| {
        b.iter(|| black_box(gov.check_key(&key)));
    });
    g.finish();
}

fn keyed_cold_keys(c: &mut Criterion) {
    const KEYS: u64 = 1_000_000;
    let mut g = c.benchmark_group("ratelimit_keyed_1M_keys");
    // Every key is checked once in the setup, so each timed check finds its key tracked (a
    // bucket of a million tokens refilled one an hour is never full again, so sinew never
    // evicts it as refilled, and never denies it within the run); a
    // multiplicative scramble of a counter makes successive checks land on unrelated keys, so
    // each misses the cache as a busy server's would.
    let key = |i: u64| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % KEYS;

    let sinew = KeyedRateLimiter::new(sinew_tracked(), 2_000_000);
    for k in 0..KEYS {
        sinew.check_key(&k).unwrap();
    }
    let mut i = 0u64;
    g.bench_function(id("sinew", "default"), |b| {
        b.iter(|| {
            i += 1;
            black_box(sinew.check_key(&key(i)))
        });
    });
    assert_eq!(sinew.len() as u64, KEYS, "every check was of a tracked key");
    assert!(
        sinew.check_key(&key(1)).is_ok(),
        "the admit path throughout"
    );

    let gov = governor::RateLimiter::keyed(governor_tracked());
    for k in 0..KEYS {
        gov.check_key(&k).unwrap();
    }
    let mut i = 0u64;
    g.bench_function(id("governor", "default"), |b| {
        b.iter(|| {
            i += 1;
            black_box(gov.check_key(&key(i)))
        });
    });
    assert!(gov.check_key(&key(1)).is_ok(), "the admit path throughout");
    g.finish();
}

/// Bytes allocated per tracked key after checking 1,000,000 distinct keys once each.
fn keyed_memory() {
    const KEYS: u64 = 1_000_000;
    const MAX_KEYS: usize = 1_000_000;
    let before = CountingAllocator::live_bytes();
    let sinew = KeyedRateLimiter::new(sinew_slow(), MAX_KEYS);
    for k in 0..KEYS {
        sinew.check_key(&k).unwrap();
    }
    let sinew_bytes = CountingAllocator::live_bytes() - before;
    let sinew_keys = sinew.len();
    assert_eq!(sinew_keys as u64, KEYS, "every key tracked");

    let before = CountingAllocator::live_bytes();
    let gov = governor::RateLimiter::keyed(governor_slow());
    for k in 0..KEYS {
        gov.check_key(&k).unwrap();
    }
    let gov_bytes = CountingAllocator::live_bytes() - before;
    let gov_keys = gov.len();

    println!("keyed memory at {KEYS} u64 keys (8-byte keys), bytes allocated per key:");
    println!(
        "  sinew KeyedRateLimiter: {:.2} bytes/key ({} bytes, {} keys)",
        sinew_bytes as f64 / sinew_keys as f64,
        sinew_bytes,
        sinew_keys
    );
    println!(
        "  governor keyed (DashMap): {:.2} bytes/key ({} bytes, {} keys)",
        gov_bytes as f64 / gov_keys as f64,
        gov_bytes,
        gov_keys
    );
    drop(black_box(sinew));
    drop(black_box(gov));
}

fn memory(_: &mut Criterion) {
    keyed_memory();
}

criterion_group!(
    benches,
    memory,
    allow_1_thread,
    deny_1_thread,
    allow_2_threads,
    keyed_hot_key,
    keyed_cold_keys
);
criterion_main!(benches);
