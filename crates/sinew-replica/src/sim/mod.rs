//! A deterministic simulator of a replicated store built from this crate, with a checker of
//! the history of operations it records: the proof that the pieces fit.
//!
//! [`ReportCard::run`] plays one run and returns the checker's verdicts and the costs;
//! [`ReportCard::to_json`] prints them as one JSON object (the `replica_sim` example is a
//! thin command line over it). Everything random derives from one seed, so a run replays
//! exactly: same options, same report.
//!
//! # The model
//!
//! - **Nodes.** `nodes` nodes (default 5), each a [`Coordinator`] and a [`Replica`] over a
//!   [`MemoryStore`]; a message goes to the coordinator when
//!   [`Message::for_coordinator`] says so, else to the replica. Keys are placed by a
//!   [`HashRing`] over the node ids (`u64`, 0 to `nodes - 1`).
//! - **Membership** is an oracle that learns a crash or a restart `detect` (default 1 s)
//!   after it happens, so coordinators sometimes pick a dead node or skip a live one, as
//!   with real gossip. It is not told about partitions: a partitioned node looks alive.
//! - **Network.** Each message is delayed uniformly in [1, 10] ms of virtual time and lost
//!   independently with probability `loss` (default 5%); messages between the two sides of
//!   a partition are dropped; messages to a crashed node, or to a life of it that has ended,
//!   are dropped on arrival.
//! - **Clocks.** Each node's physical clock is the virtual time plus a fixed offset drawn
//!   uniformly in `[-skew, +skew]` (default 50 ms); its [`HybridClock`] reads it.
//! - **Clients** (default 8) run one operation at a time with a think time of 1-5 ms, each
//!   sent to a node drawn among those the oracle says are up (clients are outside any
//!   partition): 80% read-modify-writes (a get, then a put of a fresh value with the context
//!   the get returned), 20% blind reads, on keys drawn uniformly from 1,000. A client whose
//!   node does not answer (it crashed) gives up after its own timeout (the operation's
//!   timeout + 0.5 s). Quorums: `Options::new(n, r, w)` (default 3/2/2), timeout 1 s.
//! - **Faults** (the default scenario; `--no-faults` turns both off): once 20% of the
//!   operations are done, a partition isolates 2 nodes (`nodes / 2`, at least one) from the
//!   rest for `fault_duration` (10 s); once 50% are done, one node crashes and restarts
//!   `fault_duration` later.
//! - **A crash** loses what the node held in memory: its coordinator (its operations in
//!   flight never answer), its hint store and the messages addressed to it. Its store
//!   survives ([`Replica::into_store`], then [`Replica::with_store`] at the restart), as
//!   Dynamo assumes durable local storage, and so it keeps its actor id; it restarts with
//!   a fresh hybrid clock. Hints it held are lost, and counted (`hints_lost`).
//! - **Hinted handoff**: every node calls [`Replica::replay_hints`] every 100 ms.
//! - **Anti-entropy**: every `anti_entropy` (default 1 s) each node reconciles with each
//!   other node it can reach, over the keys both are home replicas of (the ring puts both
//!   among the key's first `n` nodes): it builds both [`Replica::merkle_tree`]s, runs the
//!   sinew-merkle [`Reconciler`]/[`Responder`] exchange between them in process (as over a
//!   reliable stream such as TCP, whose retransmissions hide the loss; its messages are
//!   counted in `messages_per_op`), then sends the [`Replica::sync_request`] for the
//!   differing ranges over the lossy network; the peer merges it and answers with its own
//!   objects in those ranges.
//! - **The end.** Once `ops` operations have completed, clients stop starting new ones,
//!   every fault heals (a crashed node restarts), and the run goes on until the store
//!   *converges*: no client operation in flight, no hint pending anywhere, and every key's
//!   home replicas hold objects with the same [`Siblings::fingerprint`]. `convergence_s`
//!   is measured from that moment (the last heal, as far as the checker is concerned); it
//!   gives up after 60 virtual seconds and says so (`converged: false`).
//!
//! # The checker
//!
//! Every operation is recorded with its key, its invocation and completion times and its
//! result; every written value is unique (8 bytes: the write's id) and every write records
//! the ids of the values its client read before it (its parents). The verdicts (see
//! `check.rs` for the exact definitions) are the issue's: lost acknowledged writes (an
//! acknowledged write that the final object neither holds nor supersedes), stale reads (a
//! strict read that misses a strict write acknowledged before it began, counted only where
//! R + W > N), lost concurrent updates (an acknowledged write that is neither a final
//! sibling nor an ancestor of one), and the costs.
//!
//! [`HashRing`]: sinew_ring::HashRing
//! [`Reconciler`]: sinew_merkle::antientropy::Reconciler
//! [`Responder`]: sinew_merkle::antientropy::Responder
//! [`HybridClock`]: sinew_clock::HybridClock

