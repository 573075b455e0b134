//! Property tests: the limiters against the reference models of `tests/reference/` (a token
//! bucket per key for the GCRA limiters, a brute-force count for the sliding window; the same
//! models the `ratelimit_model` fuzz target uses), exact waits, and the threaded admission
//! bound with the system clock.
#![cfg(not(sinew_loom))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly

mod reference;

use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use reference::{Op, QuotaSpec};
use sinew_ratelimit::{ManualClock, Quota, RateLimiter, SlidingWindow, SystemClock};

const START: Duration = Duration::from_secs(1_700_000_000);

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u64..300_000_000).prop_map(Op::Advance),
        (0u64..300_000_000).prop_map(Op::Rewind),
        (0u8..4).prop_map(Op::Check),
        (0u8..4, 0u32..12).prop_map(|(k, n)| Op::CheckN(k, n)),
        Just(Op::Peek),
        (1u32..50, 1u32..20).prop_map(|(r, b)| Op::SetQuota(QuotaSpec::per_second(r, b))),
    ]
}

proptest! {
    /// Shared, keyed and sliding-window limiters against the models, decision by decision.
    #[test]
    fn limiters_match_the_models(rate in 1u32..50, burst in 1u32..20,
                                 limit in 1u32..20, window in 1u64..1_000_000_000,
                                 ops in proptest::collection::vec(op(), 1..200)) {
        reference::run(QuotaSpec::per_second(rate, burst), (limit, window), &ops);
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

/// Once found by the proptest: zero tokens always fit, even when a smaller quota has left the
/// bucket in debt.
#[test]
fn zero_tokens_fit_after_a_quota_change() {
    let ops = [
        Op::Check(0),
        Op::SetQuota(QuotaSpec::per_second(2, 1)),
        Op::CheckN(0, 0),
    ];
    reference::run(QuotaSpec::per_second(1, 1), (1, 1), &ops);
}

/// Forward steps `(dt, n)` as model operations: the clock moves, then `n` tokens are asked for.
fn steps(steps: &[(u64, u32)]) -> Vec<Op> {
    steps
        .iter()
        .flat_map(|&(dt, n)| [Op::Advance(dt), Op::CheckN(0, n)])
        .collect()
}

proptest! {
    #[test]
    fn sliding_window_matches_brute_force(limit in 1u32..20, window in 1u64..1_000,
                                          s in proptest::collection::vec((0u64..700, 0u32..6), 1..150)) {
        reference::run(QuotaSpec::per_second(10, 5), (limit, window), &steps(&s));
    }

    #[test]
    fn sliding_window_matches_brute_force_long_windows(
        limit in 1u32..1_000_000, window in 1u64..1_000_000_000_000_000,
        s in proptest::collection::vec((0u64..2_000_000_000_000_000, 0u32..400_000), 1..60)
    ) {
        reference::run(QuotaSpec::per_second(10, 5), (limit, window), &steps(&s));
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
