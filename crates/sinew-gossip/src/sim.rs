//! A deterministic cluster simulator: many [`Member`]s in one thread, on virtual time, over a
//! seeded network.
//!
//! The simulator drives any membership implementation that implements [`SimMember`]
//! ([`Member`] does; `Simulation` without a type parameter means `Simulation<Member>`), so
//! other protocols can be measured by the same scenarios on the same network: the benches'
//! `gossip_compare` program drives foca this way.
//!
//! The network delivers each datagram after a latency of `latency_min` plus an exponentially
//! distributed extra (mean `latency_mean_extra`), drops it with probability `loss` (iid), with
//! the per-link one-way loss set by [`Simulation::set_link_loss`], or always when sender and
//! receiver are in different partitions. Members can crash (their datagrams are then dropped
//! and their timers stop), restart (a new life with a larger generation), leave, and be
//! *starved*: a starved member receives every datagram 0.5-2.5 s late while its timers still
//! fire on time, as a member with a stalled event loop or a full receive queue does.
//!
//! Everything random (latencies, losses, every member's generator) derives from the seed given
//! to [`Simulation::new`], so a run replays exactly.
//!
//! [`Metrics`] counts bytes and datagrams sent, the largest datagram, and *false* suspicions
//! and deaths: those about a member that was up, in the same life (generation), when the
//! event happened.
//! [`Simulation::watch`] measures how long a piece of news takes to reach every member.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

pub use crate::error::ArgsError;
use crate::error::MetadataError;
use crate::member::{Event, Member};
use crate::{Config, ConfigError, Incarnation, State};

/// Identifies a simulated member (an index, in order of [`Simulation::add_member`]).
pub type MemberId = usize;

/// A membership event as the simulator sees it: what happened to which member, in which
/// incarnation. [`SimMember::poll_event`] maps an implementation's own events to these (and
/// skips the ones the simulator does not measure, such as metadata updates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimEvent {
    /// The member became alive (joined, or came back in a new life).
    Joined {
        /// The member.
        addr: SocketAddr,
        /// Its incarnation (only the generation is compared with the member's real life).
        incarnation: Incarnation,
    },
    /// The member is suspected of having failed.
    Suspected {
        /// The member.
        addr: SocketAddr,
        /// The suspected incarnation.
        incarnation: Incarnation,
    },
    /// The member was declared dead.
    Dead {
        /// The member.
        addr: SocketAddr,
        /// The incarnation declared dead.
        incarnation: Incarnation,
    },
    /// The member left on purpose.
    Left {
        /// The member.
        addr: SocketAddr,
        /// Its final incarnation.
        incarnation: Incarnation,
    },
}

/// What the simulator needs from a membership implementation: a sans-io state machine that
/// takes datagrams and timeouts on virtual time and hands back datagrams, events and its next
/// deadline. [`Member`] implements it; the benches' `gossip_compare` program implements it
/// for foca.
///
/// Every method is called on virtual time; `now` never goes backwards for one member.
pub trait SimMember: Sized {
    /// What every member of a simulation is built from (for [`Member`]: a [`Config`]).
    type Config: Clone + std::fmt::Debug;
    /// Why [`set_metadata`](Self::set_metadata) refused.
    type MetadataError;
    /// Whether [`poll_event`](Self::poll_event) reports suspicions; when `false`, the report
    /// card prints `null` for false suspicions rather than a misleading 0.
    const REPORTS_SUSPICIONS: bool = true;

    /// A member at `addr` in life `generation`, created at `now`, whose randomness derives
    /// from `seed`; `None` if it cannot be built (a bad configuration).
    fn new(
        config: &Self::Config,
        addr: SocketAddr,
        generation: u64,
        now: Duration,
        seed: u64,
    ) -> Option<Self>;
    /// Joins the cluster through `seeds`.
    fn join(&mut self, seeds: &[SocketAddr]);
    /// Leaves the cluster gracefully.
    fn leave(&mut self);
    /// Publishes metadata.
    ///
    /// # Errors
    ///
    /// If the metadata is refused (too large, or metadata is unsupported).
    fn set_metadata(&mut self, metadata: Bytes) -> Result<(), Self::MetadataError>;
    /// A datagram from `from` arrived at `now`. Bad datagrams are ignored.
    fn handle_packet(&mut self, now: Duration, from: SocketAddr, bytes: &[u8]);
    /// The deadline given by [`poll_timeout`](Self::poll_timeout) passed; it is now `now`.
    fn handle_timeout(&mut self, now: Duration);
    /// The next datagram to send: destination and bytes.
    fn poll_transmit(&mut self) -> Option<(SocketAddr, Bytes)>;
    /// The next event the simulator measures.
    fn poll_event(&mut self) -> Option<SimEvent>;
    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    fn poll_timeout(&self) -> Option<Duration>;
    /// Whether this member left the cluster.
    fn has_left(&self) -> bool;
    /// How many members (this one included) it sees alive or suspect.
    fn num_alive(&self) -> usize;
    /// Its own current life (it may grow without a restart, for an implementation that
    /// rejoins under a new identity after being declared dead).
    fn generation(&self) -> u64;
    /// The state in which this member sees `addr` (not itself), if it knows it.
    fn state_of(&self, addr: SocketAddr) -> Option<State>;
    /// Calls `f` with the address and state of every other member this member knows.
    fn for_each_peer(&self, f: &mut dyn FnMut(SocketAddr, State));
}

impl SimMember for Member {
    type Config = Config;
    type MetadataError = MetadataError;