mod check;
mod net;
mod options;
mod report;
mod workload;

pub use options::SimOptions;
pub use report::ReportCard;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use sinew_clock::{Clock, HybridClock, ManualClock};
use sinew_merkle::antientropy::{Reconciler, Responder, Step};
use sinew_ring::HashRing;

pub use crate::error::SimError;
use crate::{
    Completion, Coordinator, HintStore, MemoryStore, Message, OpId, Options, Policy, Replica,
    Siblings, Store,
};
use check::{Ack, History, ReadRecord, value_of, write_ids};
use net::{Network, Queue};
use workload::{Call, Client, State, Workload, key_bytes};

/// The virtual epoch: node clocks read it plus the virtual time plus their skew, so that
/// timestamps look like real ones and a negative skew cannot go below zero.
const EPOCH: Duration = Duration::from_secs(1_700_000_000);
/// How often every node replays its hints.
const HINT_INTERVAL: Duration = Duration::from_millis(100);
/// How often the end phase checks for convergence.
const CHECK_INTERVAL: Duration = Duration::from_millis(50);
/// How long the end phase waits for convergence.
const CONVERGENCE_LIMIT: Duration = Duration::from_secs(60);
/// The depth of the anti-entropy trees (256 buckets: a few keys each at the default sizes).
const TREE_DEPTH: u8 = 8;
/// Hint store bounds (large: the simulator measures delivery, not eviction).
const MAX_HINTS: usize = 1 << 20;
const MAX_HINT_BYTES: usize = 256 << 20;

/// A node's physical clock: the shared virtual time plus the node's fixed offset.
#[derive(Clone, Debug)]
struct NodeClock {
    virtual_time: Arc<ManualClock>,
    offset_nanos: i64,
}

impl Clock for NodeClock {
    fn now(&self) -> Duration {
        let t = self.virtual_time.now();
        let off = Duration::from_nanos(self.offset_nanos.unsigned_abs());
        if self.offset_nanos >= 0 {
            t + off
        } else {
            t.saturating_sub(off)
        }
    }
}

/// A node's life: up (coordinator and replica in memory) or down (only its durable store).
#[derive(Debug)]
enum Life {
    Up {
        coordinator: Box<Coordinator<u64, NodeClock>>,
        replica: Box<Replica<u64>>,
    },
    Down {
        store: MemoryStore,
    },
}

/// Counters of a node's ended lives.
#[derive(Clone, Copy, Debug, Default)]
struct Past {
    hints_stored: u64,
    hints_delivered: u64,
    hints_dropped: u64,
    hints_lost: u64,
    read_repairs: u64,
}

impl Past {
    /// Adds one life's counters (a running node's, or a node's at its crash).
    fn record(&mut self, coordinator: &Coordinator<u64, NodeClock>, replica: &Replica<u64>) {
        let h = replica.hints();
        self.hints_stored += h.stored();
        self.hints_delivered += h.delivered();
        self.hints_dropped += h.dropped();
        self.read_repairs += coordinator.metrics().read_repairs;
    }

    /// Adds another node's past lives.
    fn add(&mut self, other: &Past) {
        self.hints_stored += other.hints_stored;
        self.hints_delivered += other.hints_delivered;
        self.hints_dropped += other.hints_dropped;
        self.hints_lost += other.hints_lost;
        self.read_repairs += other.read_repairs;
    }
}

#[derive(Debug)]
struct Node {
    life: Life,
    incarnation: u32,
    clock: NodeClock,
    timer_at: Option<Duration>,
    past: Past,
}

impl Node {
    fn is_up(&self) -> bool {
        matches!(self.life, Life::Up { .. })
    }
}

#[derive(Debug)]
enum Event {
    Deliver {
        from: usize,
        to: usize,
        incarnation: u32,
        message: Message<u64>,
    },
    Timer {
        node: usize,
        incarnation: u32,
    },
    Wake {
        client: usize,
    },
    ClientTimeout {
        client: usize,
        attempt: u64,
    },
    HintTick,
    AntiEntropy,
    Heal,
    Restart {
        node: usize,
    },
    Detect {
        node: usize,
    },
    CheckConvergence,
}

