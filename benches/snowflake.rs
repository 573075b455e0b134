//! The cost of one ID: sinew-snowflake's `Generator` beside its peer crates, each set up the way
//! its docs show, issuing IDs at a rate every format allows.
//!
//! Run with `cargo bench -p sinew-benches --bench snowflake`.
//!
//! # Pacing: measured under every generator's cap
//!
//! A snowflake format allows at most `2^sequence_bits` IDs per tick: Twitter's, and so
//! rs-snowflake's, snowflaked's and snowflake_me's default, 4,096 per millisecond. A tight loop
//! asks for far more, so an unpaced benchmark of such a generator measures its format's cap
//! (244 ns per ID), not its code; no real service issues 4 million IDs a second from one
//! worker. So every ID-per-call group here is *paced*: IDs are made in timed runs of at most
//! [`TWITTER_PACE`]'s 4,000 (all threads together), and before each run the bench waits,
//! untimed, until more than a tick has passed since the previous run ended. No tick of any
//! generator's clock, whatever its phase, then holds IDs from two runs, so none reaches its
//! cap. Every implementation in a group is paced the same way, so the figures compare code
//! with code: the first ID of each run starts a new tick, as in real use. The wait makes wall
//! time several times the measured time, so the groups' measurement times are short (criterion
//! plans its iterations by wall time).
//!
//! # Groups (criterion ids `group/implementation/configuration`)
//!
//! - `snowflake_next_id_1_thread`: one ID per call on one thread. `sinew/default` is what a
//!   user gets from `Generator::new(Layout::TWITTER, 1)` (its `SystemClock` reads the CPU's
//!   time-stamp counter). Other sinew rows are opt-in configurations: `LocalGenerator` (a
//!   per-thread handle, `&mut self` like ulid's `Generator`, reserving 64 IDs at a time and
//!   checking the clock on each), `CachedClock` (the clock read is an atomic load), and both.
//! - `snowflake_next_id_2_threads`: one generator shared by 2 threads, both making IDs; the
//!   figure is wall time per ID (each run is split between the threads), so perfect scaling
//!   would halve the 1-thread figure. Peers whose methods take `&mut self` are shared through a
//!   `Mutex` (configuration `Mutex`), the only way to share one generator.
//! - `snowflake_next_id_1_thread_mutex`: those `Mutex`-shared peers on one thread (an
//!   uncontended lock), the yardstick for the 2-thread figures; `sinew/default` for reference.
//! - `snowflake_next_id_1_thread_sonyflake`: the Sonyflake format (256 IDs per 10 ms tick),
//!   paced at 250 IDs per tick: sinew on `Layout::SONYFLAKE` beside sonyflake.
//! - `snowflake_next_batch`: 64 IDs reserved at once and iterated, per batch (unpaced: a layout
//!   with a 20-bit sequence, which no benchmark here can exhaust).
//!
//! # Peers (each in its default or documented setup)
//!
//! - rs-snowflake 0.6: `SnowflakeIdGenerator::new(1, 1)` and `real_time_generate`, which reads
//!   the clock on every ID (its `generate` reads it once per 4,096 IDs, so its timestamps lag
//!   the clock). `&mut self`, so 2 threads share it through a `Mutex`.
//! - snowflaked 1.0 (`sync` feature): `sync::Generator::new(1)`, lock-free (one `AtomicU64`),
//!   shared natively.
//! - snowflake_me 2.2: `Snowflake::builder()` with its default widths (41-bit ms time, 5-bit
//!   data center, 5-bit machine, 12-bit sequence) and the data center and machine ids given
//!   (its default derives them from the host's private IP address, which a container may lack).
//!   Lock-free, shared natively.
//! - uuid 1 (`v7` and `fast-rng`, uuid's documented faster RNG): `Uuid::now_v7()`, on the
//!   process-wide context, so already shared.
//! - ulid 3: `ulid::Generator::new()` and `generate` (monotonic, like a snowflake generator;
//!   `&mut self`, so shared through a `Mutex`), and `Ulid::generate()` (random within the ms, not
//!   monotonic), the first thing its README shows.
//! - sonyflake 0.5 without default features (they only find a machine id from the network
//!   interfaces): machine id 1, its default epoch.
//!
//! Each generator is sanity-checked in the setup (never in a timed run): IDs in a row increase,
//! and two threads sharing it get no duplicates.

