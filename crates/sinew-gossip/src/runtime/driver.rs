//! The task that owns a [`Member`] and its sockets: it feeds the member every datagram,
//! stream frame, command and timer, and carries out what the member asks for.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until, timeout};

use super::faults::{Faults, Verdict};
use super::identity;
use super::metrics::{DropReason, Metrics};
use super::{EventKind, MemberEvent, MemberSnapshot};
use crate::keyring::{KeyError, Keyring, OpenError, Opener, Sealer};
use crate::{Channel, Event, Member, PacketError, State, Transmit};

/// Inbound TCP connections served at once; more are refused (and counted).
const MAX_INBOUND_STREAMS: usize = 64;
/// Inbound TCP connections served at once from one IP address, so one host cannot take
/// every slot.
const MAX_STREAMS_PER_IP: usize = 4;
/// Outbound TCP connections at once; beyond it, stream transmits go by UDP.
const MAX_OUTBOUND_TASKS: usize = 64;
/// Frames read from one inbound connection before it is closed.
const MAX_FRAMES_PER_STREAM: usize = 64;
/// Inbound frames queued for the driver; more are dropped (and counted).
const FRAME_QUEUE: usize = 1024;
/// A connection that has not delivered its frames by then is closed (a sender writes them
/// all at once, right after connecting).
const STREAM_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a seed lookup may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);
/// Replay windows kept, one per sending session (member life).
const REPLAY_SESSIONS: usize = 4096;
/// Datagrams taken from the socket in one go before the member's output is flushed.
const RECV_BATCH: usize = 64;

/// A change to the keyring, run by the driver.
pub(crate) type KeyringChange = Box<dyn FnOnce(&mut Keyring) -> Result<(), KeyError> + Send>;

/// A request from the [`Cluster`](super::Cluster) handle.
pub(crate) enum Command {
    SetMetadata(Bytes),
    Leave(oneshot::Sender<()>),
    Keyring(KeyringChange, oneshot::Sender<Result<(), KeyError>>),
}

/// Sealing and opening, when the cluster is encrypted.
struct Crypto {
    keyring: Keyring,
    sealer: Sealer,
    opener: Opener,
}

/// Everything the driver is started with.
pub(crate) struct Parts {
    pub(crate) member: Member,
    pub(crate) name: String,
    pub(crate) udp: UdpSocket,
    pub(crate) tcp: TcpListener,
    pub(crate) keyring: Option<(Keyring, Sealer)>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) faults: Option<Faults>,
    pub(crate) events: broadcast::Sender<MemberEvent>,
    pub(crate) snapshot: watch::Sender<Arc<[MemberSnapshot]>>,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) seeds: Vec<String>,
    pub(crate) resolved: Vec<SocketAddr>,
    pub(crate) seed_refresh: Duration,
    pub(crate) leave_timeout: Duration,
    pub(crate) start: Instant,
}

pub(crate) struct Driver {
    member: Member,
    name: String,
    start: Instant,
    udp: Arc<UdpSocket>,
    crypto: Option<Crypto>,
    metrics: Arc<Metrics>,
    faults: Option<Faults>,
    names: HashMap<SocketAddr, String>,
    events: broadcast::Sender<MemberEvent>,
    snapshot: watch::Sender<Arc<[MemberSnapshot]>>,
    commands: mpsc::UnboundedReceiver<Command>,
    frames: mpsc::Receiver<Bytes>,
    /// Outbound streams, delayed sends, seed lookups and the accept loop: aborted with the
    /// driver.
    tasks: JoinSet<()>,
    seeds: Vec<String>,
    resolved: Vec<SocketAddr>,
    resolved_tx: mpsc::Sender<Vec<SocketAddr>>,
    resolved_rx: mpsc::Receiver<Vec<SocketAddr>>,
    next_resolve: Instant,
    seed_refresh: Duration,
    leave_timeout: Duration,
    leaving: Option<(Instant, Vec<oneshot::Sender<()>>)>,
    /// This member's own entry changed (metadata, leaving): republish the snapshot.
    snapshot_stale: bool,
}

