//! A node's links to its peers: per peer, a task that owns one TCP connection and a
//! sinew-breaker around every message sent on it.
//!
//! A send is one call through the breaker: connecting (when there is no connection) and
//! writing the frame. A peer killed with `kill -9` closes its sockets, so the link sees the
//! connection end, its next connect is refused, and after a few refusals the breaker opens:
//! messages are then turned away at once instead of waiting on a dead address, and the engine
//! counts the peer down. While open, the link probes now and then (the breaker's half-open
//! trial), and a successful connect closes the breaker again.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use futures_util::SinkExt;
use sinew::breaker::{CircuitBreaker, State as BreakerState};
use sinew::replica::Message;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::codec::FramedWrite;

use sinew_examples::wire::{Frame, codec};

/// Messages queued per peer before new ones are dropped (the protocol retries what is lost).
const QUEUE: usize = 4096;
/// How long a connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
/// How often an open breaker is asked whether a trial connect may go.
const PROBE_EVERY: Duration = Duration::from_millis(100);

/// Counters shared by a node's links.
#[derive(Default)]
pub(crate) struct LinkCounters {
    /// Messages the breakers turned away.
    pub(crate) rejected: AtomicU64,
    /// Connects refused or writes failed.
    pub(crate) failed: AtomicU64,
    /// Messages written.
    pub(crate) sent: AtomicU64,
    /// Messages dropped because a peer's queue was full or it had no link yet.
    pub(crate) dropped: AtomicU64,
}

struct Link {
    queue: mpsc::Sender<Message<String>>,
    addr: watch::Sender<SocketAddr>,
    breaker: Arc<CircuitBreaker>,
}

pub(crate) struct Links {
    me: String,
    links: HashMap<String, Link>,
    counters: Arc<LinkCounters>,
}

impl Links {
    pub(crate) fn new(me: String) -> Self {
        Self {
            me,
            links: HashMap::new(),
            counters: Arc::default(),
        }
    }

    /// Makes sure there is a link to `peer` at `addr` (a restarted peer may come back on
    /// another port).
    pub(crate) fn connect_to(&mut self, peer: &str, addr: SocketAddr) {
        if let Some(link) = self.links.get(peer) {
            link.addr
                .send_if_modified(|a| std::mem::replace(a, addr) != addr);
            return;
        }
        // Open after half of the last 10 calls failed (at least 4 calls), for 300 ms; then
        // one trial call decides.
        let Ok(breaker) = CircuitBreaker::builder()
            .count_window(10)
            .minimum_calls(4)
            .failure_rate_threshold(0.5)
            .wait_in_open(Duration::from_millis(300))
            .half_open_permits(1)
            .build()
        else {
            return;
        };
        let breaker = Arc::new(breaker);
        let (queue, rx) = mpsc::channel(QUEUE);
        let (addr_tx, addr_rx) = watch::channel(addr);
        tokio::spawn(run(
            self.me.clone(),
            addr_rx,
            rx,
            Arc::clone(&breaker),
            Arc::clone(&self.counters),
        ));
        self.links.insert(
            peer.to_owned(),
            Link {
                queue,
                addr: addr_tx,
                breaker,
            },
        );
    }

    /// Queues `message` for `peer`.
    pub(crate) fn send(&self, peer: &str, message: Message<String>) {
        let queued = self
            .links
            .get(peer)
            .is_some_and(|l| l.queue.try_send(message).is_ok());
        if !queued {
            self.counters.dropped.fetch_add(1, Relaxed);
        }
    }

    /// Whether the breaker towards `peer` is open (calls to it are turned away).
    pub(crate) fn is_open(&self, peer: &str) -> bool {
        self.links.get(peer).is_some_and(|l| {
            matches!(
                l.breaker.state(),
                BreakerState::Open | BreakerState::ForcedOpen
            )
        })
    }

    /// The peers this node's breakers are open towards.
    pub(crate) fn open_towards(&self) -> Vec<&String> {
        let mut v: Vec<&String> = self.links.keys().filter(|p| self.is_open(p)).collect();
        v.sort();
        v
    }

    pub(crate) fn counters(&self) -> &LinkCounters {
        &self.counters
    }
}

/// A live connection: the write half, and a signal that the peer closed it.
struct Conn {
    frames: FramedWrite<OwnedWriteHalf, tokio_util::codec::LengthDelimitedCodec>,
    closed: oneshot::Receiver<()>,
}

async fn connect(me: &str, addr: SocketAddr) -> std::io::Result<Conn> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await??;
    stream.set_nodelay(true)?;
    let (mut read, write) = stream.into_split();
    let mut frames = FramedWrite::new(write, codec());
    frames
        .send(Frame::HelloPeer(me.to_owned()).encode())
        .await?;
    // Peers never write on this connection, so any return from a read means it is over.
    let (tx, closed) = oneshot::channel();
    tokio::spawn(async move {
        let _ = read.read(&mut [0u8; 1]).await;
        let _ = tx.send(());
    });
    Ok(Conn { frames, closed })
}

async fn run(
    me: String,
    addr: watch::Receiver<SocketAddr>,
    mut queue: mpsc::Receiver<Message<String>>,
    breaker: Arc<CircuitBreaker>,
    counters: Arc<LinkCounters>,
) {
    let mut conn: Option<Conn> = None;
    let mut probe = tokio::time::interval(PROBE_EVERY);
    loop {
        let idle_and_open = conn.is_none() && breaker.state() == BreakerState::Open;
        tokio::select! {
            message = queue.recv() => {
                let Some(message) = message else { return };
                let Ok(permit) = breaker.try_acquire() else {
                    counters.rejected.fetch_add(1, Relaxed);
                    continue;
                };
                if conn.is_none() {
                    let to = *addr.borrow();
                    match connect(&me, to).await {
                        Ok(c) => conn = Some(c),
                        Err(_) => {
                            permit.failure();
                            counters.failed.fetch_add(1, Relaxed);
                            continue;
                        }
                    }
                }
                let Some(c) = conn.as_mut() else { continue };
                match c.frames.send(Frame::Peer(message).encode()).await {
                    Ok(()) => {
                        permit.success();
                        counters.sent.fetch_add(1, Relaxed);
                    }
                    Err(_) => {
                        permit.failure();
                        counters.failed.fetch_add(1, Relaxed);
                        conn = None;
                    }
                }
            }
            // A trial connect once the breaker's wait is over, so a peer that is back is
            // found even when nothing is being sent to it.
            _ = probe.tick(), if idle_and_open => {
                if let Ok(permit) = breaker.try_acquire() {
                    let to = *addr.borrow();
                    match connect(&me, to).await {
                        Ok(c) => {
                            permit.success();
                            conn = Some(c);
                        }
                        Err(_) => {
                            permit.failure();
                            counters.failed.fetch_add(1, Relaxed);
                        }
                    }
                }
            }
            _ = async { if let Some(c) = conn.as_mut() { let _ = (&mut c.closed).await; } }, if conn.is_some() => {
                conn = None;
            }
        }
    }
}
