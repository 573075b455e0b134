//! The crate's binary building blocks: LEB128 varints, length-prefixed bytes, fixed arrays.
//!
//! Every decoder takes `&mut &[u8]` and advances it past what it read, so encodings compose
//! by calling one after another. Varints are canonical: a decoder refuses any encoding
//! but the shortest, so equal values always have equal bytes (fingerprints and
//! round-trip checks rely on it).

use crate::error::DecodeError;

/// The longest LEB128 encoding of a `u64`: ⌈64 / 7⌉ bytes.
pub(crate) const MAX_VARINT_LEN: usize = 10;

/// Appends `value` as an unsigned LEB128 varint (7 bits a byte, low bits first).
#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        // Truncation is the point: the low 7 bits, with the continuation bit set.
        #[allow(clippy::cast_possible_truncation)]
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    #[allow(clippy::cast_possible_truncation)]
    out.push(value as u8);
}

/// The number of bytes [`put_varint`] writes for `value`.
#[inline]
pub(crate) const fn varint_len(value: u64) -> usize {
    // 1 byte for 0..=127, then one more per 7 significant bits.
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Reads one varint and advances `input` past it.
///
/// # Errors
///
/// [`DecodeError::Truncated`] if the input ends inside it, [`DecodeError::Overlong`] if it is
/// not in its shortest form or does not fit 64 bits.
#[inline]
pub(crate) fn get_varint(input: &mut &[u8]) -> Result<u64, DecodeError> {
    // The common case: one byte.
    if let Some((&first, rest)) = input.split_first()
        && first < 0x80
    {
        *input = rest;
        return Ok(u64::from(first));
    }
    let mut value = 0u64;
    for (i, &byte) in input.iter().enumerate().take(MAX_VARINT_LEN) {
        // The tenth byte holds bit 63 alone: anything more is past 64 bits (or continues).
        if i == MAX_VARINT_LEN - 1 && byte > 1 {
            return Err(DecodeError::Overlong);
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            // A last byte of zero adds nothing: a shorter encoding exists.
            if byte == 0 && i > 0 {
                return Err(DecodeError::Overlong);
            }
            *input = input.get(i + 1..).unwrap_or_default();
            return Ok(value);
        }
    }
    // Fewer than ten bytes, all with the continuation bit (a tenth would have returned).
    Err(DecodeError::Truncated)
}

/// Reads a varint count and checks it against `max`.
///
/// # Errors
///
/// The varint's errors, and [`DecodeError::TooMany`] naming `what` above `max`.
#[inline]
pub(crate) fn get_count(
    input: &mut &[u8],
    what: &'static str,
    max: usize,
) -> Result<usize, DecodeError> {
    let count = get_varint(input)?;
    match usize::try_from(count) {
        Ok(n) if n <= max => Ok(n),
        _ => Err(DecodeError::TooMany {
            what,
            count,
            max: max as u64,
        }),
    }
}

/// Appends `bytes` with a varint length prefix.
#[inline]
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// The number of bytes [`put_bytes`] writes for `len` bytes.
#[inline]
pub(crate) const fn bytes_len(len: usize) -> usize {
    varint_len(len as u64) + len
}

/// Reads length-prefixed bytes (borrowed from the input) and advances past them.
///
/// # Errors
///
/// The length varint's errors, and [`DecodeError::Truncated`] if fewer bytes remain than
/// the length says.
#[inline]
pub(crate) fn get_bytes<'a>(input: &mut &'a [u8]) -> Result<&'a [u8], DecodeError> {
    let len = get_varint(input)?;
    let len = usize::try_from(len).map_err(|_| DecodeError::Truncated)?;
    take(input, len)
}

/// Reads exactly `len` bytes and advances past them.
///
/// # Errors
///
/// [`DecodeError::Truncated`] if fewer remain.
#[inline]
pub(crate) fn take<'a>(input: &mut &'a [u8], len: usize) -> Result<&'a [u8], DecodeError> {
    if input.len() < len {
        return Err(DecodeError::Truncated);
    }
    let (head, rest) = input.split_at(len);
    *input = rest;
    Ok(head)
}

