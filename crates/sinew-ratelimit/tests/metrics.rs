//! `metrics()`: exact counts of admissions, denials, evictions and key-capacity denials, in
//! single-threaded scripts on a hand-driven clock, and from many threads at once (the
//! limiter's admission counter is striped per thread; no count may be lost across stripes).
#![cfg(not(sinew_loom))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::time::Duration;

use sinew_ratelimit::{
    KeyedMetrics, KeyedRateLimiter, ManualClock, Metrics, Quota, RateLimiter, SlidingWindow,
};

const START: Duration = Duration::from_secs(1_700_000_000);

/// 10 per second, burst 5: 100 ms per token.
fn quota() -> Quota {
    Quota::per_second(10).unwrap().burst(5).unwrap()
}

fn counts(m: Metrics) -> (u64, u64) {
    (m.admitted, m.denied)
}

/// Admitted, denied, keys evicted, key-capacity denials.
fn keyed(m: KeyedMetrics) -> (u64, u64, u64, u64) {
    (m.admitted, m.denied, m.keys_evicted, m.key_capacity_denied)
}

#[test]
fn limiter_counts_checks_not_tokens_peeks_or_impossible_requests() {
    let clock = ManualClock::new(START);
    let l = RateLimiter::with_clock(quota(), clock.clone());
    assert_eq!(l.metrics(), Metrics::default());
    l.check_n(3).unwrap(); // one admission of 3 tokens
    l.check().unwrap();
    l.check().unwrap();
    assert!(l.check().is_err());
    assert!(l.check_n(2).is_err());
    assert_eq!(counts(l.metrics()), (3, 2));

    // Not decisions: peeks, zero tokens, requests larger than the bucket.
    assert!(l.peek().is_err());
    assert!(l.peek_n(1).is_err());
    l.check_n(0).unwrap();
    assert!(l.check_n(6).is_err());
    assert_eq!(l.remaining(), 0);
    assert_eq!(counts(l.metrics()), (3, 2));

    // Counts survive a reset and a quota change.
    l.reset();
    l.set_quota(Quota::per_second(1).unwrap());
    l.check().unwrap();
    clock.advance(Duration::from_secs(1));
    l.check().unwrap();
    assert_eq!(counts(l.metrics()), (5, 2));
}

#[test]
fn keyed_counts_admissions_and_denials_per_check() {
    let clock = ManualClock::new(START);
    let l = KeyedRateLimiter::with_clock(quota(), 1_000, clock.clone());
    assert_eq!(l.metrics(), KeyedMetrics::default());
    for _ in 0..5 {
        l.check_key("a").unwrap();
    }
    assert!(l.check_key("a").is_err());
    l.check_key_n("b", 5).unwrap();
    assert!(l.check_key_n("b", 1).is_err());
    // Not counted: peeks, zero tokens, more than a bucket holds.
    assert!(l.peek_key("a").is_err());
    l.check_key_n("c", 0).unwrap();
    assert!(l.check_key_n("c", 6).is_err());
    assert_eq!(l.remaining_key("a"), 0);
    assert_eq!(keyed(l.metrics()), (6, 2, 0, 0));
}

#[test]
fn keyed_counts_evictions_and_key_capacity_denials() {
    let clock = ManualClock::new(START);
    let q = Quota::per_second(1).unwrap().burst(1).unwrap();
    // Two keys fit (one shard): the third is refused until one refills.
    let l = KeyedRateLimiter::with_clock(q, 2, clock.clone());
    l.check_key("a").unwrap();
    l.check_key("b").unwrap();
    let refused = l.check_key("c").unwrap_err();
    assert!(refused.is_key_capacity());
    assert!(l.check_key("d").unwrap_err().is_key_capacity());
    assert!(l.check_key("a").is_err()); // an ordinary denial
    assert_eq!(keyed(l.metrics()), (2, 3, 0, 2));

    // Both keys refill; a new key makes room by sweeping them out (2 evicted), and is admitted.
    clock.advance(Duration::from_secs(1));
    l.check_key("c").unwrap();
    assert_eq!(keyed(l.metrics()), (3, 3, 2, 2));
    assert_eq!(l.len(), 1);

    // `evict_refilled` counts too.
    clock.advance(Duration::from_secs(1));
    assert_eq!(l.evict_refilled(), 1);
    assert_eq!(keyed(l.metrics()), (3, 3, 3, 2));
}

#[test]
fn keyed_counts_add_up_over_shards() {
    let clock = ManualClock::new(START);
    let l = KeyedRateLimiter::with_clock(quota(), 100_000, clock.clone());
    for key in 0..10_000u32 {
        l.check_key_n(&key, 5).unwrap();
        assert!(l.check_key(&key).is_err());
    }
    clock.advance(Duration::from_millis(500));
    assert_eq!(l.evict_refilled(), 10_000);
    assert_eq!(keyed(l.metrics()), (10_000, 10_000, 10_000, 0));
}

#[test]
fn sliding_window_counts_checks() {
    let clock = ManualClock::new(START);
    let w = SlidingWindow::with_clock(4, Duration::from_secs(1), clock.clone()).unwrap();
    w.check_n(3).unwrap();
    w.check().unwrap();
    assert!(w.check().is_err());
    assert!(w.check_n(2).is_err());
    // Not counted: peeks, zero, more than the limit.
    assert!(w.peek().is_err());
    assert!(w.peek_n(1).is_err());
    w.check_n(0).unwrap();
    assert!(w.check_n(5).is_err());
    assert_eq!(counts(w.metrics()), (2, 2));
    clock.advance(Duration::from_secs(2));
    w.check_n(4).unwrap();
    assert_eq!(counts(w.metrics()), (3, 2));
}

#[test]
fn limiter_counts_every_admission_and_denial_from_many_threads() {
    // Burst 3,000 on a frozen clock: exactly 3,000 of the 6 x 800 checks are admitted.
    let clock = ManualClock::new(START);
    let q = Quota::per_second(1).unwrap().burst(3_000).unwrap();
    let limiter = RateLimiter::with_clock(q, clock);
    let admitted: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(|| (0..800).filter(|_| limiter.check().is_ok()).count() as u64))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(admitted, 3_000);
    assert_eq!(counts(limiter.metrics()), (3_000, 6 * 800 - 3_000));
}
