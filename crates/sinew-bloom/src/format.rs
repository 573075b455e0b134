//! The versioned binary format shared by every filter's `to_bytes`/`from_bytes`.
//!
//! ```text
//! offset  size  field
//! 0       4     magic: the bytes "SNWB"
//! 4       2     format version, u16 little-endian (this crate writes and reads 1)
//! 6       1     variant: 1 classic, 2 blocked (and atomic), 3 split-block, 4 counting, 5 scalable
//! 7       1     flags: 0 (reserved)
//! 8       8     hasher seed, u64 little-endian (0 for split-block, whose hash is fixed)
//! 16      ..    the variant's parameters and contents (see each type's docs), little-endian
//! end-8   8     checksum: XXH3-64 (seed 0) of every byte before it, u64 little-endian
//! ```
//!
//! Bit arrays are stored as little-endian 64-bit words, bit `i` of the filter being bit
//! `i % 64` of word `i / 64`; the split-block bitset is Parquet's (little-endian 32-bit words).
//! Every later version of this crate reads version 1.

use crate::error::DecodeError;
use crate::hash::checksum;
use crate::sizing;

pub(crate) const MAGIC: [u8; 4] = *b"SNWB";
pub(crate) const VERSION: u16 = 1;
const HEADER: usize = 16;
const TRAILER: usize = 8;

/// The variant tags.
pub(crate) mod variant {
    pub(crate) const CLASSIC: u8 = 1;
    pub(crate) const BLOCKED: u8 = 2;
    pub(crate) const SPLIT_BLOCK: u8 = 3;
    pub(crate) const COUNTING: u8 = 4;
    pub(crate) const SCALABLE: u8 = 5;
}

/// Builds an encoding: header first, checksum last.
pub(crate) struct Writer {
    out: Vec<u8>,
}

impl Writer {
    pub(crate) fn new(variant: u8, seed: u64, body_len: usize) -> Self {
        let mut out = Vec::with_capacity(HEADER + body_len + TRAILER);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.push(variant);
        out.push(0);
        out.extend_from_slice(&seed.to_le_bytes());
        Writer { out }
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }

    pub(crate) fn words(&mut self, words: &[u64]) {
        for w in words {
            self.u64(*w);
        }
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// The body shared by the classic and counting forms (and each scalable stage): the size
    /// (u64), the hash count (u32), then the words.
    pub(crate) fn sized_words(&mut self, size: u64, hashes: u32, words: &[u64]) {
        self.u64(size);
        self.u32(hashes);
        self.words(words);
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        let sum = checksum(&self.out);
        self.out.extend_from_slice(&sum.to_le_bytes());
        self.out
    }
}

/// Reads an encoding's body after checking its header and checksum.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    seed: u64,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], expected_variant: u8) -> Result<Self, DecodeError> {
        if bytes.len() < 4 {
            return Err(DecodeError::Truncated);
        }
        if bytes.get(..4) != Some(&MAGIC[..]) {
            return Err(DecodeError::Magic);
        }
        if bytes.len() < HEADER + TRAILER {
            return Err(DecodeError::Truncated);
        }
        let (content, sum) = bytes.split_at(bytes.len() - TRAILER);
        let mut header = Reader {
            rest: content.get(4..).ok_or(DecodeError::Truncated)?,
            seed: 0,
        };
        let version = u16::from_le_bytes(header.array()?);
        if version != VERSION {
            return Err(DecodeError::Version(version));
        }
        let [found, flags] = header.array()?;
        if found != expected_variant {
            return Err(DecodeError::Variant {
                expected: expected_variant,
                found,
            });
        }
        if flags != 0 {
            return Err(DecodeError::Invalid("reserved flags are set"));
        }
        let seed = header.u64()?;
        let sum = u64::from_le_bytes(sum.try_into().map_err(|_| DecodeError::Truncated)?);
        if checksum(content) != sum {
            return Err(DecodeError::Checksum);
        }
        Ok(Reader {
            rest: header.rest,
            seed,
        })
    }

    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, rest) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or(DecodeError::Truncated)?;
        self.rest = rest;
        Ok(*head)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn f64(&mut self) -> Result<f64, DecodeError> {
        Ok(f64::from_bits(self.u64()?))
    }

    /// Reads `count` little-endian words, checking the input holds them before allocating.
    pub(crate) fn words(&mut self, count: u64) -> Result<Vec<u64>, DecodeError> {
        let bytes = self.take(count, 8)?;
        Ok(bytes
            .chunks_exact(8)
            .map(|c| {
                let mut w = [0u8; 8];
                w.copy_from_slice(c);
                u64::from_le_bytes(w)
            })
            .collect())
    }

    /// Takes `count * size` bytes, or fails without allocating if the input is shorter.
    pub(crate) fn take(&mut self, count: u64, size: u64) -> Result<&'a [u8], DecodeError> {
        let len = count
            .checked_mul(size)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(DecodeError::Truncated)?;
        if len > self.rest.len() {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(head)
    }

    /// Reads what [`Writer::sized_words`] wrote, for cells of `cell_bits` bits: checks the
    /// size against [`BloomFilter::MAX_BITS`](crate::BloomFilter::MAX_BITS) and the hash count against `max_hashes`
    /// before reading (and allocating) the `ceil(size · cell_bits / 64)` words, then that
    /// the bits past the last cell are zero. Returns `(size, hashes, words)`.
    pub(crate) fn sized_words(
        &mut self,
        cell_bits: u64,
        max_hashes: u32,
    ) -> Result<(u64, u32, Vec<u64>), DecodeError> {
        let size = self.u64()?;
        let hashes = self.u32()?;
        let bits = size.saturating_mul(cell_bits);
        sizing::check_bits(bits).map_err(|_| DecodeError::Invalid("size"))?;
        sizing::check_hashes(hashes, max_hashes).map_err(|_| DecodeError::Invalid("hash count"))?;
        let words = self.words(bits.div_ceil(64))?;
        if let (Some(last), tail @ 1..) = (words.last(), bits % 64)
            && last >> tail != 0
        {
            return Err(DecodeError::Invalid("bits set past the end"));
        }
        Ok((size, hashes, words))
    }

    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }
}
