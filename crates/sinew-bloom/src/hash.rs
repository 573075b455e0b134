//! The default hasher ([`Xxh3Builder`], from sinew-hash) and the 64-bit mixing shared by every
//! filter.

use twox_hash::XxHash3_64;

/// The default [`BuildHasher`](std::hash::BuildHasher) of every seeded filter: XXH3-64 with a
/// seed over the bytes an item's `Hash` writes, integers little-endian, from
/// [`sinew-hash`](sinew_hash) (where it is called `StableBuildHasher`).
///
/// The same item hashes the same on every platform (32- or 64-bit, little- or big-endian) and
/// in every process. That is what makes a filter's bits portable: a filter serialized on one
/// machine answers the same on another.
///
/// ```
/// use std::hash::BuildHasher;
/// use sinew_bloom::Xxh3Builder;
///
/// let a = Xxh3Builder::with_seed(7);
/// assert_eq!(a.hash_one(42u64), Xxh3Builder::with_seed(7).hash_one(42u64));
/// assert_ne!(a.hash_one(42u64), Xxh3Builder::with_seed(8).hash_one(42u64));
/// ```
pub type Xxh3Builder = sinew_hash::StableBuildHasher;

/// The [`Hasher`](std::hash::Hasher) made by [`Xxh3Builder`] (`sinew_hash::StableHasher`).
pub type Xxh3Hasher = sinew_hash::StableHasher;

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
    use std::hash::BuildHasher;

    use super::*;

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
