//! Behaviour of the breaker, driven by a `ManualClock`: the scenarios of the issue and their
//! edge cases.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sinew_breaker::{
    Builder, CallError, CircuitBreaker, ConfigError, ManualClock, State, Transition,
};

const START: Duration = Duration::from_secs(1_700_000_000);

type Events = Arc<Mutex<Vec<(State, State)>>>;

fn clock() -> ManualClock {
    ManualClock::new(START)
}

/// The issue's configuration: threshold 0.5, minimum 10 calls, window of 20, 30 s open,
/// 3 half-open trials.
fn issue_builder(clock: &ManualClock) -> (Builder<ManualClock>, Events) {
    let events: Events = Arc::default();
    let sink = Arc::clone(&events);
    let b = CircuitBreaker::builder()
        .failure_rate_threshold(0.5)
        .minimum_calls(10)
        .count_window(20)
        .wait_in_open(Duration::from_secs(30))
        .half_open_permits(3)
        .on_transition(move |t: &Transition| sink.lock().unwrap().push((t.from, t.to)))
        .clock(clock.clone());
    (b, events)
}

fn fail_n(b: &CircuitBreaker<ManualClock>, n: usize) {
    for _ in 0..n {
        b.try_acquire().unwrap().failure();
    }
}

fn open_breaker(clock: &ManualClock) -> (CircuitBreaker<ManualClock>, Events) {
    let (b, events) = issue_builder(clock);
    let b = b.build().unwrap();
    fail_n(&b, 10);
    assert_eq!(b.state(), State::Open);
    (b, events)
}

#[test]
fn nine_failures_stay_closed_the_tenth_opens() {
    let clock = clock();
    let (b, events) = issue_builder(&clock);
    let b = b.build().unwrap();
    fail_n(&b, 9);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics().failures, 9);
    fail_n(&b, 1);
    assert_eq!(b.state(), State::Open);
    assert_eq!(*events.lock().unwrap(), vec![(State::Closed, State::Open)]);
}

#[test]
fn below_threshold_stays_closed_and_the_window_slides() {
    let clock = clock();
    let (b, _) = issue_builder(&clock);
    let b = b.build().unwrap();
    // 11 successes then 9 failures: at most 9 of 20 (0.45) at every step.
    for i in 0..20 {
        let p = b.try_acquire().unwrap();
        if i < 11 { p.success() } else { p.failure() }
    }
    assert_eq!(b.state(), State::Closed);
    let m = b.metrics();
    assert_eq!((m.calls, m.failures), (20, 9));
    // Successes push failures out of the 20-call window.
    for _ in 0..20 {
        b.try_acquire().unwrap().success();
    }
    let m = b.metrics();
    assert_eq!((m.calls, m.failures, m.failure_rate), (20, 0, 0.0));
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn a_success_can_complete_the_minimum_and_trip() {
    let clock = clock();
    let (b, _) = issue_builder(&clock);
    let b = b.build().unwrap();
    fail_n(&b, 9);
    // The 10th call succeeds, but 9 of 10 failed.
    b.try_acquire().unwrap().success();
    assert_eq!(b.state(), State::Open);
}

#[test]
fn open_rejects_until_the_wait_has_passed() {
    let clock = clock();
    let (b, _) = open_breaker(&clock);
    let r = b.try_acquire().unwrap_err();
    assert_eq!(r.state(), State::Open);
    assert_eq!(r.retry_after(), Some(Duration::from_secs(30)));
    assert!(r.to_string().contains("open"), "{r}");
    clock.advance(Duration::from_secs(30) - Duration::from_nanos(1));
    let r = b.try_acquire().unwrap_err();
    assert_eq!(r.retry_after(), Some(Duration::from_nanos(1)));
    assert_eq!(r.state(), State::Open);
    assert_eq!(b.state(), State::Open, "state() does not move by itself");
    clock.advance(Duration::from_nanos(1));
    let p = b.try_acquire().unwrap();
    assert!(p.is_trial());
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.metrics().rejected, 2);
}