// Benches may panic on setup failure; that is a failed run, not a bug to handle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Debug;
use std::hint::{black_box, spin_loop};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use sinew_clock::{CachedClock, SystemClock};
use sinew_snowflake::{Generator, Layout};

// ---- Pacing. ----

/// How IDs are paced: runs of at most `run` IDs, each started more than `gap` after the
/// previous one ended.
#[derive(Clone, Copy)]
struct Pace {
    run: u64,
    gap: Duration,
}

/// Under 4,096 IDs per 1 ms tick: the gap is a tick plus a margin for clocks that run a few
/// parts per million apart.
const TWITTER_PACE: Pace = Pace {
    run: 4_000,
    gap: Duration::from_micros(1_050),
};

/// Under 256 IDs per 10 ms tick (Sonyflake).
const SONYFLAKE_PACE: Pace = Pace {
    run: 250,
    gap: Duration::from_micros(10_100),
};

/// Waits (spinning, so the thread keeps its core and caches) until `gap` has passed since
/// `since`.
fn wait_since(since: Instant, gap: Duration) {
    while since.elapsed() < gap {
        spin_loop();
    }
}

/// Time for `iters` calls of `next` on one thread, paced by `pace`: the sum of the timed runs.
fn paced<T>(iters: u64, pace: Pace, mut next: impl FnMut() -> T) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    // Whatever ran before (setup, the previous sample) may have used the current tick.
    let mut ended = Instant::now();
    while left > 0 {
        let n = left.min(pace.run);
        wait_since(ended, pace.gap);
        let start = Instant::now();
        for _ in 0..n {
            black_box(next());
        }
        ended = Instant::now();
        total += ended - start;
        left -= n;
    }
    total
}

/// How long before a 2-thread run both threads stop sleeping and spin. Sleeping through the
/// rest of the gap leaves the cores to other processes then, rather than while a run is timed:
/// two threads spinning through every gap get descheduled mid-run on a busy 2-core machine.
const SPIN_BEFORE_RUN: Duration = Duration::from_micros(200);

/// Wall time for `iters` calls made by 2 threads, paced by `pace`: each run's IDs are split
/// between the threads (the first takes the odd one), which start it together (spinning on a
/// shared counter for the last moments of the gap, so neither waits for a wake-up); a run's
/// time is from the first thread's start to the last thread's end. Each thread calls `next` on
/// its own state from `init` (made before anything is timed).
fn paced_two_threads<S, T>(
    iters: u64,
    pace: Pace,
    init: &(impl Fn() -> S + Sync),
    next: &(impl Fn(&mut S) -> T + Sync),
) -> Duration {
    let runs = iters.div_ceil(pace.run);
    // Run `r` may start once `go` is `r + 1`. `done` counts the follower's arrival (so the
    // leader never starts a run before the follower is up and spinning) and every finished run:
    // the leader starts run `r` once it reaches `2r + 1`.
    let go = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let (go, done) = (&go, &done);
    let thread = |leader: bool| {
        let mut state = init();
        let mut spans = Vec::with_capacity(usize::try_from(runs).unwrap());
        if leader {
            while done.load(Ordering::Acquire) < 1 {
                spin_loop();
            }
        } else {
            done.fetch_add(1, Ordering::Release);
        }
        let mut ended = Instant::now();
        for r in 0..runs {
            let n = (iters - r * pace.run).min(pace.run);
            let mine = if leader { n - n / 2 } else { n / 2 };
            if leader {
                // Both threads have finished the previous run: wait out the gap, then go.
                while done.load(Ordering::Acquire) < 2 * r + 1 {
                    spin_loop();
                }
                thread::sleep(pace.gap.saturating_sub(SPIN_BEFORE_RUN + ended.elapsed()));
                wait_since(ended, pace.gap);
                go.store(r + 1, Ordering::Release);
            } else {
                if r > 0 {
                    thread::sleep(pace.gap.saturating_sub(SPIN_BEFORE_RUN));
                }
                while go.load(Ordering::Acquire) <= r {
                    spin_loop();
                }
            }
            let start = Instant::now();
            for _ in 0..mine {
                black_box(next(&mut state));
            }
            ended = Instant::now();
            spans.push((start, ended));
            done.fetch_add(1, Ordering::Release);
        }
        spans
    };
    let (a, b) = thread::scope(|s| {
        let follower = s.spawn(|| thread(false));
        let a = thread(true);
        // A panicking benchmark thread fails the run with its own panic.
        let b = follower
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (a, b)
    });
    a.iter()
        .zip(&b)
        .map(|(&(sa, ea), &(sb, eb))| ea.max(eb) - sa.min(sb))
        .sum()
}

