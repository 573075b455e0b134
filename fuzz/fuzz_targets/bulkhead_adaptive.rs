//! Arbitrary round-trip times, in-flight counts and drops into each limit algorithm, directly
//! and through an `AdaptiveLimit`: the algorithms' limits stay finite and positive, the
//! adaptive limit stays within its bounds, and never more calls are in flight than admitted.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sinew_bulkhead::{AdaptiveLimit, Aimd, Gradient2, LimitAlgorithm, ManualClock, Sample, Vegas};

#[derive(Arbitrary, Debug)]
struct Step {
    rtt_micros: u32,
    in_flight: u16,
    dropped: bool,
    /// Calls to admit before this sample.
    admit: u8,
    advance_ms: u8,
}

fn drive(mut algorithm: impl LimitAlgorithm + Clone + 'static, steps: &[Step]) {
    let mut limit = 20.0;
    for (i, s) in steps.iter().enumerate() {
        let mut sample = Sample::new(
            Duration::from_micros(u64::from(s.rtt_micros)),
            u32::from(s.in_flight),
        )
        .at(Duration::from_millis(i as u64));
        if s.dropped {
            sample = sample.dropped();
        }
        limit = algorithm.update(limit, sample);
        assert!(
            limit.is_finite() && limit > 0.0,
            "{} gave {limit}",
            algorithm.name()
        );
    }
    let clock = ManualClock::new(Duration::from_secs(1));
    let Ok(adaptive) = AdaptiveLimit::builder(algorithm)
        .min_limit(2)
        .max_limit(64)
        .window_samples(4)
        .clock(clock.clone())
        .build()
    else {
        return;
    };
    let mut held = Vec::new();
    for s in steps {
        for _ in 0..(s.admit % 8) {
            if let Ok(p) = adaptive.try_acquire_owned() {
                held.push(p);
            }
        }
        assert!(adaptive.in_flight() as usize == held.len());
        assert!((2..=64).contains(&adaptive.limit()));
        clock.advance(Duration::from_millis(u64::from(s.advance_ms)));
        if let Some(p) = held.pop() {
            if s.dropped {
                p.dropped();
            } else {
                p.success_rtt(Duration::from_micros(u64::from(s.rtt_micros)));
            }
        }
    }
}

fuzz_target!(|steps: Vec<Step>| {
    let steps = &steps[..steps.len().min(500)];
    drive(Aimd::new(), steps);
    drive(Vegas::new(), steps);
    drive(Gradient2::new(), steps);
});
