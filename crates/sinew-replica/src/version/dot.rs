//! [`Dot`]: the name of one write.

use std::fmt;

use crate::codec::{get_varint, put_varint, varint_len};
use crate::error::DecodeError;

/// One event: the `counter`-th write coordinated by `actor`.
///
/// A dot names a write uniquely and forever: actor `a` numbers its writes 1, 2, 3, … so no
/// two writes share a dot, and a [`VersionVector`](super::VersionVector) entry `a ↦ n`
/// stands for the dots `(a, 1) ..= (a, n)`. Counters start at 1; `(a, 0)` is no write.
/// Dots order by actor, then counter.
///
/// ```
/// use sinew_replica::version::Dot;
///
/// let d = Dot::new(7, 3);
/// assert_eq!((d.actor, d.counter), (7, 3));
/// assert!(Dot::new(7, 3) < Dot::new(7, 4) && Dot::new(7, 4) < Dot::new(8, 1));
/// assert_eq!(d.to_string(), "7:3");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Dot {
    /// The replica (node id) that coordinated the write.
    pub actor: u64,
    /// Its sequence number among that actor's writes, from 1.
    pub counter: u64,
}

impl Dot {
    /// The dot `(actor, counter)`.
    pub const fn new(actor: u64, counter: u64) -> Self {
        Dot { actor, counter }
    }

    /// Appends the encoding: varint actor, varint counter.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.actor);
        put_varint(out, self.counter);
    }

    /// The number of bytes [`encode`](Self::encode) writes.
    pub const fn encoded_len(&self) -> usize {
        varint_len(self.actor) + varint_len(self.counter)
    }

    /// Decodes a dot from the front of `bytes`; returns it and the number of bytes read.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Truncated`], [`DecodeError::Overlong`] for a bad varint, and
    /// [`DecodeError::ZeroCounter`] for counter 0.
    pub fn decode(bytes: &[u8]) -> Result<(Self, usize), DecodeError> {
        let mut input = bytes;
        let dot = Self::decode_from(&mut input)?;
        Ok((dot, bytes.len() - input.len()))
    }

    /// [`decode`](Self::decode) over a cursor, advancing it.
    pub(crate) fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let actor = get_varint(input)?;
        let counter = get_varint(input)?;
        if counter == 0 {
            return Err(DecodeError::ZeroCounter);
        }
        Ok(Dot { actor, counter })
    }
}

impl fmt::Display for Dot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.actor, self.counter)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_length() {
        for dot in [
            Dot::new(0, 1),
            Dot::new(300, 1 << 40),
            Dot::new(u64::MAX, u64::MAX),
        ] {
            let mut out = vec![];
            dot.encode(&mut out);
            assert_eq!(out.len(), dot.encoded_len());
            out.push(0xee);
            assert_eq!(Dot::decode(&out), Ok((dot, dot.encoded_len())));
        }
    }

    #[test]
    fn bad_input() {
        assert_eq!(Dot::decode(&[]), Err(DecodeError::Truncated));
        assert_eq!(Dot::decode(&[1]), Err(DecodeError::Truncated));
        assert_eq!(Dot::decode(&[1, 0]), Err(DecodeError::ZeroCounter));
        assert_eq!(Dot::decode(&[0x80, 0, 1]), Err(DecodeError::Overlong));
    }
}
