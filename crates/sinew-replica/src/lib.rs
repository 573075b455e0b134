//! Dynamo-style replication as a library: quorum reads and writes over a consistent-hash
//! ring, read repair, sloppy quorums with hinted handoff, key-level anti-entropy, and versions
//! that never lose a concurrent write (dotted version vectors) or that keep the newest by a
//! hybrid logical clock (last-writer-wins), as sans-io state machines.
//!
//! A replicated key-value store, cache or session store needs the same few pieces, described
//! by Amazon's Dynamo paper (DeCandia et al., 2007) and refined by Riak and Cassandra:
//!
//! - **Preference lists**: a key lives on the first `n` distinct nodes of a sinew-ring router
//!   ([`sinew_ring::ConsistentHash`]); the ring places it, membership (sinew-gossip, or any
//!   `Fn(&N) -> bool`) says which of them are up.
//! - **Quorums**: a read waits for `r` replies, a write for `w` acknowledgements
//!   ([`Options`], with Cassandra's `ONE`/`QUORUM`/`ALL` as presets). With `r + w > n` every
//!   read quorum meets every write quorum, so a read sees every write acknowledged before it.
//! - **Read repair**: a read merges what its replicas answered and sends the merged object to
//!   those that answered with something older, before returning ([`ReadRepair::Blocking`]) or
//!   after ([`ReadRepair::Async`], which also repairs the replies that arrive late).
//! - **Sloppy quorum and hinted handoff**: a replica that membership reports down is replaced
//!   by the next node on the ring, which keeps the write in a bounded [`HintStore`] and hands
//!   it over once the owner is back, deleting it only when the owner acknowledged it.
//! - **Anti-entropy**: what read repair and hints miss (a hint dropped, a key never read),
//!   replicas find by comparing Merkle trees (sinew-merkle) and repair by exchanging the
//!   objects in the ranges that differ ([`Replica::merkle_tree`], [`Replica::sync_request`]).
//! - **Versions** ([`version`]): each key holds a [`Siblings`] object. Under [`Policy::Dvv`]
//!   a write names the context it read, replaces exactly the siblings that context covers,
//!   and concurrent writes are kept side by side until a client merges them (Riak's dotted
//!   version vectors, Almeida et al. 2012): nothing is lost to clock skew or races. Under
//!   [`Policy::Lww`] the write with the greatest hybrid-logical-clock timestamp wins
//!   ([`HybridClock`], Kulkarni et al. 2014): simpler, one value per key, and concurrent
//!   writes lost by design.
//!
//! Two types run a node. A [`Coordinator`] starts reads and writes for clients and drives
//! them to a result or a clear error ([`OpError::Unavailable`], [`OpError::Timeout`]). A
//! [`Replica`] stores objects over a [`Store`] ([`MemoryStore`], or your own engine), answers
//! the coordinators' requests, and keeps and replays hints. Neither does I/O or reads a clock
//! for its timeouts: feed them messages and the time, send what `poll_transmit` returns, in
//! the style of sinew-gossip and quinn-proto. [`Message`]s have a compact wire encoding whose
//! decoder refuses bad input with a [`DecodeError`] and never allocates more than the input
//! justifies.
//!
//! # Examples
//!
//! Three nodes in one process; delivery is a loop, so the example decides what arrives.
//!
//! ```
//! use std::time::Duration;
//! use bytes::Bytes;
//! use sinew_clock::{HybridClock, ManualClock};
//! use sinew_replica::{Completion, Coordinator, Options, Policy, Replica, VersionVector};
//! use sinew_ring::HashRing;
//!
//! let ring: HashRing<u64> = (0..3).collect();
//! let now = Duration::from_secs(1_700_000_000);
//! let mut coordinator = Coordinator::new(0, 0, Policy::Dvv, HybridClock::new(ManualClock::new(now)));
//! let mut replicas: Vec<Replica<u64>> = (0..3).map(|n| Replica::new(n, n, Policy::Dvv)).collect();
//!
//! // Deliver every message until none is left: requests to replicas, replies to the coordinator.
//! let mut deliver = |coordinator: &mut Coordinator<u64, ManualClock>, replicas: &mut Vec<Replica<u64>>| loop {
//!     let mut wire = Vec::new();
//!     while let Some(t) = coordinator.poll_transmit() { wire.push((0, t)); }
//!     for (n, r) in (0u64..).zip(replicas.iter_mut()) {
//!         while let Some(t) = r.poll_transmit() { wire.push((n, t)); }
//!     }
//!     if wire.is_empty() { break; }
//!     for (from, t) in wire {
//!         if t.message.for_coordinator() {
//!             coordinator.handle_reply(from, t.message, now);
//!         } else if let Some(r) = replicas.get_mut(t.to as usize) {
//!             r.handle(from, t.message, now);
//!         }
//!     }
//! };
//!
//! coordinator.put(Bytes::from("k"), Bytes::from("v1"), VersionVector::new(), &ring, |_| true, Options::QUORUM, now)?;
//! deliver(&mut coordinator, &mut replicas);
//! let Some(Completion::Put { result, .. }) = coordinator.poll_event() else { return Err("no completion".into()) };
//! let written = result?;
//!
//! coordinator.get(Bytes::from("k"), &ring, |_| true, Options::QUORUM, now)?;
//! deliver(&mut coordinator, &mut replicas);
//! let Some(Completion::Get { result, .. }) = coordinator.poll_event() else { return Err("no completion".into()) };
//! let read = result?;
//! assert_eq!(read.object.values().collect::<Vec<_>>(), [&Bytes::from("v1")]);
//! assert!(read.object.covers(written.dot));
//! // The next write passes `read.object.context()`: it replaces what this read saw.
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The `replica` example walks through siblings, hinted handoff, read repair and anti-entropy
//! (`cargo run -p sinew-examples --example replica`), and the `replica_sim` example checks the
//! whole under loss, partitions, crashes and clock skew from a recorded history of operations.
//!
//! # Guarantees
//!
//! - With `r + w > n` and strict quorums (no stand-in counted, see
//!   [`WriteOutcome::strict`]), a read returns every write acknowledged before it began, or
//!   something that supersedes it. A sloppy quorum trades that for availability, as Dynamo's
//!   does; hinted handoff, read repair and anti-entropy converge the replicas afterwards.
//! - Under [`Policy::Dvv`] a write is only ever replaced by a write whose client had read it;
//!   concurrent writes become siblings. Applying the same object twice changes nothing, so
//!   every message may be retried or duplicated.
//! - A [`Replica`]'s `actor` must be unique, and new after a restart that lost its store.
//!   Stores are assumed durable, as Dynamo assumes: a replica that loses acknowledged data
//!   weakens the quorum guarantee until anti-entropy restores it.
//! - Bad input (a message from a peer) gets a [`DecodeError`]; no input makes the crate
//!   panic. Memory is bounded: operations in flight by [`Coordinator::with_max_in_flight`],
//!   hints by the [`HintStore`]'s bounds, decoded counts by the input's length.
//!
//! # Crate features
//!
//! - `serde`: `Serialize`/`Deserialize` for the version types and [`Options`].
//! - `tracing`: `tracing` events (target `sinew_replica`): operations that time out or are
//!   unavailable and read repairs (debug), hints delivered (debug) and dropped (warn).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub(crate) mod codec;
#[macro_use]
mod trace;
mod coordinator;
pub mod error;
mod hints;
mod message;
mod options;
mod replica;
pub mod sim;
mod store;
pub mod version;

// The README's code blocks, run as doctests, so the snippets crates.io shows cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

pub use coordinator::{
    Completion, Coordinator, CoordinatorMetrics, DEFAULT_MAX_IN_FLIGHT, OpId, ReadOutcome,
    WriteOutcome,
};
pub use error::{ConfigError, DecodeError, OpError};
pub use hints::{DEFAULT_MAX_HINT_BYTES, DEFAULT_MAX_HINTS, Hint, HintStore};
pub use message::{Message, Transmit, WireNode};
pub use options::{MAX_N, Options, ReadRepair};
pub use replica::{Replica, ReplicaMetrics};
pub use store::{MemoryStore, Store};
pub use version::{Dot, Policy, Sibling, Siblings, VersionVector};

/// The hybrid logical clock's types, from sinew-clock.
pub use sinew_clock::{HlcTimestamp, HybridClock};
