//! The sans-io member: SWIM probing, Lifeguard, piggybacked gossip and anti-entropy.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, RngExt, SeedableRng};

use crate::broadcast::BroadcastQueue;
use crate::config::Config;
use crate::error::{ConfigError, MetadataError, PacketError};
use crate::wire::{self, DIGEST_BUCKETS, Incarnation, Message, Packer, State};

/// A datagram for the driver to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub to: SocketAddr,
    /// The datagram, at most [`Config::mtu`] bytes.
    pub bytes: Bytes,
    /// How the driver should send it.
    pub channel: Channel,
}

/// How a [`Transmit`] should travel. Every transmit is a self-contained datagram either way;
/// the channel is a hint for drivers that also keep a reliable stream transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Channel {
    /// Probes, acks and gossip: small, frequent, and useless when late, so UDP.
    Datagram,
    /// Anti-entropy (the digests and the states that answer them, up to
    /// [`Config::sync_max_datagrams`] datagrams at once) and the fallback ping sent beside the
    /// indirect probes: worth a reliable, ordered stream (TCP), as memberlist sends them,
    /// so a burst is not lost to a full socket buffer and a probe has a path that does not
    /// share UDP's fate.
    Stream,
}

/// Something the application may want to know about another member.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A member became alive: first heard of, or back with a new incarnation after being dead
    /// or gone.
    Joined {
        /// The member.
        addr: SocketAddr,
        /// Its incarnation.
        incarnation: Incarnation,
        /// Its metadata.
        metadata: Bytes,
    },
    /// A member is suspected of having failed.
    Suspected {
        /// The member.
        addr: SocketAddr,
        /// The suspected incarnation.
        incarnation: Incarnation,
    },
    /// A suspected member refuted the suspicion.
    Recovered {
        /// The member.
        addr: SocketAddr,
        /// Its new incarnation.
        incarnation: Incarnation,
    },
    /// A member was declared dead.
    Dead {
        /// The member.
        addr: SocketAddr,
        /// The incarnation declared dead.
        incarnation: Incarnation,
    },
    /// A member left the cluster on purpose.
    Left {
        /// The member.
        addr: SocketAddr,
        /// Its final incarnation.
        incarnation: Incarnation,
    },
    /// A live member published new metadata.
    MetadataUpdated {
        /// The member.
        addr: SocketAddr,
        /// The incarnation carrying the metadata.
        incarnation: Incarnation,
        /// The new metadata.
        metadata: Bytes,
    },
}

/// What a member knows about another member.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemberInfo {
    /// Its address (its identity).
    pub addr: SocketAddr,
    /// Its incarnation.
    pub incarnation: Incarnation,
    /// Its state.
    pub state: State,
    /// Its metadata (empty once dead or left).
    pub metadata: Bytes,
}

/// Counts of this member's own probing since it was created (for metrics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProbeStats {
    /// Probes started (one direct ping each).
    pub probes: u64,
    /// Probes that went on to ask other members (ping-req) after the direct ping timed out.
    pub indirect: u64,
    /// Probes that ended without any ack (each raises a suspicion or keeps one going).
    pub failed: u64,
}

#[derive(Debug)]
struct Suspicion {
    start: Duration,
    /// Who raised the suspicion: its own repeats are not confirmations.
    accuser: SocketAddr,
    confirmations: Vec<SocketAddr>,
    k: u32,
    min: Duration,
    max: Duration,
    deadline: Duration,
}

impl Suspicion {
    /// Lifeguard: `max(min, max - (max - min) * ln(c + 1) / ln(k + 1))`.
    fn timeout(&self) -> Duration {
        if self.k == 0 {
            return self.min;
        }
        let c = self.confirmations.len() as f64;
        let frac = (c + 1.0).ln() / (f64::from(self.k) + 1.0).ln();
        let span = self.max.saturating_sub(self.min).as_secs_f64();
        let t = self.max.as_secs_f64() - span * frac;
        secs(t.max(self.min.as_secs_f64()))
    }
}

#[derive(Debug)]
struct Entry {
    addr: SocketAddr,
    incarnation: Incarnation,
    state: State,
    metadata: Bytes,
    since: Duration,
    suspicion: Option<Suspicion>,
}

#[derive(Debug)]
struct Probe {
    target: SocketAddr,
    seq: u32,
    indirect_at: Duration,
    end: Duration,
    indirect_sent: bool,
    acked: bool,
    expected_nacks: u32,
    nacks: u32,
    /// The members asked to probe the target for us: their acks and nacks count.
    relays: Vec<SocketAddr>,
}

#[derive(Debug)]
struct Relay {
    seq: u32,
    /// Whom we ping for the requester: only its ack is passed on.
    target: SocketAddr,
    requester: SocketAddr,
    their_seq: u32,
    nack_at: Option<Duration>,
    expires: Duration,
}

/// One member of a cluster: a SWIM + Lifeguard state machine with no I/O of its own.
///
/// Feed it datagrams ([`handle_packet`](Self::handle_packet)) and timer expiries
/// ([`handle_timeout`](Self::handle_timeout)); after each call drain
/// [`poll_transmit`](Self::poll_transmit) (datagrams to send), [`poll_event`](Self::poll_event)
/// (membership changes) and re-arm a timer for [`poll_timeout`](Self::poll_timeout). Times are
/// `Duration`s since any fixed origin (a [`Clock`](crate::Clock)'s `now()`); the random
/// generator is injected, so the same inputs and seed replay the same run.
///
/// A member's identity is its address plus an [`Incarnation`]: the generation given at
/// construction tells its lives apart (use a larger one after every restart, e.g. the startup
/// time in milliseconds) and the number is bumped by the member itself to refute suspicion or
/// publish metadata.
///
/// # Examples
///
/// Two members in one process, with the datagrams carried by hand:
///
/// ```
/// use std::time::Duration;
/// use sinew_gossip::{Config, Event, Member};
///
/// let a_addr = "10.0.0.1:7946".parse()?;
/// let b_addr = "10.0.0.2:7946".parse()?;
/// let now = Duration::ZERO;
/// let mut a = Member::new(Config::lan(), a_addr, 1, now, 42)?;
/// let mut b = Member::new(Config::lan(), b_addr, 1, now, 43)?;
///
/// b.join(&[a_addr]);
/// // Carry datagrams until both are quiet.
/// loop {
///     let mut moved = false;
///     while let Some(t) = b.poll_transmit() {
///         a.handle_packet(now, b_addr, &t.bytes)?;
///         moved = true;
///     }
///     while let Some(t) = a.poll_transmit() {
///         b.handle_packet(now, a_addr, &t.bytes)?;
///         moved = true;
///     }
///     if !moved {
///         break;
///     }
/// }
/// assert!(matches!(a.poll_event(), Some(Event::Joined { addr, .. }) if addr == b_addr));
/// assert!(matches!(b.poll_event(), Some(Event::Joined { addr, .. }) if addr == a_addr));
/// assert_eq!(a.num_alive(), 2);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Guarantees
///
/// - No input panics: malformed datagrams are refused with [`PacketError`], and every message
///   is applied with checked rules (a message can only move a member's state forward).
/// - A member declared dead comes back only with a larger incarnation, which only it can
///   create: third parties repeating old "alive" news cannot resurrect it.
/// - Every datagram is at most [`Config::mtu`] bytes.
/// - Costs: `handle_packet` is O(messages x log(queue)) except for anti-entropy digests,
///   which are O(N); memory is O(N) for N known members.
#[derive(Debug)]
pub struct Member<R = Xoshiro256PlusPlus> {
    config: Config,
    me: SocketAddr,
    incarnation: Incarnation,
    metadata: Bytes,
    rng: R,
    now: Duration,
    left: bool,
    seeds: Vec<SocketAddr>,

