//! Every error of the crate. Builders return [`ConfigError`], each variant naming its setting;
//! the retry helpers return [`RetryError`].

use std::fmt;
use std::time::Duration;

/// A setting out of range, from a builder's `build`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// [`BackoffBuilder::factor`](crate::BackoffBuilder::factor): must be finite and at least 1.
    Factor(f64),
    /// [`BackoffBuilder::cap`](crate::BackoffBuilder::cap): must be at least the base delay
    /// and at most 100 years.
    Cap {
        /// The cap given.
        cap: Duration,
        /// The base delay it must not be below.
        base: Duration,
    },
    /// The base (or constant) delay of a [`Backoff`](crate::Backoff): at most 100 years.
    Base(Duration),
    /// [`BackoffBuilder::max_elapsed`](crate::BackoffBuilder::max_elapsed): more than zero and
    /// at most 100 years.
    MaxElapsed(Duration),
    /// [`RetryBudgetBuilder::ratio`](crate::RetryBudgetBuilder::ratio): finite, from 0 to 1000.
    Ratio(f64),
    /// [`RetryBudgetBuilder::min_per_second`](crate::RetryBudgetBuilder::min_per_second): at
    /// most 1,000,000.
    MinPerSecond(u32),
    /// [`RetryBudgetBuilder::window`](crate::RetryBudgetBuilder::window): from 100 ms to 1 hour.
    Window(Duration),
    /// The hedge's `percentile` is not in `(0, 1]` (or is NaN).
    HedgePercentile(f64),
    /// The hedge's `window` is shorter than 8 ns (one per sub-window) or longer than 100 years.
    HedgeWindow(Duration),
    /// The hedge's `max_extra_load` is not in `[0, 1]` (or is NaN).
    HedgeMaxExtraLoad(f64),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Factor(x) => write!(f, "backoff factor must be finite and >= 1, got {x}"),
            ConfigError::Cap { cap, base } => write!(
                f,
                "backoff cap must be >= the base delay ({base:?}) and <= 100 years, got {cap:?}"
            ),
            ConfigError::Base(d) => write!(f, "backoff base delay must be <= 100 years, got {d:?}"),
            ConfigError::MaxElapsed(d) => write!(
                f,
                "backoff max_elapsed must be > 0 and <= 100 years, got {d:?}"
            ),
            ConfigError::Ratio(x) => {
                write!(f, "retry budget ratio must be finite, 0 to 1000, got {x}")
            }
            ConfigError::MinPerSecond(n) => {
                write!(f, "retry budget min_per_second must be <= 1000000, got {n}")
            }
            ConfigError::Window(d) => write!(
                f,
                "retry budget window must be from 100 ms to 1 hour, got {d:?}"
            ),
            ConfigError::HedgePercentile(p) => {
                write!(f, "hedge percentile must be in (0, 1], got {p}")
            }
            ConfigError::HedgeWindow(w) => {
                write!(
                    f,
                    "hedge window must be between 8 ns and 100 years, got {w:?}"
                )
            }
            ConfigError::HedgeMaxExtraLoad(l) => {
                write!(f, "hedge max_extra_load must be in [0, 1], got {l}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Why [`retry`](crate::retry()) or [`retry_blocking`](crate::retry_blocking) gave up: each
/// variant carries the number of attempts made (calls of the operation started, the first
/// included) and, where there is one, the last attempt's error.
///
/// [`source`](std::error::Error::source) is that error; `Display` does not repeat it.
#[non_exhaustive]
#[derive(Debug)]
pub enum RetryError<E> {
    /// The policy classified the error as not worth retrying ([`Decision::Stop`](crate::Decision::Stop)).
    Stopped {
        /// The last attempt's error.
        error: E,
        /// Attempts made.
        attempts: u32,
    },
    /// The retries ran out: `max_retries` were made (or the custom delay sequence ended), or
    /// the next wait would have ended past `max_elapsed` after the first attempt started.
    Exhausted {
        /// The last attempt's error.
        error: E,
        /// Attempts made.
        attempts: u32,
    },
    /// The [`RetryBudget`](crate::RetryBudget) refused the retry.
    Budget {
        /// The last attempt's error.
        error: E,
        /// Attempts made.
        attempts: u32,
    },
    /// The deadline passed, or the next wait would have ended at or past it.
    Deadline {
        /// The last attempt's error; `None` if it was cut off by the deadline (the async
        /// helper's timeout) or no attempt started.
        error: Option<E>,
        /// Attempts made (a cut-off one included).
        attempts: u32,
    },
}

impl<E> RetryError<E> {
    /// Attempts made before giving up (calls of the operation started, the first included).
    pub fn attempts(&self) -> u32 {
        match self {
            RetryError::Stopped { attempts, .. }
            | RetryError::Exhausted { attempts, .. }
            | RetryError::Budget { attempts, .. }
            | RetryError::Deadline { attempts, .. } => *attempts,
        }
    }

    /// The last attempt's error, if there is one.
    pub fn into_inner(self) -> Option<E> {
        match self {
            RetryError::Stopped { error, .. }
            | RetryError::Exhausted { error, .. }
            | RetryError::Budget { error, .. } => Some(error),
            RetryError::Deadline { error, .. } => error,
        }
    }

    /// The last attempt's error, by reference, if there is one.
    pub fn inner(&self) -> Option<&E> {
        match self {
            RetryError::Stopped { error, .. }
            | RetryError::Exhausted { error, .. }
            | RetryError::Budget { error, .. } => Some(error),
            RetryError::Deadline { error, .. } => error.as_ref(),
        }
    }
}

impl<E> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self {
            RetryError::Stopped { .. } => "the error is not retryable",
            RetryError::Exhausted { .. } => "retries exhausted",
            RetryError::Budget { .. } => "the retry budget refused a retry",
            RetryError::Deadline { .. } => "the deadline passed or could not be met",
        };
        write!(f, "gave up after {} attempt(s): {why}", self.attempts())
    }
}

impl<E: std::error::Error + 'static> std::error::Error for RetryError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
