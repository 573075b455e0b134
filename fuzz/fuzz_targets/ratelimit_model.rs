//! Differential target: a `RateLimiter` and a `KeyedRateLimiter` driven by arbitrary clock
//! advances, clock rewinds, checks, multi-token checks and quota changes (extreme quotas
//! included), against a plain token bucket per key written for this target (its interval and
//! size computed here from the quota's inputs, not read from `Quota`); and a `SlidingWindow`
//! (any limit, any window length) against a brute-force count over the log of admitted
//! requests. Every admit/deny decision and every `retry_after` must agree.
#![no_main]

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
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

const NANOS_PER_SEC: u128 = 1_000_000_000;
/// The documented bound on a bucket's refill time (`MAX_REFILL`), 2^62 ns.
const MAX_REFILL_NANOS: u128 = 1 << 62;

impl QuotaSpec {
    /// The model's numbers from the quota's inputs, as the `Quota` docs define them: the
    /// interval is the period divided by the count rounded up to a whole nanosecond (1 ns ..
    /// `MAX_REFILL`), the default burst is one second's worth (at least 1), and the bucket
    /// holds `burst` intervals, or as many whole intervals as fit in `MAX_REFILL`.
    /// `None` where the quota is an error.
    fn model(self) -> Option<Model> {
        let (count, period) = match self.spec {
            Spec::PerSecond(n) => (u128::from(n), NANOS_PER_SEC),
            Spec::PerMinute(n) => (u128::from(n), 60 * NANOS_PER_SEC),
            Spec::PerHour(n) => (u128::from(n), 3600 * NANOS_PER_SEC),
            Spec::Period(ns) => (1, u128::from(ns)),
        };
        if count == 0 || period == 0 || self.burst == Some(0) {
            return None;
        }
        let interval = period.div_ceil(count).clamp(1, MAX_REFILL_NANOS);
        let per_second = match self.spec {
            Spec::Period(_) => NANOS_PER_SEC / interval,
            _ => count * NANOS_PER_SEC / period,
        };
        let burst = self
            .burst
            .map_or(per_second.clamp(1, u128::from(u32::MAX)), u128::from);
        let depth = burst.min(MAX_REFILL_NANOS / interval) * interval;
        Some(Model {
            depth: depth as i128,
            interval: interval as i128,
            cap: (depth / interval) as u32,
        })
    }

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
    /// The clock moves back by this many nanoseconds.
    Rewind(u32),
    /// The clock moves back by this many seconds.
    RewindSeconds(u16),
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

/// The reference: a token bucket of `depth` nanoseconds of credit (a token costs
/// `interval`), refilled by elapsed time. It is kept as its debt's end: `full_at`, the instant
/// it is full again, so that at time `t` it holds `depth - max(0, full_at - t)`. A quota change
/// keeps the debt. An earlier time than before is judged against the same debt (the
/// documented clamp: going back in time never refills), so the bucket holds less there.
#[derive(Clone, Copy)]
struct Bucket {
    full_at: i128,
}

const FULL: Bucket = Bucket { full_at: 0 };

struct Model {
    depth: i128,
    interval: i128,
    cap: u32,
}

impl Model {
    /// Ok, or Err(Some(wait ns)), or Err(None) for "never fits".
    fn take(&self, b: &mut Bucket, now: i128, n: u32) -> Result<(), Option<u128>> {
        if n == 0 {
            // Documented: zero tokens always fit, even in debt after a quota shrank.
            return Ok(());
        }
        let cost = i128::from(n) * self.interval;
        if cost > self.depth {
            return Err(None);
        }
        let level = self.depth - (b.full_at - now).max(0);
        if cost > level {
            return Err(Some((cost - level) as u128));
        }
        b.full_at = b.full_at.max(now) + cost;
        Ok(())
    }
}

/// Puts every key in shard 0 of the keyed limiter (the hash is below 2^8, and shards are
/// picked from bits 20 and up), so its per-shard clamp of backwards time is one clamp the model
/// can follow: the latest time of any keyed check.
#[derive(Clone, Copy, Default)]
struct OneShard;

#[derive(Default)]
struct Low(u64);

impl Hasher for Low {
    fn finish(&self) -> u64 {
        self.0 & 0xFF
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.wrapping_mul(31).wrapping_add(u64::from(*b));
        }
    }
}

