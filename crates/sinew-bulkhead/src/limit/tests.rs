#![allow(clippy::unwrap_used, clippy::float_cmp, clippy::indexing_slicing)]

use std::sync::Mutex as StdMutex;
use std::sync::atomic::{AtomicU32, Ordering as O};
use std::time::Duration;

use proptest::prelude::*;
use sinew_clock::ManualClock;

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Records every sample it is given and proposes a fixed answer.
struct Recorder {
    seen: Arc<StdMutex<Vec<(f64, Sample)>>>,
    answer: f64,
}

impl LimitAlgorithm for Recorder {
    fn update(&mut self, limit: f64, sample: Sample) -> f64 {
        self.seen.lock().unwrap().push((limit, sample));
        self.answer
    }
    fn name(&self) -> &'static str {
        "recorder"
    }
}

type Seen = Arc<StdMutex<Vec<(f64, Sample)>>>;

fn recorder(answer: f64) -> (Recorder, Seen) {
    let seen: Seen = Arc::default();
    (
        Recorder {
            seen: Arc::clone(&seen),
            answer,
        },
        seen,
    )
}

fn manual() -> ManualClock {
    ManualClock::new(Duration::from_secs(1000))
}

#[test]
fn admits_up_to_the_limit_and_counts() {
    let limit = AdaptiveLimit::builder(Aimd::new())
        .initial_limit(2)
        .clock(manual())
        .build()
        .unwrap();
    let a = limit.try_acquire().unwrap();
    let b = limit.try_acquire().unwrap();
    assert_eq!(a.in_flight_at_start(), 1);
    assert_eq!(b.in_flight_at_start(), 2);
    assert_eq!(limit.try_acquire().unwrap_err(), Rejected::Full);
    assert_eq!(limit.in_flight(), 2);
    drop(a); // = ignore
    assert_eq!(limit.in_flight(), 1);
    let c = limit.try_acquire().unwrap();
    c.dropped();
    b.success();
    let m = limit.metrics();
    assert_eq!(
        (m.admitted, m.rejected, m.dropped, m.ignored, m.in_flight),
        (3, 1, 1, 1, 0)
    );
}

#[test]
fn a_window_of_n_samples_feeds_one_summary() {
    let (alg, seen) = recorder(7.0);
    let clock = manual();
    let limit = AdaptiveLimit::builder(alg)
        .initial_limit(10)
        .window_samples(3)
        .window_time(Duration::from_secs(60))
        .clock(clock.clone())
        .build()
        .unwrap();
    let p1 = limit.try_acquire().unwrap();
    let p2 = limit.try_acquire().unwrap();
    let p3 = limit.try_acquire().unwrap();
    p1.success_rtt(ms(10));
    p2.success_rtt(ms(20));
    assert!(seen.lock().unwrap().is_empty(), "window closed early");
    assert_eq!(limit.limit(), 10);
    clock.advance(ms(60));
    p3.dropped(); // rtt 60 ms by the clock
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let (old, s) = seen[0];
    assert_eq!(old, 10.0);
    assert_eq!(s.rtt, ms(30)); // (10 + 20 + 60) / 3
    assert_eq!(s.in_flight, 3); // the largest at admission
    assert!(s.dropped);
    assert_eq!(s.now, Duration::from_secs(1000) + ms(60));
    assert_eq!(limit.limit(), 7);
    assert_eq!(limit.metrics().limit_changes, 1);
}

#[test]
fn a_window_closes_on_time_with_few_samples() {
    let (alg, seen) = recorder(12.0);
    let clock = manual();
    let limit = AdaptiveLimit::builder(alg)
        .window_samples(100)
        .window_time(ms(100))
        .clock(clock.clone())
        .build()
        .unwrap();
    limit.try_acquire().unwrap().success();
    clock.advance(ms(99));
    limit.try_acquire().unwrap().success();
    assert!(seen.lock().unwrap().is_empty());
    clock.advance(ms(1));
    let p = limit.try_acquire().unwrap();
    clock.advance(ms(4));
    p.success();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1.rtt, ms(4) / 3); // (0 + 0 + 4) / 3
    assert_eq!(limit.limit(), 12);
}

