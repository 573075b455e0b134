//! One node's protocol state, owned by one task: sinew-replica's `Coordinator` (it runs the
//! reads and writes clients send here) and `Replica` (it stores this node's share), the ring,
//! and this node's view of who is up. Connections and timers talk to it through [`Input`]s on a
//! channel, so nothing in it is shared or locked; it answers through one-shot channels.
//!
//! Both protocol halves are sans-io: after every input the engine drains what they want sent
//! ([`Engine::flush`]), handing messages for this node straight back and the rest to the peer
//! links, and answers the clients whose operations completed.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use sinew::gossip::State;
use sinew::gossip::runtime::Cluster;
use sinew::merkle::AntiEntropyTree;
use sinew::merkle::antientropy::BucketRange;
use sinew::replica::{
    Completion, Coordinator, Message, OpError, OpId, Options, Replica, Siblings, Store,
    VersionVector,
};
use sinew::ring::HashRing;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::link::Links;
use crate::store::BloomStore;
use sinew_examples::wire::Frame;

/// Each key lives on this many nodes; reads and writes wait for two of them.
pub(crate) const REPLICAS: usize = 3;

/// What the rest of the node asks of the engine.
pub(crate) enum Input {
    /// A replica-protocol message from a peer.
    Peer {
        from: String,
        message: Message<String>,
    },
    /// A client's read; answered with `Value` or `Failed`.
    Get {
        key: Bytes,
        reply: oneshot::Sender<Frame>,
    },
    /// A client's write; answered with `Written` or `Failed`.
    Put {
        key: Bytes,
        value: Bytes,
        context: VersionVector,
        reply: oneshot::Sender<Frame>,
    },
    /// The node's counters as JSON.
    Stats { reply: oneshot::Sender<String> },
    /// Every object held.
    Dump {
        reply: oneshot::Sender<Vec<(Bytes, Siblings)>>,
    },
    /// The peers to repair with: every other node on the ring that is up, and its data port.
    Peers {
        reply: oneshot::Sender<Vec<(String, SocketAddr)>>,
    },
    /// A Merkle tree of the keys this node shares with `peer`.
    Tree {
        peer: String,
        depth: u8,
        reply: oneshot::Sender<AntiEntropyTree>,
    },
    /// The `Sync` to send `peer` for the ranges a reconciliation found different.
    SyncRequest {
        peer: String,
        tree: AntiEntropyTree,
        ranges: Vec<BucketRange>,
        reply: oneshot::Sender<Message<String>>,
    },
    /// A peer's `Sync`: merge it and answer with this node's side (`SyncReply`).
    Sync {
        from: String,
        message: Message<String>,
        reply: oneshot::Sender<Message<String>>,
    },
    /// A peer's `SyncReply`: merge it; answers how many objects changed.
    Merge {
        from: String,
        message: Message<String>,
        reply: oneshot::Sender<u64>,
    },
    /// What copying every object shared with `peer` would take, in bytes (what anti-entropy
    /// without a Merkle tree sends).
    SharedBytes {
        peer: String,
        reply: oneshot::Sender<u64>,
    },
}

/// Counters the connection tasks keep (the engine reads them for its stats).
#[derive(Default)]
pub(crate) struct ServerCounters {
    pub(crate) limited: std::sync::atomic::AtomicU64,
    pub(crate) bad_frames: std::sync::atomic::AtomicU64,
}

/// Who this node can reach.
struct Peers {
    me: String,
    /// name -> gossip's state for it and the data-plane address it advertises.
    members: BTreeMap<String, (State, Option<SocketAddr>)>,
    /// A link (a connection and a breaker) per peer.
    links: Links,
}

impl Peers {
    /// Whether `node` is up as far as this node can tell: gossip finds it alive and this
    /// node's breaker towards it is not open (refused connections trip it long before
    /// gossip has made up its mind).
    fn is_up(&self, node: &String) -> bool {
        *node == self.me
            || (self
                .members
                .get(node)
                .is_some_and(|(state, _)| *state == State::Alive)
                && !self.links.is_open(node))
    }
}

pub(crate) struct Engine {
    me: String,
    actor: u64,
    coordinator: Coordinator<String>,
    replica: Replica<String, BloomStore>,
    options: Options,
    gossip: Cluster,
    peers: Peers,
    /// Every node gossip has heard of (dead ones too: a key's home replicas do not move
    /// while one is down; the coordinator stands in for it with the next alive node).
    ring: HashRing<String>,
    waiting: HashMap<OpId, oneshot::Sender<Frame>>,
    started: Instant,
    server: Arc<ServerCounters>,
    anti_entropy_changed: u64,
}

