//! [`AtomicBloomFilter`]: a blocked filter that many threads insert into through `&self`.

use std::fmt;
use std::hash::{BuildHasher, Hash};

use crate::blocked::{
    BLOCK_BITS, Block, BlockedBloomFilter, block_holds, block_index, block_masks, blocks_for_bits,
    decode, encode, fill_len, fill_rate,
};
use crate::error::{ConfigError, DecodeError, MergeError};
use crate::filter::{compatible, forward_filter};
use crate::hash::{Xxh3Builder, hash_item};
use crate::sizing::{self, MAX_BLOCKED_HASHES};
use crate::sync::{AtomicU64, Ordering};

/// One 64-byte block of atomic words.
#[repr(align(64))]
struct AtomicBlock([AtomicU64; 8]);

impl AtomicBlock {
    fn new(words: [u64; 8]) -> Self {
        AtomicBlock(words.map(AtomicU64::new))
    }

    fn load(&self) -> [u64; 8] {
        let mut out = [0; 8];
        for (o, w) in out.iter_mut().zip(&self.0) {
            *o = w.load(Ordering::Acquire);
        }
        out
    }
}

/// A concurrent [`BlockedBloomFilter`]: [`insert`](Self::insert) takes `&self`, so threads
/// share one filter (in an `Arc`, or by scoped borrow) with no lock.
///
/// The layout, sizing and bits are exactly those of [`BlockedBloomFilter`] (same hasher, same
/// block and probe math), and the two convert into each other and share a serialized form.
/// An insert is at most eight atomic `fetch_or`s on one cache line (words the key does not
/// touch are skipped); a lookup is eight loads.
///
/// # Guarantees
///
/// - An insert that *happens before* a lookup (same thread, or ordered by a join, a channel, a
///   lock or any release/acquire pair) is always seen: no false negatives. Inserts use
///   `Release` and lookups `Acquire`, so seeing an item in the filter also makes visible what
///   its inserting thread wrote before inserting it. Checked by loom models.
/// - A lookup concurrent with the insert of the same item may answer either way.
/// - [`clear`](Self::clear), [`union`](Self::union) and [`intersect`](Self::intersect) take
///   `&mut self`: no concurrent operation can observe them half done.
///
/// ```
/// use std::thread;
/// use sinew_bloom::AtomicBloomFilter;
///
/// let f = AtomicBloomFilter::with_false_positive_rate(20_000, 0.01)?;
/// thread::scope(|s| {
///     for t in 0..4u64 {
///         let f = &f;
///         s.spawn(move || {
///             for i in 0..5_000 {
///                 f.insert(&(t * 5_000 + i));
///             }
///         });
///     }
/// });
/// assert!((0..20_000u64).all(|i| f.contains(&i)));
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AtomicBloomFilter<S = Xxh3Builder> {
    blocks: Box<[AtomicBlock]>,
    hashes: u32,
    hasher: S,
}

impl<S> fmt::Debug for AtomicBloomFilter<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicBloomFilter")
            .field("blocks", &self.blocks.len())
            .field("hashes", &self.hashes)
            .finish_non_exhaustive()
    }
}

impl AtomicBloomFilter {
    /// The largest filter this crate builds: 2^48 bits (32 TiB); larger sizes are a
    /// [`ConfigError`](crate::ConfigError).
    pub const MAX_BITS: u64 = crate::sizing::MAX_BITS;

    /// A filter for `expected_items` at false-positive rate `fpr`, sized as
    /// [`BlockedBloomFilter::with_false_positive_rate`], default hasher. 0 expected items
    /// sizes it as for 1.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if `fpr` is outside (0, 1) or NaN, or the filter would be too large.
    pub fn with_false_positive_rate(expected_items: usize, fpr: f64) -> Result<Self, ConfigError> {
        Self::with_false_positive_rate_and_hasher(expected_items, fpr, Xxh3Builder::default())
    }

    /// A filter of `bits` bits rounded up to whole 512-bit blocks, `hashes` probes (1 to 16).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if `bits` is 0 or too large, or `hashes` is out of range.
    pub fn with_num_bits(bits: u64, hashes: u32) -> Result<Self, ConfigError> {
        Self::with_num_bits_and_hasher(bits, hashes, Xxh3Builder::default())
    }