/// Found in review: a caller's bogus `success_rtt` (here `Duration::MAX`) once set the next
/// time-based window to the end of time, and a quiet service stopped adapting.
#[test]
fn a_bogus_rtt_does_not_stop_time_based_windows() {
    let (alg, seen) = recorder(12.0);
    let clock = manual();
    let limit = AdaptiveLimit::builder(alg)
        .window_samples(1)
        .window_time(ms(100))
        .clock(clock.clone())
        .build()
        .unwrap();
    limit.try_acquire().unwrap().success_rtt(Duration::MAX);
    assert_eq!(seen.lock().unwrap().len(), 1);
    // Windows of one sample close at once either way; with larger windows, time closes them
    // again within the 68.7 s a sample's RTT is capped at, plus the window.
    let limit = {
        let (alg, seen2) = recorder(12.0);
        let l = AdaptiveLimit::builder(alg)
            .window_samples(100)
            .window_time(ms(100))
            .clock(clock.clone())
            .build()
            .unwrap();
        l.try_acquire().unwrap().success_rtt(Duration::MAX);
        l.try_acquire().unwrap().success(); // the first window closes on the bogus sample's time
        clock.advance(Duration::from_secs(69));
        l.try_acquire().unwrap().success();
        clock.advance(ms(100));
        l.try_acquire().unwrap().success();
        assert!(
            !seen2.lock().unwrap().is_empty(),
            "time-based windows still close"
        );
        l
    };
    assert_eq!(limit.limit(), 12);
}

#[test]
fn ignored_calls_are_no_samples() {
    let (alg, seen) = recorder(5.0);
    let limit = AdaptiveLimit::builder(alg)
        .window_samples(1)
        .clock(manual())
        .build()
        .unwrap();
    limit.try_acquire().unwrap().ignore();
    limit.try_acquire().unwrap().record(Outcome::Ignored);
    drop(limit.try_acquire().unwrap());
    assert!(seen.lock().unwrap().is_empty());
    assert_eq!(limit.metrics().ignored, 3);
    assert_eq!(limit.in_flight(), 0);
}

#[test]
fn proposals_are_clamped_and_non_finite_ones_ignored() {
    for (answer, want) in [
        (f64::NAN, 20),
        (f64::INFINITY, 20),
        (f64::NEG_INFINITY, 20),
        (1e300, 50),
        (-5.0, 3),
        (0.5, 3),
        (17.9, 17),
    ] {
        let (alg, _) = recorder(answer);
        let limit = AdaptiveLimit::builder(alg)
            .min_limit(3)
            .max_limit(50)
            .window_samples(1)
            .clock(manual())
            .build()
            .unwrap();
        limit.try_acquire().unwrap().success();
        assert_eq!(limit.limit(), want, "answer {answer}");
    }
}

#[test]
fn aimd_under_the_limit_grows_then_backs_off() {
    let limit = AdaptiveLimit::builder(Aimd::new())
        .initial_limit(4)
        .window_samples(4)
        .clock(manual())
        .build()
        .unwrap();
    // A window of 4 successes with the limit in use: 4 -> 5.
    let ps: Vec<_> = (0..4).map(|_| limit.try_acquire().unwrap()).collect();
    ps.into_iter().for_each(|p| p.success_rtt(ms(1)));
    assert_eq!(limit.limit(), 5);
    // A window with one drop: max(1, min(4, floor(5 * 0.9))) = 4.
    let ps: Vec<_> = (0..4).map(|_| limit.try_acquire().unwrap()).collect();
    for (i, p) in ps.into_iter().enumerate() {
        if i == 2 {
            p.dropped();
        } else {
            p.success_rtt(ms(1));
        }
    }
    assert_eq!(limit.limit(), 4);
}

#[test]
fn owned_permits_move_across_threads() {
    let limit = AdaptiveLimit::builder(Aimd::new())
        .initial_limit(1)
        .build()
        .unwrap();
    let p = limit.try_acquire_owned().unwrap();
    assert!(limit.try_acquire().is_err());
    std::thread::spawn(move || p.success_rtt(ms(1)))
        .join()
        .unwrap();
    assert_eq!(limit.in_flight(), 0);
    let _ = format!("{limit:?}");
}

