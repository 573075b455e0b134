//! [`Id`] and its text forms: decimal, base62 and Crockford base32.

use std::fmt;
use std::str::FromStr;

use crate::ParseIdError;

/// A 64-bit ID. IDs from one [`Generator`](crate::Generator) are unique and increase with time;
/// `Ord` is numeric order, so sorting IDs sorts them by creation time (to the tick).
///
/// Text forms:
///
/// | form | width | alphabet | sorts like the number? |
/// |---|---|---|---|
/// | decimal ([`Display`](fmt::Display), [`FromStr`]) | 1 to 20 | `0-9` | no (width varies) |
/// | [`to_base62`](Self::to_base62) | 11, zero-padded | `0-9A-Za-z` (ASCII order) | yes |
/// | [`to_crockford`](Self::to_crockford) | 13, zero-padded | Crockford base32, upper case | yes |
///
/// Parsing is strict about width and alphabet and returns a typed [`ParseIdError`] saying what
/// is wrong; Crockford parsing also accepts lower case and the aliases `O`→0, `I`/`L`→1.
///
/// With the `serde` feature, an `Id` serializes as a decimal *string* (JavaScript numbers lose
/// integers above 2^53) and deserializes from a string or a number; use
/// [`serde_u64`](crate::serde_u64) for the number form.
///
/// # Examples
///
/// ```
/// use sinew_snowflake::Id;
///
/// let id = Id::new(175928847299117063);
/// assert_eq!(id.to_string(), "175928847299117063");
/// assert_eq!(id.to_base62(), "0Czks0tP37X");
/// assert_eq!(Id::from_base62("0Czks0tP37X")?, id);
/// assert_eq!("175928847299117063".parse::<Id>()?, id);
/// assert_eq!(Id::from_crockford(&id.to_crockford())?, id);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct Id(u64);

impl Id {
    /// Wraps a raw 64-bit ID.
    pub const fn new(raw: u64) -> Self {
        Id(raw)
    }

    /// The raw 64-bit value.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The fixed-width (11 character) base62 form, `0-9A-Za-z`; sorts like the number.
    pub fn to_base62(self) -> String {
        BASE62.encode(self.0)
    }

    /// Parses the 11-character base62 form.
    ///
    /// # Errors
    ///
    /// A [`ParseIdError`] for a wrong length, a character outside `0-9A-Za-z`, or a value
    /// above `u64::MAX`.
    pub fn from_base62(s: &str) -> Result<Self, ParseIdError> {
        BASE62.decode(s).map(Id)
    }

    /// The fixed-width (13 character) Crockford base32 form, upper case; sorts like the number.
    pub fn to_crockford(self) -> String {
        CROCKFORD.encode(self.0)
    }

    /// Parses the 13-character Crockford base32 form, in either case, accepting the aliases
    /// `O`/`o` for 0 and `I`/`i`/`L`/`l` for 1.
    ///
    /// # Errors
    ///
    /// A [`ParseIdError`] for a wrong length, a character outside the alphabet, or a value
    /// above `u64::MAX`.
    pub fn from_crockford(s: &str) -> Result<Self, ParseIdError> {
        CROCKFORD.decode(s).map(Id)
    }
}

impl From<u64> for Id {
    fn from(raw: u64) -> Self {
        Id(raw)
    }
}