/// The fault schedule's progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Fault {
    #[default]
    Pending,
    Active,
    Done,
}

#[derive(Debug)]
struct Sim {
    opts: SimOptions,
    quorum: Options,
    rng: Xoshiro256PlusPlus,
    now: Duration,
    virtual_time: Arc<ManualClock>,
    queue: Queue<Event>,
    net: Network,
    ring: HashRing<u64>,
    nodes: Vec<Node>,
    /// What membership says: whether each node is up.
    view: Vec<bool>,
    clients: Vec<Client>,
    /// Operations in flight at a coordinator: (node, life, op) -> client.
    pending: HashMap<(usize, u32, OpId), usize>,
    workload: Workload,
    history: History,
    completed: u64,
    partition: Fault,
    crash: Fault,
    /// When the workload stopped (and every fault was healed).
    stopped_at: Option<Duration>,
    ae_rounds: u64,
    ae_rounds_at_stop: u64,
    converged_at: Option<(Duration, u64)>,
    /// From the crash until membership learned of the restart.
    crash_window: (Option<Duration>, Option<Duration>),
    next_progress: u64,
}

impl Sim {
    fn new(opts: &SimOptions) -> Result<Self, SimError> {
        let quorum = opts.quorum()?;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(opts.seed);
        let virtual_time = Arc::new(ManualClock::new(EPOCH));
        let skew = i64::try_from(opts.skew.as_nanos()).unwrap_or(i64::MAX);
        let ids = 0..opts.nodes as u64;
        let nodes = ids
            .clone()
            .map(|id| {
                let clock = NodeClock {
                    virtual_time: Arc::clone(&virtual_time),
                    offset_nanos: rng.random_range(-skew..=skew),
                };
                Node {
                    life: up(id, opts.policy, &clock, MemoryStore::default()),
                    incarnation: 0,
                    clock,
                    timer_at: None,
                    past: Past::default(),
                }
            })
            .collect();
        let clients = (0..opts.clients)
            .map(|_| Client {
                state: State::Idle,
                attempt: 0,
            })
            .collect();
        let workload = Workload {
            keys: opts.keys,
            blind_reads: 0.2,
            think_max: Duration::from_millis(5),
        };
        let mut sim = Sim {
            quorum,
            rng,
            now: Duration::ZERO,
            virtual_time,
            queue: Queue::new(),
            net: Network::new(
                opts.nodes,
                opts.loss,
                Duration::from_millis(1),
                Duration::from_millis(10),
            ),
            ring: ids.collect(),
            nodes,
            view: vec![true; opts.nodes],
            clients,
            pending: HashMap::new(),
            workload,
            history: History::default(),
            completed: 0,
            partition: if opts.partition && opts.nodes >= 2 {
                Fault::Pending
            } else {
                Fault::Done
            },
            crash: if opts.crash {
                Fault::Pending
            } else {
                Fault::Done
            },
            stopped_at: None,
            ae_rounds: 0,
            ae_rounds_at_stop: 0,
            converged_at: None,
            crash_window: (None, None),
            next_progress: 0,
            opts: opts.clone(),
        };
        for client in 0..sim.clients.len() {
            let at = sim.workload.think(&mut sim.rng);
            sim.queue.push(at, Event::Wake { client });
        }
        sim.queue.push(HINT_INTERVAL, Event::HintTick);
        sim.queue.push(opts.anti_entropy, Event::AntiEntropy);
        Ok(sim)
    }

