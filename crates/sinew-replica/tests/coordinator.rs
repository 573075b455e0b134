//! The coordinator and replicas against scripted message orders: a tiny in-process cluster
//! where the test decides which messages are delivered, dropped or held back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation // node ids are tiny indices here
)]

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use sinew_clock::HybridClock;
use sinew_clock::ManualClock;
use sinew_replica::{
    Completion, Coordinator, Message, OpError, Options, Policy, ReadRepair, Replica, Siblings,
    Store, Transmit, VersionVector,
};
use sinew_ring::HashRing;

const T0: Duration = Duration::from_secs(1_700_000_000);

struct Cluster {
    ring: HashRing<u64>,
    coordinators: Vec<Coordinator<u64, ManualClock>>,
    replicas: Vec<Replica<u64>>,
    down: HashSet<u64>,
    /// Messages in flight: (from, to, message).
    wire: Vec<(u64, Transmit<u64>)>,
    now: Duration,
}

impl Cluster {
    fn new(nodes: u64, policy: Policy) -> Self {
        let ring: HashRing<u64> = (0..nodes).collect();
        Self {
            ring,
            coordinators: (0..nodes)
                .map(|n| {
                    Coordinator::new(n, n + 100, policy, HybridClock::new(ManualClock::new(T0)))
                })
                .collect(),
            replicas: (0..nodes)
                .map(|n| Replica::new(n, n + 100, policy))
                .collect(),
            down: HashSet::new(),
            wire: Vec::new(),
            now: T0,
        }
    }

    fn home(&self, key: &str, n: usize) -> Vec<u64> {
        self.ring
            .replicas_bytes(key.as_bytes(), n)
            .copied()
            .collect()
    }

    /// Moves every queued message onto the wire.
    fn collect(&mut self) {
        for (n, c) in self.coordinators.iter_mut().enumerate() {
            while let Some(t) = c.poll_transmit() {
                self.wire.push((n as u64, t));
            }
        }
        for (n, r) in self.replicas.iter_mut().enumerate() {
            while let Some(t) = r.poll_transmit() {
                self.wire.push((n as u64, t));
            }
        }
    }

    /// Delivers messages until none are left, dropping those to or from down nodes and those
    /// `drop` selects.
    fn run(&mut self, drop: &dyn Fn(u64, &Transmit<u64>) -> bool) {
        loop {
            self.collect();
            if self.wire.is_empty() {
                return;
            }
            for (from, t) in std::mem::take(&mut self.wire) {
                if self.down.contains(&from) || self.down.contains(&t.to) || drop(from, &t) {
                    continue;
                }
                let to = t.to as usize;
                if t.message.for_coordinator() {
                    self.coordinators[to].handle_reply(from, t.message, self.now);
                } else {
                    self.replicas[to].handle(from, t.message, self.now);
                }
            }
        }
    }

    fn get(&mut self, via: usize, key: &str, options: Options) -> Result<Siblings, OpError> {
        let ring = self.ring.clone();
        let down = self.down.clone();
        let id = self.coordinators[via].get(
            Bytes::from(key.to_owned()),
            &ring,
            |n| !down.contains(n),
            options,
            self.now,
        )?;
        self.run(&|_, _| false);
        match self.coordinators[via].poll_event() {
            Some(Completion::Get { op, result }) => {
                assert_eq!(op, id);
                result.map(|r| r.object)
            }
            other => panic!("expected a read completion, got {other:?}"),
        }
    }

    fn put(
        &mut self,
        via: usize,
        key: &str,
        value: &str,
        context: VersionVector,
        options: Options,
    ) -> Result<sinew_replica::WriteOutcome, OpError> {
        let ring = self.ring.clone();
        let down = self.down.clone();
        self.coordinators[via].put(
            Bytes::from(key.to_owned()),
            Bytes::from(value.to_owned()),
            context,
            &ring,
            |n| !down.contains(n),
            options,
            self.now,
        )?;
        self.run(&|_, _| false);
        match self.coordinators[via].poll_event() {
            Some(Completion::Put { result, .. }) => result,
            other => panic!("expected a write completion, got {other:?}"),
        }
    }

