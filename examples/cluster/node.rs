//! A cache node: the process `cluster node ...` runs (the showcase starts one per node by
//! running its own binary again).
//!
//! It binds its data-plane port, joins the gossip cluster (advertising that port in its
//! metadata), prints one `READY` line for the parent, and serves: clients' reads and writes
//! (each client limited at this node by a keyed sinew-ratelimit limiter), peers' replica
//! messages, and anti-entropy sessions. It exits when its parent goes away (its stdin closes),
//! however the parent ended.

use std::error::Error;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sinew::clock::{HybridClock, SystemClock};
use sinew::gossip::Config;
use sinew::gossip::keyring::Keyring;
use sinew::gossip::runtime::{Cluster, ClusterConfig};
use sinew::ratelimit::{KeyedRateLimiter, Quota};
use sinew::replica::{Coordinator, HintStore, Policy, Replica};
use sinew::snowflake::{Generator, Layout};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

use crate::engine::{Engine, Input, ServerCounters};
use crate::store::BloomStore;
use crate::{Res, repair};
use sinew_examples::wire::{DUMP_CHUNK, DUMP_CHUNK_BYTES, Frame, codec};

/// A node's command line, as the parent writes it.
#[derive(Clone)]
pub(crate) struct NodeArgs {
    pub(crate) name: String,
    /// Its place in the cluster: the snowflake worker ID.
    pub(crate) index: u16,
    pub(crate) gossip: SocketAddr,
    pub(crate) data: SocketAddr,
    /// A member to join through (none for the first node).
    pub(crate) join: Option<SocketAddr>,
    /// The gossip keyring's key, hex.
    pub(crate) key: String,
    /// The keys the cluster will hold (sizes the Bloom filter and the Merkle trees).
    pub(crate) keys: usize,
    pub(crate) quick: bool,
}

impl NodeArgs {
    pub(crate) fn to_args(&self) -> Vec<String> {
        let mut v = vec![
            "node".to_owned(),
            "--name".to_owned(),
            self.name.clone(),
            "--index".to_owned(),
            self.index.to_string(),
            "--gossip".to_owned(),
            self.gossip.to_string(),
            "--data".to_owned(),
            self.data.to_string(),
            "--key".to_owned(),
            self.key.clone(),
            "--keys".to_owned(),
            self.keys.to_string(),
        ];
        if let Some(j) = self.join {
            v.extend(["--join".to_owned(), j.to_string()]);
        }
        if self.quick {
            v.push("--quick".to_owned());
        }
        v
    }

    pub(crate) fn parse(mut args: impl Iterator<Item = String>) -> Res<Self> {
        let mut a = Self {
            name: String::new(),
            index: 0,
            gossip: "127.0.0.1:0".parse()?,
            data: "127.0.0.1:0".parse()?,
            join: None,
            key: String::new(),
            keys: 0,
            quick: false,
        };
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--name" => a.name = value()?,
                "--index" => a.index = value()?.parse()?,
                "--gossip" => a.gossip = value()?.parse()?,
                "--data" => a.data = value()?.parse()?,
                "--join" => a.join = Some(value()?.parse()?),
                "--key" => a.key = value()?,
                "--keys" => a.keys = value()?.parse()?,
                "--quick" => a.quick = true,
                other => return Err(format!("node: unknown option {other:?}").into()),
            }
        }
        if a.name.is_empty() {
            return Err("node: --name is required".into());
        }
        Ok(a)
    }
}

/// The gossip timing: memberlist's LAN preset, sped up for a demo on loopback.
pub(crate) fn gossip_config(quick: bool) -> Config {
    Config::lan().scaled(if quick { 0.1 } else { 0.2 })
}

