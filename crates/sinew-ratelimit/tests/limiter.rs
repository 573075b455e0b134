//! Behaviour of `RateLimiter` with a hand-driven clock: the scenarios, exact waits,
//! all-or-nothing `check_n`, clock rollback, extreme quotas and run-time quota changes.
#![cfg(not(sinew_loom))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly

use std::time::Duration;

use sinew_ratelimit::{CheckNError, ManualClock, Quota, RateLimiter};

const START: Duration = Duration::from_secs(1_700_000_000);

fn limiter(quota: Quota) -> (RateLimiter<ManualClock>, ManualClock) {
    let clock = ManualClock::new(START);
    (RateLimiter::with_clock(quota, clock.clone()), clock)
}

fn ten_per_second_burst_five() -> Quota {
    Quota::per_second(10).unwrap().burst(5).unwrap()
}

#[test]
fn burst_then_one_per_interval() {
    let (l, clock) = limiter(ten_per_second_burst_five());
    for i in 0..5 {
        assert_eq!(l.check(), Ok(()), "burst admission {i}");
    }
    let denied = l.check().unwrap_err();
    assert_eq!(denied.retry_after(), Duration::from_millis(100));
    assert!(!denied.is_key_capacity());
    clock.advance(Duration::from_millis(99));
    assert_eq!(
        l.check().unwrap_err().retry_after(),
        Duration::from_millis(1)
    );
    clock.advance(Duration::from_millis(1));
    assert_eq!(l.check(), Ok(()));
    assert!(l.check().is_err());
}