#[test]
fn exactly_the_half_open_permits_then_all_succeed_closes() {
    let clock = clock();
    let (b, events) = open_breaker(&clock);
    clock.advance(Duration::from_secs(30));
    let trials: Vec<_> = (0..3).map(|_| b.try_acquire().unwrap()).collect();
    for _ in 0..5 {
        assert_eq!(b.try_acquire().unwrap_err().state(), State::HalfOpen);
    }
    let mut trials = trials.into_iter();
    trials.next().unwrap().success();
    trials.next().unwrap().success();
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.metrics().trial_successes, 2);
    // Reported trials keep their slots: still no fourth trial.
    assert_eq!(b.try_acquire().unwrap_err().state(), State::HalfOpen);
    trials.next().unwrap().success();
    assert_eq!(b.state(), State::Closed);
    assert_eq!(
        *events.lock().unwrap(),
        vec![
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Closed)
        ]
    );
    // Closed again with an empty window: it takes 10 more failures to trip.
    assert_eq!(b.metrics().calls, 0);
    fail_n(&b, 9);
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn any_trial_failing_reopens_and_late_trials_are_ignored() {
    let clock = clock();
    let (b, events) = open_breaker(&clock);
    clock.advance(Duration::from_secs(30));
    let first = b.try_acquire().unwrap();
    let second = b.try_acquire().unwrap();
    first.success();
    second.failure();
    assert_eq!(b.state(), State::Open);
    assert_eq!(
        events.lock().unwrap().last(),
        Some(&(State::HalfOpen, State::Open))
    );
    // Open for the full wait again.
    assert_eq!(
        b.try_acquire().unwrap_err().retry_after(),
        Some(Duration::from_secs(30))
    );
}

