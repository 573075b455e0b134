//! The stable, seeded, platform-independent hasher shared by the sinew crates.
//!
//! Ring placement, Bloom filter bits and anything else that must come out the same in every
//! process and on every machine are computed with this crate, so there is one definition of
//! "the hash of an item" across sinew:
//!
//! - [`Xxh3Builder`] / [`Xxh3Hasher`]: XXH3-64 (from the `twox-hash` crate, bit-exact with the
//!   reference `XXH3_64bits_withSeed`) under a seed, over the bytes a type's
//!   [`Hash`] implementation writes. Every integer is written
//!   **little-endian** and `usize`/`isize` are widened to 64 bits (std's default `Hasher`
//!   methods use native endianness and width, which would make hashes depend on the machine).
//! - [`stable_hash`]`(seed, &value)`: the same, in one call.
//! - [`hash_bytes`]`(seed, bytes)`: XXH3-64 of exactly `bytes`, with no `Hash` impl in between.
//! - [`mix64`]: the one 64-bit mixer (SplitMix64's finalizer), a bijection with full
//!   avalanche; [`splitmix64`]: one SplitMix64 step built on it, a reproducible source of
//!   well-mixed values for sampling, jitter and test keys.
//!
//! # Examples
//!
//! ```
//! use std::hash::BuildHasher;
//! use sinew_hash::{Xxh3Builder, hash_bytes, stable_hash};
//!
//! let builder = Xxh3Builder::with_seed(42);
//! // The same item hashes the same through the builder, the one-call form and the raw bytes.
//! assert_eq!(builder.hash_one(7u64), stable_hash(42, &7u64));
//! assert_eq!(stable_hash(42, &7u64), hash_bytes(42, &7u64.to_le_bytes()));
//! // Another seed, another function.
//! assert_ne!(stable_hash(42, &7u64), stable_hash(43, &7u64));
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Guarantees
//!
//! - **Stable**: every function here is a fixed, documented function of its input bytes; the
//!   values are pinned by tests (`hashes_are_frozen`), and the crates built on them pin theirs
//!   (sinew-ring's placements, sinew-bloom's golden files).
//! - **Fast for short keys**: up to 128 bytes are buffered inline and hashed with XXH3's
//!   one-shot function, with no allocation; every method is `#[inline]`, so a key of a known
//!   size (a `u64`) compiles down to XXH3's path for that size in the caller's crate. Longer
//!   input streams through XXH3's incremental state (allocated per hasher).
//! - **Not for hash tables facing untrusted keys**: a seed that is public (as placement seeds
//!   are) gives no protection against HashDoS; use std's `RandomState` there.
//!
//! # The `std::hash::Hash` caveat
//!
//! The bytes come from the type's `Hash` impl: `u64` hashes as its 8 bytes, `str` as its UTF-8
//! bytes followed by `0xff`, tuples and derived structs as their fields in order. std does not
//! promise that output stays the same across Rust versions (in practice it has for integers,
//! strings, slices and derived types). Where that matters, hash an explicit encoding with
//! [`hash_bytes`].
//!
//! # Crate features
//!
//! None: the crate depends on `twox-hash` alone.

#![forbid(unsafe_code)]

use std::hash::{BuildHasher, Hash, Hasher};

use twox_hash::XxHash3_64;

/// Bytes buffered inline before [`Xxh3Hasher`] switches to XXH3's streaming state.
const INLINE: usize = 128;

/// A [`BuildHasher`] for [`Xxh3Hasher`]: XXH3-64 under a seed, integers little-endian.
///
/// ```
/// use std::hash::BuildHasher;
/// use sinew_hash::Xxh3Builder;
///
/// let a = Xxh3Builder::with_seed(7);
/// assert_eq!(a.hash_one(42u64), Xxh3Builder::with_seed(7).hash_one(42u64));
/// assert_ne!(a.hash_one(42u64), Xxh3Builder::with_seed(8).hash_one(42u64));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Xxh3Builder {
    seed: u64,
}

impl Xxh3Builder {
    /// A builder for the given seed. [`Default`] is seed 0.
    #[inline]
    pub const fn with_seed(seed: u64) -> Self {
        Xxh3Builder { seed }
    }

    /// The seed.
    #[inline]
    pub const fn seed(&self) -> u64 {
        self.seed
    }
}

impl BuildHasher for Xxh3Builder {
    type Hasher = Xxh3Hasher;

    #[inline(always)]
    fn build_hasher(&self) -> Xxh3Hasher {
        Xxh3Hasher::with_seed(self.seed)
    }
}