    entries: Vec<Entry>,
    index: HashMap<SocketAddr, usize>,
    live: usize,
    suspicion_timers: BTreeSet<(Duration, SocketAddr)>,

    probe_order: Vec<SocketAddr>,
    probe_pos: usize,
    /// Members this member itself suspects, re-probed in turn (see `next_probe_target`).
    accused: VecDeque<SocketAddr>,
    reprobe_turn: bool,
    probe: Option<Probe>,
    relays: Vec<Relay>,
    seq: u32,
    health: u32,
    probe_stats: ProbeStats,

    next_probe: Duration,
    next_gossip: Duration,
    next_push_pull: Duration,
    next_bulk_sync: Duration,
    /// The last reconnect ping: its peer and sequence number (an ack starts anti-entropy).
    reconnect_ping: Option<(SocketAddr, u32)>,
    next_reconnect: Duration,
    /// When each reconnect candidate (dead member or unseen seed) was last tried.
    reconnect_tried: HashMap<SocketAddr, Duration>,

    broadcasts: BroadcastQueue,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
}

impl Member<Xoshiro256PlusPlus> {
    /// A member at `addr` in its life `generation`, created at `now`, with a generator
    /// seeded from `seed` (Xoshiro256++: fast, portable, reproducible).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if the configuration does not validate.
    pub fn new(
        config: Config,
        addr: SocketAddr,
        generation: u64,
        now: Duration,
        seed: u64,
    ) -> Result<Self, ConfigError> {
        Self::with_rng(
            config,
            addr,
            generation,
            now,
            Xoshiro256PlusPlus::seed_from_u64(seed),
        )
    }
}

/// Seconds to a `Duration`, saturating (never panics on huge or odd values).
fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX)
}

/// Whole milliseconds, saturating at `u32::MAX` (49 days).
fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

fn scaled(d: Duration, factor: u32) -> Duration {
    d.saturating_mul(factor)
}

