//! loom models of `Generator::next_id` and `LocalGenerator`: every interleaving of 2-3 threads
//! yields distinct IDs, each thread's strictly increasing, including the sequence-exhaustion
//! paths.
//!
//! Run with:
//! `RUSTFLAGS="--cfg sinew_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p sinew-snowflake --test loom`
#![cfg(sinew_loom)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly

use std::time::{Duration, SystemTime};

use loom::sync::Arc;
use loom::sync::atomic::{AtomicU64, Ordering};
use loom::thread;
use sinew_snowflake::{
    Clock, Exhaustion, Generator, Id, Layout, LocalGenerator, ManualClock, NextIdError,
};

const START: Duration = Duration::from_secs(1_704_067_200);

/// Two IDs per 1 ms tick, so two threads making two IDs each must exhaust a tick.
fn layout() -> Layout {
    Layout::builder()
        .timestamp_bits(41)
        .worker_bits(2)
        .sequence_bits(1)
        .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .build()
        .unwrap()
}

fn generator(clock: &ManualClock, policy: Exhaustion) -> Arc<Generator<ManualClock>> {
    Arc::new(
        Generator::builder(layout(), 1)
            .clock(clock.clone())
            .exhaustion(policy)
            .build()
            .unwrap(),
    )
}

/// Checks each thread's IDs increase and no ID appears twice overall.
fn check(per_thread: &[Vec<Id>]) {
    let mut all = Vec::new();
    for ids in per_thread {
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "per-thread order: {ids:?}"
        );
        all.extend_from_slice(ids);
    }
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "duplicate id in {per_thread:?}");
}

fn make<C: Clock>(ids: &Generator<C>, n: usize) -> Vec<Id> {
    (0..n).filter_map(|_| ids.next_id().ok()).collect()
}

/// A clock that moves on by half a tick each time it is read, so a thread that waits for the
/// next tick always gets there (a stopped clock would make the Wait policy wait forever, which
/// is its documented behaviour, not a property to model).
#[derive(Debug)]
struct Ticking(Arc<AtomicU64>);

impl Clock for Ticking {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }
    fn now_nanos(&self) -> u64 {
        self.0.fetch_add(500_000, Ordering::Relaxed)
    }
}

/// Two threads making three IDs each from two-ID ticks: the Wait policy path (a thread that
/// finds its tick exhausted yields until the clock reaches the next one).
#[test]
fn wait_policy_with_a_moving_clock() {
    loom::model(|| {
        let start = u64::try_from(START.as_nanos()).unwrap();
        let ids = Arc::new(
            Generator::builder(layout(), 1)
                .clock(Ticking(Arc::new(AtomicU64::new(start))))
                .build()
                .unwrap(),
        );
        let other = {
            let ids = Arc::clone(&ids);
            thread::spawn(move || make(&ids, 3))
        };
        let mine = make(&ids, 3);
        let theirs = other.join().unwrap();
        assert_eq!(mine.len() + theirs.len(), 6, "Wait never fails");
        check(&[mine, theirs]);
    });
}

/// A `LocalGenerator` reserving whole two-ID ticks (`next_batch`) races a thread calling
/// `next_id` on the same generator, on a clock that moves half a tick per read: no ID twice,
/// each thread's increasing, and the handle never hands out an ID from a tick the clock has left.
#[test]
fn local_handle_against_next_id() {
    loom::model(|| {
        let start = u64::try_from(START.as_nanos()).unwrap();
        let now = Arc::new(AtomicU64::new(start));
        let ids = Arc::new(
            Generator::builder(layout(), 1)
                .clock(Ticking(Arc::clone(&now)))
                .build()
                .unwrap(),
        );
        let other = {
            let ids = Arc::clone(&ids);
            thread::spawn(move || make(&ids, 2))
        };
        let mut local = LocalGenerator::with_batch_size(Arc::clone(&ids), 2).unwrap();
        let mut mine = Vec::new();
        let epoch = 1_700_000_000_000_000_000;
        for _ in 0..3 {
            // Every clock reading the call makes is at least this one (the clock only moves
            // forward), so the ID's tick must be at least this reading's tick.
            let before = (now.load(Ordering::Relaxed) - epoch) / 1_000_000;
            let id = local.next_id().unwrap();
            let tick = layout().decode(id.get()).timestamp();
            assert!(
                tick >= before,
                "stale ID: tick {tick}, clock at tick {before}"
            );
            mine.push(id);
        }
        let theirs = other.join().unwrap();
        check(&[mine, theirs]);
    });
}

/// Borrowing ahead of a stopped clock: 4 IDs from 2 ticks, all distinct and ordered.
#[test]
fn borrow_policy() {
    loom::model(|| {
        let clock = ManualClock::new(START);
        let ids = generator(
            &clock,
            Exhaustion::Borrow {
                up_to: Duration::from_millis(1),
            },
        );
        let other = {
            let ids = Arc::clone(&ids);
            thread::spawn(move || make(&ids, 2))
        };
        let mine = make(&ids, 2);
        let theirs = other.join().unwrap();
        assert_eq!(mine.len() + theirs.len(), 4);
        check(&[mine, theirs]);
    });
}

/// The Error policy: exactly one tick's worth of IDs succeeds, the rest report exhaustion,
/// and errors claim nothing.
#[test]
fn error_policy_claims_nothing_on_failure() {
    loom::model(|| {
        let clock = ManualClock::new(START);
        let ids = generator(&clock, Exhaustion::Error);
        let other = {
            let ids = Arc::clone(&ids);
            thread::spawn(move || make(&ids, 2))
        };
        let mine = make(&ids, 2);
        let theirs = other.join().unwrap();
        assert_eq!(mine.len() + theirs.len(), 2, "one tick holds two IDs");
        assert_eq!(ids.next_id(), Err(NextIdError::SequenceExhausted));
        check(&[mine, theirs]);
    });
}
