//! [`SplitBlockBloomFilter`]: Apache Parquet's split-block Bloom filter, bit for bit.

use std::fmt;
use std::hash::{Hash, Hasher};

use sinew_hash::LittleEndian;
use twox_hash::XxHash64;

use crate::error::{ConfigError, DecodeError, MergeError};
use crate::filter::{Filter, compatible};
use crate::format::{Reader, Writer, variant};
use crate::sizing;

/// Parquet's eight salts (`SALT` in the Parquet format's BloomFilter.md).
const SALT: [u32; 8] = [
    0x47b6_137b,
    0x4497_4d91,
    0x8824_ad5b,
    0xa2b7_289d,
    0x7054_95c7,
    0x2df1_424b,
    0x9efc_4947,
    0x5c6b_fb31,
];

/// Bytes in a block.
const BLOCK_BYTES: u64 = 32;

/// The most blocks: Parquet's block index math takes a 32-bit block count.
const MAX_BLOCKS: u64 = u32::MAX as u64;

type Block = [u32; 8];

#[inline(always)]
#[allow(clippy::cast_possible_truncation)] // the low half of the hash, as Parquet does
fn masks(hash: u64) -> Block {
    let key = hash as u32;
    SALT.map(|s| 1u32 << (key.wrapping_mul(s) >> 27))
}

/// A split-block Bloom filter exactly as Apache Parquet specifies it, so its bitset can be
/// written into, or read from, a Parquet file's Bloom filter section.
///
/// The filter is an array of 256-bit blocks of eight 32-bit words. A value's xxHash64 (seed
/// 0) picks the block with its high 32 bits (`((hash >> 32) · blocks) >> 32`) and, with its
/// low 32 bits `x`, sets bit `(x · SALT[i]) >> 27` of word `i` for each of Parquet's eight
/// salts. [`bitset`](Self::bitset) and [`from_bitset`](Self::from_bitset) convert to and from
/// Parquet's bytes (little-endian words).
///
/// Parquet hashes a value's plain encoding: for byte arrays and strings, the bytes
/// themselves; use [`insert_bytes`](Self::insert_bytes)/[`contains_bytes`](Self::contains_bytes)
/// for those, or [`insert_hash`](Self::insert_hash) with a hash you computed. The generic
/// [`insert`](Self::insert) hashes what the item's `Hash` writes (a `str` writes a trailing
/// `0xff`), which is portable but not what a Parquet reader looks up.
///
/// ```
/// use sinew_bloom::SplitBlockBloomFilter;
///
/// let mut f = SplitBlockBloomFilter::with_false_positive_rate(100, 0.01)?;
/// f.insert_bytes(b"parquet");
/// let bytes = f.bitset(); // what a Parquet writer stores after the filter header
/// let g = SplitBlockBloomFilter::from_bitset(&bytes)?;
/// assert!(g.contains_bytes(b"parquet"));
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Serialized form
///
/// Variant 3 of the [format](crate#serialized-format), seed 0: `blocks` (u64), then the
/// Parquet bitset (`32 · blocks` bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct SplitBlockBloomFilter {
    blocks: Vec<Block>,
}

impl fmt::Debug for SplitBlockBloomFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SplitBlockBloomFilter")
            .field("blocks", &self.blocks.len())
            .finish()
    }
}

impl SplitBlockBloomFilter {
    /// The largest filter this crate builds: 2^48 bits (32 TiB); larger sizes are a
    /// [`ConfigError`](crate::ConfigError).
    pub const MAX_BITS: u64 = crate::sizing::MAX_BITS;

    /// A filter for `expected_items` at false-positive rate `fpr`, sized as Parquet writers
    /// size it: `-8n / ln(1 - fpr^(1/8))` bits, rounded up to a power of two between 32 bytes
    /// and 128 MiB. 0 expected items gives the smallest filter (one block).
    ///
    /// # Errors
    ///
    /// [`ConfigError::FalsePositiveRate`] if `fpr` is not strictly between 0 and 1.
    pub fn with_false_positive_rate(expected_items: usize, fpr: f64) -> Result<Self, ConfigError> {
        let bytes = sizing::split_block_bytes(expected_items, fpr)?;
        Self::with_num_bits(bytes * 8, 8)
    }

    /// A filter of `bits` bits rounded up to whole 256-bit blocks; `hashes` must be 8 (the
    /// split-block filter always sets one bit in each of a block's eight words).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if `bits` is 0 or over 2^32 blocks, or `hashes` is not 8.
    pub fn with_num_bits(bits: u64, hashes: u32) -> Result<Self, ConfigError> {
        if hashes != 8 {
            return Err(ConfigError::Hashes {
                hashes,
                min: 8,
                max: 8,
            });
        }
        if bits == 0 {
            return Err(ConfigError::ZeroBits);
        }
        let blocks = bits.div_ceil(BLOCK_BYTES * 8);
        if blocks > MAX_BLOCKS {
            return Err(ConfigError::TooLarge { bits });
        }
        let blocks = usize::try_from(blocks).map_err(|_| ConfigError::TooLarge { bits })?;
        Ok(SplitBlockBloomFilter {
            blocks: sizing::zeroed(blocks, bits)?,
        })
    }

