//! Every decoder of untrusted bytes: proofs, reconciliation messages (and a reconciler and a
//! responder fed them), compact-tree frontiers. No panic; whatever decodes re-encodes to the
//! same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sinew_merkle::AntiEntropyTree;
use sinew_merkle::antientropy::{Message, Reconciler, Responder};
use sinew_merkle::log::{CompactTree, ConsistencyProof, InclusionProof};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = InclusionProof::from_bytes(data) {
        assert_eq!(p.to_bytes(), data);
        assert!(p.index() < p.size());
    }
    if let Ok(p) = ConsistencyProof::from_bytes(data) {
        assert_eq!(p.to_bytes(), data);
        assert!(p.old_size() <= p.new_size());
    }
    if let Ok(m) = Message::decode(data) {
        assert_eq!(m.encode(), data);
    }

    // The protocol state machines on hostile bytes, at any point of an exchange.
    let (Ok(a), Ok(b)) = (AntiEntropyTree::new(3), AntiEntropyTree::new(3)) else {
        return;
    };
    a.insert("a", 1);
    let mut rec = Reconciler::new(&a);
    let mut resp = Responder::new(&b);
    let first = rec.start();
    let _ = resp.respond(data);
    let _ = rec.receive(data);
    if let Ok(reply) = resp.respond(&first) {
        let _ = rec.receive(&reply);
        let _ = rec.receive(data);
        let _ = resp.respond(data);
    }

    // A frontier: size from the first 8 bytes, hashes from the rest.
    if let Some((size, rest)) = data.split_first_chunk::<8>() {
        let frontier = rest
            .chunks_exact(32)
            .filter_map(|c| <[u8; 32]>::try_from(c).ok())
            .collect();
        if let Ok(mut c) = CompactTree::from_parts(u64::from_le_bytes(*size), frontier) {
            let _ = c.root();
            // A push never wraps the size: it grows by one, or a full tree refuses it.
            let before = c.len();
            match c.push(b"leaf") {
                Ok(()) => assert_eq!(c.len(), before + 1),
                Err(_) => assert_eq!(c.len(), u64::MAX),
            }
        }
    }
});