/// Retries `f` for up to 5 s: a restarted node takes back ports its previous life held.
async fn retry<T, E, F: Future<Output = Result<T, E>>>(mut f: impl FnMut() -> F) -> Result<T, E> {
    let mut tries = 0;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(_) if tries < 100 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

pub(crate) async fn run(a: NodeArgs) -> Res<()> {
    let listener = retry(|| TcpListener::bind(a.data)).await?;
    let data = listener.local_addr()?;
    let mut config = ClusterConfig::builder(a.name.clone(), a.gossip)
        .gossip(gossip_config(a.quick))
        .keyring(Keyring::from_hex(&a.key)?)
        .metadata(data.to_string().into_bytes());
    if let Some(j) = a.join {
        config = config.seed(j.to_string());
    }
    let config = config.build()?;
    let gossip = retry(|| Cluster::start(config.clone())).await?;

    // A fresh actor for every life of the node: its memory is gone after a crash, so it must
    // not mint dots its previous life already used. A snowflake ID with the node's index as
    // worker is unique across nodes and grows across restarts.
    let actor = Generator::new(Layout::TWITTER, u64::from(a.index))?
        .next_id()?
        .get();
    let replica = Replica::with_store(
        a.name.clone(),
        actor,
        Policy::Dvv,
        BloomStore::new(a.keys)?,
        HintStore::default(),
    );
    let coordinator = Coordinator::new(
        a.name.clone(),
        actor,
        Policy::Dvv,
        HybridClock::new(SystemClock::new()),
    );
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "READY {} {data} {actor} {}",
            gossip.local_addr(),
            std::process::id()
        )?;
        out.flush()?;
    }
    // The parent holds our stdin; it closes when the parent exits, even by `kill -9`.
    tokio::spawn(async {
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 64];
        while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
        std::process::exit(0);
    });

    let (inputs, rx) = mpsc::channel(4096);
    let server = Arc::new(ServerCounters::default());
    // Per client at this node: 1,000 requests a second, bursts of 20. alice and bob pause a
    // millisecond after each request and stay under it; greedy does not.
    let limiter = KeyedRateLimiter::new(Quota::per_second(1_000)?.burst(20)?, 1_000);
    let ctx = Arc::new(Ctx {
        me: a.name.clone(),
        depth: repair::depth_for(a.keys),
        inputs,
        limiter,
        server: Arc::clone(&server),
    });
    tokio::spawn(accept(listener, ctx));
    Engine::new(a.name, actor, replica, coordinator, gossip, server)
        .run(rx)
        .await;
    Ok(())
}

/// What every connection task of a node shares.
pub(crate) struct Ctx {
    pub(crate) me: String,
    /// The depth of this node's anti-entropy trees.
    pub(crate) depth: u8,
    pub(crate) inputs: mpsc::Sender<Input>,
    limiter: KeyedRateLimiter<String>,
    server: Arc<ServerCounters>,
}

impl Ctx {
    /// Asks the engine something and waits for the answer (`None` if the engine is gone or
    /// dropped the question).
    pub(crate) async fn ask<T>(
        &self,
        input: impl FnOnce(oneshot::Sender<T>) -> Input,
    ) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.inputs.send(input(tx)).await.ok()?;
        rx.await.ok()
    }

    fn bad_frame(&self) {
        self.server.bad_frames.fetch_add(1, Relaxed);
    }
}

pub(crate) type Frames = Framed<TcpStream, LengthDelimitedCodec>;

/// Reads the next frame; `None` at the end of the connection or on a bad frame.
pub(crate) async fn next_frame(
    frames: &mut Frames,
) -> Option<Result<Frame, Box<dyn Error + Send + Sync>>> {
    match frames.next().await? {
        Ok(bytes) => Some(Frame::decode(bytes.freeze()).map_err(Into::into)),
        Err(e) => Some(Err(e.into())),
    }
}

async fn accept(listener: TcpListener, ctx: Arc<Ctx>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        tokio::spawn(serve(stream, Arc::clone(&ctx)));
    }
}