    fn run(&mut self, progress: &mut dyn FnMut(u64, u64)) {
        loop {
            let until = self
                .stopped_at
                .map_or(Duration::MAX, |t| t + CONVERGENCE_LIMIT);
            let Some((at, event)) = self.queue.pop_until(until) else {
                break;
            };
            self.now = self.now.max(at);
            self.virtual_time.set(EPOCH + self.now);
            self.handle(event);
            if self.completed >= self.next_progress && self.stopped_at.is_none() {
                progress(self.completed.min(self.opts.ops), self.opts.ops);
                self.next_progress = self.completed + (self.opts.ops / 100).max(1);
            }
            if self.converged_at.is_some() {
                break;
            }
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Deliver {
                from,
                to,
                incarnation,
                message,
            } => self.deliver(from, to, incarnation, message),
            Event::Timer { node, incarnation } => {
                let now = self.now;
                let Some(n) = self.nodes.get_mut(node) else {
                    return;
                };
                if n.incarnation != incarnation || n.timer_at.is_none_or(|t| t > now) {
                    return; // an earlier life's, or superseded by a later deadline
                }
                n.timer_at = None;
                if let Life::Up { coordinator, .. } = &mut n.life {
                    coordinator.handle_timeout(now);
                }
                self.drain(node);
            }
            Event::Wake { client } => self.start_op(client),
            Event::ClientTimeout { client, attempt } => self.client_timeout(client, attempt),
            Event::HintTick => {
                for i in 0..self.nodes.len() {
                    let (view, now) = (&self.view, self.now);
                    if let Some(Life::Up { replica, .. }) =
                        self.nodes.get_mut(i).map(|n| &mut n.life)
                    {
                        replica.replay_hints(|n: &u64| alive(view, *n), now);
                    }
                    self.drain(i);
                }
                self.queue.push(self.now + HINT_INTERVAL, Event::HintTick);
            }
            Event::AntiEntropy => {
                self.anti_entropy();
                self.queue
                    .push(self.now + self.opts.anti_entropy, Event::AntiEntropy);
            }
            Event::Heal => {
                self.net.heal();
                self.partition = Fault::Done;
            }
            Event::Restart { node } => self.restart(node),
            Event::Detect { node } => {
                let up = self.nodes.get(node).is_some_and(Node::is_up);
                if let Some(v) = self.view.get_mut(node) {
                    *v = up;
                }
            }
            Event::CheckConvergence => {
                if self.converged() {
                    self.converged_at = Some((self.now, self.ae_rounds - self.ae_rounds_at_stop));
                } else {
                    self.queue
                        .push(self.now + CHECK_INTERVAL, Event::CheckConvergence);
                }
            }
        }
    }

    fn deliver(&mut self, from: usize, to: usize, incarnation: u32, message: Message<u64>) {
        let now = self.now;
        let Some(node) = self.nodes.get_mut(to) else {
            return;
        };
        if node.incarnation != incarnation {
            return; // addressed to a life that has ended
        }
        let Life::Up {
            coordinator,
            replica,
        } = &mut node.life
        else {
            return; // the node is down
        };
        if message.for_coordinator() {
            coordinator.handle_reply(from as u64, message, now);
        } else if matches!(message, Message::Sync { .. }) {
            let shared = shared_keys(&self.ring, self.opts.n, from as u64, to as u64);
            replica.handle_sync(from as u64, message, shared, now);
        } else {
            replica.handle(from as u64, message, now);
        }
        self.drain(to);
    }

    /// Hands a message to the network.
    fn send(&mut self, from: usize, to: u64, message: Message<u64>) {
        let Ok(to) = usize::try_from(to) else { return };
        let Some(incarnation) = self.nodes.get(to).map(|n| n.incarnation) else {
            return;
        };
        if let Some(at) = self.net.send(&mut self.rng, self.now, from, to) {
            self.queue.push(
                at,
                Event::Deliver {
                    from,
                    to,
                    incarnation,
                    message,
                },
            );
        }
    }

    /// Collects node `i`'s messages, completions and next deadline.
    fn drain(&mut self, i: usize) {
        let mut out = Vec::new();
        let mut done = Vec::new();
        let Some(node) = self.nodes.get_mut(i) else {
            return;
        };
        let Life::Up {
            coordinator,
            replica,
        } = &mut node.life
        else {
            return;
        };
        while let Some(t) = coordinator.poll_transmit() {
            out.push(t);
        }
        while let Some(t) = replica.poll_transmit() {
            out.push(t);
        }
        while let Some(c) = coordinator.poll_event() {
            done.push(c);
        }
        let incarnation = node.incarnation;
        if let Some(at) = coordinator.poll_timeout()
            && node.timer_at.is_none_or(|t| t != at)
        {
            node.timer_at = Some(at);
            self.queue.push(
                at.max(self.now),
                Event::Timer {
                    node: i,
                    incarnation,
                },
            );
        }
        for t in out {
            self.send(i, t.to, t.message);
        }
        for c in done {
            self.complete(i, incarnation, c);
        }
    }

    fn start_op(&mut self, client: usize) {
        if self.stopped_at.is_some() {
            return;
        }
        let (key, then_write) = self.workload.next_op(&mut self.rng);
        self.start_get(client, key, then_write);
    }

