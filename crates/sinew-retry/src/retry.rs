//! The retry helpers: [`retry`] (async, tokio), [`retry_blocking`] and [`retry_blocking_with`].

use std::time::Duration;

use sinew_clock::Clock;

use crate::deadline::Deadline;
use crate::error::RetryError;
use crate::policy::{Attempt, Classify, Decision, PolicyDelays, RetryPolicy};

/// A successful result and the attempts it took (1 = the first call succeeded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Retried<T> {
    /// The operation's value.
    pub value: T,
    /// Attempts made, the successful one included.
    pub attempts: u32,
}

impl<T> Retried<T> {
    /// The value, without the count.
    pub fn into_value(self) -> T {
        self.value
    }
}

/// Why a run gives up, before the error is attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GiveUp {
    Stopped,
    Exhausted,
    Budget,
    Deadline,
}

impl GiveUp {
    pub(crate) fn with<E>(self, error: E, attempts: u32) -> RetryError<E> {
        match self {
            GiveUp::Stopped => RetryError::Stopped { error, attempts },
            GiveUp::Exhausted => RetryError::Exhausted { error, attempts },
            GiveUp::Budget => RetryError::Budget { error, attempts },
            GiveUp::Deadline => RetryError::Deadline {
                error: Some(error),
                attempts,
            },
        }
    }
}

/// The next move of a retry loop, from [`Run::step`].
pub(crate) enum Step<T, E> {
    /// Wait this long (maybe zero), then make the next attempt.
    Wait(Duration),
    /// The operation's result.
    Done(Result<Retried<T>, RetryError<E>>),
}

/// One operation's retry loop, shared by the helpers and the tower layer: the budget
/// deposit, the delays, the deadline and budget checks. Sans-io: it says how long to wait and
/// the caller waits. `P` is how it holds the policy: a borrow in the helpers, an `Arc` in
/// the tower layer's response future (which must own what it uses).
pub(crate) struct Run<P> {
    policy: P,
    deadline: Option<Deadline>,
    /// Made at the first failure: a call that succeeds at once (the common case) never
    /// needs them.
    delays: Option<PolicyDelays>,
    /// The clock at the start, read only when the backoff's `max_elapsed` needs it.
    start: Option<Duration>,
    attempts: u32,
}