impl<R: Rng> Member<R> {
    /// Like [`Member::new`] with a caller-supplied random generator.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if the configuration does not validate.
    pub fn with_rng(
        config: Config,
        addr: SocketAddr,
        generation: u64,
        now: Duration,
        rng: R,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self::with_rng_unchecked(config, addr, generation, now, rng))
    }

    /// [`with_rng`](Self::with_rng) for a configuration already validated (the runtime's,
    /// checked when its `ClusterConfig` was built).
    pub(crate) fn with_rng_unchecked(
        config: Config,
        addr: SocketAddr,
        generation: u64,
        now: Duration,
        mut rng: R,
    ) -> Self {
        // Spread the periodic timers so members started together do not run in lockstep.
        let jitter = |rng: &mut R, d: Duration| {
            let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1);
            Duration::from_nanos(rng.random_range(0..nanos))
        };
        let next_probe = now.saturating_add(jitter(&mut rng, config.probe_interval));
        let next_gossip = now.saturating_add(jitter(&mut rng, config.gossip_interval));
        let next_push_pull = now
            .saturating_add(config.push_pull_interval / 2)
            .saturating_add(jitter(&mut rng, config.push_pull_interval));
        let next_reconnect = now.saturating_add(jitter(&mut rng, config.reconnect_interval));
        // Each life starts its sequence numbers at its own point (a hash of address and
        // generation; not the generator, so seeded runs replay as before), so a restarted
        // member does not reuse the numbers of its previous life, whose acks may still be in
        // flight or recorded.
        let seq = {
            let mut b = Vec::with_capacity(18);
            addr_bytes(&addr, &mut b);
            // 14 bits: a start below 2^14 keeps sequence numbers two-byte varints, as a count
            // from 0 soon is, so traffic is what it was.
            let h = twox_hash::XxHash64::oneshot(generation, &b);
            u32::try_from(h >> 50).unwrap_or(0)
        };
        Self {
            config,
            me: addr,
            incarnation: Incarnation::new(generation, 0),
            metadata: Bytes::new(),
            rng,
            now,
            left: false,
            seeds: Vec::new(),
            entries: Vec::new(),
            index: HashMap::new(),
            live: 0,
            suspicion_timers: BTreeSet::new(),
            probe_order: Vec::new(),
            probe_pos: 0,
            accused: VecDeque::new(),
            reprobe_turn: false,
            probe: None,
            relays: Vec::new(),
            seq,
            health: 0,
            probe_stats: ProbeStats::default(),
            next_probe,
            next_gossip,
            next_push_pull,
            next_bulk_sync: now,
            reconnect_ping: None,
            next_reconnect,
            reconnect_tried: HashMap::new(),
            broadcasts: BroadcastQueue::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Accessors

    /// This member's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.me
    }

    /// Counts of this member's own probes.
    pub fn probe_stats(&self) -> ProbeStats {
        self.probe_stats
    }

    /// This member's current incarnation.
    pub fn incarnation(&self) -> Incarnation {
        self.incarnation
    }

    /// This member's metadata.
    pub fn metadata(&self) -> &Bytes {
        &self.metadata
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Lifeguard's local health multiplier: 0 when healthy, up to `awareness_max - 1` when
    /// this member keeps missing acks and nacks (its probe timeouts are scaled by this + 1).
    pub fn health(&self) -> u32 {
        self.health
    }

    /// Whether [`leave`](Self::leave) was called.
    pub fn has_left(&self) -> bool {
        self.left
    }

    /// How many members (this one included) are alive or suspect.
    pub fn num_alive(&self) -> usize {
        self.live + usize::from(!self.left)
    }

    /// What this member knows about `addr` (not about itself).
    pub fn member(&self, addr: SocketAddr) -> Option<MemberInfo> {
        let e = self.entries.get(*self.index.get(&addr)?)?;
        Some(info(e))
    }

    /// Every other member this member knows of, dead and left ones included (until their
    /// tombstone expires).
    pub fn members(&self) -> impl Iterator<Item = MemberInfo> + '_ {
        self.entries.iter().map(info)
    }

    /// How many rumours wait to be piggybacked.
    pub fn pending_broadcasts(&self) -> usize {
        self.broadcasts.len()
    }

    // -----------------------------------------------------------------------------------------
    // Outputs

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next membership event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called (`None`: only after
    /// leaving, once every rumour is sent).
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.left {
            return (!self.broadcasts.is_empty()).then_some(self.next_gossip);
        }
        let probe = match &self.probe {
            Some(p) if !p.acked && !p.indirect_sent => p.indirect_at.min(p.end),
            Some(p) => p.end,
            None => self.next_probe,
        };
        let mut t = probe
            .min(self.next_gossip)
            .min(self.next_push_pull)
            .min(self.next_reconnect);
        if let Some(&(d, _)) = self.suspicion_timers.first() {
            t = t.min(d);
        }
        for r in &self.relays {
            t = t.min(r.nack_at.unwrap_or(r.expires).min(r.expires));
        }
        Some(t)
    }

    // -----------------------------------------------------------------------------------------
    // Commands

    /// Joins the cluster through `seeds` (addresses of any existing members; this member's
    /// own address is skipped). Sends each an anti-entropy digest and this member's alive
    /// announcement. Seeds that do not answer are retried every `reconnect_interval` until
    /// seen alive, so the application needs no retry loop.
    pub fn join(&mut self, seeds: &[SocketAddr]) {
        let mut all = std::mem::take(&mut self.seeds);
        all.extend_from_slice(seeds);
        self.set_seeds(&all);
        self.broadcast_self();
        self.next_reconnect = self.now.saturating_add(self.config.probe_interval);
        let seeds = self.seeds.clone();
        for seed in seeds {
            self.send_reconnect(seed);
        }
    }

    /// Replaces the seed addresses retried while unseen (see [`join`](Self::join)) without
    /// sending anything: for drivers that re-resolve seed host names, whose addresses may
    /// change while the cluster runs.
    pub fn set_seeds(&mut self, seeds: &[SocketAddr]) {
        self.seeds.clear();
        for &seed in seeds {
            if seed != self.me && !self.seeds.contains(&seed) {
                self.seeds.push(seed);
            }
        }
    }

    /// Leaves the cluster: announces "left" (with a new incarnation) to every live member
    /// directly and by gossip, stops probing and answering, and keeps gossiping until the
    /// announcement has been retransmitted its limit (then
    /// [`poll_timeout`](Self::poll_timeout) returns `None`).
    pub fn leave(&mut self) {
        if self.left {
            return;
        }
        self.left = true;
        self.bump_incarnation(self.incarnation);
        let msg = Message::Left {
            addr: self.me,
            incarnation: self.incarnation,
        };
        // Tell every live member directly as well as by gossip: at a small retransmit limit
        // a rumour misses a member now and then, and a member that missed this one would
        // probe the leaver, find it gone and call it dead. One small datagram per member,
        // once.
        let live: Vec<SocketAddr> = self
            .entries
            .iter()
            .filter(|e| matches!(e.state, State::Alive | State::Suspect))
            .map(|e| e.addr)
            .collect();
        for addr in live {
            self.send(addr, std::slice::from_ref(&msg), false);
        }
        self.broadcasts.push(self.me, msg, self.now);
        self.probe = None;
        self.relays.clear();
        self.next_gossip = self.now;
    }

    /// Publishes new metadata (with a new incarnation, so it supersedes the old).
    ///
    /// # Errors
    ///
    /// [`MetadataError::TooLarge`] if longer than [`Config::max_metadata`].
    pub fn set_metadata(&mut self, metadata: impl Into<Bytes>) -> Result<(), MetadataError> {
        let metadata = metadata.into();
        if metadata.len() > self.config.max_metadata {
            return Err(MetadataError::TooLarge {
                len: metadata.len(),
                max: self.config.max_metadata,
            });
        }
        self.metadata = metadata;
        if !self.left {
            self.bump_incarnation(self.incarnation);
            self.broadcast_self();
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Inputs

    /// Handles a datagram received from `from` (the transport's source address; direct acks
    /// go back there, everything else to the addresses the datagram names).
    ///
    /// # Errors
    ///
    /// [`PacketError`] if the datagram is malformed or from another cluster; it is then
    /// ignored entirely.
    pub fn handle_packet(
        &mut self,
        now: Duration,
        from: SocketAddr,
        packet: &[u8],
    ) -> Result<(), PacketError> {
        let dg = wire::decode(packet).map_err(PacketError::Decode)?;
        if dg.label != self.config.cluster_label {
            return Err(PacketError::WrongCluster);
        }
        self.now = self.now.max(now);
        if self.left || dg.sender == self.me {
            return Ok(());
        }
        let sender = dg.sender;
        let mut acks = Vec::new();
        for msg in dg.messages {
            match msg {
                Message::Ping { seq } => acks.push(Message::Ack { seq }),
                Message::Ack { seq } => self.on_ack(sender, seq),
                Message::Nack { seq } => {
                    if let Some(p) = self
                        .probe
                        .as_mut()
                        .filter(|p| p.seq == seq && p.relays.contains(&sender))
                    {
                        p.nacks = p.nacks.saturating_add(1);
                    }
                }
                Message::PingReq { seq, target } => self.on_ping_req(sender, seq, target),
                Message::Alive {
                    addr,
                    incarnation,
                    metadata,
                } => self.apply_alive(addr, incarnation, metadata),
                Message::Suspect {
                    addr,
                    incarnation,
                    from,
                    age_ms,
                } => self.apply_suspect(
                    addr,
                    incarnation,
                    from,
                    Duration::from_millis(u64::from(age_ms)),
                ),
                Message::Dead {
                    addr,
                    incarnation,
                    from,
                } => self.apply_dead(addr, incarnation, from),
                Message::Left { addr, incarnation } => self.apply_left(addr, incarnation),
                Message::SyncDigest { reply, buckets } => self.on_digest(sender, reply, &buckets),
                Message::SyncState {
                    addr,
                    incarnation,
                    state,
                    metadata,
                } => self.apply_sync(sender, addr, incarnation, state, metadata),
            }
        }
        if !acks.is_empty() {
            // Tell a sender we consider suspect or dead so it can refute (Lifeguard's buddy
            // rule, extended to the dead so healed partitions notice).
            if let Some(notice) = self.notice_for(sender) {
                acks.insert(0, notice);
            }
            self.send(from, &acks, true);
        }
        Ok(())
    }

    /// Runs every timer due at `now`: probes, gossip rounds, anti-entropy, reconnects,
    /// suspicion expiries.
    pub fn handle_timeout(&mut self, now: Duration) {
        self.now = self.now.max(now);
        let now = self.now;
        if self.left {
            if now >= self.next_gossip {
                self.gossip_round();
                self.next_gossip = now.saturating_add(self.config.gossip_interval);
            }
            return;
        }
        // Suspicions that ran out.
        while let Some(&(deadline, addr)) = self.suspicion_timers.first() {
            if deadline > now {
                break;
            }
            self.suspicion_timers.pop_first();
            if let Some(e) = self.entry(addr)
                && e.state == State::Suspect
            {
                let inc = e.incarnation;
                self.apply_dead(addr, inc, self.me);
            }
        }
        self.run_relays(now);
        self.run_probe(now);
        if now >= self.next_gossip {
            self.gossip_round();
            self.next_gossip = self
                .next_gossip
                .saturating_add(self.config.gossip_interval)
                .max(now);
        }
        if now >= self.next_push_pull {
            self.next_push_pull = now.saturating_add(self.config.push_pull_interval);
            let live = self.random_members(1, None, |_, e| {
                matches!(e.state, State::Alive | State::Suspect)
            });
            if let Some(&peer) = live.first() {
                let digest = self.digest_message(false);
                self.send_via(peer, &[digest], false, Channel::Stream);
            }
        }
        if now >= self.next_reconnect {
            self.next_reconnect = now.saturating_add(self.config.reconnect_interval);
            self.reap(now);
            self.reconnect();
        }
    }

    // -----------------------------------------------------------------------------------------
    // Probing

    fn run_probe(&mut self, now: Duration) {
        if let Some(p) = &mut self.probe
            && !p.acked
            && !p.indirect_sent
            && now >= p.indirect_at
        {
            p.indirect_sent = true;
            let (target, seq) = (p.target, p.seq);
            self.probe_stats.indirect += 1;
            let relays = self.random_members(self.config.indirect_probes, Some(target), |_, e| {
                e.state == State::Alive
            });
            if let Some(p) = &mut self.probe {
                p.expected_nacks = u32::try_from(relays.len()).unwrap_or(u32::MAX);
                p.relays.clone_from(&relays);
            }
            for relay in relays {
                self.send(relay, &[Message::PingReq { seq, target }], false);
            }
            // A second direct ping alongside the indirect ones (memberlist sends a TCP
            // ping here): one more independent path, so a single lost datagram on the
            // direct path no longer counts against the target.
            self.send_via(target, &[Message::Ping { seq }], false, Channel::Stream);
        }
        if let Some(p) = self.probe.as_ref().filter(|p| now >= p.end) {
            let (target, acked, expected, nacks, end) =
                (p.target, p.acked, p.expected_nacks, p.nacks, p.end);
            self.probe = None;
            if !acked {
                self.probe_stats.failed += 1;
                // Lifeguard: a missed nack means our own network or scheduling is suspect.
                let delta = if expected > 0 {
                    expected.saturating_sub(nacks)
                } else {
                    1
                };
                self.adjust_health(delta as i32);
                if let Some(e) = self.entry(target)
                    && matches!(e.state, State::Alive | State::Suspect)
                {
                    let inc = e.incarnation;
                    self.apply_suspect(target, inc, self.me, Duration::ZERO);
                }
            }
            self.next_probe = end;
        }
        if self.probe.is_none() && now >= self.next_probe {
            let factor = self.health + 1;
            match self.next_probe_target() {
                Some(target) => {
                    let seq = self.next_seq();
                    self.probe_stats.probes += 1;
                    self.probe = Some(Probe {
                        target,
                        seq,
                        indirect_at: now.saturating_add(scaled(self.config.probe_timeout, factor)),
                        end: now.saturating_add(scaled(self.config.probe_interval, factor)),
                        indirect_sent: false,
                        acked: false,
                        expected_nacks: 0,
                        nacks: 0,
                        relays: Vec::new(),
                    });
                    let mut msgs = Vec::with_capacity(2);
                    if let Some(notice) = self.notice_for(target) {
                        msgs.push(notice);
                    }
                    msgs.push(Message::Ping { seq });
                    self.send(target, &msgs, true);
                }
                None => self.next_probe = now.saturating_add(self.config.probe_interval),
            }
        }
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn adjust_health(&mut self, delta: i32) {
        let max = self.config.awareness_max.saturating_sub(1);
        self.health = self.health.saturating_add_signed(delta).min(max);
    }

    fn next_probe_target(&mut self) -> Option<SocketAddr> {
        // Every other probe goes to a member this member suspects (round robin over them)
        // while the suspicion lasts. The ping carries the suspicion (buddy rule), so a live
        // suspect hears it and refutes even if the suspicion's rumour was lost, as it is when
        // the accuser's own sends were failing when it accused (a plain round robin would
        // reach the suspect only after N probes, long after the suspicion ran out).
        self.reprobe_turn = !self.reprobe_turn;
        if self.reprobe_turn {
            while let Some(addr) = self.accused.pop_front() {
                if self.entry(addr).is_some_and(|e| e.state == State::Suspect) {
                    self.accused.push_back(addr);
                    return Some(addr);
                }
            }
        }
        for pass in 0..2 {
            while let Some(&addr) = self.probe_order.get(self.probe_pos) {
                self.probe_pos += 1;
                if self
                    .entry(addr)
                    .is_some_and(|e| matches!(e.state, State::Alive | State::Suspect))
                {
                    return Some(addr);
                }
            }
            if pass == 0 {
                self.probe_order = self
                    .entries
                    .iter()
                    .filter(|e| matches!(e.state, State::Alive | State::Suspect))
                    .map(|e| e.addr)
                    .collect();
                shuffle(&mut self.rng, &mut self.probe_order);
                self.probe_pos = 0;
            }
        }
        None
    }

    /// An ack counts only from the member it answers for (the probe target, a relay we
    /// asked, the reconnect peer, the target we relay to): a sequence number alone is easy
    /// to guess or to replay from another conversation.
    fn on_ack(&mut self, sender: SocketAddr, seq: u32) {
        if let Some(p) = self
            .probe
            .as_mut()
            .filter(|p| p.seq == seq && (p.target == sender || p.relays.contains(&sender)))
        {
            if !p.acked {
                p.acked = true;
                self.adjust_health(-1);
            }
            return;
        }
        if let Some((peer, _)) = self
            .reconnect_ping
            .filter(|&(peer, s)| s == seq && peer == sender)
        {
            // A member we believe dead (or a seed we do not see) answers: exchange views.
            self.reconnect_ping = None;
            self.send_reconnect(peer);
            return;
        }
        if let Some(i) = self
            .relays
            .iter()
            .position(|r| r.seq == seq && r.target == sender)
        {
            let r = self.relays.swap_remove(i);
            self.send(r.requester, &[Message::Ack { seq: r.their_seq }], false);
        }
    }

    fn on_ping_req(&mut self, requester: SocketAddr, their_seq: u32, target: SocketAddr) {
        if target == self.me {
            self.send(requester, &[Message::Ack { seq: their_seq }], false);
            return;
        }
        // Bound the relay table against floods: at most 64 outstanding relays.
        if self.relays.len() >= 64 {
            return;
        }
        let seq = self.next_seq();
        // Lifeguard: nack at 80% of the probe timeout if the target stays silent.
        let nack_in = secs(self.config.probe_timeout.as_secs_f64() * 0.8);
        self.relays.push(Relay {
            seq,
            target,
            requester,
            their_seq,
            nack_at: Some(self.now.saturating_add(nack_in)),
            expires: self.now.saturating_add(self.config.probe_interval),
        });
        let mut msgs = Vec::with_capacity(2);
        if let Some(notice) = self.notice_for(target) {
            msgs.push(notice);
        }
        msgs.push(Message::Ping { seq });
        self.send(target, &msgs, true);
    }

    fn run_relays(&mut self, now: Duration) {
        let mut nacks = Vec::new();
        self.relays.retain_mut(|r| {
            if let Some(at) = r.nack_at
                && now >= at
            {
                r.nack_at = None;
                nacks.push((r.requester, r.their_seq));
            }
            now < r.expires
        });
        for (to, seq) in nacks {
            self.send(to, &[Message::Nack { seq }], false);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Gossip and anti-entropy

    fn retransmit_limit(&self) -> u32 {
        // ceil(log10(n + 1)) is the number of decimal digits of n (n >= 1).
        let digits = self.num_alive().max(1).ilog10() + 1;
        self.config.retransmit_mult.saturating_mul(digits)
    }

    fn gossip_round(&mut self) {
        if self.broadcasts.is_empty() {
            return;
        }
        let now = self.now;
        let to_dead = self.config.gossip_to_dead;
        let targets = self.random_members(self.config.gossip_fanout, None, |_, e| {
            matches!(e.state, State::Alive | State::Suspect)
                || (e.state == State::Dead && now.saturating_sub(e.since) < to_dead)
        });
        for to in targets {
            if self.broadcasts.is_empty() {
                break;
            }
            self.send(to, &[], true);
        }
    }

    fn reconnect(&mut self) {
        let mut candidates: Vec<SocketAddr> = self
            .seeds
            .iter()
            .copied()
            .filter(|s| {
                !self
                    .entry(*s)
                    .is_some_and(|e| matches!(e.state, State::Alive | State::Suspect))
            })
            .collect();
        candidates.extend(
            self.entries
                .iter()
                .filter(|e| e.state == State::Dead)
                .map(|e| e.addr),
        );
        // Forget candidates that are back (or reaped), so a later death starts afresh.
        let current: HashSet<SocketAddr> = candidates.iter().copied().collect();
        self.reconnect_tried.retain(|a, _| current.contains(a));
        // Least recently tried first (never tried before tried), ties broken at random: a
        // round robin over the dead, as SWIM probes the living, so every member believed dead
        // is re-checked within `candidates x reconnect_interval` however many truly died.
        // (Picking at random, a wrongly dead member among many truly dead ones could wait
        // many intervals.)
        let tried = |a: &SocketAddr| self.reconnect_tried.get(a).copied();
        let Some(oldest) = candidates.iter().map(tried).min() else {
            return;
        };
        candidates.retain(|a| tried(a) == oldest);
        let i = self.rng.random_range(0..candidates.len().max(1));
        if let Some(&peer) = candidates.get(i) {
            self.reconnect_tried.insert(peer, self.now);
            // A ping first (with our alive record, and the peer's death notice so a live
            // peer refutes at once): a few dozen bytes, where most candidates are truly dead.
            // Only an ack starts the anti-entropy exchange (`on_ack`).
            let seq = self.next_seq();
            self.reconnect_ping = Some((peer, seq));
            let mut msgs = vec![self.self_alive()];
            msgs.extend(self.notice_for(peer));
            msgs.push(Message::Ping { seq });
            self.send(peer, &msgs, false);
        }
    }

    /// Anti-entropy with `peer`, announcing ourselves: the digest exchange that joins a
    /// cluster and heals views.
    fn send_reconnect(&mut self, peer: SocketAddr) {
        let digest = self.digest_message(false);
        let alive = self.self_alive();
        self.send_via(peer, &[alive, digest], false, Channel::Stream);
    }

    fn reap(&mut self, now: Duration) {
        let ttl = self.config.tombstone_ttl;
        let mut i = 0;
        while let Some(e) = self.entries.get(i) {
            if matches!(e.state, State::Dead | State::Left) && now.saturating_sub(e.since) >= ttl {
                let addr = e.addr;
                self.entries.swap_remove(i);
                self.index.remove(&addr);
                if let Some(moved) = self.entries.get(i) {
                    self.index.insert(moved.addr, i);
                }
            } else {
                i += 1;
            }
        }
    }

    fn digest(&self) -> Vec<u64> {
        let mut buckets = vec![0u64; DIGEST_BUCKETS];
        let mut add = |addr: &SocketAddr, inc: Incarnation, state: State| {
            let (bucket, h) = entry_hash(addr, inc, state);
            if let Some(b) = buckets.get_mut(bucket) {
                *b = b.wrapping_add(h);
            }
        };
        add(&self.me, self.incarnation, self.self_state());
        for e in &self.entries {
            add(&e.addr, e.incarnation, e.state);
        }
        buckets
    }

    fn digest_message(&self, reply: bool) -> Message {
        Message::SyncDigest {
            reply,
            buckets: self.digest(),
        }
    }

    fn self_state(&self) -> State {
        if self.left { State::Left } else { State::Alive }
    }

    fn on_digest(&mut self, sender: SocketAddr, reply: bool, theirs: &[u64]) {
        let mine = self.digest();
        let differs: Vec<bool> = mine
            .iter()
            .zip(theirs.iter().chain(std::iter::repeat(&0)))
            .map(|(a, b)| a != b)
            .collect();
        // Views that differ in many buckets (a healed partition, a member back from a long
        // stall) converge faster by bulk anti-entropy than by rumours, which are sent a few
        // at a time: pull the next push-pull (with a random live member) forward, at most
        // once per probe interval, so the bulk state spreads epidemically.
        let differing = differs.iter().filter(|d| **d).count();
        if differing >= DIGEST_BUCKETS / 4 && self.now >= self.next_bulk_sync {
            self.next_bulk_sync = self.now.saturating_add(self.config.probe_interval);
            self.next_push_pull = self
                .next_push_pull
                .min(self.now.saturating_add(self.config.gossip_interval));
        }
        let mut msgs = Vec::new();
        if !reply {
            msgs.push(Message::SyncDigest {
                reply: true,
                buckets: mine,
            });
        }
        // The states in differing buckets, from a random bucket on: the answer is capped
        // (`sync_max_datagrams`), and successive exchanges then cover different buckets.
        let first = self.rng.random_range(0..DIGEST_BUCKETS);
        let mut states: Vec<(usize, Message)> = Vec::new();
        let mut add = |addr: SocketAddr, incarnation, state, metadata: &Bytes| {
            let b = bucket_of(&addr);
            if differs.get(b).copied().unwrap_or(true) {
                let rank = (b + DIGEST_BUCKETS - first) % DIGEST_BUCKETS;
                states.push((
                    rank,
                    Message::SyncState {
                        addr,
                        incarnation,
                        state,
                        metadata: metadata.clone(),
                    },
                ));
            }
        };
        add(self.me, self.incarnation, self.self_state(), &self.metadata);
        for e in &self.entries {
            add(e.addr, e.incarnation, e.state, &e.metadata);
        }
        states.sort_by_key(|(rank, _)| *rank);
        let label = self.config.cluster_label.clone();
        let mut packer = Packer::new(&label, self.me, self.config.mtu);
        for m in &msgs {
            packer.push(m);
        }
        for (_, m) in &states {
            let room = packer.datagrams() < self.config.sync_max_datagrams;
            if !(packer.push_if_fits(m) || room && packer.push(m)) {
                break;
            }
        }
        for bytes in packer.finish() {
            self.transmits.push_back(Transmit {
                to: sender,
                bytes,
                channel: Channel::Stream,
            });
        }
    }

    fn apply_sync(
        &mut self,
        sender: SocketAddr,
        addr: SocketAddr,
        inc: Incarnation,
        state: State,
        metadata: Bytes,
    ) {
        match state {
            State::Alive => self.apply_alive(addr, inc, metadata),
            State::Suspect => {
                if addr != self.me && self.entry(addr).is_none() {
                    self.apply_alive(addr, inc, metadata);
                }
                self.apply_suspect(addr, inc, sender, Duration::ZERO);
            }
            State::Dead => {
                // As memberlist does: a remote view's "dead" about a member we see alive is
                // only a suspicion here, so a stale or partitioned view cannot kill it outright.
                if self
                    .entry(addr)
                    .is_some_and(|e| matches!(e.state, State::Alive | State::Suspect))
                {
                    self.apply_suspect(addr, inc, sender, Duration::ZERO);
                    // This member may be the only one raising this suspicion: re-probe the
                    // member as an accuser would, so it hears of it and can refute.
                    if self.entry(addr).is_some_and(|e| e.state == State::Suspect)
                        && !self.accused.contains(&addr)
                    {
                        self.accused.push_back(addr);
                    }
                } else {
                    self.apply_dead(addr, inc, sender);
                }
            }
            State::Left => self.apply_left(addr, inc),
        }
    }

    // -----------------------------------------------------------------------------------------
    // State rules

    fn entry(&self, addr: SocketAddr) -> Option<&Entry> {
        self.entries.get(*self.index.get(&addr)?)
    }

    fn entry_mut(&mut self, addr: SocketAddr) -> Option<&mut Entry> {
        self.entries.get_mut(*self.index.get(&addr)?)
    }

    fn bump_incarnation(&mut self, seen: Incarnation) {
        let number = if seen.generation == self.incarnation.generation {
            seen.number.max(self.incarnation.number)
        } else {
            self.incarnation.number
        };
        self.incarnation.number = number.saturating_add(1);
    }

    fn self_alive(&self) -> Message {
        Message::Alive {
            addr: self.me,
            incarnation: self.incarnation,
            metadata: self.metadata.clone(),
        }
    }

    fn broadcast_self(&mut self) {
        let msg = self.self_alive();
        self.broadcasts.push(self.me, msg, self.now);
    }

    /// Someone says this member is suspect or dead at `inc`: refute if it is about this life
    /// and not older than what we have published.
    fn refute(&mut self, inc: Incarnation) {
        if self.left || inc.generation != self.incarnation.generation {
            return;
        }
        if inc.number < self.incarnation.number {
            // A stale accusation still circulates: our refutation may have been lost (each
            // rumour is sent a limited number of times), so queue it again, fresh.
            self.broadcast_self();
            return;
        }
        self.bump_incarnation(inc);
        // Lifeguard: being accused is a sign our own processing may be slow.
        self.adjust_health(1);
        self.broadcast_self();
    }

    fn set_state(&mut self, addr: SocketAddr, state: State) {
        let now = self.now;
        let Some(e) = self.entry_mut(addr) else {
            return;
        };
        let was_live = matches!(e.state, State::Alive | State::Suspect);
        let is_live = matches!(state, State::Alive | State::Suspect);
        if e.state != state {
            e.since = now;
        }
        e.state = state;
        if !is_live {
            e.metadata = Bytes::new();
        }
        if let Some(s) = e.suspicion.take() {
            if state == State::Suspect {
                e.suspicion = Some(s);
            } else {
                self.suspicion_timers.remove(&(s.deadline, addr));
            }
        }
        match (was_live, is_live) {
            (false, true) => self.live += 1,
            (true, false) => self.live = self.live.saturating_sub(1),
            _ => {}
        }
    }

    fn apply_alive(&mut self, addr: SocketAddr, inc: Incarnation, metadata: Bytes) {
        if addr == self.me {
            // Someone speaks of a newer incarnation of this very life than ours (for example
            // our own announcement from before a restart that kept the generation): outbid it.
            if !self.left && inc.generation == self.incarnation.generation && inc > self.incarnation
            {
                self.refute(inc);
            }
            return;
        }
        if metadata.len() > self.config.max_metadata {
            return;
        }
        let msg = Message::Alive {
            addr,
            incarnation: inc,
            metadata: metadata.clone(),
        };
        match self.index.get(&addr).copied() {
            None => {
                let idx = self.entries.len();
                self.entries.push(Entry {
                    addr,
                    incarnation: inc,
                    state: State::Dead,
                    metadata: Bytes::new(),
                    since: self.now,
                    suspicion: None,
                });
                self.index.insert(addr, idx);
                self.set_state(addr, State::Alive);
                if let Some(e) = self.entry_mut(addr) {
                    e.metadata = metadata.clone();
                }
                // Insert at a random place in the probe order so a newcomer is probed soon.
                let lo = self.probe_pos.min(self.probe_order.len());
                let at = self.rng.random_range(lo..=self.probe_order.len());
                self.probe_order.push(addr);
                let last = self.probe_order.len() - 1;
                self.probe_order.swap(at, last);
                self.events.push_back(Event::Joined {
                    addr,
                    incarnation: inc,
                    metadata,
                });
            }
            Some(_) => {
                let Some(e) = self.entry(addr) else {
                    return;
                };
                if inc <= e.incarnation {
                    return;
                }
                let old_state = e.state;
                let meta_changed = e.metadata != metadata;
                self.set_state(addr, State::Alive);
                if let Some(e) = self.entry_mut(addr) {
                    e.incarnation = inc;
                    e.metadata = metadata.clone();
                }
                match old_state {
                    State::Dead | State::Left => self.events.push_back(Event::Joined {
                        addr,
                        incarnation: inc,
                        metadata,
                    }),
                    State::Suspect => {
                        self.events.push_back(Event::Recovered {
                            addr,
                            incarnation: inc,
                        });
                        if meta_changed {
                            self.events.push_back(Event::MetadataUpdated {
                                addr,
                                incarnation: inc,
                                metadata,
                            });
                        }
                    }
                    State::Alive => {
                        if meta_changed {
                            self.events.push_back(Event::MetadataUpdated {
                                addr,
                                incarnation: inc,
                                metadata,
                            });
                        }
                    }
                }
            }
        }
        self.broadcasts.push(addr, msg, self.now);
    }

    /// `from` suspects `addr` at `inc`, since `age` ago (as `from` knows it).
    fn apply_suspect(
        &mut self,
        addr: SocketAddr,
        inc: Incarnation,
        from: SocketAddr,
        age: Duration,
    ) {
        if addr == self.me {
            self.refute(inc);
            return;
        }
        let n = self.num_alive();
        let now = self.now;
        let cfg = (
            self.config.suspicion_mult,
            self.config.suspicion_max_mult,
            self.config.probe_interval,
        );
        let Some(e) = self.entry_mut(addr) else {
            return;
        };
        if inc < e.incarnation || matches!(e.state, State::Dead | State::Left) {
            return;
        }
        if e.state == State::Suspect {
            if inc > e.incarnation {
                e.incarnation = inc;
            }
            let Some(s) = e.suspicion.as_mut() else {
                return;
            };
            // Lifeguard counts independent confirmations only: not the accuser repeating
            // itself (its rumour comes back through gossip and anti-entropy), nor anyone twice.
            if from == addr
                || from == s.accuser
                || s.confirmations.contains(&from)
                || s.confirmations.len() >= s.k as usize
            {
                return;
            }
            s.confirmations.push(from);
            let old = s.deadline;
            s.deadline = s.start.saturating_add(s.timeout());
            let new = s.deadline;
            let age_ms = millis(now.saturating_sub(s.start));
            self.suspicion_timers.remove(&(old, addr));
            self.suspicion_timers.insert((new, addr));
            if from == self.me && !self.accused.contains(&addr) {
                self.accused.push_back(addr);
            }
            self.broadcasts.push(
                addr,
                Message::Suspect {
                    addr,
                    incarnation: inc,
                    from,
                    age_ms,
                },
                now,
            );
            return;
        }
        // Alive -> Suspect.
        e.incarnation = inc;
        let (mult, max_mult, interval) = cfg;
        let scale = (n as f64).log10().max(1.0);
        let min = secs(interval.as_secs_f64() * f64::from(mult) * scale);
        let max = min.saturating_mul(max_mult);
        let k = if n.saturating_sub(2) < mult.saturating_sub(2) as usize {
            0
        } else {
            mult.saturating_sub(2)
        };
        // Count the timeout from when the suspicion was first raised, not from when it got
        // here, so every member's timer runs out at about the same moment (without waiting
        // for the first "dead" rumour to spread). Capped at `min`: a stale or forged age can
        // at most make this member as quick as a confirmed suspicion allows, and the accused
        // still had `min` to refute as far as the accuser knows.
        let start = now.saturating_sub(age.min(min));
        let mut s = Suspicion {
            start,
            accuser: from,
            confirmations: Vec::new(),
            k,
            min,
            max,
            deadline: now,
        };
        s.deadline = start.saturating_add(s.timeout());
        self.suspicion_timers.insert((s.deadline, addr));
        if from == self.me && !self.accused.contains(&addr) {
            self.accused.push_back(addr);
        }
        self.set_state(addr, State::Suspect);
        if let Some(e) = self.entry_mut(addr) {
            e.suspicion = Some(s);
        }
        self.events.push_back(Event::Suspected {
            addr,
            incarnation: inc,
        });
        self.broadcasts.push(
            addr,
            Message::Suspect {
                addr,
                incarnation: inc,
                from,
                age_ms: millis(age),
            },
            now,
        );
    }

    fn apply_dead(&mut self, addr: SocketAddr, inc: Incarnation, from: SocketAddr) {
        if addr == self.me {
            self.refute(inc);
            return;
        }
        match self.entry(addr) {
            None => {
                // Keep a tombstone so later stale news cannot bring it back.
                let idx = self.entries.len();
                self.entries.push(Entry {
                    addr,
                    incarnation: inc,
                    state: State::Dead,
                    metadata: Bytes::new(),
                    since: self.now,
                    suspicion: None,
                });
                self.index.insert(addr, idx);
            }
            Some(e) => {
                if inc < e.incarnation {
                    return;
                }
                if matches!(e.state, State::Dead | State::Left) {
                    if inc > e.incarnation
                        && let Some(e) = self.entry_mut(addr)
                    {
                        e.incarnation = inc;
                    }
                    return;
                }
                self.set_state(addr, State::Dead);
                if let Some(e) = self.entry_mut(addr) {
                    e.incarnation = inc;
                }
                self.events.push_back(Event::Dead {
                    addr,
                    incarnation: inc,
                });
                self.broadcasts.push(
                    addr,
                    Message::Dead {
                        addr,
                        incarnation: inc,
                        from,
                    },
                    self.now,
                );
            }
        }
    }

    fn apply_left(&mut self, addr: SocketAddr, inc: Incarnation) {
        if addr == self.me {
            self.refute(inc);
            return;
        }
        let msg = Message::Left {
            addr,
            incarnation: inc,
        };
        match self.entry(addr) {
            None => {
                let idx = self.entries.len();
                self.entries.push(Entry {
                    addr,
                    incarnation: inc,
                    state: State::Left,
                    metadata: Bytes::new(),
                    since: self.now,
                    suspicion: None,
                });
                self.index.insert(addr, idx);
            }
            Some(e) => {
                if inc < e.incarnation || e.state == State::Left {
                    return;
                }
                // A dead member's own "left" (always at a newer incarnation: leaving bumps it)
                // turns its tombstone into "left" quietly; "left" at the incarnation declared
                // dead is not news.
                let was_dead = e.state == State::Dead;
                if was_dead && inc == e.incarnation {
                    return;
                }
                self.set_state(addr, State::Left);
                if let Some(e) = self.entry_mut(addr) {
                    e.incarnation = inc;
                }
                if !was_dead {
                    self.events.push_back(Event::Left {
                        addr,
                        incarnation: inc,
                    });
                }
                self.broadcasts.push(addr, msg, self.now);
            }
        }
    }

    /// A rumour telling `addr` that we consider it suspect or dead, if we do.
    fn notice_for(&self, addr: SocketAddr) -> Option<Message> {
        let e = self.entry(addr)?;
        match e.state {
            State::Suspect => Some(Message::Suspect {
                addr,
                incarnation: e.incarnation,
                from: self.me,
                age_ms: e
                    .suspicion
                    .as_ref()
                    .map_or(0, |s| millis(self.now.saturating_sub(s.start))),
            }),
            State::Dead => Some(Message::Dead {
                addr,
                incarnation: e.incarnation,
                from: self.me,
            }),
            State::Alive | State::Left => None,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Sending

    /// Queues `msgs` to `to`, split into MTU-sized datagrams, with rumours piggybacked on the
    /// last one when `piggyback` is set.
    fn send(&mut self, to: SocketAddr, msgs: &[Message], piggyback: bool) {
        self.send_via(to, msgs, piggyback, Channel::Datagram);
    }

    fn send_via(&mut self, to: SocketAddr, msgs: &[Message], piggyback: bool, channel: Channel) {
        let label = self.config.cluster_label.clone();
        let mut packer = Packer::new(&label, self.me, self.config.mtu);
        for m in msgs {
            packer.push(m);
        }
        if piggyback {
            let limit = self.retransmit_limit();
            self.broadcasts.fill(&mut packer, limit, self.now);
        }
        for bytes in packer.finish() {
            self.transmits.push_back(Transmit { to, bytes, channel });
        }
    }

    /// Up to `k` distinct random members (never this one, nor `except`) passing `keep`.
    fn random_members(
        &mut self,
        k: usize,
        except: Option<SocketAddr>,
        keep: impl Fn(&Self, &Entry) -> bool,
    ) -> Vec<SocketAddr> {
        let mut out = Vec::with_capacity(k);
        if k == 0 || self.entries.is_empty() {
            return out;
        }
        let ok = |this: &Self, e: &Entry, out: &[SocketAddr]| {
            Some(e.addr) != except && !out.contains(&e.addr) && keep(this, e)
        };
        // Rejection sampling is O(k) when most entries qualify...
        for _ in 0..(4 * k + 8) {
            if out.len() == k {
                return out;
            }
            let i = self.rng.random_range(0..self.entries.len());
            if let Some(e) = self.entries.get(i)
                && ok(self, e, &out)
            {
                out.push(e.addr);
            }
        }
        // ...and falls back to a scan when few do.
        let mut pool: Vec<SocketAddr> = self
            .entries
            .iter()
            .filter(|e| ok(self, e, &out))
            .map(|e| e.addr)
            .collect();
        shuffle(&mut self.rng, &mut pool);
        out.extend(pool.into_iter().take(k - out.len()));
        out
    }
}

fn info(e: &Entry) -> MemberInfo {
    MemberInfo {
        addr: e.addr,
        incarnation: e.incarnation,
        state: e.state,
        metadata: e.metadata.clone(),
    }
}

fn shuffle<R: Rng, T>(rng: &mut R, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

fn addr_bytes(addr: &SocketAddr, out: &mut Vec<u8>) {
    match addr {
        SocketAddr::V4(a) => out.extend_from_slice(&a.ip().octets()),
        SocketAddr::V6(a) => out.extend_from_slice(&a.ip().octets()),
    }
    out.extend_from_slice(&addr.port().to_be_bytes());
}

/// The anti-entropy bucket of a member: xxHash64 (seed 0) of its address bytes, mod 64.
fn bucket_of(addr: &SocketAddr) -> usize {
    let mut b = Vec::with_capacity(18);
    addr_bytes(addr, &mut b);
    let h = twox_hash::XxHash64::oneshot(0, &b) % DIGEST_BUCKETS as u64;
    usize::try_from(h).unwrap_or(0)
}

/// A member's contribution to its bucket's digest: xxHash64 (seed 1) of address, incarnation
/// and state class (suspect counts as alive, so transient suspicions do not trigger syncs).
fn entry_hash(addr: &SocketAddr, inc: Incarnation, state: State) -> (usize, u64) {
    let mut b = Vec::with_capacity(32);
    addr_bytes(addr, &mut b);
    b.extend_from_slice(&inc.generation.to_be_bytes());
    b.extend_from_slice(&inc.number.to_be_bytes());
    b.push(match state {
        State::Alive | State::Suspect => 0,
        State::Dead => 1,
        State::Left => 2,
    });
    (bucket_of(addr), twox_hash::XxHash64::oneshot(1, &b))
}
