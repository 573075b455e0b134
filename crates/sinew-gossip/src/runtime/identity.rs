//! Member names, carried in front of the application's metadata.
//!
//! The core identifies a member by its address; people and programs name them. The runtime
//! prefixes the metadata the core spreads with the name (`name_len:u8 | name | metadata`), so
//! every member learns every other's name with no extra message, and the name survives
//! restarts on a new address.

use bytes::{BufMut, Bytes, BytesMut};

/// The longest name, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// The bytes the core carries for a member called `name` with `metadata`.
pub(crate) fn wrap(name: &str, metadata: &[u8]) -> Bytes {
    let len = name.len().min(MAX_NAME_LEN);
    let mut buf = BytesMut::with_capacity(1 + len + metadata.len());
    buf.put_u8(u8::try_from(len).unwrap_or(u8::MAX));
    buf.put_slice(name.as_bytes().get(..len).unwrap_or_default());
    buf.put_slice(metadata);
    buf.freeze()
}

/// The name and application metadata in bytes a peer sent, or `None` if they are not a name
/// envelope (a peer that is not a runtime, or a malformed one).
pub(crate) fn unwrap(bytes: &Bytes) -> Option<(String, Bytes)> {
    let (&len, rest) = bytes.split_first()?;
    let len = usize::from(len);
    let name = rest.get(..len)?;
    let name = std::str::from_utf8(name).ok()?;
    // The same rule as for our own name: no empty, overlong or control-character names
    // reach events, snapshots or logs.
    if !valid_name(name) {
        return None;
    }
    Some((name.to_owned(), bytes.slice(1 + len..)))
}

/// Whether `name` is usable: 1 to [`MAX_NAME_LEN`] bytes of UTF-8 with no control characters.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME_LEN && !name.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let b = wrap("n1", b"zone=a");
        assert_eq!(
            unwrap(&b),
            Some(("n1".to_owned(), Bytes::from_static(b"zone=a")))
        );
        let b = wrap("node", b"");
        assert_eq!(unwrap(&b), Some(("node".to_owned(), Bytes::new())));
    }

    #[test]
    fn malformed_is_none() {
        for bad in [
            &b""[..],
            b"\x00",
            b"\x05abc",
            b"\x02\xff\xfe",
            b"\x41",
            b"\x02a\n",
            b"\x03\x1b[m",
        ] {
            assert_eq!(unwrap(&Bytes::copy_from_slice(bad)), None, "{bad:?}");
        }
    }

    proptest::proptest! {
        // The envelope arrives from peers: any bytes give a name or None, never a panic;
        // and every valid name round trips with any metadata.
        #[test]
        fn any_bytes_unwrap_without_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = unwrap(&Bytes::from(bytes));
        }

        #[test]
        fn valid_names_round_trip(name in "[a-z0-9.-]{1,64}", md in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..100)) {
            let got = unwrap(&wrap(&name, &md));
            proptest::prop_assert_eq!(got, Some((name, Bytes::from(md))));
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(valid_name("n1"));
        assert!(!valid_name(""));
        assert!(!valid_name("a\nb"));
        assert!(!valid_name(&"x".repeat(MAX_NAME_LEN + 1)));
    }
}
