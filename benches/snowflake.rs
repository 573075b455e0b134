//! The cost of one ID: sinew-snowflake's `Generator` beside its peer crates.
//!
//! Run with `cargo bench -p sinew-benches --bench snowflake`.
//!
//! # Groups
//!
//! - `next_id_1_thread`: one ID per iteration from one thread. `Instant::now` and
//!   `SystemTime::now` sit in the group as the clock-cost baseline: every generator here reads a
//!   clock on each ID (except `sinew CachedClock`, whose read is an atomic load).
//!   `sinew LocalGenerator ...` is a per-thread handle (`&mut self`, like ulid's `Generator`)
//!   that reserves 64 IDs at a time from the shared generator and checks the clock on each ID.
//! - `next_id_2_threads`: one generator shared by 2 threads, both making IDs; the figure is wall
//!   time per ID (each thread makes half of the iterations), so perfect scaling would halve it.
//!   `sinew LocalGenerator ...`: each thread has its own handle on the one shared generator.
//! - `next_id_1_thread_sonyflake`, `next_id_2_threads_sonyflake`: sonyflake, whose format caps it
//!   at 25,600 IDs per second, in groups of their own with a small sample size, with sinew beside
//!   it for the ratio.
//! - `next_batch`: 64 IDs reserved at once and iterated, per batch.
//!
//! # Format caps
//!
//! A snowflake format allows at most `2^sequence_bits` IDs per tick; a generator asked for more
//! waits for the next tick. A tight loop asks for far more, so a generator on a small format
//! measures its format's cap, not its code. Where the peer lets us choose, every generator gets
//! a layout no benchmark here can exhaust:
//!
//! - sinew: 40-bit millisecond timestamp from 2024-01-01 (good to 2058), 3-bit worker, 20-bit
//!   sequence: 1,048,576 IDs per ms, a floor of about 1 ns per ID.
//! - snowflake_me: the same widths (40-bit time, 1-bit data center + 2-bit machine, 20-bit
//!   sequence), same epoch.
//! - uuid v7 and ulid: 128-bit IDs with a 42-bit (uuid) or 80-bit (ulid) per-millisecond counter;
//!   no cap in reach.
//!
//! The others have a fixed format, so their figures *include throttling by the format's cap*:
//!
//! - rs-snowflake and snowflaked: Twitter's 12-bit sequence per ms, 4,096 IDs per ms, a floor of
//!   244 ns per ID. `sinew SystemClock, Twitter layout` shows sinew on the same format.
//! - sonyflake: 8-bit sequence per 10 ms tick, 25,600 IDs per second, a floor of 39 µs per ID.
//!
//! Each generator is sanity-checked in the setup (never in a timed loop): IDs in a row increase,
//! and two threads sharing it get no duplicates.

// Benches may panic on setup failure; that is a failed run, not a bug to handle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Debug;
use std::hint::black_box;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use sinew_benches::{two_threads, two_threads_with};
use sinew_clock::{CachedClock, Clock, SystemClock};
use sinew_snowflake::{Generator, Layout};

/// 2024-01-01T00:00:00Z, the epoch of every configurable layout here.
const EPOCH_2024_SECS: u64 = 1_704_067_200;

fn epoch_2024() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(EPOCH_2024_SECS)
}

/// sinew's high-capacity layout: 40-bit ms timestamp, 3-bit worker, 20-bit sequence.
fn sinew_layout() -> Layout {
    Layout::builder()
        .timestamp_bits(40)
        .worker_bits(3)
        .sequence_bits(20)
        .epoch(epoch_2024())
        .build()
        .unwrap()
}

// ---- The generators, each in its recommended setup. ----

/// sinew on the default clock (`SystemClock`: one `Instant::now` per ID), default policies.
fn sinew_system() -> Generator<SystemClock> {
    Generator::new(sinew_layout(), 1).unwrap()
}

/// sinew on `CachedClock::new()` (1 ms background refresh; the clock read is one atomic load).
fn sinew_cached() -> Generator<CachedClock> {
    Generator::builder(sinew_layout(), 1)
        .clock(CachedClock::new())
        .build()
        .unwrap()
}

/// sinew on Twitter's format, for comparison with the peers that are fixed to it.
fn sinew_twitter() -> Generator<SystemClock> {
    Generator::new(Layout::TWITTER, 1).unwrap()
}

