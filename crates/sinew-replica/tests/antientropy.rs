//! Key-level anti-entropy between two replicas: Merkle trees over the keys they share find
//! the ranges that differ, one Sync and its reply repair both sides, and keys only one of
//! them replicates never cross.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bytes::Bytes;
use sinew_clock::HlcTimestamp;
use sinew_merkle::antientropy::diff;
use sinew_replica::{Message, Policy, Replica, Siblings, Store, VersionVector};

fn write(r: &mut Replica<u8>, key: &str, value: &str, actor: u64) {
    let mut o = r.store().get(key.as_bytes()).unwrap_or_default();
    o.write(
        actor,
        &VersionVector::new(),
        HlcTimestamp::from_u64(5),
        Bytes::from(value.to_owned()),
    );
    r.store_mut().put(Bytes::from(key.to_owned()), o);
}

fn get(r: &Replica<u8>, key: &str) -> Option<Siblings> {
    r.store().get(key.as_bytes())
}

#[test]
fn a_sync_and_its_reply_repair_both_sides_of_the_ranges_that_differ() {
    let now = Duration::ZERO;
    let mut a = Replica::new(1u8, 1, Policy::Dvv);
    let mut b = Replica::new(2u8, 2, Policy::Dvv);
    // Keys "s*" are shared; "a-only" and "b-only" belong to one side's other ranges.
    let shared = |key: &[u8]| key.starts_with(b"s");
    for i in 0..500 {
        let key = format!("s{i}");
        write(&mut a, &key, "base", 9);
        let object = get(&a, &key).unwrap();
        b.store_mut().put(Bytes::from(key), object);
    }
    write(&mut a, "s7", "new on a", 1); // a newer on a
    write(&mut b, "s300", "new on b", 2); // a newer on b
    write(&mut a, "s42", "concurrent a", 1);
    write(&mut b, "s42", "concurrent b", 2); // concurrent: both must survive
    write(&mut a, "s1000", "only a has it", 1);
    write(&mut a, "a-only", "x", 1);
    write(&mut b, "b-only", "y", 2);

    let (ta, tb) = (
        a.merkle_tree(8, shared).unwrap(),
        b.merkle_tree(8, shared).unwrap(),
    );
    let ranges = diff(&ta, &tb).unwrap();
    assert!(!ranges.is_empty() && ranges.len() <= 4, "{ranges:?}");

    let sync = a.sync_request(2, &ta, &ranges, shared);
    let sent = match &sync.message {
        Message::Sync { objects, .. } => objects.len(),
        other => panic!("{other:?}"),
    };
    assert!(
        sent < 50,
        "only the differing ranges travel, not the {} shared keys",
        501
    );
    b.handle_sync(1, sync.message, shared, now);
    let reply = b.poll_transmit().unwrap();
    assert_eq!(reply.to, 1);
    a.handle(2, reply.message, now);

    for key in ["s7", "s300", "s42", "s1000"] {
        assert_eq!(get(&a, key), get(&b, key), "{key} converged");
    }
    // Blind writes: the base and both concurrent writes are siblings, on both sides.
    assert_eq!(
        get(&a, "s42").unwrap().len(),
        3,
        "concurrent writes kept as siblings"
    );
    assert!(
        get(&b, "a-only").is_none() && get(&a, "b-only").is_none(),
        "no key crossed over"
    );
    let (ta, tb) = (
        a.merkle_tree(8, shared).unwrap(),
        b.merkle_tree(8, shared).unwrap(),
    );
    assert_eq!(
        diff(&ta, &tb).unwrap(),
        [],
        "the trees agree after one exchange"
    );
}

#[test]
fn a_peer_cannot_plant_keys_outside_the_shared_set_or_the_ranges() {
    let mut a = Replica::new(1u8, 1, Policy::Dvv);
    let mut evil = Replica::new(2u8, 2, Policy::Dvv);
    write(&mut evil, "not-ours", "x", 2);
    write(&mut evil, "s1", "x", 2);
    let shared_by_evil = |_: &[u8]| true;
    let tree = evil.merkle_tree(4, shared_by_evil).unwrap();
    let all = [sinew_merkle::antientropy::BucketRange { start: 0, end: 16 }];
    let sync = evil.sync_request(1, &tree, &all, shared_by_evil);
    a.handle_sync(
        2,
        sync.message,
        |k: &[u8]| k.starts_with(b"s"),
        Duration::ZERO,
    );
    assert!(get(&a, "not-ours").is_none());
    assert!(get(&a, "s1").is_some());
}
