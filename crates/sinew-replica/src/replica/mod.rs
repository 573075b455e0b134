//! The storage side of a node: applies writes by version, answers reads, keeps and replays
//! hints, and takes part in anti-entropy.

mod antientropy;

use std::collections::VecDeque;
use std::hash::Hash;
use std::time::Duration;

use bytes::Bytes;
use sinew_clock::HlcTimestamp;

use crate::hints::HintStore;
use crate::message::{Message, Transmit};
use crate::store::{MemoryStore, Store};
use crate::version::{Dot, Policy, Siblings, VersionVector};

/// Counters a replica keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplicaMetrics {
    /// Reads answered.
    pub reads: u64,
    /// Writes coordinated here ([`Message::Put`]).
    pub puts: u64,
    /// Objects merged into the store (replication, read repair, hint replay, anti-entropy).
    pub merges: u64,
    /// Merges that changed the stored object.
    pub merges_changed: u64,
    /// Hints sent to their owners (including resends).
    pub hints_sent: u64,
    /// Objects received through anti-entropy.
    pub sync_objects_received: u64,
    /// Objects sent through anti-entropy.
    pub sync_objects_sent: u64,
    /// Messages that belong to a coordinator or to [`Replica::handle_sync`], ignored here.
    pub misrouted: u64,
}

/// How often an unacknowledged hint is sent again.
const HINT_RETRY: Duration = Duration::from_secs(1);
/// At most this many hints are sent per [`Replica::replay_hints`] call: the replay throttle
/// (Cassandra throttles hint replay too, so a node coming back is not flooded).
const HINT_BATCH: usize = 256;

/// The storage side of one node.
///
/// It answers the requests of [`Coordinator`](crate::Coordinator)s (its own node's and
/// others'): reads return the stored [`Siblings`]; a [`Message::Put`] is applied under a new
/// dot of this replica's `actor`; a [`Message::Replicate`] is merged (applying the same object
/// twice changes nothing) or, when it names another node as the home replica, kept in the
/// [`HintStore`] until that node is back ([`replay_hints`](Self::replay_hints)).
///
/// `actor` names this replica in versions. It must be unique among all replicas, and if the
/// store can lose data (a restart from empty memory) a restarted replica needs a new one, as
/// Riak gives a vnode a new id: dots are numbered from what the store holds.
///
/// Sans-io: nothing here reads a clock or a socket. Feed received messages to
/// [`handle`](Self::handle) and send what [`poll_transmit`](Self::poll_transmit) returns.
#[derive(Debug)]
pub struct Replica<N, S = MemoryStore> {
    me: N,
    actor: u64,
    policy: Policy,
    store: S,
    hints: HintStore<N>,
    out: VecDeque<Transmit<N>>,
    metrics: ReplicaMetrics,
}

impl<N: Clone + Eq + Hash> Replica<N> {
    /// A replica over an empty [`MemoryStore`] with a default [`HintStore`].
    pub fn new(me: N, actor: u64, policy: Policy) -> Self {
        Self::with_store(me, actor, policy, MemoryStore::new(), HintStore::default())
    }
}

impl<N: Clone + Eq + Hash, S: Store> Replica<N, S> {
    /// A replica over your own store and hint store.
    pub fn with_store(me: N, actor: u64, policy: Policy, store: S, hints: HintStore<N>) -> Self {
        Self {
            me,
            actor,
            policy,
            store,
            hints,
            out: VecDeque::new(),
            metrics: ReplicaMetrics::default(),
        }
    }