    fn new(
        config: &Config,
        addr: SocketAddr,
        generation: u64,
        now: Duration,
        seed: u64,
    ) -> Option<Self> {
        Member::new(config.clone(), addr, generation, now, seed).ok()
    }

    fn join(&mut self, seeds: &[SocketAddr]) {
        Member::join(self, seeds);
    }

    fn leave(&mut self) {
        Member::leave(self);
    }

    fn set_metadata(&mut self, metadata: Bytes) -> Result<(), MetadataError> {
        Member::set_metadata(self, metadata)
    }

    fn handle_packet(&mut self, now: Duration, from: SocketAddr, bytes: &[u8]) {
        // Errors are impossible between simulated members; ignore like a socket would.
        let _ = Member::handle_packet(self, now, from, bytes);
    }

    fn handle_timeout(&mut self, now: Duration) {
        Member::handle_timeout(self, now);
    }

    fn poll_transmit(&mut self) -> Option<(SocketAddr, Bytes)> {
        Member::poll_transmit(self).map(|t| (t.to, t.bytes))
    }

    fn poll_event(&mut self) -> Option<SimEvent> {
        while let Some(e) = Member::poll_event(self) {
            let e = match e {
                Event::Joined {
                    addr, incarnation, ..
                } => SimEvent::Joined { addr, incarnation },
                Event::Suspected { addr, incarnation } => SimEvent::Suspected { addr, incarnation },
                Event::Dead { addr, incarnation } => SimEvent::Dead { addr, incarnation },
                Event::Left { addr, incarnation } => SimEvent::Left { addr, incarnation },
                // Refutations and metadata are not measured.
                _ => continue,
            };
            return Some(e);
        }
        None
    }

    fn poll_timeout(&self) -> Option<Duration> {
        Member::poll_timeout(self)
    }

    fn has_left(&self) -> bool {
        Member::has_left(self)
    }

    fn num_alive(&self) -> usize {
        Member::num_alive(self)
    }

    fn generation(&self) -> u64 {
        self.incarnation().generation
    }

    fn state_of(&self, addr: SocketAddr) -> Option<State> {
        self.member(addr).map(|i| i.state)
    }

    fn for_each_peer(&self, f: &mut dyn FnMut(SocketAddr, State)) {
        for i in self.members() {
            f(i.addr, i.state);
        }
    }
}

/// The simulated network's behaviour.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct NetConfig {
    /// The smallest one-way latency.
    pub latency_min: Duration,
    /// The mean of the exponentially distributed latency added to `latency_min`.
    pub latency_mean_extra: Duration,
    /// The probability that any datagram is lost (independently).
    pub loss: f64,
}

impl Default for NetConfig {
    /// A LAN: 0.5 ms plus an exponential extra of mean 1 ms, no loss.
    fn default() -> Self {
        Self {
            latency_min: Duration::from_micros(500),
            latency_mean_extra: Duration::from_millis(1),
            loss: 0.0,
        }
    }
}

impl NetConfig {
    /// The default LAN with iid loss `loss` (clamped to 0..=1).
    pub fn with_loss(loss: f64) -> Self {
        Self {
            loss: loss.clamp(0.0, 1.0),
            ..Self::default()
        }
    }
}

/// Counters of a run.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Metrics {
    /// Bytes sent by all members (lost datagrams included).
    pub bytes_sent: u64,
    /// Datagrams sent by all members.
    pub datagrams_sent: u64,
    /// The largest datagram sent.
    pub max_datagram: usize,
    /// Live members declared dead, once per (member, incarnation).
    pub false_deaths: HashSet<(SocketAddr, Incarnation)>,
    /// Live members suspected, once per (member, incarnation).
    pub false_suspicions: HashSet<(SocketAddr, Incarnation)>,
    /// Simulated member-seconds (the sum over members of the time each was up).
    pub member_seconds: f64,
}

/// What a [`Simulation::watch`] waits for every up member to see about a subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Watch {
    /// The subject alive in its current generation (a join or restart).
    Joined,
    /// The subject dead or left.
    Gone,
}

#[derive(Debug)]
struct WatchState {
    subject: SocketAddr,
    generation: u64,
    kind: Watch,
    started: Duration,
    seen: HashMap<MemberId, Duration>,
}

#[derive(Debug)]
struct Node<M> {
    addr: SocketAddr,
    member: Option<M>,
    generation: u64,
    seeds: Vec<SocketAddr>,
    partition: u32,
    starved: bool,
    up_since: Duration,
    timer_at: Option<Duration>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    Timer(MemberId),
    Deliver {
        to: MemberId,
        from: SocketAddr,
        bytes: Bytes,
    },
}

/// A simulated cluster of `M`s (by default sinew's [`Member`]). See the
/// [module docs](self).
#[derive(Debug)]
pub struct Simulation<M: SimMember = Member> {
    config: M::Config,
    net: NetConfig,
    rng: Xoshiro256PlusPlus,
    now: Duration,
    nodes: Vec<Node<M>>,
    by_addr: HashMap<SocketAddr, MemberId>,
    queue: BinaryHeap<Reverse<(Duration, u64, Action)>>,
    order: u64,
    link_loss: HashMap<(MemberId, MemberId), f64>,
    metrics: Metrics,
    watches: Vec<WatchState>,
}

