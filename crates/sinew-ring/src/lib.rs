//! Consistent hashing: which node owns a key, so that adding or removing a node moves only the
//! keys it must. Every classic algorithm behind one trait, placement stable across processes and
//! machines, replica lists of distinct nodes, and migration plans.
//!
//! | router | route | balance (peak/mean, 100 nodes, 1M keys) | keys moved when a 101st node joins (ideal 0.0099) | weights | use it for |
//! |---|---|---|---|---|---|
//! | [`HashRing`] | O(1) expected | 1.18 at 160 vnodes | 0.0095 (minimal) | yes | general sharding, caches; migration plans by hash range |
//! | [`Jump`] | O(ln n), no memory | 1.02 | 0.0099 (minimal, growing at the end) | no | numbered shards that grow and shrink at the end |
//! | [`Rendezvous`] | O(n) | 1.09 (100k keys) | 0.0096 (minimal) | yes | small clusters; replica sets that must be "top k" exactly |
//! | [`Maglev`] | O(1), one read | 1.02 | 0.0157 (≈ 1.6 × minimal) | no | load balancers: fastest lookup, best balance |
//! | [`BoundedLoad`] | wraps any router | ≤ ⌈c × mean⌉ by construction | small | — | placing sessions/requests with a hard load cap |
//!
//! (Measured by `cargo run --release -p sinew-benches --bin ring_report`, which prints the same
//! for the peer crates.)
//!
//! Every router implements [`ConsistentHash`]: `route(&key)`, `replicas(&key, n)` (distinct
//! physical nodes in preference order, allocation-free), `route_hash(u64)` for pre-hashed keys,
//! `len()`. The same methods are inherent too, so no trait import is needed for everyday use.
//!
//! # Examples
//!
//! ```
//! use sinew_ring::HashRing;
//!
//! let mut ring = HashRing::new(); // 160 virtual nodes per unit of weight
//! for node in ["cache-1", "cache-2", "cache-3"] {
//!     ring.add(node)?;
//! }
//! let owner = ring.route("session:9f86d081").ok_or("empty ring")?;
//! let backups: Vec<_> = ring.replicas("session:9f86d081", 3).collect();
//! assert_eq!(backups[0], owner);
//! assert_eq!(backups.len(), 3);
//!
//! // The migration plan when a node joins: which hash ranges to stream where.
//! let mut next = ring.clone();
//! next.add("cache-4")?;
//! for m in HashRing::diff(&ring, &next) {
//!     assert_eq!(m.to, Some(&"cache-4"));
//!     // stream keys with key_hash(k) in m.range from m.from to m.to
//! }
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Generic code takes any router:
//!
//! ```
//! use sinew_ring::{ConsistentHash, Jump, Maglev, moved_fraction};
//!
//! fn owner_of<R: ConsistentHash<Node = String>>(r: &R, user: u64) -> Option<&str> {
//!     r.route(&user).map(String::as_str)
//! }
//! let nodes: Vec<String> = (0..8).map(|i| format!("node-{i}")).collect();
//! let jump: Jump<String> = nodes.iter().cloned().collect();
//! let maglev: Maglev<String> = nodes.iter().cloned().collect();
//! assert!(owner_of(&jump, 7).is_some() && owner_of(&maglev, 7).is_some());
//! // Different algorithms place keys differently: about 7/8 of keys differ.
//! assert!(moved_fraction(&jump, &maglev, 10_000) > 0.8);
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Placement is a documented function
//!
//! Two processes that hold the same members agree on every key, whatever order the members
//! were added in, on any platform and with any version of this crate 0.1.x:
//!
//! - keys hash with [`key_hash`]: XXH3-64 seeded with [`hash::KEY_SEED`] over the key's
//!   [`Hash`] bytes, written by [`hash::Xxh3Hasher`] with integers little-endian
//!   and `usize` as 64 bits (std's `Hasher` defaults use the machine's endianness and width);
//! - nodes are identified by [`node_id`]: the same with [`hash::NODE_SEED`];
//! - each router's placement is a function of those (documented on each type), with ties
//!   resolved by identity, never by insertion order. Two distinct nodes with the same
//!   identity are refused ([`MembershipError::IdentityCollision`]).
//!
//! The values are pinned by tests, so an upgrade never silently moves keys.
//!
//! ## The `std::hash::Hash` caveat
//!
//! [`hash::Xxh3Hasher`] fixes everything the *hasher* decides, but not which bytes a type's
//! `Hash` impl writes, and std does not promise those stay the same across Rust versions or
//! platforms: `Hash` output is documented as unspecified, and details such as how slices
//! write their length, how `str` is terminated or how enum discriminants are written are
//! implementation choices that have changed before. Derived and third-party impls inherit
//! this. This crate pins the bytes of the common cases (`u64`, `&str`) in its tests, so its
//! CI notices such a change, but where results must agree across processes built by
//! *different* compilers, or with code in other languages, hash an explicit encoding instead:
//!
//! - [`key_hash_bytes`] hashes raw bytes with the same seeded XXH3 ([`hash::KEY_SEED`]), with no
//!   `Hash` impl in between; every router has `route_bytes` and `replicas_bytes` built on it
//!   (and `route_hash` for a hash you compute yourself). `key_hash_bytes(b)` is not
//!   `key_hash(b)`: `<[u8] as Hash>` also writes the length.
//! - Node identities go through `Hash` too: prefer node types whose `Hash` writes their plain
//!   bytes (integers, `String`), and pin the placement of your own deployment in a test.
//!
//! ```
//! use sinew_ring::{Maglev, key_hash_bytes};
//!
//! let lb: Maglev<u64> = (0..16).collect();
//! let key = 0xdead_beef_u64.to_be_bytes(); // the wire encoding, the same everywhere
//! assert_eq!(lb.route_bytes(&key), lb.route_hash(key_hash_bytes(&key)));
//! assert!(lb.replicas_bytes(&key, 2).eq(lb.replicas_hash(key_hash_bytes(&key), 2)));
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Sharing between threads
//!
//! Routers are plain values (`Send + Sync` when the node type is): share one behind `Arc`
//! and route from many threads. To change membership while others route, put it in a
//! [`Snapshot`] (built on `arc-swap`): readers `load()` lock-free, a writer publishes the
//! next version.
//!
//! # Crate features
//!
//! - `serde`: `Serialize`/`Deserialize` for the routers' membership (nodes, weights,
//!   settings); tables are rebuilt on load, and a deserialized router routes exactly as the
//!   serialized one did.
//!
//! # Guarantees
//!
//! - No panics on any input: bad settings and colliding nodes are `Err`s ([`ConfigError`], [`MembershipError`]),
//!   empty routers route to `None`, `replicas(n)` with `n` above the node count gives every
//!   node once.
//! - Complexity is stated on each router; `replicas` never allocates.
//! - [`BoundedLoad`] counts load with atomics (loom-checked); nothing else has interior
//!   mutability. `#![forbid(unsafe_code)]`.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod bounded;
mod error;
pub mod hash;
mod jump;
mod maglev;
mod members;
mod migrate;
mod rendezvous;
mod ring;
#[cfg(feature = "serde")]
mod serde_impl;
mod shared;
mod sync;
mod walk;