    /// The seed of the default hasher.
    pub fn seed(&self) -> u64 {
        self.hasher.seed()
    }

    /// A snapshot in the [format](crate#serialized-format) of [`BlockedBloomFilter`]
    /// (variant 2). Inserts racing with it may or may not be included.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(
            self.seed(),
            self.hashes,
            self.blocks.iter().map(AtomicBlock::load),
        )
    }

    /// Reads a blocked filter written by [`to_bytes`](Self::to_bytes) or
    /// [`BlockedBloomFilter::to_bytes`].
    ///
    /// # Errors
    ///
    /// [`DecodeError`] for anything but a well-formed blocked filter; never panics, and
    /// allocates no more than the input's length justifies.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (seed, hashes, blocks) = decode(bytes)?;
        Ok(AtomicBloomFilter {
            blocks: blocks.map(AtomicBlock::new).collect(),
            hashes,
            hasher: Xxh3Builder::with_seed(seed),
        })
    }
}

impl<S: BuildHasher> AtomicBloomFilter<S> {
    /// [`with_false_positive_rate`](AtomicBloomFilter::with_false_positive_rate) with a hasher
    /// of your own.
    ///
    /// # Errors
    ///
    /// As [`with_false_positive_rate`](AtomicBloomFilter::with_false_positive_rate).
    pub fn with_false_positive_rate_and_hasher(
        expected_items: usize,
        fpr: f64,
        hasher: S,
    ) -> Result<Self, ConfigError> {
        let (blocks, hashes) = sizing::blocked(expected_items, fpr)?;
        Self::with_num_bits_and_hasher(blocks * BLOCK_BITS, hashes, hasher)
    }

    /// [`with_num_bits`](AtomicBloomFilter::with_num_bits) with a hasher of your own.
    ///
    /// # Errors
    ///
    /// As [`with_num_bits`](AtomicBloomFilter::with_num_bits).
    pub fn with_num_bits_and_hasher(
        bits: u64,
        hashes: u32,
        hasher: S,
    ) -> Result<Self, ConfigError> {
        let blocks = blocks_for_bits(bits)?;
        sizing::check_hashes(hashes, MAX_BLOCKED_HASHES)?;
        let blocks = usize::try_from(blocks).map_err(|_| ConfigError::TooLarge { bits })?;
        Ok(AtomicBloomFilter {
            blocks: {
                let mut v = Vec::new();
                v.try_reserve_exact(blocks)
                    .map_err(|_| ConfigError::TooLarge { bits })?;
                v.extend((0..blocks).map(|_| AtomicBlock::new([0; 8])));
                v.into_boxed_slice()
            },
            hashes,
            hasher,
        })
    }

    fn from_blocks(blocks: &[Block], hashes: u32, hasher: S) -> Self {
        AtomicBloomFilter {
            blocks: blocks.iter().map(|b| AtomicBlock::new(b.0)).collect(),
            hashes,
            hasher,
        }
    }

    /// The hasher.
    pub fn hasher(&self) -> &S {
        &self.hasher
    }

    /// Adds `item` (from any thread); `true` if this call set some bit.
    #[inline]
    pub fn insert<T: Hash + ?Sized>(&self, item: &T) -> bool {
        self.insert_hash(hash_item(&self.hasher, item))
    }

    /// `false` if `item` was certainly never inserted before this call (see the guarantees).
    #[inline]
    pub fn contains<T: Hash + ?Sized>(&self, item: &T) -> bool {
        self.contains_hash(hash_item(&self.hasher, item))
    }

    /// Adds an item by its 64-bit hash: a `fetch_or` (`Release`) on each word with probes.
    #[inline]
    pub fn insert_hash(&self, hash: u64) -> bool {
        let masks = block_masks(hash, self.hashes);
        let Some(block) = self.blocks.get(block_index(hash, self.blocks.len() as u64)) else {
            return false;
        };
        let mut fresh = 0;
        for (w, m) in block.0.iter().zip(masks) {
            if m != 0 {
                fresh |= m & !w.fetch_or(m, Ordering::Release);
            }
        }
        fresh != 0
    }