    /// A node the client believes is up, drawn uniformly.
    fn pick_node(&mut self) -> Option<usize> {
        let up = self.view.iter().filter(|&&v| v).count();
        if up == 0 {
            return None;
        }
        let k = self.rng.random_range(0..up);
        self.view
            .iter()
            .enumerate()
            .filter(|(_, v)| **v)
            .nth(k)
            .map(|(i, _)| i)
    }

    /// Marks the client busy with a new operation and arms its own timeout.
    fn begin(&mut self, client: usize, state: State) {
        let timeout = self.opts.timeout + Duration::from_millis(500);
        if let Some(c) = self.clients.get_mut(client) {
            c.attempt += 1;
            c.state = state;
            let attempt = c.attempt;
            self.queue
                .push(self.now + timeout, Event::ClientTimeout { client, attempt });
        }
    }

    fn start_get(&mut self, client: usize, key: usize, then_write: bool) {
        let now = self.now;
        let Some(node) = self.pick_node() else {
            self.history.reads.push(ReadRecord {
                key,
                invoke: now,
                result: None,
            });
            self.history.read_failures += 1;
            self.history.why.unavailable += 1;
            self.finish(client);
            return;
        };
        let (quorum, ring, view) = (self.quorum, &self.ring, &self.view);
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        let incarnation = n.incarnation;
        let started = match &mut n.life {
            Life::Up { coordinator, .. } => {
                Some(coordinator.get(key_bytes(key), ring, |x: &u64| alive(view, *x), quorum, now))
            }
            Life::Down { .. } => None, // the client's own timeout will end it
        };
        let op = match started {
            Some(Ok(op)) => Some(op),
            Some(Err(e)) => {
                self.history.reads.push(ReadRecord {
                    key,
                    invoke: now,
                    result: None,
                });
                self.history.read_failures += 1;
                self.history.why.count(&e);
                self.finish(client);
                return;
            }
            None => None,
        };
        let call = Call {
            node,
            incarnation,
            op,
            invoke: now,
        };
        if let Some(op) = op {
            self.pending.insert((node, incarnation, op), client);
        }
        self.begin(
            client,
            State::Reading {
                call,
                key,
                then_write,
            },
        );
        self.drain(node);
    }

    fn start_put(&mut self, client: usize, node: usize, key: usize, read: &Siblings) {
        let now = self.now;
        let id = self.history.invoke_write(key, write_ids(read), now);
        let (quorum, ring, view) = (self.quorum, &self.ring, &self.view);
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        let incarnation = n.incarnation;
        let Life::Up { coordinator, .. } = &mut n.life else {
            return;
        };
        let started = coordinator.put(
            key_bytes(key),
            value_of(id),
            read.context().clone(),
            ring,
            |x: &u64| alive(view, *x),
            quorum,
            now,
        );
        let op = match started {
            Ok(op) => op,
            Err(e) => {
                self.history.write_failures += 1;
                self.history.why.count(&e);
                self.finish(client);
                return;
            }
        };
        self.pending.insert((node, incarnation, op), client);
        let call = Call {
            node,
            incarnation,
            op: Some(op),
            invoke: now,
        };
        self.begin(client, State::Writing { call, write: id });
        self.drain(node);
    }

    /// The client's operation ended: count it, fire faults due, think, go again.
    fn finish(&mut self, client: usize) {
        if let Some(c) = self.clients.get_mut(client) {
            c.state = State::Idle;
            c.attempt += 1;
        }
        self.completed += 1;
        self.faults_due();
        let at = self.now + self.workload.think(&mut self.rng);
        self.queue.push(at, Event::Wake { client });
        if self.completed >= self.opts.ops && self.stopped_at.is_none() {
            self.stop();
        }
    }

