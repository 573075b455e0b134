//! [`HybridClock`]: a hybrid logical clock (HLC), and its [`HlcTimestamp`].
//!
//! # Why a hybrid logical clock
//!
//! Nodes of a distributed system need to order events: which of two writes to a key came
//! last, whether a read saw a write. Physical clocks alone cannot do it, as two machines'
//! clocks disagree by milliseconds and a clock can step backwards; Lamport's logical clocks
//! order causally related events but say nothing about when they happened. A hybrid logical
//! clock (Kulkarni, Demirbas et al., *Logical Physical Clocks*, 2014) is both at once: its
//! timestamps respect causality (an event that could have influenced another has the smaller
//! timestamp), yet stay within the clock skew of physical time, so they read as wall-clock
//! milliseconds and fit in 64 bits. CockroachDB, MongoDB (its cluster time) and YugabyteDB
//! order their transactions and replicas with one.
//!
//! # How it works
//!
//! A timestamp is a pair `(l, c)`: `l` is the largest physical time (in ms) the clock has
//! heard of, `c` a logical counter that orders events sharing the same `l`. Both are packed
//! into one `u64` — `l` in the high 48 bits, `c` in the low 16 — so comparing the packed
//! integers compares the timestamps, and the clock's whole state is one atomic word updated
//! by a compare-and-swap loop (lock-free). With `pt` the physical clock's reading in ms:
//!
//! - **Send or local event** ([`HybridClock::now`]): if `pt > l` the new timestamp is
//!   `(pt, 0)`, else `(l, c + 1)`.
//! - **Receive event** ([`HybridClock::update`] with a message's timestamp `(lm, cm)`): the
//!   new `l` is `max(l, lm, pt)`; the counter restarts at 0 if `pt` alone is the maximum,
//!   else it is one more than the largest counter among the timestamps whose `l` is the
//!   maximum (`max(c, cm) + 1` if both, `c + 1` or `cm + 1` if one). These are the paper's
//!   rules exactly; in packed form they read `max(max(state, received) + 1, pt << 16)`.
//!
//! When the 16-bit counter would pass 65,535 within one millisecond it carries into `l`
//! (one more on the packed integer), so the timestamp runs 1 ms ahead of physical time until
//! the physical clock catches up; that takes 65,536 events in one millisecond, and only a
//! sustained rate above that could push it further ahead.
//!
//! # Guarantees
//!
//! - Every timestamp a clock returns is strictly greater than every one it returned before,
//!   across threads (the compare-and-swap orders them), and greater than any timestamp passed
//!   to [`update`](HybridClock::update) that was accepted. The one exception is the very last
//!   representable timestamp ([`HlcTimestamp::MAX`], the year 10889, reachable only from a
//!   clock or a peer that far in the future): the clock stays there instead of wrapping.
//! - A timestamp is never behind the physical clock as read during the call that returned it.
//!   It runs ahead only by what it learned from accepted peers (at most the maximum offset)
//!   and by a logical-counter carry.
//! - A physical clock that steps backwards (an NTP correction, [`ManualClock::set`](crate::ManualClock::set))
//!   never makes timestamps go backwards: the logical counter advances instead until the
//!   physical clock catches up.
//! - [`update`](HybridClock::update) refuses a timestamp whose physical part is more than the
//!   maximum offset (default 500 ms, CockroachDB's) ahead of the local physical clock, with
//!   [`HlcError::ClockOffset`] saying by how much, and leaves the clock unchanged: one peer
//!   with a broken clock cannot drag everyone's timestamps into the future.
//! - No operation panics or blocks; `now` and `update` cost one clock read and one
//!   compare-and-swap (retried only when another thread moved the clock in between).
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use sinew_clock::{HlcError, HybridClock, ManualClock};
//!
//! let wall = ManualClock::new(Duration::from_millis(1_733_600_000_000));
//! let clock = HybridClock::new(wall.clone());
//!
//! let a = clock.now();
//! assert_eq!((a.physical_ms(), a.logical()), (1_733_600_000_000, 0));
//! let b = clock.now(); // same millisecond: the logical counter orders them
//! assert_eq!(b.to_string(), "1733600000000.1");
//!
//! // A peer 100 ms ahead: accepted, and later local timestamps follow it.
//! let remote = sinew_clock::HlcTimestamp::new(1_733_600_000_100, 7)?;
//! let c = clock.update(remote)?;
//! assert!(c > remote && c > b);
//! assert!(clock.now() > c);
//!
//! // A peer a whole second ahead: refused, clock unchanged.
//! let last = clock.last();
//! let far = sinew_clock::HlcTimestamp::new(1_733_600_001_000, 0)?;
//! assert!(matches!(clock.update(far), Err(HlcError::ClockOffset { .. })));
//! assert_eq!(clock.last(), last);
//!
//! // Timestamps travel as 8 big-endian bytes that sort like the timestamps.
//! let bytes = c.to_bytes();
//! assert_eq!(sinew_clock::HlcTimestamp::decode(&bytes)?, c);
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::time::Duration;