#[test]
fn trials_of_an_old_generation_report_into_nothing() {
    let clock = clock();
    let (b, _) = open_breaker(&clock);
    clock.advance(Duration::from_secs(30));
    let stale = b.try_acquire().unwrap();
    b.try_acquire().unwrap().failure(); // reopen
    clock.advance(Duration::from_secs(30));
    let trials: Vec<_> = (0..3).map(|_| b.try_acquire().unwrap()).collect();
    stale.failure(); // from the previous half-open: ignored
    assert_eq!(b.state(), State::HalfOpen);
    for t in trials {
        t.success();
    }
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn closed_permits_from_before_a_trip_do_not_record() {
    let clock = clock();
    let (b, _) = issue_builder(&clock);
    let b = b.build().unwrap();
    let early: Vec<_> = (0..5).map(|_| b.try_acquire().unwrap()).collect();
    fail_n(&b, 10);
    assert_eq!(b.state(), State::Open);
    b.reset();
    for p in early {
        p.failure();
    }
    assert_eq!(b.metrics().calls, 0);
}

#[test]
fn backoff_grows_and_resets_after_a_successful_half_open() {
    let clock = clock();
    let b = CircuitBreaker::builder()
        .count_window(1)
        .minimum_calls(1)
        .wait_in_open(Duration::from_secs(10))
        .open_backoff(2.0, Duration::from_secs(60))
        .half_open_permits(1)
        .clock(clock.clone())
        .build()
        .unwrap();
    let retry = |b: &CircuitBreaker<ManualClock>| b.try_acquire().unwrap_err().retry_after();
    b.try_acquire().unwrap().failure();
    let mut waits = Vec::new();
    for _ in 0..5 {
        let w = retry(&b).unwrap();
        waits.push(w.as_secs());
        clock.advance(w);
        b.try_acquire().unwrap().failure(); // the trial fails: trip again
    }
    assert_eq!(waits, vec![10, 20, 40, 60, 60]);
    clock.advance(retry(&b).unwrap());
    b.try_acquire().unwrap().success();
    assert_eq!(b.state(), State::Closed);
    b.try_acquire().unwrap().failure();
    assert_eq!(retry(&b), Some(Duration::from_secs(10)));
}

#[test]
fn jitter_spreads_waits_within_bounds_reproducibly() {
    let waits = |seed: u64| {
        let clock = clock();
        let b = CircuitBreaker::builder()
            .count_window(1)
            .minimum_calls(1)
            .wait_in_open(Duration::from_secs(100))
            .open_jitter(0.2, seed)
            .half_open_permits(1)
            .clock(clock.clone())
            .build()
            .unwrap();
        b.try_acquire().unwrap().failure();
        let mut v = Vec::new();
        for _ in 0..20 {
            let w = b.try_acquire().unwrap_err().retry_after().unwrap();
            assert!(
                w >= Duration::from_secs(80) && w <= Duration::from_secs(120),
                "{w:?}"
            );
            v.push(w);
            clock.advance(w);
            b.try_acquire().unwrap().failure();
        }
        v
    };
    let a = waits(1);
    assert_eq!(a, waits(1), "same seed, same waits");
    assert_ne!(a, waits(2), "another seed, other waits");
    let distinct: std::collections::HashSet<_> = a.iter().collect();
    assert!(distinct.len() > 10, "the waits vary: {a:?}");
}

#[test]
fn slow_calls_trip_by_the_slow_call_rate() {
    let clock = clock();
    let b = CircuitBreaker::builder()
        .count_window(10)
        .minimum_calls(10)
        .slow_call(Duration::from_millis(100), 0.5)
        .clock(clock.clone())
        .build()
        .unwrap();
    for i in 0..10 {
        let p = b.try_acquire().unwrap();
        // Calls 6..10 take 100 ms (slow, at the threshold), the others 99 ms.
        clock.advance(Duration::from_millis(if i >= 6 { 100 } else { 99 }));
        p.success();
    }
    let m = b.metrics();
    assert_eq!((m.calls, m.failures, m.slow_calls), (10, 0, 4));
    assert_eq!(b.state(), State::Closed);
    let p = b.try_acquire().unwrap();
    clock.advance(Duration::from_millis(500));
    p.success(); // evicts a fast call: 5 slow of the last 10
    assert_eq!(b.state(), State::Open);
}

#[test]
fn a_slow_trial_counts_as_failed() {
    let clock = clock();
    let b = CircuitBreaker::builder()
        .count_window(1)
        .minimum_calls(1)
        .slow_call(Duration::from_millis(100), 1.0)
        .wait_in_open(Duration::from_secs(1))
        .half_open_permits(1)
        .clock(clock.clone())
        .build()
        .unwrap();
    b.try_acquire().unwrap().failure();
    clock.advance(Duration::from_secs(1));
    let trial = b.try_acquire().unwrap();
    clock.advance(Duration::from_millis(100));
    trial.success();
    assert_eq!(b.state(), State::Open);
}

#[test]
fn the_time_window_forgets_old_buckets() {
    let clock = clock();
    let b = CircuitBreaker::builder()
        .time_window(Duration::from_secs(10)) // 10 buckets of 1 s
        .minimum_calls(4)
        .failure_rate_threshold(0.5)
        .clock(clock.clone())
        .build()
        .unwrap();
    fail_n(&b, 3);
    assert_eq!(b.metrics().failures, 3);
    clock.advance(Duration::from_secs(10));
    assert_eq!(b.metrics().calls, 0, "the failures left the window");
    // So one failure among three successes is 25%: stays closed.
    for _ in 0..3 {
        b.try_acquire().unwrap().success();
    }
    fail_n(&b, 1);
    assert_eq!(b.state(), State::Closed);
    clock.advance(Duration::from_secs(5));
    fail_n(&b, 1); // 2 of 5 in the last 10 s
    assert_eq!(b.state(), State::Closed);
    fail_n(&b, 1); // 3 of 6
    assert_eq!(b.state(), State::Open);
}

#[test]
fn dropped_permits_release_their_trial_slot_and_record_nothing() {
    let clock = clock();
    let (b, _) = open_breaker(&clock);
    clock.advance(Duration::from_secs(30));
    let a = b.try_acquire().unwrap();
    let c = b.try_acquire().unwrap();
    let d = b.try_acquire().unwrap();
    assert_eq!(b.try_acquire().unwrap_err().state(), State::HalfOpen);
    drop(d);
    assert_eq!(b.metrics().trial_permits, 2);
    let d = b.try_acquire().unwrap();
    drop((a, c, d));
    assert_eq!(b.state(), State::HalfOpen, "dropping records no failure");
    let trials: Vec<_> = (0..3).map(|_| b.try_acquire().unwrap()).collect();
    for t in trials {
        t.success();
    }
    assert_eq!(b.state(), State::Closed);
    // In closed, a dropped permit records nothing either.
    drop(b.try_acquire().unwrap());
    assert_eq!(b.metrics().calls, 0);
}

#[test]
fn max_wait_in_half_open_reopens_when_trials_are_held() {
    let clock = clock();
    let (b, events) = issue_builder(&clock);
    let b = b
        .max_wait_in_half_open(Duration::from_secs(5))
        .build()
        .unwrap();
    fail_n(&b, 10);
    clock.advance(Duration::from_secs(30));
    let held: Vec<_> = (0..3).map(|_| b.try_acquire().unwrap()).collect();
    clock.advance(Duration::from_secs(5) - Duration::from_nanos(1));
    assert_eq!(b.try_acquire().unwrap_err().state(), State::HalfOpen);
    clock.advance(Duration::from_nanos(1));
    assert_eq!(b.try_acquire().unwrap_err().state(), State::Open);
    assert_eq!(
        events.lock().unwrap().last(),
        Some(&(State::HalfOpen, State::Open))
    );
    for p in held {
        p.success(); // too late: ignored
    }
    assert_eq!(b.state(), State::Open);
}

#[test]
fn forced_states() {
    let clock = clock();
    let (b, events) = issue_builder(&clock);
    let b = b.build().unwrap();
    b.force_open();
    assert_eq!(b.state(), State::ForcedOpen);
    assert_eq!(b.try_acquire().unwrap_err().state(), State::ForcedOpen);
    assert_eq!(b.try_acquire().unwrap_err().retry_after(), None);
    clock.advance(Duration::from_secs(3600));
    assert_eq!(
        b.try_acquire().unwrap_err().state(),
        State::ForcedOpen,
        "time does not end it"
    );

    b.disable();
    assert_eq!(b.state(), State::Disabled);
    fail_n(&b, 50);
    assert_eq!(b.state(), State::Disabled);
    assert_eq!(b.metrics().calls, 0, "disabled records nothing");

    b.reset();
    assert_eq!(b.state(), State::Closed);
    b.reset(); // closed -> closed: no event
    assert_eq!(
        *events.lock().unwrap(),
        vec![
            (State::Closed, State::ForcedOpen),
            (State::ForcedOpen, State::Disabled),
            (State::Disabled, State::Closed)
        ]
    );
    // reset empties the window.
    fail_n(&b, 9);
    b.reset();
    fail_n(&b, 9);
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn consecutive_failures_trip_and_a_success_resets_them() {
    let clock = clock();
    let b = CircuitBreaker::builder()
        .consecutive_failures(3)
        .clock(clock.clone())
        .build()
        .unwrap();
    fail_n(&b, 2);
    b.try_acquire().unwrap().success();
    fail_n(&b, 2);
    assert_eq!(b.metrics().consecutive_failures, 2);
    assert_eq!(b.state(), State::Closed);
    fail_n(&b, 1);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn panics_count_as_failures_and_are_resumed() {
    let clock = clock();
    let b = CircuitBreaker::builder()
        .consecutive_failures(2)
        .clock(clock.clone())
        .build()
        .unwrap();
    for _ in 0..2 {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: Result<(), CallError<()>> = b.call(|| panic!("boom"));
        }));
        let payload = r.unwrap_err();
        assert_eq!(
            payload.downcast_ref::<&str>(),
            Some(&"boom"),
            "the panic is resumed as is"
        );
    }
    assert_eq!(b.state(), State::Open);
    let r: Result<(), CallError<()>> = b.call(|| unreachable!("not run while open"));
    assert!(r.unwrap_err().is_rejected());
}

