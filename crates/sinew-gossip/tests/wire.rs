//! Property tests of the wire format: round trips, MTU packing, and total decoding.
// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::Bytes;
use proptest::prelude::*;
use sinew_gossip::wire::{self, DIGEST_BUCKETS, Message, Packer};
use sinew_gossip::{Incarnation, State};

fn addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port)),
        (any::<[u8; 16]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port)),
    ]
}

fn incarnation() -> impl Strategy<Value = Incarnation> {
    (any::<u64>(), any::<u32>()).prop_map(|(g, n)| Incarnation::new(g, n))
}

fn state() -> impl Strategy<Value = State> {
    prop_oneof![
        Just(State::Alive),
        Just(State::Suspect),
        Just(State::Dead),
        Just(State::Left)
    ]
}

fn metadata() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..300).prop_map(Bytes::from)
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        any::<u32>().prop_map(|seq| Message::Ping { seq }),
        any::<u32>().prop_map(|seq| Message::Ack { seq }),
        any::<u32>().prop_map(|seq| Message::Nack { seq }),
        (any::<u32>(), addr()).prop_map(|(seq, target)| Message::PingReq { seq, target }),
        (addr(), incarnation(), metadata()).prop_map(|(addr, incarnation, metadata)| {
            Message::Alive {
                addr,
                incarnation,
                metadata,
            }
        }),
        (addr(), incarnation(), addr(), any::<u32>()).prop_map(
            |(addr, incarnation, from, age_ms)| Message::Suspect {
                addr,
                incarnation,
                from,
                age_ms,
            }
        ),
        (addr(), incarnation(), addr()).prop_map(|(addr, incarnation, from)| Message::Dead {
            addr,
            incarnation,
            from
        }),
        (addr(), incarnation()).prop_map(|(addr, incarnation)| Message::Left { addr, incarnation }),
        (
            any::<bool>(),
            proptest::collection::vec(any::<u64>(), DIGEST_BUCKETS)
        )
            .prop_map(|(reply, buckets)| Message::SyncDigest { reply, buckets }),
        (addr(), incarnation(), state(), metadata()).prop_map(
            |(addr, incarnation, state, metadata)| Message::SyncState {
                addr,
                incarnation,
                state,
                metadata,
            }
        ),
    ]
}

proptest! {
    #[test]
    fn datagram_round_trips(
        label in proptest::collection::vec(any::<u8>(), 0..40),
        sender in addr(),
        messages in proptest::collection::vec(message(), 1..6),
    ) {
        let bytes = wire::encode(&label, &sender, &messages);
        let expected: usize = wire::header_len(&label, &sender)
            + messages.iter().map(Message::encoded_len).sum::<usize>();
        prop_assert_eq!(bytes.len(), expected);
        let d = wire::decode(&bytes).unwrap();
        prop_assert_eq!(&d.label[..], &label[..]);
        prop_assert_eq!(d.sender, sender);
        prop_assert_eq!(d.messages, messages);
    }

    #[test]
    fn packer_never_exceeds_mtu_and_loses_nothing(
        mtu in 600usize..2000,
        sender in addr(),
        messages in proptest::collection::vec(message(), 0..40),
    ) {
        let mut p = Packer::new(b"label", sender, mtu);
        for m in &messages {
            prop_assert!(p.push(m));
        }
        let mut decoded = Vec::new();
        for d in p.finish() {
            prop_assert!(d.len() <= mtu);
            decoded.extend(wire::decode(&d).unwrap().messages);
        }
        prop_assert_eq!(decoded, messages);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = wire::decode(&bytes);
        // Also with a valid header in front, so the message decoders see the noise.
        let mut framed = vec![wire::PROTOCOL_VERSION, 0, 4, 10, 0, 0, 1, 0x1f, 0x0a];
        framed.extend_from_slice(&bytes);
        if let Ok(d) = wire::decode(&framed) {
            // Whatever decodes re-encodes to something that decodes to the same.
            let again = wire::encode(&d.label, &d.sender, &d.messages);
            prop_assert_eq!(wire::decode(&again).unwrap(), d);
        }
    }

    #[test]
    fn truncations_are_errors_not_panics(
        sender in addr(),
        messages in proptest::collection::vec(message(), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes = wire::encode(b"", &sender, &messages);
        let cut = cut.index(bytes.len());
        // Every strict prefix that ends inside a message is an error; one that ends exactly
        // between messages decodes to fewer messages.
        if let Ok(d) = wire::decode(&bytes[..cut]) {
            prop_assert!(d.messages.len() < messages.len());
        }
    }
}
