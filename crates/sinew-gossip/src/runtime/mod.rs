//! A member over real sockets: [`Cluster`] runs the sans-io [`Member`] in a
//! tokio task with a UDP socket and a TCP listener on the same port.
//!
//! - **UDP** carries probes, acks and gossip; **TCP** carries anti-entropy (a digest
//!   exchange and the states that answer it, up to 16 datagrams at once) and the fallback
//!   ping sent beside the indirect probes, as memberlist does (see
//!   [`Channel`](crate::Channel)). A stream is a connection per exchange with
//!   length-prefixed frames (`len:u32 | datagram`); every frame is an ordinary datagram.
//! - **Names**: each member has a name (1 to 64 bytes), carried in front of its metadata,
//!   so events and snapshots name members and the name survives a restart on another
//!   address.
//! - **Addresses**: the member binds one address and advertises another when they differ
//!   (`0.0.0.0` in a container, NAT); seeds are `host:port` strings, resolved at start and
//!   again whenever a seed is not seen alive, so a seed that moved is found.
//! - **Security**: with a [`Keyring`], every datagram and frame is
//!   sealed with AES-256-GCM (a key per sender session, derived from the cluster key) and
//!   checked against a replay window; without one,
//!   traffic is plain. What fails to open, is replayed, comes from another cluster label or
//!   does not decode is dropped and counted ([`MetricsSnapshot`]); nothing a peer sends
//!   can panic or stall the member: stream connections (in all and per IP address), frame
//!   sizes, queue lengths and stream durations are all bounded, and a stream that cannot be
//!   made falls back to UDP.
//! - **Metrics**: packets and bytes in and out, drops by [`DropReason`], probes,
//!   suspicions and the local health ([`Cluster::metrics`]).
//! - **Faults**: [`Faults`] drops, delays or cuts off traffic for tests and drills.
//!
//! # Examples
//!
//! Two members on loopback, the second joining through the first:
//!
//! ```
//! use std::time::Duration;
//! use sinew_gossip::runtime::{Cluster, ClusterConfig, EventKind};
//! use sinew_gossip::Config;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fast = Config::local().scaled(0.1);
//! let a = Cluster::start(
//!     ClusterConfig::builder("a", "127.0.0.1:0".parse()?).gossip(fast.clone()).build()?,
//! )
//! .await?;
//! let mut events = a.subscribe();
//! let b = Cluster::start(
//!     ClusterConfig::builder("b", "127.0.0.1:0".parse()?)
//!         .gossip(fast)
//!         .seed(a.local_addr().to_string())
//!         .build()?,
//! )
//! .await?;
//!
//! let joined = tokio::time::timeout(Duration::from_secs(5), events.recv()).await??;
//! assert_eq!((joined.kind, joined.name.as_str()), (EventKind::Alive, "b"));
//! assert_eq!(a.members().len(), 2);
//!
//! b.leave().await?;
//! a.shutdown();
//! # Ok(())
//! # }
//! ```

mod config;
mod driver;
mod faults;
mod identity;
mod metrics;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::{TcpListener, TcpSocket, UdpSocket};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use crate::error::{ClusterError, SetMetadataError, StoppedError, UpdateKeyringError};
pub use config::{ClusterConfig, ClusterConfigBuilder};
pub use faults::Faults;
pub use identity::MAX_NAME_LEN;
pub use metrics::{DropReason, MetricsSnapshot};

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

use crate::keyring::{KeyError, Keyring, Sealer};
use crate::{Config, Incarnation, Member, State};
use driver::{Command, Driver, Parts};
use metrics::Metrics;

/// How many events a slow subscriber may fall behind before it misses some.
const EVENT_BUFFER: usize = 1024;

/// What happened to a member, as [`Cluster::subscribe`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// Alive: joined, came back with a new incarnation, or refuted a suspicion.
    Alive,
    /// Suspected of having failed.
    Suspect,
    /// Declared dead.
    Dead,
    /// Left on purpose.
    Left,
    /// Published new metadata.
    Updated,
}

impl EventKind {
    /// `"alive"`, `"suspect"`, `"dead"`, `"left"` or `"updated"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Alive => "alive",
            EventKind::Suspect => "suspect",
            EventKind::Dead => "dead",
            EventKind::Left => "left",
            EventKind::Updated => "updated",
        }
    }
}

