//! [`CachedClock`]: a clock read that costs one atomic load.

use std::time::Duration;

use crate::sync::{Arc, AtomicU64, Ordering};
use crate::{Clock, SystemClock};

/// A [`SystemClock`] reading cached in an atomic, for hot paths where the clock read dominates.
///
/// [`now`](Clock::now) is a single relaxed atomic load (about 1 ns, against about 20 ns for
/// [`SystemClock`] and [`std::time::Instant::now`]); the price is resolution. The cache is
/// refreshed either by a background thread ([`CachedClock::new`],
/// [`CachedClock::with_resolution`]) or by the caller ([`CachedClock::refresh`], for example
/// from an event loop's timer, with [`CachedClock::without_thread`]).
///
/// Guarantees:
/// - A reading is never later than the true [`SystemClock`] time, and lags it by about one
///   resolution (more if the refresher thread is descheduled: it is an ordinary thread).
/// - Readings never go backwards, in any thread, even with several refreshers (the cache only
///   moves forwards: `fetch_max`). This is checked by a loom model.
/// - Clones share one cache. The background thread stops by itself once every handle is dropped.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sinew_clock::{CachedClock, Clock, SystemClock};
///
/// let coarse = CachedClock::with_resolution(Duration::from_millis(1));
/// let precise = SystemClock::new().now();
/// // The cached reading trails the precise one by about the resolution.
/// assert!(precise.saturating_sub(coarse.now()) < Duration::from_secs(5));
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct CachedClock {
    cell: Arc<Cell>,
    /// Set only when the refresher thread could not be started: each read refreshes first.
    refresh_on_read: bool,
}

/// The shared cache: nanoseconds since the Unix epoch.
#[derive(Debug)]
struct Cell {
    nanos: AtomicU64,
}

impl Cell {
    fn new(nanos: u64) -> Self {
        Cell {
            nanos: AtomicU64::new(nanos),
        }
    }

    /// Publishes a reading. `fetch_max` keeps the cache monotonic even if a slow refresher
    /// publishes an older reading after a faster one.
    #[inline]
    fn publish(&self, nanos: u64) {
        self.nanos.fetch_max(nanos, Ordering::Relaxed);
    }

    /// Relaxed is enough: the value is the whole message (nothing else is published with
    /// it), and read-read coherence on one atomic keeps each reader's sequence monotonic.
    #[inline]
    fn read(&self) -> u64 {
        self.nanos.load(Ordering::Relaxed)
    }
}

impl CachedClock {
    /// Resolutions below this are raised to it, so the refresher cannot monopolise a core.
    pub const MIN_RESOLUTION: Duration = Duration::from_micros(50);

    /// A cached clock that the caller refreshes with [`refresh`](Self::refresh); no thread is
    /// started. It starts at the current [`SystemClock`] time.
    pub fn without_thread() -> Self {
        CachedClock {
            cell: Arc::new(Cell::new(SystemClock.now_nanos())),
            refresh_on_read: false,
        }
    }

    /// Stores the current [`SystemClock`] time in the cache (never moving it backwards).
    pub fn refresh(&self) {
        self.cell.publish(SystemClock.now_nanos());
    }
}

#[cfg(not(sinew_loom))]
impl CachedClock {
    /// A cached clock refreshed every millisecond by a background thread.
    pub fn new() -> Self {
        Self::with_resolution(Duration::from_millis(1))
    }

    /// A cached clock refreshed every `resolution` (at least [`MIN_RESOLUTION`]) by a
    /// background thread named `sinew-clock`.
    ///
    /// If the operating system refuses to start the thread, the clock falls back to being
    /// refreshed on every read, which is correct but as slow as [`SystemClock`].
    ///
    /// [`MIN_RESOLUTION`]: Self::MIN_RESOLUTION
    pub fn with_resolution(resolution: Duration) -> Self {
        use crate::sync::{Weak, thread};

        let clock = Self::without_thread();
        let resolution = resolution.max(Self::MIN_RESOLUTION);
        let weak: Weak<Cell> = Arc::downgrade(&clock.cell);
        let spawned = thread::Builder::new()
            .name("sinew-clock".into())
            .spawn(move || {
                // Holding only a weak reference lets the last handle's drop stop the thread.
                while let Some(cell) = weak.upgrade() {
                    cell.publish(SystemClock.now_nanos());
                    drop(cell);
                    thread::sleep(resolution);
                }
            });
        CachedClock {
            refresh_on_read: spawned.is_err(),
            ..clock
        }
    }
}

#[cfg(not(sinew_loom))]
impl Default for CachedClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for CachedClock {
    #[inline]
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        if self.refresh_on_read {
            self.refresh();
        }
        self.cell.read()
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    use super::*;

    #[test]
    fn manual_refresh_moves_forwards_only() {
        let clock = CachedClock::without_thread();
        let first = clock.now_nanos();
        clock.refresh();
        let second = clock.now_nanos();
        assert!(second >= first);
        // An older reading published late is ignored.
        clock.cell.publish(first.saturating_sub(1_000_000_000));
        assert_eq!(clock.now_nanos(), second);
        // Without a refresh, the reading does not move.
        assert_eq!(clock.now_nanos(), second);
    }

    #[test]
    fn background_thread_refreshes_and_stops_with_last_handle() {
        let clock = CachedClock::with_resolution(Duration::from_micros(100));
        let first = clock.now_nanos();
        let precise = SystemClock.now_nanos();
        assert!(
            first <= precise,
            "a cached reading is never ahead of the system clock"
        );
        // Wait (bounded, milliseconds in practice) for the refresher to publish a later time.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while clock.now_nanos() == first {
            assert!(std::time::Instant::now() < deadline, "refresher never ran");
            std::thread::yield_now();
        }
        let weak = Arc::downgrade(&clock.cell);
        drop(clock);
        // The refresher holds the cell only while publishing; once it lets go, nothing does.
        while weak.upgrade().is_some() {
            assert!(
                std::time::Instant::now() < deadline,
                "refresher kept the cell alive"
            );
            std::thread::yield_now();
        }
    }
}

#[cfg(all(test, sinew_loom))]
mod loom_models {
    use super::*;

    /// Two refreshers publishing out of order never make a reader see time go backwards.
    #[test]
    fn readings_never_go_backwards() {
        loom::model(|| {
            let cell = Arc::new(Cell::new(10));
            let (a, b) = (cell.clone(), cell.clone());
            let t1 = loom::thread::spawn(move || a.publish(30));
            let t2 = loom::thread::spawn(move || b.publish(20));
            let first = cell.read();
            let second = cell.read();
            assert!(second >= first);
            t1.join().unwrap();
            t2.join().unwrap();
            assert_eq!(
                cell.read(),
                30,
                "the latest reading wins whatever the order"
            );
        });
    }
}