    fn complete(&mut self, node: usize, incarnation: u32, completion: Completion) {
        let op = match &completion {
            Completion::Get { op, .. } | Completion::Put { op, .. } => *op,
        };
        let Some(client) = self.pending.remove(&(node, incarnation, op)) else {
            return;
        };
        let state = self
            .clients
            .get(client)
            .map_or(State::Idle, |c| c.state.clone());
        match (state, completion) {
            (
                State::Reading {
                    call,
                    key,
                    then_write,
                },
                Completion::Get { result, .. },
            ) => {
                let result = match result {
                    Ok(o) => Some((o.object, o.strict)),
                    Err(e) => {
                        self.history.read_failures += 1;
                        self.history.why.count(&e);
                        None
                    }
                };
                let next = result
                    .as_ref()
                    .filter(|_| then_write && self.stopped_at.is_none())
                    .map(|(object, _)| object.clone());
                self.history.reads.push(ReadRecord {
                    key,
                    invoke: call.invoke,
                    result,
                });
                self.finish_read(client, node, key, next.as_ref());
            }
            (State::Writing { write, .. }, Completion::Put { result, .. }) => {
                match result {
                    Ok(o) => self.history.ack_write(
                        write,
                        Ack {
                            dot: o.dot,
                            timestamp: o.timestamp,
                            strict: o.strict,
                            at: self.now,
                        },
                    ),
                    Err(e) => {
                        self.history.write_failures += 1;
                        self.history.why.count(&e);
                    }
                }
                self.finish(client);
            }
            _ => {}
        }
    }

    /// A read ended; a read-modify-write goes on with its put (counted as an operation of
    /// its own), to the same coordinator.
    fn finish_read(&mut self, client: usize, node: usize, key: usize, read: Option<&Siblings>) {
        match read {
            Some(object) => {
                self.completed += 1;
                self.faults_due();
                if self.completed >= self.opts.ops && self.stopped_at.is_none() {
                    self.stop();
                    self.finish_idle(client);
                } else {
                    self.start_put(client, node, key, object);
                }
            }
            None => self.finish(client),
        }
    }

    fn finish_idle(&mut self, client: usize) {
        if let Some(c) = self.clients.get_mut(client) {
            c.state = State::Idle;
            c.attempt += 1;
        }
    }

    /// The client gave up waiting: the operation failed (its outcome unknown).
    fn client_timeout(&mut self, client: usize, attempt: u64) {
        let Some(c) = self.clients.get(client) else {
            return;
        };
        if c.attempt != attempt {
            return;
        }
        match c.state.clone() {
            State::Reading { call, key, .. } => {
                if let Some(op) = call.op {
                    self.pending.remove(&(call.node, call.incarnation, op));
                }
                self.history.reads.push(ReadRecord {
                    key,
                    invoke: call.invoke,
                    result: None,
                });
                self.history.read_failures += 1;
                self.history.why.no_answer += 1;
            }
            State::Writing { call, .. } => {
                if let Some(op) = call.op {
                    self.pending.remove(&(call.node, call.incarnation, op));
                }
                self.history.write_failures += 1;
                self.history.why.no_answer += 1;
            }
            State::Idle => return,
        }
        self.finish(client);
    }

    fn faults_due(&mut self) {
        let ops = self.opts.ops;
        if self.partition == Fault::Pending && self.completed >= ops / 5 {
            self.partition = Fault::Active;
            let mut ids: Vec<usize> = (0..self.nodes.len()).collect();
            for i in (1..ids.len()).rev() {
                let j = self.rng.random_range(0..=i);
                ids.swap(i, j);
            }
            let minority = (self.nodes.len() / 2).max(1);
            self.net.partition(ids.get(..minority).unwrap_or(&[]));
            self.queue
                .push(self.now + self.opts.fault_duration, Event::Heal);
        }
        if self.crash == Fault::Pending && self.completed >= ops / 2 {
            self.crash = Fault::Active;
            let victim = self.rng.random_range(0..self.nodes.len());
            self.crash(victim);
            self.queue.push(
                self.now + self.opts.fault_duration,
                Event::Restart { node: victim },
            );
        }
    }

    fn crash(&mut self, i: usize) {
        self.crash_window.0.get_or_insert(self.now);
        let Some(node) = self.nodes.get_mut(i) else {
            return;
        };
        let life = std::mem::replace(
            &mut node.life,
            Life::Down {
                store: MemoryStore::default(),
            },
        );
        let store = match life {
            Life::Up {
                coordinator,
                replica,
            } => {
                node.past.record(&coordinator, &replica);
                node.past.hints_lost += replica.hints().len() as u64;
                replica.into_store()
            }
            Life::Down { store } => store,
        };
        node.life = Life::Down { store };
        node.timer_at = None;
        self.queue
            .push(self.now + self.opts.detect, Event::Detect { node: i });
        // Its operations in flight are never answered: their clients time out.
        self.pending.retain(|&(n, _, _), _| n != i);
    }

