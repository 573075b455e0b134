//! The windowed latency sketch behind [`Hedge::delay`](crate::Hedge::delay): a log-bucketed
//! histogram (the HDR histogram's layout) of atomic counters, one per sub-window.
//!
//! # Buckets and the error bound
//!
//! Latencies are counted in nanoseconds. Below 32 ns each value has a bucket of its own. Above,
//! each power of two `[2^e, 2^(e+1))` is split into 32 equal buckets of width `2^(e-5)`, chosen
//! by the five bits after the leading one. A bucket reports its midpoint, which is within half
//! a width, `2^(e-6)`, of any value in it, and every value in it is at least `2^e`, so:
//!
//! > the reported quantile is within **1/64 (1.5625%)** of the true nearest-rank quantile of
//! > the latencies in the window (the `⌈q·n⌉`-th smallest of the `n`).
//!
//! The counts are exact, so the rank lands in the right bucket; only the value inside the
//! bucket is approximated. Latencies of 2^36 ns (about 68.7 s) or more are counted as
//! 2^36 - 1 ns: the top bucket reports about 68.2 s. That is 31 powers of two of 32 buckets
//! plus the 32 exact ones: 1,024 counters, 8 KiB per sub-window, 64 KiB per sketch.
//!
//! # Cost
//!
//! [`Sketch::record`] reads the clock and makes two relaxed atomic adds (the bucket and the
//! sub-window's count), plus, once per sub-window, the zeroing of the slot it rotates into.
//! [`Sketch::delay`] first sums the eight sub-window counts (for `min_samples`), then answers
//! from a cache refreshed at most every `window / 64` and at every sub-window boundary;
//! a refresh scans the live sub-windows' buckets from the top (a p95 stops well before the
//! bottom), a few microseconds, so the amortised cost per call is a few loads.

use std::time::Duration;

use super::window::{SUB_WINDOWS, Tag, Windows};
use crate::sync::{AtomicU64, Ordering};

/// Bits of mantissa after the leading one: 32 buckets per power of two.
const SUB_BITS: u32 = 5;
const PER_POWER: usize = 1 << SUB_BITS;
/// Latencies are clamped below `2^MAX_BITS` ns.
const MAX_BITS: u32 = 36;
/// The largest latency counted as itself, in nanoseconds.
const MAX_TRACKED: u64 = (1 << MAX_BITS) - 1;
/// Buckets per sub-window: the exact ones below 32 plus 32 per power of two from 2^5 to 2^35.
pub(crate) const BUCKETS: usize = (MAX_BITS - SUB_BITS + 1) as usize * PER_POWER;

