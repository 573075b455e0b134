//! Property tests: the GCRA limiter against a reference token bucket, the sliding window
//! against a brute-force count, and the threaded admission bound with the system clock.
#![cfg(not(sinew_loom))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly

use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use sinew_ratelimit::{ManualClock, Quota, RateLimiter, SlidingWindow, SystemClock};

const START: Duration = Duration::from_secs(1_700_000_000);

/// A token bucket of `depth` nanoseconds of credit (one token is `interval` of credit),
/// refilled by elapsed time, kept as the instant it is full again (`full_at`): at time `t` it
/// holds `depth - max(0, full_at - t)`. A quota change keeps the debt, which is what GCRA's kept
/// TAT means; a clock set back is judged against the same debt (going back never refills).
/// Interval and depth come from the quota's inputs (`rate` per second, `burst`), as the
/// `Quota` docs define them, not from `Quota`'s accessors.
struct Bucket {
    full_at: i128,
    depth: i128,
    interval: i128,
}

impl Bucket {
    fn new(rate: u32, burst: u32) -> Self {
        let mut b = Bucket {
            full_at: 0,
            depth: 0,
            interval: 0,
        };
        b.set(rate, burst);
        b
    }
    fn take(&mut self, now: i128, n: u32) -> bool {
        if n == 0 {
            // Zero tokens always fit, even in debt after a quota shrank.
            return true;
        }
        let cost = i128::from(n) * self.interval;
        let level = self.depth - (self.full_at - now).max(0);
        if cost > self.depth || cost > level {
            return false;
        }
        self.full_at = self.full_at.max(now) + cost;
        true
    }
    fn set(&mut self, rate: u32, burst: u32) {
        // 1 s / rate rounded up to a whole nanosecond; `burst` intervals (far below the
        // 2^62 ns refill bound for these small inputs).
        self.interval = i128::from(1_000_000_000u64.div_ceil(u64::from(rate)));
        self.depth = i128::from(burst) * self.interval;
    }
}

#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    /// The clock moves back (possibly before the limiter started, which reads as its start).
    Back(u64),
    Check,
    CheckN(u32),
    SetQuota(u32, u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u64..300_000_000).prop_map(Op::Advance),
        (0u64..300_000_000).prop_map(Op::Back),
        Just(Op::Check),
        (0u32..12).prop_map(Op::CheckN),
        (1u32..50, 1u32..20).prop_map(|(r, b)| Op::SetQuota(r, b)),
    ]
}

proptest! {
    #[test]
    fn gcra_matches_a_token_bucket(rate in 1u32..50, burst in 1u32..20,
                                   ops in proptest::collection::vec(op(), 1..200)) {
        let quota = Quota::per_second(rate).unwrap().burst(burst).unwrap();
        let clock = ManualClock::new(START);
        let limiter = RateLimiter::with_clock(quota, clock.clone());
        let mut model = Bucket::new(rate, burst);
        // The clock's reading; one before the limiter started reads as its start.
        let start = u64::try_from(START.as_nanos()).unwrap();
        let mut abs = start;
        for op in ops {
            let now = i128::from(abs.saturating_sub(start));
            match op {
                Op::Advance(ns) => {
                    abs += ns;
                    clock.set(Duration::from_nanos(abs));
                }
                Op::Back(ns) => {
                    abs = abs.saturating_sub(ns);
                    clock.set(Duration::from_nanos(abs));
                }
                Op::Check => {
                    prop_assert_eq!(limiter.check().is_ok(), model.take(now, 1));
                }
                Op::CheckN(n) => {
                    prop_assert_eq!(limiter.check_n(n).is_ok(), model.take(now, n));
                }
                Op::SetQuota(r, b) => {
                    let q = Quota::per_second(r).unwrap().burst(b).unwrap();
                    limiter.set_quota(q);
                    model.set(r, b);
                }
            }
        }
    }

    #[test]
    fn denied_retry_after_is_exact(rate in 1u32..1000, burst in 1u32..20, n in 1u32..20,
                                   taken in 0u32..20) {
        let quota = Quota::per_second(rate).unwrap().burst(burst).unwrap();
        prop_assume!(n <= burst);
        let clock = ManualClock::new(START);
        let l = RateLimiter::with_clock(quota, clock.clone());
        let _ = l.check_n(taken.min(burst));
        if let Err(e) = l.check_n(n) {
            let wait = e.retry_after().unwrap();
            clock.advance(wait - Duration::from_nanos(1));
            prop_assert!(l.peek_n(n).is_err());
            clock.advance(Duration::from_nanos(1));
            prop_assert!(l.check_n(n).is_ok());
        }
    }
}

