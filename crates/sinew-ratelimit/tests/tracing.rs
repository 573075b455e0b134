//! With the `tracing` feature: events on state changes only (keys evicted, the limiter starting
//! to refuse new keys, a quota replaced), never one per ordinary admission or denial.
#![cfg(all(feature = "tracing", not(sinew_loom)))]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sinew_ratelimit::{KeyedRateLimiter, ManualClock, Quota, RateLimiter, SlidingWindow};
use sinew_testkit::{SeenEvent, capture_events};
use tracing::Level;

/// The level and fields an event must have (its message is not compared).
fn expected(level: Level, fields: &[(&str, &str)]) -> (Level, Vec<(String, String)>) {
    let fields = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    (level, fields)
}

/// Runs `f` under a collector of the crate's events; returns each one's level and fields.
fn events(f: impl FnOnce()) -> Vec<(Level, Vec<(String, String)>)> {
    capture_events("sinew_ratelimit", f)
        .into_iter()
        .map(|SeenEvent { level, fields, .. }| (level, fields))
        .collect()
}

#[test]
fn keyed_events_on_eviction_and_on_starting_to_refuse_keys() {
    let got = events(|| {
        let clock = ManualClock::new(Duration::from_secs(100));
        let q = Quota::per_second(1).unwrap().burst(1).unwrap();
        let l = KeyedRateLimiter::with_clock(q, 2, clock.clone());
        l.check_key("a").unwrap();
        l.check_key("b").unwrap();
        assert!(l.check_key("a").is_err()); // ordinary denial: no event
        assert!(l.check_key("c").unwrap_err().is_key_capacity()); // starts refusing: WARN
        assert!(l.check_key("d").unwrap_err().is_key_capacity()); // still refusing: no event
        clock.advance(Duration::from_secs(1));
        l.check_key("c").unwrap(); // sweeps "a" and "b" out: DEBUG, 2 evicted
        l.check_key("d").unwrap();
        assert!(l.check_key("e").unwrap_err().is_key_capacity()); // refusing again: WARN
        clock.advance(Duration::from_secs(1));
        assert_eq!(l.evict_refilled(), 2); // one event for the whole pass
        assert_eq!(l.evict_refilled(), 0); // nothing evicted: no event
    });
    let full = expected(
        Level::WARN,
        &[("max_keys", "2"), ("retry_after_ns", "1000000000")],
    );
    assert_eq!(
        got,
        vec![
            full.clone(),
            expected(Level::DEBUG, &[("evicted", "2"), ("keys", "0")]),
            full,
            expected(Level::DEBUG, &[("evicted", "2"), ("keys", "0")]),
        ]
    );
}

#[test]
fn quota_changes_are_events_checks_are_not() {
    let got = events(|| {
        let clock = ManualClock::new(Duration::from_secs(100));
        let l = RateLimiter::with_clock(Quota::per_second(1).unwrap(), clock.clone());
        l.check().unwrap();
        assert!(l.check().is_err());
        l.set_quota(Quota::per_second(10).unwrap().burst(5).unwrap());
        let keyed = KeyedRateLimiter::with_clock(Quota::per_second(1).unwrap(), 10, clock.clone());
        keyed.check_key(&1u8).unwrap();
        assert!(keyed.check_key(&1u8).is_err());
        keyed.set_quota(Quota::per_second(2).unwrap());
        let window = SlidingWindow::with_clock(1, Duration::from_secs(1), clock).unwrap();
        window.check().unwrap();
        assert!(window.check().is_err());
    });
    assert_eq!(
        got,
        vec![
            expected(
                Level::INFO,
                &[
                    ("limiter", "RateLimiter"),
                    ("interval_ns", "100000000"),
                    ("burst", "5")
                ]
            ),
            expected(
                Level::INFO,
                &[
                    ("limiter", "KeyedRateLimiter"),
                    ("interval_ns", "500000000"),
                    ("burst", "2")
                ]
            ),
        ]
    );
}
