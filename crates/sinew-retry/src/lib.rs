//! Retries that cannot become a retry storm: backoff with jitter, retry budgets, deadlines and
//! hedged requests.
//!
//! Retries turn a brownout into an outage when every layer retries on its own: three retries
//! at each of two layers send up to `4 x 4 = 16` calls to a failing dependency for every
//! request. This crate makes the retries that do go out safe:
//!
//! - [`Backoff`]: exponential (base, factor, cap) or constant delays with [`Jitter`] (full,
//!   equal or decorrelated, as in AWS's "Exponential Backoff and Jitter"), at most
//!   `max_retries` and optionally `max_elapsed`; [`Backoff::delays`] is an iterator that
//!   allocates nothing and costs a few nanoseconds per delay. Seeded for tests.
//! - [`RetryBudget`]: retries as a share of requests (Finagle's retry budget): every request
//!   deposits `ratio` of a retry that expires after a window, every retry withdraws one, and a
//!   floor of retries per second lets a quiet client retry. Lock-free, shared across clones
//!   and threads, with an exact, proven bound (see its docs).
//! - [`Deadline`]: a point in time carried through nested calls; no retry starts whose wait
//!   would end past it, and each attempt is given the time that remains.
//! - [`retry`] (async, feature `tokio`), [`retry_blocking`] and [`retry_blocking_with`]: run an
//!   operation under a [`RetryPolicy`], which decides from the error ([`Classify`], or any
//!   closure returning a [`Decision`]) whether to retry, honouring a server's `retry_after`
//!   hint, and report the attempts made ([`Retried`]) or why they stopped ([`RetryError`]).
//! - [`Hedge`]: "The Tail at Scale"'s hedged requests: a second copy of a request that has not
//!   answered after a sliding latency percentile (p95 by default, within 1/64 of the true
//!   value), within its own budget (5% extra load by default); the first answer wins and the
//!   other is cancelled ([`Hedge::call`], feature `tokio`).
//! - `tower` (feature): `RetryLayer` and `HedgeLayer`, sharing their budget and latency window
//!   across clones.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use sinew_retry::{retry_blocking, Backoff, Decision, RetryBudget, RetryError, RetryPolicy};
//!
//! #[derive(Debug)]
//! enum Error { Unavailable, RateLimited(Duration), BadRequest }
//! # impl std::fmt::Display for Error {
//! #     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{self:?}") }
//! # }
//! impl std::error::Error for Error {}
//!
//! // Shared by every caller of the dependency: retries stay within 10% of the requests.
//! let budget = RetryBudget::new();
//! let policy = RetryPolicy::new(Backoff::exponential(Duration::from_millis(1)).build()?)
//!     .budget(budget.clone())
//!     .classify(|e: &Error| match e {
//!         Error::Unavailable => Decision::Retry,
//!         Error::RateLimited(after) => Decision::RetryAfter(*after),
//!         Error::BadRequest => Decision::Stop,
//!     });
//!
//! let done = retry_blocking(&policy, None, |attempt| match attempt.number {
//!     1 => Err(Error::Unavailable),
//!     2 => Err(Error::RateLimited(Duration::from_millis(2))),
//!     _ => Ok("done"),
//! })?;
//! assert_eq!((done.value, done.attempts), ("done", 3));
//!
//! let err = retry_blocking(&policy, None, |_| Err::<(), _>(Error::BadRequest)).unwrap_err();
//! assert!(matches!(err, RetryError::Stopped { attempts: 1, .. }));
//! assert_eq!(budget.metrics().deposits, 2);
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//!
//! - `tokio`: [`retry`], the async helper, on tokio's timer.
//! - `tower`: `RetryLayer` and `HedgeLayer` for tower stacks (brings `tokio`).
//! - `tracing`: `tracing` events (target `sinew_retry`, level `DEBUG`) when a retry is
//!   refused by the budget or the deadline.
//! - `serde`: `Serialize`/`Deserialize` for [`Backoff`] and [`Jitter`] (durations as
//!   seconds).
//!
//! # Guarantees
//!
//! - [`RetryBudget`] is lock-free (a few atomics, no allocation per call) and `Send + Sync`;
//!   its clones share one budget. The bound on the retries it grants is stated and proven in
//!   its docs, and checked by a loom model.
//! - [`Backoff::delays`] never allocates and never panics, whatever the settings; the
//!   builders check every setting and return a [`ConfigError`] naming the bad one.
//! - The helpers never start a wait that ends at or past the deadline, never exceed
//!   `max_retries`, `max_elapsed` or the budget, and never panic; every way of giving up is a
//!   [`RetryError`] variant carrying the last error and the attempts made.
//! - Time comes from a [`Clock`]: tests drive it with [`ManualClock`].
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod backoff;
pub mod budget;
pub mod deadline;
pub mod error;
pub mod hedge;
pub mod policy;
mod retry;
mod sync;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

// The README's code blocks, run as doctests, so the snippets crates.io shows cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

pub use backoff::{Backoff, BackoffBuilder, Delays, Jitter};
pub use budget::{BudgetMetrics, RetryBudget, RetryBudgetBuilder};
pub use deadline::Deadline;
pub use error::{ConfigError, RetryError};
pub use hedge::{Hedge, HedgeBuilder, HedgeMetrics};
pub use policy::{Attempt, Classify, Decision, PolicyDelays, RetryAll, RetryPolicy};
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use retry::retry;
pub use retry::{Retried, retry_blocking, retry_blocking_with};

/// The clocks, from sinew-clock: every timed type here takes one, so tests drive time by hand.
pub use sinew_clock::{Clock, ManualClock, SystemClock};