#[test]
fn call_with_classifies_errors() {
    let b = CircuitBreaker::builder()
        .consecutive_failures(2)
        .build()
        .unwrap();
    for _ in 0..10 {
        let r = b.call_with(|| Err::<(), _>("not found"), |e| *e != "not found");
        assert_eq!(r.unwrap_err().into_inner(), Some("not found"));
    }
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.call(|| Ok::<_, ()>(7)).unwrap(), 7);
    for _ in 0..2 {
        let _ = b.call(|| Err::<(), _>("down"));
    }
    assert_eq!(b.state(), State::Open);
    let err = b.call(|| Ok::<_, std::io::Error>(())).unwrap_err();
    assert!(err.to_string().contains("open"), "{err}");
}

#[test]
fn owned_permits_move_into_threads() {
    let b = Arc::new(
        CircuitBreaker::builder()
            .consecutive_failures(1)
            .build()
            .unwrap(),
    );
    let p = b.try_acquire_owned().unwrap();
    std::thread::spawn(move || p.failure()).join().unwrap();
    assert_eq!(b.state(), State::Open);
}

#[test]
fn a_clock_going_backwards_delays_but_never_panics() {
    let clock = clock();
    let (b, _) = open_breaker(&clock);
    clock.set(Duration::ZERO);
    let r = b.try_acquire().unwrap_err();
    assert!(r.retry_after().unwrap() >= Duration::from_secs(30));
    clock.set(START + Duration::from_secs(30));
    assert!(b.try_acquire().is_ok());
    let tb = CircuitBreaker::builder()
        .time_window(Duration::from_secs(1))
        .minimum_calls(1)
        .clock(clock.clone())
        .build()
        .unwrap();
    tb.try_acquire().unwrap().success();
    clock.set(Duration::ZERO);
    tb.try_acquire().unwrap().success();
    let _ = tb.metrics();
}

