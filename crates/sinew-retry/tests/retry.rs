//! The retry helpers under a ManualClock (blocking) and tokio's paused time (async): deadlines
//! never exceeded, every `RetryError` variant reached, hints honoured, budgets respected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use proptest::prelude::*;
use sinew_retry::{
    Backoff, Clock, Deadline, Decision, Jitter, ManualClock, RetryBudget, RetryError, RetryPolicy,
    retry_blocking_with,
};

const T0: Duration = Duration::from_secs(1_000);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn constant(delay_ms: u64, retries: u32) -> Backoff {
    Backoff::constant(ms(delay_ms))
        .max_retries(retries)
        .build()
        .unwrap()
}

#[derive(Debug, PartialEq)]
enum E {
    Transient,
    Permanent,
    Slow(Duration),
}

impl std::fmt::Display for E {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for E {}

fn classify(e: &E) -> Decision {
    match e {
        E::Transient => Decision::Retry,
        E::Permanent => Decision::Stop,
        E::Slow(d) => Decision::RetryAfter(*d),
    }
}

#[test]
fn stopped_on_a_permanent_error() {
    let clock = ManualClock::new(T0);
    let policy = RetryPolicy::new(constant(10, 5))
        .classify(classify)
        .clock(clock.clone());
    let mut seen = Vec::new();
    let err = retry_blocking_with(
        &policy,
        None,
        |d| clock.advance(d),
        |a| {
            seen.push(a.number);
            Err::<(), _>(if a.number < 3 {
                E::Transient
            } else {
                E::Permanent
            })
        },
    )
    .unwrap_err();
    assert!(matches!(
        err,
        RetryError::Stopped {
            error: E::Permanent,
            attempts: 3
        }
    ));
    assert_eq!(seen, [1, 2, 3]);
    assert_eq!(clock.now(), T0 + ms(20));
    assert_eq!(err.attempts(), 3);
    // Error: source is the inner error; Display names why and how many attempts.
    let source = std::error::Error::source(&err).unwrap();
    assert_eq!(source.to_string(), "Permanent");
    assert!(err.to_string().contains("3 attempt"));
    assert_eq!(err.into_inner(), Some(E::Permanent));
}

#[test]
fn exhausted_after_max_retries() {
    let clock = ManualClock::new(T0);
    let policy = RetryPolicy::new(constant(10, 4)).clock(clock.clone());
    let mut calls = 0;
    let err = retry_blocking_with(
        &policy,
        None,
        |d| clock.advance(d),
        |_| {
            calls += 1;
            Err::<(), _>(E::Transient)
        },
    )
    .unwrap_err();
    assert!(matches!(
        err,
        RetryError::Exhausted {
            error: E::Transient,
            attempts: 5
        }
    ));
    assert_eq!(calls, 5);
    assert_eq!(clock.now(), T0 + ms(40));
}

#[test]
fn exhausted_by_max_elapsed() {
    let clock = ManualClock::new(T0);
    let backoff = Backoff::constant(ms(100))
        .max_retries(100)
        .max_elapsed(ms(350))
        .build()
        .unwrap();
    let policy = RetryPolicy::new(backoff).clock(clock.clone());
    let err =
        retry_blocking_with(&policy, None, |d| clock.advance(d), |_| Err::<(), _>(1)).unwrap_err();
    // Waits end at 100, 200, 300; the next would end at 400 > 350.
    assert!(matches!(err, RetryError::Exhausted { attempts: 4, .. }));
    assert_eq!(clock.now(), T0 + ms(300));
}

#[test]
fn budget_refuses_and_counts() {
    let clock = ManualClock::new(T0);
    let budget = RetryBudget::builder()
        .ratio(0.5)
        .min_per_second(0)
        .clock(clock.clone())
        .build()
        .unwrap();
    let policy = RetryPolicy::new(constant(0, 10)).budget(budget.clone());
    // One call deposits half a retry: no retry at all.
    let err =
        retry_blocking_with(&policy, None, |d| clock.advance(d), |_| Err::<(), _>(1)).unwrap_err();
    assert!(matches!(
        err,
        RetryError::Budget {
            error: 1,
            attempts: 1
        }
    ));
    // The second call's deposit completes one retry.
    let err =
        retry_blocking_with(&policy, None, |d| clock.advance(d), |_| Err::<(), _>(2)).unwrap_err();
    assert!(matches!(
        err,
        RetryError::Budget {
            error: 2,
            attempts: 2
        }
    ));
    let m = budget.metrics();
    assert_eq!((m.deposits, m.withdrawals, m.refused), (2, 1, 2));
}

#[test]
fn a_hint_past_the_policys_bound_ends_the_retries() {
    let clock = ManualClock::new(T0);
    let policy = RetryPolicy::new(constant(50, 3))
        .classify(classify)
        .clock(clock.clone());
    let mut waits = Vec::new();
    // A server asking for an hour: not waited for (the bound is a minute by default).
    let err = retry_blocking_with(
        &policy,
        None,
        |d| waits.push(d),
        |_| Err::<(), _>(E::Slow(Duration::from_secs(3600))),
    )
    .unwrap_err();
    assert!(
        matches!(err, RetryError::Exhausted { attempts: 1, .. }),
        "{err:?}"
    );
    assert!(waits.is_empty());
    // Raised, the same hint is honoured.
    let patient = policy.max_retry_after(Duration::from_secs(7200));
    let done = retry_blocking_with(
        &patient,
        None,
        |d| waits.push(d),
        |a| match a.number {
            1 => Err(E::Slow(Duration::from_secs(3600))),
            _ => Ok(()),
        },
    )
    .unwrap();
    assert_eq!(done.attempts, 2);
    assert_eq!(waits, [Duration::from_secs(3600)]);
}

#[test]
fn retry_after_hint_is_honoured_when_longer() {
    let clock = ManualClock::new(T0);
    let policy = RetryPolicy::new(constant(50, 3))
        .classify(classify)
        .clock(clock.clone());
    let mut waits = Vec::new();
    let done = retry_blocking_with(
        &policy,
        None,
        |d| {
            waits.push(d);
            clock.advance(d);
        },
        |a| match a.number {
            1 => Err(E::Slow(ms(200))), // hint longer than the backoff: the hint
            2 => Err(E::Slow(ms(10))),  // shorter: the backoff
            _ => Ok(a.number),
        },
    )
    .unwrap();
    assert_eq!((done.value, done.attempts), (3, 3));
    assert_eq!(waits, [ms(200), ms(50)]);
}

#[test]
fn deadline_before_the_first_attempt_and_before_a_wait() {
    let clock = ManualClock::new(T0);
    let policy = RetryPolicy::new(constant(100, 10)).clock(clock.clone());
    // Already passed: no attempt at all.
    let past = Deadline::at(T0);
    let err = retry_blocking_with(
        &policy,
        Some(past),
        |d| clock.advance(d),
        |_| Ok::<_, ()>(()),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        RetryError::Deadline {
            error: None,
            attempts: 0
        }
    ));
    // A wait that would end exactly at the deadline is not started either.
    let deadline = Deadline::after(&clock, ms(300));
    let mut timeouts = Vec::new();
    let err = retry_blocking_with(
        &policy,
        Some(deadline),
        |d| clock.advance(d),
        |a| {
            timeouts.push(a.timeout.unwrap());
            Err::<(), _>("x")
        },
    )
    .unwrap_err();
    assert!(matches!(
        err,
        RetryError::Deadline {
            error: Some("x"),
            attempts: 3
        }
    ));
    assert_eq!(timeouts, [ms(300), ms(200), ms(100)]);
    assert!(!deadline.is_expired(&clock));
}