use crate::sync::{AtomicU64, Ordering};
use crate::{Clock, HlcError, SystemClock};

/// Bits of the logical counter, the low part of the packed timestamp.
const LOGICAL_BITS: u32 = 16;

/// A hybrid logical clock timestamp: 48-bit physical milliseconds since the Unix epoch in the
/// high bits, a 16-bit logical counter in the low bits.
///
/// The derived order is the timestamps' order (physical first, then logical), and so is the
/// order of the packed `u64` ([`as_u64`](Self::as_u64)) and of the big-endian bytes
/// ([`to_bytes`](Self::to_bytes)). `Display` shows `physical.logical`, e.g.
/// `1733600000000.3`. Under the `serde` feature it serializes as the packed `u64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HlcTimestamp(u64);

impl HlcTimestamp {
    /// The smallest timestamp: the Unix epoch, logical 0. A new clock's
    /// [`last`](HybridClock::last).
    pub const ZERO: HlcTimestamp = HlcTimestamp(0);

    /// The largest timestamp: [`MAX_PHYSICAL_MS`](Self::MAX_PHYSICAL_MS), logical 65,535.
    pub const MAX: HlcTimestamp = HlcTimestamp(u64::MAX);

    /// The largest physical part, `2^48 - 1` ms since the Unix epoch (in the year 10889).
    pub const MAX_PHYSICAL_MS: u64 = (1 << (64 - LOGICAL_BITS)) - 1;

    /// The timestamp `(physical_ms, logical)`.
    ///
    /// # Errors
    ///
    /// [`HlcError::PhysicalOutOfRange`] if `physical_ms` exceeds
    /// [`MAX_PHYSICAL_MS`](Self::MAX_PHYSICAL_MS).
    pub const fn new(physical_ms: u64, logical: u16) -> Result<Self, HlcError> {
        if physical_ms > Self::MAX_PHYSICAL_MS {
            return Err(HlcError::PhysicalOutOfRange { physical_ms });
        }
        Ok(HlcTimestamp(physical_ms << LOGICAL_BITS | logical as u64))
    }

    /// The timestamp whose packed form ([`as_u64`](Self::as_u64)) is `raw`. Every `u64` is a
    /// valid timestamp.
    pub const fn from_u64(raw: u64) -> Self {
        HlcTimestamp(raw)
    }

    /// The packed form: physical ms in the high 48 bits, the logical counter in the low 16.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The physical part, in milliseconds since the Unix epoch.
    pub const fn physical_ms(self) -> u64 {
        self.0 >> LOGICAL_BITS
    }

    /// The logical counter, which orders timestamps within one physical millisecond.
    pub const fn logical(self) -> u16 {
        // The mask keeps 16 bits, so the cast drops nothing.
        #[allow(clippy::cast_possible_truncation)]
        let logical = (self.0 & 0xFFFF) as u16;
        logical
    }

    /// The fixed 8-byte encoding: the packed `u64`, big-endian, so comparing encodings byte
    /// by byte (as key-value stores order their keys) orders the timestamps.
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    /// The timestamp [`to_bytes`](Self::to_bytes) encoded. Every 8 bytes are a valid
    /// timestamp.
    pub const fn from_bytes(bytes: [u8; 8]) -> Self {
        HlcTimestamp(u64::from_be_bytes(bytes))
    }

