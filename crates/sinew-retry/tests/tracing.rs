//! With the `tracing` feature: one event per hedge sent or refused, naming which.
#![cfg(all(feature = "tracing", not(sinew_loom)))]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sinew_retry::{Hedge, ManualClock};
use sinew_testkit::capture_events;

#[test]
fn hedges_sent_and_refused_are_events() {
    let seen = capture_events("sinew_retry", || {
        let h = Hedge::builder()
            .max_extra_load(0.5)
            .clock(ManualClock::new(Duration::from_secs(100)))
            .build()
            .unwrap();
        h.start();
        h.start();
        h.record(Duration::from_millis(1)); // not an event
        assert!(h.try_hedge());
        assert!(!h.try_hedge());
    });
    let events: Vec<&str> = seen.iter().map(|e| e.field("event").unwrap()).collect();
    assert_eq!(events, ["hedge_sent", "hedge_refused"]);
}