#[test]
fn deadline_passed_during_a_slow_attempt() {
    // The attempt itself overran (a blocking call ignoring its timeout): the next check stops.
    let clock = ManualClock::new(T0);
    let policy = RetryPolicy::new(constant(10, 10)).clock(clock.clone());
    let deadline = Deadline::after(&clock, ms(100));
    let err = retry_blocking_with(
        &policy,
        Some(deadline),
        |d| clock.advance(d),
        |_| {
            clock.advance(ms(95));
            Err::<(), _>("slow")
        },
    )
    .unwrap_err();
    assert!(matches!(
        err,
        RetryError::Deadline {
            error: Some("slow"),
            attempts: 1
        }
    ));
}

#[test]
fn custom_delays_and_their_end() {
    let clock = ManualClock::new(T0);
    let policy = RetryPolicy::new(Backoff::default())
        .with_delays(|| [5, 7].into_iter().map(ms))
        .clock(clock.clone());
    let mut waits = Vec::new();
    let err = retry_blocking_with(
        &policy,
        None,
        |d| {
            waits.push(d);
            clock.advance(d);
        },
        |_| Err::<(), _>(()),
    )
    .unwrap_err();
    assert!(matches!(err, RetryError::Exhausted { attempts: 3, .. }));
    assert_eq!(waits, [ms(5), ms(7)]);
}

