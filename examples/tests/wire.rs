//! The showcase's frames: every kind round-trips, and bad bytes are errors, never panics.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use sinew::replica::{Dot, Message, Siblings, VersionVector};
use sinew_examples::wire::Frame;

fn all_kinds() -> Vec<Frame> {
    let mut context = VersionVector::new();
    context.witness(Dot::new(7, 3));
    let key = Bytes::from_static(b"user:000001");
    vec![
        Frame::HelloClient("alice".into()),
        Frame::HelloPeer("node-1".into()),
        Frame::HelloRepair {
            from: "node-2".into(),
            depth: 11,
        },
        Frame::Get(key.clone()),
        Frame::Put {
            key: key.clone(),
            value: Bytes::from_static(b"v1"),
            context,
        },
        Frame::Stats,
        Frame::Dump,
        Frame::Repair,
        Frame::Value(Siblings::new()),
        Frame::Written(Dot::new(7, 4)),
        Frame::Limited,
        Frame::Failed("no quorum".into()),
        Frame::Json("{}".into()),
        Frame::Chunk(vec![(key.clone(), Siblings::new())]),
        Frame::End,
        Frame::Peer(Message::Get { op: 9, key }),
        Frame::Round(Bytes::from_static(b"\x01\x02")),
    ]
}

#[test]
fn every_frame_round_trips() {
    for frame in all_kinds() {
        assert_eq!(Frame::decode(frame.encode()).unwrap(), frame);
    }
}

#[test]
fn bad_bytes_are_errors() {
    for frame in all_kinds() {
        let bytes = frame.encode();
        // Every strict prefix of a frame with fields, and a trailing byte after any frame
        // but the two whose payload is the rest of the frame.
        for cut in 1..bytes.len() {
            if !matches!(frame, Frame::Round(_) | Frame::Peer(_)) {
                assert!(
                    Frame::decode(bytes.slice(..cut)).is_err(),
                    "{frame:?} cut at {cut}"
                );
            }
        }
        if !matches!(frame, Frame::Round(_)) {
            let mut longer = bytes.to_vec();
            longer.push(0);
            assert!(
                Frame::decode(Bytes::from(longer)).is_err(),
                "{frame:?} + 1 byte"
            );
        }
    }
    assert!(Frame::decode(Bytes::new()).is_err());
    assert!(Frame::decode(Bytes::from_static(&[99])).is_err());
    // A chunk claiming four billion objects in a few bytes is refused without reserving them.
    assert!(Frame::decode(Bytes::from_static(&[25, 0xff, 0xff, 0xff, 0xff, 0, 0])).is_err());
}
