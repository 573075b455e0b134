//! [`SlidingWindow`]: the sliding-window-counter limiter.

use std::time::Duration;

use sinew_clock::{Clock, SystemClock};

use crate::error::{CheckNError, ConfigError, Denied};
use crate::metrics::Metrics;
use crate::quota::MAX_DEPTH_NANOS;
use crate::sync::{Mutex, lock};

/// At most `limit` requests in any window of length `window`, approximated from two counters:
/// the requests counted in the current fixed window and in the previous one, the previous
/// weighted by how much of it the sliding window still covers.
///
/// `estimate = previous × (window − elapsed) / window + current`, and a request of `n` is
/// admitted iff `estimate + n ≤ limit` (computed exactly in integers). This is the algorithm
/// of the classic API-limiter designs (Cloudflare's, for example): constant memory, smooth at
/// window boundaries unlike a fixed window, and it never admits more than `2 × limit` in any
/// window even at its worst. It differs from a token bucket ([`RateLimiter`](crate::RateLimiter))
/// in that its burst *is* its limit, and the budget returns as old requests age out rather
/// than at a fixed rate.
///
/// State is three integers behind a short `Mutex` (the update touches several fields; GCRA's
/// single word is the lock-free choice). Time that moves backwards is clamped to the latest
/// time seen.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sinew_ratelimit::{ManualClock, SlidingWindow};
///
/// let clock = ManualClock::new(Duration::from_secs(60));
/// let window = SlidingWindow::with_clock(100, Duration::from_secs(60), clock.clone())?;
/// window.check_n(100)?;
/// assert!(window.check().is_err());
/// // Half-way through the next window, half of the previous one still counts.
/// clock.advance(Duration::from_secs(90));
/// window.check_n(50)?;
/// assert!(window.check().is_err());
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SlidingWindow<C = SystemClock> {
    limit: u32,
    window: u64,
    state: Mutex<State>,
    start: u64,
    clock: C,
}

#[derive(Debug, Clone, Copy)]
struct State {
    /// Index of the current fixed window.
    index: u64,
    previous: u64,
    current: u64,
    /// Latest time seen, so a clock moving backwards cannot reopen a window.
    latest: u64,
    /// Decisions so far, counted under the lock a check holds anyway.
    counts: Metrics,
}

impl SlidingWindow {
    /// `limit` requests per `window`, on the [`SystemClock`].
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroLimit`] for a zero limit, [`ConfigError::ZeroWindow`] for a zero window.
    pub fn new(limit: u32, window: Duration) -> Result<Self, ConfigError> {
        Self::with_clock(limit, window, SystemClock)
    }
}

impl<C: Clock> SlidingWindow<C> {
    /// `limit` requests per `window`, on `clock`. Windows shorter than a nanosecond are taken
    /// as 1 ns, and windows longer than [`MAX_REFILL`](crate::MAX_REFILL) (146 years) are cut to
    /// it, so every wait fits in `u64` nanoseconds.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroLimit`] for a zero limit, [`ConfigError::ZeroWindow`] for a zero window.
    pub fn with_clock(limit: u32, window: Duration, clock: C) -> Result<Self, ConfigError> {
        if limit == 0 {
            return Err(ConfigError::ZeroLimit);
        }
        if window.is_zero() {
            return Err(ConfigError::ZeroWindow);
        }
        // Cut to MAX_REFILL, so the longest wait (two windows) fits in u64 nanoseconds.
        let window = u64::try_from(window.as_nanos())
            .unwrap_or(u64::MAX)
            .clamp(1, MAX_DEPTH_NANOS);
        let start = clock.now_nanos();
        Ok(SlidingWindow {
            limit,
            window,
            state: Mutex::new(State {
                index: 0,
                previous: 0,
                current: 0,
                latest: 0,
                counts: Metrics::default(),
            }),
            start,
            clock,
        })
    }

    /// Takes one request from the window if it fits.
    ///
    /// # Errors
    ///
    /// [`Denied`] with the exact wait until it would fit; nothing is counted.
    pub fn check(&self) -> Result<(), Denied> {
        self.acquire(1, true)
    }

    /// Counts `n` requests if all fit, otherwise none (`n = 0` always succeeds).
    ///
    /// # Errors
    ///
    /// [`CheckNError::Denied`] with the exact wait, or [`CheckNError::InsufficientCapacity`]
    /// if `n` exceeds the limit.
    pub fn check_n(&self, n: u32) -> Result<(), CheckNError> {
        self.capacity(n)?;
        Ok(self.acquire(n, true)?)
    }

    /// Would [`check`](Self::check) admit a request now? Counts nothing.
    ///
    /// # Errors
    ///
    /// [`Denied`] with the wait, as `check` would return it.
    pub fn peek(&self) -> Result<(), Denied> {
        self.acquire(1, false)
    }

    /// Would [`check_n`](Self::check_n) admit `n` requests now? Counts nothing.
    ///
    /// # Errors
    ///
    /// As [`check_n`](Self::check_n).
    pub fn peek_n(&self, n: u32) -> Result<(), CheckNError> {
        self.capacity(n)?;
        Ok(self.acquire(n, false)?)
    }

    /// Admissions and denials since the window was made (see [`Metrics`] for what counts).
    /// Counted under the window's lock, so the snapshot is exact.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sinew_ratelimit::{ManualClock, SlidingWindow};
    ///
    /// let clock = ManualClock::new(Duration::from_secs(60));
    /// let window = SlidingWindow::with_clock(2, Duration::from_secs(1), clock)?;
    /// window.check_n(2)?;
    /// assert!(window.check().is_err());
    /// let m = window.metrics();
    /// assert_eq!((m.admitted, m.denied), (1, 1));
    /// Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn metrics(&self) -> Metrics {
        lock(&self.state).counts
    }

    /// The configured limit per window.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The window length.
    pub fn window(&self) -> Duration {
        Duration::from_nanos(self.window)
    }

    fn capacity(&self, n: u32) -> Result<(), CheckNError> {
        if n > self.limit {
            return Err(CheckNError::InsufficientCapacity {
                requested: n,
                capacity: self.limit,
            });
        }
        Ok(())
    }

    fn acquire(&self, n: u32, take: bool) -> Result<(), Denied> {
        let now = self.clock.now_nanos().saturating_sub(self.start);
        let mut state = lock(&self.state);
        let now = now.max(state.latest);
        state.latest = now;
        let index = now / self.window;
        if index != state.index {
            state.previous = if index == state.index.saturating_add(1) {
                state.current
            } else {
                0
            };
            state.current = 0;
            state.index = index;
        }
        let elapsed = now % self.window;
        match wait(
            self.limit,
            self.window,
            elapsed,
            state.previous,
            state.current,
            n,
        ) {
            0 => {
                if take && n > 0 {
                    state.current += u64::from(n);
                    state.counts.admitted = state.counts.admitted.wrapping_add(1);
                }
                Ok(())
            }
            wait => {
                if take {
                    state.counts.denied = state.counts.denied.wrapping_add(1);
                }
                Err(Denied::after(wait))
            }
        }
    }
}