/// The bucket of a latency of `nanos`.
#[inline]
fn bucket_of(nanos: u64) -> usize {
    let v = nanos.min(MAX_TRACKED);
    if v < PER_POWER as u64 {
        // Below 32: the value is its bucket.
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // >= SUB_BITS here
    let mantissa = (v >> (exp - SUB_BITS)) as usize & (PER_POWER - 1);
    (exp - SUB_BITS + 1) as usize * PER_POWER + mantissa
}

/// The value a bucket reports: its midpoint (the value itself for the exact buckets).
#[allow(clippy::cast_possible_truncation)] // bucket < BUCKETS: the group is below 32
fn value_of(bucket: usize) -> u64 {
    if bucket < PER_POWER {
        return bucket as u64;
    }
    let group = (bucket / PER_POWER) as u32; // 1 ..= 31
    let exp = group + SUB_BITS - 1;
    let width = 1u64 << (exp - SUB_BITS);
    let low = (1u64 << exp) + (bucket % PER_POWER) as u64 * width;
    low + width / 2
}

/// One sub-window's counters.
#[derive(Debug)]
struct Slot {
    tag: Tag,
    count: AtomicU64,
    buckets: Box<[AtomicU64]>,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            tag: Tag::new(),
            count: AtomicU64::new(0),
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn clear(&self) {
        self.count.store(0, Ordering::Relaxed);
        for b in self.buckets.iter() {
            b.store(0, Ordering::Relaxed);
        }
    }
}

/// A sliding-window quantile sketch of latencies; see the module docs.
#[derive(Debug)]
pub(crate) struct Sketch {
    windows: Windows,
    slots: Box<[Slot]>,
    quantile: f64,
    min_samples: u64,
    /// The cached delay in nanoseconds plus one; zero when nothing is cached.
    cached: AtomicU64,
    /// The clock reading (ns) until which `cached` may be returned.
    cached_until: AtomicU64,
}

impl Sketch {
    /// A sketch over `window` (at least [`SUB_WINDOWS`] ns, checked by the builder) answering
    /// the `quantile` (in `(0, 1]`) once `min_samples` latencies are in the window.
    pub(crate) fn new(window: Duration, quantile: f64, min_samples: u32) -> Sketch {
        Sketch {
            windows: Windows::new(window),
            slots: (0..SUB_WINDOWS).map(|_| Slot::new()).collect(),
            quantile,
            min_samples: u64::from(min_samples),
            cached: AtomicU64::new(0),
            cached_until: AtomicU64::new(0),
        }
    }

    /// Counts a latency at `now_nanos`.
    #[inline]
    pub(crate) fn record(&self, now_nanos: u64, latency: Duration) {
        let epoch = self.windows.epoch(now_nanos);
        let Some(slot) = self.slots.get(Windows::slot(epoch)) else {
            return;
        };
        if !slot.tag.claim(epoch, || slot.clear()) {
            return;
        }
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        if let Some(b) = slot.buckets.get(bucket_of(nanos)) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        slot.count.fetch_add(1, Ordering::Relaxed);
    }

    /// The live slots at `now_nanos` and their total count.
    fn live(&self, now_nanos: u64) -> ([bool; SUB_WINDOWS], u64, u64) {
        let epoch = self.windows.epoch(now_nanos);
        let mut live = [false; SUB_WINDOWS];
        let mut total = 0u64;
        for (is_live, slot) in live.iter_mut().zip(self.slots.iter()) {
            if Windows::is_live(slot.tag.load(), epoch) {
                *is_live = true;
                total = total.saturating_add(slot.count.load(Ordering::Relaxed));
            }
        }
        (live, total, epoch)
    }

    /// The number of latencies in the window at `now_nanos`.
    pub(crate) fn count(&self, now_nanos: u64) -> u64 {
        self.live(now_nanos).1
    }

    /// The nearest-rank `q`-quantile of the latencies in the window at `now_nanos`, within
    /// 1/64 relative; `None` for an empty window. A full scan, uncached.
    #[cfg(test)]
    pub(crate) fn quantile(&self, now_nanos: u64, q: f64) -> Option<Duration> {
        let (live, total, _) = self.live(now_nanos);
        self.scan(&live, total, q)
    }

    // `as u64` of a finite f64 in [0, total] (q is in (0, 1]) saturates, never wraps.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn scan(&self, live: &[bool; SUB_WINDOWS], total: u64, q: f64) -> Option<Duration> {
        if total == 0 {
            return None;
        }
        // Nearest rank r = ceil(q * n) in 1..=n; scanning from the top, the bucket holding it
        // is the first where the count from the top reaches n - r + 1.
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let from_top = total - rank + 1;
        let mut seen = 0u64;
        for bucket in (0..BUCKETS).rev() {
            for (slot, _) in self.slots.iter().zip(live).filter(|(_, l)| **l) {
                if let Some(b) = slot.buckets.get(bucket) {
                    seen = seen.saturating_add(b.load(Ordering::Relaxed));
                }
            }
            if seen >= from_top {
                return Some(Duration::from_nanos(value_of(bucket)));
            }
        }
        // Only when a concurrent rotation zeroed counts under the scan.
        None
    }

    /// The hedge delay at `now_nanos`: the configured quantile, or `None` below
    /// `min_samples` (or with an empty window). Cached; see the module docs.
    pub(crate) fn delay(&self, now_nanos: u64) -> Option<Duration> {
        // A torn read of the two cache words pairs an answer with a neighbouring refresh's
        // expiry: both are recent answers, so it does not matter which one is returned.
        if now_nanos < self.cached_until.load(Ordering::Acquire) {
            let cached = self.cached.load(Ordering::Relaxed);
            if cached != 0 {
                return Some(Duration::from_nanos(cached - 1));
            }
        }
        let (live, total, epoch) = self.live(now_nanos);
        if total == 0 || total < self.min_samples {
            // Not cached: the count check is cheap, and the first answer should come as soon
            // as the samples are there.
            return None;
        }
        let answer = self.scan(&live, total, self.quantile)?;
        let nanos = u64::try_from(answer.as_nanos()).unwrap_or(u64::MAX - 1);
        let refresh = (self.windows.sub_nanos() / 8).max(1);
        let until = now_nanos
            .saturating_add(refresh)
            .min(self.windows.end_of(epoch));
        self.cached
            .store(nanos.saturating_add(1), Ordering::Relaxed);
        self.cached_until.store(until, Ordering::Release);
        Some(answer)
    }
}

