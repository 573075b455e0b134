//! Differential target: a `Generator` driven by arbitrary clock moves and requests, against a
//! plain reference model of the documented semantics (no atomics, no bit packing). Every ID
//! and every error must match the model's.
#![no_main]

use std::time::{Duration, SystemTime};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sinew_snowflake::{
    Exhaustion, Generator, Id, Layout, ManualClock, NextBatchError, NextIdError,
};

#[derive(Arbitrary, Debug)]
enum Op {
    /// Move the clock by this many ms (negative: backwards).
    Step(i16),
    NextId,
    NextBatch(u8),
}

#[derive(Arbitrary, Debug)]
struct Input {
    sequence_bits: u8,
    timestamp_bits: u8,
    tolerance_ms: u8,
    resume: Option<(u16, u8)>,
    ops: Vec<Op>,
}

const EPOCH_SECS: u64 = 1_700_000_000;
const WORKER: u64 = 1;

/// The documented behaviour, written as plainly as possible.
struct Model {
    layout: Layout,
    tolerance_ticks: u64,
    /// The last (tick, sequence) issued.
    last: Option<(u64, u64)>,
}

impl Model {
    /// `n` IDs, or the error `next_batch(n)` returns (`next_id`'s are the same without the
    /// batch size).
    fn reserve(&mut self, n: u64, now: u64) -> Result<Vec<Id>, NextBatchError> {
        let per_tick = self.layout.max_sequence() + 1;
        let expired = NextIdError::Expired {
            at: self.layout.expires_at(),
        };
        if n == 0 || n > per_tick {
            return Err(NextBatchError::BatchSize {
                requested: n,
                max: per_tick,
            });
        }
        if now > self.layout.max_timestamp() {
            return Err(expired.into());
        }
        let last_tick = self.last.map_or(0, |(t, _)| t);
        if last_tick > now + self.tolerance_ticks {
            return Err(NextIdError::ClockMovedBackwards {
                by: self.layout.tick() * u32::try_from(last_tick - now).unwrap_or(u32::MAX),
                tolerance: Duration::from_millis(self.tolerance_ticks),
            }
            .into());
        }
        let (mut tick, mut seq) = match self.last {
            Some((t, s)) if t >= now => {
                if s + 1 < per_tick {
                    (t, s + 1)
                } else {
                    (t + 1, 0)
                }
            }
            _ => (now, 0),
        };
        if seq + n > per_tick {
            (tick, seq) = (tick + 1, 0);
        }
        if tick > self.layout.max_timestamp() {
            return Err(expired.into());
        }
        if tick > now && tick > last_tick {
            return Err(NextIdError::SequenceExhausted.into());
        }
        self.last = Some((tick, seq + n - 1));
        Ok((seq..seq + n)
            .map(|s| self.layout.compose(tick, WORKER, s).unwrap())
            .collect())
    }
}

fuzz_target!(|input: Input| {
    let sequence_bits = u32::from(input.sequence_bits % 5);
    let timestamp_bits = 10 + u32::from(input.timestamp_bits % 32);
    let Ok(layout) = Layout::builder()
        .timestamp_bits(timestamp_bits)
        .worker_bits(2)
        .sequence_bits(sequence_bits)
        .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_SECS))
        .build()
    else {
        return;
    };
    let start_ms: u64 = 50_000;
    let clock = ManualClock::new(Duration::from_secs(EPOCH_SECS) + Duration::from_millis(start_ms));
    let tolerance = Duration::from_millis(u64::from(input.tolerance_ms));
    let mut builder = Generator::builder(layout, WORKER)
        .clock(clock.clone())
        .exhaustion(Exhaustion::Error)
        .rollback_tolerance(tolerance);
    let mut model = Model {
        layout,
        tolerance_ticks: u64::from(input.tolerance_ms),
        last: None,
    };
    if let Some((t, s)) = input.resume {
        let t = u64::from(t) & layout.max_timestamp();
        let s = u64::from(s) & layout.max_sequence();
        builder = builder.resume_after(layout.compose(t, WORKER, s).unwrap());
        model.last = Some((t, s));
    }
    let generator = builder.build().unwrap();
    let mut now_ms = start_ms;
    for op in input.ops {
        match op {
            Op::Step(ms) => {
                now_ms = now_ms.saturating_add_signed(i64::from(ms));
                clock.set(Duration::from_secs(EPOCH_SECS) + Duration::from_millis(now_ms));
            }
            Op::NextId => {
                let got = generator
                    .next_id()
                    .map(|id| vec![id])
                    .map_err(NextBatchError::from);
                assert_eq!(got, model.reserve(1, now_ms));
            }
            Op::NextBatch(n) => {
                let got = generator
                    .next_batch(u64::from(n))
                    .map(|b| b.collect::<Vec<_>>());
                assert_eq!(got, model.reserve(u64::from(n), now_ms));
            }
        }
        assert_eq!(
            generator.last_id(),
            model
                .last
                .map(|(t, s)| layout.compose(t, WORKER, s).unwrap())
        );
    }
});
