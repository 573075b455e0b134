//! With the `tracing` feature: an event when the budget or the deadline refuses a retry, and one
//! per hedge sent or refused.
#![cfg(all(feature = "tracing", not(sinew_loom)))]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sinew_retry::{
    Backoff, Deadline, Hedge, ManualClock, RetryBudget, RetryPolicy, retry_blocking_with,
};
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