impl Driver {
    pub(crate) fn new(p: Parts) -> Self {
        let max_frame = p.member.config().mtu + crate::keyring::OVERHEAD;
        let (frames_tx, frames) = mpsc::channel(FRAME_QUEUE);
        let (resolved_tx, resolved_rx) = mpsc::channel(1);
        let mut tasks = JoinSet::new();
        tasks.spawn(accept_loop(p.tcp, frames_tx, p.metrics.clone(), max_frame));
        // Seeds that did not resolve at start are tried again soon, not a refresh later.
        let first_resolve = if p.resolved.is_empty() {
            p.member.config().reconnect_interval
        } else {
            p.seed_refresh
        };
        let mut driver = Self {
            names: HashMap::from([(p.member.local_addr(), p.name.clone())]),
            member: p.member,
            name: p.name,
            start: p.start,
            udp: Arc::new(p.udp),
            crypto: p.keyring.map(|(keyring, sealer)| Crypto {
                keyring,
                sealer,
                opener: Opener::new(REPLAY_SESSIONS),
            }),
            metrics: p.metrics,
            faults: p.faults,
            events: p.events,
            snapshot: p.snapshot,
            commands: p.commands,
            frames,
            tasks,
            seeds: p.seeds,
            resolved: p.resolved,
            resolved_tx,
            resolved_rx,
            next_resolve: later(p.start, first_resolve),
            seed_refresh: p.seed_refresh,
            leave_timeout: p.leave_timeout,
            leaving: None,
            snapshot_stale: false,
        };
        // Before the handle is returned, so `members()` is never empty.
        driver.publish_snapshot();
        driver
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Runs the member until it has left (or the handle is dropped, which aborts the task).
    pub(crate) async fn run(mut self) {
        let mut buf = vec![0u8; 65_536];
        loop {
            self.flush();
            if let Some((deadline, _)) = &self.leaving
                && (self.member.poll_timeout().is_none() || Instant::now() >= *deadline)
            {
                if let Some((_, waiters)) = self.leaving.take() {
                    for w in waiters {
                        let _ = w.send(());
                    }
                }
                return;
            }
            let deadline = self.deadline();
            tokio::select! {
                r = self.udp.recv_from(&mut buf) => {
                    if let Ok((n, from)) = r {
                        self.on_datagram(buf.get(..n).unwrap_or_default(), from);
                        // Take what else is queued before flushing, so a burst costs one flush.
                        for _ in 1..RECV_BATCH {
                            match self.udp.try_recv_from(&mut buf) {
                                Ok((n, from)) => self.on_datagram(buf.get(..n).unwrap_or_default(), from),
                                Err(_) => break,
                            }
                        }
                    }
                    // A receive error (an ICMP report on some systems) is not the node's
                    // problem: go on.
                }
                Some(frame) = self.frames.recv() => self.on_frame(&frame),
                cmd = self.commands.recv() => match cmd {
                    Some(cmd) => self.on_command(cmd),
                    None => return,
                },
                // A lookup that found nothing (DNS down) keeps the addresses we had.
                Some(addrs) = self.resolved_rx.recv() => if !addrs.is_empty() {
                    self.member.set_seeds(&addrs);
                    self.resolved = addrs;
                },
                Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => {}
                () = sleep_until(deadline) => {
                    let now = self.now();
                    self.member.handle_timeout(now);
                    self.maybe_resolve_seeds();
                }
            }
        }
    }

    fn deadline(&self) -> Instant {
        let far = later(Instant::now(), Duration::from_secs(3600));
        let mut d = self
            .member
            .poll_timeout()
            .map_or(far, |t| later(self.start, t))
            .min(far);
        if !self.seeds.is_empty() {
            d = d.min(self.next_resolve);
        }
        if let Some((leave, _)) = &self.leaving {
            d = d.min(*leave);
        }
        d
    }

    // ---------------------------------------------------------------------------------------
    // Input

    fn on_datagram(&mut self, bytes: &[u8], from: SocketAddr) {
        self.metrics.received(bytes.len());
        if self.faults.as_ref().is_some_and(|f| f.is_cut_off(from)) {
            self.metrics.dropped(DropReason::Injected);
            return;
        }
        if let Some(plain) = self.open(bytes) {
            self.handle(from, &plain);
        }
    }

    fn on_frame(&mut self, frame: &[u8]) {
        self.metrics.received(frame.len());
        let Some(plain) = self.open(frame) else {
            return;
        };
        // A stream's source port is ephemeral: answers go to the address the datagram names.
        let Ok(sender) = crate::wire::decode(&plain).map(|d| d.sender) else {
            self.metrics.dropped(DropReason::Malformed);
            return;
        };
        if self.faults.as_ref().is_some_and(|f| f.is_cut_off(sender)) {
            self.metrics.dropped(DropReason::Injected);
            return;
        }
        self.handle(sender, &plain);
    }

    fn open(&mut self, bytes: &[u8]) -> Option<Bytes> {
        let Some(c) = &mut self.crypto else {
            return Some(Bytes::copy_from_slice(bytes));
        };
        match c.opener.open(&c.keyring, bytes) {
            Ok(plain) => Some(Bytes::from(plain)),
            Err(OpenError::Replayed) => {
                self.metrics.dropped(DropReason::Replayed);
                None
            }
            Err(_) => {
                self.metrics.dropped(DropReason::Unauthenticated);
                None
            }
        }
    }

    fn handle(&mut self, from: SocketAddr, plain: &[u8]) {
        let now = self.now();
        match self.member.handle_packet(now, from, plain) {
            Ok(()) => {}
            Err(PacketError::WrongCluster) => self.metrics.dropped(DropReason::WrongCluster),
            Err(_) => self.metrics.dropped(DropReason::Malformed),
        }
    }

    fn on_command(&mut self, cmd: Command) {
        self.snapshot_stale = true;
        match cmd {
            Command::SetMetadata(md) => {
                // Checked by the handle against the same limit, so this cannot fail.
                let _ = self.member.set_metadata(identity::wrap(&self.name, &md));
            }
            Command::Leave(done) => {
                if self.leaving.is_none() {
                    self.member.leave();
                    self.leaving = Some((later(Instant::now(), self.leave_timeout), Vec::new()));
                }
                if let Some((_, waiters)) = &mut self.leaving {
                    waiters.push(done);
                }
            }
            Command::Keyring(change, done) => {
                // The handle only sends this to an encrypted member.
                // On a copy, so a change that fails half way leaves the keyring as it was.
                if let Some(c) = &mut self.crypto {
                    let mut keyring = c.keyring.clone();
                    let r = change(&mut keyring);
                    if r.is_ok() {
                        c.keyring = keyring;
                    }
                    let _ = done.send(r);
                }
            }
        }
    }

    fn maybe_resolve_seeds(&mut self) {
        if self.seeds.is_empty() || Instant::now() < self.next_resolve {
            return;
        }
        self.next_resolve = later(Instant::now(), self.seed_refresh);
        let alive = |a: &SocketAddr| {
            self.member
                .member(*a)
                .is_some_and(|m| m.state == State::Alive)
        };
        if !self.resolved.is_empty() && self.resolved.iter().all(alive) {
            return;
        }
        let (seeds, tx) = (self.seeds.clone(), self.resolved_tx.clone());
        let me = self.member.local_addr();
        self.tasks.spawn(async move {
            let _ = tx.send(resolve(&seeds, me).await).await;
        });
    }

    // ---------------------------------------------------------------------------------------
    // Output

    /// Sends what the member queued, publishes its events and refreshes the snapshot.
    fn flush(&mut self) {
        let mut streams: Vec<(SocketAddr, BytesMut)> = Vec::new();
        while let Some(Transmit { to, bytes, channel }) = self.member.poll_transmit() {
            let Some(sealed) = self.seal(&bytes) else {
                continue;
            };
            let verdict = self
                .faults
                .as_ref()
                .map_or(Verdict::Send, |f| f.outbound(to));
            if verdict == Verdict::Drop {
                self.metrics.dropped(DropReason::Injected);
                continue;
            }
            if channel == Channel::Stream && self.tasks.len() < MAX_OUTBOUND_TASKS {
                let i = match streams.iter().position(|(a, _)| *a == to) {
                    Some(i) => i,
                    None => {
                        streams.push((to, BytesMut::new()));
                        streams.len() - 1
                    }
                };
                push_frame(streams.get_mut(i).map(|s| &mut s.1), &sealed);
                continue;
            }
            match verdict {
                Verdict::Delay(d) => {
                    let (udp, metrics) = (self.udp.clone(), self.metrics.clone());
                    self.tasks.spawn(async move {
                        tokio::time::sleep(d).await;
                        send_udp(&udp, &metrics, to, &sealed);
                    });
                }
                _ => send_udp(&self.udp, &self.metrics, to, &sealed),
            }
        }
        for (to, frames) in streams {
            let delay = match self.faults.as_ref().map(|f| f.outbound(to)) {
                Some(Verdict::Delay(d)) => d,
                _ => Duration::ZERO,
            };
            let (udp, metrics) = (self.udp.clone(), self.metrics.clone());
            let limit = self
                .member
                .config()
                .probe_interval
                .max(Duration::from_secs(1));
            self.tasks.spawn(async move {
                tokio::time::sleep(delay).await;
                send_stream(to, frames.freeze(), &udp, &metrics, limit).await;
            });
        }
        let mut events = Vec::new();
        while let Some(event) = self.member.poll_event() {
            events.push(self.member_event(event));
        }
        self.metrics
            .set_core(self.member.health(), self.member.probe_stats());
        // The snapshot first, so a subscriber that reads `members()` on an event sees it.
        if std::mem::take(&mut self.snapshot_stale) || !events.is_empty() {
            self.publish_snapshot();
        }
        for e in events {
            if e.kind == EventKind::Suspect {
                self.metrics.suspicion();
            }
            let _ = self.events.send(e);
        }
    }

    fn seal(&mut self, plain: &Bytes) -> Option<Bytes> {
        let Some(c) = &mut self.crypto else {
            return Some(plain.clone());
        };
        match c.sealer.seal(&c.keyring, plain) {
            Ok(sealed) => Some(sealed),
            // Datagrams are at most an MTU, far below the sealing limit.
            Err(_) => {
                self.metrics.send_error();
                None
            }
        }
    }

    fn member_event(&mut self, event: Event) -> MemberEvent {
        let (kind, addr, incarnation, metadata) = match event {
            Event::Joined {
                addr,
                incarnation,
                metadata,
            } => (EventKind::Alive, addr, incarnation, Some(metadata)),
            Event::Recovered { addr, incarnation } => (EventKind::Alive, addr, incarnation, None),
            Event::Suspected { addr, incarnation } => (EventKind::Suspect, addr, incarnation, None),
            Event::Dead { addr, incarnation } => (EventKind::Dead, addr, incarnation, None),
            Event::Left { addr, incarnation } => (EventKind::Left, addr, incarnation, None),
            Event::MetadataUpdated {
                addr,
                incarnation,
                metadata,
            } => (EventKind::Updated, addr, incarnation, Some(metadata)),
        };
        let raw = metadata.or_else(|| self.member.member(addr).map(|m| m.metadata));
        let (name, metadata) = self.name_of(addr, raw.as_ref());
        MemberEvent {
            kind,
            name,
            addr,
            incarnation,
            metadata,
            at: self.now(),
        }
    }

    /// The name and application metadata of `addr`, learning the name from `raw` metadata
    /// when it carries one; a member whose name never arrived goes by its address.
    fn name_of(&mut self, addr: SocketAddr, raw: Option<&Bytes>) -> (String, Bytes) {
        match raw.and_then(identity::unwrap) {
            Some((name, md)) => {
                self.names.insert(addr, name.clone());
                (name, md)
            }
            None => {
                let name = self
                    .names
                    .get(&addr)
                    .cloned()
                    .unwrap_or_else(|| addr.to_string());
                (
                    name,
                    raw.filter(|r| !r.is_empty()).cloned().unwrap_or_default(),
                )
            }
        }
    }

    fn publish_snapshot(&mut self) {
        let infos: Vec<_> = self.member.members().collect();
        let me = self.member.local_addr();
        let known: HashSet<SocketAddr> = infos.iter().map(|m| m.addr).collect();
        self.names.retain(|a, _| *a == me || known.contains(a));
        let mut list = Vec::with_capacity(infos.len() + 1);
        let own = self.member.metadata().clone();
        let (name, metadata) = self.name_of(me, Some(&own));
        list.push(MemberSnapshot {
            name,
            addr: me,
            state: if self.member.has_left() {
                State::Left
            } else {
                State::Alive
            },
            incarnation: self.member.incarnation(),
            metadata,
        });
        for m in infos {
            let (name, metadata) = self.name_of(m.addr, Some(&m.metadata));
            list.push(MemberSnapshot {
                name,
                addr: m.addr,
                state: m.state,
                incarnation: m.incarnation,
                metadata,
            });
        }
        self.snapshot.send_replace(list.into());
    }
}

/// `at + d`, or about a year on when that does not fit (a "forever" configuration).
fn later(at: Instant, d: Duration) -> Instant {
    at.checked_add(d)
        .or_else(|| at.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(at)
}

fn push_frame(buf: Option<&mut BytesMut>, sealed: &[u8]) {
    if let Some(buf) = buf {
        buf.put_u32(u32::try_from(sealed.len()).unwrap_or(u32::MAX));
        buf.put_slice(sealed);
    }
}

fn send_udp(udp: &UdpSocket, metrics: &Metrics, to: SocketAddr, bytes: &[u8]) {
    match udp.try_send_to(bytes, to) {
        Ok(_) => metrics.sent(bytes.len()),
        Err(_) => metrics.send_error(),
    }
}

/// Opens a connection to `to`, writes the length-prefixed frames, and closes it. If the
/// stream cannot be made (refused, reset, too slow), the datagrams go by UDP instead: the
/// stream is the better path, never the only one.
async fn send_stream(
    to: SocketAddr,
    frames: Bytes,
    udp: &UdpSocket,
    metrics: &Metrics,
    limit: Duration,
) {
    let sent = timeout(limit, async {
        let mut s = TcpStream::connect(to).await?;
        s.set_nodelay(true)?;
        s.write_all(&frames).await?;
        s.shutdown().await
    })
    .await;
    let ok = matches!(sent, Ok(Ok(())));
    if ok {
        metrics.stream_out();
    } else {
        metrics.send_error();
    }
    let mut rest = &frames[..];
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let len = u32::from_be_bytes(*len) as usize;
        let frame = tail.get(..len).unwrap_or_default();
        if ok {
            metrics.sent(len);
        } else {
            send_udp(udp, metrics, to, frame);
        }
        rest = tail.get(len..).unwrap_or_default();
    }
}

/// Accepts stream connections and hands their frames to the driver, within limits on
/// connections (in all and per IP address), frame sizes and time, so a peer cannot tie the
/// node up; refused streams cost the sender a fallback to UDP, not its message.
async fn accept_loop(
    listener: TcpListener,
    frames: mpsc::Sender<Bytes>,
    metrics: Arc<Metrics>,
    max_frame: usize,
) {
    let mut per_ip: HashMap<IpAddr, usize> = HashMap::new();
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, peer)) => {
                    let ip = peer.ip();
                    let from_ip = per_ip.get(&ip).copied().unwrap_or(0);
                    if conns.len() >= MAX_INBOUND_STREAMS || from_ip >= MAX_STREAMS_PER_IP {
                        metrics.dropped(DropReason::Overloaded);
                        continue;
                    }
                    per_ip.insert(ip, from_ip + 1);
                    metrics.stream_in();
                    let (frames, metrics) = (frames.clone(), metrics.clone());
                    conns.spawn(async move {
                        let read = read_frames(stream, &frames, &metrics, max_frame);
                        let _ = timeout(STREAM_TIMEOUT, read).await;
                        ip
                    });
                }
                // Out of file descriptors or similar: back off briefly rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(done) = conns.join_next(), if !conns.is_empty() => {
                // A connection task only ends by returning its IP address.
                if let Ok(ip) = done
                    && let Some(n) = per_ip.get_mut(&ip)
                {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        per_ip.remove(&ip);
                    }
                }
            }
        }
    }
}