    /// Reads a Parquet bitset: the bytes that follow a Parquet `BloomFilterHeader` (whose
    /// `numBytes` gives their length).
    ///
    /// # Errors
    ///
    /// [`DecodeError::Invalid`] if the length is 0, not a multiple of 32, or over 2^32 blocks.
    pub fn from_bitset(bitset: &[u8]) -> Result<Self, DecodeError> {
        if bitset.is_empty() || !bitset.len().is_multiple_of(32) {
            return Err(DecodeError::Invalid(
                "a split-block bitset is a non-zero multiple of 32 bytes",
            ));
        }
        if bitset.len() as u64 / BLOCK_BYTES > MAX_BLOCKS {
            return Err(DecodeError::Invalid("more than 2^32 blocks"));
        }
        let blocks = bitset
            .chunks_exact(32)
            .map(|c| {
                let mut b = [0u32; 8];
                for (w, bytes) in b.iter_mut().zip(c.chunks_exact(4)) {
                    let mut a = [0u8; 4];
                    a.copy_from_slice(bytes);
                    *w = u32::from_le_bytes(a);
                }
                b
            })
            .collect();
        Ok(SplitBlockBloomFilter { blocks })
    }

    /// The Parquet bitset: blocks of eight little-endian 32-bit words.
    pub fn bitset(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.blocks.len() * 32);
        for b in &self.blocks {
            for w in b {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        out
    }

    /// The filter in the crate's portable, versioned [format](crate#serialized-format).
    pub fn to_bytes(&self) -> Vec<u8> {
        let bitset = self.bitset();
        let mut w = Writer::new(variant::SPLIT_BLOCK, 0, 8 + bitset.len());
        w.u64(self.blocks.len() as u64);
        w.bytes(&bitset);
        w.finish()
    }

    /// Reads a filter written by [`to_bytes`](Self::to_bytes).
    ///
    /// # Errors
    ///
    /// [`DecodeError`] for anything but a well-formed split-block filter; never panics, and
    /// allocates no more than the input's length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, variant::SPLIT_BLOCK)?;
        if r.seed() != 0 {
            return Err(DecodeError::Invalid("split-block filters have seed 0"));
        }
        let count = r.u64()?;
        if count == 0 || count > MAX_BLOCKS {
            return Err(DecodeError::Invalid("block count"));
        }
        let bitset = r.take(count, BLOCK_BYTES)?;
        r.finish()?;
        Self::from_bitset(bitset)
    }

    /// The xxHash64 (seed 0) Parquet uses for a value's bytes.
    pub fn hash_bytes(bytes: &[u8]) -> u64 {
        XxHash64::oneshot(0, bytes)
    }

    /// Adds a byte string (a Parquet `BYTE_ARRAY` value, a UTF-8 string's bytes, or any
    /// value's plain encoding) by its xxHash64.
    #[inline]
    pub fn insert_bytes(&mut self, bytes: &[u8]) -> bool {
        self.insert_hash(Self::hash_bytes(bytes))
    }

    /// Looks up a byte string as a Parquet reader would.
    #[inline]
    pub fn contains_bytes(&self, bytes: &[u8]) -> bool {
        self.contains_hash(Self::hash_bytes(bytes))
    }

    /// Adds `item`, hashed with xxHash64 (seed 0) over what its `Hash` writes (integers
    /// little-endian); `true` if it was possibly absent before.
    #[inline]
    pub fn insert<T: Hash + ?Sized>(&mut self, item: &T) -> bool {
        self.insert_hash(hash_item(item))
    }

    /// Looks up `item` as hashed by [`insert`](Self::insert).
    #[inline]
    pub fn contains<T: Hash + ?Sized>(&self, item: &T) -> bool {
        self.contains_hash(hash_item(item))
    }

    #[inline(always)]
    #[allow(clippy::cast_possible_truncation)] // < blocks <= u32::MAX
    fn block_index(&self, hash: u64) -> usize {
        (((hash >> 32) * self.blocks.len() as u64) >> 32) as usize
    }

    /// Adds a value by its xxHash64 (Parquet's `block_insert`).
    #[inline]
    pub fn insert_hash(&mut self, hash: u64) -> bool {
        let m = masks(hash);
        let index = self.block_index(hash);
        let Some(block) = self.blocks.get_mut(index) else {
            return false;
        };
        let mut fresh = 0;
        for (w, m) in block.iter_mut().zip(m) {
            fresh |= m & !*w;
            *w |= m;
        }
        fresh != 0
    }