/// Brute force: every admitted request's time, and the sliding-window estimate recomputed
/// from them for each decision.
fn reference_admits(log: &[(u64, u32)], now: u64, window: u64, limit: u32, n: u32) -> bool {
    let index = now / window;
    let count = |i: u64| -> u128 {
        log.iter()
            .filter(|(t, _)| t / window == i)
            .map(|(_, k)| u128::from(*k))
            .sum()
    };
    let current = count(index);
    let previous = if index == 0 { 0 } else { count(index - 1) };
    let elapsed = u128::from(now % window);
    let w = u128::from(window);
    previous * (w - elapsed) + (current + u128::from(n)) * w <= u128::from(limit) * w
}

/// Drives a sliding window and the brute-force reference with the same steps.
fn sliding_window_agrees(
    limit: u32,
    window: u64,
    steps: &[(u64, u32)],
) -> Result<(), TestCaseError> {
    let clock = ManualClock::new(START);
    let sw = SlidingWindow::with_clock(limit, Duration::from_nanos(window), clock.clone()).unwrap();
    let mut log: Vec<(u64, u32)> = Vec::new();
    let mut now = 0u64;
    for &(dt, n) in steps {
        clock.advance(Duration::from_nanos(dt));
        now += dt;
        let expected = n <= limit && reference_admits(&log, now, window, limit, n);
        let got = sw.check_n(n);
        prop_assert_eq!(got.is_ok(), expected, "now {} n {}", now, n);
        if let Err(e) = got {
            if let Some(wait) = e.retry_after() {
                // The wait is exact: admitted then, not a nanosecond before.
                let wait = u64::try_from(wait.as_nanos()).unwrap();
                prop_assert!(wait >= 1);
                prop_assert!(
                    wait == 1 || !reference_admits(&log, now + wait - 1, window, limit, n)
                );
                prop_assert!(reference_admits(&log, now + wait, window, limit, n));
            }
        } else {
            log.push((now, n));
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn sliding_window_matches_brute_force(limit in 1u32..20, window in 1u64..1_000,
                                          steps in proptest::collection::vec((0u64..700, 0u32..6), 1..150)) {
        sliding_window_agrees(limit, window, &steps)?;
    }

    #[test]
    fn sliding_window_matches_brute_force_long_windows(
        limit in 1u32..1_000_000, window in 1u64..1_000_000_000_000_000,
        steps in proptest::collection::vec((0u64..2_000_000_000_000_000, 0u32..400_000), 1..60)
    ) {
        sliding_window_agrees(limit, window, &steps)?;
    }
}

#[test]
fn sliding_window_clamps_backwards_time() {
    let clock = ManualClock::new(START);
    let sw = SlidingWindow::with_clock(5, Duration::from_secs(1), clock.clone()).unwrap();
    sw.check_n(5).unwrap();
    clock.set(START - Duration::from_secs(100));
    assert!(sw.check().is_err());
    assert!(sw.peek().is_err());
    clock.set(START + Duration::from_secs(2));
    assert_eq!(sw.check_n(5), Ok(()));
    assert_eq!(sw.limit(), 5);
    assert_eq!(sw.window(), Duration::from_secs(1));
}

/// With the real clock and 4 threads hammering one limiter, admissions never exceed
/// `burst + elapsed / interval + 1` (the +1 for the token that completes at the boundary).
#[test]
fn threaded_stress_never_exceeds_the_quota() {
    let quota = Quota::per_second(100_000).unwrap().burst(50).unwrap();
    // Started before the limiter reads its start time, so `elapsed` covers the limiter's life.
    let began = Instant::now();
    let limiter = Arc::new(RateLimiter::with_clock(quota, SystemClock));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let l = Arc::clone(&limiter);
            std::thread::spawn(move || {
                let mut admitted = 0u64;
                for i in 0..200_000u32 {
                    let ok = if i % 3 == 0 {
                        l.check_n(2).is_ok().then_some(2)
                    } else {
                        l.check().is_ok().then_some(1)
                    };
                    admitted += ok.unwrap_or(0);
                }
                admitted
            })
        })
        .collect();
    let admitted: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let elapsed = began.elapsed();
    let bound = 50 + u64::try_from(elapsed.as_nanos() / quota.interval().as_nanos()).unwrap() + 1;
    assert!(admitted <= bound, "{admitted} admitted, bound {bound}");
    assert!(admitted > 50, "some admissions happen: {admitted}");
}