/// The address of simulated member `id`: `10.a.b.c:7946` with `a.b.c` = `id + 1`.
pub fn addr_of(id: MemberId) -> SocketAddr {
    let n = u32::try_from(id).unwrap_or(u32::MAX).wrapping_add(1);
    let [_, a, b, c] = n.to_be_bytes();
    SocketAddr::from((Ipv4Addr::new(10, a, b, c), 7946))
}

impl Simulation<Member> {
    /// An empty cluster of sinew [`Member`]s that use `config`, over a network behaving as
    /// `net`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if `config` does not validate.
    pub fn new(config: Config, net: NetConfig, seed: u64) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self::with_config(config, net, seed))
    }
}

impl<M: SimMember> Simulation<M> {
    /// An empty cluster of `M`s built from `config`, over a network behaving as `net`.
    /// (A member whose construction fails stays down.)
    pub fn with_config(config: M::Config, net: NetConfig, seed: u64) -> Self {
        Self {
            config,
            net,
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            now: Duration::ZERO,
            nodes: Vec::new(),
            by_addr: HashMap::new(),
            queue: BinaryHeap::new(),
            order: 0,
            link_loss: HashMap::new(),
            metrics: Metrics::default(),
            watches: Vec::new(),
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// The counters so far (member-seconds are brought up to date by every `run_*` call).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The number of members ever added.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no member was added.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The address of member `id`.
    pub fn addr(&self, id: MemberId) -> SocketAddr {
        addr_of(id)
    }

    /// Member `id`'s state machine, if it is up.
    pub fn member(&self, id: MemberId) -> Option<&M> {
        self.nodes.get(id)?.member.as_ref()
    }

    /// Whether member `id` is up (added, not crashed).
    pub fn is_up(&self, id: MemberId) -> bool {
        self.member(id).is_some()
    }

    fn new_member(&mut self, id: MemberId, generation: u64) -> Option<M> {
        let seed = self.rng.random::<u64>();
        M::new(&self.config, addr_of(id), generation, self.now, seed)
    }

    /// Adds a member (up, in generation 1, knowing nobody until [`join`](Self::join)).
    pub fn add_member(&mut self) -> MemberId {
        let id = self.nodes.len();
        let member = self.new_member(id, 1);
        self.nodes.push(Node {
            addr: addr_of(id),
            member,
            generation: 1,
            seeds: Vec::new(),
            partition: 0,
            starved: false,
            up_since: self.now,
            timer_at: None,
        });
        self.by_addr.insert(addr_of(id), id);
        self.after_step(id);
        id
    }

    /// Member `id` joins through `seeds`.
    pub fn join(&mut self, id: MemberId, seeds: &[MemberId]) {
        let seeds: Vec<SocketAddr> = seeds.iter().map(|&s| addr_of(s)).collect();
        if let Some(node) = self.nodes.get_mut(id) {
            node.seeds.clone_from(&seeds);
            if let Some(m) = node.member.as_mut() {
                m.join(&seeds);
            }
        }
        self.after_step(id);
    }

    /// Member `id` leaves gracefully (it keeps running until its news is sent).
    pub fn leave(&mut self, id: MemberId) {
        if let Some(m) = self.nodes.get_mut(id).and_then(|n| n.member.as_mut()) {
            m.leave();
        }
        self.after_step(id);
    }

    /// Member `id` publishes metadata.
    ///
    /// # Errors
    ///
    /// The member's refusal ([`MetadataError`] for sinew: the metadata is too large). Does
    /// nothing to a crashed member.
    pub fn set_metadata(
        &mut self,
        id: MemberId,
        meta: impl Into<Bytes>,
    ) -> Result<(), M::MetadataError> {
        if let Some(m) = self.nodes.get_mut(id).and_then(|n| n.member.as_mut()) {
            m.set_metadata(meta.into())?;
        }
        self.after_step(id);
        Ok(())
    }

    /// Member `id` crashes: it stops, and datagrams to it are lost.
    pub fn crash(&mut self, id: MemberId) {
        self.account_uptime(id);
        if let Some(node) = self.nodes.get_mut(id) {
            // Remember the life it reached (an implementation may renew its identity on its
            // own), so that its restart is a later life still.
            if let Some(m) = node.member.take() {
                node.generation = node.generation.max(m.generation());
            }
            node.timer_at = None;
        }
    }

    /// Member `id` restarts in a new life (generation + 1) and joins through its seeds.
    pub fn restart(&mut self, id: MemberId) {
        let Some(node) = self.nodes.get(id) else {
            return;
        };
        if node.member.is_some() {
            self.crash(id);
        }
        let generation = self.nodes.get(id).map_or(1, |n| n.generation + 1);
        let member = self.new_member(id, generation);
        let now = self.now;
        if let Some(node) = self.nodes.get_mut(id) {
            node.generation = generation;
            node.member = member;
            node.up_since = now;
            let seeds = node.seeds.clone();
            if let Some(m) = node.member.as_mut() {
                m.join(&seeds);
            }
        }
        self.after_step(id);
    }

    /// Splits the cluster: members listed in `groups[i]` are in partition `i + 1`, everyone
    /// else in partition 0; datagrams between partitions are lost.
    pub fn partition(&mut self, groups: &[&[MemberId]]) {
        for node in &mut self.nodes {
            node.partition = 0;
        }
        for (i, group) in groups.iter().enumerate() {
            for &id in *group {
                if let Some(node) = self.nodes.get_mut(id) {
                    node.partition = u32::try_from(i + 1).unwrap_or(u32::MAX);
                }
            }
        }
    }

    /// Heals every partition.
    pub fn heal(&mut self) {
        self.partition(&[]);
    }

    /// Starves (or stops starving) member `id`: datagrams reach it 0.5-2.5 s late.
    pub fn set_starved(&mut self, id: MemberId, starved: bool) {
        if let Some(node) = self.nodes.get_mut(id) {
            node.starved = starved;
        }
    }

    /// Datagrams from `from` to `to` (one way) are lost with probability `loss`.
    pub fn set_link_loss(&mut self, from: MemberId, to: MemberId, loss: f64) {
        self.link_loss.insert((from, to), loss.clamp(0.0, 1.0));
    }

    /// Starts measuring how long until every up member sees `kind` about `subject` (in its
    /// current generation). Returns the watch's index for [`watch_result`](Self::watch_result).
    pub fn watch(&mut self, subject: MemberId, kind: Watch) -> usize {
        let generation = self.nodes.get(subject).map_or(0, |n| {
            n.member
                .as_ref()
                .map_or(n.generation, |m| n.generation.max(m.generation()))
        });
        self.watches.push(WatchState {
            subject: addr_of(subject),
            generation,
            kind,
            started: self.now,
            seen: HashMap::new(),
        });
        self.watches.len() - 1
    }

    /// For a watch: the time from its start until every member up now (other than the subject)
    /// had seen the news, or `None` if some has not.
    pub fn watch_result(&self, watch: usize) -> Option<Duration> {
        let w = self.watches.get(watch)?;
        let mut latest = Duration::ZERO;
        for (id, node) in self.nodes.iter().enumerate() {
            if node.addr == w.subject || node.member.as_ref().is_none_or(M::has_left) {
                continue;
            }
            latest = latest.max(*w.seen.get(&id)?);
        }
        Some(latest.saturating_sub(w.started))
    }

    /// Like [`watch_result`](Self::watch_result) but measured from the moment the first
    /// member saw the news (the dissemination proper, without the time the news took to
    /// enter the cluster).
    pub fn watch_spread(&self, watch: usize) -> Option<Duration> {
        let total = self.watch_result(watch)?;
        let w = self.watches.get(watch)?;
        let first = w.seen.values().min()?.saturating_sub(w.started);
        Some(total.saturating_sub(first))
    }

    /// Per-member times (since the watch started) at which each member saw the news.
    pub fn watch_times(&self, watch: usize) -> Vec<Duration> {
        self.watches.get(watch).map_or_else(Vec::new, |w| {
            w.seen
                .values()
                .map(|t| t.saturating_sub(w.started))
                .collect()
        })
    }

    /// Whether every up member that has not left sees every other such member alive.
    pub fn converged(&self) -> bool {
        let up = || {
            self.nodes
                .iter()
                .filter_map(|n| Some((n.addr, n.member.as_ref()?)))
                .filter(|(_, m)| !m.has_left())
        };
        let up_count = up().count();
        // Cheap necessary condition first (O(N)), the full check (O(N^2)) only if it holds.
        if up().any(|(_, m)| m.num_alive() != up_count) {
            return false;
        }
        let up_addrs: HashSet<SocketAddr> = up().map(|(addr, _)| addr).collect();
        up().all(|(me, m)| {
            let mut alive = 0;
            m.for_each_peer(&mut |addr, state| {
                if state == State::Alive && addr != me && up_addrs.contains(&addr) {
                    alive += 1;
                }
            });
            alive + 1 == up_count
        })
    }

    /// Whether every up member other than `id` sees `id` as dead or left.
    pub fn everyone_sees_dead(&self, id: MemberId) -> bool {
        let addr = addr_of(id);
        self.nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != id)
            .filter_map(|(_, n)| n.member.as_ref())
            .all(|m| {
                m.state_of(addr)
                    .is_some_and(|s| matches!(s, State::Dead | State::Left))
            })
    }

    /// Runs until `now + d`.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now.saturating_add(d);
        self.run_until(until);
    }

