//! With the `tracing` feature: an event when the budget or the deadline refuses a retry.
#![cfg(feature = "tracing")]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sinew_retry::{Backoff, Deadline, ManualClock, RetryBudget, RetryPolicy, retry_blocking_with};
use sinew_testkit::capture_events;

#[test]
fn refusals_are_events() {
    let seen = capture_events("sinew_retry", || {
        let clock = ManualClock::new(Duration::from_secs(100));
        let budget = RetryBudget::builder()
            .ratio(0.0)
            .min_per_second(1)
            .clock(clock.clone())
            .build()
            .unwrap();
        let backoff = Backoff::constant(Duration::from_millis(100))
            .build()
            .unwrap();
        let policy = RetryPolicy::new(backoff).budget(budget);
        let sleep = |d| clock.advance(d);
        // One retry from the floor, then the budget refuses.
        let _ = retry_blocking_with(&policy, None, sleep, |_| Err::<(), _>(()));
        // The next wait would pass the deadline.
        let deadline = Deadline::after(&clock, Duration::from_millis(50));
        let _ = retry_blocking_with(&policy, Some(deadline), sleep, |_| Err::<(), _>(()));
        // A success is no event.
        let _ = retry_blocking_with(&policy, None, sleep, |_| Ok::<_, ()>(()));
    });
    let reasons: Vec<_> = seen
        .iter()
        .map(|e| (e.field("reason").unwrap(), e.field("attempts").unwrap()))
        .collect();
    assert_eq!(reasons, [("budget", "2"), ("deadline", "1")]);
    assert!(seen[0].message.as_deref().unwrap().contains("budget"));
}
