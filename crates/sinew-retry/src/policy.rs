//! [`RetryPolicy`]: which errors to retry ([`Classify`]), how long to wait ([`Backoff`]) and
//! how many retries the dependency can take ([`RetryBudget`]).

use crate::sync::Arc;
use std::fmt;
use std::time::Duration;

use sinew_clock::{Clock, SystemClock};

use crate::backoff::{Backoff, Delays};
use crate::budget::RetryBudget;

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Decision {
    /// Retry after the backoff's delay.
    Retry,
    /// Retry, but not before this long (the server's hint, such as HTTP `Retry-After` or
    /// sinew-ratelimit's `Denied::retry_after`): the wait is the longer of the hint and the
    /// backoff's delay. A hint longer than the policy's
    /// [`max_retry_after`](RetryPolicy::max_retry_after) (one minute by default) ends the
    /// retries instead.
    RetryAfter(Duration),
    /// Do not retry: the error is permanent (bad request, not found, ...).
    Stop,
}

/// Decides from an error whether to retry. Closures `Fn(&E) -> Decision` implement it.
///
/// ```
/// use sinew_retry::{Classify, Decision};
///
/// #[derive(Debug)]
/// enum HttpError { Status(u16) }
///
/// let classify = |e: &HttpError| match e {
///     HttpError::Status(429 | 502 | 503 | 504) => Decision::Retry,
///     HttpError::Status(_) => Decision::Stop,
/// };
/// assert_eq!(classify.classify(&HttpError::Status(503)), Decision::Retry);
/// assert_eq!(classify.classify(&HttpError::Status(404)), Decision::Stop);
/// ```
pub trait Classify<E> {
    /// The decision for `error`.
    fn classify(&self, error: &E) -> Decision;
}

impl<E, F: Fn(&E) -> Decision> Classify<E> for F {
    #[inline]
    fn classify(&self, error: &E) -> Decision {
        self(error)
    }
}

/// Retries every error ([`Decision::Retry`]): the default classifier.
#[derive(Clone, Copy, Debug, Default)]
pub struct RetryAll;

impl<E> Classify<E> for RetryAll {
    #[inline]
    fn classify(&self, _error: &E) -> Decision {
        Decision::Retry
    }
}

/// One attempt, as the operation sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Attempt {
    /// 1 for the first call, 2 for the first retry, ...
    pub number: u32,
    /// The time the deadline leaves this attempt (`None` without a deadline). The async
    /// helper enforces it; blocking operations should pass it on (as a socket timeout, say).
    pub timeout: Option<Duration>,
}

impl Attempt {
    /// Whether this is a retry (not the first call).
    pub fn is_retry(&self) -> bool {
        self.number > 1
    }
}

/// A custom delay sequence, type-erased so every policy has the same type.
type DelayFn = Arc<dyn Fn() -> Box<dyn Iterator<Item = Duration> + Send> + Send + Sync>;

/// Where the delays come from.
#[derive(Clone)]
enum Source {
    Backoff,
    Custom(DelayFn),
}

/// The clock alone, or the budget (which carries its clock).
#[derive(Clone)]
enum Timing<C> {
    Clock(C),
    Budget(RetryBudget<C>),
}

impl<C: Clock + fmt::Debug> fmt::Debug for Timing<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timing::Clock(c) => f.debug_tuple("Clock").field(c).finish(),
            Timing::Budget(b) => f.debug_tuple("Budget").field(b).finish(),
        }
    }
}

/// How to retry: a [`Backoff`] (or a custom delay sequence), a classifier, an optional
/// [`RetryBudget`] and a clock. Used by [`retry`](crate::retry()),
/// [`retry_blocking`](crate::retry_blocking) and the tower layer.
///
/// ```
/// use std::time::Duration;
/// use sinew_retry::{Backoff, Decision, RetryBudget, RetryPolicy};
///
/// let policy = RetryPolicy::new(Backoff::default())
///     .budget(RetryBudget::new())
///     .classify(|e: &std::io::Error| match e.kind() {
///         std::io::ErrorKind::NotFound => Decision::Stop,
///         _ => Decision::Retry,
///     });
/// assert!(policy.budget_ref().is_some());
/// assert_eq!(policy.backoff().max_retries(), 3);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RetryPolicy<K = RetryAll, C = SystemClock> {
    backoff: Backoff,
    /// The longest [`Decision::RetryAfter`] hint honoured.
    max_retry_after: Duration,
    source: Source,
    classify: K,
    timing: Timing<C>,
}

impl<K: fmt::Debug, C: Clock + fmt::Debug> fmt::Debug for RetryPolicy<K, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("backoff", &self.backoff)
            .field("custom_delays", &matches!(self.source, Source::Custom(_)))
            .field("classify", &self.classify)
            .field("timing", &self.timing)
            .finish()
    }
}

/// The longest server hint ([`Decision::RetryAfter`]) a policy honours by default: one
/// minute. A hint comes from the server, so it is bounded like any input: a `Retry-After` of a
/// year must not park the caller for a year.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

