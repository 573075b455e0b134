//! [`ManualClock`]: time that moves only when a test says so.

use std::time::Duration;

use crate::sync::{Arc, AtomicU64, Ordering};
use crate::{Clock, nanos_of};

/// A clock that moves only when told to, for deterministic tests.
///
/// Clones share one time: hand a clone to the code under test and drive it from the test with
/// [`advance`](Self::advance) and [`set`](Self::set). Unlike [`SystemClock`](crate::SystemClock),
/// `set` may move time backwards, which is how tests exercise clock rollback.
///
/// Time is kept as nanoseconds since the Unix epoch in a `u64`, so it saturates at
/// 2554-07-21T23:34:33Z; `advance` past that stays there rather than wrapping.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sinew_clock::{Clock, ManualClock};
///
/// let clock = ManualClock::new(Duration::from_secs(1_700_000_000));
/// let seen_by_code_under_test = clock.clone();
/// clock.advance(Duration::from_millis(5));
/// assert_eq!(seen_by_code_under_test.now(), Duration::from_millis(1_700_000_000_005));
/// clock.set(Duration::from_secs(1)); // backwards
/// assert_eq!(seen_by_code_under_test.now(), Duration::from_secs(1));
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock that reads `start` (time since the Unix epoch) until moved.
    pub fn new(start: Duration) -> Self {
        ManualClock {
            nanos: Arc::new(AtomicU64::new(nanos_of(start))),
        }
    }

    /// Moves time forwards by `by`, saturating at the largest representable time.
    pub fn advance(&self, by: Duration) {
        let by = nanos_of(by);
        // `fetch_update` rather than `fetch_add`: concurrent advances all count, and the sum
        // saturates instead of wrapping to 1970.
        let _ = self
            .nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                Some(now.saturating_add(by))
            });
    }

    /// Sets the time to `to`, which may be earlier than the current time.
    pub fn set(&self, to: Duration) {
        self.nanos.store(nanos_of(to), Ordering::Release);
    }
}

impl Clock for ManualClock {
    #[inline]
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        self.nanos.load(Ordering::Acquire)
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    use super::*;

    #[test]
    fn clones_share_time_and_set_goes_backwards() {
        let clock = ManualClock::new(Duration::from_secs(10));
        let other = clock.clone();
        clock.advance(Duration::from_nanos(7));
        assert_eq!(other.now(), Duration::new(10, 7));
        other.set(Duration::from_secs(3));
        assert_eq!(clock.now(), Duration::from_secs(3));
        assert_eq!(clock.now_nanos(), 3_000_000_000);
    }

    #[test]
    fn saturates_instead_of_wrapping() {
        let clock = ManualClock::new(Duration::MAX);
        assert_eq!(clock.now_nanos(), u64::MAX);
        clock.set(Duration::from_nanos(u64::MAX - 1));
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.now_nanos(), u64::MAX);
    }
}

#[cfg(all(test, sinew_loom))]
mod loom_models {
    use super::*;

    /// Concurrent `advance` calls never lose an update.
    #[test]
    fn concurrent_advances_all_count() {
        loom::model(|| {
            let clock = ManualClock::new(Duration::ZERO);
            let other = clock.clone();
            let t = loom::thread::spawn(move || other.advance(Duration::from_nanos(1)));
            clock.advance(Duration::from_nanos(2));
            t.join().unwrap();
            assert_eq!(clock.now_nanos(), 3);
        });
    }
}
