//! Anti-entropy: Merkle trees over keyed data sets, compared between replicas to find the
//! key ranges where they differ (Dynamo- and Cassandra-style repair).
//!
//! - [`AntiEntropyTree`]: `2^depth` buckets by key hash, each an order-independent sum of its
//!   entries' 128-bit hashes ([`Digest128`]); updated through `&self` from many threads; inner
//!   nodes computed on demand and cached.
//! - [`Reconciler`] and [`Responder`]: a sans-io exchange of [`Message`]s that compares digests
//!   level by level, descends only into differing subtrees and ends with the differing
//!   [`BucketRange`]s ([`Step::Done`]); the messages have a documented
//!   [encoding](#byte-encoding-version-1-stable).
//! - [`diff`] does the same for two trees in one process; [`ranges_contain`] tells whether a
//!   bucket is in the result.
//!
//! # Examples
//!
//! ```
//! use sinew_merkle::AntiEntropyTree;
//! use sinew_merkle::antientropy::{Reconciler, Responder, Step};
//!
//! let (mine, theirs) = (AntiEntropyTree::new(16)?, AntiEntropyTree::new(16)?);
//! mine.insert("apple", 1);
//! theirs.insert("apple", 2); // the other replica has a newer apple
//! let mut reconciler = Reconciler::new(&mine);
//! let mut responder = Responder::new(&theirs); // on the other replica, behind your transport
//! let mut msg = reconciler.start();
//! let ranges = loop {
//!     match reconciler.receive(&responder.respond(&msg)?)? {
//!         Step::Send(next) => msg = next,
//!         Step::Done(ranges) => break ranges, // bucket ranges to repair
//!     }
//! };
//! assert_eq!(ranges.len(), 1);
//! assert!(ranges[0].contains(mine.bucket_of("apple")));
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The tree
//!
//! Every key is placed by a seeded 64-bit hash of its bytes (XXH3-64) into one of `2^depth`
//! buckets: the top `depth` bits of the hash pick the bucket, so bucket `b` holds the keys whose
//! hash lies in `[b << (64 - depth), (b + 1) << (64 - depth))`. A bucket's digest is the sum of
//! its entries' 128-bit hashes, and an entry's hash is
//! `XXH3-128(key, seed = tree_seed XOR version * 0x9E3779B97F4A7C15)`, so the pair
//! (key, version) is hashed jointly. Digests are two independent 64-bit lanes, each added
//! modulo 2^64: inserting adds an entry's hash, removing subtracts it, an update does both. The
//! result does not depend on the order of the updates, and a duplicated entry does not cancel
//! itself out (as it would with XOR).
//!
//! An inner node's digest is the lane-wise sum of its children's: the sum of every entry under
//! it. Inner nodes are computed when read. Those at or above the *group level* (groups of 32
//! buckets, or the root for trees of depth 5 or less) are cached: a write sets its group's bit
//! in a dirty bitmap, and the next read recomputes only the dirty groups and the paths above
//! them. Nodes below the group level are summed from their (at most 16) buckets when read.
//!
//! Both the key hash and the entry hash are platform-independent (XXH3 is specified byte by
//! byte), so replicas on different machines and architectures agree, given the same depth and
//! seed.
//!
//! # Reconciliation
//!
//! Two [`AntiEntropyTree`]s on different replicas are compared without io of this crate's
//! own: the [`Reconciler`] (the side that starts) and the [`Responder`] exchange [`Message`]s
//! level by level, descending only into the subtrees whose digests differ, and both end with
//! the list of differing bucket ranges.
//!
//! ## The exchange
//!
//! Both sides start with the two nodes of level 1 as candidates. In each round the reconciler
//! sends its digests of the candidates ([`Message::Digests`]); the responder compares them with
//! its own and answers with one bit per candidate ([`Message::Diff`]); both then take the
//! children of the differing candidates as the next level's candidates. At the bucket level
//! (`depth`) the differing candidates are the answer. A tree of depth `d` takes at most `d`
//! round trips (fewer if the differences vanish early, one if the trees are equal), and each
//! round costs 16 bytes per candidate plus one bit: the bytes grow with the number of differing
//! buckets times the depth, not with the data.
//!
//! ## Memory, and a dishonest peer
//!
//! Each round, the candidates are the children of the nodes that differ, so their number can
//! double every round. A peer that claims that everything differs (a responder answering
//! "differs" for every candidate, or a reconciler sending digests that match nothing) would
//! make the other side hold `2^depth` candidates at the bucket level: at depth 24, 16 million
//! candidates, about 64 MiB of indices plus a 256 MiB digests message. Honest replicas that
//! differ almost everywhere get there too, where a full copy would be cheaper anyway.
//!
//! So both sides cap the candidates of a round at a limit, [`DEFAULT_MAX_CANDIDATES`] (65,536)
//! unless set with [`Reconciler::with_limit`] / [`Responder::with_limit`]; a round that would
//! exceed it fails with [`TooManyDifferences`](crate::ReconcileError::TooManyDifferences)
//! (fall back to a full copy, or retry with a larger limit). Memory per side is then at most
//! about 40 bytes per candidate (indices, digests and the encoded message), about 2.5 MiB at
//! the default.
//!
//! ## Concurrent writes
//!
//! The result is exact for trees that are not written during the exchange. Each round reads
//! the digests of the tree as it is at that moment, so a write that lands during the exchange
//! may be missed (its bucket's ancestors were already compared and found equal) or reported
//! partly. Writes that keep arriving are caught by the next exchange; to repair a settled
//! state, reconcile when writes are paused or over snapshots.
//!
//! ## Byte encoding (version 1, stable)
//!
//! Little-endian integers:
//!
//! ```text
//! offset  size  field
//! 0       1     magic 0xAE
//! 1       1     kind: 1 = Digests, 2 = Diff
//! 2       1     depth of the sender's tree (1..=24)
//! 3       1     level the message is about (1..=depth)
//! 4       8     seed of the sender's tree
//! 12      4     count: number of candidates (at most 2^level)
//! 16      ...   Digests: count x 16-byte digests (u128 little-endian)
//!               Diff: ceil(count / 8) bytes, bit i (LSB first) set if candidate i differs;
//!               the unused high bits of the last byte are zero
//! ```
//!
//! The magic byte doubles as the format version: a later format will use a new magic, which
//! this version rejects with [`DecodeError::UnknownTag`](crate::DecodeError::UnknownTag).
//! Decoding rejects anything else (wrong magic, kind, depth, level, count, length, padding)
//! with a [`DecodeError`](crate::DecodeError), without panicking. It allocates no more than
//! the input's length: the digests' 16 bytes each, and a `Diff`'s flags as the packed bytes
//! they arrive in ([`DiffBits`]).

mod reconcile;
mod tree;

pub use reconcile::{DEFAULT_MAX_CANDIDATES, DiffBits, Message, Reconciler, Responder, Step};
pub use tree::{
    AntiEntropyTree, BucketRange, DEFAULT_SEED, Digest128, MAX_DEPTH, bucket_of, diff,
    ranges_contain,
};
