//! The coordinator of reads and writes for one node (sans-io).

mod plan;
mod read;
mod write;

use std::collections::VecDeque;
use std::fmt;
use std::hash::Hash;
use std::time::Duration;

use bytes::Bytes;
use sinew_clock::{Clock, HlcTimestamp, HybridClock, SystemClock};
use sinew_ring::ConsistentHash;

use crate::error::OpError;
use crate::message::{Message, Transmit};
use crate::options::Options;
use crate::version::{Dot, Policy, Siblings, VersionVector};
use plan::{Target, plan};

/// An operation started by a [`Coordinator`]; its [`Completion`] carries the same id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(u64);

impl OpId {
    /// The number carried in messages.
    pub fn as_u64(self) -> u64 {
        self.0
    }
    fn slot(self) -> usize {
        usize::try_from(self.0 & u64::from(u32::MAX)).unwrap_or(usize::MAX)
    }
    fn generation(self) -> u32 {
        u32::try_from(self.0 >> 32).unwrap_or(0)
    }
}

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "op {}:{}", self.generation(), self.slot())
    }
}

/// A finished read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOutcome {
    /// The key read.
    pub key: Bytes,
    /// The merged object of the replies: its siblings (one under last-writer-wins; one or more
    /// under dotted version vectors, empty if the key was never written) and, in its
    /// [`context`](Siblings::context), what to pass to the next write of the key.
    pub object: Siblings,
    /// The `r` replies all came from home replicas (not stand-ins): with `r + w > n` the read
    /// saw every write acknowledged by a strict quorum before it began.
    pub strict: bool,
}

/// A finished write.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteOutcome {
    /// The key written.
    pub key: Bytes,
    /// The write's dot (its identity in version vectors).
    pub dot: Dot,
    /// The write's hybrid-clock timestamp.
    pub timestamp: HlcTimestamp,
    /// The `w` acknowledgements all came from home replicas (no hinted stand-in counted).
    pub strict: bool,
}

/// An operation's result, from [`Coordinator::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Completion {
    /// A read finished.
    Get {
        /// The operation.
        op: OpId,
        /// Its result.
        result: Result<ReadOutcome, OpError>,
    },
    /// A write finished.
    Put {
        /// The operation.
        op: OpId,
        /// Its result.
        result: Result<WriteOutcome, OpError>,
    },
}

/// Counters a coordinator keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CoordinatorMetrics {
    /// Reads started.
    pub gets: u64,
    /// Writes started.
    pub puts: u64,
    /// Operations refused at once as unavailable.
    pub unavailable: u64,
    /// Operations that timed out.
    pub timeouts: u64,
    /// Read repairs sent (one per stale replica).
    pub read_repairs: u64,
    /// Writes re-sent to the next replica because the first did not answer in time.
    pub leader_retries: u64,
    /// Requests sent again to replicas that had not answered by a retry time.
    pub retransmits: u64,
    /// Replies whose timestamps the hybrid clock refused (too far ahead).
    pub clock_rejections: u64,
    /// Replies that matched no operation (late, duplicated or stray).
    pub stray_replies: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Get,
    Put,
}

impl Kind {
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    fn as_str(self) -> &'static str {
        match self {
            Kind::Get => "get",
            Kind::Put => "put",
        }
    }
}

/// One operation's state; slots are reused, so steady-state operations allocate nothing here.
#[derive(Debug)]
struct Op<N> {
    generation: u32,
    active: bool,
    kind: Kind,
    key: Bytes,
    options: Options,
    deadline: Duration,
    targets: Vec<Target<N>>,
    /// The user has the result; a read lingers to repair late replies.
    completed: bool,
    /// Reads: the merge of all replies; writes: the object being replicated.
    object: Option<Siblings>,
    /// Reads: each target's reply, kept to find the stale ones.
    replies: Vec<Option<Siblings>>,
    // Writes.
    value: Bytes,
    context: VersionVector,
    timestamp: HlcTimestamp,
    dot: Dot,
    /// The target asked to apply the write (dotted version vectors), while waiting for it.
    leader: Option<usize>,
    retry_at: Duration,
}

impl<N> Op<N> {
    fn new() -> Self {
        Self {
            generation: 0,
            active: false,
            kind: Kind::Get,
            key: Bytes::new(),
            options: Options::QUORUM,
            deadline: Duration::ZERO,
            targets: Vec::new(),
            completed: false,
            object: None,
            replies: Vec::new(),
            value: Bytes::new(),
            context: VersionVector::new(),
            timestamp: HlcTimestamp::default(),
            dot: Dot {
                actor: 0,
                counter: 0,
            },
            leader: None,
            retry_at: Duration::ZERO,
        }
    }

    fn id(&self, slot: usize) -> OpId {
        OpId((u64::from(self.generation) << 32) | slot as u64)
    }

    fn count(&self, pred: impl Fn(&Target<N>) -> bool) -> usize {
        self.targets.iter().filter(|t| pred(t)).count()
    }
}

/// An operation re-sends what went unanswered this many times per timeout (at each quarter).
const RETRIES: u32 = 4;