#[test]
fn never_more_than_the_limit_in_flight_across_threads() {
    const LIMIT: u32 = 3;
    let limit = AdaptiveLimit::builder(Aimd::new())
        .min_limit(LIMIT)
        .max_limit(LIMIT)
        .initial_limit(LIMIT)
        .window_samples(1)
        .build()
        .unwrap();
    let inside = AtomicU32::new(0);
    std::thread::scope(|s| {
        for t in 0..4 {
            let (limit, inside) = (&limit, &inside);
            s.spawn(move || {
                for i in 0..20_000u32 {
                    if let Ok(p) = limit.try_acquire() {
                        let now = inside.fetch_add(1, O::SeqCst) + 1;
                        assert!(now <= LIMIT, "{now} inside");
                        inside.fetch_sub(1, O::SeqCst);
                        match (i + t) % 3 {
                            0 => p.success(),
                            1 => p.dropped(),
                            _ => p.ignore(),
                        }
                    }
                }
            });
        }
    });
    assert_eq!(limit.in_flight(), 0);
    let m = limit.metrics();
    assert_eq!(m.admitted + m.rejected, 80_000);
}

#[test]
fn builder_rejects_bad_settings() {
    let b = || AdaptiveLimit::builder(Aimd::new());
    assert_eq!(
        b().min_limit(0).build().unwrap_err(),
        ConfigError::MinLimit(0)
    );
    assert_eq!(
        b().min_limit(MAX_LIMIT + 1).build().unwrap_err(),
        ConfigError::MinLimit(MAX_LIMIT + 1)
    );
    assert_eq!(
        b().min_limit(10).max_limit(5).build().unwrap_err(),
        ConfigError::MaxLimit(5)
    );
    assert_eq!(
        b().initial_limit(1001).build().unwrap_err(),
        ConfigError::InitialLimit(1001)
    );
    assert_eq!(
        b().window_samples(0).build().unwrap_err(),
        ConfigError::WindowSamples(0)
    );
    assert_eq!(
        b().window_samples(MAX_WINDOW_SAMPLES + 1)
            .build()
            .unwrap_err(),
        ConfigError::WindowSamples(MAX_WINDOW_SAMPLES + 1)
    );
    assert_eq!(
        b().window_time(Duration::ZERO).build().unwrap_err(),
        ConfigError::WindowTime(Duration::ZERO)
    );
    let e = b()
        .window_time(Duration::from_secs(3601))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("window time"));
    let d = AdaptiveLimit::new(Vegas::new());
    assert_eq!(
        (d.limit(), d.bounds(), d.algorithm()),
        (20, (1, 1000), "vegas")
    );
}

#[test]
fn partitions_guarantee_shares_and_lend_unused_room() {
    let limit = AdaptiveLimit::builder(Aimd::new())
        .initial_limit(10)
        .clock(manual())
        .build()
        .unwrap();
    let parts = Partitioned::builder(limit)
        .partition("live", 0.7)
        .partition("batch", 0.3)
        .build()
        .unwrap();
    let live = parts.class("live").unwrap();
    let batch = parts.class("batch").unwrap();
    assert_eq!(parts.class("nope"), None);
    assert_eq!((parts.guaranteed(live), parts.guaranteed(batch)), (7, 3));
    // Batch borrows all 10 while live is idle.
    let mut held: Vec<_> = (0..10).map(|_| parts.try_acquire(batch).unwrap()).collect();
    assert_eq!(parts.try_acquire(batch).unwrap_err(), Rejected::Full);
    // Live still gets its 7, over the limit while batch's borrowed calls finish.
    let live_held: Vec<_> = (0..7).map(|_| parts.try_acquire(live).unwrap()).collect();
    assert!(parts.try_acquire(live).is_err());
    assert_eq!(parts.limit().in_flight(), 17);
    assert_eq!((parts.in_flight(live), parts.in_flight(batch)), (7, 10));
    assert_eq!((parts.rejected(live), parts.rejected(batch)), (1, 1));
    assert_eq!(parts.limit().metrics().rejected, 2);
    // Batch gives back: 17 -> 10 in flight; still full, and batch is above its share.
    let kept = held.split_off(7);
    for p in held {
        p.success_rtt(ms(1));
    }
    assert_eq!(parts.in_flight(batch), 3);
    assert!(parts.try_acquire(batch).is_err());
    drop(live_held);
    assert_eq!(parts.limit().in_flight(), 3);
    drop(kept);
    assert_eq!(parts.limit().in_flight(), 0);
    assert_eq!(parts.classes().collect::<Vec<_>>(), ["live", "batch"]);
}

