//! The stable hasher shared by the sinew crates.
//!
//! Consistent-hashing placements (sinew-ring) and serialized filters (sinew-bloom) need a hash
//! that is a fixed function of a value: the same on every platform and in every process, so
//! two machines agree on where a key lives and a filter written on one answers the same on
//! another. std's `DefaultHasher` is randomly seeded per process and its `Hasher` methods
//! write integers in native endianness and width, so it cannot serve.
//!
//! [`StableHasher`] is XXH3-64 (from `twox-hash`) with a seed over the bytes a type's
//! [`Hash`] impl writes, with every integer written **little-endian** and
//! `usize`/`isize` widened to 64 bits. [`StableBuildHasher`] makes them for one seed, and
//! [`stable_hash`] hashes one value.
//!
//! Which bytes a type writes is up to its `Hash` impl: `u64` writes its 8 bytes, `str` its
//! UTF-8 bytes then `0xff`, tuples and derived structs their fields in order. std does not
//! promise that its impls keep writing the same bytes across Rust versions; where hashes
//! must agree across toolchains or languages, hash an explicit byte encoding.
//!
//! ```
//! use sinew_hash::stable_hash;
//!
//! // The same on every machine, in every process, for as long as XXH3 is XXH3.
//! assert_eq!(stable_hash(0, &42u64), 0xd5a6_f8c8_38df_27c8);
//! ```
#![forbid(unsafe_code)]

use std::hash::{BuildHasher, Hash, Hasher};

use twox_hash::XxHash3_64;

/// The integer `write_*` methods of a [`Hasher`], each writing its value's little-endian bytes
/// through `write` (`usize`/`isize` widened to 64 bits), so hashes agree across platforms.
///
/// Invoke it inside an `impl Hasher for ...` block to make any byte hasher platform-stable:
///
/// ```
/// use std::hash::{Hash, Hasher};
///
/// #[derive(Default)]
/// struct Bytes(Vec<u8>);
/// impl Hasher for Bytes {
///     fn finish(&self) -> u64 { self.0.len() as u64 }
///     fn write(&mut self, bytes: &[u8]) { self.0.extend_from_slice(bytes) }
///     sinew_hash::le_integer_writes!();
/// }
///
/// let mut h = Bytes::default();
/// 0x0102u16.hash(&mut h);
/// assert_eq!(h.0, [2, 1]);
/// ```
#[macro_export]
macro_rules! le_integer_writes {
    () => {
        $crate::le_integer_writes!(@ write_u8 u8, write_u16 u16, write_u32 u32, write_u64 u64,
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

/// A [`BuildHasher`] of [`StableHasher`]s with one seed: XXH3-64 (from `twox-hash`).
///
/// The hash of an item is the XXH3-64, under the seed, of the bytes its [`Hash`]
/// implementation writes, with every integer written **little-endian** and `usize`/`isize`
/// widened to 64 bits, so the same item hashes the same on every platform (32- or 64-bit,
/// little- or big-endian) and in every process.
///
/// Items whose `Hash` writes at most 128 bytes are hashed with XXH3's one-shot function and
/// no allocation; longer ones go through the streaming hasher (one allocation).
///
/// ```
/// use std::hash::BuildHasher;
/// use sinew_hash::StableBuildHasher;
///
/// let a = StableBuildHasher::with_seed(7);
/// assert_eq!(a.hash_one(42u64), StableBuildHasher::with_seed(7).hash_one(42u64));
/// assert_ne!(a.hash_one(42u64), StableBuildHasher::with_seed(8).hash_one(42u64));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StableBuildHasher {
    seed: u64,
}

impl StableBuildHasher {
    /// A builder for the given seed. [`Default`] is seed 0.
    pub const fn with_seed(seed: u64) -> Self {
        StableBuildHasher { seed }
    }

    /// The seed.
    pub const fn seed(&self) -> u64 {
        self.seed
    }
}

impl BuildHasher for StableBuildHasher {
    type Hasher = StableHasher;

    #[inline(always)]
    fn build_hasher(&self) -> StableHasher {
        StableHasher::with_seed(self.seed)
    }
}

/// Bytes hashed without allocating; longer inputs go to the streaming hasher.
const INLINE: usize = 128;

/// A [`Hasher`] whose output is the same on every platform and in every process: XXH3-64
/// with a seed over the bytes a [`Hash`] impl writes, integers written
/// little-endian and `usize`/`isize` widened to 64 bits.
///
/// Up to 128 bytes are buffered inline and hashed in one shot by [`finish`](Hasher::finish)
/// (integers, short strings, small structs); longer input streams through XXH3's incremental
/// state (one allocation). Both paths give exactly `XXH3_64bits_withSeed(bytes, seed)`.
///
/// ```
/// use std::hash::{Hash, Hasher};
/// use sinew_hash::StableHasher;
/// use twox_hash::XxHash3_64;
///
/// let mut h = StableHasher::with_seed(9);
/// 0x0102_0304u32.hash(&mut h);
/// assert_eq!(h.finish(), XxHash3_64::oneshot_with_seed(9, &[4, 3, 2, 1]));
/// ```
#[derive(Clone)]
pub struct StableHasher {
    seed: u64,
    len: usize,
    buf: [u8; INLINE],
    stream: Option<Box<XxHash3_64>>,
}

impl std::fmt::Debug for StableHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StableHasher")
            .field("seed", &self.seed)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl StableHasher {
    /// A hasher computing XXH3-64 with this seed.
    #[inline]
    pub const fn with_seed(seed: u64) -> Self {
        StableHasher {
            seed,
            len: 0,
            buf: [0; INLINE],
            stream: None,
        }
    }

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

impl Hasher for StableHasher {
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

/// Hashes `value` with a [`StableHasher`] seeded with `seed`.
#[inline]
pub fn stable_hash<T: Hash + ?Sized>(seed: u64, value: &T) -> u64 {
    let mut h = StableHasher::with_seed(seed);
    value.hash(&mut h);
    h.finish()
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
            let mut h = StableBuildHasher::with_seed(99).build_hasher();
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
        let b = StableBuildHasher::with_seed(1);
        assert_eq!(
            b.hash_one(0x0102_0304_0506_0708u64),
            XxHash3_64::oneshot_with_seed(1, &[8, 7, 6, 5, 4, 3, 2, 1])
        );
        assert_eq!(b.hash_one(5usize), b.hash_one(5u64));
        assert_eq!(b.hash_one(-1i32), b.hash_one(u32::MAX));
        assert_eq!(stable_hash(1, &7u16), b.hash_one(7u16));
    }
}