    /// Starts a blind write of "v" under "k" that believes every node alive, and delivers
    /// nothing yet.
    fn start_put(&mut self, via: usize, options: Options) {
        let ring = self.ring.clone();
        self.coordinators[via]
            .put(
                Bytes::from_static(b"k"),
                Bytes::from_static(b"v"),
                VersionVector::new(),
                &ring,
                |_| true,
                options,
                self.now,
            )
            .unwrap();
    }

    fn stored(&self, node: u64, key: &str) -> Option<Siblings> {
        self.replicas[node as usize].store().get(key.as_bytes())
    }
}

fn values(object: &Siblings) -> Vec<String> {
    let mut v: Vec<String> = object
        .iter()
        .map(|s| String::from_utf8(s.value.to_vec()).unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn write_then_read_at_quorum() {
    for policy in [Policy::Dvv, Policy::Lww] {
        let mut c = Cluster::new(5, policy);
        let w = c
            .put(0, "k", "v1", VersionVector::new(), Options::QUORUM)
            .unwrap();
        assert!(w.strict);
        for node in c.home("k", 3) {
            assert_eq!(values(&c.stored(node, "k").unwrap()), ["v1"], "{policy:?}");
        }
        let read = c.get(3, "k", Options::QUORUM).unwrap();
        assert_eq!(values(&read), ["v1"]);
        assert!(read.covers(w.dot));
    }
}

#[test]
fn concurrent_writes_become_siblings_and_a_write_with_context_resolves_them() {
    let mut c = Cluster::new(5, Policy::Dvv);
    let a = c
        .put(0, "k", "a", VersionVector::new(), Options::QUORUM)
        .unwrap();
    let b = c
        .put(1, "k", "b", VersionVector::new(), Options::QUORUM)
        .unwrap();
    assert_ne!(a.dot, b.dot);
    let read = c.get(2, "k", Options::QUORUM).unwrap();
    assert_eq!(
        values(&read),
        ["a", "b"],
        "blind concurrent writes are both kept"
    );
    let resolved = c
        .put(2, "k", "ab", read.context().clone(), Options::QUORUM)
        .unwrap();
    let read = c.get(4, "k", Options::ALL).unwrap();
    assert_eq!(values(&read), ["ab"]);
    assert!(read.covers(a.dot) && read.covers(b.dot) && read.covers(resolved.dot));
}

#[test]
fn lww_keeps_only_the_newest_of_concurrent_writes() {
    let mut c = Cluster::new(5, Policy::Lww);
    c.put(0, "k", "a", VersionVector::new(), Options::QUORUM)
        .unwrap();
    c.now += Duration::from_millis(5);
    c.coordinators[1]
        .clock()
        .clock()
        .set(T0 + Duration::from_millis(5));
    c.put(1, "k", "b", VersionVector::new(), Options::QUORUM)
        .unwrap();
    assert_eq!(values(&c.get(2, "k", Options::QUORUM).unwrap()), ["b"]);
}

#[test]
fn unavailable_when_too_few_nodes_are_alive_for_a_strict_quorum() {
    let mut c = Cluster::new(5, Policy::Dvv);
    let home = c.home("k", 3);
    c.down.extend(&home[..2]);
    let strict = Options::QUORUM.with_sloppy(false);
    let via = (0..5).find(|n| !c.down.contains(&(*n as u64))).unwrap();
    assert_eq!(
        c.get(via, "k", strict),
        Err(OpError::Unavailable {
            needed: 2,
            alive: 1
        })
    );
    // The sloppy quorum takes the next two nodes on the ring instead.
    let w = c
        .put(via, "k", "v", VersionVector::new(), Options::QUORUM)
        .unwrap();
    assert!(!w.strict, "stand-ins acknowledged part of it");
}

#[test]
fn hinted_handoff_delivers_to_the_owner_when_it_is_back() {
    let mut c = Cluster::new(5, Policy::Dvv);
    let home = c.home("k", 3);
    let owner = home[2];
    c.down.insert(owner);
    let via = home[0] as usize;
    c.put(via, "k", "v", VersionVector::new(), Options::QUORUM)
        .unwrap();
    c.run(&|_, _| false);
    let held: u64 = c.replicas.iter().map(|r| r.hints().stored()).sum();
    assert_eq!(held, 1, "one stand-in kept a hint");
    assert!(c.stored(owner, "k").is_none());
    c.down.remove(&owner);
    // The first replay is lost; the hint stays until acknowledged and is sent again.
    for r in &mut c.replicas {
        r.replay_hints(|_| true, c.now);
    }
    c.run(&|_, t| matches!(t.message, Message::HintReplay { .. }));
    assert_eq!(c.replicas.iter().map(|r| r.hints().len()).sum::<usize>(), 1);
    c.now += Duration::from_secs(2);
    for r in &mut c.replicas {
        r.replay_hints(|_| true, c.now);
    }
    c.run(&|_, _| false);
    assert_eq!(values(&c.stored(owner, "k").unwrap()), ["v"]);
    assert_eq!(c.replicas.iter().map(|r| r.hints().len()).sum::<usize>(), 0);
    assert_eq!(
        c.replicas
            .iter()
            .map(|r| r.hints().delivered())
            .sum::<u64>(),
        1
    );
}

#[test]
fn read_repair_fixes_a_replica_that_missed_a_write() {
    for mode in [ReadRepair::Async, ReadRepair::Blocking] {
        let mut c = Cluster::new(5, Policy::Dvv);
        let home = c.home("k", 3);
        let behind = home[1];
        // The write's replication to `behind` is lost.
        c.start_put(home[0] as usize, Options::QUORUM);
        c.run(&|_, t| t.to == behind && matches!(t.message, Message::Replicate { .. }));
        assert!(c.stored(behind, "k").is_none());
        let options = Options::ALL.with_read_repair(mode);
        let read = c.get(home[2] as usize, "k", options).unwrap();
        assert_eq!(values(&read), ["v"]);
        assert_eq!(values(&c.stored(behind, "k").unwrap()), ["v"], "{mode:?}");
        let repairs: u64 = c
            .coordinators
            .iter()
            .map(|c| c.metrics().read_repairs)
            .sum();
        assert_eq!(repairs, 1);
    }
}

#[test]
fn a_write_times_out_when_acknowledgements_are_lost_and_the_error_says_how_many_came() {
    let mut c = Cluster::new(5, Policy::Dvv);
    let home = c.home("k", 3);
    let via = home[0] as usize;
    c.start_put(via, Options::ALL);
    let no_acks = |_: u64, t: &Transmit<u64>| matches!(t.message, Message::Ack { .. });
    c.run(&no_acks);
    let mut calls = 0;
    while let Some(t) = c.coordinators[via].poll_timeout() {
        c.now = t;
        c.coordinators[via].handle_timeout(t);
        c.run(&no_acks);
        calls += 1;
        assert!(calls <= 4, "handle_timeout called {calls} times");
    }
    match c.coordinators[via].poll_event() {
        Some(Completion::Put { result, .. }) => {
            assert_eq!(
                result,
                Err(OpError::Timeout {
                    acked: 1,
                    needed: 3
                })
            );
        }
        other => panic!("{other:?}"),
    }
    // Sent again at each quarter of the timeout to the two that never answered.
    assert_eq!(c.coordinators[via].metrics().retransmits, 6);
    assert_eq!(c.coordinators[via].in_flight(), 0);
}

#[test]
fn lost_requests_are_sent_again_and_the_operations_succeed() {
    use std::cell::Cell;
    for read in [false, true] {
        let mut c = Cluster::new(5, Policy::Dvv);
        let home = c.home("k", 3);
        let via = home[0] as usize;
        if read {
            c.put(via, "k", "v", VersionVector::new(), Options::ALL)
                .unwrap();
            let ring = c.ring.clone();
            c.coordinators[via]
                .get(
                    Bytes::from_static(b"k"),
                    &ring,
                    |_| true,
                    Options::ALL,
                    c.now,
                )
                .unwrap();
        } else {
            c.start_put(via, Options::ALL);
        }
        // The first request to each other replica is lost.
        let lost = Cell::new(0);
        c.run(&|_, t| {
            let request = matches!(t.message, Message::Get { .. } | Message::Replicate { .. });
            let drop = request && t.to != home[0] && lost.get() < 2;
            lost.set(lost.get() + u32::from(drop));
            drop
        });
        assert_eq!(lost.get(), 2);
        assert!(c.coordinators[via].poll_event().is_none());
        let t = c.coordinators[via].poll_timeout().unwrap();
        assert_eq!(t, c.now + Options::ALL.timeout / 4);
        c.coordinators[via].handle_timeout(t);
        c.run(&|_, _| false);
        match c.coordinators[via].poll_event() {
            Some(Completion::Put { result, .. }) => assert!(result.is_ok(), "{result:?}"),
            Some(Completion::Get { result, .. }) => {
                assert_eq!(values(&result.unwrap().object), ["v"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.coordinators[via].metrics().retransmits, 2);
    }
}

#[test]
fn a_silent_leader_is_replaced_and_the_write_still_succeeds() {
    let mut c = Cluster::new(5, Policy::Dvv);
    let home = c.home("k", 3);
    // Coordinate from a node that is not a replica, so the leader is home[0]; it is down but
    // membership has not noticed.
    let via = (0..5u64).find(|n| !home.contains(n)).unwrap() as usize;
    c.down.insert(home[0]);
    c.start_put(via, Options::QUORUM);
    c.run(&|_, _| false);
    assert!(c.coordinators[via].poll_event().is_none());
    let t = c.coordinators[via].poll_timeout().unwrap();
    assert_eq!(t, c.now + Options::QUORUM.timeout / 4);
    c.coordinators[via].handle_timeout(t);
    c.run(&|_, _| false);
    match c.coordinators[via].poll_event() {
        Some(Completion::Put { result, .. }) => assert!(result.is_ok(), "{result:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.coordinators[via].metrics().leader_retries, 1);
}

#[test]
fn once_every_leader_was_tried_the_next_deadline_is_the_operations_own() {
    // Every home replica is down (membership has not noticed): the leader is retried on each
    // in turn, then nothing is due before the timeout, so a driver that calls handle_timeout
    // at poll_timeout does not spin on a deadline in the past.
    let mut c = Cluster::new(5, Policy::Dvv);
    let home = c.home("k", 3);
    let via = (0..5u64).find(|n| !home.contains(n)).unwrap() as usize;
    c.down.extend(home.iter().copied());
    c.start_put(via, Options::QUORUM);
    c.run(&|_, _| false);
    let deadline = c.now + Options::QUORUM.timeout;
    let mut calls = 0;
    while let Some(t) = c.coordinators[via].poll_timeout() {
        assert!(t >= c.now, "a deadline in the past: {t:?} < {:?}", c.now);
        c.now = t;
        c.coordinators[via].handle_timeout(t);
        c.run(&|_, _| false);
        calls += 1;
        assert!(calls <= 4, "handle_timeout called {calls} times");
    }
    assert_eq!(c.now, deadline);
    // Asked in turn at each quarter of the timeout.
    assert_eq!(c.coordinators[via].metrics().leader_retries, 3);
    match c.coordinators[via].poll_event() {
        Some(Completion::Put { result, .. }) => {
            assert!(matches!(result, Err(OpError::Timeout { .. })), "{result:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn replicating_the_same_write_twice_is_harmless() {
    let mut c = Cluster::new(3, Policy::Dvv);
    c.put(0, "k", "v", VersionVector::new(), Options::ALL)
        .unwrap();
    let before = c.stored(1, "k").unwrap();
    let object = before.clone();
    for _ in 0..2 {
        c.replicas[1].handle(
            0,
            Message::Replicate {
                op: 9,
                key: Bytes::from_static(b"k"),
                object: object.clone(),
                hint: None,
            },
            c.now,
        );
    }
    assert_eq!(c.stored(1, "k").unwrap(), before);
}

#[test]
fn stray_and_duplicate_replies_are_ignored() {
    let mut c = Cluster::new(5, Policy::Dvv);
    c.coordinators[0].handle_reply(1, Message::Ack { op: 12345 }, c.now);
    c.coordinators[0].handle_reply(
        1,
        Message::GetReply {
            op: 0,
            object: Siblings::new(),
        },
        c.now,
    );
    assert!(c.coordinators[0].poll_event().is_none());
    assert_eq!(c.coordinators[0].metrics().stray_replies, 2);
}