/// rs-snowflake 0.6 as its README sets it up: `SnowflakeIdGenerator::new(machine 1, node 1)`
/// (Unix epoch; the epoch does not change the cost) and `real_time_generate`, which reads the
/// clock on every ID like the others here. The format is fixed: 41-bit ms timestamp, 5+5-bit
/// machine/node, 12-bit sequence (4,096 IDs per ms, 244 ns per ID floor). Its `generate` reads
/// the clock once per 4,096 IDs but waits at the same cap. Methods take `&mut self` and the type
/// is `Copy`, so two threads share one only through a `Mutex` (a copy per thread would make
/// duplicates).
fn rs_snowflake() -> snowflake::SnowflakeIdGenerator {
    snowflake::SnowflakeIdGenerator::new(1, 1)
}

/// snowflaked 1.0 with the `sync` feature: `sync::Generator` (lock-free, one `AtomicU64`),
/// instance 1, epoch 2024-01-01, generating `u64`. The sequence is fixed at 12 bits inside the
/// generator's state (a custom `Snowflake` type only changes how the parts are packed into the
/// output), so it is capped at 4,096 IDs per ms: 244 ns per ID floor.
fn snowflaked() -> snowflaked::sync::Generator {
    snowflaked::sync::Generator::builder()
        .instance(1)
        .epoch(epoch_2024())
        .build()
}

/// snowflake_me 2.2 (default features: std; default weak-CAS, `ClockDriftStrategy::Wait`), with
/// its bit widths set to sinew's layout: 40-bit time, 1-bit data center (0), 2-bit machine (1),
/// 20-bit sequence, start time 2024-01-01. Lock-free (one `AtomicU64`), `Sync`.
fn snowflake_me() -> snowflake_me::Snowflake {
    snowflake_me::Snowflake::builder()
        .start_time(i64::try_from(EPOCH_2024_SECS * 1000).unwrap())
        .bit_len_time(40)
        .bit_len_data_center_id(1)
        .bit_len_machine_id(2)
        .bit_len_sequence(20)
        .data_center_id(&|| Ok(0))
        .machine_id(&|| Ok(1))
        .finalize()
        .unwrap()
}

/// sonyflake 0.5 without default features (they only find a machine id from the network
/// interfaces): machine id 1, its default epoch 2014-09-01. Fixed format: 39-bit timestamp in
/// 10 ms ticks, 8-bit sequence, 16-bit machine: 256 IDs per 10 ms, a floor of 39 µs per ID, and
/// it sleeps holding its `Mutex` while it waits. `Sync`.
fn sonyflake() -> sonyflake::Sonyflake {
    sonyflake::Sonyflake::builder()
        .machine_id(&|| Ok(1))
        .finalize()
        .unwrap()
}

// uuid 1 with the `v7` and `fast-rng` features: `Uuid::now_v7()`, which draws from the
// process-wide shared context (a lock around a 42-bit counter reseeded each millisecond), so
// IDs from one process increase. `fast-rng` is uuid's documented faster RNG (`rand`'s
// thread-local generator, as ulid uses); without it each ID costs a `getrandom` system call,
// about 300 ns here. Nothing to set up; already shared.

/// ulid 3: `ulid::Generator::new()`, the monotonic generator (an 80-bit random part incremented
/// within a millisecond). `generate` takes `&mut self`, so two threads share one through a
/// `Mutex`.
fn ulid() -> ulid::Generator {
    ulid::Generator::new()
}

// ---- Setup checks (never timed). ----

/// `n` IDs in a row from one thread, asserting each is greater than the one before.
fn collect_increasing<T: Ord + Debug>(name: &str, n: usize, mut next: impl FnMut() -> T) -> Vec<T> {
    let mut ids: Vec<T> = Vec::with_capacity(n);
    for _ in 0..n {
        let id = next();
        if let Some(last) = ids.last() {
            assert!(id > *last, "{name}: {id:?} came after {last:?}");
        }
        ids.push(id);
    }
    ids
}

/// Two threads, `n` IDs each, each calling `next` on its own state from `init` (a
/// `LocalGenerator`, or nothing for a shared generator): each sees its IDs increase, and no ID
/// repeats.
fn assert_unique_2_threads<S, T: Ord + Debug + Send>(
    name: &str,
    n: usize,
    init: &(impl Fn() -> S + Sync),
    next: &(impl Fn(&mut S) -> T + Sync),
) {
    let mut all = thread::scope(|s| {
        let run = || {
            let mut state = init();
            collect_increasing(name, n, || next(&mut state))
        };
        let (a, b) = (s.spawn(run), s.spawn(run));
        let mut all = a.join().unwrap();
        all.extend(b.join().unwrap());
        all
    });
    all.sort_unstable();
    let made = all.len();
    all.dedup();
    assert_eq!(all.len(), made, "{name}: duplicate IDs from 2 threads");
}

/// Checks one generator from one thread and from two.
fn check<T: Ord + Debug + Send>(name: &str, n: usize, next: &(impl Fn() -> T + Sync)) {
    collect_increasing(name, n, next);
    assert_unique_2_threads(name, n, &|| (), &|_: &mut ()| next());
}

