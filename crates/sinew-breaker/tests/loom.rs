//! loom models of the breaker's atomic protocols: the half-open permit count, the one
//! transition (and one event) per trip, and dropped permits racing reports.
//!
//! Run with:
//! `RUSTFLAGS="--cfg sinew_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p sinew-breaker --test loom`
#![cfg(sinew_loom)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly

use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};
use std::time::Duration;

// The breaker is shared through std's `Arc` (a permit's owner must be one); the atomics
// inside it are loom's.
use std::sync::Arc;

use loom::sync::atomic::{AtomicUsize as LoomUsize, Ordering};
use loom::thread;
use sinew_breaker::{CircuitBreaker, ManualClock, State, Transition};

const WAIT: Duration = Duration::from_secs(1);

/// A breaker that trips on 2 failures of 2 calls, with `permits` half-open trials, and a
/// counter of the events its listener saw.
fn breaker(clock: &ManualClock, permits: u32) -> (CircuitBreaker<ManualClock>, Arc<AtomicUsize>) {
    let events = Arc::new(AtomicUsize::new(0));
    let sink = Arc::clone(&events);
    let b = CircuitBreaker::builder()
        .count_window(2)
        .minimum_calls(2)
        .failure_rate_threshold(1.0)
        .wait_in_open(WAIT)
        .half_open_permits(permits)
        .on_transition(move |_: &Transition| {
            sink.fetch_add(1, StdOrdering::Relaxed);
        })
        .clock(clock.clone())
        .build()
        .unwrap();
    (b, events)
}

/// Trips `b` from the main thread and lets its wait pass.
fn trip_and_wait(b: &CircuitBreaker<ManualClock>, clock: &ManualClock) {
    b.try_acquire().unwrap().failure();
    b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), State::Open);
    clock.advance(WAIT);
}

/// Three threads race to leave open and take trial permits (one of them dropping its permit
/// and asking again): never more than N permits are held at once, and exactly one thread
/// makes the Open -> HalfOpen transition.
#[test]
fn half_open_permits_never_exceed_n() {
    loom::model(|| {
        let clock = ManualClock::new(Duration::from_secs(100));
        let (b, events) = breaker(&clock, 2);
        trip_and_wait(&b, &clock);
        let before = events.load(StdOrdering::Relaxed);
        let b = Arc::new(b);
        let held = Arc::new(LoomUsize::new(0));
        let spawn = |again: bool| {
            let b = Arc::clone(&b);
            let held = Arc::clone(&held);
            thread::spawn(move || {
                let mut got = 0;
                for round in 0..if again { 2 } else { 1 } {
                    if let Ok(p) = b.try_acquire() {
                        got += 1;
                        let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                        assert!(now <= 2, "{now} trial permits held at once");
                        held.fetch_sub(1, Ordering::SeqCst);
                        if round == 0 && again {
                            drop(p); // gives the slot back
                        } else {
                            std::mem::forget(p); // keeps it for good
                        }
                    }
                }
                got
            })
        };
        let threads = [spawn(true), spawn(false), spawn(false)];
        let kept: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert!(kept >= 2, "N permits are handed out: {kept}");
        assert_eq!(b.state(), State::HalfOpen);
        assert_eq!(b.metrics().trial_permits, 2);
        assert_eq!(
            events.load(StdOrdering::Relaxed) - before,
            1,
            "one Open -> HalfOpen event"
        );
    });
}

/// Two threads each report the failure that trips the breaker: exactly one transition, one
/// event.
#[test]
fn two_tripping_failures_make_one_transition() {
    loom::model(|| {
        let clock = ManualClock::new(Duration::from_secs(100));
        let (b, events) = breaker(&clock, 1);
        let b = Arc::new(b);
        // Both calls are admitted before either reports.
        let p1 = b.try_acquire_owned().unwrap();
        let p2 = b.try_acquire_owned().unwrap();
        let t = thread::spawn(move || p1.failure());
        p2.failure();
        t.join().unwrap();
        assert_eq!(b.state(), State::Open);
        assert_eq!(events.load(StdOrdering::Relaxed), 1);
    });
}

/// Half-open with 2 trials: one trial is dropped while the other reports. The dropped slot
/// is released (a new trial can be had) and the breaker closes once 2 trials have succeeded.
#[test]
fn dropped_permit_races_a_report() {
    loom::model(|| {
        let clock = ManualClock::new(Duration::from_secs(100));
        let (b, events) = breaker(&clock, 2);
        trip_and_wait(&b, &clock);
        let b = Arc::new(b);
        let kept = b.try_acquire_owned().unwrap();
        let dropped = b.try_acquire_owned().unwrap();
        let t = thread::spawn(move || drop(dropped));
        kept.success();
        t.join().unwrap();
        assert_eq!(b.state(), State::HalfOpen, "a drop records nothing");
        let m = b.metrics();
        assert_eq!((m.trial_permits, m.trial_successes), (1, 1));
        b.try_acquire().unwrap().success();
        assert_eq!(b.state(), State::Closed);
        assert_eq!(events.load(StdOrdering::Relaxed), 3);
    });
}

/// A drop racing the failure that reopens: the breaker ends open, with one event for it.
#[test]
fn dropped_permit_races_a_failure() {
    loom::model(|| {
        let clock = ManualClock::new(Duration::from_secs(100));
        let (b, events) = breaker(&clock, 2);
        trip_and_wait(&b, &clock);
        let b = Arc::new(b);
        let failing = b.try_acquire_owned().unwrap();
        let dropped = b.try_acquire_owned().unwrap();
        let t = thread::spawn(move || drop(dropped));
        failing.failure();
        t.join().unwrap();
        assert_eq!(b.state(), State::Open);
        assert_eq!(events.load(StdOrdering::Relaxed), 3);
    });
}