#[test]
fn metrics_snapshot() {
    let clock = clock();
    let (b, _) = issue_builder(&clock);
    let b = b.build().unwrap();
    let m = b.metrics();
    assert_eq!(
        (m.state, m.calls, m.failure_rate, m.rejected),
        (State::Closed, 0, 0.0, 0)
    );
    for i in 0..8 {
        let p = b.try_acquire().unwrap();
        if i < 2 { p.failure() } else { p.success() }
    }
    let m = b.metrics();
    assert_eq!(
        (m.calls, m.failures, m.failure_rate, m.slow_call_rate),
        (8, 2, 0.25, 0.0)
    );
    assert!(format!("{b:?}").contains("Closed"));
}

#[test]
fn out_of_range_settings_are_errors() {
    let b = CircuitBreaker::builder;
    let d = Duration::from_secs(1);
    let cases: Vec<(Result<_, ConfigError>, ConfigError)> = vec![
        (
            b().failure_rate_threshold(0.0).build(),
            ConfigError::FailureRateThreshold(0.0),
        ),
        (
            b().failure_rate_threshold(1.5).build(),
            ConfigError::FailureRateThreshold(1.5),
        ),
        (
            b().slow_call(d, 0.0).build(),
            ConfigError::SlowCallRateThreshold(0.0),
        ),
        (
            b().slow_call(Duration::ZERO, 0.5).build(),
            ConfigError::SlowCallDuration,
        ),
        (b().minimum_calls(0).build(), ConfigError::MinimumCalls(0)),
        (
            b().count_window(0).minimum_calls(1).build(),
            ConfigError::CountWindow(0),
        ),
        (
            b().count_window((1 << 20) + 1).build(),
            ConfigError::CountWindow((1 << 20) + 1),
        ),
        (
            b().count_window(5).minimum_calls(6).build(),
            ConfigError::MinimumCallsExceedWindow {
                minimum_calls: 6,
                window: 5,
            },
        ),
        (
            b().time_window(Duration::ZERO).build(),
            ConfigError::TimeWindow(Duration::ZERO),
        ),
        (
            b().time_window(d).time_window_buckets(0).build(),
            ConfigError::TimeWindowBuckets(0),
        ),
        (
            b().consecutive_failures(0).build(),
            ConfigError::ConsecutiveFailures(0),
        ),
        (
            b().wait_in_open(Duration::ZERO).build(),
            ConfigError::WaitInOpen(Duration::ZERO),
        ),
        (
            b().wait_in_open(d * 2).open_backoff(2.0, d).build(),
            ConfigError::OpenBackoff {
                multiplier: 2.0,
                max: d,
            },
        ),
        (
            b().open_backoff(0.5, d * 100).build(),
            ConfigError::OpenBackoff {
                multiplier: 0.5,
                max: d * 100,
            },
        ),
        (
            b().open_jitter(1.0, 0).build(),
            ConfigError::OpenJitter(1.0),
        ),
        (
            b().half_open_permits(0).build(),
            ConfigError::HalfOpenPermits(0),
        ),
        (
            b().half_open_permits(65_536).build(),
            ConfigError::HalfOpenPermits(65_536),
        ),
        (
            b().max_wait_in_half_open(Duration::ZERO).build(),
            ConfigError::MaxWaitInHalfOpen(Duration::ZERO),
        ),
    ];
    for (got, want) in cases {
        let err = got.unwrap_err();
        assert_eq!(err, want);
        assert!(!err.to_string().is_empty());
    }
    assert!(matches!(
        b().failure_rate_threshold(f64::NAN).build(),
        Err(ConfigError::FailureRateThreshold(_))
    ));
    // The extremes that are allowed.
    b().count_window(1 << 20)
        .minimum_calls(1)
        .half_open_permits(65_535)
        .build()
        .unwrap();
    b().failure_rate_threshold(1.0)
        .slow_call(Duration::from_nanos(1), 1.0)
        .build()
        .unwrap();
}

