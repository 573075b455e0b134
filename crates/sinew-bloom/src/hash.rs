//! The hashing every filter is built on: the default hasher (sinew-hash's [`Xxh3Builder`],
//! shared with sinew-ring), the mixer that derives probe bits, range reduction and the
//! format's checksum.

use std::hash::{BuildHasher, Hash, Hasher};

use sinew_hash::hash_bytes;
pub use sinew_hash::{Xxh3Builder, Xxh3Hasher};

/// `hasher.hash_one(item)`, forced inline. The blocked filters' lookups are bound by how
/// many of them the CPU keeps in flight, which is set by their length in instructions; left
/// to itself the compiler called `hash_one` out of line, with the key spilled to the stack
/// for the call (a dozen instructions of a lookup's ninety).
#[inline(always)]
#[allow(clippy::manual_hash_one)] // deliberately: `hash_one` is not always inlined
pub(crate) fn hash_item<S: BuildHasher, T: Hash + ?Sized>(hasher: &S, item: &T) -> u64 {
    let mut state = hasher.build_hasher();
    item.hash(&mut state);
    state.finish()
}

/// The murmur3 64-bit finalizer, which derives the classic and blocked filters' probes from an
/// item's hash. It is part of the serialized format (version 1): the golden files in
/// `tests/golden/v1/` freeze it, so it is not the workspace's general mixer
/// ([`sinew_hash::mix64`]) and must never change.
#[inline]
pub(crate) const fn fmix64(mut x: u64) -> u64 {
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
    hash_bytes(0, bytes)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::cast_possible_truncation
    )]
    use super::*;

    /// Frozen: the format's checksum and the probe mixer. (The default hasher's values are
    /// frozen by sinew-hash's own `hashes_are_frozen`; the golden files freeze all of it.)
    #[test]
    fn checksum_is_frozen() {
        assert_eq!(checksum(b"SNWB"), 0x3c5b_a15a_cfcc_b21b);
    }

    #[test]
    fn fmix64_is_frozen() {
        assert_eq!(fmix64(0), 0);
        assert_eq!(fmix64(1), 0xb456_bcfc_34c2_cb2c);
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