/// Reads a fixed-size array (a big-endian integer, a timestamp) and advances past it.
///
/// # Errors
///
/// [`DecodeError::Truncated`] if fewer than `N` bytes remain.
#[inline]
pub(crate) fn get_array<const N: usize>(input: &mut &[u8]) -> Result<[u8; N], DecodeError> {
    let (head, rest) = input
        .split_first_chunk::<N>()
        .ok_or(DecodeError::Truncated)?;
    *input = rest;
    Ok(*head)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode(v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, v);
        out
    }

    #[test]
    fn known_encodings() {
        assert_eq!(encode(0), [0]);
        assert_eq!(encode(1), [1]);
        assert_eq!(encode(127), [0x7f]);
        assert_eq!(encode(128), [0x80, 0x01]);
        assert_eq!(encode(300), [0xac, 0x02]);
        assert_eq!(encode(16_383), [0xff, 0x7f]);
        assert_eq!(encode(16_384), [0x80, 0x80, 0x01]);
        let max = encode(u64::MAX);
        assert_eq!(max.len(), MAX_VARINT_LEN);
        assert_eq!(max[9], 0x01);
    }

    #[test]
    fn lengths_match_encodings() {
        for shift in 0..64 {
            for v in [1u64 << shift, (1u64 << shift) - 1, (1u64 << shift) + 1] {
                assert_eq!(varint_len(v), encode(v).len(), "{v}");
            }
        }
        assert_eq!(varint_len(u64::MAX), 10);
        assert_eq!(bytes_len(0), 1);
        assert_eq!(bytes_len(200), 202);
    }

    #[test]
    fn decode_errors() {
        let get = |b: &[u8]| get_varint(&mut &*b);
        assert_eq!(get(&[]), Err(DecodeError::Truncated));
        assert_eq!(get(&[0x80]), Err(DecodeError::Truncated));
        assert_eq!(get(&[0xff; 9]), Err(DecodeError::Truncated));
        // Not minimal: 0 and 1 with a redundant zero group.
        assert_eq!(get(&[0x80, 0x00]), Err(DecodeError::Overlong));
        assert_eq!(get(&[0x81, 0x80, 0x00]), Err(DecodeError::Overlong));
        // Past 64 bits: a tenth byte above 1, or an eleventh byte.
        let mut over = vec![0xff; 9];
        over.push(0x02);
        assert_eq!(get(&over), Err(DecodeError::Overlong));
        let mut eleven = vec![0xff; 10];
        eleven.push(0x01);
        assert_eq!(get(&eleven), Err(DecodeError::Overlong));
        // u64::MAX itself decodes.
        let mut max = vec![0xff; 9];
        max.push(0x01);
        assert_eq!(get(&max), Ok(u64::MAX));
    }

    #[test]
    fn decoding_advances() {
        let mut buf = Vec::new();
        put_varint(&mut buf, 5);
        put_bytes(&mut buf, b"hello");
        buf.extend_from_slice(&7u64.to_be_bytes());
        put_varint(&mut buf, 1 << 40);
        let mut input = &buf[..];
        assert_eq!(get_varint(&mut input), Ok(5));
        assert_eq!(get_bytes(&mut input), Ok(&b"hello"[..]));
        assert_eq!(get_array::<8>(&mut input).map(u64::from_be_bytes), Ok(7));
        assert_eq!(get_varint(&mut input), Ok(1 << 40));
        assert!(input.is_empty());
        assert_eq!(get_array::<8>(&mut input), Err(DecodeError::Truncated));
    }

    #[test]
    fn bytes_longer_than_input_are_truncated() {
        let mut buf = Vec::new();
        put_varint(&mut buf, 10);
        buf.extend_from_slice(b"short");
        assert_eq!(get_bytes(&mut &buf[..]), Err(DecodeError::Truncated));
        let mut huge = Vec::new();
        put_varint(&mut huge, u64::MAX);
        assert_eq!(get_bytes(&mut &huge[..]), Err(DecodeError::Truncated));
    }

    #[test]
    fn counts_are_limited() {
        let mut buf = Vec::new();
        put_varint(&mut buf, 11);
        assert_eq!(get_count(&mut &buf[..], "things", 11), Ok(11));
        assert_eq!(
            get_count(&mut &buf[..], "things", 10),
            Err(DecodeError::TooMany {
                what: "things",
                count: 11,
                max: 10
            })
        );
    }

    proptest! {
        #[test]
        fn varints_round_trip(v: u64, tail in proptest::collection::vec(any::<u8>(), 0..4)) {
            let mut buf = encode(v);
            prop_assert_eq!(buf.len(), varint_len(v));
            buf.extend_from_slice(&tail);
            let mut input = &buf[..];
            prop_assert_eq!(get_varint(&mut input), Ok(v));
            prop_assert_eq!(input, &tail[..]);
        }

        #[test]
        fn varint_garbage_is_an_error_or_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            let mut input = &bytes[..];
            if let Ok(v) = get_varint(&mut input) {
                // Whatever decodes is the one encoding of its value.
                let used = bytes.len() - input.len();
                prop_assert_eq!(&bytes[..used], &encode(v)[..]);
            }
        }
    }
}
