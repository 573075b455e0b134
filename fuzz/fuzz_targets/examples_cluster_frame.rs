//! Arbitrary bytes into the showcase's frame decoder (what a node reads from any TCP
//! connection): no panic, and a frame that decodes re-encodes to bytes that decode to the
//! same frame.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sinew_examples::wire::Frame;

fuzz_target!(|data: &[u8]| {
    let Ok(frame) = Frame::decode(Bytes::copy_from_slice(data)) else {
        return;
    };
    let again = frame.encode();
    assert_eq!(Frame::decode(again).as_ref(), Ok(&frame));
});