/// A membership change seen by this member.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemberEvent {
    /// What happened.
    pub kind: EventKind,
    /// The member's name (its address if its name has not arrived).
    pub name: String,
    /// The member's advertised address.
    pub addr: SocketAddr,
    /// The incarnation the event is about.
    pub incarnation: Incarnation,
    /// The member's application metadata (empty for `Dead` and `Left`).
    pub metadata: Bytes,
    /// When this member saw it, since it started.
    pub at: Duration,
}

/// One member as this member sees it ([`Cluster::members`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemberSnapshot {
    /// Its name (its address if its name has not arrived).
    pub name: String,
    /// Its advertised address.
    pub addr: SocketAddr,
    /// Alive, suspect, dead or left.
    pub state: State,
    /// Its incarnation.
    pub incarnation: Incarnation,
    /// Its application metadata (empty once dead or left).
    pub metadata: Bytes,
}

/// A running member: the handle to a task that owns the sockets and the protocol state.
///
/// Dropping the handle stops the member at once, as [`shutdown`](Self::shutdown) does
/// (peers will find it dead); [`leave`](Self::leave) first to leave gracefully.
#[derive(Debug)]
pub struct Cluster {
    name: String,
    local: SocketAddr,
    bound: SocketAddr,
    gossip: Config,
    encrypted: bool,
    commands: mpsc::UnboundedSender<Command>,
    members: watch::Receiver<Arc<[MemberSnapshot]>>,
    /// Subscribed before the member started, for the first `subscribe()`: it misses nothing.
    first_subscriber: Mutex<Option<broadcast::Receiver<MemberEvent>>>,
    /// Never read; later subscribers are made from it. The handle holds no sender, so the
    /// stream closes when the member's task ends.
    template: broadcast::Receiver<MemberEvent>,
    metrics: Arc<Metrics>,
    task: JoinHandle<()>,
}

impl Cluster {
    /// Binds the UDP socket and the TCP listener, resolves the seeds, joins through them
    /// (retrying unseen seeds by itself), and runs the member in a spawned task.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Bind`] if a socket cannot be bound; [`ClusterError::Entropy`] if no
    /// random session id can be drawn for sealing. (The configuration was checked by
    /// [`ClusterConfigBuilder::build`].)
    pub async fn start(config: ClusterConfig) -> Result<Cluster, ClusterError> {
        let (udp, tcp, bound) = bind(config.bind).await.map_err(ClusterError::Bind)?;
        let local = match config.advertise {
            Some(a) if a.port() == 0 => SocketAddr::new(a.ip(), bound.port()),
            Some(a) => a,
            None => bound,
        };
        let generation = config.generation.unwrap_or_else(wall_clock_millis);
        let keyring = match config.keyring {
            Some(k) => Some((k, Sealer::new().map_err(ClusterError::Entropy)?)),
            None => None,
        };
        let encrypted = keyring.is_some();
        // `build` validated the protocol configuration and checked that the name and the
        // metadata fit in `max_metadata`, so neither step below can fail.
        let mut member = Member::with_rng_unchecked(
            config.gossip.clone(),
            local,
            generation,
            Duration::ZERO,
            Xoshiro256PlusPlus::seed_from_u64(random_seed()),
        );
        let _ = member.set_metadata(identity::wrap(&config.name, &config.metadata));
        let resolved = driver::resolve(&config.seeds, local).await;
        if !config.seeds.is_empty() {
            member.join(&resolved);
        }
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (snapshot, members) = watch::channel(Arc::from(Vec::new()));
        let (events, first_subscriber) = broadcast::channel(EVENT_BUFFER);
        let metrics = Arc::new(Metrics::default());
        let driver = Driver::new(Parts {
            member,
            name: config.name.clone(),
            udp,
            tcp,
            keyring,
            metrics: metrics.clone(),
            faults: config.faults,
            events,
            snapshot,
            commands: commands_rx,
            seeds: config.seeds,
            resolved,
            seed_refresh: config.seed_refresh,
            leave_timeout: config.leave_timeout,
            start: Instant::now(),
        });
        let task = tokio::spawn(driver.run());
        Ok(Cluster {
            name: config.name,
            local,
            bound,
            gossip: config.gossip,
            encrypted,
            commands,
            members,
            template: first_subscriber.resubscribe(),
            first_subscriber: Mutex::new(Some(first_subscriber)),
            metrics,
            task,
        })
    }

    /// This member's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address this member advertises (its identity in the cluster).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The address the sockets are bound to.
    pub fn bound_addr(&self) -> SocketAddr {
        self.bound
    }

    /// Every member this member knows of, itself first, as of the last change.
    pub fn members(&self) -> Arc<[MemberSnapshot]> {
        self.members.borrow().clone()
    }