use std::hash::Hash;

pub use bounded::{BoundedLoad, Load, OwnedLoad};
pub use error::{ConfigError, MembershipError};
pub use hash::{key_hash, key_hash_bytes, node_id};
pub use jump::{Jump, jump_hash};
pub use maglev::Maglev;
pub use migrate::moved_fraction;
pub use rendezvous::Rendezvous;
pub use ring::{HashRange, HashRing, Move};
pub use shared::{Guard, Snapshot};

/// A consistent-hash router: maps keys to nodes.
///
/// Nodes are numbered `0..len()` while membership is unchanged (the numbering is internal and
/// changes when nodes come and go; placement never depends on it). Implementors provide
/// [`len`](Self::len), [`node`](Self::node), [`route_index`](Self::route_index) and
/// [`replica_indices`](Self::replica_indices); the rest follows.
pub trait ConsistentHash {
    /// The node type.
    type Node;

    /// The number of nodes.
    fn len(&self) -> usize;

    /// Node number `index`, if `index < len()`.
    fn node(&self, index: usize) -> Option<&Self::Node>;

    /// The index of the node that owns a key with this hash; `None` if there are no nodes.
    fn route_index(&self, hash: u64) -> Option<usize>;

    /// The indices of up to `n` distinct nodes in preference order for a key with this hash
    /// (the first is [`route_index`](Self::route_index)); fewer if there are fewer nodes.
    /// Never allocates.
    fn replica_indices(&self, hash: u64, n: usize) -> impl Iterator<Item = usize> + '_;

    /// Whether there are no nodes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The node that owns a key with this (pre-computed) hash. Use [`key_hash`] to get the
    /// hash `route` would use, or any well-mixed 64-bit hash of your own.
    #[inline]
    fn route_hash(&self, hash: u64) -> Option<&Self::Node> {
        self.route_index(hash).and_then(|i| self.node(i))
    }