    fn restart(&mut self, i: usize) {
        self.crash_window.1 = Some(self.now + self.opts.detect);
        let policy = self.opts.policy;
        let Some(node) = self.nodes.get_mut(i) else {
            return;
        };
        let life = std::mem::replace(
            &mut node.life,
            Life::Down {
                store: MemoryStore::default(),
            },
        );
        let Life::Down { store } = life else {
            node.life = life;
            return;
        };
        node.incarnation += 1;
        node.life = up(i as u64, policy, &node.clock, store);
        self.crash = Fault::Done;
        self.queue
            .push(self.now + self.opts.detect, Event::Detect { node: i });
    }

    /// The workload is done: heal every fault and wait for convergence.
    fn stop(&mut self) {
        self.stopped_at = Some(self.now);
        self.net.heal();
        self.partition = Fault::Done;
        for i in 0..self.nodes.len() {
            if self.nodes.get(i).is_some_and(|n| !n.is_up()) {
                self.restart(i);
            }
        }
        self.ae_rounds_at_stop = self.ae_rounds;
        self.queue.push(self.now, Event::CheckConvergence);
    }

    /// One anti-entropy round: every pair of reachable nodes compares trees over the keys
    /// they share, and each sends the other a sync for the differing ranges.
    fn anti_entropy(&mut self) {
        self.ae_rounds += 1;
        let count = self.nodes.len();
        for a in 0..count {
            for b in a + 1..count {
                if self.net.connected(a, b) {
                    self.reconcile_pair(a, b);
                }
            }
        }
    }

    fn reconcile_pair(&mut self, a: usize, b: usize) {
        let (n, ring) = (self.opts.n, &self.ring);
        let shared = shared_keys(ring, n, a as u64, b as u64);
        let tree = |node: Option<&Node>| match node.map(|x| &x.life) {
            Some(Life::Up { replica, .. }) => replica.merkle_tree(TREE_DEPTH, shared).ok(),
            _ => None,
        };
        let (Some(ta), Some(tb)) = (tree(self.nodes.get(a)), tree(self.nodes.get(b))) else {
            return;
        };
        let (ranges, walk) = reconcile(&ta, &tb);
        self.net.count_reliable(walk);
        if ranges.is_empty() {
            return;
        }
        let sync = |node: Option<&mut Node>, to: usize, tree| match node.map(|x| &mut x.life) {
            Some(Life::Up { replica, .. }) => {
                Some(replica.sync_request(to as u64, tree, &ranges, shared))
            }
            _ => None,
        };
        let to_b = sync(self.nodes.get_mut(a), b, &ta);
        let to_a = sync(self.nodes.get_mut(b), a, &tb);
        for (from, t) in [(a, to_b), (b, to_a)] {
            if let Some(t) = t {
                self.send(from, t.to, t.message);
            }
        }
    }

    /// Whether the store has converged (see the module docs).
    fn converged(&self) -> bool {
        if !self.pending.is_empty() || self.clients.iter().any(|c| !matches!(c.state, State::Idle))
        {
            return false;
        }
        if self.nodes.iter().any(|node| match &node.life {
            Life::Up { replica, .. } => !replica.hints().is_empty(),
            Life::Down { .. } => true,
        }) || self.view.iter().any(|v| !v)
        {
            return false;
        }
        self.history.keys().into_iter().all(|k| {
            let key = key_bytes(k);
            let mut prints = self
                .ring
                .replicas_bytes(&key, self.opts.n)
                .map(|&h| self.object(h, &key).map(|o| o.fingerprint()));
            let first = prints.next();
            prints.all(|p| Some(p) == first)
        })
    }

    fn object(&self, node: u64, key: &[u8]) -> Option<Siblings> {
        let node = self.nodes.get(usize::try_from(node).ok()?)?;
        match &node.life {
            Life::Up { replica, .. } => replica.store().get(key),
            Life::Down { store } => store.get(key),
        }
    }

