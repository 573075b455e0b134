//! The hash functions every placement in this crate is built on.
//!
//! Everything here is a fixed, documented function of its input bytes, so two processes on any
//! platforms (32- or 64-bit, little- or big-endian) that hold the same nodes compute the same
//! owners for the same keys:
//!
//! - A key or node is turned into bytes by its [`Hash`] impl, fed to [`Xxh3Hasher`] (the
//!   `sinew-hash` crate's hasher, shared with sinew-bloom), which writes every integer
//!   **little-endian** and every `usize`/`isize` **as 64 bits** (std's default `Hasher`
//!   methods use native endianness and width, which would make placement depend on the
//!   machine).
//! - The bytes are hashed with XXH3-64 seeded with [`KEY_SEED`] (keys, [`key_hash`]) or
//!   [`NODE_SEED`] (node identities, [`node_id`]); ring points, Maglev permutations and
//!   rendezvous scores derive from those with the other seeds and [`mix64`].
//!
//! Note that the *bytes* come from the type's `Hash` impl: `u64` keys hash as their 8 bytes,
//! `str` keys as their UTF-8 bytes followed by `0xff` (std's rule), tuples and derived structs
//! as their fields in order. Types whose `Hash` impl is itself platform-dependent (pointers,
//! `RandomState`-seeded maps) stay so.
//!
//! The `std::hash::Hash` caveat (std does not promise its `Hash` output stays the same across
//! Rust versions) is spelled out in the crate docs; [`key_hash_bytes`] is the way around it.

use std::hash::Hash;

use sinew_hash::{GOLDEN_GAMMA, hash_bytes, splitmix64};
pub use sinew_hash::{Xxh3Hasher, mix64, stable_hash};

/// The XXH3 seed for keys ([`key_hash`]).
pub const KEY_SEED: u64 = 0x7369_6e65_772d_6b65; // "sinew-ke"
/// The XXH3 seed for node identities ([`node_id`]).
pub const NODE_SEED: u64 = 0x7369_6e65_772d_6e64; // "sinew-nd"
/// The XXH3 seed for ring points ([`HashRing`](crate::HashRing)'s virtual nodes).
pub const POINT_SEED: u64 = 0x7369_6e65_772d_7074; // "sinew-pt"
/// The XXH3 seed for a Maglev node's preferred first slot (see [`Maglev`](crate::Maglev)).
pub const MAGLEV_OFFSET_SEED: u64 = 0x7369_6e65_772d_6f66; // "sinew-of"
/// The XXH3 seed for a Maglev node's step between preferred slots (see [`Maglev`](crate::Maglev)).
pub const MAGLEV_SKIP_SEED: u64 = 0x7369_6e65_772d_736b; // "sinew-sk"

/// The 64-bit hash of a key that every router's `route` uses: XXH3-64 seeded with
/// [`KEY_SEED`] over the key's [`Hash`] bytes (see [`Xxh3Hasher`]). Pass the result to
/// `route_hash` to hash once and route many times.
///
/// The bytes are whatever `K`'s `Hash` impl writes, which std does not promise to keep across
/// Rust versions (see the crate docs' [caveat](crate#the-stdhashhash-caveat)); use
/// [`key_hash_bytes`] on an explicit encoding where that matters.
#[inline]
pub fn key_hash<K: Hash + ?Sized>(key: &K) -> u64 {
    stable_hash(KEY_SEED, key)
}

/// The 64-bit hash of a key given as raw bytes: XXH3-64 seeded with [`KEY_SEED`] over exactly
/// `bytes`, with no [`Hash`] impl in between (so it does not depend on how std's `Hash`
/// writes a type; see the crate docs' [caveat](crate#the-stdhashhash-caveat)). Routers' `route_bytes(b)` is
/// `route_hash(key_hash_bytes(b))`. Not equal to `key_hash(bytes)`, which hashes the
/// slice's `Hash` output (length prefix included).
///
/// ```
/// use sinew_ring::{HashRing, key_hash_bytes};
///
/// let ring: HashRing<&str> = ["a", "b", "c"].into_iter().collect();
/// let key = b"user:42"; // an explicit encoding of the key, the same in every language
/// assert_eq!(ring.route_bytes(key), ring.route_hash(key_hash_bytes(key)));
/// ```
#[inline]
pub fn key_hash_bytes(bytes: &[u8]) -> u64 {
    hash_bytes(KEY_SEED, bytes)
}

