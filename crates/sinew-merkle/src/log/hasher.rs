//! RFC 6962 hashing: the [`MerkleHasher`] trait, [`Sha256Hasher`] (the default) and, behind the
//! `blake3` feature, [`Blake3Hasher`].

use sha2::Digest as _;
use sha2::Sha256;
use sha2::digest::generic_array::GenericArray;

/// A 32-byte tree hash: a leaf hash, an inner node hash or a root.
///
/// (Named `Digest` rather than `Hash` so that it does not shadow [`std::hash::Hash`]; if you
/// also use the RustCrypto `Digest` trait, import that one as `use sha2::Digest as _;`.)
pub type Digest = [u8; 32];

/// The domain-separation prefix of a leaf hash: `leaf = H(0x00 || data)`.
pub const LEAF_PREFIX: u8 = 0x00;
/// The domain-separation prefix of an inner node hash: `node = H(0x01 || left || right)`.
pub const NODE_PREFIX: u8 = 0x01;

/// The hash function of a tree, with RFC 6962 domain separation between leaves and inner nodes.
///
/// Every implementation must hash leaves and nodes with distinct prefixes (so no inner node can
/// be passed off as a leaf: the second-preimage attack on trees without separation) and return
/// 32-byte digests. The tree, the proofs and the verifiers are generic over it; the free
/// functions ([`leaf_hash`], [`verify_inclusion`](super::verify_inclusion), ...) use
/// [`Sha256Hasher`].
pub trait MerkleHasher: Clone + Send + Sync + 'static {
    /// `H(0x00 || data)`.
    fn hash_leaf(&self, data: &[u8]) -> Digest;
    /// `H(0x01 || left || right)`.
    fn hash_children(&self, left: &Digest, right: &Digest) -> Digest;
    /// The root of the empty tree, `H()` (the hash of the empty string).
    fn hash_empty(&self) -> Digest;
}

/// SHA-256 as RFC 6962 and RFC 9162 specify it: the default hasher.
///
/// Uses the `sha2` crate, which picks the CPU's SHA extensions (x86 SHA-NI, ARMv8 SHA2) at run
/// time when they are present. Inner nodes go straight to the compression function (a 65-byte
/// message is exactly two blocks), skipping the streaming buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sha256Hasher;

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

fn state_to_bytes(state: &[u32; 8]) -> Digest {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

impl Sha256Hasher {
    /// `H(0x00 || data)` for a 32-byte `data` (one compression, no streaming buffer): the common
    /// case of logs whose entries are themselves hashes.
    pub fn hash_leaf32(&self, data: &[u8; 32]) -> Digest {
        // 33 message bytes, then 0x80, zeros and the bit length (264) in the last 8 bytes.
        let mut block = [0u8; 64];
        block[0] = LEAF_PREFIX;
        block[1..33].copy_from_slice(data);
        block[33] = 0x80;
        block[56..].copy_from_slice(&(33u64 * 8).to_be_bytes());
        let mut state = SHA256_IV;
        sha2::compress256(&mut state, &[GenericArray::from(block)]);
        state_to_bytes(&state)
    }
}

impl MerkleHasher for Sha256Hasher {
    #[inline]
    fn hash_leaf(&self, data: &[u8]) -> Digest {
        if let Ok(data) = <&[u8; 32]>::try_from(data) {
            return self.hash_leaf32(data);
        }
        let mut h = Sha256::new();
        h.update([LEAF_PREFIX]);
        h.update(data);
        h.finalize().into()
    }

    #[inline]
    fn hash_children(&self, left: &Digest, right: &Digest) -> Digest {
        // 65 message bytes: block one is 0x01 || left || right[..31]; block two is right[31],
        // 0x80, zeros and the bit length (520) in the last 8 bytes.
        let mut b0 = [0u8; 64];
        let mut b1 = [0u8; 64];
        b0[0] = NODE_PREFIX;
        b0[1..33].copy_from_slice(left);
        b0[33..64].copy_from_slice(&right[..31]);
        b1[0] = right[31];
        b1[1] = 0x80;
        b1[56..].copy_from_slice(&(65u64 * 8).to_be_bytes());
        let mut state = SHA256_IV;
        sha2::compress256(
            &mut state,
            &[GenericArray::from(b0), GenericArray::from(b1)],
        );
        state_to_bytes(&state)
    }

    fn hash_empty(&self) -> Digest {
        Sha256::digest([]).into()
    }
}

/// BLAKE3 with the RFC 6962 tree shape and prefixes (`blake3` feature). Not interoperable with
/// RFC 6962 logs, which are SHA-256; use it for your own logs where BLAKE3 is faster.
#[cfg(feature = "blake3")]
#[cfg_attr(docsrs, doc(cfg(feature = "blake3")))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Blake3Hasher;

#[cfg(feature = "blake3")]
impl MerkleHasher for Blake3Hasher {
    fn hash_leaf(&self, data: &[u8]) -> Digest {
        let mut h = blake3::Hasher::new();
        h.update(&[LEAF_PREFIX]);
        h.update(data);
        h.finalize().into()
    }

    fn hash_children(&self, left: &Digest, right: &Digest) -> Digest {
        let mut buf = [0u8; 65];
        buf[0] = NODE_PREFIX;
        buf[1..33].copy_from_slice(left);
        buf[33..].copy_from_slice(right);
        blake3::hash(&buf).into()
    }

    fn hash_empty(&self) -> Digest {
        blake3::hash(&[]).into()
    }
}

/// The RFC 6962 SHA-256 leaf hash, `SHA-256(0x00 || data)`.
///
/// ```
/// // RFC 6962's empty leaf.
/// assert_eq!(sinew_merkle::log::leaf_hash(b"")[..4], [0x6e, 0x34, 0x0b, 0x9c]);
/// ```
pub fn leaf_hash(data: &[u8]) -> Digest {
    Sha256Hasher.hash_leaf(data)
}

/// The RFC 6962 SHA-256 inner node hash, `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    Sha256Hasher.hash_children(left, right)
}

/// The RFC 6962 SHA-256 root of the empty tree, `SHA-256("")` = `e3b0c442...`.
pub fn empty_root() -> Digest {
    Sha256Hasher.hash_empty()
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)] // tests fail loudly
mod tests {
    use super::*;

    fn streaming_node(l: &Digest, r: &Digest) -> Digest {
        let mut h = Sha256::new();
        h.update([NODE_PREFIX]);
        h.update(l);
        h.update(r);
        h.finalize().into()
    }

    fn streaming_leaf(d: &[u8]) -> Digest {
        let mut h = Sha256::new();
        h.update([LEAF_PREFIX]);
        h.update(d);
        h.finalize().into()
    }

    #[test]
    fn direct_compression_matches_streaming_sha256() {
        for i in 0..64u8 {
            let l = [i; 32];
            let r = [i.wrapping_mul(7).wrapping_add(1); 32];
            assert_eq!(node_hash(&l, &r), streaming_node(&l, &r));
            assert_eq!(leaf_hash(&l), streaming_leaf(&l));
            let v: Vec<u8> = (0..i).collect();
            assert_eq!(leaf_hash(&v), streaming_leaf(&v));
        }
    }

    #[test]
    fn rfc6962_known_answers() {
        let hex = |h: Digest| h.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }
}