#[test]
fn types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<CircuitBreaker>();
    send_sync::<sinew_breaker::Permit<'static>>();
    send_sync::<sinew_breaker::OwnedPermit>();
    send_sync::<CallError<std::io::Error>>();
}

// ---- Regression tests of review findings ----

/// Trips on one failure (a window of one call), waits `wait_secs` in open, one trial.
fn one_call_builder(clock: &ManualClock, wait_secs: u64) -> Builder<ManualClock> {
    CircuitBreaker::builder()
        .count_window(1)
        .minimum_calls(1)
        .wait_in_open(Duration::from_secs(wait_secs))
        .half_open_permits(1)
        .clock(clock.clone())
}

/// Each `force_open` is a transition (a new generation) even from `ForcedOpen`. The deadline
/// word used to be written only on trips, so after 2^20 forced transitions its generation
/// looked newer than the state's (wrapping comparison) and the next trip left `try_acquire`
/// looping forever. Every transition now installs its deadline word.
#[test]
fn a_million_forced_transitions_leave_the_open_deadline_working() {
    let clock = clock();
    let b = Arc::new(one_call_builder(&clock, 10).build().unwrap());
    // Generations are 21 bits: more than half of them.
    for _ in 0..(1u32 << 20) + 8 {
        b.force_open();
    }
    b.reset();
    b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), State::Open);
    // Before the fix this call never returned: run it on a thread and give up after 30 s of
    // real time (it answers at once when correct).
    let (tx, rx) = std::sync::mpsc::channel();
    let b2 = Arc::clone(&b);
    std::thread::spawn(move || {
        let r = b2.try_acquire().map(|_| ()).map_err(|r| r.retry_after());
        let _ = tx.send(r);
    });
    let r = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("try_acquire in Open returns");
    assert_eq!(r, Err(Some(Duration::from_secs(10))));
    clock.advance(Duration::from_secs(10));
    b.try_acquire().unwrap().success();
    assert_eq!(b.state(), State::Closed);
}

/// The trip count saturates at 255: the 256th trip in a row keeps the capped backoff instead
/// of wrapping to 0 (the first trip's wait).
#[test]
fn backoff_stays_at_its_cap_past_255_trips() {
    let clock = clock();
    let b = one_call_builder(&clock, 1)
        .open_backoff(2.0, Duration::from_secs(64))
        .build()
        .unwrap();
    b.try_acquire().unwrap().failure();
    for trip in 1..=300u32 {
        let w = b.try_acquire().unwrap_err().retry_after().unwrap();
        let want = Duration::from_secs(1u64 << (trip - 1).min(6));
        assert_eq!(w, want, "trip {trip}");
        clock.advance(w);
        b.try_acquire().unwrap().failure(); // the trial fails: trip again
    }
}