impl From<Id> for u64 {
    fn from(id: Id) -> Self {
        id.0
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Id {
    type Err = ParseIdError;

    /// Parses the decimal form: 1 to 20 ASCII digits, nothing else (no sign, no spaces).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DECIMAL.decode(s).map(Id)
    }
}

/// A positional text form of a `u64`: its alphabet, and whether it is fixed-width.
struct Radix {
    /// Digit values in order; its length is the radix.
    alphabet: &'static [u8],
    /// The digit value of each byte, or `INVALID`.
    values: [u8; 256],
    /// Fixed-width forms are written and read zero-padded to exactly `width` characters;
    /// the others are read as 1 to `width` characters.
    fixed: bool,
    width: usize,
}

const INVALID: u8 = u8::MAX;

/// Digit values for an alphabet, plus extra `(byte, value)` aliases accepted when parsing.
// Only ever evaluated at compile time, where an out-of-range index is a build error.
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
const fn digit_values(alphabet: &[u8], aliases: &[(u8, u8)]) -> [u8; 256] {
    let mut values = [INVALID; 256];
    let mut i = 0;
    while i < alphabet.len() {
        values[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    let mut j = 0;
    while j < aliases.len() {
        values[aliases[j].0 as usize] = aliases[j].1;
        j += 1;
    }
    values
}

const DECIMAL_ALPHABET: &[u8] = b"0123456789";
const BASE62_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const CROCKFORD_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Lower case, then Crockford's aliases for easily confused letters.
#[rustfmt::skip]
const CROCKFORD_ALIASES: &[(u8, u8)] = &[
    (b'a', 10), (b'b', 11), (b'c', 12), (b'd', 13), (b'e', 14), (b'f', 15),
    (b'g', 16), (b'h', 17), (b'j', 18), (b'k', 19), (b'm', 20), (b'n', 21),
    (b'p', 22), (b'q', 23), (b'r', 24), (b's', 25), (b't', 26), (b'v', 27),
    (b'w', 28), (b'x', 29), (b'y', 30), (b'z', 31),
    (b'O', 0), (b'o', 0), (b'I', 1), (b'i', 1), (b'L', 1), (b'l', 1),
];

static DECIMAL: Radix = Radix {
    alphabet: DECIMAL_ALPHABET,
    values: digit_values(DECIMAL_ALPHABET, &[]),
    fixed: false,
    width: 20,
};

static BASE62: Radix = Radix {
    alphabet: BASE62_ALPHABET,
    values: digit_values(BASE62_ALPHABET, &[]),
    fixed: true,
    width: 11,
};

static CROCKFORD: Radix = Radix {
    alphabet: CROCKFORD_ALPHABET,
    values: digit_values(CROCKFORD_ALPHABET, CROCKFORD_ALIASES),
    fixed: true,
    width: 13,
};

impl Radix {
    fn radix(&self) -> u64 {
        self.alphabet.len() as u64
    }

    /// The zero-padded form; used for the fixed-width forms only (decimal uses `u64`'s own).
    fn encode(&self, mut n: u64) -> String {
        let mut out = vec![b'0'; self.width];
        for slot in out.iter_mut().rev() {
            // `n % radix` is below the alphabet's length, so the lookup cannot miss.
            let digit = usize::try_from(n % self.radix()).unwrap_or(0);
            *slot = self.alphabet.get(digit).copied().unwrap_or(b'0');
            n /= self.radix();
        }
        // Every byte came from an ASCII alphabet.
        String::from_utf8(out).unwrap_or_default()
    }

    fn decode(&self, s: &str) -> Result<u64, ParseIdError> {
        let bytes = s.as_bytes();
        if bytes.is_empty() {
            return Err(ParseIdError::Empty);
        }
        let length_ok = if self.fixed {
            bytes.len() == self.width
        } else {
            bytes.len() <= self.width
        };
        if !length_ok {
            return Err(ParseIdError::InvalidLength {
                expected: self.width,
                found: bytes.len(),
            });
        }
        let mut n: u64 = 0;
        for (index, &byte) in bytes.iter().enumerate() {
            let digit = self
                .values
                .get(usize::from(byte))
                .copied()
                .unwrap_or(INVALID);
            if digit == INVALID {
                return Err(ParseIdError::InvalidCharacter { index, byte });
            }
            n = n
                .checked_mul(self.radix())
                .and_then(|n| n.checked_add(u64::from(digit)))
                .ok_or(ParseIdError::Overflow)?;
        }
        Ok(n)
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    use super::Id;
    use serde::de::{self, Visitor};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::fmt;

    impl Serialize for Id {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_str(self)
        }
    }

    /// Accepts a decimal string or a non-negative integer.
    pub(super) struct IdVisitor;

    impl Visitor<'_> for IdVisitor {
        type Value = Id;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a snowflake id as a decimal string or an unsigned integer")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
            v.parse().map_err(E::custom)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Id, E> {
            Ok(Id(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Id, E> {
            u64::try_from(v)
                .map(Id)
                .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
        }
    }

    impl<'de> Deserialize<'de> for Id {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(IdVisitor)
        }
    }
}

/// Serde helpers for the *number* form of an [`Id`], for formats and peers that want integers:
/// `#[serde(with = "sinew_snowflake::serde_u64")]`. Deserializing still accepts a string too.
///
/// ```
/// # #[cfg(feature = "serde")] {
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Row {
///     #[serde(with = "sinew_snowflake::serde_u64")]
///     id: sinew_snowflake::Id,
/// }
/// # }
/// ```
#[cfg(feature = "serde")]
pub mod serde_u64 {
    use super::Id;
    use serde::{Deserializer, Serializer};

    /// Serializes the ID as an unsigned integer.
    ///
    /// # Errors
    ///
    /// Whatever the serializer returns.
    pub fn serialize<S: Serializer>(id: &Id, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(id.get())
    }

    /// Deserializes an ID from an unsigned integer or a decimal string.
    ///
    /// # Errors
    ///
    /// If the input is neither, or does not fit in a `u64`.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Id, D::Error> {
        deserializer.deserialize_any(super::serde_impl::IdVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_forms_pad_and_sort() {
        assert_eq!(Id::new(0).to_base62(), "00000000000");
        assert_eq!(Id::new(u64::MAX).to_base62(), "LygHa16AHYF");
        assert_eq!(Id::new(0).to_crockford(), "0000000000000");
        assert_eq!(Id::new(u64::MAX).to_crockford(), "FZZZZZZZZZZZZ");
        let ids = [0, 1, 61, 62, 1 << 40, u64::MAX - 1, u64::MAX];
        for pair in ids.windows(2) {
            let (a, b) = (Id::new(pair[0]), Id::new(pair[1]));
            assert!(a.to_base62() < b.to_base62());
            assert!(a.to_crockford() < b.to_crockford());
        }
    }

    #[test]
    fn decimal_is_strict() {
        assert_eq!("0".parse::<Id>(), Ok(Id::new(0)));
        assert_eq!("18446744073709551615".parse::<Id>(), Ok(Id::new(u64::MAX)));
        assert_eq!(
            "18446744073709551616".parse::<Id>(),
            Err(ParseIdError::Overflow)
        );
        assert_eq!("".parse::<Id>(), Err(ParseIdError::Empty));
        assert_eq!(
            "+1".parse::<Id>(),
            Err(ParseIdError::InvalidCharacter {
                index: 0,
                byte: b'+'
            })
        );
        assert_eq!(
            "1 ".parse::<Id>(),
            Err(ParseIdError::InvalidCharacter {
                index: 1,
                byte: b' '
            })
        );
        assert_eq!(
            "000000000000000000001".parse::<Id>(),
            Err(ParseIdError::InvalidLength {
                expected: 20,
                found: 21
            })
        );
    }

    #[test]
    fn base62_errors() {
        assert_eq!(Id::from_base62("LygHa16AHYG"), Err(ParseIdError::Overflow));
        assert_eq!(
            Id::from_base62("abc"),
            Err(ParseIdError::InvalidLength {
                expected: 11,
                found: 3
            })
        );
        assert_eq!(
            Id::from_base62("0000000000-"),
            Err(ParseIdError::InvalidCharacter {
                index: 10,
                byte: b'-'
            })
        );
        // A multi-byte character is reported at its first byte, never split.
        assert!(matches!(
            Id::from_base62("000000000é"),
            Err(ParseIdError::InvalidCharacter { index: 9, .. })
        ));
    }

    #[test]
    fn crockford_aliases_and_errors() {
        let id = Id::new(0x0123_4567_89ab_cdef);
        let canonical = id.to_crockford();
        assert_eq!(Id::from_crockford(&canonical.to_lowercase()), Ok(id));
        assert_eq!(Id::from_crockford("OOOOOOOOOOOOI"), Ok(Id::new(1)));
        assert_eq!(Id::from_crockford("000000000000l"), Ok(Id::new(1)));
        assert_eq!(
            Id::from_crockford("G000000000000"),
            Err(ParseIdError::Overflow)
        );
        assert_eq!(
            Id::from_crockford("000000000000U"),
            Err(ParseIdError::InvalidCharacter {
                index: 12,
                byte: b'U'
            })
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_string_by_default_number_on_request() {
        let id = Id::new(u64::MAX);
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"18446744073709551615\""
        );
        assert_eq!(serde_json::from_str::<Id>("\"42\"").unwrap(), Id::new(42));
        assert_eq!(serde_json::from_str::<Id>("42").unwrap(), Id::new(42));
        assert!(serde_json::from_str::<Id>("-1").is_err());
        assert!(serde_json::from_str::<Id>("\"x\"").is_err());
        assert!(serde_json::from_str::<Id>("1.5").is_err());

        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Row {
            #[serde(with = "crate::serde_u64")]
            id: Id,
        }
        let row = Row { id: Id::new(7) };
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(json, r#"{"id":7}"#);
        assert_eq!(serde_json::from_str::<Row>(&json).unwrap(), row);
    }
}