/// One paced 1-thread benchmark row.
fn bench_1<T>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    pace: Pace,
    implementation: &str,
    configuration: &str,
    mut next: impl FnMut() -> T,
) {
    group.bench_function(BenchmarkId::new(implementation, configuration), |b| {
        b.iter_custom(|iters| paced(iters, pace, &mut next));
    });
}

/// One paced 2-thread benchmark row, each thread with state from `init`.
fn bench_2_with<S, T>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    implementation: &str,
    configuration: &str,
    init: impl Fn() -> S + Sync,
    next: impl Fn(&mut S) -> T + Sync,
) {
    group.bench_function(BenchmarkId::new(implementation, configuration), |b| {
        b.iter_custom(|iters| paced_two_threads(iters, TWITTER_PACE, &init, &next));
    });
}

/// One paced 2-thread benchmark row on a shared generator.
fn bench_2<T>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    implementation: &str,
    configuration: &str,
    next: impl Fn() -> T + Sync,
) {
    bench_2_with(group, implementation, configuration, || (), |_| next());
}

/// A paced group: short phases, as the wait multiplies wall time (see the module docs).
fn paced_group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group
}

// ---- The generators, each in its default or documented setup. ----

/// 2024-01-01T00:00:00Z, the epoch of the batch group's layout.
const EPOCH_2024_SECS: u64 = 1_704_067_200;

fn epoch_2024() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(EPOCH_2024_SECS)
}

/// sinew as a user first meets it: Twitter's layout, the default `SystemClock` and policies.
fn sinew_default() -> Generator<SystemClock> {
    Generator::new(Layout::TWITTER, 1).unwrap()
}

/// sinew on Twitter's layout with `CachedClock::new()` (1 ms background refresh).
fn sinew_cached() -> Generator<CachedClock> {
    Generator::with_clock(Layout::TWITTER, 1, CachedClock::new()).unwrap()
}

fn rs_snowflake() -> snowflake::SnowflakeIdGenerator {
    snowflake::SnowflakeIdGenerator::new(1, 1)
}

fn snowflaked() -> snowflaked::sync::Generator {
    snowflaked::sync::Generator::new(1)
}

fn snowflake_me() -> snowflake_me::Snowflake {
    snowflake_me::Snowflake::builder()
        .data_center_id(&|| Ok(0))
        .machine_id(&|| Ok(1))
        .finalize()
        .unwrap()
}

