//! loom models of the breaker's atomic protocols: the half-open permit count, the one
//! transition (and one event) per trip, dropped permits racing reports, reports racing a
//! reset, the deadline word's install, and the rejection counter. (The windows' own
//! protocols, including the time window's recycling against a clear, are modelled in
//! `src/window.rs`.)
//!
//! Run with:
//! `RUSTFLAGS="--cfg sinew_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p sinew-breaker --lib --test loom`
#![cfg(sinew_loom)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly

use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};
use std::time::Duration;

// The breaker is shared through std's `Arc` (a permit's owner must be one, see the crate's
// `src/sync.rs`); every atomic inside it is loom's.
use std::sync::Arc;

use loom::sync::atomic::{AtomicUsize as LoomUsize, Ordering};
use loom::thread;
use sinew_breaker::{Builder, CircuitBreaker, ManualClock, State, Transition};

const WAIT: Duration = Duration::from_secs(1);

/// A builder that trips when `minimum_calls` calls of a count window of 2 all failed, with
/// `permits` half-open trials, and a counter of the events its listener saw.
fn builder(
    clock: &ManualClock,
    permits: u32,
    minimum_calls: u32,
) -> (Builder<ManualClock>, Arc<AtomicUsize>) {
    let events = Arc::new(AtomicUsize::new(0));
    let sink = Arc::clone(&events);
    let b = CircuitBreaker::builder()
        .count_window(2)
        .minimum_calls(minimum_calls)
        .failure_rate_threshold(1.0)
        .wait_in_open(WAIT)
        .half_open_permits(permits)
        .on_transition(move |_: &Transition| {
            sink.fetch_add(1, StdOrdering::Relaxed);
        })
        .clock(clock.clone());
    (b, events)
}

fn breaker(clock: &ManualClock, permits: u32) -> (CircuitBreaker<ManualClock>, Arc<AtomicUsize>) {
    let (b, events) = builder(clock, permits, 2);
    (b.build().unwrap(), events)
}

/// Builds `b` with its count window, or with a time window of two buckets (each bucket is
/// three more words for loom to interleave).
fn with_window(b: Builder<ManualClock>, time_window: bool) -> CircuitBreaker<ManualClock> {
    let b = if time_window {
        b.time_window(Duration::from_secs(10))
            .time_window_buckets(2)
    } else {
        b
    };
    b.build().unwrap()
}

/// Trips `b` from the main thread and lets its wait pass.
fn trip_and_wait(b: &CircuitBreaker<ManualClock>, clock: &ManualClock) {
    b.try_acquire().unwrap().failure();
    b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), State::Open);
    clock.advance(WAIT);
}

/// Three threads race to leave open and take trial permits (one of them dropping its first
/// permit and asking again). `held` counts the permits granted and not yet given back; it
/// is checked against N at every grant, so a breaker that ever lets N + 1 trials out at
/// once fails here. Exactly one thread makes the Open -> HalfOpen transition.
#[test]
fn half_open_permits_never_exceed_n() {
    const N: usize = 2;
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
                for round in 0..if again { 2 } else { 1 } {
                    if let Ok(p) = b.try_acquire() {
                        let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                        assert!(now <= N, "{now} trial permits out at once");
                        if round == 0 && again {
                            // Uncounted before the slot is given back, so `held` never
                            // undercounts what the breaker has out.
                            held.fetch_sub(1, Ordering::SeqCst);
                            drop(p);
                        } else {
                            std::mem::forget(p); // keeps it for good
                        }
                    }
                }
            })
        };
        let threads = [spawn(true), spawn(false), spawn(false)];
        for t in threads {
            t.join().unwrap();
        }
        let kept = held.load(Ordering::SeqCst);
        assert_eq!(kept, N, "N permits are handed out when N are asked for");
        assert_eq!(b.state(), State::HalfOpen);
        assert_eq!(b.metrics().trial_permits as usize, kept);
        assert_eq!(
            events.load(StdOrdering::Relaxed) - before,
            1,
            "one Open -> HalfOpen event"
        );
    });
}