    /// Membership events: the first call gets every event since the member started (none
    /// is lost between `start` and `subscribe`); later calls get events from then on. A
    /// subscriber that falls more than 1024 events behind gets
    /// [`RecvError::Lagged`](broadcast::error::RecvError::Lagged) and should re-read
    /// [`members`](Self::members). The stream ends
    /// ([`RecvError::Closed`](broadcast::error::RecvError::Closed)) when the member stops.
    pub fn subscribe(&self) -> broadcast::Receiver<MemberEvent> {
        let first = self
            .first_subscriber
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        first.unwrap_or_else(|| self.template.resubscribe())
    }

    /// The counters now.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    /// Publishes new application metadata.
    ///
    /// # Errors
    ///
    /// [`SetMetadataError::TooLarge`] if it does not fit beside the name in
    /// [`Config::max_metadata`]; [`SetMetadataError::Stopped`] if the member has stopped.
    pub fn set_metadata(&self, metadata: impl Into<Bytes>) -> Result<(), SetMetadataError> {
        let metadata = metadata.into();
        let (len, max) = (
            metadata.len(),
            config::metadata_room(&self.gossip, &self.name),
        );
        if len > max {
            return Err(SetMetadataError::TooLarge { len, max });
        }
        self.send(Command::SetMetadata(metadata))?;
        Ok(())
    }

    /// Hands `command` to the member's task.
    fn send(&self, command: Command) -> Result<(), StoppedError> {
        self.commands.send(command).map_err(|_| StoppedError)
    }

    /// Changes the keyring while the member runs: install a new key everywhere, then make
    /// it primary everywhere, then remove the old one.
    ///
    /// # Errors
    ///
    /// [`UpdateKeyringError::Key`] if the change is refused (the keyring is then unchanged);
    /// [`UpdateKeyringError::NotEncrypted`] if the member has no keyring;
    /// [`UpdateKeyringError::Stopped`] if the member has stopped.
    pub async fn update_keyring(
        &self,
        change: impl FnOnce(&mut Keyring) -> Result<(), KeyError> + Send + 'static,
    ) -> Result<(), UpdateKeyringError> {
        if !self.encrypted {
            return Err(UpdateKeyringError::NotEncrypted);
        }
        let (tx, rx) = oneshot::channel();
        self.send(Command::Keyring(Box::new(change), tx))?;
        rx.await
            .map_err(|_| UpdateKeyringError::Stopped)?
            .map_err(UpdateKeyringError::Key)
    }

    /// Leaves gracefully: announces "left", waits until the announcement has been sent its
    /// full number of times (or the leave timeout passes), and stops.
    ///
    /// # Errors
    ///
    /// [`StoppedError`] if the member had already stopped.
    pub async fn leave(self) -> Result<(), StoppedError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Leave(tx))?;
        rx.await.map_err(|_| StoppedError)
    }

    /// Stops at once, without a word to the cluster (which will find this member dead):
    /// the sockets close when the task ends, which tokio does at its next turn.
    pub fn shutdown(self) {
        self.task.abort();
    }

    /// Whether the member's task has ended (left, shut down, or failed).
    pub fn is_stopped(&self) -> bool {
        self.task.is_finished()
    }

    /// Resolves when the member's task has ended (left, shut down, or failed).
    pub async fn stopped(&self) {
        let mut members = self.members.clone();
        // The driver owns the sender: `changed` fails once the driver is gone.
        while members.changed().await.is_ok() {}
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A UDP socket and a TCP listener on the same port. With port 0 the system picks the UDP
/// port, which TCP may already use elsewhere: then try another.
async fn bind(addr: SocketAddr) -> std::io::Result<(UdpSocket, TcpListener, SocketAddr)> {
    let mut attempts = 0;
    loop {
        let udp = UdpSocket::bind(addr).await?;
        let bound = udp.local_addr()?;
        match bind_tcp(bound) {
            Ok(tcp) => return Ok((udp, tcp, bound)),
            Err(_) if addr.port() == 0 && attempts < 16 => attempts += 1,
            Err(e) => return Err(e),
        }
    }
}

/// A TCP listener on the UDP socket's port.
fn bind_tcp(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // A restarted member rebinds its port while old connections linger in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

fn wall_clock_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A seed for the member's generator: from the operating system, or the clock if that fails
/// (the generator only picks probe orders and gossip targets, nothing secret).
fn random_seed() -> u64 {
    let mut b = [0u8; 8];
    match getrandom::fill(&mut b) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => wall_clock_millis(),
    }
}