fn sonyflake() -> sonyflake::Sonyflake {
    sonyflake::Sonyflake::builder()
        .machine_id(&|| Ok(1))
        .finalize()
        .unwrap()
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

/// Checks one shared generator from one thread and from two.
fn check<T: Ord + Debug + Send>(name: &str, n: usize, next: &(impl Fn() -> T + Sync)) {
    collect_increasing(name, n, next);
    assert_unique_2_threads(name, n, &|| (), &|_: &mut ()| next());
}

/// IDs per setup check; enough to cross a 12-bit format's sequence rollover twice.
const CHECK_N: usize = 10_000;

// ---- Groups. ----

fn next_id_1_thread(c: &mut Criterion) {
    let sinew = sinew_default();
    let cached = sinew_cached();
    let mut rs_snowflake = rs_snowflake();
    let snowflaked = snowflaked();
    let snowflake_me = snowflake_me();
    let mut ulid = ulid::Generator::new();

    check("sinew default", CHECK_N, &|| sinew.next_id().unwrap());
    check("sinew CachedClock", CHECK_N, &|| cached.next_id().unwrap());
    let mut local = sinew.local();
    let mut local_cached = cached.local();
    collect_increasing("sinew LocalGenerator", CHECK_N, || local.next_id().unwrap());
    assert_unique_2_threads(
        "sinew LocalGenerator, CachedClock",
        CHECK_N,
        &|| cached.local(),
        &|l| l.next_id().unwrap(),
    );
    collect_increasing("rs-snowflake", CHECK_N, || {
        rs_snowflake.real_time_generate()
    });
    check("snowflaked", CHECK_N, &|| snowflaked.generate::<u64>());
    check("snowflake_me", CHECK_N, &|| {
        snowflake_me.next_id().unwrap().as_u64()
    });
    check("uuid v7", CHECK_N, &uuid::Uuid::now_v7);
    collect_increasing("ulid Generator", CHECK_N, || ulid.generate().unwrap());

    let mut group = paced_group(c, "snowflake_next_id_1_thread");
    let p = TWITTER_PACE;
    bench_1(&mut group, p, "sinew", "default", || sinew.next_id());
    bench_1(&mut group, p, "sinew", "LocalGenerator", || local.next_id());
    bench_1(&mut group, p, "sinew", "CachedClock", || cached.next_id());
    bench_1(
        &mut group,
        p,
        "sinew",
        "LocalGenerator, CachedClock",
        || local_cached.next_id(),
    );
    bench_1(&mut group, p, "rs-snowflake", "default", || {
        rs_snowflake.real_time_generate()
    });
    bench_1(&mut group, p, "snowflaked", "default", || {
        snowflaked.generate::<u64>()
    });
    bench_1(&mut group, p, "snowflake_me", "default", || {
        snowflake_me.next_id()
    });
    bench_1(&mut group, p, "uuid v7", "default", uuid::Uuid::now_v7);
    bench_1(&mut group, p, "ulid Generator", "default", || {
        ulid.generate().ok()
    });
    bench_1(&mut group, p, "ulid", "default", ulid::Ulid::generate);
    group.finish();
}

fn next_id_2_threads(c: &mut Criterion) {
    let sinew = sinew_default();
    let cached = sinew_cached();
    let rs_snowflake = Mutex::new(rs_snowflake());
    let snowflaked = snowflaked();
    let snowflake_me = snowflake_me();
    let ulid = Mutex::new(ulid::Generator::new());

    check("rs-snowflake (Mutex)", CHECK_N, &|| {
        rs_snowflake.lock().unwrap().real_time_generate()
    });
    check("ulid Generator (Mutex)", CHECK_N, &|| {
        ulid.lock().unwrap().generate().unwrap()
    });
    assert_unique_2_threads("sinew LocalGenerator", CHECK_N, &|| sinew.local(), &|l| {
        l.next_id().unwrap()
    });
    // The natively shared ones were checked from two threads in `next_id_1_thread`.

    let mut group = paced_group(c, "snowflake_next_id_2_threads");
    bench_2(&mut group, "sinew", "default", || sinew.next_id());
    bench_2_with(
        &mut group,
        "sinew",
        "LocalGenerator",
        || sinew.local(),
        |l| l.next_id(),
    );
    bench_2(&mut group, "sinew", "CachedClock", || cached.next_id());
    bench_2(&mut group, "rs-snowflake", "Mutex", || {
        rs_snowflake.lock().unwrap().real_time_generate()
    });
    bench_2(&mut group, "snowflaked", "default", || {
        snowflaked.generate::<u64>()
    });
    bench_2(&mut group, "snowflake_me", "default", || {
        snowflake_me.next_id()
    });
    bench_2(&mut group, "uuid v7", "default", uuid::Uuid::now_v7);
    bench_2(&mut group, "ulid Generator", "Mutex", || {
        ulid.lock().unwrap().generate().ok()
    });
    group.finish();
}

/// The `&mut self` peers behind the `Mutex` that shares them, on one thread: what a 2-thread
/// generator should at least match.
fn next_id_1_thread_mutex(c: &mut Criterion) {
    let sinew = sinew_default();
    let rs_snowflake = Mutex::new(rs_snowflake());
    let ulid = Mutex::new(ulid::Generator::new());

    let mut group = paced_group(c, "snowflake_next_id_1_thread_mutex");
    let p = TWITTER_PACE;
    bench_1(&mut group, p, "sinew", "default", || sinew.next_id());
    bench_1(&mut group, p, "rs-snowflake", "Mutex", || {
        rs_snowflake.lock().unwrap().real_time_generate()
    });
    bench_1(&mut group, p, "ulid Generator", "Mutex", || {
        ulid.lock().unwrap().generate().ok()
    });
    group.finish();
}

/// sonyflake's format holds 256 IDs per 10 ms tick, so it gets a group of its own paced under
/// that, with sinew on the same layout.
fn next_id_1_thread_sonyflake(c: &mut Criterion) {
    let sinew = Generator::new(Layout::SONYFLAKE, 1).unwrap();
    let sonyflake = sonyflake();
    // 600 IDs cross the 256-ID rollover twice (each rollover waits for the next 10 ms tick).
    check("sinew SONYFLAKE", 600, &|| sinew.next_id().unwrap());
    check("sonyflake", 600, &|| sonyflake.next_id().unwrap());

    let mut group = paced_group(c, "snowflake_next_id_1_thread_sonyflake");
    let p = SONYFLAKE_PACE;
    bench_1(&mut group, p, "sinew", "default", || sinew.next_id());
    bench_1(&mut group, p, "sonyflake", "default", || {
        sonyflake.next_id()
    });
    group.finish();
}

/// 64 IDs reserved in one call and iterated, per batch. snowflake_me is the only peer with a batch
/// API that keeps real timestamps (`next_ids_into`, here into a reused buffer, as its README
/// recommends for repeated batches); rs-snowflake's `SnowflakeIdBucket` pre-generates IDs with
/// `lazy_generate`, whose timestamps do not follow the clock, so it is left out. Both use a
/// 40-bit ms time, 3 worker bits and a 20-bit sequence from 2024 (1,048,576 IDs per ms), so
/// neither is capped unpaced.
fn next_batch(c: &mut Criterion) {
    const BATCH: u64 = 64;
    const CONFIGURATION: &str = "64 IDs, 20-bit sequence";
    let layout = Layout::builder()
        .timestamp_bits(40)
        .worker_bits(3)
        .sequence_bits(20)
        .epoch(epoch_2024())
        .build()
        .unwrap();
    let sinew = Generator::new(layout, 1).unwrap();
    let snowflake_me = snowflake_me::Snowflake::builder()
        .start_time(i64::try_from(EPOCH_2024_SECS * 1000).unwrap())
        .bit_len_time(40)
        .bit_len_data_center_id(1)
        .bit_len_machine_id(2)
        .bit_len_sequence(20)
        .data_center_id(&|| Ok(0))
        .machine_id(&|| Ok(1))
        .finalize()
        .unwrap();

    let ids: Vec<_> = sinew.next_batch(BATCH).unwrap().collect();
    assert_eq!(ids.len(), 64, "sinew next_batch: wrong length");
    assert!(ids.is_sorted_by(|a, b| a < b), "sinew next_batch: {ids:?}");
    let mut buf = Vec::with_capacity(64);
    snowflake_me.next_ids_into(64, &mut buf).unwrap();
    assert_eq!(buf.len(), 64, "snowflake_me next_ids_into: wrong length");
    assert!(
        buf.is_sorted_by(|a, b| a.as_u64() < b.as_u64()),
        "snowflake_me next_ids_into: {buf:?}"
    );

    let mut group = c.benchmark_group("snowflake_next_batch");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function(BenchmarkId::new("sinew", CONFIGURATION), |b| {
        b.iter(|| {
            for id in sinew.next_batch(BATCH).unwrap() {
                black_box(id);
            }
        });
    });
    group.bench_function(BenchmarkId::new("snowflake_me", CONFIGURATION), |b| {
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
    next_id_1_thread_mutex,
    next_id_1_thread_sonyflake,
    next_batch
);
criterion_main!(benches);