#[test]
fn delays_are_made_only_for_an_operation_that_fails() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    let made = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&made);
    let clock = ManualClock::new(T0);
    let policy = RetryPolicy::new(Backoff::default())
        .with_delays(move || {
            seen.fetch_add(1, Ordering::Relaxed);
            std::iter::repeat_n(ms(1), 2)
        })
        .clock(clock.clone());
    let sleep = |d| clock.advance(d);
    let ok = retry_blocking_with(&policy, None, sleep, |_| Ok::<_, ()>(1)).unwrap();
    assert_eq!((ok.value, ok.attempts), (1, 1));
    assert_eq!(
        made.load(Ordering::Relaxed),
        0,
        "a first-time success needs no delays"
    );
    let ok = retry_blocking_with(&policy, None, sleep, |a| {
        if a.number < 3 { Err(()) } else { Ok(a.number) }
    })
    .unwrap();
    assert_eq!(ok.attempts, 3);
    assert_eq!(
        made.load(Ordering::Relaxed),
        1,
        "one sequence per operation"
    );
}

#[test]
fn zero_waits_do_not_sleep() {
    let clock = ManualClock::new(T0);
    let policy = RetryPolicy::new(constant(0, 2)).clock(clock.clone());
    let mut sleeps = 0;
    let _ = retry_blocking_with(&policy, None, |_| sleeps += 1, |_| Err::<(), _>(()));
    assert_eq!(sleeps, 0);
}

proptest! {
    /// No sequence of outcomes, hints and slow attempts makes the helper exceed max_retries,
    /// the budget (as a reference model computes it) or the deadline.
    #[test]
    fn never_exceeds_retries_budget_or_deadline(
        runs in proptest::collection::vec(
            (
                proptest::collection::vec((0u8..4, 0u64..300), 1..12),
                proptest::option::of(1u64..2_000),
            ),
            1..12,
        ),
        max_retries in 0u32..6,
        jitter in prop_oneof![Just(Jitter::None), Just(Jitter::Full), Just(Jitter::Decorrelated)],
    ) {
        let clock = ManualClock::new(T0);
        let budget = RetryBudget::builder()
            .ratio(0.5)
            .min_per_second(1)
            .clock(clock.clone())
            .build()
            .unwrap();
        let backoff = Backoff::exponential(ms(20))
            .cap(ms(500))
            .jitter(jitter)
            .max_retries(max_retries)
            .seed(3)
            .build()
            .unwrap();
        let policy = RetryPolicy::new(backoff).classify(classify).budget(budget.clone());
        let mut total_retries = 0u64;
        for (outcomes, deadline_ms) in runs {
            let deadline = deadline_ms.map(|d| Deadline::after(&clock, ms(d)));
            let mut i = 0;
            let result = retry_blocking_with(
                &policy,
                deadline,
                |d| {
                    if let Some(dl) = deadline {
                        // A wait is only started if it ends before the deadline.
                        assert!(clock.now() + d < dl.time());
                    }
                    clock.advance(d);
                },
                |a| {
                    if let Some(dl) = deadline {
                        assert!(!dl.is_expired(&clock), "attempt started at or after the deadline");
                        assert_eq!(a.timeout, dl.remaining(&clock));
                    }
                    let (kind, ms_) = outcomes.get(i).copied().unwrap_or((0, 0));
                    i += 1;
                    clock.advance(ms(ms_ / 4)); // the attempt's own time
                    match kind {
                        0 => Err(E::Transient),
                        1 => Err(E::Slow(ms(ms_))),
                        2 => Err(E::Permanent),
                        _ => Ok(()),
                    }
                },
            );
            let attempts = match &result {
                Ok(r) => r.attempts,
                Err(e) => e.attempts(),
            };
            prop_assert!(attempts <= max_retries + 1);
            total_retries += u64::from(attempts.saturating_sub(1));
        }
        let m = budget.metrics();
        // Every retry was withdrawn, and the budget granted no more than its bound allows.
        prop_assert_eq!(m.withdrawals, total_retries);
        let elapsed_s = (clock.now() - T0).as_secs_f64();
        prop_assert!(total_retries as f64 <= 0.5 * m.deposits as f64 + 1.0 * (elapsed_s.ceil() + 1.0));
    }
}

