//! The time source shared by the sinew crates.
//!
//! Every sinew crate that needs the time (snowflake IDs, rate limiters, circuit breakers,
//! gossip) takes it through the [`Clock`] trait instead of calling the operating system, so
//! that:
//!
//! - tests drive time by hand with [`ManualClock`] and never sleep to wait for it, including
//!   moving it *backwards* to test clock rollback;
//! - production code gets [`SystemClock`] (the default of every timed primitive), wall time
//!   read from the CPU's time-stamp counter where the kernel trusts it, that cannot step
//!   backwards while the process runs;
//! - hot paths whose cost is dominated by the clock read can use [`CachedClock`], a reading
//!   that costs one atomic load, refreshed every millisecond (or any resolution you pick).
//!
//! On top of any of them, [`HybridClock`] is a hybrid logical clock (Kulkarni et al., 2014,
//! as in CockroachDB and MongoDB): 64-bit [`HlcTimestamp`]s that respect causality between
//! nodes yet stay within the clock skew of physical time, for ordering versions and events
//! across a cluster. See the [`hlc`] module.
//!
//! | clock | cost of `now()` | resolution | moves backwards? |
//! |---|---|---|---|
//! | [`SystemClock`] | one time-stamp-counter read (~11 ns), or one `Instant::now` (~24 ns) where the counter is not trusted | nanoseconds | never |
//! | [`CachedClock`] | one relaxed atomic load (~1 ns) | its refresh period (default 1 ms) | never |
//! | [`QuantaClock`] | one counter read, quanta's calibration uncorrected | nanoseconds | never on one core |
//! | `TokioClock` (`tokio` feature) | tokio's `Instant::now` | nanoseconds | follows tokio's paused time |
//! | [`ManualClock`] | one atomic load | whatever the test sets | only when the test says so |
//!
//! The costs are medians from `cargo bench -p sinew-benches --bench clock` on the reference
//! machine; see the workspace README.
//!
//! # Examples
//!
//! Code that needs time takes a `C: Clock`; tests give it a [`ManualClock`]:
//!
//! ```
//! use std::time::Duration;
//! use sinew_clock::{Clock, ManualClock, SystemClock};
//!
//! /// Says whether `deadline` has passed, by whatever clock it is given.
//! fn expired(clock: &impl Clock, deadline: Duration) -> bool {
//!     clock.now() >= deadline
//! }
//!
//! let clock = ManualClock::new(Duration::from_secs(100));
//! assert!(!expired(&clock, Duration::from_secs(101)));
//! clock.advance(Duration::from_secs(1));
//! assert!(expired(&clock, Duration::from_secs(101)));
//!
//! // In production: the real time.
//! assert!(!expired(&SystemClock::new(), Duration::MAX));
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//!
//! - `serde`: [`serde_secs`], a `Duration` as seconds in serde formats (the form the sinew
//!   crates' configurations use), and `Serialize`/`Deserialize` for [`HlcTimestamp`] (as its
//!   packed `u64`).
//! - `tokio`: `TokioClock`, a clock on tokio's time that follows `tokio::time::pause`.
//!
//! Without features the crate depends on `std` and [quanta](https://docs.rs/quanta) (the
//! time-stamp counter).
//!
//! # Guarantees
//!
//! - All clocks are `Send + Sync` and cheap to clone; clones of a [`ManualClock`] or a
//!   [`CachedClock`] share one time.
//! - Readings are [`Duration`]s since the Unix epoch. [`Clock::now_nanos`] gives the same as a
//!   `u64`, saturating at `u64::MAX` nanoseconds (the year 2554) instead of wrapping.
//! - No clock here panics, whatever the system's wall clock says (a wall clock set before 1970
//!   reads as the epoch).
//! - [`HybridClock`] is lock-free and its timestamps strictly increase per clock, across
//!   threads; its guarantees are listed in the [`hlc`] module.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cached;
mod error;
pub mod hlc;
mod line;
mod manual;
mod quanta_clock;
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
pub mod serde_secs;
mod sync;
mod system;
#[cfg(feature = "tokio")]
mod tokio_clock;

use std::time::Duration;

pub use cached::CachedClock;
pub use error::HlcError;
pub use hlc::{HlcTimestamp, HybridClock};
pub use manual::ManualClock;
pub use quanta_clock::QuantaClock;
pub use system::{SystemClock, TimeSource};
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use tokio_clock::TokioClock;

/// A source of the current time, as a [`Duration`] since the Unix epoch.
///
/// Implementations are shared between threads (`Send + Sync`). The sinew implementations never
/// move backwards except [`ManualClock::set`], which exists to test that case; code taking a
/// `Clock` from elsewhere should not assume monotonicity unless it says so.
pub trait Clock: Send + Sync {
    /// The current time since the Unix epoch.
    fn now(&self) -> Duration;

    /// The current time in nanoseconds since the Unix epoch, saturating at `u64::MAX` (in the
    /// year 2554). Hot paths use this form; clocks that store nanoseconds override it to skip
    /// the conversion.
    #[inline]
    fn now_nanos(&self) -> u64 {
        nanos_of(self.now())
    }
}

/// Converts a duration to whole nanoseconds, saturating at `u64::MAX`.
#[inline]
fn nanos_of(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `wall` nanoseconds plus `elapsed`, saturating, in `u64` arithmetic (cheaper than going
/// through `Duration`'s `u128` nanoseconds on the paths that call it per reading).
#[inline]
fn add_elapsed(wall: u64, elapsed: Duration) -> u64 {
    wall.saturating_add(elapsed.as_secs().saturating_mul(1_000_000_000))
        .saturating_add(u64::from(elapsed.subsec_nanos()))
}

impl<C: Clock + ?Sized> Clock for &C {
    #[inline]
    fn now(&self) -> Duration {
        (**self).now()
    }
    #[inline]
    fn now_nanos(&self) -> u64 {
        (**self).now_nanos()
    }
}

// The caller's own `Arc` and `Box` (std's, not the loom shim), so a clock can be shared by
// handing out `Arc<dyn Clock>`.
impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    #[inline]
    fn now(&self) -> Duration {
        (**self).now()
    }
    #[inline]
    fn now_nanos(&self) -> u64 {
        (**self).now_nanos()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    #[inline]
    fn now(&self) -> Duration {
        (**self).now()
    }
    #[inline]
    fn now_nanos(&self) -> u64 {
        (**self).now_nanos()
    }
}

// The README's code blocks, run as doctests, so the snippets crates.io shows cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn clocks_are_send_sync_and_object_safe() {
        assert_send_sync::<SystemClock>();
        assert_send_sync::<ManualClock>();
        assert_send_sync::<CachedClock>();
        let boxed: Box<dyn Clock> = Box::new(ManualClock::new(Duration::from_secs(5)));
        assert_eq!(boxed.now(), Duration::from_secs(5));
        let shared: std::sync::Arc<dyn Clock> =
            std::sync::Arc::new(ManualClock::new(Duration::ZERO));
        fn read(clock: impl Clock) -> u64 {
            clock.now_nanos()
        }
        assert_eq!(read(&shared), 0, "through the &C impl");
        assert_eq!(read(shared), 0, "through the Arc<C> impl");
    }

    #[test]
    fn nanos_saturate() {
        assert_eq!(nanos_of(Duration::MAX), u64::MAX);
        assert_eq!(nanos_of(Duration::new(1, 5)), 1_000_000_005);
    }
}