#[cfg(all(test, not(sinew_loom)))]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;
    const T0: u64 = 1_700_000_000 * SEC;

    #[test]
    fn buckets_are_monotonic_and_within_the_bound() {
        assert_eq!(bucket_of(MAX_TRACKED), BUCKETS - 1);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        let mut last = 0;
        let mut v = 0u64;
        while v < MAX_TRACKED {
            let b = bucket_of(v);
            assert!(b >= last, "bucket order at {v}");
            last = b;
            let reported = value_of(b);
            let err = reported.abs_diff(v) as f64;
            assert!(err <= v as f64 / 64.0, "{v} reported as {reported}");
            assert_eq!(bucket_of(reported), b, "the midpoint is in its own bucket");
            v = v + 1 + v / 1000;
        }
    }

    #[test]
    fn exact_below_64_ns() {
        for v in 0..64 {
            assert_eq!(value_of(bucket_of(v)), v);
        }
    }

    /// The exact nearest-rank quantile of `values` (sorted in place).
    fn exact(values: &mut [u64], q: f64) -> u64 {
        values.sort_unstable();
        let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
        values[rank - 1]
    }

    fn check(values: &mut [u64]) {
        let sketch = Sketch::new(Duration::from_secs(10), 0.95, 1);
        for &v in values.iter() {
            sketch.record(T0, Duration::from_nanos(v));
        }
        for q in [0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let want = exact(values, q) as f64;
            let got = sketch.quantile(T0, q).unwrap().as_nanos() as f64;
            assert!(
                (got - want).abs() <= want / 64.0,
                "q {q}: got {got}, exact {want}"
            );
        }
    }

    #[test]
    fn uniform_latencies() {
        // 1 ms ..= 10 ms in 1 us steps.
        let mut v: Vec<u64> = (1_000..=10_000).map(|us| us * 1_000).collect();
        check(&mut v);
    }

    #[test]
    fn exponential_and_heavy_tailed_latencies() {
        // Inverse CDFs at evenly spaced probabilities: deterministic samples of the law.
        let n = 20_000;
        let u = |i: u64| (i as f64 + 0.5) / n as f64;
        // Exponential, mean 5 ms.
        let mut exp: Vec<u64> = (0..n).map(|i| (-(1.0 - u(i)).ln() * 5e6) as u64).collect();
        check(&mut exp);
        // Pareto, alpha 1.5, from 1 ms: a heavy tail up to seconds.
        let mut pareto: Vec<u64> = (0..n)
            .map(|i| (1e6 / (1.0 - u(i)).powf(1.0 / 1.5)) as u64)
            .collect();
        check(&mut pareto);
        // 99% at 10 ms, 1% at 100 ms: the slow tail of the simulation.
        let mut bimodal: Vec<u64> = (0..n)
            .map(|i| {
                if i % 100 == 0 {
                    100_000_000
                } else {
                    10_000_000
                }
            })
            .collect();
        check(&mut bimodal);
    }

    proptest::proptest! {
        /// Any latencies (up to the clamp), any percentile: within 1/64 of the exact one.
        #[test]
        fn any_quantile_is_within_the_bound(
            mut values in proptest::collection::vec(0u64..MAX_TRACKED, 1..400),
            q in 0.0001f64..=1.0,
        ) {
            let sketch = Sketch::new(Duration::from_secs(10), q, 1);
            for &v in &values {
                sketch.record(T0, Duration::from_nanos(v));
            }
            let want = exact(&mut values, q) as f64;
            let got = sketch.quantile(T0, q).unwrap().as_nanos() as f64;
            proptest::prop_assert!((got - want).abs() <= want / 64.0, "got {}, exact {}", got, want);
            proptest::prop_assert_eq!(sketch.delay(T0).map(|d| d.as_nanos() as f64), Some(got));
        }
    }

    #[test]
    fn huge_latencies_clamp() {
        let sketch = Sketch::new(Duration::from_secs(10), 0.5, 1);
        sketch.record(T0, Duration::from_secs(3600));
        let got = sketch.quantile(T0, 0.5).unwrap();
        assert!(got > Duration::from_secs(67) && got < Duration::from_secs(69));
    }

    #[test]
    fn old_latencies_are_forgotten() {
        // Window 8 s: sub-windows of 1 s.
        let sketch = Sketch::new(Duration::from_secs(8), 0.5, 1);
        let start = T0; // a whole number of seconds: sub-window aligned
        for _ in 0..100 {
            sketch.record(start, Duration::from_millis(100));
        }
        // 7.9 s later the first sub-window is still live (7/8 to 8/8 of the window is kept).
        assert_eq!(sketch.count(start + 7 * SEC + SEC / 2), 100);
        for _ in 0..100 {
            sketch.record(start + 7 * SEC + SEC / 2, Duration::from_millis(1));
        }
        assert_eq!(sketch.count(start + 7 * SEC + SEC / 2), 200);
        // At 8 s the first sub-window is out: only the new latencies are left.
        let later = start + 8 * SEC;
        assert_eq!(sketch.count(later), 100);
        let p50 = sketch.quantile(later, 0.5).unwrap();
        assert!(p50 < Duration::from_micros(1_020), "{p50:?}");
        // And nothing is older than the window: all gone 16 s after the start.
        assert_eq!(sketch.count(start + 16 * SEC), 0);
        assert_eq!(sketch.quantile(start + 16 * SEC, 0.5), None);
        // A slot reused for a new epoch starts from zero.
        sketch.record(start + 16 * SEC, Duration::from_millis(5));
        assert_eq!(sketch.count(start + 16 * SEC), 1);
    }

    #[test]
    fn delay_waits_for_min_samples_and_refreshes() {
        let sketch = Sketch::new(Duration::from_secs(8), 0.95, 100);
        for _ in 0..99 {
            sketch.record(T0, Duration::from_millis(10));
        }
        assert_eq!(sketch.delay(T0), None);
        sketch.record(T0, Duration::from_millis(10));
        let d = sketch.delay(T0).unwrap();
        assert!(d.abs_diff(Duration::from_millis(10)) <= Duration::from_millis(10) / 64);
        // Slower latencies show after the refresh period (window / 64 = 125 ms), not before.
        for _ in 0..1_000 {
            sketch.record(T0, Duration::from_millis(50));
        }
        assert_eq!(sketch.delay(T0 + SEC / 10), Some(d), "cached");
        let fresh = sketch.delay(T0 + SEC / 8).unwrap();
        assert!(fresh.abs_diff(Duration::from_millis(50)) <= Duration::from_millis(50) / 64);
        // Once the window has moved past every sample, no delay, cache or not.
        assert_eq!(sketch.delay(T0 + 9 * SEC), None);
    }

    #[test]
    fn a_stale_clock_reading_drops_its_sample() {
        let sketch = Sketch::new(Duration::from_secs(8), 0.5, 1);
        sketch.record(T0 + 8 * SEC, Duration::from_millis(1));
        // T0's slot now holds the epoch 8 s later: a sample stamped T0 is dropped.
        sketch.record(T0, Duration::from_millis(1));
        assert_eq!(sketch.count(T0 + 8 * SEC), 1);
    }
}