    /// Decodes [`to_bytes`](Self::to_bytes)'s encoding from a slice, e.g. read off the wire.
    ///
    /// # Errors
    ///
    /// [`HlcError::Length`] unless `bytes` is exactly 8 bytes long.
    pub fn decode(bytes: &[u8]) -> Result<Self, HlcError> {
        <[u8; 8]>::try_from(bytes)
            .map(Self::from_bytes)
            .map_err(|_| HlcError::Length { len: bytes.len() })
    }
}

impl fmt::Display for HlcTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.physical_ms(), self.logical())
    }
}

impl From<HlcTimestamp> for u64 {
    fn from(ts: HlcTimestamp) -> u64 {
        ts.as_u64()
    }
}

impl From<u64> for HlcTimestamp {
    fn from(raw: u64) -> HlcTimestamp {
        HlcTimestamp::from_u64(raw)
    }
}

// As the packed `u64` in every format: round-trips exactly and sorts in formats that sort
// numbers; a structured form would add nothing a reader could not get from `Display`.
#[cfg(feature = "serde")]
impl serde::Serialize for HlcTimestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for HlcTimestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <u64 as serde::Deserialize<'de>>::deserialize(deserializer).map(HlcTimestamp)
    }
}

/// The default maximum offset: CockroachDB's default `--max-offset`.
const DEFAULT_MAX_OFFSET: Duration = Duration::from_millis(500);

/// A hybrid logical clock: timestamps that respect causality and stay close to physical time.
///
/// See the [module documentation](self) for the rules and guarantees. The state is one atomic
/// word, so a clock is shared between threads by reference or in an `Arc`, without a lock;
/// it is deliberately not `Clone`, as a clone would issue timestamps its original also issues.
///
/// # Examples
///
/// ```
/// use sinew_clock::HybridClock;
///
/// let clock = HybridClock::system(); // the system clock, 500 ms maximum offset
/// let a = clock.now();
/// let b = clock.now();
/// assert!(b > a);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct HybridClock<C: Clock = SystemClock> {
    /// The latest timestamp issued, packed.
    state: AtomicU64,
    clock: C,
    max_offset: Duration,
    /// `max_offset` in whole ms, the unit compared on each `update`.
    max_offset_ms: u64,
}

impl HybridClock<SystemClock> {
    /// A hybrid logical clock on the [`SystemClock`], with the default maximum offset of
    /// 500 ms.
    pub fn system() -> Self {
        Self::new(SystemClock::new())
    }
}

impl Default for HybridClock<SystemClock> {
    fn default() -> Self {
        Self::system()
    }
}

impl<C: Clock> HybridClock<C> {
    /// A hybrid logical clock on `clock`, refusing peers more than 500 ms ahead (CockroachDB's
    /// default maximum offset). Its first timestamp is the physical time, logical 0.
    pub fn new(clock: C) -> Self {
        Self::with_max_offset(clock, DEFAULT_MAX_OFFSET)
    }