/// Two threads each report a failure that trips the breaker on its own (minimum one call),
/// so both really decide and race to make the transition: exactly one transition, one event.
/// Once with the count window's short path, once with a time window (the full path).
#[test]
fn two_tripping_failures_make_one_transition() {
    for time_window in [false, true] {
        loom::model(move || {
            let clock = ManualClock::new(Duration::from_secs(100));
            let (b, events) = builder(&clock, 1, 1);
            let b = Arc::new(with_window(b, time_window));
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
}

/// A clean window (its last 2 calls succeeded) with a success and a failure reported at
/// once: the success may skip the ring's cursor (see `src/window.rs`), yet the failure
/// trips the breaker at 50% of the last 2 calls whichever way they are ordered, exactly
/// once, as with every call counted. Once on the short path, once with the slow-call rule
/// on (the full path).
#[test]
fn a_success_in_a_clean_window_never_hides_a_trip() {
    for slow_rule in [false, true] {
        loom::model(move || {
            let clock = ManualClock::new(Duration::from_secs(100));
            let events = Arc::new(AtomicUsize::new(0));
            let sink = Arc::clone(&events);
            let b = CircuitBreaker::builder()
                .count_window(2)
                .minimum_calls(2)
                .failure_rate_threshold(0.5)
                .wait_in_open(WAIT)
                .on_transition(move |_: &Transition| {
                    sink.fetch_add(1, StdOrdering::Relaxed);
                })
                .clock(clock.clone());
            let b = if slow_rule { b.slow_call(WAIT, 1.0) } else { b };
            let b = Arc::new(b.build().unwrap());
            b.try_acquire().unwrap().success();
            b.try_acquire().unwrap().success();
            let ok = b.try_acquire_owned().unwrap();
            let failing = b.try_acquire_owned().unwrap();
            let t = thread::spawn(move || failing.failure());
            ok.success();
            t.join().unwrap();
            assert_eq!(b.state(), State::Open);
            assert_eq!(events.load(StdOrdering::Relaxed), 1);
        });
    }
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

/// A permit admitted before a reset reports a failure while the reset runs: whatever the
/// interleaving, the window is empty afterwards (the outcome was cleared, or its recorder
/// saw the new generation and took it back). Before, reset cleared the window and then made
/// its compare-exchange, and a report landing in between survived. Both window kinds.
#[test]
fn a_report_racing_a_reset_never_counts_after_it() {
    for time_window in [false, true] {
        loom::model(move || {
            let clock = ManualClock::new(Duration::from_secs(100));
            let (b, _) = builder(&clock, 1, 2);
            let b = Arc::new(with_window(b, time_window));
            let stale = b.try_acquire_owned().unwrap();
            let t = thread::spawn(move || stale.failure());
            b.reset();
            t.join().unwrap();
            let m = b.metrics();
            assert_eq!((m.calls, m.failures), (0, 0), "a stale report counted");
            assert_eq!(b.state(), State::Closed);
        });
    }
}

/// The deadline word: one thread trips the breaker (and installs the open deadline after
/// its compare-exchange) while another asks for a permit, possibly between the two, and
/// then installs the deadline itself. The clock stands still, so every rejection in open
/// must say the whole wait is left, and no call may get through.
#[test]
fn the_open_deadline_is_installed_once_whoever_sees_open_first() {
    loom::model(|| {
        let clock = ManualClock::new(Duration::from_secs(100));
        let (b, events) = builder(&clock, 1, 1);
        let b = Arc::new(b.build().unwrap());
        let p = b.try_acquire_owned().unwrap();
        let t = thread::spawn(move || p.failure());
        let mine = b.try_acquire();
        let late = match mine {
            Ok(p) => {
                drop(p); // admitted before the trip: records nothing
                None
            }
            Err(r) => Some(r),
        };
        t.join().unwrap();
        for r in late.into_iter().chain(b.try_acquire().err()) {
            assert_eq!(r.state(), State::Open);
            assert_eq!(r.retry_after(), Some(WAIT));
        }
        assert_eq!(b.state(), State::Open);
        assert_eq!(events.load(StdOrdering::Relaxed), 1);
    });
}

/// Two threads rejected at once: both are counted (a load and a store lost one).
#[test]
fn concurrent_rejections_are_both_counted() {
    loom::model(|| {
        let b = Arc::new(CircuitBreaker::builder().build().unwrap());
        b.force_open();
        let b2 = Arc::clone(&b);
        let t = thread::spawn(move || assert!(b2.try_acquire().is_err()));
        assert!(b.try_acquire().is_err());
        t.join().unwrap();
        assert_eq!(b.metrics().rejected, 2);
    });
}
