//! Async waiting (`tokio` feature): `until_ready` futures.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::time::Duration;

use sinew_clock::Clock;

use crate::error::CheckNError;
use crate::gcra::Ticket;
use crate::{KeyedRateLimiter, RateLimiter, SlidingWindow};

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
        // At least a millisecond (tokio's timer resolution), so a clock coarser than the
        // timer, such as a `CachedClock`, cannot turn this into a busy loop.
        let sleep = wait
            .saturating_add(jitter_of(jitter))
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
            "(at least 1 ms, tokio's timer resolution). So when the wait is under 1 ms (a rate ",
            "above 1,000 per second), waiters wake at most once per millisecond and together ",
            "take at most what the bucket holds then: at most `burst` tokens per millisecond, ",
            "below the rate if `burst` is smaller than the tokens one millisecond brings. Size ",
            "the burst to at least a millisecond's worth for such rates.\n\n",
            "The limiter's clock must follow the time tokio sleeps on: [`SystemClock`](crate::SystemClock), ",
            "[`CachedClock`](crate::CachedClock) or [`TokioClock`](crate::TokioClock). With a ",
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
            "would cost memory per key; [`RateLimiter`]'s waiters reserve in order.)"
        )
    };
}

/// The notes of [`RateLimiter`]'s methods: fairness, cancellation and the clock.
macro_rules! fifo_docs {
    () => {
        concat!(
            "\n\n",
            "**Fairness: first come, first served, by reservation.** A call that cannot be ",
            "admitted at once *reserves* its tokens: one compare-exchange moves the limiter's ",
            "TAT forward by their cost, putting the bucket in debt, and the future sleeps until ",
            "the moment those tokens are due. Reservations are served in the order they were ",
            "made, so a waiter for `n` tokens is not starved by later single-token waiters, and ",
            "synchronous [`check`](RateLimiter::check) calls see the debt and are denied until it ",
            "is paid. There is no queue and no lock: a waiter that nobody polls (a future kept ",
            "but abandoned, a service never driven) holds only its own tokens and blocks nobody; ",
            "later waiters are scheduled after it, exactly as if it had been served.\n\n",
            "**Cancel-safe**: dropping the future before it completes refunds its tokens (the ",
            "TAT moves back by their cost) if nobody has taken or reserved tokens after it, ",
            "which covers a lone waiter giving up on a timeout and the last of a queue. If ",
            "others have reserved after it, they keep their wake-up times, and handing its tokens ",
            "to anyone else could admit more than the quota in a short window; its tokens are ",
            "then forfeited (the limiter is stricter for one refill, never looser). Once it ",
            "completes, the tokens are taken.\n\n",
            "**Not a busy loop**: one reservation, one sleep on tokio's timer until the tokens ",
            "are due (tokio rounds up to its 1 ms resolution; every waiter has its own tokens, ",
            "so waits shorter than 1 ms do not cut throughput, they only complete up to 1 ms ",
            "late). With jitter, the sleep is longer by up to `jitter` while the tokens stay ",
            "reserved.\n\n",
            "The wait is computed on the limiter's clock and slept on tokio's timer, so the clock ",
            "should follow tokio's time: [`SystemClock`](crate::SystemClock), [`CachedClock`](crate::CachedClock) ",
            "or [`TokioClock`](crate::TokioClock). A reservation made under one quota keeps its wake-up time if ",
            "[`set_quota`](RateLimiter::set_quota) changes the quota meanwhile."
        )
    };
}

/// Refunds a reservation unless it was completed.
struct Reservation<'a, C> {
    limiter: &'a RateLimiter<C>,
    /// `None` once completed.
    ticket: Option<Ticket>,
}

impl<C> Drop for Reservation<'_, C> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.limiter.refund(ticket);
        }
    }
}

impl<C: Clock> RateLimiter<C> {
    #[doc = "Waits until one token is available and takes it."]
    #[doc = fifo_docs!()]
    pub async fn until_ready(&self) {
        // One token always fits in every quota, so the permanent error cannot happen.
        let _ = self.until_n_ready_with_jitter(1, Duration::ZERO).await;
    }

    #[doc = "As [`until_ready`](Self::until_ready), adding a random delay of up to `jitter` to the sleep."]
    #[doc = fifo_docs!()]
    pub async fn until_ready_with_jitter(&self, jitter: Duration) {
        let _ = self.until_n_ready_with_jitter(1, jitter).await;
    }

    #[doc = "Waits until `n` tokens are available and takes them all at once."]
    #[doc = fifo_docs!()]
    ///
    /// # Errors
    ///
    /// [`CheckNError::InsufficientCapacity`], at once and taking nothing, if `n` tokens can
    /// never fit in the bucket.
    pub async fn until_n_ready(&self, n: u32) -> Result<(), CheckNError> {
        self.until_n_ready_with_jitter(n, Duration::ZERO).await
    }

    #[doc = "As [`until_n_ready`](Self::until_n_ready), adding a random delay of up to `jitter` to the sleep."]
    #[doc = fifo_docs!()]
    ///
    /// # Errors
    ///
    /// As [`until_n_ready`](Self::until_n_ready).
    pub async fn until_n_ready_with_jitter(
        &self,
        n: u32,
        jitter: Duration,
    ) -> Result<(), CheckNError> {
        self.wait_n(n, jitter).await.map(drop)
    }

    /// The wait behind the `until_*` methods; returns the ticket of the tokens taken, for a
    /// [`refund`](Self::refund) if the caller cannot use them.
    pub(crate) async fn wait_n(&self, n: u32, jitter: Duration) -> Result<Ticket, CheckNError> {
        if n == 0 {
            return Ok(Ticket::EMPTY);
        }
        let (ticket, wait) = self.reserve(n)?;
        if wait == 0 {
            self.count_admitted();
            return Ok(ticket);
        }
        let mut reservation = Reservation {
            limiter: self,
            ticket: Some(ticket),
        };
        let sleep = Duration::from_nanos(wait).saturating_add(jitter_of(jitter));
        tokio::time::sleep(sleep).await;
        // Completed: the tokens are the caller's now.
        reservation.ticket = None;
        self.count_admitted();
        Ok(ticket)
    }
}

/// A random delay of up to `jitter`.
fn jitter_of(jitter: Duration) -> Duration {
    Duration::from_nanos(match u64::try_from(jitter.as_nanos()) {
        Ok(0) => 0,
        Ok(max) => fastrand::u64(0..=max),
        Err(_) => fastrand::u64(..),
    })
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
