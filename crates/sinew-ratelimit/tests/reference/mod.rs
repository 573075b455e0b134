//! The reference models of the limiters, written as plainly as possible, and a driver that runs
//! the same operations on the real limiters and the models and checks that they agree on every
//! decision, every `retry_after` and every count in `metrics()`.
//!
//! - A `RateLimiter` and a `KeyedRateLimiter` against a plain token bucket per key (its
//!   interval and size computed here from the quota's inputs, as the `Quota` docs define them,
//!   not read from `Quota`'s accessors).
//! - A `SlidingWindow` (any limit, any window length) against a brute-force count over the log
//!   of admitted requests.
//!
//! Shared by the proptests in `tests/properties.rs` and `tests/keyed.rs` and by the fuzz target
//! `fuzz/fuzz_targets/ratelimit_model.rs` (which includes this file with `#[path]`).
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use sinew_ratelimit::{
    CheckNError, KeyedRateLimiter, ManualClock, Quota, RateLimiter, SlidingWindow,
};

/// The clock's reading when the limiters are made (ns): late enough that rewinds stay above 0.
pub const START: u64 = 1_700_000_000_000_000_000;

const NANOS_PER_SEC: u128 = 1_000_000_000;
/// The documented bound on a bucket's refill time (`MAX_REFILL`), 2^62 ns.
const MAX_REFILL_NANOS: u128 = 1 << 62;

/// How a quota is asked for: a constructor and its argument.
#[derive(Debug, Clone, Copy)]
pub enum Spec {
    PerSecond(u32),
    PerMinute(u32),
    PerHour(u32),
    /// `Quota::with_period` of this many nanoseconds.
    Period(u64),
}

/// A quota as the caller writes it: a constructor, then `burst` if given.
#[derive(Debug, Clone, Copy)]
pub struct QuotaSpec {
    pub spec: Spec,
    pub burst: Option<u32>,
}

impl QuotaSpec {
    /// `n` per second, burst `burst`.
    pub fn per_second(n: u32, burst: u32) -> QuotaSpec {
        QuotaSpec {
            spec: Spec::PerSecond(n),
            burst: Some(burst),
        }
    }