#[test]
fn polling_every_millisecond_for_ten_seconds_admits_exactly_one_hundred() {
    let (l, clock) = limiter(ten_per_second_burst_five());
    let burst = (0..100).filter(|_| l.check().is_ok()).count();
    assert_eq!(burst, 5);
    let mut admitted = 0;
    for _ in 0..10_000 {
        clock.advance(Duration::from_millis(1));
        if l.check().is_ok() {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 100);
}

#[test]
fn retry_after_is_exact_for_every_n() {
    for n in 1..=5u32 {
        let (l, clock) = limiter(ten_per_second_burst_five());
        l.check_n(5).unwrap();
        let wait = l.check_n(n).unwrap_err().retry_after().unwrap();
        assert_eq!(wait, Duration::from_millis(100) * n);
        clock.advance(wait - Duration::from_nanos(1));
        assert!(l.check_n(n).is_err(), "one nanosecond early is still early");
        clock.advance(Duration::from_nanos(1));
        assert_eq!(l.check_n(n), Ok(()));
    }
}

#[test]
fn check_n_is_all_or_nothing() {
    let (l, clock) = limiter(ten_per_second_burst_five());
    l.check_n(3).unwrap();
    assert_eq!(l.remaining(), 2);
    // 3 do not fit; none of the 2 left are taken.
    assert!(matches!(l.check_n(3), Err(CheckNError::Denied(_))));
    assert_eq!(l.remaining(), 2);
    assert_eq!(l.check_n(2), Ok(()));
    assert_eq!(l.remaining(), 0);
    // More than the bucket: a distinct, permanent error.
    assert_eq!(
        l.check_n(6),
        Err(CheckNError::InsufficientCapacity {
            requested: 6,
            capacity: 5
        })
    );
    assert_eq!(l.check_n(6).unwrap_err().retry_after(), None);
    assert_eq!(l.check_n(0), Ok(()), "zero tokens always fit");
    clock.advance(Duration::from_millis(500));
    assert_eq!(
        l.check_n(5),
        Ok(()),
        "the whole bucket at once after a refill"
    );
}

#[test]
fn peek_consumes_nothing() {
    let (l, clock) = limiter(ten_per_second_burst_five());
    for _ in 0..10 {
        assert_eq!(l.peek(), Ok(()));
        assert_eq!(l.peek_n(5), Ok(()));
    }
    l.check_n(5).unwrap();
    assert_eq!(
        l.peek().unwrap_err().retry_after(),
        Duration::from_millis(100)
    );
    assert!(matches!(
        l.peek_n(6),
        Err(CheckNError::InsufficientCapacity { .. })
    ));
    clock.advance(Duration::from_millis(100));
    assert_eq!(l.peek(), Ok(()));
    assert_eq!(l.check(), Ok(()));
}

#[test]
fn clock_moving_backwards_admits_nothing_extra() {
    let (l, clock) = limiter(ten_per_second_burst_five());
    clock.advance(Duration::from_secs(10));
    l.check_n(5).unwrap();
    // Back by an hour, and further back than the limiter's start.
    clock.set(START + Duration::from_secs(10) - Duration::from_secs(3600));
    assert!(l.check().is_err());
    clock.set(Duration::ZERO);
    assert!(l.check().is_err());
    assert_eq!(l.remaining(), 0);
    // Back to where it was: still empty, then refills at the normal rate.
    clock.set(START + Duration::from_secs(10));
    assert!(l.check().is_err());
    clock.advance(Duration::from_millis(100));
    assert_eq!(l.check(), Ok(()));
    assert!(l.check().is_err());
}

#[test]
fn extreme_quotas_never_overflow() {
    let day = Duration::from_secs(86_400);
    let quotas = [
        Quota::with_period(day).unwrap(),
        Quota::with_period(day).unwrap().burst(u32::MAX).unwrap(),
        Quota::per_second(u32::MAX).unwrap(),
        Quota::per_second(u32::MAX).unwrap().burst(1).unwrap(),
        Quota::per_second(1).unwrap().burst(u32::MAX).unwrap(),
        Quota::with_period(Duration::MAX).unwrap(),
        Quota::with_period(Duration::MAX)
            .unwrap()
            .burst(u32::MAX)
            .unwrap(),
    ];
    for q in quotas {
        let (l, clock) = limiter(q);
        let cap = q.effective_burst();
        assert!(cap >= 1);
        // Take the whole bucket in one go, then one more is denied.
        assert_eq!(l.check_n(cap), Ok(()), "{q:?}");
        let wait = l.check().unwrap_err().retry_after();
        assert_eq!(wait, q.interval(), "{q:?}");
        assert!(matches!(
            l.check_n(u32::MAX),
            Err(CheckNError::Denied(_) | CheckNError::InsufficientCapacity { .. })
        ));
        // Far future and far past clock readings.
        clock.set(Duration::MAX);
        assert_eq!(l.check(), Ok(()), "{q:?}");
        clock.set(Duration::ZERO);
        assert!(l.check().is_err(), "{q:?}");
    }
}

#[test]
fn one_per_day_burst_max_denies_after_taking_everything() {
    let q = Quota::with_period(Duration::from_secs(86_400))
        .unwrap()
        .burst(u32::MAX)
        .unwrap();
    let (l, clock) = limiter(q);
    let cap = q.effective_burst();
    assert_eq!(
        l.check_n(cap.saturating_add(1)),
        Err(CheckNError::InsufficientCapacity {
            requested: cap + 1,
            capacity: cap
        })
    );
    l.check_n(cap).unwrap();
    assert!(l.check().is_err());
    clock.advance(Duration::from_secs(86_399));
    assert!(l.check().is_err());
    clock.advance(Duration::from_secs(1));
    assert_eq!(l.check(), Ok(()));
}

#[test]
fn fast_quota_refills_by_the_nanosecond() {
    let (l, clock) = limiter(Quota::per_second(u32::MAX).unwrap().burst(3).unwrap());
    l.check_n(3).unwrap();
    assert_eq!(
        l.check().unwrap_err().retry_after(),
        Duration::from_nanos(1)
    );
    clock.advance(Duration::from_nanos(2));
    assert_eq!(l.check_n(2), Ok(()));
}

#[test]
fn set_quota_at_run_time() {
    let (l, clock) = limiter(ten_per_second_burst_five());
    l.check_n(5).unwrap();
    // A bigger bucket: the extra tokens are there at once.
    let bigger = Quota::per_second(10).unwrap().burst(8).unwrap();
    l.set_quota(bigger);
    assert_eq!(l.quota(), bigger);
    assert_eq!(l.check_n(3), Ok(()));
    assert!(l.check().is_err());
    // A faster rate: tokens come back every 10 ms.
    l.set_quota(Quota::per_second(100).unwrap().burst(80).unwrap());
    // The backlog in time (800 ms) is kept; with depth 800 ms nothing is free yet.
    assert_eq!(
        l.check().unwrap_err().retry_after(),
        Duration::from_millis(10)
    );
    clock.advance(Duration::from_millis(10));
    assert_eq!(l.check(), Ok(()));
    // A smaller bucket than the backlog: denied until it drains.
    l.set_quota(Quota::per_second(1).unwrap().burst(1).unwrap());
    assert_eq!(l.check_n(0), Ok(()), "zero tokens fit even in debt");
    assert_eq!(l.peek_n(0), Ok(()));
    let wait = l.check().unwrap_err().retry_after();
    assert!(wait >= Duration::from_millis(1), "{wait:?}");
    clock.advance(wait);
    assert_eq!(l.check(), Ok(()));
    assert!(l.check().is_err());
}

#[test]
fn reset_refills() {
    let (l, _clock) = limiter(ten_per_second_burst_five());
    l.check_n(5).unwrap();
    l.reset();
    assert_eq!(l.remaining(), 5);
}

#[test]
fn errors_display() {
    let (l, _clock) = limiter(ten_per_second_burst_five());
    l.check_n(5).unwrap();
    let denied = l.check().unwrap_err();
    assert!(denied.to_string().contains("100ms"), "{denied}");
    let e = l.check_n(9).unwrap_err();
    assert!(e.to_string().contains('9'), "{e}");
    assert!(std::error::Error::source(&l.check_n(1).unwrap_err()).is_some());
}

#[test]
fn send_sync_and_default_clock() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RateLimiter>();
    assert_send_sync::<sinew_ratelimit::KeyedRateLimiter<String>>();
    assert_send_sync::<sinew_ratelimit::SlidingWindow>();
    let l = RateLimiter::new(Quota::per_second(1).unwrap());
    assert_eq!(l.check(), Ok(()));
    assert!(l.check().is_err());
}

/// Found by the fuzz target: after `set_quota` shrank the bucket below the backlog, `check_n(0)`
/// was denied. Zero tokens always fit, as documented.
#[test]
fn zero_tokens_fit_even_in_debt() {
    let (l, _clock) = limiter(ten_per_second_burst_five());
    l.check_n(5).unwrap();
    l.set_quota(Quota::per_second(10).unwrap().burst(1).unwrap());
    // 500 ms of backlog in a 100 ms bucket: one token waits 500 ms.
    assert_eq!(
        l.check().unwrap_err().retry_after(),
        Duration::from_millis(500)
    );
    assert_eq!(l.check_n(0), Ok(()));
    assert_eq!(l.peek_n(0), Ok(()));
}