    /// Handles a request from `from`: `Get`, `Put`, `Replicate`, `HintReplay`, and the replies
    /// meant for the replica (`HintAck`, `SyncReply`). Answers come out of
    /// [`poll_transmit`](Self::poll_transmit). A `Sync` goes to
    /// [`handle_sync`](Self::handle_sync) instead, which knows which keys the two nodes share.
    pub fn handle(&mut self, from: N, message: Message<N>, now: Duration) {
        let _ = now; // nothing here is timed yet; kept so a runtime calls every handler alike
        match message {
            Message::Get { op, key } => {
                self.metrics.reads += 1;
                let object = self.store.get(&key).unwrap_or_default();
                self.send(from, Message::GetReply { op, object });
            }
            Message::Put {
                op,
                key,
                value,
                context,
                timestamp,
            } => {
                let (dot, object) = self.apply_put(key, value, &context, timestamp);
                self.send(from, Message::PutReply { op, dot, object });
            }
            Message::Replicate {
                op,
                key,
                object,
                hint,
            } => {
                match hint {
                    Some(owner) if owner != self.me => {
                        self.hints.insert(owner, key, object, self.policy);
                    }
                    _ => self.merge(key, &object),
                }
                self.send(from, Message::Ack { op });
            }
            Message::HintReplay { id, key, object } => {
                self.merge(key, &object);
                self.send(from, Message::HintAck { id });
            }
            Message::HintAck { id } => {
                self.hints.acknowledge(id);
            }
            Message::SyncReply { objects } => {
                self.metrics.sync_objects_received += objects.len() as u64;
                for (key, object) in objects {
                    self.merge(key, &object);
                }
            }
            Message::GetReply { .. }
            | Message::PutReply { .. }
            | Message::Ack { .. }
            | Message::Sync { .. } => self.metrics.misrouted += 1,
        }
    }

    /// Applies a write coordinated here: under the dotted-version-vector policy a new dot of
    /// this replica's actor that supersedes exactly the siblings `context` covers; under
    /// last-writer-wins the value replaces the object if its timestamp is newer.
    fn apply_put(
        &mut self,
        key: Bytes,
        value: Bytes,
        context: &VersionVector,
        timestamp: HlcTimestamp,
    ) -> (Dot, Siblings) {
        self.metrics.puts += 1;
        let mut object = self.store.get(&key).unwrap_or_default();
        let dot = match self.policy {
            Policy::Dvv => object.write(self.actor, context, timestamp, value),
            Policy::Lww => {
                let dot = Dot {
                    actor: self.actor,
                    counter: timestamp.as_u64(),
                };
                object.write_lww(dot, timestamp, value);
                dot
            }
        };
        self.store.put(key, object.clone());
        (dot, object)
    }

    /// Merges `object` into the stored copy of `key` under the policy.
    fn merge(&mut self, key: Bytes, object: &Siblings) {
        self.metrics.merges += 1;
        let merged = match self.store.get(&key) {
            Some(mut current) => {
                let before = current.clone();
                self.policy.merge(&mut current, object);
                if current == before {
                    return;
                }
                current
            }
            None => {
                let mut fresh = Siblings::new();
                self.policy.merge(&mut fresh, object);
                fresh
            }
        };
        self.metrics.merges_changed += 1;
        self.store.put(key, merged);
    }

    fn send(&mut self, to: N, message: Message<N>) {
        self.out.push_back(Transmit { to, message });
    }

    /// Queues hint replays to the owners `is_alive` reports up: at most a batch per call,
    /// an unacknowledged hint again after a second. Call it periodically (every 100 ms, say)
    /// and when membership reports a node back.
    pub fn replay_hints(&mut self, is_alive: impl Fn(&N) -> bool, now: Duration) {
        for (id, owner, key, object) in self.hints.due(is_alive, now, HINT_RETRY, HINT_BATCH) {
            self.metrics.hints_sent += 1;
            self.send(owner, Message::HintReplay { id, key, object });
        }
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit<N>> {
        self.out.pop_front()
    }

    /// This replica's node.
    pub fn node(&self) -> &N {
        &self.me
    }

    /// This replica's actor id in versions.
    pub fn actor(&self) -> u64 {
        self.actor
    }

    /// The conflict policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, mutably (to load it, or to inspect it in tests).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// The store, giving up the replica (a simulated crash keeps the durable store and loses
    /// the rest).
    pub fn into_store(self) -> S {
        self.store
    }

    /// The hints held for other nodes.
    pub fn hints(&self) -> &HintStore<N> {
        &self.hints
    }

    /// The counters.
    pub fn metrics(&self) -> &ReplicaMetrics {
        &self.metrics
    }
}
