//! Every error of the crate. Builders return [`ConfigError`], each variant naming its setting;
//! admission returns [`Rejected`]; the tower layers return [`CallError`].

use std::fmt;
use std::time::Duration;

/// Why a call was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejected {
    /// Every slot is taken (and no queue is configured, or
    /// [`try_acquire`](crate::Bulkhead::try_acquire) was asked, which never waits).
    Full,
    /// Every slot is taken and the wait queue holds its maximum of waiters.
    QueueFull,
    /// The call waited in the queue for the maximum wait without getting a slot.
    Timeout,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rejected::Full => "bulkhead is full",
            Rejected::QueueFull => "bulkhead is full and its wait queue is full",
            Rejected::Timeout => "timed out waiting for a bulkhead slot",
        })
    }
}

impl std::error::Error for Rejected {}

/// The error of a call made through a tower layer of this crate: either the call was turned
/// away, or it ran and the inner service failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallError<E> {
    /// The call was not admitted; the inner service never saw it.
    Rejected(Rejected),
    /// The inner service returned this error.
    Inner(E),
}

impl<E> CallError<E> {
    /// The inner service's error, if the call ran and failed.
    pub fn into_inner(self) -> Option<E> {
        match self {
            CallError::Inner(e) => Some(e),
            CallError::Rejected(_) => None,
        }
    }

    /// Why the call was turned away, if it was.
    pub fn rejected(&self) -> Option<Rejected> {
        match self {
            CallError::Rejected(r) => Some(*r),
            CallError::Inner(_) => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Rejected(r) => r.fmt(f),
            CallError::Inner(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for CallError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // Display already shows the inner error, so the chain continues below it.
        match self {
            CallError::Inner(e) => e.source(),
            CallError::Rejected(_) => None,
        }
    }
}

impl<E> From<Rejected> for CallError<E> {
    fn from(r: Rejected) -> Self {
        CallError::Rejected(r)
    }
}

/// The longest [`max_wait`](crate::BulkheadBuilder::max_wait) accepted: 100 years, far past any
/// real wait and far from overflowing a timer's deadline.
pub(crate) const MAX_WAIT_LIMIT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// A setting out of range, from a builder's `build`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// [`BulkheadBuilder::max_concurrent`](crate::BulkheadBuilder::max_concurrent) was not set,
    /// or set to 0 (a bulkhead that admits nothing is built with
    /// [`Bulkhead::new(0)`](crate::Bulkhead::new), on purpose).
    MaxConcurrent(u32),
    /// [`BulkheadBuilder::max_wait`](crate::BulkheadBuilder::max_wait) is zero or above 100
    /// years.
    MaxWait(Duration),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::MaxConcurrent(n) => {
                write!(f, "max concurrent {n} must be at least 1")
            }
            ConfigError::MaxWait(d) => write!(f, "max wait {d:?} is zero or above 100 years"),
        }
    }
}

impl std::error::Error for ConfigError {}