/// Half-open with one trial slot: a classifier that panics must not leave the slot taken.
/// The call counts as failed (as a panic in the call does), so the breaker reopens.
#[test]
fn a_panicking_classifier_counts_as_a_failure_and_frees_the_trial() {
    let clock = clock();
    let b = one_call_builder(&clock, 1).build().unwrap();
    b.try_acquire().unwrap().failure();
    clock.advance(Duration::from_secs(1));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        b.call_with(|| Err::<(), _>(503), |_| panic!("classifier"))
    }));
    assert!(r.is_err(), "the classifier's panic is resumed");
    assert_eq!(b.state(), State::Open, "the trial counted as failed");
    clock.advance(Duration::from_secs(2));
    b.try_acquire().unwrap().success();
    assert_eq!(b.state(), State::Closed);
}

/// A listener that panics on the Open -> HalfOpen transition: the caller that made the
/// transition still gets its trial permit (before, the panic escaped `try_acquire` and the
/// slot the transition had taken for it was never given back).
#[test]
fn a_panicking_listener_does_not_leak_the_first_trial() {
    let clock = clock();
    let b = one_call_builder(&clock, 1)
        .on_transition(|t: &Transition| {
            if t.to == State::HalfOpen {
                panic!("listener");
            }
        })
        .build()
        .unwrap();
    b.try_acquire().unwrap().failure();
    clock.advance(Duration::from_secs(1));
    let trial = b.try_acquire().unwrap();
    assert_eq!(b.state(), State::HalfOpen);
    trial.success();
    assert_eq!(b.state(), State::Closed);
}

/// A listener that panics on the trip made while a panicking call unwinds: before, the
/// second panic aborted the process; now the listener's panic is contained and the call's own
/// panic is resumed.
#[test]
fn a_panicking_listener_during_an_unwinding_call_does_not_abort() {
    let b = CircuitBreaker::builder()
        .consecutive_failures(1)
        .on_transition(|_: &Transition| panic!("listener"))
        .build()
        .unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _: Result<(), CallError<()>> = b.call(|| panic!("call"));
    }));
    assert_eq!(r.unwrap_err().downcast_ref::<&str>(), Some(&"call"));
    assert_eq!(b.state(), State::Open);
}

/// Rejections are counted with `fetch_add`: exact under concurrent rejections.
#[test]
fn concurrent_rejections_are_all_counted() {
    let b = CircuitBreaker::builder().build().unwrap();
    b.force_open();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50_000 {
                    assert!(b.try_acquire().is_err());
                }
            });
        }
    });
    assert_eq!(b.metrics().rejected, 200_000);
}

/// `count_window(20)` alone builds: the default minimum of 100 calls follows a smaller count
/// window down to its size, so the breaker decides once the window is full. A minimum set by
/// hand above the window is still an error.
#[test]
fn the_default_minimum_follows_a_small_count_window() {
    let clock = clock();
    let b = CircuitBreaker::builder()
        .count_window(20)
        .clock(clock.clone())
        .build()
        .unwrap();
    fail_n(&b, 19);
    assert_eq!(
        b.state(),
        State::Closed,
        "19 calls are below the minimum of 20"
    );
    fail_n(&b, 1);
    assert_eq!(b.state(), State::Open);
    // The order of the setters does not matter, and a larger window keeps 100.
    assert!(CircuitBreaker::builder().count_window(1).build().is_ok());
    let big = CircuitBreaker::builder()
        .count_window(500)
        .clock(clock.clone())
        .build()
        .unwrap();
    fail_n(&big, 99);
    assert_eq!(big.state(), State::Closed);
    fail_n(&big, 1);
    assert_eq!(big.state(), State::Open);
    assert_eq!(
        CircuitBreaker::builder()
            .minimum_calls(21)
            .count_window(20)
            .build()
            .unwrap_err(),
        ConfigError::MinimumCallsExceedWindow {
            minimum_calls: 21,
            window: 20
        }
    );
}