/// The default bound on operations in flight per coordinator.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 65_536;

/// Coordinates reads and writes for one node, Dynamo style, without doing any I/O.
///
/// A read or a write of a key goes to the key's preference list: its first `n` distinct nodes
/// on a sinew-ring router, with nodes that membership reports down replaced by the next alive
/// ones (a sloppy quorum; they keep the write as a hint for the node they stand in for). A read
/// waits for `r` replies, merges them and repairs the replicas that answered with something
/// older; a write waits for `w` acknowledgements. An operation that cannot get enough replicas
/// fails with [`OpError::Unavailable`] at once or [`OpError::Timeout`] at its deadline.
///
/// Under [`Policy::Dvv`] a write goes first to one replica (this node if it is one), which
/// applies it under a new dot of its own and returns the resulting object; the coordinator then
/// replicates that object to the others (Riak's coordinating vnode). If that replica does not
/// answer within a quarter of the timeout, the next one is asked (and any request unanswered
/// after a quarter of the timeout is sent again, so a lost message costs a retry, not the
/// operation); in the rare case that both
/// applied it, the value is kept twice as two siblings, never lost. Under [`Policy::Lww`] the
/// coordinator stamps the value with its hybrid clock and replicates it directly.
///
/// Drive it like every sinew protocol: start operations with [`get`](Self::get) and
/// [`put`](Self::put), send [`poll_transmit`](Self::poll_transmit)'s messages, feed replies to
/// [`handle_reply`](Self::handle_reply), call [`handle_timeout`](Self::handle_timeout) at
/// [`poll_timeout`](Self::poll_timeout), and collect results from
/// [`poll_event`](Self::poll_event).
#[derive(Debug)]
pub struct Coordinator<N, C: Clock = SystemClock> {
    me: N,
    actor: u64,
    policy: Policy,
    hlc: HybridClock<C>,
    ops: Vec<Op<N>>,
    free: Vec<usize>,
    in_flight: usize,
    max_in_flight: usize,
    out: VecDeque<Transmit<N>>,
    events: VecDeque<Completion>,
    metrics: CoordinatorMetrics,
}

impl<N: Clone + Eq + Hash, C: Clock> Coordinator<N, C> {
    /// A coordinator for node `me`. `actor` names it in last-writer-wins versions (use the
    /// node's replica actor); `hlc` stamps writes, and learns from the timestamps it reads so
    /// that a write made after a read is ordered after what was read, even with clock skew.
    pub fn new(me: N, actor: u64, policy: Policy, hlc: HybridClock<C>) -> Self {
        Self {
            me,
            actor,
            policy,
            hlc,
            ops: Vec::new(),
            free: Vec::new(),
            in_flight: 0,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            out: VecDeque::new(),
            events: VecDeque::new(),
            metrics: CoordinatorMetrics::default(),
        }
    }

