//! Async waiting (`tokio` feature): `until_ready` futures and [`TokioClock`].

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::time::Duration;

use sinew_clock::{Clock, SystemClock};

use crate::error::CheckNError;
use crate::sync::{AtomicUsize, Ordering};
use crate::{KeyedRateLimiter, RateLimiter, SlidingWindow};

/// A [`Clock`] that reads tokio's time, so a limiter follows `tokio::time::pause` and
/// `advance` in tests (`#[tokio::test(start_paused = true)]`), and agrees exactly with the
/// timer its `until_ready` futures sleep on.
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
/// use sinew_ratelimit::{Quota, RateLimiter, TokioClock};
///
/// let limiter = RateLimiter::with_clock(Quota::per_second(2)?.burst(1)?, TokioClock::new());
/// let start = tokio::time::Instant::now();
/// for _ in 0..3 {
///     limiter.until_ready().await; // tokio's paused clock jumps to each wake-up
/// }
/// assert_eq!(start.elapsed(), Duration::from_secs(1));
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
        let elapsed = self.origin.elapsed();
        self.wall
            .saturating_add(elapsed.as_secs().saturating_mul(1_000_000_000))
            .saturating_add(u64::from(elapsed.subsec_nanos()))
    }
}

/// Calls `attempt` until it admits, sleeping on tokio's timer for each `retry_after` plus up
/// to `jitter`. Returns the permanent error if one comes.
async fn wait_loop(
    mut attempt: impl FnMut() -> Result<(), CheckNError>,
    jitter: Duration,
) -> Result<(), CheckNError> {
    loop {
        let wait = match attempt() {
            Ok(()) => return Ok(()),
            Err(CheckNError::Denied(denied)) => denied.retry_after(),
            Err(permanent) => return Err(permanent),
        };
        let extra = match u64::try_from(jitter.as_nanos()) {
            Ok(0) => 0,
            Ok(max) => fastrand::u64(0..=max),
            Err(_) => fastrand::u64(..),
        };
        // At least a millisecond (tokio's timer resolution), so a clock coarser than the
        // timer, such as a `CachedClock`, cannot turn this into a busy loop.
        let sleep = wait
            .saturating_add(Duration::from_nanos(extra))
            .max(Duration::from_millis(1));
        tokio::time::sleep(sleep).await;
    }
}

/// The cancellation and clock notes shared by every `until_*` method.
macro_rules! wait_docs {
    () => {
        concat!(
            "\n\n",
            "**Cancel-safe**: the future holds no tokens while it waits, so dropping it ",
            "(in a `select!`, on a timeout) takes nothing from the limiter; tokens are taken ",
            "atomically at the moment it completes.\n\n",
            "**Not a busy loop**: it sleeps on tokio's timer until the exact `retry_after` ",
            "(at least 1 ms, tokio's timer resolution).\n\n",
            "The limiter's clock must follow the time tokio sleeps on: [`SystemClock`], ",
            "[`CachedClock`](crate::CachedClock) or [`TokioClock`]. With a ",
            "[`ManualClock`](crate::ManualClock) that nobody advances, it waits forever."
        )
    };
}

/// The fairness note of the methods that do not queue.
macro_rules! unfair_docs {
    () => {
        concat!(
            "\n\n",
            "**Fairness: none.** Waiters are not queued: each sleeps until its own ",
            "`retry_after` and then competes with every other caller. Two waiters woken for ",
            "one token: one gets it, the other sleeps again. Under sustained contention an ",
            "unlucky waiter can be overtaken repeatedly, and a waiter for `n` tokens can be ",
            "starved by callers taking single tokens as they appear. (A FIFO queue per key ",
            "would cost memory per key; [`RateLimiter`]'s waiters are FIFO.)"
        )
    };
}

/// The fairness note of [`RateLimiter`]'s methods.
macro_rules! fifo_docs {
    () => {
        concat!(
            "\n\n",
            "**Fairness: FIFO between the async waiters of one limiter.** A call that cannot ",
            "be admitted at once joins a queue (a `tokio::sync::Mutex`, which is FIFO) and ",
            "only its head waits for tokens; while anyone is queued, newcomers queue behind ",
            "them instead of trying first. So a waiter for `n` tokens is not starved by later ",
            "single-token waiters (they wait behind it: head-of-line blocking is the price). ",
            "Synchronous [`check`](RateLimiter::check) calls are not queued and can still take ",
            "tokens ahead of the queue."
        )
    };
}