impl RetryPolicy {
    /// Retries every error per `backoff`, with no budget, on the system clock.
    pub fn new(backoff: Backoff) -> Self {
        RetryPolicy {
            backoff,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            source: Source::Backoff,
            classify: RetryAll,
            timing: Timing::Clock(SystemClock),
        }
    }
}

impl Default for RetryPolicy {
    /// `RetryPolicy::new(Backoff::default())`.
    fn default() -> Self {
        RetryPolicy::new(Backoff::default())
    }
}

impl<K, C: Clock> RetryPolicy<K, C> {
    /// Retries only what `budget` allows; the budget's clock becomes the policy's.
    pub fn budget<C2: Clock>(self, budget: RetryBudget<C2>) -> RetryPolicy<K, C2> {
        RetryPolicy {
            backoff: self.backoff,
            max_retry_after: self.max_retry_after,
            source: self.source,
            classify: self.classify,
            timing: Timing::Budget(budget),
        }
    }

    /// Decides with `classify` which errors to retry.
    pub fn classify<K2>(self, classify: K2) -> RetryPolicy<K2, C> {
        RetryPolicy {
            backoff: self.backoff,
            max_retry_after: self.max_retry_after,
            source: self.source,
            classify,
            timing: self.timing,
        }
    }

    /// Reads the time from `clock`, with no budget (it replaces any budget set: a budget
    /// brings its own clock).
    pub fn clock<C2: Clock>(self, clock: C2) -> RetryPolicy<K, C2> {
        RetryPolicy {
            backoff: self.backoff,
            max_retry_after: self.max_retry_after,
            source: self.source,
            classify: self.classify,
            timing: Timing::Clock(clock),
        }
    }

    /// Honours [`Decision::RetryAfter`] hints up to `max` ([`DEFAULT_MAX_RETRY_AFTER`], one
    /// minute, by default); a longer hint ends the retries with
    /// [`RetryError::Exhausted`](crate::RetryError::Exhausted) rather than waiting.
    #[must_use]
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The longest [`Decision::RetryAfter`] hint honoured.
    pub fn max_retry_after_ref(&self) -> Duration {
        self.max_retry_after
    }

    /// Waits the delays `delays()` yields instead of the backoff's: a fresh iterator per
    /// operation, made at its first failure (an operation that succeeds at once does not
    /// call `delays`), whose end ends the retries (the backoff's `max_retries` no longer
    /// applies; its `max_elapsed` still does). Boxes the iterator once per such operation.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sinew_retry::{Backoff, RetryPolicy};
    ///
    /// let policy = RetryPolicy::new(Backoff::default())
    ///     .with_delays(|| [10, 50, 250].into_iter().map(Duration::from_millis));
    /// assert_eq!(policy.delays().count(), 3);
    /// ```
    pub fn with_delays<I, F>(mut self, delays: F) -> Self
    where
        F: Fn() -> I + Send + Sync + 'static,
        I: Iterator<Item = Duration> + Send + 'static,
    {
        self.source = Source::Custom(Arc::new(move || Box::new(delays())));
        self
    }

    /// The backoff (its `max_elapsed` applies even with custom delays).
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// The budget, if one is set.
    pub fn budget_ref(&self) -> Option<&RetryBudget<C>> {
        match &self.timing {
            Timing::Budget(b) => Some(b),
            Timing::Clock(_) => None,
        }
    }

    /// The classifier.
    pub fn classifier(&self) -> &K {
        &self.classify
    }

    /// The policy's clock (the budget's, when there is one).
    pub fn clock_ref(&self) -> &C {
        match &self.timing {
            Timing::Budget(b) => b.clock(),
            Timing::Clock(c) => c,
        }
    }

    /// A fresh delay sequence for one operation: the backoff's, or the custom one.
    pub fn delays(&self) -> PolicyDelays {
        PolicyDelays(match &self.source {
            Source::Backoff => DelaysInner::Backoff(self.backoff.delays()),
            Source::Custom(f) => DelaysInner::Custom(f()),
        })
    }
}

/// The delays of one operation under a [`RetryPolicy`], from [`RetryPolicy::delays`].
pub struct PolicyDelays(DelaysInner);

enum DelaysInner {
    Backoff(Delays),
    Custom(Box<dyn Iterator<Item = Duration> + Send>),
}

impl fmt::Debug for PolicyDelays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            DelaysInner::Backoff(d) => f.debug_tuple("PolicyDelays").field(d).finish(),
            DelaysInner::Custom(_) => f.write_str("PolicyDelays(custom)"),
        }
    }
}

impl Iterator for PolicyDelays {
    type Item = Duration;

    #[inline]
    fn next(&mut self) -> Option<Duration> {
        match &mut self.0 {
            DelaysInner::Backoff(d) => d.next(),
            DelaysInner::Custom(d) => d.next(),
        }
    }
}