async fn serve(stream: TcpStream, ctx: Arc<Ctx>) {
    let _ = stream.set_nodelay(true);
    let mut frames = Framed::new(stream, codec());
    match next_frame(&mut frames).await {
        Some(Ok(Frame::HelloClient(name))) => client(frames, name, &ctx).await,
        // The name is taken on trust: a real deployment authenticates peers (mutual TLS).
        Some(Ok(Frame::HelloPeer(name))) => peer(frames, name, &ctx).await,
        Some(Ok(Frame::HelloRepair { from, depth })) => {
            repair::respond(&mut frames, from, depth, &ctx).await;
        }
        Some(_) => ctx.bad_frame(),
        None => {}
    }
}

/// A peer's replica messages, one way.
async fn peer(mut frames: Frames, from: String, ctx: &Ctx) {
    while let Some(frame) = next_frame(&mut frames).await {
        let Ok(Frame::Peer(message)) = frame else {
            ctx.bad_frame();
            return;
        };
        let input = Input::Peer {
            from: from.clone(),
            message,
        };
        if ctx.inputs.send(input).await.is_err() {
            return;
        }
    }
}

/// A client's requests, each answered in turn.
async fn client(mut frames: Frames, name: String, ctx: &Ctx) {
    let stopping = || Frame::Failed("the node is stopping".into());
    while let Some(frame) = next_frame(&mut frames).await {
        let limited = || {
            let limited = ctx.limiter.check_key(&name).is_err();
            if limited {
                ctx.server.limited.fetch_add(1, Relaxed);
            }
            limited
        };
        // Every request goes through the client's limiter (admin ones too: a dump copies the
        // whole store, a repair talks to every peer).
        let frame = match frame {
            Ok(Frame::Get(_) | Frame::Put { .. } | Frame::Stats | Frame::Dump | Frame::Repair)
                if limited() =>
            {
                if frames.send(Frame::Limited.encode()).await.is_err() {
                    return;
                }
                continue;
            }
            other => other,
        };
        let answer = match frame {
            Ok(Frame::Get(key)) => ctx
                .ask(|reply| Input::Get { key, reply })
                .await
                .unwrap_or_else(stopping),
            Ok(Frame::Put {
                key,
                value,
                context,
            }) => ctx
                .ask(|reply| Input::Put {
                    key,
                    value,
                    context,
                    reply,
                })
                .await
                .unwrap_or_else(stopping),
            Ok(Frame::Stats) => ctx
                .ask(|reply| Input::Stats { reply })
                .await
                .map_or_else(stopping, Frame::Json),
            Ok(Frame::Repair) => Frame::Json(repair::repair_all(ctx).await),
            Ok(Frame::Dump) => {
                let all = ctx.ask(|reply| Input::Dump { reply }).await;
                // Chunks of at most DUMP_CHUNK objects and DUMP_CHUNK_BYTES encoded bytes, so
                // a chunk of large values stays far inside the frame limit.
                let mut chunk = Vec::new();
                let mut bytes = 0;
                for (key, object) in all.unwrap_or_default() {
                    bytes += key.len() + object.encoded_len() + 8;
                    chunk.push((key, object));
                    if chunk.len() >= DUMP_CHUNK || bytes >= DUMP_CHUNK_BYTES {
                        let full = Frame::Chunk(std::mem::take(&mut chunk));
                        bytes = 0;
                        if frames.send(full.encode()).await.is_err() {
                            return;
                        }
                    }
                }
                if !chunk.is_empty() && frames.send(Frame::Chunk(chunk).encode()).await.is_err() {
                    return;
                }
                Frame::End
            }
            Ok(other) => Frame::Failed(format!("not a request: {other:?}")),
            Err(e) => {
                // A frame that does not parse ends the connection, after saying why.
                ctx.bad_frame();
                let _ = frames.send(Frame::Failed(e.to_string()).encode()).await;
                return;
            }
        };
        if frames.send(answer.encode()).await.is_err() {
            return;
        }
    }
}
