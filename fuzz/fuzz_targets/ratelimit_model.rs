//! Differential target: a `RateLimiter` and a `KeyedRateLimiter` driven by arbitrary clock
//! advances, checks, multi-token checks and quota changes (extreme quotas included), against a
//! plain token bucket per key written for this target; and a `SlidingWindow` (any limit, any
//! window length) against a brute-force count over the log of admitted requests. Every
//! admit/deny decision and every `retry_after` must agree.
#![no_main]

use std::collections::HashMap;
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sinew_ratelimit::{
    CheckNError, KeyedRateLimiter, ManualClock, Quota, RateLimiter, SlidingWindow,
};

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Spec {
    PerSecond(u32),
    PerMinute(u32),
    PerHour(u32),
    Period(u64),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct QuotaSpec {
    spec: Spec,
    burst: Option<u32>,
}

impl QuotaSpec {
    fn quota(self) -> Option<Quota> {
        let q = match self.spec {
            Spec::PerSecond(n) => Quota::per_second(n),
            Spec::PerMinute(n) => Quota::per_minute(n),
            Spec::PerHour(n) => Quota::per_hour(n),
            Spec::Period(ns) => Quota::with_period(Duration::from_nanos(ns)),
        };
        match (q, self.burst) {
            (Ok(q), Some(b)) => q.burst(b).ok(),
            (Ok(q), None) => Some(q),
            (Err(_), _) => None,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    Advance(u32),
    Jump(u16),
    Check(u8),
    CheckN(u8, u32),
    SmallN(u8, u8),
    Peek,
    SetQuota(QuotaSpec),
}

#[derive(Arbitrary, Debug)]
struct Input {
    quota: QuotaSpec,
    window: (u32, u64),
    ops: Vec<Op>,
}

/// Would `n` more fit at `now`, by brute force over every admitted request?
fn window_fits(log: &[(u128, u32)], window: u128, limit: u32, now: u128, n: u32) -> bool {
    let index = now / window;
    let count = |i: u128| -> u128 {
        log.iter()
            .filter(|(t, _)| t / window == i)
            .map(|(_, k)| u128::from(*k))
            .sum()
    };
    let previous = if index == 0 { 0 } else { count(index - 1) };
    let elapsed = now % window;
    previous * (window - elapsed) + (count(index) + u128::from(n)) * window
        <= u128::from(limit) * window
}

/// The reference: a token bucket holding `level` nanoseconds of credit (a token costs
/// `interval`), refilled by elapsed time up to `depth`. A quota change keeps the debt.
#[derive(Clone, Copy)]
struct Bucket {
    level: i128,
    last: u64,
}

struct Model {
    depth: i128,
    interval: i128,
    cap: u32,
}

impl Model {
    fn of(q: Quota) -> Model {
        Model {
            depth: q.refill_time().as_nanos() as i128,
            interval: q.interval().as_nanos() as i128,
            cap: q.effective_burst(),
        }
    }

    /// Ok, or Err(Some(wait ns)), or Err(None) for "never fits".
    fn take(&self, b: &mut Bucket, now: u64, n: u32) -> Result<(), Option<u128>> {
        b.level = (b.level + i128::from(now - b.last)).min(self.depth);
        b.last = now;
        if n == 0 {
            // Documented: zero tokens always fit, even in debt after a quota shrank.
            return Ok(());
        }
        let cost = i128::from(n) * self.interval;
        if cost > self.depth {
            return Err(None);
        }
        if cost > b.level {
            return Err(Some((cost - b.level) as u128));
        }
        b.level -= cost;
        Ok(())
    }
}

fn outcome(r: Result<(), CheckNError>) -> Result<(), Option<u128>> {
    r.map_err(|e| e.retry_after().map(|d| d.as_nanos()))
}

const START: u64 = 1_700_000_000_000_000_000;

fuzz_target!(|input: Input| {
    let Some(quota) = input.quota.quota() else {
        return;
    };
    let clock = ManualClock::new(Duration::from_nanos(START));
    let direct = RateLimiter::with_clock(quota, clock.clone());
    let keyed = KeyedRateLimiter::with_clock(quota, 1024, clock.clone());
    let mut model = Model::of(quota);
    let full = |m: &Model| Bucket {
        level: m.depth,
        last: 0,
    };
    let mut bucket = full(&model);
    let mut buckets: HashMap<u8, Bucket> = HashMap::new();
    let mut abs = START;
    let (limit, window_ns) = (input.window.0.max(1), input.window.1.max(1));
    let sliding =
        SlidingWindow::with_clock(limit, Duration::from_nanos(window_ns), clock.clone()).unwrap();
    let mut log: Vec<(u128, u32)> = Vec::new();
    for op in input.ops.into_iter().take(500) {
        let now = abs - START;
        let (key, n) = match op {
            Op::Advance(ns) => {
                abs = abs.saturating_add(u64::from(ns));
                clock.advance(Duration::from_nanos(u64::from(ns)));
                continue;
            }
            Op::Jump(s) => {
                let d = u64::from(s) * 1_000_000_000_000;
                abs = abs.saturating_add(d);
                clock.advance(Duration::from_nanos(d));
                continue;
            }
            Op::Peek => {
                let mut copy = bucket;
                let got = direct.peek().map_err(CheckNError::from);
                assert_eq!(outcome(got), model.take(&mut copy, now, 1), "peek at {now}");
                continue;
            }
            Op::SetQuota(spec) => {
                let Some(q) = spec.quota() else { continue };
                let next = Model::of(q);
                // Bring every bucket to `now` under the old quota, then keep the debt.
                for b in std::iter::once(&mut bucket).chain(buckets.values_mut()) {
                    b.level = (b.level + i128::from(now - b.last)).min(model.depth);
                    b.last = now;
                    b.level += next.depth - model.depth;
                }
                direct.set_quota(q);
                keyed.set_quota(q);
                model = next;
                continue;
            }
            Op::Check(key) => (key, 1),
            Op::CheckN(key, n) => (key, n),
            Op::SmallN(key, n) => (key, u32::from(n % 8)),
        };
        let expected = model.take(&mut bucket, now, n);
        let got = if n == 1 {
            direct.check().map_err(CheckNError::from)
        } else {
            direct.check_n(n)
        };
        assert_eq!(
            outcome(got),
            expected,
            "direct: n {n} at {now} (cap {})",
            model.cap
        );

        let b = buckets.entry(key).or_insert_with(|| full(&model));
        let expected = model.take(b, now, n);
        let got = keyed.check_key_n(&key, n);
        if let Err(CheckNError::Denied(d)) = got {
            assert!(!d.is_key_capacity(), "256 keys never fill 1024 slots");
        }
        assert_eq!(outcome(got), expected, "keyed {key}: n {n} at {now}");

        // The window as the limiter took it (cut to MAX_REFILL).
        let (w, t) = (sliding.window().as_nanos(), u128::from(now));
        let got = sliding.check_n(n);
        if n > limit {
            assert!(matches!(got, Err(CheckNError::InsufficientCapacity { .. })));
            continue;
        }
        let fits = window_fits(&log, w, limit, t, n);
        assert_eq!(got.is_ok(), fits, "window: n {n} at {now}");
        match got {
            Ok(()) => log.push((t, n)),
            Err(e) => {
                let wait = e.retry_after().expect("n fits the limit").as_nanos();
                assert!(wait >= 1);
                assert!(
                    window_fits(&log, w, limit, t + wait, n),
                    "fits after the wait"
                );
                assert!(
                    wait == 1 || !window_fits(&log, w, limit, t + wait - 1, n),
                    "not a nanosecond earlier"
                );
            }
        }
    }
});
