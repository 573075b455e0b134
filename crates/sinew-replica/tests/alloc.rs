//! Heap allocations per operation on the coordinator's hot path: a quorum read and a quorum
//! write handled end to end (start, three replies, completion), counted with a counting global
//! allocator. The inputs are built before counting: the replies come out of the decoder in a
//! real node, and the write's context out of the client's read, whatever the coordinator does.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use bytes::Bytes;
use sinew_clock::{HybridClock, ManualClock};
use sinew_replica::{
    Completion, Coordinator, Dot, Message, Options, Policy, Siblings, VersionVector,
};
use sinew_ring::HashRing;
use sinew_testkit::CountingAllocator;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

const NOW: Duration = Duration::from_secs(1_700_000_000);
const WARM_UP: u64 = 10;
const ROUNDS: u64 = 100;

/// A replica's object: one value over a 5-actor context.
fn object() -> Siblings {
    let mut o = Siblings::new();
    let mut context = VersionVector::new();
    for actor in 1..=5 {
        context.witness(Dot {
            actor,
            counter: 40 + actor,
        });
    }
    o.write(
        3,
        &context,
        sinew_clock::HlcTimestamp::from_u64(77),
        Bytes::from_static(b"v"),
    );
    o
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Read,
    /// A write; `true` if it carries the context of a read, `false` for a blind write.
    Write(bool),
}

/// Allocations per operation over `ROUNDS` operations, after a warm-up that grows every
/// buffer of the coordinator.
fn allocations_per_op(policy: Policy, kind: Op) -> u64 {
    let ring: HashRing<u64> = (0..5).collect();
    let mut c = Coordinator::new(0u64, 1, policy, HybridClock::new(ManualClock::new(NOW)));
    let key = Bytes::from_static(b"user:42");
    let value = Bytes::from_static(b"value");
    let rounds = WARM_UP + ROUNDS;
    // Separate objects, as decoded replies are.
    let mut replies: Vec<Vec<Siblings>> = (0..rounds)
        .map(|_| (0..3).map(|_| object()).collect())
        .collect();
    let mut contexts: Vec<VersionVector> = (0..rounds)
        .map(|_| match kind {
            Op::Write(true) => object().context().clone(),
            _ => VersionVector::new(),
        })
        .collect();
    let mut before = 0;
    for round in 0..rounds {
        if round == WARM_UP {
            before = CountingAllocator::allocations_on_this_thread();
        }
        let mut objects = replies.pop().unwrap();
        let context = contexts.pop().unwrap();
        match kind {
            Op::Read => c.get(key.clone(), &ring, |_| true, Options::QUORUM, NOW),
            Op::Write(_) => c.put(
                key.clone(),
                value.clone(),
                context,
                &ring,
                |_| true,
                Options::QUORUM,
                NOW,
            ),
        }
        .unwrap();
        while let Some(t) = c.poll_transmit() {
            let reply = match t.message {
                Message::Get { op, .. } => Message::GetReply {
                    op,
                    object: objects.pop().unwrap(),
                },
                Message::Put { op, .. } => Message::PutReply {
                    op,
                    dot: Dot {
                        actor: 3,
                        counter: 1,
                    },
                    object: objects.pop().unwrap(),
                },
                Message::Replicate { op, .. } => Message::Ack { op },
                other => panic!("{other:?}"),
            };
            c.handle_reply(t.to, reply, NOW);
        }
        match c.poll_event() {
            Some(Completion::Get { result, .. }) => drop(result.unwrap()),
            Some(Completion::Put { result, .. }) => drop(result.unwrap()),
            other => panic!("{other:?}"),
        }
        assert_eq!(c.in_flight(), 0);
        drop(objects);
    }
    let total = CountingAllocator::allocations_on_this_thread() - before;
    assert_eq!(
        total % ROUNDS,
        0,
        "{policy:?} {kind:?}: {total} in {ROUNDS} ops"
    );
    total / ROUNDS
}

#[test]
fn a_quorum_read_allocates_nothing() {
    // The replies agree: the caller gets one of them, shared, not merged or copied.
    for policy in [Policy::Dvv, Policy::Lww] {
        assert_eq!(allocations_per_op(policy, Op::Read), 0, "{policy:?}");
    }
}

#[test]
fn a_quorum_dvv_write_allocates_nothing_but_the_context_copy() {
    // The leader's object goes to the two other replicas shared, not copied.
    assert_eq!(allocations_per_op(Policy::Dvv, Op::Write(false)), 0);
    // With a context: the request to the leader carries a copy of it, as the operation
    // keeps it to ask another leader if this one does not answer.
    assert_eq!(allocations_per_op(Policy::Dvv, Op::Write(true)), 1);
}

#[test]
fn a_quorum_lww_write_allocates_only_the_new_object() {
    // The coordinator builds the object it replicates: its shared container (the `Arc`),
    // its context's `Vec` and its siblings' `Vec` (one dot, one value). The three replicas
    // get it shared, not copied; the context the client passes plays no part in LWW.
    for context in [false, true] {
        assert_eq!(allocations_per_op(Policy::Lww, Op::Write(context)), 3);
    }
}