#[test]
fn partition_builder_rejects_bad_settings() {
    let l = || AdaptiveLimit::new(Aimd::new());
    assert_eq!(
        Partitioned::builder(l()).build().unwrap_err(),
        ConfigError::NoPartitions
    );
    assert!(matches!(
        Partitioned::builder(l()).partition("a", 0.0).build(),
        Err(ConfigError::PartitionFraction { .. })
    ));
    assert!(matches!(
        Partitioned::builder(l()).partition("a", f64::NAN).build(),
        Err(ConfigError::PartitionFraction { .. })
    ));
    assert!(matches!(
        Partitioned::builder(l())
            .partition("a", 0.6)
            .partition("b", 0.5)
            .build(),
        Err(ConfigError::PartitionFractionsSum(_))
    ));
    assert_eq!(
        Partitioned::builder(l())
            .partition("a", 0.5)
            .partition("a", 0.5)
            .build()
            .unwrap_err(),
        ConfigError::DuplicatePartition("a".into())
    );
    // 0.7 + 0.2 + 0.1 is 1.0000000000000002 in floats: accepted.
    assert!(
        Partitioned::builder(l())
            .partition("a", 0.7)
            .partition("b", 0.2)
            .partition("c", 0.1)
            .build()
            .is_ok()
    );
}

/// One step of a proptest script: how a call ends and how long it took.
#[derive(Debug, Clone)]
enum Step {
    Success(u64),
    Drop(u64),
    Ignore,
    /// Acquire this many at once (bursts) then close them all as successes of this RTT.
    Burst(u8, u64),
}

fn step() -> impl Strategy<Value = Step> {
    // RTTs from 0 to past the per-sample clamp (2^36 ns), biased to realistic ones.
    let rtt = prop_oneof![0u64..50_000_000, 0u64..u64::MAX];
    prop_oneof![
        rtt.clone().prop_map(Step::Success),
        rtt.clone().prop_map(Step::Drop),
        Just(Step::Ignore),
        (1u8..40, rtt).prop_map(|(n, r)| Step::Burst(n, r)),
    ]
}

fn algorithm(which: u8) -> Box<dyn LimitAlgorithm> {
    match which % 3 {
        0 => Box::new(Aimd::new()),
        1 => Box::new(Vegas::new()),
        _ => Box::new(Gradient2::new()),
    }
}

proptest! {
    #[test]
    fn the_limit_stays_within_bounds(
        which in 0u8..3,
        min in 1u32..30,
        span in 0u32..60,
        window in 1u32..5,
        steps in proptest::collection::vec(step(), 1..300),
    ) {
        let max = min + span;
        let clock = manual();
        let limit = AdaptiveLimit::builder(algorithm(which))
            .min_limit(min)
            .max_limit(max)
            .initial_limit(min)
            .window_samples(window)
            .clock(clock.clone())
            .build()
            .unwrap();
        for s in steps {
            match s {
                Step::Success(r) | Step::Drop(r) => {
                    if let Ok(p) = limit.try_acquire() {
                        clock.advance(Duration::from_nanos(r % 10_000_000_000));
                        if matches!(s, Step::Drop(_)) { p.dropped() } else { p.success() }
                    }
                }
                Step::Ignore => {
                    if let Ok(p) = limit.try_acquire() { p.ignore() }
                }
                Step::Burst(n, r) => {
                    let ps: Vec<_> = (0..n).filter_map(|_| limit.try_acquire().ok()).collect();
                    prop_assert!(u32::try_from(ps.len()).unwrap() <= max);
                    for p in ps { p.success_rtt(Duration::from_nanos(r)) }
                }
            }
            let l = limit.limit();
            prop_assert!((min..=max).contains(&l), "limit {} outside [{}, {}]", l, min, max);
        }
        prop_assert_eq!(limit.in_flight(), 0);
    }

    /// Driven directly (as a simulator does), each algorithm returns a finite, positive
    /// limit from any finite one and any sample.
    #[test]
    fn algorithms_stay_finite(
        which in 0u8..3,
        start in 1.0f64..2000.0,
        samples in proptest::collection::vec((0u64..u64::MAX, 0u32..5000, any::<bool>()), 1..400),
    ) {
        let mut alg = algorithm(which);
        let mut limit = start;
        for (i, (rtt, in_flight, dropped)) in samples.into_iter().enumerate() {
            let s = Sample { rtt: Duration::from_nanos(rtt), in_flight, dropped, now: ms(i as u64) };
            limit = alg.update(limit, s);
            prop_assert!(limit.is_finite() && limit > 0.0, "{} gave {}", alg.name(), limit);
            limit = limit.clamp(1.0, 1000.0);
        }
    }
}