/// A [`Hasher`] whose output is the same on every platform: XXH3-64 under a seed over the bytes
/// written, integers little-endian and `usize`/`isize` widened to 64 bits.
///
/// Both of its paths (inline up to 128 bytes, streaming beyond) give exactly
/// `XXH3_64bits_withSeed(bytes, seed)`.
///
/// ```
/// use std::hash::{Hash, Hasher};
/// use sinew_hash::{Xxh3Hasher, hash_bytes};
///
/// let mut h = Xxh3Hasher::with_seed(1);
/// 0x0102_0304u32.hash(&mut h);
/// assert_eq!(h.finish(), hash_bytes(1, &[4, 3, 2, 1]));
/// ```
#[derive(Clone)]
pub struct Xxh3Hasher {
    seed: u64,
    len: usize,
    buf: [u8; INLINE],
    stream: Option<Box<XxHash3_64>>,
}

impl std::fmt::Debug for Xxh3Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Xxh3Hasher")
            .field("seed", &self.seed)
            .field("buffered", &self.len)
            .field("streaming", &self.stream.is_some())
            .finish()
    }
}

impl Xxh3Hasher {
    /// A hasher computing XXH3-64 under `seed`.
    #[inline(always)]
    pub const fn with_seed(seed: u64) -> Self {
        Xxh3Hasher {
            seed,
            len: 0,
            buf: [0; INLINE],
            stream: None,
        }
    }

    /// The slow path: more than [`INLINE`] bytes in all, hashed by the streaming hasher.
    #[cold]
    #[inline(never)]
    fn spill(&mut self, bytes: &[u8]) {
        let seed = self.seed;
        let buffered = self.buf.get(..self.len).unwrap_or_default();
        let stream = self.stream.get_or_insert_with(|| {
            let mut s = Box::new(XxHash3_64::with_seed(seed));
            s.write(buffered);
            s
        });
        stream.write(bytes);
    }
}

/// The integer `write_*` methods of a [`Hasher`], each writing its value's little-endian bytes
/// through `write` (`usize`/`isize` widened to 64 bits).
macro_rules! le_integer_writes {
    () => {
        le_integer_writes!(@ write_u8 u8, write_u16 u16, write_u32 u32, write_u64 u64,
            write_u128 u128, write_i8 i8, write_i16 i16, write_i32 i32, write_i64 i64,
            write_i128 i128);
        #[inline(always)]
        fn write_usize(&mut self, i: usize) {
            self.write(&(i as u64).to_le_bytes());
        }
        #[inline(always)]
        fn write_isize(&mut self, i: isize) {
            self.write(&(i as i64).to_le_bytes());
        }
    };
    (@ $($name:ident $ty:ty),*) => {
        $(
            #[inline(always)]
            fn $name(&mut self, i: $ty) {
                self.write(&i.to_le_bytes());
            }
        )*
    };
}

/// Any [`Hasher`] made platform-independent: integers are written to it as little-endian
/// bytes, `usize`/`isize` as 64 bits; `write` and `finish` pass through. [`Xxh3Hasher`] does
/// this itself; use the adapter to give another algorithm the same property (sinew-bloom
/// wraps Parquet's xxHash64 in it).
///
/// ```
/// use std::hash::{Hash, Hasher};
/// use sinew_hash::{LittleEndian, Xxh3Hasher};
///
/// let mut wrapped = LittleEndian(Xxh3Hasher::with_seed(3));
/// let mut plain = Xxh3Hasher::with_seed(3);
/// 7usize.hash(&mut wrapped);
/// 7u64.hash(&mut plain);
/// assert_eq!(wrapped.finish(), plain.finish());
/// ```
#[derive(Debug, Clone, Default)]
pub struct LittleEndian<H>(pub H);

impl<H: Hasher> Hasher for LittleEndian<H> {
    #[inline(always)]
    fn write(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
    }

    #[inline(always)]
    fn finish(&self) -> u64 {
        self.0.finish()
    }

    le_integer_writes!();
}

impl Hasher for Xxh3Hasher {
    #[inline(always)]
    fn write(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        match self.buf.get_mut(self.len..end) {
            Some(dst) if self.stream.is_none() => {
                dst.copy_from_slice(bytes);
                self.len = end;
            }
            _ => self.spill(bytes),
        }
    }

    #[inline(always)]
    fn finish(&self) -> u64 {
        match &self.stream {
            Some(stream) => stream.finish(),
            None => hash_bytes(self.seed, self.buf.get(..self.len).unwrap_or_default()),
        }
    }

    le_integer_writes!();
}

/// The hash of `value` under `seed`: `Xxh3Builder::with_seed(seed).hash_one(value)`.
#[inline(always)]
pub fn stable_hash<T: Hash + ?Sized>(seed: u64, value: &T) -> u64 {
    let mut h = Xxh3Hasher::with_seed(seed);
    value.hash(&mut h);
    h.finish()
}

/// XXH3-64 of exactly `bytes` under `seed` (`XXH3_64bits_withSeed`), with no `Hash` impl in
/// between. Not equal to `stable_hash(seed, bytes)`, which hashes the slice's `Hash` output
/// (its length first).
#[inline(always)]
pub fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    XxHash3_64::oneshot_with_seed(seed, bytes)
}