#[cfg(feature = "tokio")]
mod tokio_tests {
    use super::*;
    use sinew_clock::TokioClock;
    use sinew_retry::retry;

    fn policy(retries: u32, delay_ms: u64) -> RetryPolicy<fn(&E) -> Decision, TokioClock> {
        RetryPolicy::new(constant(delay_ms, retries))
            .classify(classify as fn(&E) -> Decision)
            .clock(TokioClock::new())
    }

    #[tokio::test(start_paused = true)]
    async fn waits_on_tokio_time() {
        let start = tokio::time::Instant::now();
        let p = policy(3, 100);
        let done = retry(&p, None, |a| async move {
            if a.number < 3 {
                Err(E::Transient)
            } else {
                Ok(a.number)
            }
        })
        .await
        .unwrap();
        assert_eq!(done.attempts, 3);
        assert_eq!(start.elapsed(), ms(200));
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_past_the_deadline_is_cut_off() {
        let start = tokio::time::Instant::now();
        let p = policy(5, 10);
        let deadline = Deadline::after(p.clock_ref(), ms(250));
        let err = retry(&p, Some(deadline), |a| async move {
            // Each attempt takes 100 ms, then fails: 0-100, 110-210, then 220 cut off at 250.
            assert!(a.timeout.is_some());
            tokio::time::sleep(ms(100)).await;
            Err::<(), _>(E::Transient)
        })
        .await
        .unwrap_err();
        assert!(matches!(
            err,
            RetryError::Deadline {
                error: None,
                attempts: 3
            }
        ));
        assert_eq!(start.elapsed(), ms(250), "the deadline, not a moment later");
    }

    #[tokio::test(start_paused = true)]
    async fn no_wait_past_the_deadline() {
        let start = tokio::time::Instant::now();
        let p = policy(5, 300);
        let deadline = Deadline::after(p.clock_ref(), ms(250));
        let err = retry(&p, Some(deadline), |_| async { Err::<(), _>(E::Transient) })
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            RetryError::Deadline {
                error: Some(E::Transient),
                attempts: 1
            }
        ));
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "gave up at once instead of waiting"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn hint_and_stop() {
        let start = tokio::time::Instant::now();
        let p = policy(5, 10);
        let err = retry(&p, None, |a| async move {
            Err::<(), _>(if a.number == 1 {
                E::Slow(ms(500))
            } else {
                E::Permanent
            })
        })
        .await
        .unwrap_err();
        assert!(matches!(
            err,
            RetryError::Stopped {
                error: E::Permanent,
                attempts: 2
            }
        ));
        assert_eq!(start.elapsed(), ms(500));
    }

    #[tokio::test(start_paused = true)]
    async fn the_future_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let p = RetryPolicy::new(constant(1, 1)).budget(RetryBudget::new());
        let fut = retry(&p, None, |_| async { Ok::<_, E>(1) });
        assert_send(&fut);
        assert_eq!(fut.await.unwrap().value, 1);
    }
}
