//! Cluster membership and failure detection: SWIM with the Lifeguard extensions as a sans-io
//! state machine, a phi-accrual failure detector, and a deterministic cluster simulator.
//!
//! Every cluster needs to know who is alive. [`Member`] is one node's view of that, kept up to
//! date by the SWIM protocol (Das et al., 2002) as HashiCorp's memberlist runs it, with the
//! Lifeguard refinements (Dadgar et al., 2018) that keep slow or overloaded members from
//! declaring healthy ones dead:
//!
//! - **Probing**: every `probe_interval` a member pings the next member of a shuffled
//!   round-robin order; without an ack within `probe_timeout` it asks `indirect_probes` others
//!   to ping it (ping-req); without any ack by the end of the interval it *suspects* it.
//! - **Suspicion and refutation**: a suspected member that hears of it outbids the suspicion
//!   with a larger incarnation; one that cannot is declared dead when the suspicion times out.
//!   Lifeguard makes the timeout start long and shrink as independent members confirm the
//!   suspicion, raises a member's own timeouts when it misses nacks (its *health multiplier*),
//!   and tells a suspect that it is suspected when probing it (the *buddy rule*). Beyond
//!   memberlist: a suspicion carries its age, so every member's timer counts from the first
//!   accusation and the cluster declares a crashed member dead at once rather than as the
//!   news spreads; and the accuser re-probes its suspect every other probe, so a live suspect
//!   hears of the suspicion even when every rumour of it was lost.
//! - **Dissemination**: every change is piggybacked on probes and sent in gossip rounds to
//!   `gossip_fanout` random members every `gossip_interval`, each rumour at most
//!   `retransmit_mult x ceil(log10(N + 1))` times.
//! - **Anti-entropy**: every `push_pull_interval` two members exchange a 64-bucket digest of
//!   their whole view and then only the entries of buckets that differ.
//! - **Partition healing**: every `reconnect_interval` a member pings one member it believes
//!   dead (or a seed it does not see), and runs anti-entropy with it if it answers, so a
//!   healed split converges with no application-level rejoin loop. A dead member only comes
//!   back with a larger incarnation, which only it can create: third parties never resurrect
//!   it.
//! - **Leaving, metadata, restarts**: [`Member::leave`] spreads "left" (not "dead");
//!   [`Member::set_metadata`] spreads small versioned bytes; a restarted member uses a larger
//!   generation, so its new life outranks everything said about the old one.
//!
//! The state machine does no I/O and reads no clock: the driver passes datagrams and the
//! current time in and takes datagrams, events and the next deadline out, in the style of
//! quinn-proto. The random generator is injected, so a seed replays a run exactly. The
//! [`sim`] module runs hundreds of members in one thread on virtual time over a seeded
//! network with latency, loss, partitions, crashes and starved members, and measures
//! dissemination, detection time, false deaths and bandwidth.
//!
//! [`PhiAccrual`] (Hayashibara et al.; Akka's variant) and [`TimeoutDetector`] work on their
//! own as heartbeat-based presence detectors, behind the [`FailureDetector`] trait.
//!
//! # Examples
//!
//! A three-member cluster in the simulator:
//!
//! ```
//! use std::time::Duration;
//! use sinew_gossip::sim::{NetConfig, Simulation};
//! use sinew_gossip::Config;
//!
//! let mut sim = Simulation::new(Config::lan(), NetConfig::default(), 7)?;
//! let a = sim.add_member();
//! let b = sim.add_member();
//! let c = sim.add_member();
//! sim.join(b, &[a]);
//! sim.join(c, &[a]);
//! sim.run_for(Duration::from_secs(5));
//! assert!(sim.converged());
//!
//! sim.crash(c);
//! sim.run_for(Duration::from_secs(30));
//! assert!(sim.everyone_sees_dead(c));
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Driving a [`Member`] by hand is shown on its page; the wire format is described in
//! [`wire`]. With the `tokio` feature, [`runtime::Cluster`] runs a member over real UDP and
//! TCP sockets (bind and advertise addresses, re-resolved seeds, a keyring, events,
//! snapshots, metrics); its page has a runnable two-member example, and
//! `examples/gossip_node.rs` is a complete node program.
//!
//! # Crate features
//!
//! The core, the detectors and the simulator have no optional parts.
//!
//! - `aes-gcm`: the [`keyring`] module, which seals every datagram and frame with
//!   AES-256-GCM under per-session keys derived from a rotatable set of cluster keys, with a
//!   replay window.
//! - `tokio` (implies `aes-gcm`): the [`runtime`] module, whose
//!   [`Cluster`](runtime::Cluster) runs a member over real UDP and TCP sockets with
//!   names, optional encryption, metrics and a fault injector for tests.
//! - `serde`: `Serialize` and `Deserialize` for [`Config`] (durations as seconds, the label
//!   as a string); deserializing runs [`Config::validate`], so a bad configuration file is a
//!   [`ConfigError`], never a member that misbehaves.
//!
//! # Guarantees
//!
//! - **Bad input**: decoding any byte string returns a message or an error, never panics,
//!   and allocates at most in proportion to the input. Datagrams from another cluster label
//!   are refused.
//! - **Bounded datagrams**: every datagram is at most [`Config::mtu`] bytes whatever the
//!   cluster size or metadata size (large state is split across datagrams).
//! - **Determinism**: the same seed, configuration and inputs give the same outputs.
//! - **Thread safety**: all types are plain values (`Send` when the generator is); share
//!   a [`Member`] behind a lock or, better, own it in one task.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod broadcast;
mod config;
mod detector;
mod error;
#[cfg(feature = "aes-gcm")]
#[cfg_attr(docsrs, doc(cfg(feature = "aes-gcm")))]
pub mod keyring;
mod member;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod runtime;
pub mod sim;
pub mod wire;

pub use config::Config;
pub use detector::{FailureDetector, PhiAccrual, TimeoutDetector};
pub use error::{ConfigError, MetadataError, PacketError};
pub use member::{Channel, Event, Member, MemberInfo, ProbeStats, Transmit};
pub use sinew_clock::{Clock, ManualClock, SystemClock};
pub use wire::{Incarnation, State};

// The README's code blocks, run as doctests (one uses the runtime, so with the `tokio`
// feature on, as CI's `--all-features` test run has it).
#[cfg(all(doctest, feature = "tokio"))]
#[doc = include_str!("../README.md")]
mod readme {}
