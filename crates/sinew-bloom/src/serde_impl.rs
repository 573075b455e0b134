//! `serde` support (feature `serde`): every filter with the default hasher serializes as its
//! [`to_bytes`](crate::BloomFilter::to_bytes) form, a byte string, and deserializes through
//! `from_bytes`, so a decoded filter is checked exactly as `from_bytes` checks it.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};

use crate::{
    AtomicBloomFilter, BlockedBloomFilter, BloomFilter, CountingBloomFilter, DecodeError,
    ScalableBloomFilter, SplitBlockBloomFilter,
};

struct BytesVisitor<F>(fn(&[u8]) -> Result<F, DecodeError>, PhantomData<F>);

impl<'de, F> Visitor<'de> for BytesVisitor<F> {
    type Value = F;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sinew-bloom filter as bytes")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<F, E> {
        (self.0)(v).map_err(E::custom)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<F, A::Error> {
        // Grow as elements arrive: a size hint from the input is not trusted for allocation.
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(b) = seq.next_element::<u8>()? {
            bytes.push(b);
        }
        (self.0)(&bytes).map_err(de::Error::custom)
    }
}

macro_rules! serde_as_bytes {
    ($($ty:ty),*) => {$(
        #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_bytes(&self.to_bytes())
            }
        }

        #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_bytes(BytesVisitor(<$ty>::from_bytes, PhantomData))
            }
        }
    )*};
}

serde_as_bytes!(
    BloomFilter,
    BlockedBloomFilter,
    AtomicBloomFilter,
    SplitBlockBloomFilter,
    CountingBloomFilter,
    ScalableBloomFilter
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn json_round_trip_and_bad_input() {
        let mut f = BloomFilter::with_false_positive_rate(100, 0.01).unwrap();
        f.insert("a");
        let json = serde_json::to_string(&f).unwrap();
        let g: BloomFilter = serde_json::from_str(&json).unwrap();
        assert_eq!(f, g);
        let mut s = ScalableBloomFilter::with_false_positive_rate(2, 0.01).unwrap();
        for i in 0..10u8 {
            s.insert(&i);
        }
        let t: ScalableBloomFilter =
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(s, t);
        assert!(serde_json::from_str::<BloomFilter>("[1,2,3]").is_err());
        assert!(serde_json::from_str::<BlockedBloomFilter>(&json).is_err()); // wrong variant
    }
}
