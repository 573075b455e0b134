//! `KeyedRateLimiter`: per-key isolation, the key cap under a million distinct keys, evicted
//! keys behaving as new ones, and no lost decisions when full.
#![cfg(not(sinew_loom))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly

mod reference;

use std::sync::Arc;
use std::time::Duration;

use sinew_ratelimit::{CheckNError, KeyedRateLimiter, ManualClock, Quota};

const START: Duration = Duration::from_secs(1_700_000_000);

fn quota() -> Quota {
    Quota::per_second(10).unwrap().burst(5).unwrap()
}

#[test]
fn keys_are_isolated() {
    let clock = ManualClock::new(START);
    let l = KeyedRateLimiter::with_clock(quota(), 1_000, clock.clone());
    for _ in 0..5 {
        l.check_key("a").unwrap();
    }
    let denied = l.check_key("a").unwrap_err();
    assert_eq!(denied.retry_after(), Duration::from_millis(100));
    assert!(!denied.is_key_capacity());
    // Another key is untouched.
    assert_eq!(l.remaining_key("b"), 5);
    assert_eq!(l.check_key_n("b", 5), Ok(()));
    assert!(l.peek_key("b").is_err());
    assert_eq!(l.peek_key("c"), Ok(()));
    assert_eq!(l.len(), 2, "peek does not start tracking a key");
    clock.advance(Duration::from_millis(100));
    assert_eq!(l.check_key("a"), Ok(()));
    assert_eq!(l.check_key("b"), Ok(()));
    assert!(l.check_key("a").is_err());
    assert!(matches!(
        l.check_key_n("z", 6),
        Err(CheckNError::InsufficientCapacity { .. })
    ));
    assert_eq!(
        l.len(),
        2,
        "a request that can never fit does not track its key"
    );
}

#[test]
fn owned_and_borrowed_keys() {
    let l: KeyedRateLimiter<String> = KeyedRateLimiter::new(quota(), 10);
    l.check_key("x").unwrap();
    l.check_key(&"x".to_string()).unwrap();
    assert_eq!(l.remaining_key("x"), 3);
}

#[test]
fn key_cap_holds_under_a_million_distinct_keys() {
    let clock = ManualClock::new(START);
    let max = 50_000;
    let l = KeyedRateLimiter::with_clock(quota(), max, clock.clone());
    let mut refused = 0u32;
    for k in 0..1_000_000u64 {
        match l.check_key(&k) {
            Ok(()) => {}
            Err(d) => {
                assert!(d.is_key_capacity());
                assert!(d.retry_after() > Duration::ZERO);
                refused += 1;
            }
        }
        assert!(l.len() <= max);
        if k % 10_000 == 0 {
            // The counter agrees with what the tables really hold.
            assert_eq!(l.stored_keys(), l.len());
        }
        // Time moves 1 µs per request: each key owes 100 ms, so about 100k keys are active at
        // once, twice the cap: some new keys must be refused, none admitted beyond the cap.
        clock.advance(Duration::from_micros(1));
    }
    assert!(refused > 0);
    assert!(l.len() <= max);
    assert_eq!(l.stored_keys(), l.len());
    // Everything refills after 500 ms (a full bucket's worth of debt is at most 100 ms here).
    clock.advance(Duration::from_secs(1));
    assert_eq!(l.check_key(&u64::MAX), Ok(()));
    assert!(l.evict_refilled() > 0);
    assert_eq!(l.len(), 1);
}

#[test]
fn churn_keeps_memory_to_the_active_keys() {
    // Steady churn: each key is seen once, time moves so keys refill after 100 ms. With 100
    // new keys per ms, about 10k are active; the limiter never needs more than that.
    let clock = ManualClock::new(START);
    let l = KeyedRateLimiter::with_clock(quota(), 1_000_000, clock.clone());
    for k in 0..300_000u64 {
        l.check_key(&k).unwrap();
        clock.advance(Duration::from_micros(10));
    }
    assert!(
        l.len() < 40_000,
        "refilled keys were evicted incrementally: {}",
        l.len()
    );
    // Once everyone has gone quiet, an explicit sweep empties the limiter.
    clock.advance(Duration::from_secs(1));
    let tracked = l.len();
    assert_eq!(l.stored_keys(), tracked);
    assert_eq!(l.evict_refilled(), tracked);
    assert!(l.is_empty());
    assert_eq!(l.stored_keys(), 0);
}