    /// The same coordinator refusing new operations with [`OpError::Overloaded`] beyond `max`
    /// in flight (default [`DEFAULT_MAX_IN_FLIGHT`]).
    #[must_use]
    pub fn with_max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max;
        self
    }

    /// Claims a slot and plans the targets; the common start of reads and writes.
    fn start<R: ConsistentHash<Node = N>>(
        &mut self,
        kind: Kind,
        key: Bytes,
        router: &R,
        is_alive: impl Fn(&N) -> bool,
        options: Options,
        now: Duration,
    ) -> Result<usize, OpError> {
        options.check().map_err(OpError::Options)?;
        if self.in_flight >= self.max_in_flight {
            return Err(OpError::Overloaded {
                max_in_flight: self.max_in_flight,
            });
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.ops.push(Op::new());
                self.ops.len() - 1
            }
        };
        let Some(op) = self.ops.get_mut(slot) else {
            return Err(OpError::Overloaded { max_in_flight: 0 });
        };
        let hash = sinew_ring::key_hash_bytes(&key);
        plan(
            router,
            hash,
            options.n,
            options.sloppy,
            is_alive,
            &mut op.targets,
        );
        let needed = match kind {
            Kind::Get => options.r,
            Kind::Put => options.w,
        };
        let alive = op.targets.len();
        if alive < needed {
            self.free.push(slot);
            self.metrics.unavailable += 1;
            event!(
                DEBUG,
                kind = kind.as_str(),
                needed,
                alive,
                "operation unavailable"
            );
            return Err(OpError::Unavailable { needed, alive });
        }
        op.generation = op.generation.wrapping_add(1);
        op.active = true;
        op.kind = kind;
        op.key = key;
        op.options = options;
        op.deadline = now + options.timeout;
        op.retry_at = now + options.timeout / RETRIES;
        op.completed = false;
        op.object = None;
        op.leader = None;
        self.in_flight += 1;
        Ok(slot)
    }

    /// Handles a reply from `from` (`GetReply`, `PutReply` or `Ack`; see
    /// [`Message::for_coordinator`]). Replies that match no running operation are counted
    /// and ignored.
    pub fn handle_reply(&mut self, from: N, message: Message<N>, now: Duration) {
        let _ = now;
        let (op_number, ok) = match &message {
            Message::GetReply { op, .. } | Message::PutReply { op, .. } | Message::Ack { op } => {
                (*op, true)
            }
            _ => (0, false),
        };
        let id = OpId(op_number);
        let slot = id.slot();
        let target = self.ops.get(slot).and_then(|op| {
            (ok && op.active && op.generation == id.generation())
                .then(|| op.targets.iter().position(|t| t.node == from))
                .flatten()
        });
        let Some(target) = target else {
            self.metrics.stray_replies += 1;
            return;
        };
        match message {
            Message::GetReply { object, .. } => self.on_get_reply(slot, target, object),
            Message::PutReply { dot, object, .. } => self.on_put_reply(slot, target, dot, object),
            Message::Ack { .. } => self.on_ack(slot, target),
            _ => {}
        }
    }

    fn release(&mut self, slot: usize) {
        if let Some(op) = self.ops.get_mut(slot) {
            if op.active {
                op.active = false;
                self.in_flight -= 1;
            }
            op.key = Bytes::new();
            op.value = Bytes::new();
            op.object = None;
            op.replies.iter_mut().for_each(|r| *r = None);
            self.free.push(slot);
        }
    }

    /// Fails the operations whose deadline has passed ([`OpError::Timeout`]), stops lingering
    /// reads, and asks the next replica to apply a write whose first choice did not answer.
    pub fn handle_timeout(&mut self, now: Duration) {
        for slot in 0..self.ops.len() {
            let Some(op) = self.ops.get(slot) else {
                continue;
            };
            if !op.active {
                continue;
            }
            if now >= op.deadline {
                if !op.completed {
                    let (acked, needed) = match op.kind {
                        Kind::Get => (op.count(|t| t.current || t.replied), op.options.r),
                        Kind::Put => (op.count(|t| t.replied), op.options.w),
                    };
                    event!(
                        DEBUG,
                        kind = op.kind.as_str(),
                        acked,
                        needed,
                        "operation timed out"
                    );
                    let error = OpError::Timeout { acked, needed };
                    let id = op.id(slot);
                    self.metrics.timeouts += 1;
                    self.events.push_back(match op.kind {
                        Kind::Get => Completion::Get {
                            op: id,
                            result: Err(error),
                        },
                        Kind::Put => Completion::Put {
                            op: id,
                            result: Err(error),
                        },
                    });
                }
                self.release(slot);
                continue;
            }
            if op.completed || now < op.retry_at {
                continue;
            }
            // Nothing heard from some replicas by the retry time: ask them again (requests
            // are idempotent), or ask the next home replica to apply a write whose leader is
            // silent. A lost message then costs a retry interval, not the operation.
            let next_retry = (now + op.options.timeout / RETRIES).min(op.deadline);
            let leader = op.leader;
            let next_leader = leader.and_then(|leader| {
                let homes = op.targets.len();
                (1..=homes)
                    .map(|step| (leader + step) % homes)
                    .find(|&i| op.targets.get(i).is_some_and(|t| t.home))
            });
            if let Some(op) = self.ops.get_mut(slot) {
                op.retry_at = next_retry;
            }
            match (leader, next_leader) {
                (Some(_), Some(next)) => {
                    self.metrics.leader_retries += 1;
                    self.send_put(slot, next);
                }
                (Some(_), None) => {}
                (None, _) => self.retransmit(slot),
            }
        }
    }

    /// Sends the operation's request again to every target that has not answered.
    fn retransmit(&mut self, slot: usize) {
        let Some(op) = self.ops.get(slot) else {
            return;
        };
        match op.kind {
            Kind::Put => {
                self.metrics.retransmits += op.count(|t| !t.replied) as u64;
                self.replicate(slot, None);
            }
            Kind::Get => {
                let id = op.id(slot).0;
                for t in op.targets.iter().filter(|t| !t.replied) {
                    self.metrics.retransmits += 1;
                    self.out.push_back(Transmit {
                        to: t.node.clone(),
                        message: Message::Get {
                            op: id,
                            key: op.key.clone(),
                        },
                    });
                }
            }
        }
    }

    /// The earliest time [`handle_timeout`](Self::handle_timeout) has something to do.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.ops
            .iter()
            .filter(|op| op.active)
            .map(|op| match op.completed {
                false => op.deadline.min(op.retry_at),
                true => op.deadline,
            })
            .min()
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit<N>> {
        self.out.pop_front()
    }

    /// The next finished operation.
    pub fn poll_event(&mut self) -> Option<Completion> {
        self.events.pop_front()
    }

    /// Operations running (including reads lingering to repair late replies).
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The counters.
    pub fn metrics(&self) -> &CoordinatorMetrics {
        &self.metrics
    }

    /// The hybrid clock stamping writes.
    pub fn clock(&self) -> &HybridClock<C> {
        &self.hlc
    }

    /// This coordinator's node.
    pub fn node(&self) -> &N {
        &self.me
    }
}
