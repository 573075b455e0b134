//! Real threads racing on one breaker.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use sinew_breaker::{CircuitBreaker, ManualClock, State};

const THREADS: usize = 8;

/// In half-open with N permits, many threads racing get exactly N, round after round.
#[test]
fn racing_threads_get_exactly_the_half_open_permits() {
    for permits in [1u32, 3, 7] {
        let clock = ManualClock::new(Duration::from_secs(1_000));
        let b = CircuitBreaker::builder()
            .count_window(1)
            .minimum_calls(1)
            .wait_in_open(Duration::from_secs(1))
            .half_open_permits(permits)
            .clock(clock.clone())
            .build()
            .unwrap();
        for _round in 0..50 {
            b.try_acquire().unwrap().failure();
            assert_eq!(b.state(), State::Open);
            clock.advance(Duration::from_secs(1));
            let granted = AtomicUsize::new(0);
            let barrier = Barrier::new(THREADS);
            thread::scope(|s| {
                for _ in 0..THREADS {
                    s.spawn(|| {
                        barrier.wait();
                        let mine: Vec<_> = (0..4).filter_map(|_| b.try_acquire().ok()).collect();
                        granted.fetch_add(mine.len(), Ordering::Relaxed);
                        // Hold them until everyone has tried, then succeed.
                        barrier.wait();
                        for p in mine {
                            p.success();
                        }
                    });
                }
            });
            assert_eq!(granted.load(Ordering::Relaxed), permits as usize);
            assert_eq!(b.state(), State::Closed);
        }
    }
}

/// Many threads failing at once trip the breaker once: one event.
#[test]
fn concurrent_failures_make_one_transition() {
    for _ in 0..50 {
        let events = Arc::new(AtomicUsize::new(0));
        let sink = Arc::clone(&events);
        let b = CircuitBreaker::builder()
            .count_window(64)
            .minimum_calls(8)
            .on_transition(move |_| {
                sink.fetch_add(1, Ordering::Relaxed);
            })
            .build()
            .unwrap();
        let barrier = Barrier::new(THREADS);
        thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    let permits: Vec<_> = (0..4).map(|_| b.try_acquire().unwrap()).collect();
                    barrier.wait();
                    for p in permits {
                        p.failure();
                    }
                });
            }
        });
        assert_eq!(b.state(), State::Open);
        assert_eq!(events.load(Ordering::Relaxed), 1);
    }
}

/// Concurrent recordings keep the window's aggregate exact (checked once they are done).
#[test]
fn concurrent_recordings_keep_exact_counts() {
    let b = CircuitBreaker::builder()
        .count_window(1_000)
        .minimum_calls(1_000)
        .failure_rate_threshold(1.0)
        .build()
        .unwrap();
    thread::scope(|s| {
        for t in 0..4 {
            let b = &b;
            s.spawn(move || {
                for i in 0..50_000 {
                    let p = b.try_acquire().unwrap();
                    // Thread 0 fails one call in 4 near the end; nobody reaches 100%.
                    if t == 0 && i >= 49_000 && i % 4 == 0 {
                        p.failure();
                    } else {
                        p.success();
                    }
                }
            });
        }
    });
    let m = b.metrics();
    assert_eq!(m.calls, 1_000);
    assert!(m.failures <= 250, "{m:?}");
    assert_eq!(b.state(), State::Closed);
}