    /// Looks a value up by its xxHash64 (Parquet's `block_check`).
    #[inline]
    pub fn contains_hash(&self, hash: u64) -> bool {
        let m = masks(hash);
        let Some(block) = self.blocks.get(self.block_index(hash)) else {
            return false;
        };
        let mut missing = 0;
        for (w, m) in block.iter().zip(m) {
            missing |= m & !*w;
        }
        missing == 0
    }

    /// An estimate of the number of distinct values inserted, from each block's fill. O(m).
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub fn len_estimate(&self) -> u64 {
        let total: f64 = self
            .blocks
            .iter()
            .map(|b| {
                b.iter()
                    .map(|w| {
                        let ones = f64::from(w.count_ones()).min(31.5);
                        -32.0 * (-ones / 32.0).ln_1p()
                    })
                    .sum::<f64>()
                    / 8.0
            })
            .sum();
        total.round() as u64
    }

    /// The false-positive rate now: the mean over blocks of `Π_w ones(w)/32`. O(m).
    #[allow(clippy::cast_precision_loss)]
    pub fn false_positive_rate(&self) -> f64 {
        let total: f64 = self
            .blocks
            .iter()
            .map(|b| {
                b.iter()
                    .map(|w| f64::from(w.count_ones()) / 32.0)
                    .product::<f64>()
            })
            .sum();
        total / self.blocks.len().max(1) as f64
    }

    /// Removes every value.
    pub fn clear(&mut self) {
        self.blocks.fill([0; 8]);
    }

    /// Makes this filter contain everything either contains (bitwise OR).
    ///
    /// # Errors
    ///
    /// [`MergeError::Bits`] if the filters differ in size.
    pub fn union(&mut self, other: &Self) -> Result<(), MergeError> {
        self.merge(other, |a, b| a | b)
    }

    /// Keeps only the bits set in both (bitwise AND).
    ///
    /// # Errors
    ///
    /// [`MergeError::Bits`] if the filters differ in size.
    pub fn intersect(&mut self, other: &Self) -> Result<(), MergeError> {
        self.merge(other, |a, b| a & b)
    }

    fn merge(&mut self, other: &Self, op: impl Fn(u32, u32) -> u32) -> Result<(), MergeError> {
        compatible((self.bits(), 8), (other.bits(), 8), true)?;
        for (a, b) in self.blocks.iter_mut().zip(&other.blocks) {
            for (x, y) in a.iter_mut().zip(b) {
                *x = op(*x, *y);
            }
        }
        Ok(())
    }

    /// The size in bits (256 per block).
    pub fn bits(&self) -> u64 {
        self.blocks.len() as u64 * BLOCK_BYTES * 8
    }

    /// Always 8: one bit in each word of the block.
    pub fn hashes(&self) -> u32 {
        8
    }
}

fn hash_item<T: Hash + ?Sized>(item: &T) -> u64 {
    // xxHash64 with seed 0 over what the item's `Hash` writes, integers little-endian.
    let mut h = LittleEndian(XxHash64::default());
    item.hash(&mut h);
    h.finish()
}

impl Filter for SplitBlockBloomFilter {
    fn with_false_positive_rate(expected_items: usize, fpr: f64) -> Result<Self, ConfigError> {
        Self::with_false_positive_rate(expected_items, fpr)
    }
    fn with_num_bits(bits: u64, hashes: u32) -> Result<Self, ConfigError> {
        Self::with_num_bits(bits, hashes)
    }
    fn insert<T: Hash + ?Sized>(&mut self, item: &T) -> bool {
        Self::insert(self, item)
    }
    fn contains<T: Hash + ?Sized>(&self, item: &T) -> bool {
        Self::contains(self, item)
    }
    fn insert_hash(&mut self, hash: u64) -> bool {
        Self::insert_hash(self, hash)
    }
    fn contains_hash(&self, hash: u64) -> bool {
        Self::contains_hash(self, hash)
    }
    fn len_estimate(&self) -> u64 {
        Self::len_estimate(self)
    }
    fn false_positive_rate(&self) -> f64 {
        Self::false_positive_rate(self)
    }
    fn clear(&mut self) {
        Self::clear(self);
    }
    fn union(&mut self, other: &Self) -> Result<(), MergeError> {
        Self::union(self, other)
    }
    fn intersect(&mut self, other: &Self) -> Result<(), MergeError> {
        Self::intersect(self, other)
    }
    fn bits(&self) -> u64 {
        Self::bits(self)
    }
    fn hashes(&self) -> u32 {
        Self::hashes(self)
    }
}