// ---- Timing. ----

fn bench_2_threads<T>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    next: impl Fn() -> T + Sync,
) {
    group.bench_function(name, |b| {
        b.iter_custom(|iters| two_threads(iters, &next));
    });
}

/// 2 threads, each with its own `LocalGenerator` on one shared generator.
fn bench_2_threads_local<C: Clock>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    shared: &Generator<C>,
) {
    group.bench_function(name, |b| {
        b.iter_custom(|iters| two_threads_with(iters, &|| shared.local(), &|l| l.next_id()));
    });
}

/// IDs per setup check; enough to cross the 12-bit formats' sequence rollover twice.
const CHECK_N: usize = 10_000;
/// Fewer for sonyflake (39 µs each), still crossing its 256-ID rollover.
const CHECK_N_SONYFLAKE: usize = 600;

fn next_id_1_thread(c: &mut Criterion) {
    let sinew_system = sinew_system();
    let sinew_cached = sinew_cached();
    let sinew_twitter = sinew_twitter();
    let mut rs_snowflake = rs_snowflake();
    let snowflaked = snowflaked();
    let snowflake_me = snowflake_me();
    let mut ulid = ulid();

    check("sinew SystemClock", CHECK_N, &|| {
        sinew_system.next_id().unwrap()
    });
    check("sinew CachedClock", CHECK_N, &|| {
        sinew_cached.next_id().unwrap()
    });
    check("sinew Twitter", CHECK_N, &|| {
        sinew_twitter.next_id().unwrap()
    });
    let mut local_system = sinew_system.local();
    let mut local_cached = sinew_cached.local();
    collect_increasing("sinew LocalGenerator SystemClock", CHECK_N, || {
        local_system.next_id().unwrap()
    });
    collect_increasing("sinew LocalGenerator CachedClock", CHECK_N, || {
        local_cached.next_id().unwrap()
    });
    assert_unique_2_threads(
        "sinew LocalGenerator CachedClock",
        CHECK_N,
        &|| sinew_cached.local(),
        &|l| l.next_id().unwrap(),
    );
    collect_increasing("rs-snowflake", CHECK_N, || {
        rs_snowflake.real_time_generate()
    });
    check("snowflaked", CHECK_N, &|| snowflaked.generate::<u64>());
    check("snowflake_me", CHECK_N, &|| {
        snowflake_me.next_id().unwrap().as_u64()
    });
    check("uuid now_v7", CHECK_N, &uuid::Uuid::now_v7);
    collect_increasing("ulid", CHECK_N, || ulid.generate().unwrap());

    let mut group = c.benchmark_group("next_id_1_thread");
    group.throughput(Throughput::Elements(1));
    group.bench_function("Instant::now", |b| b.iter(Instant::now));
    group.bench_function("SystemTime::now", |b| b.iter(SystemTime::now));
    group.bench_function("sinew SystemClock", |b| b.iter(|| sinew_system.next_id()));
    group.bench_function("sinew CachedClock", |b| b.iter(|| sinew_cached.next_id()));
    group.bench_function("sinew LocalGenerator SystemClock", |b| {
        b.iter(|| local_system.next_id());
    });
    group.bench_function("sinew LocalGenerator CachedClock", |b| {
        b.iter(|| local_cached.next_id());
    });
    group.bench_function("sinew SystemClock, Twitter layout", |b| {
        b.iter(|| sinew_twitter.next_id());
    });
    group.bench_function("rs-snowflake real_time_generate", |b| {
        b.iter(|| rs_snowflake.real_time_generate());
    });
    group.bench_function("snowflaked sync::Generator", |b| {
        b.iter(|| snowflaked.generate::<u64>());
    });
    group.bench_function("snowflake_me", |b| b.iter(|| snowflake_me.next_id()));
    group.bench_function("uuid now_v7", |b| b.iter(uuid::Uuid::now_v7));
    group.bench_function("ulid Generator", |b| b.iter(|| ulid.generate().ok()));
    group.finish();
}

