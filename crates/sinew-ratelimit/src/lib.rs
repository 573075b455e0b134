//! Rate limiting that is exact, lock-free and cheap: GCRA token buckets in one atomic word,
//! keyed limiters in bounded memory, a sliding-window limiter, async waiting and a tower layer.
//!
//! - [`Quota`]: a rate and a burst (`Quota::per_second(10)?.burst(5)?`). Misuse (a zero rate,
//!   period or burst) is a [`ConfigError`], not a panic.
//! - [`RateLimiter`]: one token bucket shared by all callers. `check`, `check_n`
//!   (all-or-nothing), `peek`, `remaining`, `set_quota` at run time; every method takes
//!   `&self`, and a denial says exactly how long to wait ([`Denied::retry_after`]).
//! - [`KeyedRateLimiter`]: one bucket per key (client, IP, API key) with a hard cap on the
//!   number of keys; refilled keys are evicted incrementally.
//! - [`SlidingWindow`]: the sliding-window-counter algorithm, with the same `check` API, for
//!   designs that specify "N requests per window".
//! - `metrics()` on each of them: admissions and denials (and, for the keyed limiter, keys
//!   evicted and new keys refused for capacity) since it was made, as a small `Copy`
//!   snapshot ([`Metrics`], [`KeyedMetrics`]).
//! - `tokio` feature: [`RateLimiter::until_ready`] and friends wait without polling.
//! - `tower` feature: the [`tower`] module, with
//!   [`tower::RateLimitLayer`] (whose clones share one budget) and
//!   [`tower::KeyedRateLimitLayer`].
//!
//! # How it works
//!
//! A token bucket that refills one token every `T` and holds `B` tokens is equivalent to GCRA,
//! the generic cell rate algorithm from ATM networks: keep one number, the *theoretical
//! arrival time* `TAT` (when the bucket will next be full), and admit a request costing `n`
//! tokens at time `t` iff `max(TAT, t) + n·T ≤ t + B·T`, then set `TAT = max(TAT, t) + n·T`.
//! That is one `u64` of nanoseconds, updated with one compare-exchange; a denial computes
//! `retry_after = max(TAT, t) + n·T − (t + B·T)` and leaves the TAT as it was.
//!
//! # Examples
//!
//! ```
//! use std::sync::Arc;
//! use sinew_ratelimit::{Quota, RateLimiter};
//!
//! let limiter = Arc::new(RateLimiter::new(Quota::per_second(100)?));
//! match limiter.check() {
//!     Ok(()) => { /* serve the request */ }
//!     Err(denied) => println!("429, Retry-After: {:?}", denied.retry_after()),
//! }
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Tests drive time by hand with [`ManualClock`]:
//!
//! ```
//! use std::time::Duration;
//! use sinew_ratelimit::{CheckNError, ManualClock, Quota, RateLimiter};
//!
//! let clock = ManualClock::new(Duration::from_secs(1));
//! let limiter = RateLimiter::with_clock(Quota::per_second(10)?.burst(5)?, clock.clone());
//! limiter.check_n(3)?;
//! // All or nothing: 3 more do not fit, and none are taken.
//! assert_eq!(limiter.check_n(3).unwrap_err().retry_after(), Some(Duration::from_millis(100)));
//! limiter.check_n(2)?;
//! // More than the bucket holds is a different error: waiting cannot help.
//! assert!(matches!(limiter.check_n(6), Err(CheckNError::InsufficientCapacity { .. })));
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Which limiter?
//!
//! | | [`RateLimiter`] | [`KeyedRateLimiter`] | [`SlidingWindow`] |
//! |---|---|---|---|
//! | state | one `AtomicU64` | `u64` per key in sharded tables | three counters |
//! | check | lock-free, one CAS on admit, no write to the TAT on deny | one short lock per shard | one short lock |
//! | burst | configurable | configurable | equals the limit |
//! | `retry_after` | exact | exact | exact |
//!
//! # Choosing a clock
//!
//! A check costs a clock read plus a few loads (and one compare-exchange when admitted), so the
//! clock is most of the cost. Every limiter takes any [`Clock`]:
//!
//! | clock | read | resolution | use it for |
//! |---|---|---|---|
//! | [`SystemClock`] (default) | one time-stamp-counter read where the kernel trusts the counter, else `Instant::now` | 1 ns | the precise default |
//! | [`CachedClock`] | one atomic load | its refresh period (1 ms by default) | hot paths; tokens then arrive in 1 ms steps, fine whenever the burst is at least a millisecond's worth |
//! | [`QuantaClock`] | one counter read | 1 ns | governor's default clock, for like-for-like comparisons |
//! | `TokioClock` (`tokio` feature) | tokio's `Instant::now` | 1 ns | tests on tokio's paused clock |
//! | [`ManualClock`] | one atomic load | whatever the test sets | deterministic tests |
//!
//! A clock that lags real time (as a cached one does) only ever makes a limiter stricter: it
//! admits later, never more. The workspace README has criterion medians against governor,
//! ratelimit, leaky-bucket and tower for each clock.
//!
//! # Should I use this or governor?
//!
//! Both implement GCRA. Pick this crate for: run-time `set_quota`, exact `retry_after` and
//! all-or-nothing `check_n` with "never fits" as its own error, a keyed limiter that bounds its
//! own memory (governor's grows until you call `retain_recent`, a sweep of the whole map), a
//! sliding-window limiter, a tower layer that shares its budget, and first-come-first-served async waiting.
//! Governor offers `no_std` support, middleware hooks and more years in production.
//!
//! # Crate features
//!
//! - `tokio`: [`RateLimiter::until_ready`], [`RateLimiter::until_n_ready`] (cancel-safe
//!   futures that reserve their tokens, so waiters are served in order and an abandoned
//!   waiter blocks nobody; optional jitter), [`KeyedRateLimiter::until_key_ready`] and
//!   [`TokioClock`], a [`Clock`] on tokio's time, so `#[tokio::test(start_paused = true)]`
//!   tests run instantly.
//! - `tower`: the [`tower`] module: [`tower::RateLimitLayer`] and
//!   [`tower::KeyedRateLimitLayer`], layers over a shared `Arc` of a limiter (implies `tokio`).
//! - `tracing`: `tracing` events (target `sinew_ratelimit`) on state changes, never on an
//!   ordinary admission or denial: `DEBUG` when a [`KeyedRateLimiter`] evicts refilled keys
//!   (fields `evicted`, `keys`; one event per sweep, one per
//!   [`evict_refilled`](KeyedRateLimiter::evict_refilled)), `WARN` when it starts refusing new
//!   keys because it is full (fields `max_keys`, `retry_after_ns`; once until a sweep makes
//!   room again, not once per refusal), and `INFO` when a quota is replaced with `set_quota`
//!   (fields `limiter`, `interval_ns`, `burst`).
//! - `serde`: `Serialize` and `Deserialize` for [`Quota`], written
//!   `{"interval_ns": 100000000, "burst": 5}` and checked on the way in as the constructors
//!   check it (a zero interval or burst is an error, never a `Quota`), and, with `tower`, for
//!   [`tower::OnLimit`] (`"reject"`, `"wait"`).
//!
//! # Guarantees
//!
//! - **Exact.** Over any interval of length `d`, a [`RateLimiter`] admits at most
//!   `burst + d / interval` tokens (tested against a reference token bucket by a fuzz
//!   target and property tests). The interval is rounded *up* to a whole nanosecond, so rounding
//!   never admits more than the quota.
//! - **Thread safety.** All limiters are `Send + Sync` and are used through `&self`. Two
//!   threads racing for the last token: exactly one wins (loom model); `check_n` is
//!   all-or-nothing under races; `set_quota` never exposes a half-written quota (loom model).
//! - **Time going backwards** (a [`ManualClock`] set back, any non-monotonic clock) never
//!   admits extra requests: GCRA's `max(TAT, t)` clamps it.
//! - **No overflow, no panic** for any quota or any input: `u64` nanoseconds since the limiter
//!   started, checked or saturating arithmetic everywhere, and a bucket's refill time capped
//!   at [`MAX_REFILL`] (146 years).
//! - **Cost.** `check` is O(1): a clock read, a few loads, and on admission one
//!   compare-exchange. Keyed checks are O(1) expected (one hash, one shard lock); eviction
//!   sweeps one shard (at most about two thousand keys) at a time, only when about an eighth of
//!   it has refilled, so its cost per evicted key is constant.
//! - **Bounded memory** for [`KeyedRateLimiter`]: at most `max_keys` keys, each costing the key
//!   plus a `u64` and a control byte over the table's load factor.
//! - **Counters.** Each count in `metrics()` is exact: a [`RateLimiter`] counts with one
//!   relaxed `fetch_add` per decision, away from its TAT's cache line, each thread in a
//!   stripe of its own (4 stripes of 128 bytes, so a `RateLimiter` takes about 640 bytes),
//!   so threads sharing a limiter do not contend on a counter; the keyed limiter
//!   and the sliding window count in plain integers under the lock a check already holds. A
//!   snapshot reads its fields one after another (the keyed one shard by shard), so under
//!   concurrent checks it may mix instants a few decisions apart.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// The crate docs link to the feature-gated items; those links resolve with every feature on
// (as on docs.rs) and are plain text otherwise.
#![cfg_attr(
    not(all(feature = "tokio", feature = "tower")),
    allow(rustdoc::broken_intra_doc_links)
)]

mod error;
mod events;
mod gcra;
mod keyed;
mod metrics;
mod quota;
mod sliding;
mod sync;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;
#[cfg(feature = "tokio")]
mod wait;

// The README's code blocks, run as doctests (one uses the `tower` feature, so with it on, as
// CI's `--all-features` test run has it).
#[cfg(all(doctest, feature = "tower"))]
#[doc = include_str!("../README.md")]
mod readme {}

pub use error::{CheckNError, ConfigError, Denied};
pub use gcra::RateLimiter;
pub use keyed::KeyedRateLimiter;
pub use metrics::{KeyedMetrics, Metrics};
pub use quota::{MAX_REFILL, Quota};
pub use sliding::SlidingWindow;

pub use sinew_clock::{CachedClock, Clock, ManualClock, QuantaClock, SystemClock};

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use sinew_clock::TokioClock;