/// The one 64-bit mixer of the sinew crates: SplitMix64's finalizer (Stafford's "mix13").
/// A bijection (distinct inputs stay distinct) in which every input bit flips each output bit
/// with probability close to 1/2. `mix64(0) == 0`; [`splitmix64`] adds an odd constant first.
#[inline]
pub const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 2⁶⁴ divided by the golden ratio, made odd: SplitMix64's increment.
pub const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// One step of SplitMix64 from state `x`: `mix64(x + GOLDEN_GAMMA)`. A bijection of `x`, so
/// `splitmix64(0..n)` and `splitmix64(n..2n)` are disjoint sets of well-mixed keys, reproducible
/// everywhere with no state to carry (the key streams of sinew's tests and benchmarks, sampled
/// hashes, jitter). The sequence a SplitMix64 generator seeded with `s` yields is
/// `splitmix64(s + i · GOLDEN_GAMMA)` for `i = 0, 1, ...`.
///
/// ```
/// use sinew_hash::splitmix64;
///
/// let keys: Vec<u64> = (0..1000).map(splitmix64).collect();
/// let absent: Vec<u64> = (1000..2000).map(splitmix64).collect();
/// assert!(keys.iter().all(|k| !absent.contains(k)));
/// ```
#[inline]
pub const fn splitmix64(x: u64) -> u64 {
    mix64(x.wrapping_add(GOLDEN_GAMMA))
}

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
    use super::*;

    #[test]
    fn inline_and_streaming_agree_with_oneshot() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in [
            0, 1, 7, 8, 15, 16, 17, 63, 64, 65, 127, 128, 129, 240, 241, 999,
        ] {
            for piece in [1, 13, 50, 1000] {
                let mut h = Xxh3Hasher::with_seed(99);
                // Written in pieces, to cross the inline buffer's edge mid-write.
                for chunk in data[..len].chunks(piece) {
                    h.write(chunk);
                }
                assert_eq!(h.finish(), hash_bytes(99, &data[..len]), "len {len}");
            }
        }
    }

    #[test]
    fn integers_hash_as_little_endian_bytes() {
        let b = Xxh3Builder::with_seed(1);
        assert_eq!(
            b.hash_one(0x0102_0304_0506_0708u64),
            hash_bytes(1, &[8, 7, 6, 5, 4, 3, 2, 1])
        );
        assert_eq!(b.hash_one(5usize), b.hash_one(5u64));
        assert_eq!(b.hash_one(-5isize), b.hash_one(-5i64));
        assert_eq!(b.hash_one(-1i8), hash_bytes(1, &[0xff]));
        assert_eq!(
            b.hash_one(0x0102u16),
            stable_hash(1, &0x0102u16),
            "builder and stable_hash agree"
        );
    }

    /// Frozen values: these literals were computed once (by the reference-equal XXH3 of
    /// `twox-hash` 2, as sinew-bloom and sinew-ring computed them before this crate existed) and
    /// must never change: serialized filters and deployed rings depend on them.
    #[test]
    fn hashes_are_frozen() {
        let zero = Xxh3Builder::default();
        let seeded = Xxh3Builder::with_seed(0x5eed);
        assert_eq!(zero.hash_one(42u64), 0xd5a6_f8c8_38df_27c8);
        assert_eq!(seeded.hash_one(42u64), 0x46e1_d22f_2fb2_2cae);
        assert_eq!(zero.hash_one("hello"), 0x3e7c_905d_6f73_6c83); // b"hello" then 0xff
        assert_eq!(seeded.hash_one(&[0u8; 0][..]), 0x38aa_1951_b2b2_498e);
        assert_eq!(zero.hash_one(b"0123456789abcdefXYZ"), 0xa2e4_cbd1_9c08_e5a8);
        // Past the inline buffer: the streaming path.
        assert_eq!(seeded.hash_one(vec![7u8; 300]), 0xbf1f_c9fb_7eea_8732);
        assert_eq!(hash_bytes(0, b"SNWB"), 0x3c5b_a15a_cfcc_b21b);
        // sinew-ring's key seed on key 0u64.
        assert_eq!(
            stable_hash(0x7369_6e65_772d_6b65, &0u64),
            0x82ec_dde2_8323_df87
        );
    }

    #[test]
    fn mix64_is_splitmix64s_finalizer() {
        assert_eq!(mix64(0), 0);
        // SplitMix64 seeded with 0: its first outputs, as published with the algorithm.
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(splitmix64(GOLDEN_GAMMA), 0x6e78_9e6a_a1b9_65f4);
        // A bijection on a sample: no two of 100,000 consecutive inputs collide.
        let mut seen: Vec<u64> = (0..100_000u64).map(mix64).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 100_000);
    }
}
