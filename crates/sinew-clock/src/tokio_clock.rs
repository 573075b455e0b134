//! [`TokioClock`] (`tokio` feature): a clock on tokio's time.

use std::time::Duration;

use crate::{Clock, SystemClock, add_elapsed};

/// A [`Clock`] that reads tokio's time, so a primitive on it follows `tokio::time::pause` and
/// `advance` in tests (`#[tokio::test(start_paused = true)]`), and agrees exactly with the
/// timer its async waiting sleeps on (sinew-ratelimit's `until_ready`, for one).
///
/// Readings are the [`SystemClock`] time when the `TokioClock` was made plus the tokio time
/// elapsed since. Copies share the origin. Outside a tokio runtime it reads as the real
/// monotonic clock.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use sinew_clock::{Clock, TokioClock};
///
/// let clock = TokioClock::new();
/// let before = clock.now();
/// tokio::time::sleep(Duration::from_secs(3600)).await; // the paused clock jumps an hour
/// assert_eq!(clock.now() - before, Duration::from_secs(3600));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    wall: u64,
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock whose reading starts at the current [`SystemClock`] time.
    pub fn new() -> Self {
        TokioClock {
            wall: SystemClock.now_nanos(),
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    fn now_nanos(&self) -> u64 {
        add_elapsed(self.wall, self.origin.elapsed())
    }
}
