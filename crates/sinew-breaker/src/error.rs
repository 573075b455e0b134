//! [`Rejected`] and [`CallError`].

use std::fmt;
use std::time::Duration;

/// Why [`try_acquire`](crate::CircuitBreaker::try_acquire) turned a call away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejected {
    /// The breaker is open; trial calls are let through after `retry_after` (by the
    /// breaker's clock, from the moment of rejection; zero when the exact time is not known
    /// to this thread yet).
    Open {
        /// Time left until the breaker goes half-open.
        retry_after: Duration,
    },
    /// The breaker is half-open and every trial permit is taken.
    HalfOpenFull,
    /// The breaker was forced open with [`force_open`](crate::CircuitBreaker::force_open).
    ForcedOpen,
}

impl Rejected {
    /// The state that rejected the call.
    pub fn state(&self) -> crate::State {
        match self {
            Rejected::Open { .. } => crate::State::Open,
            Rejected::HalfOpenFull => crate::State::HalfOpen,
            Rejected::ForcedOpen => crate::State::ForcedOpen,
        }
    }

    /// How long until trial calls are let through, when the breaker knows (open only).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Rejected::Open { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejected::Open { retry_after } => {
                write!(f, "circuit breaker is open; retry after {retry_after:?}")
            }
            Rejected::HalfOpenFull => {
                f.write_str("circuit breaker is half-open and all trial permits are taken")
            }
            Rejected::ForcedOpen => f.write_str("circuit breaker is forced open"),
        }
    }
}

impl std::error::Error for Rejected {}

/// The error of a call made through the breaker ([`call`](crate::CircuitBreaker::call) and
/// friends): either the breaker turned it away, or the call ran and failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallError<E> {
    /// The breaker did not run the call.
    Rejected(Rejected),
    /// The call ran and returned this error (recorded as a failure or not, by the classifier).
    Inner(E),
    /// The call ran past its deadline (`call_async_timeout`); recorded as a failure.
    Timeout(Duration),
}

impl<E> CallError<E> {
    /// The call's own error, if it ran and failed.
    pub fn into_inner(self) -> Option<E> {
        match self {
            CallError::Inner(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the breaker turned the call away.
    pub fn is_rejected(&self) -> bool {
        matches!(self, CallError::Rejected(_))
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Rejected(r) => r.fmt(f),
            CallError::Inner(e) => e.fmt(f),
            CallError::Timeout(d) => write!(f, "call timed out after {d:?}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for CallError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // Display already shows the inner error or the rejection, so the chain continues
        // below it rather than repeating it.
        match self {
            CallError::Inner(e) => e.source(),
            CallError::Rejected(_) | CallError::Timeout(_) => None,
        }
    }
}

impl<E> From<Rejected> for CallError<E> {
    fn from(r: Rejected) -> Self {
        CallError::Rejected(r)
    }
}