impl BuildHasher for OneShard {
    type Hasher = Low;

    fn build_hasher(&self) -> Low {
        Low::default()
    }
}

fn outcome(r: Result<(), CheckNError>) -> Result<(), Option<u128>> {
    r.map_err(|e| e.retry_after().map(|d| d.as_nanos()))
}

const START: u64 = 1_700_000_000_000_000_000;

fuzz_target!(|input: Input| {
    let Some(quota) = input.quota.quota() else {
        assert!(
            input.quota.model().is_none(),
            "the model accepts {:?}",
            input.quota
        );
        return;
    };
    let Some(mut model) = input.quota.model() else {
        panic!("the model rejects {:?}", input.quota);
    };
    let clock = ManualClock::new(Duration::from_nanos(START));
    let direct = RateLimiter::with_clock(quota, clock.clone());
    // 32 shards of up to 1,800 keys; every key in shard 0 (see `OneShard`).
    let keyed = KeyedRateLimiter::with_hasher(quota, 32 * 784, clock.clone(), OneShard);
    let mut bucket = FULL;
    let mut buckets: HashMap<u8, Bucket> = HashMap::new();
    // The latest time the keyed limiter's shard has judged at.
    let mut keyed_latest: i128 = 0;
    let mut abs = START;
    let (limit, window_ns) = (input.window.0.max(1), input.window.1.max(1));
    let sliding =
        SlidingWindow::with_clock(limit, Duration::from_nanos(window_ns), clock.clone()).unwrap();
    let mut log: Vec<(u128, u32)> = Vec::new();
    let mut window_latest: i128 = 0;
    for op in input.ops.into_iter().take(500) {
        // Readings before the limiters started read as their start.
        let now = i128::from(abs.saturating_sub(START));
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
            Op::Rewind(ns) => {
                abs = abs.saturating_sub(u64::from(ns));
                clock.set(Duration::from_nanos(abs));
                continue;
            }
            Op::RewindSeconds(s) => {
                abs = abs.saturating_sub(u64::from(s) * 1_000_000_000);
                clock.set(Duration::from_nanos(abs));
                continue;
            }
            Op::Peek => {
                let mut copy = bucket;
                let got = direct.peek().map_err(CheckNError::from);
                assert_eq!(outcome(got), model.take(&mut copy, now, 1), "peek at {now}");
                continue;
            }
            Op::SetQuota(spec) => {
                let Some(q) = spec.quota() else {
                    assert!(spec.model().is_none(), "the model accepts {spec:?}");
                    continue;
                };
                let Some(next) = spec.model() else {
                    panic!("the model rejects {spec:?}");
                };
                // Every bucket keeps its debt (its `full_at`).
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

        // The keyed limiter judges at the latest time its shard has seen; a check that asks
        // for tokens (`n > 0` that can fit) makes `now` the latest if it is later.
        let b = buckets.entry(key).or_insert(FULL);
        let fits = n > 0 && i128::from(n) * model.interval <= model.depth;
        if fits {
            keyed_latest = keyed_latest.max(now);
        }
        let expected = model.take(b, now.max(keyed_latest), n);
        let got = keyed.check_key_n(&key, n);
        if let Err(CheckNError::Denied(d)) = got {
            assert!(!d.is_key_capacity(), "256 keys never fill a shard of 1,800");
        }
        assert_eq!(outcome(got), expected, "keyed {key}: n {n} at {now}");

        // The window as the limiter took it (cut to MAX_REFILL). It clamps time that moves
        // backwards to the latest time a check (of `n` up to the limit) has seen.
        let got = sliding.check_n(n);
        if n > limit {
            assert!(matches!(got, Err(CheckNError::InsufficientCapacity { .. })));
            continue;
        }
        window_latest = window_latest.max(now);
        let (w, t) = (sliding.window().as_nanos(), window_latest as u128);
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