    /// Runs every action due up to `until`, then sets the clock to `until`.
    pub fn run_until(&mut self, until: Duration) {
        while let Some(Reverse((at, _, _))) = self.queue.peek() {
            if *at > until {
                break;
            }
            let Some(Reverse((at, _, action))) = self.queue.pop() else {
                break;
            };
            self.now = self.now.max(at);
            match action {
                Action::Timer(id) => {
                    let Some(node) = self.nodes.get_mut(id) else {
                        continue;
                    };
                    if node.timer_at != Some(at) {
                        continue; // superseded
                    }
                    node.timer_at = None;
                    if let Some(m) = node.member.as_mut() {
                        m.handle_timeout(at);
                    }
                    self.after_step(id);
                }
                Action::Deliver { to, from, bytes } => {
                    let now = self.now;
                    let Some(m) = self.nodes.get_mut(to).and_then(|n| n.member.as_mut()) else {
                        continue;
                    };
                    m.handle_packet(now, from, &bytes);
                    self.after_step(to);
                }
            }
        }
        let until = until.max(self.now);
        for id in 0..self.nodes.len() {
            self.account_uptime(id);
        }
        self.now = until;
        for node in &mut self.nodes {
            if node.member.is_some() {
                node.up_since = until;
            }
        }
    }

    fn account_uptime(&mut self, id: MemberId) {
        let now = self.now;
        if let Some(node) = self.nodes.get_mut(id)
            && node.member.is_some()
        {
            self.metrics.member_seconds += now.saturating_sub(node.up_since).as_secs_f64();
            node.up_since = now;
        }
    }