#[test]
fn evicted_keys_behave_like_new_keys() {
    let clock = ManualClock::new(START);
    let l = KeyedRateLimiter::with_clock(quota(), 1, clock.clone());
    l.check_key_n(&1u32, 5).unwrap();
    // Full, and key 1 still owes: key 2 is refused, key 1's decision is not lost.
    let refused = l.check_key(&2u32).unwrap_err();
    assert!(refused.is_key_capacity());
    assert_eq!(refused.retry_after(), Duration::from_millis(500));
    assert!(l.check_key(&1u32).is_err());
    clock.advance(Duration::from_millis(500));
    // Key 1 has refilled: it is evicted to make room for key 2.
    assert_eq!(l.check_key(&2u32), Ok(()));
    assert_eq!(l.len(), 1);
    // Key 2 now owes; key 1 is refused until it refills.
    assert!(l.check_key(&1u32).unwrap_err().is_key_capacity());
    clock.advance(Duration::from_millis(100));
    // Key 1 comes back with a full bucket, exactly like a new key.
    assert_eq!(l.check_key_n(&1u32, 5), Ok(()));
}

#[test]
fn keyed_set_quota_and_debug() {
    let clock = ManualClock::new(START);
    let l = KeyedRateLimiter::with_clock(quota(), 100, clock);
    l.check_key_n(&7u8, 5).unwrap();
    l.set_quota(Quota::per_second(10).unwrap().burst(6).unwrap());
    assert_eq!(l.check_key(&7u8), Ok(()));
    assert!(l.check_key(&7u8).is_err());
    assert_eq!(l.quota().burst_size(), 6);
    assert!(format!("{l:?}").contains("KeyedRateLimiter"));
    assert_eq!(l.max_keys(), 100);
    assert!(!l.is_empty());
}

#[test]
fn keyed_threads_share_per_key_budgets() {
    let clock = ManualClock::new(START);
    let l = Arc::new(KeyedRateLimiter::with_clock(quota(), 1_000, clock));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let l = Arc::clone(&l);
            std::thread::spawn(move || {
                (0..1_000u32)
                    .filter(|i| l.check_key(&(i % 10)).is_ok())
                    .count()
            })
        })
        .collect();
    let admitted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    // Frozen time: exactly the burst of each of the 10 keys.
    assert_eq!(admitted, 50);
}

/// Under eviction pressure, against the reference token bucket of `tests/reference/`.
mod model {
    use super::*;
    use crate::reference::{FULL, QuotaSpec};
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        /// Under eviction pressure (5 key slots, 12 keys) every decision the keyed limiter
        /// makes agrees with a per-key bucket that is never evicted: eviction only ever drops
        /// keys indistinguishable from new ones, so no admission decision is lost. The only
        /// extra outcome is refusing a new key for capacity, which takes nothing.
        #[test]
        fn eviction_loses_no_decision(
            ops in proptest::collection::vec((0u64..150_000_000, 0u8..12, 1u32..4), 1..300)
        ) {
            // 10 per second, burst 5 (`quota()`), from the inputs.
            let model = QuotaSpec::per_second(10, 5).model().unwrap();
            let clock = ManualClock::new(START);
            let l = KeyedRateLimiter::with_clock(quota(), 5, clock.clone());
            let mut buckets = HashMap::new();
            let mut now = 0i128;
            for (dt, key, n) in ops {
                clock.advance(Duration::from_nanos(dt));
                now += i128::from(dt);
                let b = buckets.entry(key).or_insert(FULL);
                match l.check_key_n(&key, n) {
                    // A refused new key must really be new (full bucket) in the model.
                    Err(CheckNError::Denied(d)) if d.is_key_capacity() => {
                        prop_assert!(model.is_full(b, now));
                    }
                    got => {
                        let got = got.map_err(|e| e.retry_after().map(|d| d.as_nanos()));
                        prop_assert_eq!(got, model.take(b, now, n));
                    }
                }
                prop_assert!(l.len() <= 5);
                prop_assert_eq!(l.stored_keys(), l.len());
            }
        }
    }
}
