//! With the `tracing` feature: an event when a bulkhead's limit changes, and when a queued
//! call is turned away.
#![cfg(all(feature = "tracing", feature = "tokio"))]
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::time::Duration;

use sinew_bulkhead::{Bulkhead, Rejected};
use sinew_testkit::capture_events;

#[test]
fn an_event_per_limit_change() {
    let seen = capture_events("sinew_bulkhead", || {
        let b = Bulkhead::new(4);
        let _p = b.try_acquire().unwrap();
        b.set_max_concurrent(2);
        b.set_max_concurrent(2); // no change, no event
        assert!(b.try_acquire().is_ok()); // admissions and fast rejections are not events
    });
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].field("old"), Some("4"));
    assert_eq!(seen[0].field("new"), Some("2"));
    assert_eq!(seen[0].field("in_flight"), Some("1"));
}

#[test]
fn queued_rejections_are_events() {
    let seen = capture_events("sinew_bulkhead", || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let b = Bulkhead::builder()
                .max_concurrent(1)
                .queue(1)
                .max_wait(Duration::from_millis(5))
                .build()
                .unwrap();
            let _held = b.try_acquire().unwrap();
            assert_eq!(b.acquire().await.unwrap_err(), Rejected::Timeout);
        });
    });
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].field("reason"), Some("timeout"));
}