    fn schedule(&mut self, at: Duration, action: Action) {
        self.order += 1;
        self.queue.push(Reverse((at, self.order, action)));
    }

    fn latency(&mut self) -> Duration {
        let u: f64 = self.rng.random::<f64>();
        let extra = -(1.0 - u).ln() * self.net.latency_mean_extra.as_secs_f64();
        self.net.latency_min + Duration::from_secs_f64(extra.min(1.0))
    }

    /// Drains member `id`'s outputs: schedules its datagrams, records its events, re-arms its
    /// timer.
    fn after_step(&mut self, id: MemberId) {
        let mut transmits = Vec::new();
        let mut events = Vec::new();
        let mut timeout = None;
        let Some(node) = self.nodes.get_mut(id) else {
            return;
        };
        if let Some(m) = node.member.as_mut() {
            while let Some(t) = m.poll_transmit() {
                transmits.push(t);
            }
            while let Some(e) = m.poll_event() {
                events.push(e);
            }
            timeout = m.poll_timeout();
        }
        let from = node.addr;
        let from_partition = node.partition;
        for (dest_addr, bytes) in transmits {
            self.metrics.bytes_sent += bytes.len() as u64;
            self.metrics.datagrams_sent += 1;
            self.metrics.max_datagram = self.metrics.max_datagram.max(bytes.len());
            let Some(&to) = self.by_addr.get(&dest_addr) else {
                continue;
            };
            let Some(dest) = self.nodes.get(to) else {
                continue;
            };
            if dest.partition != from_partition {
                continue;
            }
            let starved = dest.starved;
            let link = self.link_loss.get(&(id, to)).copied().unwrap_or(0.0);
            if self.rng.random::<f64>() < self.net.loss
                || (link > 0.0 && self.rng.random::<f64>() < link)
            {
                continue;
            }
            let mut at = self.now + self.latency();
            if starved {
                at += Duration::from_millis(self.rng.random_range(500..=2500));
            }
            self.schedule(at, Action::Deliver { to, from, bytes });
        }
        for e in events {
            self.record(id, e);
        }
        if let Some(at) = timeout {
            let at = at.max(self.now);
            let node = self.nodes.get_mut(id);
            if let Some(node) = node
                && node.timer_at.is_none_or(|t| t != at)
            {
                node.timer_at = Some(at);
                self.schedule(at, Action::Timer(id));
            }
        }
    }

    /// The subject's current life, if it is up.
    fn live_generation(&self, addr: SocketAddr) -> Option<u64> {
        let id = *self.by_addr.get(&addr)?;
        let m = self.nodes.get(id)?.member.as_ref()?;
        (!m.has_left()).then(|| m.generation())
    }

    fn record(&mut self, observer: MemberId, event: SimEvent) {
        let now = self.now;
        let (addr, inc, kind) = match event {
            SimEvent::Joined { addr, incarnation } => (addr, incarnation, Some(Watch::Joined)),
            SimEvent::Dead { addr, incarnation } | SimEvent::Left { addr, incarnation } => {
                (addr, incarnation, Some(Watch::Gone))
            }
            SimEvent::Suspected { addr, incarnation } => (addr, incarnation, None),
        };
        let same_life = self.live_generation(addr) == Some(inc.generation);
        match event {
            SimEvent::Dead { .. } if same_life => {
                self.metrics.false_deaths.insert((addr, inc));
            }
            SimEvent::Suspected { .. } if same_life => {
                self.metrics.false_suspicions.insert((addr, inc));
            }
            _ => {}
        }
        if let Some(kind) = kind {
            for w in &mut self.watches {
                if w.subject == addr && w.kind == kind && inc.generation >= w.generation {
                    w.seen.entry(observer).or_insert(now);
                }
            }
        }
    }
}

/// Which scenario [`ReportCard::run`] plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scenario {
    /// Joins, dissemination of new members, steady state under loss, crash detection.
    Steady,
    /// As `Steady`, then the cluster is split in two halves for 60 s and healed; reports the
    /// time until every member sees every other alive.
    Partition,
}

/// Parameters of a [`ReportCard`] run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReportOptions {
    /// Members in the cluster (at least 30).
    pub nodes: usize,
    /// iid loss of every datagram.
    pub loss: f64,
    /// The fraction of members that are starved during the steady phase.
    pub starved: f64,
    /// The seed of everything random.
    pub seed: u64,
    /// How long the steady phase runs.
    pub steady: Duration,
    /// The scenario.
    pub scenario: Scenario,
    /// The protocol configuration (memberlist LAN by default).
    pub config: Config,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            nodes: 1000,
            loss: 0.0,
            starved: 0.0,
            seed: 1,
            steady: Duration::from_secs(120),
            scenario: Scenario::Steady,
            config: Config::lan(),
        }
    }
}

impl ReportOptions {
    /// The flags [`from_args`](Self::from_args) reads, for a program's `--help`.
    pub const USAGE: &'static str = "[--nodes N] [--loss P] [--starved F] [--seed S] [--steady SECS] [--scenario steady|partition]";