/// The FIFO queue of a [`RateLimiter`]'s async waiters.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    turn: tokio::sync::Mutex<()>,
    queued: AtomicUsize,
}

/// Counts a waiter as queued while it lives.
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Queued(count)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<C: Clock> RateLimiter<C> {
    /// True while async waiters are queued (they are served before newcomers).
    pub(crate) fn has_waiters(&self) -> bool {
        self.queue().queued.load(Ordering::Relaxed) != 0
    }

    #[doc = "Waits until one token is available and takes it."]
    #[doc = fifo_docs!()]
    #[doc = wait_docs!()]
    pub async fn until_ready(&self) {
        // One token always fits in every quota, so the permanent error cannot happen.
        let _ = self.until_n_ready_with_jitter(1, Duration::ZERO).await;
    }

    #[doc = "As [`until_ready`](Self::until_ready), adding a random delay of up to `jitter` to each sleep."]
    #[doc = fifo_docs!()]
    #[doc = wait_docs!()]
    pub async fn until_ready_with_jitter(&self, jitter: Duration) {
        let _ = self.until_n_ready_with_jitter(1, jitter).await;
    }

    #[doc = "Waits until `n` tokens are available and takes them all at once."]
    #[doc = fifo_docs!()]
    #[doc = wait_docs!()]
    ///
    /// # Errors
    ///
    /// [`CheckNError::InsufficientCapacity`] (at once, or as soon as a `set_quota` makes it
    /// so) if `n` tokens can never fit in the bucket.
    pub async fn until_n_ready(&self, n: u32) -> Result<(), CheckNError> {
        self.until_n_ready_with_jitter(n, Duration::ZERO).await
    }

    #[doc = "As [`until_n_ready`](Self::until_n_ready), adding a random delay of up to `jitter` to each sleep."]
    #[doc = fifo_docs!()]
    #[doc = wait_docs!()]
    ///
    /// # Errors
    ///
    /// As [`until_n_ready`](Self::until_n_ready).
    pub async fn until_n_ready_with_jitter(
        &self,
        n: u32,
        jitter: Duration,
    ) -> Result<(), CheckNError> {
        let queue = self.queue();
        if !self.has_waiters() {
            match self.check_n(n) {
                Err(CheckNError::Denied(_)) => {}
                admitted_or_never => return admitted_or_never,
            }
        }
        let _queued = Queued::enter(&queue.queued);
        // Cancel-safe: a dropped `lock` future leaves the queue; a dropped guard passes the
        // turn on.
        let _turn = queue.turn.lock().await;
        wait_loop(|| self.check_n(n), jitter).await
    }
}

impl<K: Hash + Eq, C: Clock, S: BuildHasher> KeyedRateLimiter<K, C, S> {
    #[doc = "Waits until `key`'s bucket holds `n` tokens (and, for a new key, until the limiter has room for it), then takes them."]
    #[doc = unfair_docs!()]
    #[doc = wait_docs!()]
    ///
    /// # Errors
    ///
    /// [`CheckNError::InsufficientCapacity`] if `n` tokens can never fit in a bucket.
    pub async fn until_key_n_ready<Q>(&self, key: &Q, n: u32) -> Result<(), CheckNError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        wait_loop(|| self.check_key_n(key, n), Duration::ZERO).await
    }

    #[doc = "Waits until `key`'s bucket holds a token, then takes it."]
    #[doc = unfair_docs!()]
    #[doc = wait_docs!()]
    pub async fn until_key_ready<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let _ = self.until_key_n_ready(key, 1).await;
    }
}

impl<C: Clock> SlidingWindow<C> {
    #[doc = "Waits until one more request fits in the window, then counts it."]
    #[doc = unfair_docs!()]
    #[doc = wait_docs!()]
    pub async fn until_ready(&self) {
        let _ = wait_loop(|| Ok(self.check()?), Duration::ZERO).await;
    }

    #[doc = "Waits until `n` more requests fit in the window, then counts them."]
    #[doc = unfair_docs!()]
    #[doc = wait_docs!()]
    ///
    /// # Errors
    ///
    /// [`CheckNError::InsufficientCapacity`] if `n` exceeds the window's limit.
    pub async fn until_n_ready(&self, n: u32) -> Result<(), CheckNError> {
        wait_loop(|| self.check_n(n), Duration::ZERO).await
    }
}
