//! Anti-entropy: reconciliation finds exactly the buckets that hold a difference, in `depth`
//! round trips; digests do not depend on the order of updates; bad messages are rejected.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use sinew_merkle::antientropy::{
    BucketRange, DEFAULT_MAX_CANDIDATES, Message, Reconciler, Responder, Step, diff,
};
use sinew_merkle::{AntiEntropyTree, DiffError, ReconcileError};

type Store = BTreeMap<u32, u64>;

fn build(depth: u8, store: &Store) -> AntiEntropyTree {
    let t = AntiEntropyTree::new(depth).unwrap();
    for (k, v) in store {
        t.insert(k.to_be_bytes(), *v);
    }
    t
}

/// Runs the exchange; returns the ranges, rounds and total bytes.
fn reconcile(a: &AntiEntropyTree, b: &AntiEntropyTree) -> (Vec<BucketRange>, u32, u64) {
    let mut rec = Reconciler::new(a);
    let mut resp = Responder::new(b);
    let mut msg = rec.start();
    loop {
        let reply = resp.respond(&msg).unwrap();
        match rec.receive(&reply).unwrap() {
            Step::Send(next) => msg = next,
            Step::Done(ranges) => {
                assert_eq!(resp.differences(), Some(&ranges[..]));
                assert_eq!(rec.rounds(), resp.rounds());
                assert_eq!(rec.bytes_sent(), resp.bytes_received());
                assert_eq!(rec.bytes_received(), resp.bytes_sent());
                return (
                    ranges,
                    rec.rounds(),
                    rec.bytes_sent() + rec.bytes_received(),
                );
            }
        }
    }
}

/// Runs a reconciler against `answer` (a scripted or hostile responder) until it is done or
/// fails.
fn drive(
    rec: &mut Reconciler<'_>,
    mut answer: impl FnMut(&[u8]) -> Vec<u8>,
) -> Result<Vec<BucketRange>, ReconcileError> {
    let mut msg = rec.start();
    loop {
        match rec.receive(&answer(&msg))? {
            Step::Send(next) => msg = next,
            Step::Done(ranges) => return Ok(ranges),
        }
    }
}

fn expand(ranges: &[BucketRange]) -> BTreeSet<u32> {
    ranges.iter().flat_map(|r| r.start..r.end).collect()
}

#[derive(Debug, Clone)]
enum Drift {
    /// A key only one side has (a lost write on the other).
    Insert(bool, u32, u64),
    /// A key one side deleted (the other missed the delete).
    Delete(bool, usize),
    /// One side has a newer version.
    Bump(bool, usize),
}