    /// Options from command-line arguments (the program name left out): `--nodes N`,
    /// `--loss P` (iid loss), `--starved F` (fraction of starved members), `--seed S`,
    /// `--steady SECS` (whole seconds) and `--scenario steady|partition`, each followed by
    /// its value; what is not given keeps its default. The `gossip_sim` example and the
    /// benches' `gossip_compare` read their command lines with it.
    ///
    /// ```
    /// use sinew_gossip::sim::{ReportOptions, Scenario};
    ///
    /// let args = ["--nodes", "200", "--loss", "0.05", "--scenario", "partition"];
    /// let opts = ReportOptions::from_args(args.map(String::from))?;
    /// assert_eq!((opts.nodes, opts.loss, opts.scenario), (200, 0.05, Scenario::Partition));
    /// assert!(ReportOptions::from_args(["--nodes".to_owned()]).is_err());
    /// Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ArgsError`] for a flag it does not know, a flag without its value, or a value that
    /// does not parse.
    pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Self, ArgsError> {
        let mut opts = Self::default();
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let Some(value) = args.next() else {
                return Err(ArgsError::MissingValue(flag));
            };
            let bad = |flag: String, value: String| ArgsError::BadValue { flag, value };
            match flag.as_str() {
                "--nodes" => opts.nodes = value.parse().map_err(|_| bad(flag, value))?,
                "--loss" => opts.loss = value.parse().map_err(|_| bad(flag, value))?,
                "--starved" => opts.starved = value.parse().map_err(|_| bad(flag, value))?,
                "--seed" => opts.seed = value.parse().map_err(|_| bad(flag, value))?,
                "--steady" => {
                    opts.steady = Duration::from_secs(value.parse().map_err(|_| bad(flag, value))?);
                }
                "--scenario" => {
                    opts.scenario = match value.as_str() {
                        "steady" => Scenario::Steady,
                        "partition" => Scenario::Partition,
                        _ => return Err(bad(flag, value)),
                    }
                }
                _ => return Err(ArgsError::UnknownFlag(flag)),
            }
        }
        Ok(opts)
    }
}

/// The measurements of one simulated run; [`ReportCard::to_json`] prints them.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ReportCard {
    /// Members.
    pub nodes: usize,
    /// iid loss.
    pub loss: f64,
    /// Fraction of starved members.
    pub starved: f64,
    /// The seed.
    pub seed: u64,
    /// Time for the initial cluster to converge after the joins, in seconds (300: it did
    /// not converge within 300 s; the run goes on regardless).
    pub converge_s: f64,
    /// Over the late joiners: the 99th percentile of gossip rounds (`gossip_interval`s) from
    /// the first member knowing the newcomer (usually the seed it joined through) until every
    /// member knew it.
    pub dissemination_rounds_p99: u64,
    /// The maximum of the same.
    pub dissemination_rounds_max: u64,
    /// Over the crashed members: median seconds from the crash to "dead" at every member.
    pub detection_s_p50: f64,
    /// The 99th percentile of the same.
    pub detection_s_p99: f64,
    /// Crashes not detected by everyone within 120 s.
    pub undetected: usize,
    /// Live members declared dead (once per member and incarnation), from the start until
    /// the partition (if any).
    pub false_deaths: usize,
    /// Live members suspected (once per member and incarnation), counted the same way;
    /// `None` for an implementation that does not report suspicions
    /// ([`SimMember::REPORTS_SUSPICIONS`]).
    pub false_suspicions: Option<usize>,
    /// Bytes sent per member per second (UDP payloads) in 30 s of healthy steady state
    /// (loss applies, nobody starved).
    pub bytes_per_member_per_s: f64,
    /// Datagrams sent per member per second in the same window.
    pub messages_per_member_per_s: f64,
    /// Bytes per member per second in the steady phase proper (with the starved members).
    pub bytes_per_member_per_s_steady: f64,
    /// Datagrams per member per second in the steady phase proper.
    pub messages_per_member_per_s_steady: f64,
    /// The largest datagram sent.
    pub max_datagram: usize,
    /// For [`Scenario::Partition`]: seconds from the heal until full convergence (`None`
    /// for the other scenario, or if it did not converge within 300 s).
    pub heal_s: Option<f64>,
    /// For [`Scenario::Partition`]: seconds waited (at most 300) for the cluster to converge
    /// before the split; 0 when it already was.
    pub pre_split_wait_s: Option<f64>,
    /// Simulated member-seconds.
    pub member_seconds: f64,
}

// Ranks are small non-negative numbers; the casts cannot truncate meaningfully.
#[allow(clippy::cast_possible_truncation)]
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).copied().unwrap_or(0.0)
}

impl ReportCard {
    /// Plays `opts.scenario`:
    ///
    /// 1. `nodes - 20` members join through member 0, 10 ms apart; run until converged.
    /// 2. The 20 remaining members join one by one, 5 s apart; each is watched until every
    ///    member knows it (dissemination rounds).
    /// 3. The cluster runs 30 s healthy (traffic is measured), then `starved x nodes`
    ///    members are starved and it runs for `steady`.
    /// 4. Ten members crash, 5 s apart; each is watched until everyone sees it dead.
    /// 5. For [`Scenario::Partition`]: wait (up to 300 s) until converged, split into halves
    ///    for 60 s, heal, time the convergence.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if `opts.config` does not validate.
    pub fn run(opts: &ReportOptions) -> Result<ReportCard, ConfigError> {
        opts.config.validate()?;
        Ok(Self::run_with::<Member>(opts, opts.config.clone()))
    }