    /// A hybrid logical clock on `clock` that refuses, in [`update`](Self::update), timestamps
    /// more than `max_offset` ahead of it. The comparison is in whole milliseconds (a
    /// fraction of one is dropped); [`Duration::MAX`] accepts every timestamp.
    ///
    /// Pick the largest skew you expect between two healthy nodes' clocks; a timestamp beyond
    /// it more likely comes from a broken clock than from a real event.
    pub fn with_max_offset(clock: C, max_offset: Duration) -> Self {
        HybridClock {
            state: AtomicU64::new(0),
            clock,
            max_offset,
            max_offset_ms: u64::try_from(max_offset.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// The maximum offset given at construction (500 ms by default).
    pub fn max_offset(&self) -> Duration {
        self.max_offset
    }

    /// A timestamp for a local or send event: strictly greater than every timestamp this
    /// clock issued before, and not behind the physical clock.
    ///
    /// `(pt, 0)` if the physical clock `pt` has passed the last timestamp's physical part,
    /// else the last timestamp with its logical counter advanced.
    pub fn now(&self) -> HlcTimestamp {
        let pt = self.physical_now();
        HlcTimestamp(self.advance(|last| tick(last, pt)))
    }

    /// Merges a timestamp received from a peer (a receive event), returning a timestamp
    /// strictly greater than both `received` and every timestamp this clock issued before,
    /// and not behind the physical clock.
    ///
    /// # Errors
    ///
    /// [`HlcError::ClockOffset`] if `received`'s physical part is more than the
    /// [maximum offset](Self::max_offset) ahead of the physical clock. The clock is then
    /// unchanged.
    pub fn update(&self, received: HlcTimestamp) -> Result<HlcTimestamp, HlcError> {
        let pt = self.physical_now();
        let received_ms = received.physical_ms();
        if received_ms.saturating_sub(pt) > self.max_offset_ms {
            return Err(HlcError::ClockOffset {
                received_ms,
                local_ms: pt,
                max_offset_ms: self.max_offset_ms,
            });
        }
        Ok(HlcTimestamp(
            self.advance(|last| merge(last, received.0, pt)),
        ))
    }

    /// The latest timestamp issued (by [`now`](Self::now) or [`update`](Self::update)),
    /// without issuing a new one; [`HlcTimestamp::ZERO`] before the first.
    pub fn last(&self) -> HlcTimestamp {
        HlcTimestamp(self.state.load(Ordering::Acquire))
    }

    /// The physical clock underneath.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The physical clock in whole ms, clamped to the 48 bits of a timestamp (`now_nanos`
    /// saturates in 2554, long before, so the clamp only guards foreign clocks).
    fn physical_now(&self) -> u64 {
        (self.clock.now_nanos() / 1_000_000).min(HlcTimestamp::MAX_PHYSICAL_MS)
    }

    /// Replaces the state `s` with `next(s)` atomically and returns the value stored.
    ///
    /// Acquire/release, though coherence on the one word would already keep timestamps
    /// increasing: a thread that reads a timestamp through [`last`](Self::last) also sees
    /// what the issuing thread wrote before taking it (free on x86, a barrier on ARM).
    fn advance(&self, next: impl Fn(u64) -> u64) -> u64 {
        let mut last = self.state.load(Ordering::Acquire);
        loop {
            let new = next(last);
            match self
                .state
                .compare_exchange_weak(last, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return new,
                Err(actual) => last = actual,
            }
        }
    }
}

impl<C: Clock + fmt::Debug> fmt::Debug for HybridClock<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HybridClock")
            .field("last", &self.last())
            .field("clock", &self.clock)
            .field("max_offset", &self.max_offset)
            .finish()
    }
}

/// The send rule on packed timestamps: `(pt, 0)` if `pt` is past `last`'s physical part, else
/// `last` plus one logical tick (carrying into the physical part past 65,535).
///
/// `pt << 16` cannot overflow: `pt` is clamped to 48 bits. `last + 1` saturates at
/// `u64::MAX`, the one timestamp after which nothing greater exists.
#[inline]
fn tick(last: u64, pt: u64) -> u64 {
    last.saturating_add(1).max(pt << LOGICAL_BITS)
}

/// The receive rule on packed timestamps. `max(last, received)` holds the larger physical
/// part with the larger counter among those sharing it, so one more than it is the paper's
/// `(l, max(c, cm) + 1)`, `(l, c + 1)` or `(lm, cm + 1)` case; a physical clock past both
/// gives `(pt, 0)` through the outer `max`.
#[inline]
fn merge(last: u64, received: u64, pt: u64) -> u64 {
    tick(last.max(received), pt)
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::ManualClock;
    use proptest::prelude::*;

    const START_MS: u64 = 1_733_600_000_000;

    fn ts(physical_ms: u64, logical: u16) -> HlcTimestamp {
        HlcTimestamp::new(physical_ms, logical).unwrap()
    }

    fn manual(ms: u64) -> (ManualClock, HybridClock<ManualClock>) {
        let wall = ManualClock::new(Duration::from_millis(ms));
        (wall.clone(), HybridClock::new(wall))
    }

    #[test]
    fn packing_and_accessors() {
        let t = ts(START_MS, 3);
        assert_eq!(t.physical_ms(), START_MS);
        assert_eq!(t.logical(), 3);
        assert_eq!(t.as_u64(), START_MS << 16 | 3);
        assert_eq!(HlcTimestamp::from_u64(t.as_u64()), t);
        assert_eq!(u64::from(t), t.as_u64());
        assert_eq!(HlcTimestamp::from(t.as_u64()), t);
        assert_eq!(t.to_string(), "1733600000000.3");
        assert_eq!(HlcTimestamp::default(), HlcTimestamp::ZERO);
        assert_eq!(HlcTimestamp::MAX_PHYSICAL_MS, (1 << 48) - 1);
        assert_eq!(
            ts(HlcTimestamp::MAX_PHYSICAL_MS, u16::MAX),
            HlcTimestamp::MAX
        );
        assert!(ts(5, 0) > ts(4, u16::MAX));
    }

    #[test]
    fn new_refuses_physical_beyond_48_bits() {
        let err = HlcTimestamp::new(1 << 48, 0).unwrap_err();
        assert_eq!(
            err,
            HlcError::PhysicalOutOfRange {
                physical_ms: 1 << 48
            }
        );
        assert!(err.to_string().contains("48 bits"), "{err}");
    }

    #[test]
    fn decode_wants_exactly_eight_bytes() {
        for len in [0, 7, 9] {
            let err = HlcTimestamp::decode(&vec![0; len]).unwrap_err();
            assert_eq!(err, HlcError::Length { len });
            assert!(err.to_string().contains(&format!("got {len}")), "{err}");
        }
        let t = ts(START_MS, 9);
        assert_eq!(HlcTimestamp::decode(&t.to_bytes()).unwrap(), t);
        assert_eq!(
            t.to_bytes(),
            [0x01, 0x93, 0xA2, 0x9C, 0xB8, 0x00, 0x00, 0x09]
        );
        assert_eq!(t.to_bytes()[7], 9, "big-endian: the logical counter last");
    }

    #[test]
    fn now_follows_physical_time_and_counts_within_a_millisecond() {
        let (wall, clock) = manual(START_MS);
        assert_eq!(clock.last(), HlcTimestamp::ZERO);
        assert_eq!(clock.now(), ts(START_MS, 0));
        assert_eq!(clock.now(), ts(START_MS, 1));
        assert_eq!(clock.last(), ts(START_MS, 1));
        wall.advance(Duration::from_micros(1_500));
        assert_eq!(clock.now(), ts(START_MS + 1, 0), "whole milliseconds");
        assert_eq!(clock.clock().now(), wall.now());
    }

    #[test]
    fn physical_clock_going_backwards_keeps_timestamps_increasing() {
        let (wall, clock) = manual(START_MS);
        let a = clock.now();
        wall.set(Duration::from_millis(START_MS - 10_000));
        let b = clock.now();
        let c = clock.now();
        assert_eq!((b, c), (ts(START_MS, 1), ts(START_MS, 2)));
        wall.set(Duration::from_millis(START_MS + 1));
        assert_eq!(clock.now(), ts(START_MS + 1, 0));
        assert!(a < b);
    }

    #[test]
    fn logical_overflow_carries_into_physical() {
        let (_wall, clock) = manual(START_MS);
        clock.update(ts(START_MS, u16::MAX - 1)).unwrap();
        assert_eq!(clock.last(), ts(START_MS, u16::MAX));
        assert_eq!(clock.now(), ts(START_MS + 1, 0), "1 ms ahead of physical");
        assert_eq!(clock.now(), ts(START_MS + 1, 1));
    }

    #[test]
    fn update_follows_the_papers_cases() {
        let (wall, clock) = manual(START_MS);
        clock.update(ts(START_MS, 4)).unwrap();
        // Equal physical parts: max of both counters, plus one.
        assert_eq!(clock.update(ts(START_MS, 9)).unwrap(), ts(START_MS, 10));
        assert_eq!(clock.update(ts(START_MS, 2)).unwrap(), ts(START_MS, 11));
        // The remote ahead (within the offset): its counter plus one.
        assert_eq!(
            clock.update(ts(START_MS + 100, 7)).unwrap(),
            ts(START_MS + 100, 8)
        );
        // The local state ahead: its counter plus one.
        assert_eq!(
            clock.update(ts(START_MS, 50)).unwrap(),
            ts(START_MS + 100, 9)
        );
        // Physical time past both: counter restarts.
        wall.set(Duration::from_millis(START_MS + 200));
        assert_eq!(
            clock.update(ts(START_MS + 150, 3)).unwrap(),
            ts(START_MS + 200, 0)
        );
    }

    #[test]
    fn update_refuses_far_future_and_leaves_clock_unchanged() {
        let (_wall, clock) = manual(START_MS);
        let before = clock.now();
        assert_eq!(clock.max_offset(), Duration::from_millis(500));
        // Exactly the maximum offset ahead is accepted.
        assert!(clock.update(ts(START_MS + 500, 0)).is_ok());
        let before_refusal = clock.last();
        let err = clock.update(ts(START_MS + 501, 0)).unwrap_err();
        assert_eq!(
            err,
            HlcError::ClockOffset {
                received_ms: START_MS + 501,
                local_ms: START_MS,
                max_offset_ms: 500
            }
        );
        assert!(err.to_string().contains("501 ms ahead"), "{err}");
        assert_eq!(clock.last(), before_refusal);
        assert!(clock.update(HlcTimestamp::MAX).is_err());
        assert_eq!(clock.last(), before_refusal);
        assert!(before < before_refusal);
    }

    #[test]
    fn max_offset_is_configurable_and_duration_max_accepts_all() {
        let wall = ManualClock::new(Duration::from_millis(START_MS));
        let strict = HybridClock::with_max_offset(&wall, Duration::from_micros(999));
        assert!(strict.update(ts(START_MS + 1, 0)).is_err(), "0 whole ms");
        assert!(strict.update(ts(START_MS, 0)).is_ok());
        let open = HybridClock::with_max_offset(&wall, Duration::MAX);
        assert_eq!(open.max_offset(), Duration::MAX);
        let far = ts(START_MS * 2, 0);
        assert!(open.update(far).unwrap() > far);
    }

    #[test]
    fn saturates_at_the_last_timestamp_instead_of_wrapping() {
        let wall = ManualClock::new(Duration::ZERO);
        let clock = HybridClock::with_max_offset(wall, Duration::MAX);
        assert_eq!(clock.update(HlcTimestamp::MAX).unwrap(), HlcTimestamp::MAX);
        assert_eq!(clock.now(), HlcTimestamp::MAX);
        // A physical clock past 48 bits of ms is clamped, never shifted out.
        let huge = HybridClock::new(ManualClock::new(Duration::MAX));
        assert!(huge.now() <= HlcTimestamp::MAX);
    }

    #[test]
    fn system_clock_and_debug() {
        let clock = HybridClock::default();
        let a = clock.now();
        let b = HybridClock::system().now();
        assert!(a.physical_ms() > 1_600_000_000_000, "{a}");
        assert!(b.physical_ms() >= a.physical_ms());
        assert!(format!("{clock:?}").contains("HybridClock"));
    }

    #[test]
    fn strictly_increasing_across_threads() {
        let clock = HybridClock::new(ManualClock::new(Duration::from_millis(START_MS)));
        let per_thread: Vec<Vec<HlcTimestamp>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|_| s.spawn(|| (0..10_000).map(|_| clock.now()).collect::<Vec<_>>()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all: Vec<_> = per_thread.iter().flatten().copied().collect();
        for seq in &per_thread {
            assert!(seq.windows(2).all(|w| w[0] < w[1]));
        }
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 20_000, "no timestamp issued twice");
        assert_eq!(clock.last(), *all.last().unwrap());
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_as_the_packed_u64() {
        let t = ts(START_MS, 3);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, (START_MS << 16 | 3).to_string());
        assert_eq!(serde_json::from_str::<HlcTimestamp>(&json).unwrap(), t);
        assert!(serde_json::from_str::<HlcTimestamp>("-1").is_err());
    }

    /// The paper's rules on `(l, c)` pairs, case by case, with the counter's carry: the
    /// reference the packed arithmetic is checked against.
    fn paper(last: (u64, u64), received: Option<(u64, u64)>, pt: u64) -> (u64, u64) {
        let (l, c) = last;
        let (l2, c2) = match received {
            None => {
                let l2 = l.max(pt);
                (l2, if l2 == l { c + 1 } else { 0 })
            }
            Some((lm, cm)) => {
                let l2 = l.max(lm).max(pt);
                let c2 = if l2 == l && l2 == lm {
                    c.max(cm) + 1
                } else if l2 == l {
                    c + 1
                } else if l2 == lm {
                    cm + 1
                } else {
                    0
                };
                (l2, c2)
            }
        };
        if c2 > 0xFFFF { (l2 + 1, 0) } else { (l2, c2) }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Now,
        /// A remote timestamp this many ms from the physical clock, with this counter.
        Update(i64, u16),
        Advance(u64),
        SetBack(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => Just(Op::Now),
            3 => (-1_000i64..1_000, prop_oneof![0..4u16, (u16::MAX - 3)..=u16::MAX])
                .prop_map(|(d, c)| Op::Update(d, c)),
            1 => (0u64..5).prop_map(Op::Advance),
            1 => (0u64..2_000).prop_map(Op::SetBack),
        ]
    }

    proptest! {
        #[test]
        fn invariants_hold_and_packing_matches_the_paper(ops in prop::collection::vec(op(), 1..200)) {
            let (wall, clock) = manual(START_MS);
            let mut model = (0u64, 0u64);
            let mut pt = START_MS;
            for op in ops {
                let before = clock.last();
                let issued = match op {
                    Op::Now => {
                        model = paper(model, None, pt);
                        clock.now()
                    }
                    Op::Update(delta, c) => {
                        let received = ts(pt.saturating_add_signed(delta), c);
                        let result = clock.update(received);
                        if delta > 500 {
                            prop_assert!(result.is_err());
                            prop_assert_eq!(clock.last(), before);
                            continue;
                        }
                        let got = result.unwrap();
                        prop_assert!(got > received);
                        model = paper(
                            model,
                            Some((received.physical_ms(), u64::from(received.logical()))),
                            pt,
                        );
                        got
                    }
                    Op::Advance(ms) => {
                        pt += ms;
                        wall.set(Duration::from_millis(pt));
                        continue;
                    }
                    Op::SetBack(ms) => {
                        pt -= ms;
                        wall.set(Duration::from_millis(pt));
                        continue;
                    }
                };
                prop_assert!(issued > before);
                prop_assert!(issued.physical_ms() >= pt);
                prop_assert_eq!(clock.last(), issued);
                prop_assert_eq!((issued.physical_ms(), u64::from(issued.logical())), model);
            }
        }

        #[test]
        fn byte_order_sorts_like_timestamps(a: u64, b: u64) {
            let (ta, tb) = (HlcTimestamp::from_u64(a), HlcTimestamp::from_u64(b));
            prop_assert_eq!(ta.cmp(&tb), ta.to_bytes().cmp(&tb.to_bytes()));
            prop_assert_eq!(HlcTimestamp::decode(&ta.to_bytes()).unwrap(), ta);
            prop_assert_eq!(HlcTimestamp::from_bytes(ta.to_bytes()), ta);
            let (p, l) = (ta.physical_ms(), ta.logical());
            prop_assert_eq!(HlcTimestamp::new(p, l).unwrap(), ta);
        }
    }
}

#[cfg(all(test, sinew_loom))]
mod loom_models {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::ManualClock;
    use loom::sync::Arc;

