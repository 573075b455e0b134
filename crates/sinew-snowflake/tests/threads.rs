//! Many threads sharing one generator: no duplicates, per-thread order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sinew_snowflake::{CachedClock, Clock, Generator, Id, Layout, LocalGenerator};

const THREADS: usize = 4;
const PER_THREAD: usize = 1_000_000;

/// Each thread makes `PER_THREAD` IDs; checks each thread's are strictly increasing and all
/// `THREADS * PER_THREAD` are distinct. With `local`, each thread takes its IDs through its own
/// [`LocalGenerator`] on the shared generator.
fn hammer<C: Clock + 'static>(ids: Generator<C>, local: bool) {
    let ids = Arc::new(ids);
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let ids = Arc::clone(&ids);
            std::thread::spawn(move || {
                let mut mine = Vec::with_capacity(PER_THREAD);
                if local {
                    let mut handle = LocalGenerator::new(ids);
                    for _ in 0..PER_THREAD {
                        mine.push(handle.next_id().unwrap());
                    }
                } else {
                    for _ in 0..PER_THREAD {
                        mine.push(ids.next_id().unwrap());
                    }
                }
                mine
            })
        })
        .collect();
    let mut all = HashSet::with_capacity(THREADS * PER_THREAD);
    for handle in handles {
        let mine: Vec<Id> = handle.join().unwrap();
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "per-thread order");
        all.extend(mine);
    }
    assert_eq!(all.len(), THREADS * PER_THREAD, "duplicates");
}

#[test]
fn twitter_layout_on_the_system_clock() {
    // 4M IDs at 4096 per ms: about a second of real time, most of it in the exhaustion wait.
    hammer(Generator::new(Layout::TWITTER, 1).unwrap(), false);
}

#[test]
fn local_handles_on_the_system_clock() {
    // Each thread's handle reserves 64 IDs at a time from the shared Twitter-layout generator.
    hammer(Generator::new(Layout::TWITTER, 1).unwrap(), true);
}

#[test]
fn high_capacity_layout_on_the_cached_clock() {
    let layout = Layout::builder()
        .timestamp_bits(40)
        .worker_bits(3)
        .sequence_bits(20)
        .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_067_200))
        .build()
        .unwrap();
    hammer(
        Generator::builder(layout, 5)
            .clock(CachedClock::new())
            .build()
            .unwrap(),
        false,
    );
}

#[test]
fn batches_and_single_ids_mixed() {
    let ids = Arc::new(Generator::new(Layout::TWITTER, 2).unwrap());
    let run = |batch: bool| {
        let ids = Arc::clone(&ids);
        std::thread::spawn(move || {
            let mut mine: Vec<Id> = Vec::new();
            for _ in 0..2_000 {
                if batch {
                    mine.extend(ids.next_batch(100).unwrap());
                } else {
                    mine.push(ids.next_id().unwrap());
                }
            }
            mine
        })
    };
    let (a, b) = (run(true), run(false));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    assert!(a.windows(2).all(|w| w[0] < w[1]));
    assert!(b.windows(2).all(|w| w[0] < w[1]));
    let all: HashSet<Id> = a.iter().chain(&b).copied().collect();
    assert_eq!(all.len(), a.len() + b.len());
}