/// A report from before a reset does not count after it; with the consecutive-failure rule
/// too (its count is stamped with the generation it belongs to).
#[test]
fn reports_from_before_a_reset_count_nowhere() {
    let clock = clock();
    let b = CircuitBreaker::builder()
        .consecutive_failures(2)
        .time_window(Duration::from_secs(10))
        .minimum_calls(100)
        .clock(clock.clone())
        .build()
        .unwrap();
    let early: Vec<_> = (0..3).map(|_| b.try_acquire().unwrap()).collect();
    b.try_acquire().unwrap().failure();
    assert_eq!(b.metrics().consecutive_failures, 1);
    b.reset();
    assert_eq!(b.metrics().consecutive_failures, 0);
    for p in early {
        p.failure();
    }
    let m = b.metrics();
    assert_eq!((m.calls, m.consecutive_failures), (0, 0));
    assert_eq!(b.state(), State::Closed);
}

/// A `ManualClock` that counts its readings.
#[derive(Debug, Clone)]
struct CountingClock {
    inner: ManualClock,
    reads: Arc<std::sync::atomic::AtomicUsize>,
}

impl CountingClock {
    fn new() -> Self {
        CountingClock {
            inner: clock(),
            reads: Arc::default(),
        }
    }

    fn reads(&self) -> usize {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl sinew_breaker::Clock for CountingClock {
    fn now(&self) -> Duration {
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.now()
    }
    fn now_nanos(&self) -> u64 {
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.now_nanos()
    }
}

/// A closed successful call reads no clock (the default clock may be a costly one), with the
/// count window and with the consecutive-failures rule, while the window fills, at its
/// minimum (the decision that does not trip) and once it is clean; the slow-call rule reads
/// it twice per call (admission and report).
#[test]
fn closed_successes_read_no_clock_unless_the_slow_call_rule_is_on() {
    let builders: [fn() -> Builder<ManualClock>; 2] = [
        || CircuitBreaker::builder().clock(ManualClock::new(START)),
        || {
            CircuitBreaker::builder()
                .consecutive_failures(5)
                .clock(ManualClock::new(START))
        },
    ];
    for builder in builders {
        let clock = CountingClock::new();
        let b = builder().clock(clock.clone()).build().unwrap();
        let before = clock.reads();
        for _ in 0..250 {
            b.try_acquire().unwrap().success();
            b.call(|| Ok::<_, ()>(1)).unwrap();
        }
        assert_eq!(clock.reads(), before, "closed successes read the clock");
        assert_eq!(b.metrics().calls, 100);
    }
    let clock = CountingClock::new();
    let b = CircuitBreaker::builder()
        .slow_call(Duration::from_secs(1), 1.0)
        .clock(clock.clone())
        .build()
        .unwrap();
    let before = clock.reads();
    b.try_acquire().unwrap().success();
    assert_eq!(clock.reads() - before, 2);
}

/// Successes into a window of N successes skip the ring's cursor; the window stays the last
/// N calls exactly: a failure after them ages out after exactly N more calls, and the
/// failure-rate rule trips on the call it would trip on with every call counted.
#[test]
fn a_clean_window_stays_exact() {
    let clock = clock();
    let b = CircuitBreaker::builder()
        .count_window(4)
        .minimum_calls(4)
        .failure_rate_threshold(0.5)
        .clock(clock.clone())
        .build()
        .unwrap();
    let ok = |n: usize| {
        for _ in 0..n {
            b.try_acquire().unwrap().success();
        }
    };
    ok(4 + 7); // clean, then 7 successes that change nothing
    b.try_acquire().unwrap().failure();
    ok(3);
    assert_eq!((b.metrics().calls, b.metrics().failures), (4, 1));
    ok(1);
    assert_eq!(
        (b.metrics().calls, b.metrics().failures),
        (4, 0),
        "aged out"
    );
    ok(5);
    b.try_acquire().unwrap().failure();
    ok(1);
    assert_eq!(b.state(), State::Closed, "1 failure in 4");
    b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), State::Open, "2 failures in the last 4");
}