    /// Looks an item up by its 64-bit hash (`Acquire` loads).
    #[inline]
    pub fn contains_hash(&self, hash: u64) -> bool {
        let Some(block) = self.blocks.get(block_index(hash, self.blocks.len() as u64)) else {
            return false;
        };
        block_holds(hash, self.hashes, |w| {
            block.0.get(w).map_or(0, |a| a.load(Ordering::Acquire))
        })
    }

    /// An estimate of the number of distinct items inserted, from the fill. O(m).
    pub fn len_estimate(&self) -> u64 {
        fill_len(self.blocks.iter().map(AtomicBlock::load), self.hashes)
    }

    /// The false-positive rate now, from the fill. O(m).
    pub fn false_positive_rate(&self) -> f64 {
        fill_rate(self.blocks.iter().map(AtomicBlock::load), self.hashes)
    }

    /// Removes every item.
    pub fn clear(&mut self) {
        for b in self.blocks.iter() {
            for w in &b.0 {
                w.store(0, Ordering::Relaxed);
            }
        }
    }

    /// The size in bits (512 per block).
    pub fn bits(&self) -> u64 {
        self.blocks.len() as u64 * BLOCK_BITS
    }

    /// The number of bits each item sets.
    pub fn hashes(&self) -> u32 {
        self.hashes
    }

    /// A [`BlockedBloomFilter`] with the same bits (a snapshot).
    pub fn to_blocked(&self) -> BlockedBloomFilter<S>
    where
        S: Clone,
    {
        let blocks = self.blocks.iter().map(|b| Block(b.load())).collect();
        BlockedBloomFilter::from_parts(blocks, self.hashes, self.hasher.clone())
    }
}

impl<S: BuildHasher + PartialEq> AtomicBloomFilter<S> {
    /// Makes this filter contain everything either filter contains (bitwise OR).
    ///
    /// # Errors
    ///
    /// [`MergeError`] if the filters differ in size, hash count or hasher.
    pub fn union(&mut self, other: &Self) -> Result<(), MergeError> {
        self.merge(other, |a, b| a | b)
    }

    /// Keeps only the bits set in both filters (bitwise AND).
    ///
    /// # Errors
    ///
    /// [`MergeError`] if the filters differ in size, hash count or hasher.
    pub fn intersect(&mut self, other: &Self) -> Result<(), MergeError> {
        self.merge(other, |a, b| a & b)
    }

    fn merge(&mut self, other: &Self, op: impl Fn(u64, u64) -> u64) -> Result<(), MergeError> {
        compatible(
            (self.bits(), self.hashes),
            (other.bits(), other.hashes),
            self.hasher == other.hasher,
        )?;
        for (a, b) in self.blocks.iter().zip(other.blocks.iter()) {
            for (x, y) in a.0.iter().zip(b.load()) {
                x.store(op(x.load(Ordering::Relaxed), y), Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

impl<S: BuildHasher> From<BlockedBloomFilter<S>> for AtomicBloomFilter<S> {
    fn from(f: BlockedBloomFilter<S>) -> Self {
        let (blocks, hashes, hasher) = f.into_parts();
        AtomicBloomFilter::from_blocks(&blocks, hashes, hasher)
    }
}

impl<S: BuildHasher> From<AtomicBloomFilter<S>> for BlockedBloomFilter<S> {
    fn from(f: AtomicBloomFilter<S>) -> Self {
        let blocks = f.blocks.iter().map(|b| Block(b.load())).collect();
        BlockedBloomFilter::from_parts(blocks, f.hashes, f.hasher)
    }
}

impl<S: Clone> Clone for AtomicBloomFilter<S> {
    fn clone(&self) -> Self {
        AtomicBloomFilter {
            blocks: self
                .blocks
                .iter()
                .map(|b| AtomicBlock::new(b.load()))
                .collect(),
            hashes: self.hashes,
            hasher: self.hasher.clone(),
        }
    }
}

forward_filter!([S] AtomicBloomFilter<S>, where S: BuildHasher + Default + PartialEq);