    /// The node that owns `key`: `route_hash(key_hash(key))`.
    #[inline]
    fn route<K: Hash + ?Sized>(&self, key: &K) -> Option<&Self::Node> {
        self.route_hash(key_hash(key))
    }

    /// The node that owns the key given as raw bytes: `route_hash(key_hash_bytes(bytes))`.
    /// Use it when placement must not depend on a type's `std::hash::Hash` output (see
    /// [`key_hash_bytes`]).
    #[inline]
    fn route_bytes(&self, bytes: &[u8]) -> Option<&Self::Node> {
        self.route_hash(key_hash_bytes(bytes))
    }

    /// Up to `n` distinct nodes for the key given as raw bytes, in preference order:
    /// `replicas_hash(key_hash_bytes(bytes), n)`.
    #[inline]
    fn replicas_bytes(&self, bytes: &[u8], n: usize) -> impl Iterator<Item = &Self::Node> + '_ {
        self.replicas_hash(key_hash_bytes(bytes), n)
    }

    /// Up to `n` distinct nodes for a key with this hash, in preference order.
    #[inline]
    fn replicas_hash(&self, hash: u64, n: usize) -> impl Iterator<Item = &Self::Node> + '_ {
        self.replica_indices(hash, n)
            .filter_map(move |i| self.node(i))
    }

    /// Up to `n` distinct nodes for `key`, in preference order; the first is `route(key)`.
    #[inline]
    fn replicas<K: Hash + ?Sized>(
        &self,
        key: &K,
        n: usize,
    ) -> impl Iterator<Item = &Self::Node> + '_ {
        self.replicas_hash(key_hash(key), n)
    }
}

/// The everyday `ConsistentHash` methods as inherent methods of a router `$ty<N>`, so users
/// need no trait import.
macro_rules! inherent_router_methods {
    ($ty:ident) => {
        impl<N> $ty<N> {
            /// The node that owns `key` (`None` if there are no nodes).
            #[inline]
            pub fn route<K: std::hash::Hash + ?Sized>(&self, key: &K) -> Option<&N> {
                <Self as $crate::ConsistentHash>::route(self, key)
            }

            /// The node that owns a key with this pre-computed hash (see
            /// [`key_hash`](crate::key_hash)).
            #[inline]
            pub fn route_hash(&self, hash: u64) -> Option<&N> {
                <Self as $crate::ConsistentHash>::route_hash(self, hash)
            }

            /// The node that owns the key given as raw bytes,
            /// `route_hash(key_hash_bytes(bytes))`: placement independent of any `Hash` impl
            /// (see [`key_hash_bytes`](crate::key_hash_bytes)).
            #[inline]
            pub fn route_bytes(&self, bytes: &[u8]) -> Option<&N> {
                <Self as $crate::ConsistentHash>::route_bytes(self, bytes)
            }

            /// [`replicas`](Self::replicas) for a key given as raw bytes.
            #[inline]
            pub fn replicas_bytes(&self, bytes: &[u8], n: usize) -> impl Iterator<Item = &N> + '_ {
                <Self as $crate::ConsistentHash>::replicas_bytes(self, bytes, n)
            }

            /// Up to `n` distinct nodes for `key` in preference order (the first is
            /// [`route`](Self::route)); fewer if there are fewer nodes. Never allocates.
            #[inline]
            pub fn replicas<K: std::hash::Hash + ?Sized>(
                &self,
                key: &K,
                n: usize,
            ) -> impl Iterator<Item = &N> + '_ {
                <Self as $crate::ConsistentHash>::replicas(self, key, n)
            }

            /// [`replicas`](Self::replicas) for a pre-computed hash.
            #[inline]
            pub fn replicas_hash(&self, hash: u64, n: usize) -> impl Iterator<Item = &N> + '_ {
                <Self as $crate::ConsistentHash>::replicas_hash(self, hash, n)
            }

            /// The number of nodes.
            #[inline]
            pub fn len(&self) -> usize {
                <Self as $crate::ConsistentHash>::len(self)
            }

            /// Whether there are no nodes.
            #[inline]
            pub fn is_empty(&self) -> bool {
                <Self as $crate::ConsistentHash>::is_empty(self)
            }
        }
    };
}
pub(crate) use inherent_router_methods;

// The README's code blocks, run as doctests, so the snippets crates.io shows cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}
