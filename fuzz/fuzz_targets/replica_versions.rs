//! Arbitrary bytes into sinew-replica's version decoders: no panic, and whatever decodes is
//! canonical (re-encoding gives back exactly the bytes read), decodes to the same value, and
//! holds the type's invariants.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sinew_replica::version::{Dot, Siblings, VersionVector};

fuzz_target!(|data: &[u8]| {
    if let Ok((v, used)) = VersionVector::decode(data) {
        let mut out = Vec::new();
        v.encode(&mut out);
        assert_eq!(out.len(), v.encoded_len());
        assert_eq!(&out[..], &data[..used]);
        assert_eq!(VersionVector::from_bytes(&out), Ok(v.clone()));
        // Rebuilt from its dots, it is the same vector (sorted, no zero counters).
        assert_eq!(v.iter().collect::<VersionVector>(), v);
    }

    if let Ok((d, used)) = Dot::decode(data) {
        let mut out = Vec::new();
        d.encode(&mut out);
        assert_eq!(&out[..], &data[..used]);
    }

    let copied = Siblings::decode(data);
    let shared = Bytes::copy_from_slice(data);
    // The zero-copy decoder agrees with the copying one.
    assert_eq!(Siblings::decode_bytes(&shared), copied);
    if let Ok((s, used)) = copied {
        let mut out = Vec::new();
        s.encode(&mut out);
        assert_eq!(out.len(), s.encoded_len());
        assert_eq!(&out[..], &data[..used]);
        assert_eq!(Siblings::from_bytes(&out).as_ref(), Ok(&s));
        // Invariants: sorted dots, each covered by the context.
        let mut merged = s.clone();
        merged.merge(&s);
        assert_eq!(merged, s);
        assert!(s.iter().all(|x| s.covers(x.dot)));
        assert!(s.iter().zip(s.iter().skip(1)).all(|(a, b)| a.dot < b.dot));
        let mut newest = s.clone();
        newest.keep_newest();
        assert_eq!(newest.len(), s.len().min(1));
        assert_eq!(newest.newest(), s.newest());
    }
});
