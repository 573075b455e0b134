//! Bulkheads and adaptive concurrency limits: backpressure that keeps goodput at capacity.
//!
//! A service under more load than it can serve has two choices: queue the excess, and watch
//! latency grow until every caller times out on work the service still does, or turn it away
//! early and serve the rest well. This crate caps the calls in flight.
//!
//! - [`Bulkhead`]: at most `max_concurrent` calls inside; a lock-free
//!   [`try_acquire`](Bulkhead::try_acquire) that sheds load, and (feature `tokio`) an
//!   [`acquire`](Bulkhead::acquire) that waits in a bounded FIFO queue for at most a maximum
//!   wait. The limit changes at run time ([`set_max_concurrent`](Bulkhead::set_max_concurrent)).
//! - [`tower`] (feature `tower`): [`BulkheadLayer`](tower::BulkheadLayer), the same for a tower
//!   service.
//!
//! # Should I use a bulkhead or an adaptive limit?
//!
//! A bulkhead's fixed limit is right for *isolation*: one dependency, one tenant or one kind
//! of request may never take more than N of your workers or connections, whatever happens to
//! it. It is wrong for *backpressure*: by Little's law the concurrency a server can absorb is
//! its throughput times its unloaded latency, and both move (deploys, a slow dependency, a
//! noisy neighbour). Too low a limit idles capacity; too high a limit lets queues, and
//! latency, explode before it bites. An adaptive limit measures latency and follows that
//! number as it moves.
//!
//! # Examples
//!
//! ```
//! use sinew_bulkhead::{Bulkhead, Rejected};
//!
//! let bulkhead = Bulkhead::new(2);             // clones share it
//! let a = bulkhead.try_acquire()?;              // RAII: dropping it frees the slot
//! let b = bulkhead.try_acquire_owned()?;        // 'static, for spawned tasks
//! assert_eq!(bulkhead.try_acquire().unwrap_err(), Rejected::Full);
//! drop(a);
//! assert!(bulkhead.try_acquire().is_ok());
//! # drop(b);
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Waiting, with a bounded queue and a maximum wait (feature `tokio`):
//!
//! ```
//! # #[cfg(feature = "tokio")]
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use sinew_bulkhead::{Bulkhead, Rejected};
//!
//! let bulkhead = Bulkhead::builder()
//!     .max_concurrent(1)
//!     .queue(10)
//!     .max_wait(Duration::from_millis(20))
//!     .build()?;
//! let held = bulkhead.acquire().await?;
//! assert_eq!(bulkhead.acquire().await.unwrap_err(), Rejected::Timeout);
//! drop(held);
//! let _next = bulkhead.acquire().await?;
//! assert_eq!(bulkhead.metrics().timed_out, 1);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "tokio"))]
//! # fn main() {}
//! ```
//!
//! # Guarantees
//!
//! - Never more than [`max_concurrent`](Bulkhead::max_concurrent) permits alive (checked by a
//!   property test with real threads and by loom models of the permit counter and of the
//!   queue's hand-off). After a shrink the calls already inside finish; nothing new is admitted
//!   until `in_flight` is below the new limit. (An admission racing the shrink may count
//!   against the old limit.)
//! - FIFO: queued calls get slots in arrival order, and
//!   [`try_acquire`](Bulkhead::try_acquire) never overtakes a queued call.
//! - Cancel-safe waiting: an `Acquire` future (from `acquire`) dropped at any point leaks no
//!   slot and no queue entry; a slot handed to it that it had not returned passes to the next
//!   waiter. A slot granted at the instant the maximum wait ends is kept (the call succeeds).
//! - Cost: [`try_acquire`](Bulkhead::try_acquire) is two loads and one compare-exchange on a
//!   cache line of its own; dropping a permit is one `fetch_sub`, plus the queue's lock only
//!   when calls are waiting. No allocation on the fast path; one small node per queued call.
//! - Metrics ([`Bulkhead::metrics`]) are exact counters (the admission count lives in the
//!   state word, so it costs the fast path nothing).
//! - Bad input: builders check every setting ([`ConfigError`], naming it); nothing in this
//!   crate panics on a call path, and an `Acquire` polled after it finished returns an error.
//!
//! # Crate features
//!
//! - `tokio`: [`Bulkhead::acquire`], waiting in the queue on tokio's timer.
//! - `tower`: the [`tower`] module (brings `tokio`).
//! - `tracing`: an `INFO` event (target `sinew_bulkhead`) when a bulkhead's limit changes, a
//!   `DEBUG` event (field `reason`: `queue_full` or `timeout`) when a queued call is turned
//!   away.
//! - `serde`: `Serialize` / `Deserialize` for [`BulkheadBuilder`] (durations in seconds).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod bulkhead;
pub mod error;
pub mod limit;
mod sync;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

// The README's code blocks, run as doctests, so the snippets crates.io shows cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

#[cfg(feature = "tokio")]
pub use bulkhead::Acquire;
pub use bulkhead::{Bulkhead, BulkheadBuilder, BulkheadMetrics, OwnedPermit, Permit};
pub use error::{CallError, ConfigError, Rejected};
pub use limit::{
    AdaptiveLimit, AdaptivePermit, Aimd, Gradient2, LimitAlgorithm, LimitMetrics, Outcome,
    OwnedAdaptivePermit, Partitioned, Sample, Vegas,
};

/// The clocks, from sinew-clock: every timed type here takes one, so tests drive time by hand.
pub use sinew_clock::{Clock, ManualClock, SystemClock};