impl<P, K, C> Run<P>
where
    P: std::ops::Deref<Target = RetryPolicy<K, C>>,
    C: Clock,
{
    /// Starts an operation: deposits into the budget once, and reads the clock if the
    /// backoff has a `max_elapsed` (nothing else a first attempt needs is prepared here).
    #[inline]
    pub(crate) fn start(policy: P, deadline: Option<Deadline>) -> Self {
        if let Some(budget) = policy.budget_ref() {
            budget.deposit();
        }
        let start = policy
            .backoff()
            .max_elapsed()
            .map(|_| policy.clock_ref().now());
        Run {
            deadline,
            delays: None,
            start,
            policy,
            attempts: 0,
        }
    }

    /// The next attempt, counted as started; `None` if the deadline has passed.
    pub(crate) fn next_attempt(&mut self) -> Option<Attempt> {
        let timeout = match self.deadline {
            Some(d) => match d.remaining(self.policy.clock_ref()) {
                Some(left) => Some(left),
                None => {
                    self.refused("deadline", "the deadline passed before the attempt");
                    return None;
                }
            },
            None => None,
        };
        self.attempts = self.attempts.saturating_add(1);
        Some(Attempt {
            number: self.attempts,
            timeout,
        })
    }

    /// After a failed attempt: how long to wait before the next, or why to give up. A
    /// retry is withdrawn from the budget only once every other check has passed.
    pub(crate) fn after_error<E>(&mut self, error: &E) -> Result<Duration, GiveUp>
    where
        K: Classify<E>,
    {
        let hint = match self.policy.classifier().classify(error) {
            Decision::Stop => return Err(GiveUp::Stopped),
            Decision::Retry => Duration::ZERO,
            Decision::RetryAfter(hint) => hint,
        };
        let policy = &*self.policy;
        // The hint comes from the server: a wait past the policy's bound is not taken (a
        // `Retry-After` of a year would otherwise park the caller for a year).
        if hint > policy.max_retry_after_ref() {
            return Err(GiveUp::Exhausted);
        }
        let Some(delay) = self.delays.get_or_insert_with(|| policy.delays()).next() else {
            return Err(GiveUp::Exhausted);
        };
        let wait = delay.max(hint);
        // The clock is read only for a check that needs it.
        let now = (self.start.is_some() || self.deadline.is_some())
            .then(|| self.policy.clock_ref().now());
        if let (Some(max), Some(start), Some(now)) =
            (self.policy.backoff().max_elapsed(), self.start, now)
            && now.saturating_sub(start).saturating_add(wait) > max
        {
            return Err(GiveUp::Exhausted);
        }
        if let (Some(d), Some(now)) = (self.deadline, now)
            && now.saturating_add(wait) >= d.time()
        {
            self.refused("deadline", "the wait would end past the deadline");
            return Err(GiveUp::Deadline);
        }
        if let Some(budget) = self.policy.budget_ref()
            && !budget.try_withdraw()
        {
            self.refused("budget", "the retry budget is spent");
            return Err(GiveUp::Budget);
        }
        Ok(wait)
    }

    /// What to do with an attempt's outcome: wait and go on, or finish. A failed attempt's
    /// error is kept in `last` for a later [`RetryError::Deadline`].
    pub(crate) fn step<T, E>(&mut self, outcome: Result<T, E>, last: &mut Option<E>) -> Step<T, E>
    where
        K: Classify<E>,
    {
        match outcome {
            Ok(value) => Step::Done(Ok(Retried {
                value,
                attempts: self.attempts,
            })),
            Err(error) => match self.after_error(&error) {
                Ok(wait) => {
                    *last = Some(error);
                    Step::Wait(wait)
                }
                Err(why) => Step::Done(Err(why.with(error, self.attempts))),
            },
        }
    }

    /// The error for a deadline found passed before an attempt.
    pub(crate) fn expired<E>(&self, last: Option<E>) -> RetryError<E> {
        RetryError::Deadline {
            error: last,
            attempts: self.attempts,
        }
    }

    /// A `tracing` event (feature `tracing`): a retry refused, `reason` `"budget"` or
    /// `"deadline"`, `why` in words.
    #[allow(unused_variables)]
    pub(crate) fn refused(&self, reason: &'static str, why: &'static str) {
        #[cfg(feature = "tracing")]
        tracing::event!(
            target: "sinew_retry",
            tracing::Level::DEBUG,
            reason,
            attempts = self.attempts,
            "retry refused: {why}"
        );
    }
}

/// Calls `op` until it succeeds or the policy gives up, sleeping between attempts with
/// [`std::thread::sleep`]. See [`retry_blocking_with`].
///
/// # Errors
///
/// [`RetryError`], saying why it gave up, with the last error.
pub fn retry_blocking<T, E, K, C, F>(
    policy: &RetryPolicy<K, C>,
    deadline: Option<Deadline>,
    op: F,
) -> Result<Retried<T>, RetryError<E>>
where
    K: Classify<E>,
    C: Clock,
    F: FnMut(Attempt) -> Result<T, E>,
{
    retry_blocking_with(policy, deadline, std::thread::sleep, op)
}

