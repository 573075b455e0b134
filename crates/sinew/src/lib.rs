//! sinew: distributed-systems primitives, each one a small crate of its own.
//!
//! This umbrella crate re-exports every sinew crate as a module behind a feature of the same
//! name, so one dependency line gives you the set you use:
//!
//! ```toml
//! sinew = { version = "0.1", features = ["snowflake"] }
//! ```
//!
//! | module | crate | what it does |
//! |---|---|---|
//! | [`clock`] | `sinew-clock` | the time source every timed primitive takes (always on) |
//! | `hash` | `sinew-hash` | the stable, seeded, platform-independent hasher ring and bloom share |
//! | `snowflake` | `sinew-snowflake` | unique, time-ordered 64-bit IDs |
//! | `merkle` | `sinew-merkle` | RFC 6962 Merkle trees with proofs; anti-entropy for replica repair |
//! | `ratelimit` | `sinew-ratelimit` | lock-free GCRA rate limiters, keyed limiters in bounded memory, sliding windows |
//! | `ring` | `sinew-ring` | consistent hashing: ring, jump, rendezvous, Maglev, bounded loads |
//! | `bloom` | `sinew-bloom` | Bloom filters: classic, blocked, Parquet split-block, counting, scalable, concurrent |
//! | `breaker` | `sinew-breaker` | a lock-free circuit breaker: failure-rate and slow-call rules, exact half-open trials |
//! | `gossip` | `sinew-gossip` | SWIM + Lifeguard membership and failure detection (sans-io core, tokio runtime over UDP + TCP with AES-256-GCM keyring), phi-accrual detector, cluster simulator |
//! | `replica` | `sinew-replica` | Dynamo-style replication: quorums, read repair, hinted handoff, version vectors, a checked simulator |
//! | `retry` | `sinew-retry` | Backoff with jitter, retry budgets, deadlines and hedged requests |
//! | `bulkhead` | `sinew-bulkhead` | Bulkheads and adaptive concurrency limits (backpressure) |
//!
//! # Examples
//!
//! ```
//! # #[cfg(feature = "snowflake")] {
//! use sinew::snowflake::{Generator, Layout};
//!
//! let ids = Generator::new(Layout::TWITTER, 1)?;
//! let a = ids.next_id()?;
//! let b = ids.next_id()?;
//! assert!(a < b);
//! # }
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ```
//! # #[cfg(feature = "ring")] {
//! use sinew::ring::HashRing;
//!
//! let ring: HashRing<&str> = ["cache-a", "cache-b", "cache-c"].into_iter().collect();
//! let owner = ring.route("user:42");
//! assert!(owner.is_some());
//! # }
//! ```
//!
//! # Crate features
//!
//! - `snowflake`: [`sinew-snowflake`](https://docs.rs/sinew-snowflake) as `sinew::snowflake`.
//! - `merkle`: [`sinew-merkle`](https://docs.rs/sinew-merkle) as `sinew::merkle`.
//! - `ratelimit`: [`sinew-ratelimit`](https://docs.rs/sinew-ratelimit) as `sinew::ratelimit`.
//! - `ring`: [`sinew-ring`](https://docs.rs/sinew-ring) as `sinew::ring`.
//! - `bloom`: [`sinew-bloom`](https://docs.rs/sinew-bloom) as `sinew::bloom`.
//! - `breaker`: [`sinew-breaker`](https://docs.rs/sinew-breaker) as `sinew::breaker`.
//! - `gossip`: [`sinew-gossip`](https://docs.rs/sinew-gossip) as `sinew::gossip`.
//! - `replica`: [`sinew-replica`](https://docs.rs/sinew-replica) as `sinew::replica`.
//! - `retry`: [`sinew-retry`](https://docs.rs/sinew-retry) as `sinew::retry`.
//! - `bulkhead`: [`sinew-bulkhead`](https://docs.rs/sinew-bulkhead) as `sinew::bulkhead`.
//! - `hash`: [`sinew-hash`](https://docs.rs/sinew-hash) as `sinew::hash` (on with `ring` or
//!   `bloom`).
//! - `full`: every primitive, with every integration and extra below.
//! - `serde`: serde support in every enabled primitive.
//! - `tokio`: tokio integration in every enabled primitive (async waiting; gossip's
//!   `runtime::Cluster` over real sockets).
//! - `tower`: tower middleware in every enabled primitive (implies `tokio`).
//! - `tracing`: `tracing` events in every enabled primitive that has them.
//! - `blake3`: `merkle::log::Blake3Hasher` (BLAKE3 with RFC 6962 domain separation).
//! - `aes-gcm`: `gossip::keyring` (AES-256-GCM sealing, key rotation, replay window) without
//!   the tokio runtime.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use sinew_clock as clock;

#[cfg(feature = "hash")]
pub use sinew_hash as hash;

#[cfg(feature = "snowflake")]
pub use sinew_snowflake as snowflake;

#[cfg(feature = "merkle")]
pub use sinew_merkle as merkle;

#[cfg(feature = "ratelimit")]
pub use sinew_ratelimit as ratelimit;

#[cfg(feature = "breaker")]
pub use sinew_breaker as breaker;
#[cfg(feature = "ring")]
pub use sinew_ring as ring;

#[cfg(feature = "gossip")]
pub use sinew_gossip as gossip;

#[cfg(feature = "bulkhead")]
pub use sinew_bulkhead as bulkhead;
#[cfg(feature = "replica")]
pub use sinew_replica as replica;
#[cfg(feature = "retry")]
pub use sinew_retry as retry;

#[cfg(feature = "bloom")]
pub use sinew_bloom as bloom;

// The README's code blocks, run as doctests (its example uses the `snowflake` feature).
#[cfg(all(doctest, feature = "snowflake"))]
#[doc = include_str!("../README.md")]
mod readme {}
