//! [`Deadline`]: a point in time carried through nested calls.

use std::time::Duration;

use sinew_clock::Clock;

/// A point in time (a [`Clock::now`] reading) by which a whole operation, retries included,
/// must be done.
///
/// Create one at the edge of a request with [`Deadline::after`], pass it down, and let each
/// layer combine it with its own with [`earliest`](Self::earliest). The retry helpers never
/// start a wait that would end at or past it, and give each attempt the time that remains
/// ([`Attempt::timeout`](crate::Attempt::timeout)).
///
/// ```
/// use std::time::Duration;
/// use sinew_retry::{Deadline, ManualClock};
///
/// let clock = ManualClock::new(Duration::from_secs(100));
/// let outer = Deadline::after(&clock, Duration::from_secs(2));
/// let inner = Deadline::after(&clock, Duration::from_secs(5)).earliest(outer);
/// assert_eq!(inner, outer);
/// clock.advance(Duration::from_millis(1_500));
/// assert_eq!(inner.remaining(&clock), Some(Duration::from_millis(500)));
/// clock.advance(Duration::from_millis(500));
/// assert!(inner.is_expired(&clock));
/// assert_eq!(inner.remaining(&clock), None);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deadline {
    time: Duration,
}

impl Deadline {
    /// `timeout` from now by `clock` (saturating at the largest `Duration`).
    pub fn after<C: Clock + ?Sized>(clock: &C, timeout: Duration) -> Self {
        Deadline {
            time: clock.now().saturating_add(timeout),
        }
    }

    /// At `time`, a [`Clock::now`] value (time since the Unix epoch).
    pub fn at(time: Duration) -> Self {
        Deadline { time }
    }

    /// The deadline as a [`Clock::now`] value.
    pub fn time(&self) -> Duration {
        self.time
    }

    /// The time left by `clock`; `None` once the deadline is reached.
    pub fn remaining<C: Clock + ?Sized>(&self, clock: &C) -> Option<Duration> {
        self.time.checked_sub(clock.now()).filter(|d| !d.is_zero())
    }

    /// Whether the deadline is reached by `clock` (`now >= time`).
    pub fn is_expired<C: Clock + ?Sized>(&self, clock: &C) -> bool {
        clock.now() >= self.time
    }

    /// The earlier of the two: for a nested call, the tighter deadline wins.
    #[must_use]
    pub fn earliest(self, other: Deadline) -> Deadline {
        self.min(other)
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    use super::*;
    use sinew_clock::ManualClock;

    #[test]
    fn saturates_and_orders() {
        let clock = ManualClock::new(Duration::from_secs(10));
        let far = Deadline::after(&clock, Duration::MAX);
        assert_eq!(far.time(), Duration::MAX);
        let near = Deadline::at(Duration::from_secs(11));
        assert!(near < far);
        assert_eq!(far.earliest(near), near);
        assert_eq!(near.remaining(&clock), Some(Duration::from_secs(1)));
        assert!(!near.is_expired(&clock));
        clock.advance(Duration::from_secs(2));
        assert!(near.is_expired(&clock));
        assert_eq!(near.remaining(&clock), None);
        let dyn_clock: &dyn Clock = &clock;
        assert!(near.is_expired(dyn_clock));
    }
}