fn drift() -> impl Strategy<Value = Drift> {
    prop_oneof![
        (any::<bool>(), 1_000_000u32..2_000_000, 1u64..5)
            .prop_map(|(s, k, v)| Drift::Insert(s, k, v)),
        (any::<bool>(), any::<usize>()).prop_map(|(s, i)| Drift::Delete(s, i)),
        (any::<bool>(), any::<usize>()).prop_map(|(s, i)| Drift::Bump(s, i)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn reconciliation_finds_exactly_the_differing_buckets(
        depth in 1u8..=12,
        keys in proptest::collection::btree_map(0u32..1_000_000, 1u64..100, 0..400),
        drifts in proptest::collection::vec(drift(), 0..30),
    ) {
        let mut a = keys.clone();
        let mut b = keys.clone();
        let base: Vec<u32> = keys.keys().copied().collect();
        for d in drifts {
            match d {
                Drift::Insert(side, k, v) => {
                    if side { a.insert(k, v); } else { b.insert(k, v); }
                }
                Drift::Delete(side, i) if !base.is_empty() => {
                    let k = base[i % base.len()];
                    if side { a.remove(&k); } else { b.remove(&k); }
                }
                Drift::Bump(side, i) if !base.is_empty() => {
                    let k = base[i % base.len()];
                    let s = if side { &mut a } else { &mut b };
                    if let Some(v) = s.get_mut(&k) { *v += 1; }
                }
                _ => {}
            }
        }
        let ta = build(depth, &a);
        let tb = build(depth, &b);
        // The buckets holding a key whose presence or version differs.
        let all: BTreeSet<u32> = a.keys().chain(b.keys()).copied().collect();
        let want: BTreeSet<u32> = all
            .into_iter()
            .filter(|k| a.get(k) != b.get(k))
            .map(|k| ta.bucket_of(k.to_be_bytes()))
            .collect();

        let (ranges, rounds, _) = reconcile(&ta, &tb);
        prop_assert_eq!(expand(&ranges), want.clone());
        prop_assert_eq!(diff(&ta, &tb).unwrap(), ranges.clone());
        if want.is_empty() {
            prop_assert_eq!(rounds, 1);
            prop_assert_eq!(ta.root(), tb.root());
        } else {
            prop_assert_eq!(rounds, u32::from(depth));
        }
        // The other direction finds the same buckets.
        let (back, _, _) = reconcile(&tb, &ta);
        prop_assert_eq!(back, ranges);
    }

    #[test]
    fn digests_do_not_depend_on_update_order(
        ops in proptest::collection::vec((0u32..500, 1u64..4), 0..300),
        seed in any::<u64>(),
    ) {
        // Apply a history forwards and in a shuffled order: inserts, then updates and removals
        // derived from it, so every order is a valid history with the same final state.
        let t1 = AntiEntropyTree::with_seed(7, seed).unwrap();
        let t2 = AntiEntropyTree::with_seed(7, seed).unwrap();
        let mut final_state: BTreeMap<u32, u64> = BTreeMap::new();
        for &(k, v) in &ops {
            match final_state.get(&k).copied() {
                None => { t1.insert(k.to_be_bytes(), v); final_state.insert(k, v); }
                Some(old) if old == v => { t1.remove(k.to_be_bytes(), v); final_state.remove(&k); }
                Some(old) => { t1.update(k.to_be_bytes(), old, v); final_state.insert(k, v); }
            }
            if k % 50 == 0 { let _ = t1.root(); } // reads in between exercise the cache
        }
        let mut entries: Vec<(u32, u64)> = final_state.into_iter().collect();
        entries.reverse();
        let shift = (seed % 7) as usize % entries.len().max(1);
        entries.rotate_left(shift);
        for (k, v) in entries {
            t2.insert(k.to_be_bytes(), v);
        }
        prop_assert_eq!(t1.root(), t2.root());
        for b in 0..t1.buckets() {
            prop_assert_eq!(t1.bucket_digest(b), t2.bucket_digest(b));
        }
        for level in 0..=7u8 {
            for i in 0..1u32 << level {
                prop_assert_eq!(t1.node_digest(level, i), t2.node_digest(level, i));
            }
        }
    }

    #[test]
    fn garbage_never_advances_the_exchange(
        garbage in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..8),
        cuts in proptest::collection::vec(any::<usize>(), 1..8),
    ) {
        // The same reconciler and responder take garbage (random bytes, and truncations of the
        // honest messages) before every honest message of the exchange; each piece must be
        // rejected, and the exchange must still end with exactly the right ranges.
        let t = AntiEntropyTree::new(4).unwrap();
        let u = AntiEntropyTree::new(4).unwrap();
        for k in 0..40u32 {
            t.insert(k.to_be_bytes(), 1);
            u.insert(k.to_be_bytes(), 1);
        }
        t.insert("x", 1);
        u.update(7u32.to_be_bytes(), 1, 2);
        let want = diff(&t, &u).unwrap();
        prop_assert_eq!(
            expand(&want),
            BTreeSet::from([t.bucket_of("x"), t.bucket_of(7u32.to_be_bytes())])
        );

        let mut rec = Reconciler::new(&t);
        let mut resp = Responder::new(&u);
        let mut msg = rec.start();
        let mut round = 0usize;
        let ranges = loop {
            let junk = &garbage[round % garbage.len()];
            let cut = cuts[round % cuts.len()] % msg.len();
            prop_assert!(resp.respond(junk).is_err());
            prop_assert!(resp.respond(&msg[..cut]).is_err());
            prop_assert!(rec.receive(junk).is_err());
            prop_assert!(rec.receive(&msg).is_err(), "a Digests message is not a reply");
            let reply = resp.respond(&msg).unwrap();
            prop_assert!(resp.respond(&msg).is_err(), "a replayed message");
            prop_assert!(rec.receive(&reply[..cut.min(reply.len() - 1)]).is_err());
            prop_assert!(rec.receive(junk).is_err());
            round += 1;
            match rec.receive(&reply).unwrap() {
                Step::Send(next) => msg = next,
                Step::Done(ranges) => break ranges,
            }
        };
        prop_assert_eq!(&ranges, &want);
        prop_assert_eq!(resp.differences(), Some(&want[..]));
        prop_assert_eq!(rec.rounds(), 4);
        prop_assert_eq!(resp.rounds(), 4);
    }
}

#[test]
fn depth_20_exchange() {
    // Two trees of 2^20 buckets (17 MiB each): the full exchange, both sides.
    let a = AntiEntropyTree::new(20).unwrap();
    let b = AntiEntropyTree::new(20).unwrap();
    for k in 0..1000u32 {
        a.insert(k.to_be_bytes(), 1);
        b.insert(k.to_be_bytes(), 1);
    }
    b.remove(5u32.to_be_bytes(), 1);
    let (ranges, rounds, bytes) = reconcile(&a, &b);
    assert_eq!(rounds, 20);
    assert_eq!(
        expand(&ranges),
        BTreeSet::from([a.bucket_of(5u32.to_be_bytes())])
    );
    // One differing path: two candidates per level, 16 + 32 bytes out and 17 back.
    assert_eq!(bytes, 20 * (16 + 32 + 17));
}

/// Answers a reconciler as a replica that differs from it in `bucket` only would: at each
/// level, of the two candidates (the children of the differing node), the ancestor of
/// `bucket` differs.
fn scripted_reply(msg: &[u8], depth: u8, seed: u64, bucket: u32) -> Vec<u8> {
    let Ok(Message::Digests { level, digests, .. }) = Message::decode(msg) else {
        panic!("expected digests");
    };
    assert_eq!(
        digests.len(),
        2,
        "one differing path has two candidates per level"
    );
    let target = bucket >> (depth - level);
    Message::Diff {
        depth,
        seed,
        level,
        differs: vec![target & 1 == 0, target & 1 == 1].into(),
    }
    .encode()
}

#[test]
fn depth_24_and_rounds() {
    // The deepest tree, once (a second one would double the 272 MiB): the reconciler against
    // a scripted responder for a replica that lost key 5.
    let a = AntiEntropyTree::new(24).unwrap();
    for k in 0..1000u32 {
        a.insert(k.to_be_bytes(), 1);
    }
    let lost = a.bucket_of(5u32.to_be_bytes());
    let mut rec = Reconciler::new(&a);
    let ranges = drive(&mut rec, |msg| scripted_reply(msg, 24, a.seed(), lost)).unwrap();
    assert_eq!(rec.rounds(), 24);
    assert_eq!(
        ranges,
        vec![BucketRange {
            start: lost,
            end: lost + 1
        }]
    );
    assert_eq!(rec.bytes_sent() + rec.bytes_received(), 24 * (16 + 32 + 17));
    assert_eq!(a.node_digest(24, lost), a.bucket_digest(lost));
}

#[test]
fn a_responder_claiming_everything_differs_hits_the_limit() {
    // Without a limit, "all differ" at every level doubles the reconciler's candidates each
    // round, to 2^depth. With the default limit (65,536) a depth-20 exchange stops at level
    // 17, which would need 131,072.
    let a = AntiEntropyTree::new(20).unwrap();
    a.insert("k", 1);
    let hostile = |msg: &[u8]| -> Vec<u8> {
        let Ok(Message::Digests {
            depth,
            seed,
            level,
            digests,
        }) = Message::decode(msg)
        else {
            panic!("expected digests");
        };
        Message::Diff {
            depth,
            seed,
            level,
            differs: vec![true; digests.len()].into(),
        }
        .encode()
    };
    let mut rec = Reconciler::new(&a);
    let mut msg = rec.start();
    let err = loop {
        let reply = hostile(&msg);
        match rec.receive(&reply) {
            Ok(Step::Send(next)) => msg = next,
            Ok(Step::Done(_)) => panic!("the limit must stop the exchange"),
            Err(e) => {
                // A rejected reply leaves the reconciler as it was.
                assert_eq!(rec.rounds(), 15);
                assert!(rec.differences().is_none());
                assert_eq!(rec.receive(&reply), Err(e.clone()));
                break e;
            }
        }
    };
    assert_eq!(
        err,
        ReconcileError::TooManyDifferences {
            level: 17,
            candidates: 131_072,
            limit: DEFAULT_MAX_CANDIDATES,
        }
    );
    assert!(msg.len() <= 16 + 16 * DEFAULT_MAX_CANDIDATES);

    // A custom limit, on a small tree.
    let a = AntiEntropyTree::new(10).unwrap();
    let mut rec = Reconciler::with_limit(&a, 100);
    assert_eq!(
        drive(&mut rec, hostile),
        Err(ReconcileError::TooManyDifferences {
            level: 7,
            candidates: 128,
            limit: 100
        })
    );
}

#[test]
fn a_reconciler_whose_digests_match_nothing_hits_the_responders_limit() {
    let b = AntiEntropyTree::new(10).unwrap();
    let mut resp = Responder::with_limit(&b, 16);
    let mut candidates = 2usize;
    for level in 1..=10u8 {
        let msg = Message::Digests {
            depth: 10,
            seed: b.seed(),
            level,
            digests: vec![u128::MAX; candidates],
        }
        .encode();
        match resp.respond(&msg) {
            Ok(_) => candidates *= 2,
            Err(e) => {
                assert_eq!(
                    e,
                    ReconcileError::TooManyDifferences {
                        level: 5,
                        candidates: 32,
                        limit: 16
                    }
                );
                assert_eq!(resp.rounds(), 3);
                assert!(!resp.is_done());
                return;
            }
        }
    }
    panic!("the limit must stop the exchange");
}

#[test]
fn honest_exchanges_within_the_limit_pass() {
    // Every bucket differs (an empty replica against a full one): 2^depth candidates at the
    // last level, accepted when the limit allows them on both sides.
    let a = AntiEntropyTree::new(6).unwrap();
    let b = AntiEntropyTree::new(6).unwrap();
    for k in 0..2000u32 {
        a.insert(k.to_be_bytes(), 1);
    }
    for (limit, want) in [
        (64, Ok(vec![BucketRange { start: 0, end: 64 }])),
        (
            63,
            Err(ReconcileError::TooManyDifferences {
                level: 6,
                candidates: 64,
                limit: 63,
            }),
        ),
    ] {
        let mut rec = Reconciler::with_limit(&a, limit);
        let mut resp = Responder::with_limit(&b, 64);
        assert_eq!(drive(&mut rec, |m| resp.respond(m).unwrap()), want);
    }
}

#[test]
fn incompatible_trees_and_out_of_turn_messages_are_rejected() {
    let a = AntiEntropyTree::with_seed(8, 1).unwrap();
    let b = AntiEntropyTree::with_seed(8, 2).unwrap();
    let c = AntiEntropyTree::with_seed(9, 1).unwrap();
    assert!(matches!(diff(&a, &b), Err(DiffError::Incompatible { .. })));
    assert!(matches!(diff(&a, &c), Err(DiffError::Incompatible { .. })));
    let mut rec = Reconciler::new(&a);
    let first = rec.start();
    assert!(matches!(
        Responder::new(&b).respond(&first),
        Err(ReconcileError::Incompatible { .. })
    ));
    // A Digests message where a Diff is expected, and a replayed first message.
    assert!(matches!(
        rec.receive(&first),
        Err(ReconcileError::Unexpected(_))
    ));
    a.insert("k", 1);
    let a2 = AntiEntropyTree::with_seed(8, 1).unwrap();
    let mut resp = Responder::new(&a2);
    let mut rec = Reconciler::new(&a);
    let first = rec.start();
    let reply = resp.respond(&first).unwrap();
    assert!(matches!(
        resp.respond(&first),
        Err(ReconcileError::Unexpected(_))
    ));
    assert!(matches!(rec.receive(&reply), Ok(Step::Send(_))));
    assert!(matches!(
        rec.receive(&reply),
        Err(ReconcileError::Unexpected(_))
    ));
    // Messages decode to what was sent.
    assert!(matches!(
        Message::decode(&first),
        Ok(Message::Digests { level: 1, .. })
    ));
}

#[test]
fn hashes_are_platform_independent_known_answers() {
    // Pinned values: a change here breaks interoperability between replicas of different
    // versions, so it must be deliberate.
    let t = AntiEntropyTree::new(16).unwrap();
    let bucket = t.bucket_of("user:42");
    let entry = t.entry_hash("user:42", 7);
    t.insert("user:42", 7);
    assert_eq!(t.root(), entry);
    assert_eq!(t.bucket_digest(bucket), Some(entry));
    assert_eq!(bucket, 65530);
    assert_eq!(entry, 0xfb2e_fe51_231f_5fbc_3d38_66a1_b95f_90cb);
    t.remove("user:42", 7);
    assert_eq!(t.root(), 0);
}

#[test]
fn threads_writing_and_reading_equal_sequential() {
    // 2 writers x 20,000 entries (inserts, then updates of half, removals of a quarter), with a
    // reader refreshing the cache all along; the result must equal one thread doing the same.
    let shared = std::sync::Arc::new(AntiEntropyTree::new(12).unwrap());
    let sequential = AntiEntropyTree::new(12).unwrap();
    let work = |t: &AntiEntropyTree, base: u32| {
        for i in base..base + 20_000 {
            t.insert(i.to_be_bytes(), 1);
        }
        for i in (base..base + 20_000).step_by(2) {
            t.update(i.to_be_bytes(), 1, 2);
        }
        for i in (base..base + 20_000).step_by(4) {
            t.remove(i.to_be_bytes(), 2);
        }
    };
    work(&sequential, 0);
    work(&sequential, 1_000_000);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    std::thread::scope(|s| {
        let reader = {
            let (t, stop) = (shared.clone(), stop.clone());
            s.spawn(move || {
                let mut reads = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = t.root();
                    let _ = t.node_digest(6, (reads % 64) as u32);
                    reads += 1;
                }
                reads
            })
        };
        let writers: Vec<_> = [0u32, 1_000_000]
            .into_iter()
            .map(|base| {
                let t = shared.clone();
                s.spawn(move || work(&t, base))
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
    });
    assert_eq!(shared.root(), sequential.root());
    for level in 0..=12u8 {
        for i in 0..1u32 << level {
            assert_eq!(
                shared.node_digest(level, i),
                sequential.node_digest(level, i)
            );
        }
    }
}
