//! Bloom filters that meet the false-positive rate you ask for, answer the same on every
//! platform, and are fast: classic, cache-blocked, Apache Parquet split-block, counting,
//! scalable and concurrent.
//!
//! A Bloom filter answers "have I seen this key?" with *no* (certainly not) or *maybe* (yes,
//! except for a small, chosen false-positive rate), in a few bits per key. A node keeps one
//! per data file to skip reads for keys the file does not hold; every LSM store does this.
//!
//! | type | what it is | use it when |
//! |---|---|---|
//! | [`BloomFilter`] | classic: `k` bits anywhere in `m` | you want the fewest bits per key |
//! | [`BlockedBloomFilter`] | all `k` bits in one 512-bit block (one cache line) | lookups must be fast; ~5-10% more bits |
//! | [`SplitBlockBloomFilter`] | Parquet's split-block filter, bit-exact | you read or write Parquet Bloom filters |
//! | [`CountingBloomFilter`] | 4-bit saturating counters | you must [`remove`](CountingBloomFilter::remove) keys |
//! | [`ScalableBloomFilter`] | a growing series of classic filters | you do not know how many keys will come |
//! | [`AtomicBloomFilter`] | blocked, `insert(&self)` with atomic `fetch_or` | many threads insert into one filter |
//!
//! Every filter has the same methods (also in the [`Filter`] trait, for generic code):
//! `with_false_positive_rate(expected_items, fpr)`, `with_num_bits(bits, hashes)`,
//! `insert(&item) -> bool`, `contains(&item)`, `insert_hash`/`contains_hash` for callers that
//! hash themselves, `len_estimate()`, `false_positive_rate()` (estimated from the fill),
//! `clear()`, `union`/`intersect` (an error unless the filters match), `bits()`, `hashes()`,
//! and `to_bytes`/`from_bytes`.
//!
//! # Examples
//!
//! ```
//! use sinew_bloom::BlockedBloomFilter;
//!
//! let mut keys = BlockedBloomFilter::with_false_positive_rate(1_000_000, 0.01)?;
//! keys.insert("user:42");
//! assert!(keys.contains("user:42"));
//! assert!(!keys.contains("user:43")); // "no" is always right
//!
//! // Portable: the bytes read back the same on any machine, in any later version.
//! let bytes = keys.to_bytes();
//! let again = BlockedBloomFilter::from_bytes(&bytes)?;
//! assert!(again.contains("user:42"));
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Reading a Bloom filter out of a Parquet file:
//!
//! ```
//! use sinew_bloom::SplitBlockBloomFilter;
//!
//! # let bitset = { let mut f = SplitBlockBloomFilter::with_num_bits(8192, 8)?; f.insert_bytes(b"hello"); f.bitset() };
//! // `bitset`: the bytes after the column chunk's BloomFilterHeader.
//! let f = SplitBlockBloomFilter::from_bitset(&bitset)?;
//! if !f.contains_bytes(b"hello") {
//!     // skip the row group: "hello" is certainly not in it
//! }
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Accuracy: the rate you ask for
//!
//! Sizing picks the `(bits, hashes)` whose expected rate at `expected_items` is the rate
//! asked for, from the exact formula rather than the usual rounded approximations; the
//! blocked filters add a correction for the uneven load of their blocks (the expected rate
//! over the Poisson spread of keys per block), without which a blocked filter misses its
//! target. Measured at n = 1,000,000 keys (tests/accuracy.rs):
//!
//! | filter | target | bits/key | measured |
//! |---|---|---|---|
//! | `BloomFilter` | 1% | 9.59 | 1.0031% |
//! | `BloomFilter` | 0.1% | 14.38 | 0.0950% |
//! | `BlockedBloomFilter` | 1% | 10.10 | 1.0077% |
//! | `BlockedBloomFilter` | 0.1% | 15.73 | 0.0971% |
//! | `ScalableBloomFilter`, started at 10,000 | 1% | 23.27 | 0.9867% |
//! | `ScalableBloomFilter`, started at 10,000 | 0.1% | 29.35 | 0.0982% |
//!
//! Past `expected_items` the rate climbs (a full filter says "maybe" to everything);
//! [`ScalableBloomFilter`] grows instead.
//!
//! # Hashing
//!
//! Items are hashed through their [`Hash`](std::hash::Hash) implementation by a
//! [`BuildHasher`](std::hash::BuildHasher). The default, [`Xxh3Builder`], is XXH3-64 with a
//! seed (0 unless you choose one) over what `Hash` writes, integers little-endian and
//! `usize` widened to 64 bits, so an item's bits are the same on every platform and in every
//! process. Any other `BuildHasher` plugs in through the `*_and_hasher` constructors (the
//! serialized form is only for the default hasher, whose seed it records). Each item is
//! hashed once, to 64 bits; the classic and counting filters derive their `k` probes from it
//! by double hashing with a rotation, the blocked filters split it between block and bit choice.
//! [`SplitBlockBloomFilter`] always uses xxHash64 with seed 0, as Parquet does.
//!
//! All index math is 64-bit: filters of more than 2^32 bits work (tested), up to
//! [`BloomFilter::MAX_BITS`] (2^48).
//!
//! # Serialized format
//!
//! `to_bytes` writes, and `from_bytes` reads, one versioned format, identical on every
//! platform. Golden files in `tests/golden/v1/` freeze it: what this version writes, every
//! later version reads.
//!
//! ```text
//! offset  size  field
//! 0       4     magic: the bytes "SNWB"
//! 4       2     format version, u16 little-endian: 1
//! 6       1     variant: 1 classic, 2 blocked (and atomic), 3 split-block, 4 counting, 5 scalable
//! 7       1     flags: 0 (reserved)
//! 8       8     hasher seed, u64 little-endian (0 for split-block)
//! 16      ..    the variant's parameters and contents, little-endian (see each type)
//! end-8   8     checksum: XXH3-64 (seed 0) of every byte before it, u64 little-endian
//! ```
//!
//! `from_bytes` checks magic, version, variant, every parameter, the exact length and the
//! checksum; on any failure it returns a [`DecodeError`]. It never panics, and it allocates
//! only after checking that the input holds the bytes a header claims, so no input makes it
//! allocate more than the input's own length (measured by a counting allocator in
//! `tests/alloc.rs`; fuzzed: `bloom_from_bytes`).
//!
//! # Guarantees
//!
//! - **No false negatives**: an inserted item always answers `true` (property-tested for every
//!   variant), except after [`CountingBloomFilter::remove`] of an item that was never
//!   inserted but tested positive (see its docs).
//! - **Thread safety**: every filter is `Send + Sync`; [`AtomicBloomFilter`] inserts through
//!   `&self` with no lock, and an insert that happens before a lookup is always seen (loom
//!   models in `tests/loom.rs`).
//! - **Complexity**: `insert` and `contains` are O(k) with no allocation (the default hasher
//!   allocates only for items whose `Hash` writes more than 128 bytes); the blocked filters
//!   touch one cache line. `len_estimate`, `false_positive_rate`, `union`, `intersect` and
//!   serialization are O(m).
//! - **Bad input**: invalid parameters are [`ConfigError`]s, mismatched merges
//!   [`MergeError`]s, bad bytes [`DecodeError`]s; no panic is reachable from arguments or
//!   bytes. `#![forbid(unsafe_code)]`.
//!
//! # Crate features
//!
//! - `serde`: `Serialize`/`Deserialize` for every filter with the default hasher, as its
//!   `to_bytes` form (a byte string), checked by `from_bytes` on the way in; and for
//!   [`Params`], a filter's size as a configuration states it (checked when built).

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod atomic;
mod blocked;
mod classic;
mod counting;
mod error;
mod filter;
mod format;
mod hash;
mod params;
mod scalable;
#[cfg(feature = "serde")]
mod serde_impl;
mod sizing;
mod split_block;
mod sync;

pub use atomic::AtomicBloomFilter;
pub use blocked::BlockedBloomFilter;
pub use classic::BloomFilter;
pub use counting::CountingBloomFilter;
pub use error::{ConfigError, DecodeError, MergeError};
pub use filter::Filter;
pub use hash::{Xxh3Builder, Xxh3Hasher};
pub use params::Params;
pub use scalable::ScalableBloomFilter;
pub use split_block::SplitBlockBloomFilter;

// The README's code blocks, run as doctests, so the snippets crates.io shows cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}
