//! A client of the cache, as an application would write one: a connection per node it talks
//! to, requests over TCP, and the retry rules a good client follows (back off when limited,
//! fail over to the next node when its node does not answer, give up after 10 s).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use sinew::replica::{Dot, Siblings, VersionVector};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use crate::Res;
use crate::node::Frames;
use sinew_examples::wire::{Frame, codec};

/// How long an operation is retried before the run fails.
const GIVE_UP: Duration = Duration::from_secs(10);

#[derive(Default)]
pub(crate) struct ClientStats {
    /// Requests the nodes' rate limiters refused.
    pub(crate) limited: u64,
    /// Requests that failed at a node (no quorum in time).
    pub(crate) failed: u64,
    /// Times the client moved to another node because its node was unreachable.
    pub(crate) failovers: u64,
    /// Round trips of the requests that succeeded, as the client saw them.
    pub(crate) latencies: Vec<Duration>,
}

pub(crate) struct Client {
    pub(crate) name: String,
    /// Every node's data-plane address, by index.
    nodes: Arc<Vec<SocketAddr>>,
    conns: HashMap<usize, Frames>,
    /// The node this client sends to (it moves on when that one fails).
    pub(crate) node: usize,
    pub(crate) stats: ClientStats,
}

impl Client {
    pub(crate) fn new(name: &str, nodes: Arc<Vec<SocketAddr>>, node: usize) -> Self {
        Self {
            name: name.to_owned(),
            nodes,
            conns: HashMap::new(),
            node,
            stats: ClientStats::default(),
        }
    }

    /// One request to node `i` and its answer. A kept connection that fails is replaced once
    /// (the node may have restarted since it was opened).
    async fn call(&mut self, i: usize, request: Frame) -> Res<Frame> {
        let reused = self.conns.contains_key(&i);
        match self.call_once(i, &request).await {
            Err(_) if reused => self.call_once(i, &request).await,
            answer => answer,
        }
    }

    async fn call_once(&mut self, i: usize, request: &Frame) -> Res<Frame> {
        if !self.conns.contains_key(&i) {
            let addr = *self.nodes.get(i).ok_or("no such node")?;
            let stream =
                tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(addr)).await??;
            stream.set_nodelay(true)?;
            let mut frames = Framed::new(stream, codec());
            frames
                .send(Frame::HelloClient(self.name.clone()).encode())
                .await?;
            self.conns.insert(i, frames);
        }
        let frames = self.conns.get_mut(&i).ok_or("no connection")?;
        let answer = async {
            frames.send(request.encode()).await?;
            let raw = frames
                .next()
                .await
                .ok_or("the node closed the connection")??;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Frame::decode(raw.freeze())?)
        };
        let answer = tokio::time::timeout(Duration::from_secs(5), answer)
            .await
            .map_err(|_| "no answer within 5 s".into())
            .and_then(|a| a);
        if answer.is_err() {
            self.conns.remove(&i);
        }
        answer
    }

    /// Sends `request` until a node answers it with something other than `Limited` or
    /// `Failed`.
    async fn retried(&mut self, what: &str, request: impl Fn() -> Frame) -> Res<Frame> {
        let give_up = Instant::now() + GIVE_UP;
        loop {
            if Instant::now() > give_up {
                return Err(format!("{} could not {what} for {GIVE_UP:?}", self.name).into());
            }
            let sent = Instant::now();
            match self.call(self.node, request()).await {
                Ok(Frame::Limited) => {
                    // Back off a little, as a client told "too many requests" should.
                    self.stats.limited += 1;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                Ok(Frame::Failed(_)) => {
                    self.stats.failed += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Ok(answer) => {
                    self.stats.latencies.push(sent.elapsed());
                    return Ok(answer);
                }
                Err(_) => {
                    self.stats.failovers += 1;
                    self.node = (self.node + 1) % self.nodes.len();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    }

    /// Writes `value` under `key`, with the context of what this client last saw of it.
    pub(crate) async fn put(
        &mut self,
        key: &str,
        value: &Bytes,
        context: &VersionVector,
    ) -> Res<Dot> {
        let key = Bytes::from(key.to_owned());
        let request = || Frame::Put {
            key: key.clone(),
            value: value.clone(),
            context: context.clone(),
        };
        match self.retried("write", request).await? {
            Frame::Written(dot) => Ok(dot),
            other => Err(format!("a write was answered with {other:?}").into()),
        }
    }

    /// Reads `key` (a quorum read: the merged object of two replicas).
    pub(crate) async fn get(&mut self, key: &str) -> Res<Siblings> {
        let key = Bytes::from(key.to_owned());
        match self.retried("read", || Frame::Get(key.clone())).await? {
            Frame::Value(object) => Ok(object),
            other => Err(format!("a read was answered with {other:?}").into()),
        }
    }

    /// A node's counters.
    pub(crate) async fn stats(&mut self, i: usize) -> Res<Value> {
        match self.call(i, Frame::Stats).await? {
            Frame::Json(text) => Ok(serde_json::from_str(&text)?),
            other => Err(format!("stats were answered with {other:?}").into()),
        }
    }

    /// Runs anti-entropy at node `i` with all its peers; its report.
    pub(crate) async fn repair(&mut self, i: usize) -> Res<Value> {
        match self.call(i, Frame::Repair).await? {
            Frame::Json(text) => Ok(serde_json::from_str(&text)?),
            other => Err(format!("a repair was answered with {other:?}").into()),
        }
    }

    /// Every object node `i` holds, read over the network.
    pub(crate) async fn dump(&mut self, i: usize) -> Res<HashMap<Bytes, Siblings>> {
        let mut all = HashMap::new();
        let mut request = Some(Frame::Dump);
        loop {
            let frame = match request.take() {
                Some(r) => self.call(i, r).await?,
                None => {
                    let frames = self.conns.get_mut(&i).ok_or("no connection")?;
                    let raw = frames.next().await.ok_or("the dump was cut short")??;
                    Frame::decode(raw.freeze())?
                }
            };
            match frame {
                Frame::Chunk(objects) => all.extend(objects),
                Frame::End => return Ok(all),
                other => return Err(format!("a dump was answered with {other:?}").into()),
            }
        }
    }
}