    /// The model's numbers from the quota's inputs, as the `Quota` docs define them: the
    /// interval is the period divided by the count rounded up to a whole nanosecond (1 ns ..
    /// `MAX_REFILL`), the default burst is one second's worth (at least 1), and the bucket
    /// holds `burst` intervals, or as many whole intervals as fit in `MAX_REFILL`.
    /// `None` where the quota is an error.
    pub fn model(self) -> Option<Model> {
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

    /// The real quota, or `None` where a constructor refuses it.
    pub fn quota(self) -> Option<Quota> {
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

/// A token bucket of `depth` nanoseconds of credit (a token costs `interval`), refilled by
/// elapsed time. It is kept as its debt's end: `full_at`, the instant it is full again, so
/// that at time `t` it holds `depth - max(0, full_at - t)`. A quota change keeps the debt
/// (what GCRA's kept TAT means). An earlier time than before is judged against the same debt
/// (the documented clamp: going back in time never refills), so the bucket holds less there.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    full_at: i128,
}

/// A bucket never used: full at any time.
pub const FULL: Bucket = Bucket { full_at: 0 };

/// A quota's numbers: bucket size and token cost in nanoseconds, and the whole tokens the
/// bucket holds.
#[derive(Debug, Clone, Copy)]
pub struct Model {
    pub depth: i128,
    pub interval: i128,
    pub cap: u32,
}

impl Model {
    /// Takes `n` tokens from `b` at `now`: `Ok`, or `Err(Some(wait ns))`, or `Err(None)` for
    /// "never fits".
    pub fn take(&self, b: &mut Bucket, now: i128, n: u32) -> Result<(), Option<u128>> {
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

    /// Whether `b` is full at `now` (the same as a bucket never used).
    pub fn is_full(&self, b: &Bucket, now: i128) -> bool {
        b.full_at <= now
    }
}

/// Would `n` more requests fit at `now` in a sliding window of `window` ns admitting `limit`,
/// by brute force over every admitted request (`log`: times and sizes)?
pub fn window_fits(log: &[(u128, u32)], window: u128, limit: u32, now: u128, n: u32) -> bool {
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

/// Puts every key in shard 0 of the keyed limiter (the hash is below 2^8, and shards are
/// picked from bits 20 and up), so its per-shard clamp of backwards time is one clamp the model
/// can follow: the latest time of any keyed check.
#[derive(Debug, Clone, Copy, Default)]
pub struct OneShard;

#[derive(Debug, Default)]
pub struct Low(u64);

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

/// One step of a run.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    /// The clock moves forward by this many nanoseconds (saturating).
    Advance(u64),
    /// The clock moves back by this many nanoseconds (possibly before the limiters started,
    /// which reads as their start).
    Rewind(u64),
    /// One token for this key (the shared limiter and the window ignore the key).
    Check(u8),
    /// `n` tokens for this key.
    CheckN(u8, u32),
    /// Would the shared limiter admit one token now?
    Peek,
    /// A new quota for the shared and the keyed limiter (ignored if it is an error).
    SetQuota(QuotaSpec),
}

fn outcome(r: Result<(), CheckNError>) -> Result<(), Option<u128>> {
    r.map_err(|e| e.retry_after().map(|d| d.as_nanos()))
}

/// The counts `metrics()` should show, from the model's decisions: an admission is a check
/// that took tokens, a denial one refused with a wait; nothing else counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    admitted: u64,
    denied: u64,
}

impl Counts {
    fn record(&mut self, n: u32, decided: Result<(), Option<u128>>) {
        match decided {
            Ok(()) if n > 0 => self.admitted += 1,
            Err(Some(_)) => self.denied += 1,
            _ => {}
        }
    }
}

/// Runs `ops` on a `RateLimiter`, a `KeyedRateLimiter` (every key in one shard, never full)
/// and a `SlidingWindow` of `window = (limit, length ns)` (each at least 1), all on one
/// `ManualClock`, and panics at the first disagreement with the models.
pub fn run(quota: QuotaSpec, window: (u32, u64), ops: &[Op]) {
    let Some(real) = quota.quota() else {
        assert!(quota.model().is_none(), "the model accepts {quota:?}");
        return;
    };
    let Some(mut model) = quota.model() else {
        panic!("the model rejects {quota:?}");
    };
    let clock = ManualClock::new(Duration::from_nanos(START));
    let direct = RateLimiter::with_clock(real, clock.clone());
    // 32 shards of up to 1,800 keys; every key in shard 0 (see `OneShard`).
    let keyed = KeyedRateLimiter::with_hasher(real, 32 * 784, clock.clone(), OneShard);
    let mut bucket = FULL;
    let mut buckets: HashMap<u8, Bucket> = HashMap::new();
    // The latest time the keyed limiter's shard has judged at.
    let mut keyed_latest: i128 = 0;
    let mut abs = START;
    let (limit, window_ns) = (window.0.max(1), window.1.max(1));
    let sliding =
        SlidingWindow::with_clock(limit, Duration::from_nanos(window_ns), clock.clone()).unwrap();
    let mut log: Vec<(u128, u32)> = Vec::new();
    let mut window_latest: i128 = 0;
    let (mut direct_counts, mut keyed_counts, mut window_counts) =
        (Counts::default(), Counts::default(), Counts::default());
    for &op in ops {
        // Readings before the limiters started read as their start.
        let now = i128::from(abs.saturating_sub(START));
        let (key, n) = match op {
            Op::Advance(ns) => {
                abs = abs.saturating_add(ns);
                clock.advance(Duration::from_nanos(ns));
                continue;
            }
            Op::Rewind(ns) => {
                abs = abs.saturating_sub(ns);
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
        direct_counts.record(n, expected);

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
        keyed_counts.record(n, expected);

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
            Ok(()) => {
                log.push((t, n));
                window_counts.record(n, Ok(()));
            }
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
                window_counts.record(n, Err(Some(wait)));
            }
        }
    }
    let m = direct.metrics();
    assert_eq!(
        (m.admitted, m.denied),
        (direct_counts.admitted, direct_counts.denied),
        "direct metrics"
    );
    let m = keyed.metrics();
    assert_eq!(
        (m.admitted, m.denied, m.key_capacity_denied),
        (keyed_counts.admitted, keyed_counts.denied, 0),
        "keyed metrics"
    );
    let m = sliding.metrics();
    assert_eq!(
        (m.admitted, m.denied),
        (window_counts.admitted, window_counts.denied),
        "window metrics"
    );
}