/// Nanoseconds until `n` more requests fit (0: they fit now). `elapsed` is the time into the
/// current window; `n <= limit`. Exact integer arithmetic in `u128`: admitted iff
/// `previous × (window − elapsed) + (current + n) × window ≤ limit × window`.
pub(crate) fn wait(
    limit: u32,
    window: u64,
    elapsed: u64,
    previous: u64,
    current: u64,
    n: u32,
) -> u64 {
    let (w, limit, n) = (u128::from(window), u128::from(limit), u128::from(n));
    let (previous, current) = (u128::from(previous), u128::from(current));
    let fits =
        |prev: u128, cur: u128, elapsed: u128| prev * (w - elapsed) + (cur + n) * w <= limit * w;
    let elapsed = u128::from(elapsed);
    if fits(previous, current, elapsed) {
        return 0;
    }
    if current + n <= limit {
        // Fits later in this window, once enough of `previous` has aged out: the least e with
        // previous × (w − e) ≤ (limit − current − n) × w. (`previous > 0` here.)
        let room = (limit - current - n) * w;
        // `e` is the least integer with previous × (w − e) ≤ room when room/previous is
        // floored, so the wait is exact. Not fitting now means room/previous < w − elapsed, so
        // `e > elapsed`; the saturating forms only guard that reasoning.
        let e = w.saturating_sub(room.checked_div(previous).unwrap_or(0));
        return clamp_u64(e.saturating_sub(elapsed));
    }
    // Not in this window: in the next, `current` becomes the previous count.
    let to_next = w - elapsed;
    let room = (limit - n) * w;
    let e = room
        .checked_div(current)
        .map_or(0, |fit| w.saturating_sub(fit));
    clamp_u64(to_next + e)
}

fn clamp_u64(x: u128) -> u64 {
    u64::try_from(x).unwrap_or(u64::MAX).max(1)
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    use super::*;
    use sinew_clock::ManualClock;

    #[test]
    fn errors() {
        let c = ManualClock::new(Duration::ZERO);
        assert_eq!(
            SlidingWindow::with_clock(0, Duration::from_secs(1), c.clone()).err(),
            Some(ConfigError::ZeroLimit)
        );
        assert_eq!(
            SlidingWindow::with_clock(1, Duration::ZERO, c).err(),
            Some(ConfigError::ZeroWindow)
        );
    }

    /// Found by the fuzz target: a window of ~295 years made the wait (two windows) overflow
    /// `u64` nanoseconds and saturate. Windows are now cut to `MAX_REFILL`.
    #[test]
    fn longest_window_wait_fits() {
        let clock = ManualClock::new(Duration::from_secs(1));
        let sw = SlidingWindow::with_clock(7, Duration::MAX, clock.clone()).unwrap();
        assert_eq!(sw.window(), crate::MAX_REFILL);
        sw.check_n(7).unwrap();
        let wait = sw.check_n(7).unwrap_err().retry_after().unwrap();
        assert_eq!(wait, crate::MAX_REFILL * 2);
        let sub = SlidingWindow::with_clock(1, Duration::from_nanos(1), clock).unwrap();
        assert_eq!(sub.window(), Duration::from_nanos(1));
    }

    #[test]
    fn wait_is_exact() {
        // limit 10 per 100 ns window, previous 10, current 0, at elapsed 0: need previous term
        // ≤ 9 × 100 - ... fits once 10 × (100 − e) ≤ 9 × 100, e ≥ 10.
        assert_eq!(wait(10, 100, 0, 10, 0, 1), 10);
        assert_eq!(wait(10, 100, 10, 10, 0, 1), 0);
        // current full: next window, then current (10) ages: 10 × (100 − e) ≤ 9 × 100.
        assert_eq!(wait(10, 100, 30, 0, 10, 1), 70 + 10);
    }
}
