//! Versions: version vectors, dotted version vectors (siblings), last-writer-wins.
//!
//! A replicated store accepts writes at several replicas, during partitions and while some
//! replicas are down, and must later decide, for two versions of a key, whether one
//! replaces the other or both must be kept. This module gives the two answers a Dynamo-style
//! store offers, as a [`Policy`] the user picks.
//!
//! # Why version vectors
//!
//! Wall clocks cannot say which write came first: clocks are skewed, and two clients that
//! both read version 1 and then write have made *concurrent* updates, neither of which saw
//! the other, whatever the clocks say. A [`VersionVector`] counts events per actor (per
//! replica that coordinates writes): `{A: 2, B: 1}` means "has seen A's first two writes and
//! B's first". One vector [`descends`](VersionVector::descends) another when it has seen
//! everything the other has; when neither does, the versions are
//! [`concurrent`](VersionVector::concurrent) and the store must keep both. This is the
//! partial order of causality (Lamport's happened-before), which the Dynamo paper (2007) used
//! to keep conflicting versions of a shopping cart instead of losing one.
//!
//! ```
//! use sinew_replica::version::VersionVector;
//!
//! let mut a = VersionVector::new();
//! a.increment(1);
//! let mut b = a.clone(); // both saw the first write...
//! a.increment(1); // ...then replica 1 coordinated another
//! b.increment(2); // while replica 2, cut off, coordinated one too
//! assert!(a.concurrent(&b)); // neither saw the other: a conflict, not an order
//! let mut both = a.clone();
//! both.merge(&b);
//! assert!(both.descends(&a) && both.descends(&b));
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Why dots: false concurrency and sibling explosion
//!
//! Whose counters go in the vector? With one entry per *client*, vectors grow with the
//! number of clients forever. Riak therefore used one entry per *server* (vnode) that
//! coordinates the write, and one vector for the whole object. That loses information: when
//! two clients write through the same server with the same stale context, the server can
//! only bump its own counter, and the object's single vector no longer says which value each
//! write produced. The next write, whatever context it carries, cannot tell which siblings
//! its client had seen, so the server keeps them all and adds one more. Under steady writes
//! with stale contexts an object accumulates values nobody needs: Riak's "sibling
//! explosion", caused by false concurrency (values reported concurrent that were in fact
//! overwritten).
//!
//! Dotted version vectors (Preguiça, Baquero, Almeida, Fonte and Gonçalves, *Dotted Version
//! Vectors: Logical Clocks for Optimistic Replication*, 2010; Almeida et al., *Scalable and
//! Accurate Causality Tracking for Eventually Consistent Stores*, 2014, Riak's DVVSet) fix it
//! with server ids only: each value is tagged with the single event that wrote it, its
//! [`Dot`] `(server, n)`, beside the object's causal context (a version vector of everything
//! it has seen). A write carrying the context its client read removes exactly the values
//! whose dots that context covers, and keeps the others as siblings. [`Siblings`] is that
//! object:
//!
//! ```
//! use sinew_replica::version::{HlcTimestamp, Siblings};
//!
//! let ts = HlcTimestamp::from_u64;
//! let mut at_1: Siblings<&str> = Siblings::new();
//! at_1.write(1, &Default::default(), ts(1), "v1");
//! let read = at_1.context().clone(); // clients X and Y both read v1
//! at_1.write(1, &read, ts(2), "x"); // X's write replaces v1
//! at_1.write(1, &read, ts(3), "y"); // Y's write replaces v1, not x: a true conflict
//! assert_eq!(at_1.values().collect::<Vec<_>>(), [&"x", &"y"]);
//!
//! // Replica 2 receives only X's version, then the two replicas synchronize.
//! let mut at_2: Siblings<&str> = Siblings::new();
//! at_2.write(2, &Default::default(), ts(4), "z"); // a blind write through replica 2
//! at_2.merge(&at_1);
//! assert_eq!(at_2.len(), 3); // x, y and z are pairwise concurrent
//!
//! // A client reads all three and writes the resolution: one value is left everywhere.
//! let seen = at_2.context().clone();
//! at_2.write(2, &seen, ts(5), "resolved");
//! at_1.merge(&at_2);
//! assert_eq!(at_1, at_2);
//! assert_eq!(at_1.values().collect::<Vec<_>>(), [&"resolved"]);
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Siblings::merge`] is a join: commutative, associative and idempotent, so replicas that
//! exchange objects in any order, any number of times, converge, and no write is dropped
//! unless a client that had seen it wrote over it.
//!
//! # Last writer wins
//!
//! [`Policy::Lww`] keeps one value per key: the sibling with the greatest
//! [`HlcTimestamp`] (the dot breaks ties, so every replica picks the same one). It is
//! simpler for the application, which never sees siblings, and cheaper. The price is that
//! concurrent writes are lost silently (all but one), and with clock skew between
//! coordinators a write that came later in real time can lose to an earlier one from a node
//! whose clock runs ahead. A hybrid logical clock bounds that skew (it refuses timestamps
//! further ahead than its maximum offset) but does not remove it. Use LWW for caches and
//! idempotent, whole-value overwrites; use [`Policy::Dvv`] when a lost update matters.
//!
//! # Encodings
//!
//! [`Dot`], [`VersionVector`] and [`Siblings`] have compact binary encodings (LEB128
//! varints; timestamps as 8 big-endian bytes), and their decoders check every invariant the
//! types guarantee and refuse bad input with a [`DecodeError`](crate::error::DecodeError),
//! never panicking and never allocating more than the input justifies.

mod dot;
mod siblings;
mod vector;

pub use dot::Dot;
pub use siblings::{FINGERPRINT_SEED, MAX_SIBLINGS, Sibling, Siblings};
pub use sinew_clock::HlcTimestamp;
pub use vector::{MAX_ACTORS, VersionVector};

/// Which conflict policy a store uses; the user picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Policy {
    /// Dotted version vectors: concurrent writes are kept as siblings until a client that
    /// read them writes a resolution.
    #[default]
    Dvv,
    /// Last writer wins by [`HlcTimestamp`] (then dot): one value per key, simpler, but
    /// concurrent updates are lost, and under clock skew a later write can lose.
    Lww,
}

impl Policy {
    /// Merges `other` into `into` under this policy: [`Siblings::merge`] for `Dvv`; for
    /// `Lww` the same followed by [`Siblings::keep_newest`].
    ///
    /// ```
    /// use sinew_replica::version::{HlcTimestamp, Policy, Siblings};
    ///
    /// let mut a: Siblings<&str> = Siblings::new();
    /// a.write(1, &Default::default(), HlcTimestamp::from_u64(20), "newer");
    /// let mut b: Siblings<&str> = Siblings::new();
    /// b.write(2, &Default::default(), HlcTimestamp::from_u64(10), "older");
    ///
    /// let mut dvv = a.clone();
    /// Policy::Dvv.merge(&mut dvv, &b);
    /// assert_eq!(dvv.len(), 2);
    /// let mut lww = a.clone();
    /// Policy::Lww.merge(&mut lww, &b);
    /// assert_eq!(lww.values().collect::<Vec<_>>(), [&"newer"]);
    /// Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn merge<V: Clone>(self, into: &mut Siblings<V>, other: &Siblings<V>) {
        into.merge(other);
        if self == Policy::Lww {
            into.keep_newest();
        }
    }
}
