//! A lock-free circuit breaker: failure-rate, slow-call and consecutive-failure rules over a
//! count or time window, exactly `N` half-open trial calls, RAII permits, async and tower
//! support.
//!
//! A circuit breaker stands between a caller and a dependency that may fail. While the
//! dependency is healthy the breaker is **closed** and every call passes; it watches the
//! outcomes. When too many fail (or are too slow) it **opens**, and calls fail fast without
//! touching the dependency, which gets time to recover and is spared the load. After a wait it
//! goes **half-open** and lets a fixed number of trial calls through: if they all succeed it
//! closes, if any fails it opens again, for longer if backoff is configured.
//!
//! This is the policy of Java's resilience4j, at the cost of a few atomic operations:
//!
//! - **Closed admission is one atomic load** of the state word, with no shared write.
//! - **Recording an outcome** in the lock-free ring of the last N calls is two loads (the
//!   state word and the window's counts) when a success lands in a window of N successes
//!   (the steady state of a healthy dependency): no shared write, so threads sharing a
//!   breaker do not contend, and the window stays exact (a success among N successes
//!   changes nothing). With a failure or a slow call in the window, a success takes the next
//!   slot with one `fetch_add` on the ring's cursor and a load of the slot; a `swap`, one
//!   more `fetch_add` and a second load of the state word (to take back an outcome a
//!   transition overtook) when the outcome changes. A time-bucketed window costs one to three
//!   compare-exchanges on epoch-stamped counters plus a sum over its buckets.
//! - **Transitions are one compare-exchange** on a packed word (state, generation, trips,
//!   half-open permits issued and succeeded): exactly one thread wins each transition, and
//!   exactly one listener event fires.
//! - **Half-open admits exactly `half_open_permits` trials**, counted in the same word; a
//!   trial permit dropped unreported (a cancelled call) gives its slot back, so half-open can
//!   never get stuck, and [`max_wait_in_half_open`](Builder::max_wait_in_half_open) bounds
//!   trials that are held forever.
//! - **No heap allocation** on any per-call path (proved by a counting-allocator test).
//!
//! # Examples
//!
//! Permits, the building block:
//!
//! ```
//! use std::time::Duration;
//! use sinew_breaker::{CircuitBreaker, ManualClock, State};
//!
//! let clock = ManualClock::new(Duration::from_secs(1_700_000_000));
//! let breaker = CircuitBreaker::builder()
//!     .failure_rate_threshold(0.5)      // open at 50% failures...
//!     .minimum_calls(10)                // ...once 10 calls are in the window
//!     .count_window(20)                 // the last 20 calls
//!     .wait_in_open(Duration::from_secs(10))
//!     .half_open_permits(3)             // then exactly 3 trial calls
//!     .clock(clock.clone())
//!     .build()?;
//!
//! for _ in 0..10 {
//!     let permit = breaker.try_acquire()?;
//!     // ... make the call ...
//!     permit.failure();
//! }
//! assert_eq!(breaker.state(), State::Open);
//! let rejected = breaker.try_acquire().unwrap_err();
//! assert_eq!(rejected.state(), State::Open);
//! assert_eq!(rejected.retry_after(), Some(Duration::from_secs(10)));
//!
//! clock.advance(Duration::from_secs(10));
//! let trials: Vec<_> = (0..3).map(|_| breaker.try_acquire()).collect::<Result<_, _>>()?;
//! assert_eq!(breaker.state(), State::HalfOpen);
//! assert_eq!(breaker.try_acquire().unwrap_err().state(), State::HalfOpen); // all 3 taken
//! for trial in trials {
//!     trial.success();
//! }
//! assert_eq!(breaker.state(), State::Closed);
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Wrapping a call, with a classifier of which errors count as failures:
//!
//! ```
//! use sinew_breaker::{CallError, CircuitBreaker};
//!
//! #[derive(Debug, PartialEq)]
//! enum DbError { NotFound, Unavailable }
//!
//! let breaker = CircuitBreaker::builder().consecutive_failures(3).build()?;
//! let lookup = |key: u32| -> Result<String, DbError> {
//!     if key == 0 { Err(DbError::Unavailable) } else { Err(DbError::NotFound) }
//! };
//!
//! // "not found" is an answer from a healthy database, not a failure of it.
//! let is_failure = |e: &DbError| *e == DbError::Unavailable;
//! for _ in 0..5 {
//!     assert!(breaker.call_with(|| lookup(7), is_failure).is_err());
//! }
//! assert_eq!(breaker.state(), sinew_breaker::State::Closed);
//! for _ in 0..3 {
//!     let _ = breaker.call_with(|| lookup(0), is_failure);
//! }
//! assert!(matches!(breaker.call_with(|| lookup(0), is_failure), Err(CallError::Rejected(_))));
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The rules
//!
//! In the closed state the breaker opens when, after a call is recorded:
//!
//! - the window holds at least [`minimum_calls`](Builder::minimum_calls) calls and the share
//!   of failures reaches [`failure_rate_threshold`](Builder::failure_rate_threshold), or the
//!   share of slow calls reaches the [`slow_call`](Builder::slow_call) rate threshold; or
//! - the last [`consecutive_failures`](Builder::consecutive_failures) calls all failed.
//!
//! The window is the last N calls ([`count_window`](Builder::count_window)) or the last T of
//! time in buckets ([`time_window`](Builder::time_window)). It is emptied when the breaker goes
//! half-open, so a breaker that closes starts afresh.
//!
//! Open lasts [`wait_in_open`](Builder::wait_in_open), growing by
//! [`open_backoff`](Builder::open_backoff) on each trip in a row and spread by
//! [`open_jitter`](Builder::open_jitter). The first call after the wait moves the breaker to
//! half-open (`state()` reports `Open` until then). [`force_open`](CircuitBreaker::force_open),
//! [`disable`](CircuitBreaker::disable) and [`reset`](CircuitBreaker::reset) set a state by
//! hand.
//!
//! A permit reports into the generation (the stretch between two transitions) that issued it:
//! the outcome of a call admitted before a transition is ignored after it.
//!
//! # Choosing settings
//!
//! - The window should hold enough calls for a rate to mean something: with
//!   `minimum_calls(10)`, one failure moves the rate by 10 points. A count window suits steady
//!   traffic; a time window forgets a quiet dependency's old failures.
//! - `wait_in_open` is how long the dependency gets to recover; `open_backoff` stretches it
//!   while it keeps failing its trials, and `open_jitter` keeps a fleet of callers from
//!   probing it in lockstep, provided each process passes its own seed (the jitter is a
//!   deterministic hash of the seed and the breaker's history, not a random draw).
//! - With the slow-call rule on, every call reads the clock twice; pick
//!   [`CachedClock`] (one atomic load per read, 1 ms resolution) if that matters. An open
//!   breaker reads the clock on each rejection to see whether its wait is over, so the same
//!   applies to rejection-heavy paths.
//!
//! # Performance
//!
//! Criterion medians from `cargo bench -p sinew-benches --bench breaker` (the crate README
//! has the table and the machine): a closed call through `call` costs a few nanoseconds over
//! the bare closure; recloser and failsafe, the Rust crates this one is measured against,
//! take a spin lock plus an epoch guard, and a mutex, per call.
//!
//! # Crate features
//!
//! - `tokio`: [`CircuitBreaker::call_async_timeout`], a deadline on async calls (tokio's
//!   timer) that counts as a failure. [`call_async`](CircuitBreaker::call_async) itself needs
//!   no feature and no runtime.
//! - `tower`: [`CircuitBreakerLayer`](tower::CircuitBreakerLayer), a tower middleware whose
//!   clones share one breaker, with a classifier of responses and errors.
//! - `tracing`: an `INFO` event (target `sinew_breaker`) for every state transition.
//! - `serde`: `Serialize` and `Deserialize` for [`Config`], the settings a [`Builder`]
//!   checks (durations as seconds); deserializing runs the builder's checks, so a bad
//!   configuration file is a [`ConfigError`], never a breaker that misbehaves.
//!
//! # Guarantees
//!
//! - `CircuitBreaker` is `Send + Sync`; permits are `Send` (and borrow the breaker;
//!   [`OwnedPermit`] holds an `Arc` of it instead).
//! - Half-open never has more than `half_open_permits` trials out at once, and closes only
//!   after that many have reported success in the same generation (loom-checked).
//! - Every transition is made by one compare-exchange; the listener and the `tracing` event
//!   fire once per transition, on the thread that made it (loom-checked). A panic in the
//!   listener is caught (the panic hook has reported it) and dropped: the transition and
//!   the call that made it go on as if the listener had returned.
//! - A report belongs to the generation that admitted it: an outcome reported after a
//!   transition (a trip, the move to half-open, [`reset`](CircuitBreaker::reset)) is never
//!   counted after it, even when the report races the transition (loom-checked).
//! - A panic in [`call`](CircuitBreaker::call)'s closure or in its classifier counts as a
//!   failure and is resumed; a half-open trial slot is never left taken.
//! - Per call: `O(1)` for a count window, `O(buckets)` for a time window; no allocation, no
//!   lock, no system call beyond the clock reads (none in closed with the slow-call rule off
//!   and a count window).
//! - Bad input: every setting is checked by [`Builder::build`] ([`ConfigError`]); a clock
//!   that moves backwards delays things but never panics. Nothing in this crate panics on a
//!   call path.
//! - Counters: [`Metrics::rejected`] is exact (one `fetch_add` per rejection); everything
//!   else is exact once the calls in flight have reported.
//! - Approximations, all documented where they apply: a count-window decision is skipped
//!   (and taken at the next call) while two recordings race for the same ring slot; calls
//!   reported while a [`reset`](CircuitBreaker::reset) is clearing the window may be
//!   forgotten (a fresh outcome may be lost, a stale one is never kept); a time-window
//!   recording whose clock reading is older than its bucket's (a thread stalled for a whole
//!   window) records nothing; the open deadline has millisecond resolution (rounded up).

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod breaker;
mod config;
mod error;
mod state;
mod sync;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;
mod unwind;
mod window;

pub use breaker::{CircuitBreaker, Metrics, OwnedPermit, Permit, Transition};
pub use config::{Builder, Config};
pub use error::{CallError, ConfigError, Rejected};
pub use sinew_clock::{CachedClock, Clock, ManualClock, SystemClock};
pub use state::State;

// The README's code blocks, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}
