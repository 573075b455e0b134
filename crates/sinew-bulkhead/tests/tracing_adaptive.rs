//! With the `tracing` feature: one event per change of an adaptive limit, none otherwise.
#![cfg(feature = "tracing")]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sinew_bulkhead::{AdaptiveLimit, Aimd, ManualClock};
use sinew_testkit::capture_events;

#[test]
fn one_event_per_limit_change() {
    let seen = capture_events("sinew_bulkhead", || {
        let limit = AdaptiveLimit::builder(Aimd::new())
            .initial_limit(2)
            .window_samples(1)
            .clock(ManualClock::new(Duration::from_secs(1)))
            .build()
            .unwrap();
        let a = limit.try_acquire().unwrap();
        let b = limit.try_acquire().unwrap();
        a.success_rtt(Duration::from_millis(1)); // admitted 1st: 1 * 2 >= 2, so 2 -> 3
        b.dropped(); // min(3 - 1, floor(3 * 0.9)): 3 -> 2
        // Alone in flight: 1 * 2 >= 2, so 2 -> 3.
        limit
            .try_acquire()
            .unwrap()
            .success_rtt(Duration::from_millis(1));
        // 1 * 2 < 3, application-limited: held, no event.
        limit
            .try_acquire()
            .unwrap()
            .success_rtt(Duration::from_millis(1));
        assert_eq!(limit.metrics().limit_changes, 3);
    });
    let changes: Vec<(&str, &str, &str)> = seen
        .iter()
        .map(|e| {
            (
                e.field("algorithm").unwrap(),
                e.field("from").unwrap(),
                e.field("to").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [("aimd", "2", "3"), ("aimd", "3", "2"), ("aimd", "2", "3")]
    );
}