async fn read_frames(
    stream: TcpStream,
    frames: &mpsc::Sender<Bytes>,
    metrics: &Metrics,
    max_frame: usize,
) {
    let mut stream = BufReader::new(stream);
    for _ in 0..MAX_FRAMES_PER_STREAM {
        let mut len = [0u8; 4];
        if stream.read_exact(&mut len).await.is_err() {
            return;
        }
        let len = u32::from_be_bytes(len) as usize;
        if len == 0 || len > max_frame {
            metrics.received(0);
            metrics.dropped(if len == 0 {
                DropReason::Malformed
            } else {
                DropReason::Oversized
            });
            return;
        }
        let mut frame = vec![0u8; len];
        if stream.read_exact(&mut frame).await.is_err() {
            return;
        }
        if frames.try_send(Bytes::from(frame)).is_err() {
            metrics.received(len);
            metrics.dropped(DropReason::Overloaded);
        }
    }
}

/// Resolves `host:port` seeds, keeping the addresses of `me`'s family.
pub(crate) async fn resolve(seeds: &[String], me: SocketAddr) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for seed in seeds {
        if let Ok(Ok(addrs)) =
            timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host(seed.as_str())).await
        {
            out.extend(addrs.filter(|a| a.is_ipv4() == me.is_ipv4() && *a != me));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}
