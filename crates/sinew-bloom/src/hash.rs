//! The default hasher ([`Xxh3Builder`]) and the 64-bit mixing shared by every filter.

use std::hash::{BuildHasher, Hasher};

use twox_hash::XxHash3_64;

/// The integer `write_*` methods of a [`Hasher`], each writing its value's little-endian bytes
/// through `write` (`usize`/`isize` widened to 64 bits), so hashes agree across platforms.
macro_rules! le_integer_writes {
    () => {
        le_integer_writes!(@ write_u8 u8, write_u16 u16, write_u32 u32, write_u64 u64,
            write_u128 u128, write_i8 i8, write_i16 i16, write_i32 i32, write_i64 i64,
            write_i128 i128);
        #[inline]
        fn write_usize(&mut self, i: usize) {
            self.write(&(i as u64).to_le_bytes());
        }
        #[inline]
        fn write_isize(&mut self, i: isize) {
            self.write(&(i as i64).to_le_bytes());
        }
    };
    (@ $($name:ident $ty:ty),*) => {
        $(
            #[inline]
            fn $name(&mut self, i: $ty) {
                self.write(&i.to_le_bytes());
            }
        )*
    };
}
pub(crate) use le_integer_writes;

/// The default [`BuildHasher`] of every seeded filter: XXH3-64 (from `twox-hash`) with a seed.
///
/// The hash of an item is the XXH3-64, under the seed, of the bytes its [`Hash`](std::hash::Hash)
/// implementation writes, with every integer written **little-endian** and `usize`/`isize`
/// widened to 64 bits, so the same item hashes the same on every platform (32- or 64-bit,
/// little- or big-endian) and in every process. That is what makes a filter's bits portable:
/// a filter serialized on one machine answers the same on another.
///
/// Items whose `Hash` writes at most 128 bytes are hashed with XXH3's one-shot function and
/// no allocation; longer ones go through the streaming hasher (one allocation).
///
/// ```
/// use std::hash::BuildHasher;
/// use sinew_bloom::Xxh3Builder;
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
    pub const fn with_seed(seed: u64) -> Self {
        Xxh3Builder { seed }
    }

    /// The seed.
    pub const fn seed(&self) -> u64 {
        self.seed
    }
}

impl BuildHasher for Xxh3Builder {
    type Hasher = Xxh3Hasher;

    #[inline(always)]
    fn build_hasher(&self) -> Xxh3Hasher {
        Xxh3Hasher {
            seed: self.seed,
            len: 0,
            buf: [0; INLINE],
            stream: None,
        }
    }
}

/// Bytes hashed without allocating; longer inputs go to the streaming hasher.
const INLINE: usize = 128;

/// The [`Hasher`] made by [`Xxh3Builder`]: XXH3-64 of the written bytes, integers little-endian.
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
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl Xxh3Hasher {
    #[inline(always)]
    fn push(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        match self.buf.get_mut(self.len..end) {
            Some(dst) if self.stream.is_none() => {
                dst.copy_from_slice(bytes);
                self.len = end;
            }
            _ => self.spill(bytes),
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

impl Hasher for Xxh3Hasher {
    #[inline(always)]
    fn finish(&self) -> u64 {
        match &self.stream {
            Some(stream) => stream.finish(),
            None => XxHash3_64::oneshot_with_seed(
                self.seed,
                self.buf.get(..self.len).unwrap_or_default(),
            ),
        }
    }

    #[inline(always)]
    fn write(&mut self, bytes: &[u8]) {
        self.push(bytes);
    }

    le_integer_writes!();
}

/// The murmur3 64-bit finalizer: a bijection that spreads every input bit over the output.
#[inline]
pub(crate) const fn mix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Maps a uniform 64-bit value onto `0..n` without a division (Lemire's multiply-high).
#[inline]
pub(crate) const fn reduce(hash: u64, n: u64) -> u64 {
    ((hash as u128 * n as u128) >> 64) as u64
}

/// The checksum of the serialized format: XXH3-64, seed 0.
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    XxHash3_64::oneshot_with_seed(0, bytes)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::cast_possible_truncation
    )]
    use super::*;

    #[test]
    fn matches_oneshot_on_either_side_of_the_inline_buffer() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in [0, 1, 8, 15, 16, 17, 127, 128, 129, 240, 241, 999] {
            let mut h = Xxh3Builder::with_seed(99).build_hasher();
            // Written in pieces, to cross the inline buffer's edge mid-write.
            for chunk in data[..len].chunks(50) {
                h.write(chunk);
            }
            assert_eq!(
                h.finish(),
                XxHash3_64::oneshot_with_seed(99, &data[..len]),
                "len {len}"
            );
        }
    }

    #[test]
    fn integers_hash_as_little_endian_bytes() {
        let b = Xxh3Builder::with_seed(1);
        assert_eq!(
            b.hash_one(0x0102_0304_0506_0708u64),
            XxHash3_64::oneshot_with_seed(1, &[8, 7, 6, 5, 4, 3, 2, 1])
        );
        assert_eq!(b.hash_one(5usize), b.hash_one(5u64));
    }

    /// Frozen values: these literals were computed once (by the reference-equal XXH3 of
    /// `twox-hash` 2) and must never change. If a dependency update or a code change altered
    /// any of them, every filter already serialized would stop answering correctly.
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
        assert_eq!(checksum(b"SNWB"), 0x3c5b_a15a_cfcc_b21b);
    }

    #[test]
    fn reduce_stays_in_range() {
        for n in [1u64, 2, 3, 1000, u64::MAX] {
            for h in [0u64, 1, u64::MAX / 2, u64::MAX] {
                assert!(reduce(h, n) < n);
            }
        }
    }
}
