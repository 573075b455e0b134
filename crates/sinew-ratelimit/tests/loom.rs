//! loom models of the limiters' shared state: the GCRA compare-exchange, `check_n` against
//! `check`, `set_quota` while checks run (the two-slot quota cell), and the keyed limiter's
//! key count.
//!
//! Run with:
//! `RUSTFLAGS="--cfg sinew_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p sinew-ratelimit --test loom`
#![cfg(sinew_loom)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly

use std::time::Duration;

use loom::sync::Arc;
use loom::thread;
use sinew_ratelimit::{KeyedRateLimiter, ManualClock, Quota, RateLimiter};

fn limiter(burst: u32) -> Arc<RateLimiter<ManualClock>> {
    let clock = ManualClock::new(Duration::from_secs(1_000));
    let quota = Quota::per_second(10).unwrap().burst(burst).unwrap();
    Arc::new(RateLimiter::with_clock(quota, clock))
}

/// Two threads race for the last token: exactly one wins.
#[test]
fn last_token_goes_to_exactly_one() {
    loom::model(|| {
        let l = limiter(2);
        l.check().unwrap();
        let other = Arc::clone(&l);
        let t = thread::spawn(move || other.check().is_ok());
        let here = l.check().is_ok();
        let there = t.join().unwrap();
        assert!(
            here ^ there,
            "exactly one of the racers gets the last token"
        );
        assert!(l.check().is_err());
    });
}

/// `check_n(2)` races two `check`s for a bucket of 3: tokens taken plus tokens left is always
/// 3 (no token twice, none lost), and `check_n` takes both tokens or neither.
#[test]
fn check_n_against_check() {
    loom::model(|| {
        let l = limiter(3);
        let other = Arc::clone(&l);
        let t = thread::spawn(move || u32::from(other.check_n(2).is_ok()) * 2);
        let mut singles = 0;
        for _ in 0..2 {
            singles += u32::from(l.check().is_ok());
        }
        let pair = t.join().unwrap();
        assert_eq!(pair + singles + l.remaining(), 3);
        // All or nothing: the pair fails only when both singles went first and left one token.
        if pair == 0 {
            assert_eq!((singles, l.remaining()), (2, 1));
        } else {
            assert_eq!((singles, l.remaining()), (1, 0));
        }
    });
}

/// `set_quota` while another thread checks: every quota read is one that was set (never a
/// mix of two), and a check decides under the old or the new quota.
#[test]
fn set_quota_during_checks() {
    loom::model(|| {
        let a = Quota::per_second(10).unwrap().burst(1).unwrap();
        let b = Quota::per_second(1).unwrap().burst(3).unwrap();
        let l = Arc::new(RateLimiter::with_clock(
            a,
            ManualClock::new(Duration::from_secs(1_000)),
        ));
        let writer = {
            let l = Arc::clone(&l);
            thread::spawn(move || l.set_quota(b))
        };
        let seen = l.quota();
        assert!(seen == a || seen == b, "torn quota {seen:?}");
        let first = l.check().is_ok();
        assert!(first, "a full bucket admits one under either quota");
        writer.join().unwrap();
        assert_eq!(l.quota(), b);
        // Under b (3 tokens, 1 s each) two more fit after the first.
        assert!(l.check().is_ok() && l.check().is_ok() && l.check().is_err());
    });
}

/// Two writers and a reader of the quota cell: the reader sees one of the three quotas, and
/// the last write wins.
#[test]
fn two_writers_never_tear_the_quota() {
    loom::model(|| {
        let q0 = Quota::per_second(10).unwrap().burst(1).unwrap();
        let q1 = Quota::per_second(20).unwrap().burst(2).unwrap();
        let q2 = Quota::per_second(30).unwrap().burst(3).unwrap();
        let l = Arc::new(RateLimiter::with_clock(
            q0,
            ManualClock::new(Duration::from_secs(1_000)),
        ));
        let w1 = {
            let l = Arc::clone(&l);
            thread::spawn(move || l.set_quota(q1))
        };
        let w2 = {
            let l = Arc::clone(&l);
            thread::spawn(move || l.set_quota(q2))
        };
        let seen = l.quota();
        assert!(
            seen == q0 || seen == q1 || seen == q2,
            "torn quota {seen:?}"
        );
        w1.join().unwrap();
        w2.join().unwrap();
        let last = l.quota();
        assert!(last == q1 || last == q2);
    });
}

/// Two new keys race for a keyed limiter's single key slot: one is tracked, the other is
/// refused for capacity, and the count never exceeds the cap.
#[test]
fn keyed_cap_holds_under_races() {
    loom::model(|| {
        let quota = Quota::per_second(10).unwrap().burst(1).unwrap();
        let l = Arc::new(KeyedRateLimiter::with_clock(
            quota,
            1,
            ManualClock::new(Duration::from_secs(1_000)),
        ));
        let other = Arc::clone(&l);
        let t = thread::spawn(move || other.check_key(&1u8));
        let here = l.check_key(&2u8);
        let there = t.join().unwrap();
        assert!(here.is_ok() ^ there.is_ok());
        let refused = here.err().or(there.err()).unwrap();
        assert!(refused.is_key_capacity());
        assert_eq!(l.len(), 1);
    });
}