impl Engine {
    pub(crate) fn new(
        me: String,
        actor: u64,
        replica: Replica<String, BloomStore>,
        coordinator: Coordinator<String>,
        gossip: Cluster,
        server: Arc<ServerCounters>,
    ) -> Self {
        Self {
            peers: Peers {
                me: me.clone(),
                members: BTreeMap::new(),
                links: Links::new(me.clone()),
            },
            ring: std::iter::once(me.clone()).collect(),
            me,
            actor,
            coordinator,
            replica,
            // n = 3, r = w = 2, asynchronous read repair, sloppy quorum with hinted handoff.
            options: Options::QUORUM.with_timeout(Duration::from_millis(500)),
            gossip,
            waiting: HashMap::new(),
            started: Instant::now(),
            server,
            anti_entropy_changed: 0,
        }
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// Runs until every sender of `inputs` is gone.
    pub(crate) async fn run(mut self, mut inputs: mpsc::Receiver<Input>) {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            let wake = self.coordinator.poll_timeout().map(|t| self.started + t);
            tokio::select! {
                input = inputs.recv() => match input {
                    Some(input) => self.handle(input),
                    None => return,
                },
                () = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {
                    self.coordinator.handle_timeout(self.now());
                }
                _ = tick.tick() => self.refresh(),
            }
            self.flush();
        }
    }

    /// Waits for the operation's completion, or answers at once if it could not start.
    fn started_op(&mut self, started: Result<OpId, OpError>, reply: oneshot::Sender<Frame>) {
        match started {
            Ok(op) => {
                self.waiting.insert(op, reply);
            }
            Err(e) => {
                let _ = reply.send(Frame::Failed(e.to_string()));
            }
        }
    }

    /// Takes in gossip's view: links to new peers, the ring when the set of nodes changed,
    /// and hints for the owners that are back.
    fn refresh(&mut self) {
        let mut changed = false;
        for m in self.gossip.members().iter() {
            let addr = std::str::from_utf8(&m.metadata)
                .ok()
                .and_then(|s| s.parse().ok());
            let entry = self.peers.members.entry(m.name.clone()).or_insert_with(|| {
                changed = true;
                (m.state, None)
            });
            // A member that left (or comes back after leaving) changes the ring; one that is
            // merely down keeps its place, and stand-ins cover for it.
            changed |= (entry.0 == State::Left) != (m.state == State::Left);
            entry.0 = m.state;
            // Metadata is empty once a member is dead: keep the address it had.
            if addr.is_some() {
                entry.1 = addr;
            }
            if let (Some(addr), false) = (entry.1, m.name == self.me) {
                self.peers.links.connect_to(&m.name, addr);
            }
        }
        if changed {
            self.ring = self
                .peers
                .members
                .iter()
                .filter(|(_, (state, _))| *state != State::Left)
                .map(|(name, _)| name.clone())
                .chain(std::iter::once(self.me.clone()))
                .collect();
        }
        let now = self.now();
        self.replica.replay_hints(|n| self.peers.is_up(n), now);
    }

    /// Whether this node and `peer` are both home replicas of `key`: the keys anti-entropy
    /// between the two compares.
    fn shares(ring: &HashRing<String>, me: &str, peer: &str, key: &[u8]) -> bool {
        let (mut a, mut b) = (false, false);
        for n in ring.replicas_bytes(key, REPLICAS) {
            a |= n == me;
            b |= n == peer;
        }
        a && b
    }