    fn report(&self) -> ReportCard {
        // The final object of each key: its first home replica's (all agree once converged).
        let mut finals = HashMap::new();
        for k in self.history.keys() {
            let key = key_bytes(k);
            let first = self.ring.replicas_bytes(&key, self.opts.n).next().copied();
            if let Some(object) = first.and_then(|h| self.object(h, &key)) {
                finals.insert(k, object);
            }
        }
        let o = &self.opts;
        let verdict = self.history.check(o.policy, &finals, o.r + o.w > o.n);
        let mut past = Past::default();
        let mut pending = 0;
        for node in &self.nodes {
            past.add(&node.past);
            if let Life::Up {
                coordinator,
                replica,
            } = &node.life
            {
                past.record(coordinator, replica);
                pending += replica.hints().len() as u64;
            }
        }
        let writes = self.history.writes.len() as u64;
        let ops = self.history.reads.len() as u64 + writes;
        let failures = self.history.read_failures + self.history.write_failures;
        let ratio = |good: u64, all: u64| {
            if all == 0 {
                1.0
            } else {
                good as f64 / all as f64
            }
        };
        let convergence = self
            .converged_at
            .zip(self.stopped_at)
            .map(|((at, rounds), stop)| ((at - stop).as_secs_f64(), rounds));
        ReportCard {
            options: o.clone(),
            ops,
            acknowledged_writes: verdict.acknowledged_writes,
            lost_acknowledged_writes: verdict.lost_acknowledged_writes,
            stale_reads: verdict.stale_reads,
            lost_concurrent_updates: verdict.lost_concurrent_updates,
            availability: ratio(ops.saturating_sub(failures), ops),
            write_availability: ratio(verdict.acknowledged_writes, writes),
            write_availability_during_crash: match self.crash_window {
                (Some(from), Some(to)) => {
                    let during = |w: &&check::WriteRecord| w.invoke >= from && w.invoke < to;
                    let all = self.history.writes.iter().filter(during);
                    let acked = all.clone().filter(|w| w.ack.is_some()).count() as u64;
                    Some(ratio(acked, all.count() as u64))
                }
                _ => None,
            },
            read_repairs: past.read_repairs,
            hints_stored: past.hints_stored,
            hints_delivered: past.hints_delivered,
            hints_dropped: past.hints_dropped,
            hints_lost: past.hints_lost,
            hints_pending: pending,
            converged: convergence.is_some(),
            convergence_s: convergence.map(|c| c.0),
            convergence_rounds: convergence.map(|c| c.1),
            messages_per_op: ratio(self.net.sent, ops.max(1)),
            siblings_max: verdict.siblings_max,
            strict_reads: verdict.strict_reads,
            failed_unavailable: self.history.why.unavailable,
            failed_timeout: self.history.why.timeout,
            failed_no_answer: self.history.why.no_answer,
            virtual_s: self.now.as_secs_f64(),
            violations: verdict.examples,
        }
    }
}

/// Whether the ring puts both `a` and `b` among a key's first `n` nodes.
fn shared_keys(ring: &HashRing<u64>, n: usize, a: u64, b: u64) -> impl Fn(&[u8]) -> bool + Copy {
    move |key: &[u8]| {
        let (mut has_a, mut has_b) = (false, false);
        for &h in ring.replicas_bytes(key, n) {
            has_a |= h == a;
            has_b |= h == b;
        }
        has_a && has_b
    }
}

fn alive(view: &[bool], node: u64) -> bool {
    usize::try_from(node)
        .ok()
        .and_then(|i| view.get(i))
        .copied()
        .unwrap_or(false)
}

/// A node's new life over `store`: a fresh coordinator and hybrid clock, an empty hint store.
/// The actor id is the node's (its store survives crashes, so its dots go on from there).
fn up(id: u64, policy: Policy, clock: &NodeClock, store: MemoryStore) -> Life {
    let hlc = HybridClock::new(clock.clone());
    Life::Up {
        coordinator: Box::new(Coordinator::new(id, id + 1, policy, hlc)),
        replica: Box::new(Replica::with_store(
            id,
            id + 1,
            policy,
            store,
            HintStore::new(MAX_HINTS, MAX_HINT_BYTES).unwrap_or_default(),
        )),
    }
}

/// The differing ranges between two trees, by the sans-io exchange, and the number of
/// messages it took (a failed exchange reports no ranges: the next round retries).
fn reconcile(
    mine: &sinew_merkle::AntiEntropyTree,
    theirs: &sinew_merkle::AntiEntropyTree,
) -> (Vec<sinew_merkle::antientropy::BucketRange>, u64) {
    let mut reconciler = Reconciler::new(mine);
    let mut responder = Responder::new(theirs);
    let mut message = reconciler.start();
    let mut messages = 0;
    loop {
        messages += 2;
        let Ok(reply) = responder.respond(&message) else {
            return (Vec::new(), messages);
        };
        match reconciler.receive(&reply) {
            Ok(Step::Send(next)) => message = next,
            Ok(Step::Done(ranges)) => return (ranges, messages),
            Err(_) => return (Vec::new(), messages),
        }
    }
}
