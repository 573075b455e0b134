//! loom models of [`AdaptiveLimit`]'s admission: with the limit fixed, never more permits
//! alive than the limit, whatever the interleaving of admissions, completions (which close
//! sample windows under `try_lock`) and drops.
//!
//! Run with:
//! `RUSTFLAGS="--cfg sinew_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p sinew-bulkhead --test loom`
#![cfg(sinew_loom)]
#![allow(clippy::unwrap_used)] // tests fail loudly

use std::time::Duration;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicU32, Ordering};
use loom::thread;
use sinew_bulkhead::{AdaptiveLimit, Aimd, ManualClock};

/// A limit pinned at `n` (min = max = initial), whose every completion closes a window, so
/// the algorithm's `try_lock` races the admissions too.
fn pinned(n: u32) -> AdaptiveLimit<ManualClock> {
    AdaptiveLimit::builder(Aimd::new())
        .min_limit(n)
        .max_limit(n)
        .initial_limit(n)
        .window_samples(1)
        .clock(ManualClock::new(Duration::from_secs(1)))
        .build()
        .unwrap()
}

/// Three threads each take a permit (if admitted), count themselves inside, check the count
/// against the limit, and close the permit three different ways.
#[test]
fn never_more_than_the_limit_in_flight() {
    const N: u32 = 2;
    loom::model(|| {
        let limit = pinned(N);
        let inside = Arc::new(AtomicU32::new(0));
        let handles: Vec<_> = (0..3)
            .map(|t| {
                let (limit, inside) = (limit.clone(), Arc::clone(&inside));
                thread::spawn(move || {
                    if let Ok(p) = limit.try_acquire() {
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        assert!(now <= N, "{now} permits alive with a limit of {N}");
                        inside.fetch_sub(1, Ordering::SeqCst);
                        match t {
                            0 => p.success_rtt(Duration::from_millis(1)),
                            1 => p.dropped(),
                            _ => drop(p),
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(limit.in_flight(), 0);
        assert_eq!(limit.limit(), N);
        let m = limit.metrics();
        assert_eq!(m.admitted + m.rejected, 3);
    });
}

/// A permit released on one thread makes room for exactly one admission among two others.
#[test]
fn a_released_slot_admits_one() {
    loom::model(|| {
        let limit = pinned(1);
        let held = limit.try_acquire_owned().unwrap();
        let releaser = thread::spawn(move || held.success_rtt(Duration::from_millis(1)));
        let admitted = Arc::new(AtomicU32::new(0));
        let takers: Vec<_> = (0..2)
            .map(|_| {
                let (limit, admitted) = (limit.clone(), Arc::clone(&admitted));
                thread::spawn(move || {
                    if let Ok(p) = limit.try_acquire() {
                        admitted.fetch_add(1, Ordering::SeqCst);
                        // Never released, so a second admission would be a second permit
                        // alive at once.
                        std::mem::forget(p);
                    }
                })
            })
            .collect();
        releaser.join().unwrap();
        for t in takers {
            t.join().unwrap();
        }
        assert!(admitted.load(Ordering::SeqCst) <= 1);
    });
}
