//! `HlcTimestamp::decode` on arbitrary bytes (no panic; what decodes re-encodes to the input),
//! and a differential target: a `HybridClock` over a `ManualClock` driven by arbitrary
//! `now`/`update`/clock moves, against the paper's rules written on plain `(l, c)` pairs.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sinew_clock::{HlcError, HlcTimestamp, HybridClock, ManualClock};

#[derive(Arbitrary, Debug)]
enum Op {
    Now,
    /// Any timestamp at all, mostly far from the clock.
    UpdateRaw(u64),
    /// A timestamp this many ms from the physical clock, with this counter.
    UpdateNear(i16, u16),
    Advance(u16),
    SetBack(u16),
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    bytes: &'a [u8],
    start_ms: u64,
    /// `None`: `Duration::MAX`, no limit.
    max_offset_ms: Option<u16>,
    ops: Vec<Op>,
}

/// The largest ms a `ManualClock` holds (it keeps `u64` nanoseconds).
const CLOCK_MAX_MS: u64 = u64::MAX / 1_000_000;

/// The reference: `(l, c)` with `c` unbounded, carried into `l` past 16 bits, and the whole
/// saturating at the last timestamp.
fn reference(last: (u64, u64), received: Option<(u64, u64)>, pt: u64) -> (u64, u64) {
    let lm = received.map_or(0, |r| r.0);
    let l = last.0.max(lm).max(pt);
    let mut counters = vec![];
    if last.0 == l {
        counters.push(last.1);
    }
    if let Some((rl, rc)) = received {
        if rl == l {
            counters.push(rc);
        }
    }
    let (l, c) = match counters.into_iter().max() {
        Some(c) if c == 0xFFFF => (l + 1, 0),
        Some(c) => (l, c + 1),
        None => (l, 0),
    };
    if l > HlcTimestamp::MAX_PHYSICAL_MS {
        (HlcTimestamp::MAX_PHYSICAL_MS, 0xFFFF)
    } else {
        (l, c)
    }
}

fn pair(t: HlcTimestamp) -> (u64, u64) {
    (t.physical_ms(), u64::from(t.logical()))
}

fuzz_target!(|input: Input<'_>| {
    match HlcTimestamp::decode(input.bytes) {
        Ok(t) => assert_eq!(&t.to_bytes()[..], input.bytes),
        Err(e) => assert_eq!(
            e,
            HlcError::Length {
                len: input.bytes.len()
            }
        ),
    }

    let mut pt = input.start_ms.min(CLOCK_MAX_MS);
    let wall = ManualClock::new(Duration::from_millis(pt));
    let max_offset = input
        .max_offset_ms
        .map_or(Duration::MAX, |ms| Duration::from_millis(u64::from(ms)));
    let clock = HybridClock::with_max_offset(&wall, max_offset);
    let mut model = (0, 0);
    for op in input.ops {
        let received = match op {
            Op::Now => None,
            Op::UpdateRaw(raw) => Some(HlcTimestamp::from_u64(raw)),
            Op::UpdateNear(delta, c) => {
                let l = pt.saturating_add_signed(i64::from(delta));
                let Ok(t) = HlcTimestamp::new(l, c) else {
                    continue;
                };
                Some(t)
            }
            Op::Advance(ms) | Op::SetBack(ms) => {
                pt = if matches!(op, Op::Advance(_)) {
                    pt.saturating_add(u64::from(ms)).min(CLOCK_MAX_MS)
                } else {
                    pt.saturating_sub(u64::from(ms))
                };
                wall.set(Duration::from_millis(pt));
                continue;
            }
        };
        let before = clock.last();
        let issued = match received {
            None => {
                model = reference(model, None, pt);
                clock.now()
            }
            Some(r) => {
                let ahead = r.physical_ms().saturating_sub(pt);
                let limit = input.max_offset_ms.map_or(u64::MAX, u64::from);
                match clock.update(r) {
                    Err(e) => {
                        assert!(ahead > limit, "{e}");
                        assert_eq!(
                            e,
                            HlcError::ClockOffset {
                                received_ms: r.physical_ms(),
                                local_ms: pt,
                                max_offset_ms: limit,
                            }
                        );
                        assert_eq!(clock.last(), before, "refusal changed the clock");
                        continue;
                    }
                    Ok(t) => {
                        assert!(ahead <= limit);
                        assert!(t > r || r == HlcTimestamp::MAX);
                        model = reference(model, Some(pair(r)), pt);
                        t
                    }
                }
            }
        };
        assert!(issued > before || before == HlcTimestamp::MAX);
        assert!(issued.physical_ms() >= pt);
        assert_eq!(clock.last(), issued);
        assert_eq!(pair(issued), model);
    }
});