    /// Plays the same scenario as [`run`](Self::run) with members of another implementation,
    /// built from `config` (which should carry the same timing as `opts.config`; gossip rounds
    /// are counted in `opts.config.gossip_interval`s).
    // Counts and round numbers are small, non-negative and clamped before the casts.
    #[allow(clippy::cast_possible_truncation)]
    pub fn run_with<M: SimMember>(opts: &ReportOptions, config: M::Config) -> ReportCard {
        let s = Duration::from_secs(1);
        let n = opts.nodes.max(30);
        let late = 20;
        let mut sim =
            Simulation::<M>::with_config(config, NetConfig::with_loss(opts.loss), opts.seed);
        for _ in 0..n - late {
            sim.add_member();
        }
        // 1. Initial joins.
        for id in 1..n - late {
            sim.join(id, &[0]);
            sim.run_for(Duration::from_millis(10));
        }
        let joined = sim.now();
        while !sim.converged() && sim.now() - joined < 300 * s {
            sim.run_for(s / 2);
        }
        let converge_s = (sim.now() - joined).as_secs_f64();
        // 2. Late joiners, watched.
        let mut rounds = Vec::new();
        for _ in 0..late {
            let id = sim.add_member();
            let w = sim.watch(id, Watch::Joined);
            sim.join(id, &[0]);
            sim.run_for(5 * s);
            let mut extra = Duration::ZERO;
            while sim.watch_result(w).is_none() && extra < 60 * s {
                sim.run_for(s);
                extra += s;
            }
            if let Some(t) = sim.watch_spread(w) {
                let r = t.as_secs_f64() / opts.config.gossip_interval.as_secs_f64();
                rounds.push(r.ceil());
            } else {
                rounds.push(f64::INFINITY);
            }
        }
        rounds.sort_by(f64::total_cmp);
        // 3. Steady state: first healthy (the traffic the report quotes), then with starved
        // members (false deaths are counted throughout).
        let (healthy_bytes, healthy_messages) = measure_traffic(&mut sim, 30 * s);
        let starved = ((n as f64) * opts.starved.clamp(0.0, 1.0)).round() as usize;
        let mut ids: Vec<MemberId> = (1..n).collect();
        shuffle_ids(&mut sim.rng, &mut ids);
        for &id in ids.iter().take(starved) {
            sim.set_starved(id, true);
        }
        let (bytes_per_member_per_s, messages_per_member_per_s) =
            measure_traffic(&mut sim, opts.steady);
        for &id in ids.iter().take(starved) {
            sim.set_starved(id, false);
        }
        // 4. Crashes.
        let victims: Vec<MemberId> = ids.iter().copied().skip(starved).take(10).collect();
        let mut watches = Vec::new();
        for &v in &victims {
            watches.push(sim.watch(v, Watch::Gone));
            sim.crash(v);
            sim.run_for(5 * s);
        }
        let mut waited = Duration::ZERO;
        while watches.iter().any(|&w| sim.watch_result(w).is_none()) && waited < 120 * s {
            sim.run_for(s);
            waited += s;
        }
        let mut detection: Vec<f64> = watches
            .iter()
            .filter_map(|&w| sim.watch_result(w))
            .map(|d| d.as_secs_f64())
            .collect();
        let undetected = watches.len() - detection.len();
        detection.sort_by(f64::total_cmp);
        // The partition's deaths are the detector doing its job (the other side is
        // unreachable), so false deaths and suspicions are counted up to here.
        let false_deaths = sim.metrics.false_deaths.len();
        let false_suspicions = M::REPORTS_SUSPICIONS.then_some(sim.metrics.false_suspicions.len());
        // 5. Partition.
        let mut pre_split_wait_s = None;
        let heal_s = if opts.scenario == Scenario::Partition {
            // Split a converged cluster, so that heal_s times the partition alone and not
            // gaps left from earlier phases (a no-op when the cluster is converged already).
            let before = sim.now();
            while !sim.converged() && sim.now() - before < 300 * s {
                sim.run_for(s / 10);
            }
            pre_split_wait_s = Some((sim.now() - before).as_secs_f64());
            let up: Vec<MemberId> = (0..n).filter(|&i| sim.is_up(i)).collect();
            let (a, b) = up.split_at(up.len() / 2);
            sim.partition(&[a, b]);
            sim.run_for(60 * s);
            sim.heal();
            let healed = sim.now();
            while !sim.converged() && sim.now() - healed < 300 * s {
                sim.run_for(s / 10);
            }
            sim.converged().then(|| (sim.now() - healed).as_secs_f64())
        } else {
            None
        };
        let m = &sim.metrics;
        ReportCard {
            nodes: n,
            loss: opts.loss,
            starved: opts.starved,
            seed: opts.seed,
            converge_s,
            dissemination_rounds_p99: percentile(&rounds, 0.99).min(1e9) as u64,
            dissemination_rounds_max: rounds.last().copied().unwrap_or(0.0).min(1e9) as u64,
            detection_s_p50: percentile(&detection, 0.5),
            detection_s_p99: percentile(&detection, 0.99),
            undetected,
            false_deaths,
            false_suspicions,
            bytes_per_member_per_s: healthy_bytes,
            messages_per_member_per_s: healthy_messages,
            bytes_per_member_per_s_steady: bytes_per_member_per_s,
            messages_per_member_per_s_steady: messages_per_member_per_s,
            max_datagram: m.max_datagram,
            heal_s,
            pre_split_wait_s,
            member_seconds: m.member_seconds,
        }
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> String {
        let heal = self
            .heal_s
            .map_or_else(|| "null".to_owned(), |h| format!("{h:.1}"));
        let wait = self
            .pre_split_wait_s
            .map_or_else(|| "null".to_owned(), |h| format!("{h:.1}"));
        let suspicions = self
            .false_suspicions
            .map_or_else(|| "null".to_owned(), |n| n.to_string());
        format!(
            concat!(
                "{{\"nodes\":{},\"loss\":{},\"starved\":{},\"seed\":{},\"converge_s\":{:.1},",
                "\"dissemination_rounds_p99\":{},\"dissemination_rounds_max\":{},",
                "\"detection_s_p50\":{:.2},\"detection_s_p99\":{:.2},\"undetected\":{},",
                "\"false_deaths\":{},\"false_suspicions\":{},",
                "\"bytes_per_member_per_s\":{:.1},\"messages_per_member_per_s\":{:.2},",
                "\"bytes_per_member_per_s_steady\":{:.1},\"messages_per_member_per_s_steady\":{:.2},",
                "\"max_datagram\":{},\"heal_s\":{},\"pre_split_wait_s\":{},\"member_seconds\":{:.0}}}"
            ),
            self.nodes,
            self.loss,
            self.starved,
            self.seed,
            self.converge_s,
            self.dissemination_rounds_p99,
            self.dissemination_rounds_max,
            self.detection_s_p50,
            self.detection_s_p99,
            self.undetected,
            self.false_deaths,
            suspicions,
            self.bytes_per_member_per_s,
            self.messages_per_member_per_s,
            self.bytes_per_member_per_s_steady,
            self.messages_per_member_per_s_steady,
            self.max_datagram,
            heal,
            wait,
            self.member_seconds,
        )
    }
}

/// Runs for `d`; returns bytes and datagrams sent per member-second meanwhile.
fn measure_traffic<M: SimMember>(sim: &mut Simulation<M>, d: Duration) -> (f64, f64) {
    let (b0, d0, ms0) = (
        sim.metrics.bytes_sent,
        sim.metrics.datagrams_sent,
        sim.metrics.member_seconds,
    );
    sim.run_for(d);
    let member_s = (sim.metrics.member_seconds - ms0).max(1e-9);
    (
        (sim.metrics.bytes_sent - b0) as f64 / member_s,
        (sim.metrics.datagrams_sent - d0) as f64 / member_s,
    )
}

fn shuffle_ids(rng: &mut Xoshiro256PlusPlus, v: &mut [MemberId]) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_distinct() {
        let set: HashSet<SocketAddr> = (0..70_000).map(addr_of).collect();
        assert_eq!(set.len(), 70_000);
    }