fn next_id_2_threads(c: &mut Criterion) {
    let sinew_system = sinew_system();
    let sinew_cached = sinew_cached();
    let sinew_twitter = sinew_twitter();
    // `&mut self` peers: shared through a `Mutex`, the only way to share one generator.
    let rs_snowflake = Mutex::new(rs_snowflake());
    let snowflaked = snowflaked();
    let snowflake_me = snowflake_me();
    let ulid = Mutex::new(ulid());
    // No peer is skipped: all can be shared, natively (`Sync`) or through the `Mutex`.

    check("rs-snowflake (Mutex)", CHECK_N, &|| {
        rs_snowflake.lock().unwrap().real_time_generate()
    });
    check("ulid (Mutex)", CHECK_N, &|| {
        ulid.lock().unwrap().generate().unwrap()
    });
    // The others were checked from two threads in `next_id_1_thread`.

    let mut group = c.benchmark_group("next_id_2_threads");
    group.throughput(Throughput::Elements(1));
    bench_2_threads(&mut group, "Instant::now", Instant::now);
    bench_2_threads(&mut group, "SystemTime::now", SystemTime::now);
    bench_2_threads(&mut group, "sinew SystemClock", || sinew_system.next_id());
    bench_2_threads(&mut group, "sinew CachedClock", || sinew_cached.next_id());
    bench_2_threads_local(
        &mut group,
        "sinew LocalGenerator SystemClock",
        &sinew_system,
    );
    bench_2_threads_local(
        &mut group,
        "sinew LocalGenerator CachedClock",
        &sinew_cached,
    );
    bench_2_threads(&mut group, "sinew SystemClock, Twitter layout", || {
        sinew_twitter.next_id()
    });
    bench_2_threads(
        &mut group,
        "rs-snowflake real_time_generate (Mutex)",
        || rs_snowflake.lock().unwrap().real_time_generate(),
    );
    bench_2_threads(&mut group, "snowflaked sync::Generator", || {
        snowflaked.generate::<u64>()
    });
    bench_2_threads(&mut group, "snowflake_me", || snowflake_me.next_id());
    bench_2_threads(&mut group, "uuid now_v7", uuid::Uuid::now_v7);
    bench_2_threads(&mut group, "ulid Generator (Mutex)", || {
        ulid.lock().unwrap().generate().ok()
    });
    group.finish();
}

/// sonyflake's 39 µs per ID would make a default-sized group slow for nothing: its figure is
/// its format's cap. Ten samples over a short measurement are plenty.
fn sonyflake_groups(c: &mut Criterion) {
    let sinew_system = sinew_system();
    let sonyflake = sonyflake();
    check("sonyflake", CHECK_N_SONYFLAKE, &|| {
        sonyflake.next_id().unwrap()
    });

    for threads in [1, 2] {
        let name = if threads == 1 {
            "next_id_1_thread_sonyflake"
        } else {
            "next_id_2_threads_sonyflake"
        };
        let mut group = c.benchmark_group(name);
        group
            .throughput(Throughput::Elements(1))
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        if threads == 1 {
            group.bench_function("sinew SystemClock", |b| b.iter(|| sinew_system.next_id()));
            group.bench_function("sonyflake", |b| b.iter(|| sonyflake.next_id()));
        } else {
            bench_2_threads(&mut group, "sinew SystemClock", || sinew_system.next_id());
            bench_2_threads(&mut group, "sonyflake", || sonyflake.next_id());
        }
        group.finish();
    }
}

/// 64 IDs reserved in one call and iterated, per batch. snowflake_me is the only peer with a
/// batch API that keeps real timestamps (`next_ids_into`, here into a reused buffer, as its
/// README recommends for repeated batches); rs-snowflake's `SnowflakeIdBucket` pre-generates
/// IDs with `lazy_generate`, whose timestamps do not follow the clock, so it is left out.
fn next_batch(c: &mut Criterion) {
    const BATCH: u64 = 64;
    let sinew_system = sinew_system();
    let snowflake_me = snowflake_me();

    let ids: Vec<_> = sinew_system.next_batch(BATCH).unwrap().collect();
    assert_eq!(ids.len(), 64, "sinew next_batch: wrong length");
    assert!(ids.is_sorted_by(|a, b| a < b), "sinew next_batch: {ids:?}");
    let mut buf = Vec::with_capacity(64);
    snowflake_me.next_ids_into(64, &mut buf).unwrap();
    assert_eq!(buf.len(), 64, "snowflake_me next_ids_into: wrong length");
    assert!(
        buf.is_sorted_by(|a, b| a.as_u64() < b.as_u64()),
        "snowflake_me next_ids_into: {buf:?}"
    );

    let mut group = c.benchmark_group("next_batch");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("sinew next_batch(64)", |b| {
        b.iter(|| {
            for id in sinew_system.next_batch(BATCH).unwrap() {
                black_box(id);
            }
        });
    });
    group.bench_function("snowflake_me next_ids_into(64)", |b| {
        b.iter(|| {
            buf.clear();
            snowflake_me.next_ids_into(64, &mut buf).unwrap();
            for id in &buf {
                black_box(id);
            }
        });
    });
    group.finish();
}

criterion_group!(
    benches,
    next_id_1_thread,
    next_id_2_threads,
    sonyflake_groups,
    next_batch
);
criterion_main!(benches);