    fn handle(&mut self, input: Input) {
        let now = self.now();
        match input {
            Input::Peer { from, message } => self.deliver(from, message),
            Input::Get { key, reply } => {
                let started = self.coordinator.get(
                    key,
                    &self.ring,
                    |n| self.peers.is_up(n),
                    self.options,
                    now,
                );
                self.started_op(started, reply);
            }
            Input::Put {
                key,
                value,
                context,
                reply,
            } => {
                let started = self.coordinator.put(
                    key,
                    value,
                    context,
                    &self.ring,
                    |n| self.peers.is_up(n),
                    self.options,
                    now,
                );
                self.started_op(started, reply);
            }
            Input::Stats { reply } => {
                let _ = reply.send(self.stats());
            }
            Input::Dump { reply } => {
                let mut all = Vec::with_capacity(self.replica.store().len());
                self.replica
                    .store()
                    .scan(&mut |k, o| all.push((k.clone(), o.clone())));
                let _ = reply.send(all);
            }
            Input::Peers { reply } => {
                let peers = self
                    .peers
                    .members
                    .iter()
                    .filter(|(name, _)| **name != self.me && self.peers.is_up(name))
                    .filter_map(|(name, (_, addr))| Some((name.clone(), (*addr)?)))
                    .collect();
                let _ = reply.send(peers);
            }
            Input::Tree { peer, depth, reply } => {
                let (ring, me) = (&self.ring, &self.me);
                if let Ok(tree) = self
                    .replica
                    .merkle_tree(depth, |k| Self::shares(ring, me, &peer, k))
                {
                    let _ = reply.send(tree);
                }
            }
            Input::SyncRequest {
                peer,
                tree,
                ranges,
                reply,
            } => {
                let (ring, me) = (&self.ring, &self.me);
                let t = self
                    .replica
                    .sync_request(peer.clone(), &tree, &ranges, |k| {
                        Self::shares(ring, me, &peer, k)
                    });
                let _ = reply.send(t.message);
            }
            Input::Sync {
                from,
                message,
                reply,
            } => {
                let before = self.replica.metrics().merges_changed;
                let (ring, me) = (&self.ring, &self.me);
                self.replica.handle_sync(
                    from.clone(),
                    message,
                    |k| Self::shares(ring, me, &from, k),
                    now,
                );
                self.anti_entropy_changed += self.replica.metrics().merges_changed - before;
                // The reply goes back on the session's connection; anything else the replica
                // queued goes out as usual.
                let mut reply = Some(reply);
                let mut others = Vec::new();
                while let Some(t) = self.replica.poll_transmit() {
                    let ours = t.to == from && matches!(t.message, Message::SyncReply { .. });
                    match reply.take() {
                        Some(r) if ours => {
                            let _ = r.send(t.message);
                        }
                        r => {
                            reply = r;
                            others.push(t);
                        }
                    }
                }
                for t in others {
                    if t.to == self.me {
                        self.deliver(self.me.clone(), t.message);
                    } else {
                        self.peers.links.send(&t.to, t.message);
                    }
                }
            }
            Input::Merge {
                from,
                message,
                reply,
            } => {
                let before = self.replica.metrics().merges_changed;
                self.replica.handle(from.clone(), message, now);
                let changed = self.replica.metrics().merges_changed - before;
                self.anti_entropy_changed += changed;
                let _ = reply.send(changed);
            }
            Input::SharedBytes { peer, reply } => {
                let (ring, me) = (&self.ring, &self.me);
                let mut bytes = 0u64;
                self.replica.store().scan(&mut |k, o| {
                    if Self::shares(ring, me, &peer, k) {
                        bytes += (k.len() + o.encoded_len()) as u64;
                    }
                });
                let _ = reply.send(bytes);
            }
        }
    }

    /// Hands a message to the half of this node it is for.
    fn deliver(&mut self, from: String, message: Message<String>) {
        let now = self.now();
        if message.for_coordinator() {
            self.coordinator.handle_reply(from, message, now);
        } else if matches!(message, Message::Sync { .. }) {
            let (ring, me) = (&self.ring, &self.me);
            self.replica.handle_sync(
                from.clone(),
                message,
                |k| Self::shares(ring, me, &from, k),
                now,
            );
        } else {
            self.replica.handle(from, message, now);
        }
    }

    /// Sends what the protocol wants sent and answers the clients whose operations finished.
    fn flush(&mut self) {
        loop {
            let next = self
                .coordinator
                .poll_transmit()
                .or_else(|| self.replica.poll_transmit());
            let Some(t) = next else { break };
            if t.to == self.me {
                self.deliver(self.me.clone(), t.message);
            } else {
                self.peers.links.send(&t.to, t.message);
            }
        }
        while let Some(done) = self.coordinator.poll_event() {
            let (op, frame) = match done {
                Completion::Get { op, result } => (
                    op,
                    result
                        .map_or_else(|e| Frame::Failed(e.to_string()), |r| Frame::Value(r.object)),
                ),
                Completion::Put { op, result } => (
                    op,
                    result.map_or_else(|e| Frame::Failed(e.to_string()), |w| Frame::Written(w.dot)),
                ),
                _ => continue,
            };
            if let Some(reply) = self.waiting.remove(&op) {
                let _ = reply.send(frame);
            }
        }
    }

    fn stats(&self) -> String {
        let c = self.coordinator.metrics();
        let r = self.replica.metrics();
        let h = self.replica.hints();
        let l = self.peers.links.counters();
        let members: BTreeMap<&String, String> = self
            .peers
            .members
            .iter()
            .map(|(n, (s, _))| (n, format!("{s:?}").to_lowercase()))
            .collect();
        json!({
            "name": self.me,
            "pid": std::process::id(),
            "actor": self.actor,
            "keys": self.replica.store().len(),
            "members": members,
            "breakers_open": self.peers.links.open_towards(),
            "hints_held": h.len(),
            "hints_stored": h.stored(),
            "hints_delivered": h.delivered(),
            "hints_dropped": h.dropped(),
            "gets": c.gets,
            "puts": c.puts,
            "read_repairs": c.read_repairs,
            "timeouts": c.timeouts,
            "unavailable": c.unavailable,
            "leader_retries": c.leader_retries,
            "retransmits": c.retransmits,
            "merges_changed": r.merges_changed,
            "anti_entropy_changed": self.anti_entropy_changed,
            "breaker_rejections": l.rejected.load(Relaxed),
            "calls_failed": l.failed.load(Relaxed),
            "messages_sent": l.sent.load(Relaxed),
            "limited": self.server.limited.load(Relaxed),
            "bad_frames": self.server.bad_frames.load(Relaxed),
            "bloom_saved": self.replica.store().saved(),
        })
        .to_string()
    }
}