    /// Three threads share one clock: two issue and merge timestamps while the third moves
    /// the physical clock forwards. No timestamp is issued twice, each thread's are strictly
    /// increasing, every merge beats what it merged, and `last` ends at the greatest.
    #[test]
    fn concurrent_now_and_update_never_repeat() {
        loom::model(|| {
            let wall = ManualClock::new(Duration::from_millis(10));
            let clock = Arc::new(HybridClock::new(wall.clone()));
            let remote = HlcTimestamp::new(10, 5).unwrap();

            let a = {
                let clock = clock.clone();
                loom::thread::spawn(move || vec![clock.now(), clock.now()])
            };
            let b = {
                let clock = clock.clone();
                loom::thread::spawn(move || {
                    let merged = clock.update(remote).unwrap();
                    assert!(merged > remote);
                    vec![merged, clock.now()]
                })
            };
            wall.advance(Duration::from_millis(1));
            let own = clock.now();
            assert!(own.physical_ms() >= 11);

            let mut all = vec![own];
            for seq in [a.join().unwrap(), b.join().unwrap()] {
                assert!(seq[0] < seq[1], "{seq:?}");
                all.extend(seq);
            }
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), 5, "a timestamp was issued twice");
            assert_eq!(clock.last(), all[4]);
        });
    }
}