/// A node's identity: XXH3-64 seeded with [`NODE_SEED`] over the node's [`Hash`] bytes.
///
/// Every placement (ring points, rendezvous scores, Maglev permutations) is a function of this
/// value, never of the order nodes were added in or of the process. Two distinct nodes with the
/// same identity (chance about n²/2⁶⁵) cannot be told apart, so adding the second is refused
/// with [`MembershipError::IdentityCollision`](crate::MembershipError::IdentityCollision).
#[inline]
pub fn node_id<N: Hash + ?Sized>(node: &N) -> u64 {
    stable_hash(NODE_SEED, node)
}

/// The ring position of virtual node `vnode` of the node with identity `id`:
/// XXH3-64 seeded with [`POINT_SEED`] over the 12 bytes `id.to_le_bytes() ++ vnode.to_le_bytes()`.
#[inline]
pub fn point_hash(id: u64, vnode: u32) -> u64 {
    let mut bytes = [0u8; 12];
    let (a, b) = bytes.split_at_mut(8);
    a.copy_from_slice(&id.to_le_bytes());
    b.copy_from_slice(&vnode.to_le_bytes());
    hash_bytes(POINT_SEED, &bytes)
}

/// XXH3-64 of the 8 little-endian bytes of `x` with `seed`.
#[inline]
pub(crate) fn hash_u64(seed: u64, x: u64) -> u64 {
    hash_bytes(seed, &x.to_le_bytes())
}

/// The `i`-th sample key hash, [`moved_fraction`](crate::moved_fraction)'s reproducible
/// sample: SplitMix64's output sequence from seed 0, `splitmix64(i · GOLDEN_GAMMA)`.
#[inline]
pub fn sample_hash(i: u64) -> u64 {
    splitmix64(i.wrapping_mul(GOLDEN_GAMMA))
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use std::hash::Hasher;
    use twox_hash::XxHash3_64;

    #[test]
    fn inline_and_streaming_agree_with_oneshot() {
        for len in [0usize, 1, 7, 8, 63, 64, 65, 200, 1000] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let mut h = Xxh3Hasher::with_seed(KEY_SEED);
            // Write in uneven pieces, crossing the inline limit mid-write.
            for chunk in bytes.chunks(13) {
                h.write(chunk);
            }
            assert_eq!(
                h.finish(),
                XxHash3_64::oneshot_with_seed(KEY_SEED, &bytes),
                "len {len}"
            );
        }
    }

    #[test]
    fn integers_are_little_endian_and_usize_is_64_bits() {
        let mut a = Xxh3Hasher::with_seed(1);
        a.write_u32(0x0102_0304);
        a.write_usize(7);
        let mut b = Xxh3Hasher::with_seed(1);
        b.write(&[4, 3, 2, 1]);
        b.write(&7u64.to_le_bytes());
        assert_eq!(a.finish(), b.finish());
    }

    const PINNED_KEY_0: u64 = 0x82ec_dde2_8323_df87;
    const PINNED_NODE_A: u64 = 0x1fd6_38fd_5644_1578;
    const PINNED_POINT_1_2: u64 = 0x5a5a_4854_d140_6bfd;

    /// Pinned values: placement must never change between releases or platforms. If this test
    /// fails, every deployed ring would move keys on upgrade.
    #[test]
    fn pinned_values() {
        assert_eq!(
            key_hash(&0u64),
            XxHash3_64::oneshot_with_seed(KEY_SEED, &[0; 8])
        );
        assert_eq!(
            key_hash("node-a"),
            XxHash3_64::oneshot_with_seed(KEY_SEED, b"node-a\xff")
        );
        assert_eq!(
            point_hash(1, 2),
            XxHash3_64::oneshot_with_seed(POINT_SEED, &[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0])
        );
        assert_eq!(
            key_hash_bytes(b"node-a"),
            XxHash3_64::oneshot_with_seed(KEY_SEED, b"node-a")
        );
        assert_eq!(key_hash_bytes(b"node-a\xff"), key_hash("node-a"));
        assert_eq!(key_hash_bytes(&0u64.to_le_bytes()), key_hash(&0u64));
        assert_eq!(key_hash(&0u64), PINNED_KEY_0);
        assert_eq!(node_id("node-a"), PINNED_NODE_A);
        assert_eq!(point_hash(1, 2), PINNED_POINT_1_2);
    }
}