/// Calls `op` until it succeeds or the policy gives up, waiting between attempts with
/// `sleep` (tests pass one that advances a [`ManualClock`](crate::ManualClock)).
///
/// - Deposits into the policy's budget once, and withdraws before each retry.
/// - After an error, [`Decision::Stop`] gives up with [`RetryError::Stopped`]; otherwise it
///   waits the backoff's next delay, or the [`Decision::RetryAfter`] hint if longer.
/// - It gives up with [`RetryError::Exhausted`] when the delays run out or the wait would end
///   past the backoff's `max_elapsed`, with [`RetryError::Deadline`] when the deadline has
///   passed or the wait would end at or past it, and with [`RetryError::Budget`] when the
///   budget refuses, checked in that order (so a refused retry costs no budget).
/// - Each attempt is told the time the deadline leaves it ([`Attempt::timeout`]); a blocking
///   operation cannot be interrupted, so it is up to `op` to honour it.
///
/// ```
/// use std::time::Duration;
/// use sinew_retry::{retry_blocking_with, Backoff, Clock, Deadline, ManualClock, RetryError, RetryPolicy};
///
/// let clock = ManualClock::new(Duration::from_secs(100));
/// let policy = RetryPolicy::new(Backoff::constant(Duration::from_millis(100)).max_retries(5).build()?)
///     .clock(clock.clone());
/// let sleep = |d| clock.advance(d);
///
/// // Fails twice, then succeeds.
/// let ok = retry_blocking_with(&policy, None, sleep, |attempt| {
///     if attempt.number < 3 { Err(std::io::Error::other("busy")) } else { Ok(attempt.number) }
/// })?;
/// assert_eq!((ok.value, ok.attempts), (3, 3));
///
/// // A deadline 250 ms away leaves time for two retries of 100 ms, not three.
/// let deadline = Deadline::after(&clock, Duration::from_millis(250));
/// let err = retry_blocking_with(&policy, Some(deadline), sleep, |_| Err::<(), _>("down"));
/// assert!(matches!(err, Err(RetryError::Deadline { error: Some("down"), attempts: 3 })));
/// assert!(!deadline.is_expired(&clock));
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`RetryError`], saying why it gave up, with the last error.
pub fn retry_blocking_with<T, E, K, C, S, F>(
    policy: &RetryPolicy<K, C>,
    deadline: Option<Deadline>,
    mut sleep: S,
    mut op: F,
) -> Result<Retried<T>, RetryError<E>>
where
    K: Classify<E>,
    C: Clock,
    S: FnMut(Duration),
    F: FnMut(Attempt) -> Result<T, E>,
{
    let mut run = Run::start(policy, deadline);
    let mut last = None;
    loop {
        let Some(attempt) = run.next_attempt() else {
            return Err(run.expired(last));
        };
        match run.step(op(attempt), &mut last) {
            Step::Wait(wait) if wait.is_zero() => {}
            Step::Wait(wait) => sleep(wait),
            Step::Done(result) => return result,
        }
    }
}

/// Awaits `op` until it succeeds or the policy gives up, sleeping between attempts on tokio's
/// timer. The rules are [`retry_blocking_with`]'s; in addition, with a deadline each attempt
/// runs under [`tokio::time::timeout`] with the time that remains, and an attempt cut off
/// that way ends the run with [`RetryError::Deadline`] and no error.
///
/// The deadline is read from the policy's clock while the timeout and the waits run on
/// tokio's: give the policy `sinew_clock::TokioClock` to test with tokio's paused time.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use sinew_retry::{retry, Backoff, RetryBudget, RetryPolicy};
///
/// let policy = RetryPolicy::new(Backoff::exponential(Duration::from_millis(1)).build()?)
///     .budget(RetryBudget::new());
/// let done = retry(&policy, None, |attempt| async move {
///     if attempt.number < 2 { Err(std::io::Error::other("flaky")) } else { Ok("done") }
/// })
/// .await?;
/// assert_eq!(done.attempts, 2);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`RetryError`], saying why it gave up, with the last error.
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub async fn retry<T, E, K, C, F, Fut>(
    policy: &RetryPolicy<K, C>,
    deadline: Option<Deadline>,
    mut op: F,
) -> Result<Retried<T>, RetryError<E>>
where
    K: Classify<E>,
    C: Clock,
    F: FnMut(Attempt) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut run = Run::start(policy, deadline);
    let mut last = None;
    loop {
        let Some(attempt) = run.next_attempt() else {
            return Err(run.expired(last));
        };
        let outcome = match attempt.timeout {
            Some(left) => match tokio::time::timeout(left, op(attempt)).await {
                Ok(outcome) => outcome,
                Err(_elapsed) => {
                    run.refused("deadline", "the attempt ran into the deadline");
                    // The cut-off attempt has no error of its own to report.
                    return Err(run.expired(None));
                }
            },
            None => op(attempt).await,
        };
        match run.step(outcome, &mut last) {
            Step::Wait(wait) if wait.is_zero() => {}
            Step::Wait(wait) => tokio::time::sleep(wait).await,
            Step::Done(result) => return result,
        }
    }
}