    #[test]
    fn same_seed_same_run() {
        let run = |seed| {
            let mut sim = Simulation::new(Config::lan(), NetConfig::with_loss(0.05), seed).unwrap();
            let ids: Vec<_> = (0..8).map(|_| sim.add_member()).collect();
            for &id in &ids[1..] {
                sim.join(id, &[0]);
            }
            sim.run_for(Duration::from_secs(20));
            (sim.metrics().bytes_sent, sim.metrics().datagrams_sent)
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }

    #[test]
    fn the_generic_path_replays_the_default_one() {
        let run = |mut sim: Simulation| {
            let ids: Vec<_> = (0..8).map(|_| sim.add_member()).collect();
            for &id in &ids[1..] {
                sim.join(id, &[0]);
            }
            sim.run_for(Duration::from_secs(20));
            sim.crash(3);
            sim.run_for(Duration::from_secs(30));
            assert!(sim.converged());
            assert!(sim.everyone_sees_dead(3));
            (sim.metrics().bytes_sent, sim.metrics().datagrams_sent)
        };
        let net = NetConfig::with_loss(0.05);
        let plain = Simulation::new(Config::lan(), net.clone(), 9).unwrap();
        let generic = Simulation::<Member>::with_config(Config::lan(), net, 9);
        assert_eq!(run(plain), run(generic));
    }

    #[test]
    fn report_options_from_the_command_line() {
        let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let opts = ReportOptions::from_args(args(
            "--nodes 50 --loss 0.1 --starved 0.05 --seed 9 --steady 30 --scenario partition",
        ))
        .unwrap();
        assert_eq!(
            (opts.nodes, opts.loss, opts.starved, opts.seed, opts.steady),
            (50, 0.1, 0.05, 9, Duration::from_secs(30))
        );
        assert_eq!(opts.scenario, Scenario::Partition);
        assert_eq!(ReportOptions::from_args(args("")).unwrap().nodes, 1000);
        assert_eq!(
            ReportOptions::from_args(args("--impl foca")).unwrap_err(),
            ArgsError::UnknownFlag("--impl".into())
        );
        assert_eq!(
            ReportOptions::from_args(args("--seed 1 --loss")).unwrap_err(),
            ArgsError::MissingValue("--loss".into())
        );
        for bad in ["--nodes -3", "--loss x", "--steady 1.5", "--scenario storm"] {
            assert!(
                matches!(
                    ReportOptions::from_args(args(bad)),
                    Err(ArgsError::BadValue { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn report_card_generic_run_matches_and_prints_null_suspicions() {
        let opts = ReportOptions {
            nodes: 30,
            loss: 0.02,
            steady: Duration::from_secs(5),
            ..ReportOptions::default()
        };
        let card = ReportCard::run(&opts).unwrap();
        assert_eq!(
            card,
            ReportCard::run_with::<Member>(&opts, opts.config.clone())
        );
        assert!(card.false_suspicions.is_some());
        assert_eq!(card.undetected, 0);
        let mut without = card;
        without.false_suspicions = None;
        assert!(without.to_json().contains("\"false_suspicions\":null,"));
    }
}
