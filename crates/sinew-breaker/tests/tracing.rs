//! With the `tracing` feature: one event per transition, with its states as fields.
#![cfg(feature = "tracing")]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sinew_breaker::{CircuitBreaker, ManualClock, State};
use sinew_testkit::capture_events;

#[test]
fn one_event_per_transition() {
    let seen = capture_events("sinew_breaker", || {
        let clock = ManualClock::new(Duration::from_secs(100));
        let b = CircuitBreaker::builder()
            .consecutive_failures(2)
            .wait_in_open(Duration::from_secs(1))
            .half_open_permits(1)
            .clock(clock.clone())
            .build()
            .unwrap();
        b.try_acquire().unwrap().failure();
        b.try_acquire().unwrap().failure();
        assert!(b.try_acquire().is_err()); // rejections are not events
        clock.advance(Duration::from_secs(1));
        b.try_acquire().unwrap().success();
        assert_eq!(b.state(), State::Closed);
        b.reset(); // closed -> closed: no transition, no event
    });
    let transitions: Vec<(&str, &str)> = seen
        .iter()
        .map(|e| (e.field("from").unwrap(), e.field("to").unwrap()))
        .collect();
    assert_eq!(
        transitions,
        [
            ("closed", "open"),
            ("open", "half-open"),
            ("half-open", "closed")
        ]
    );
}
