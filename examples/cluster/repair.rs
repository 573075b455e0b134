//! Anti-entropy over TCP, one session per pair of nodes, on its own connection.
//!
//! The initiator and the responder each build a sinew-merkle tree over the keys both are home
//! replicas of (from their objects' fingerprints). The initiator's `Reconciler` and the
//! responder's `Responder` then exchange `Round`s, level by level down the trees, until the
//! initiator knows the bucket ranges that differ; only then do objects move: the initiator
//! sends a sinew-replica `Sync` with its objects in those ranges, the responder merges them and
//! answers with its own (`SyncReply`), which the initiator merges. Two replicas that agree
//! exchange a few dozen bytes; a replica that lost everything receives its share and little
//! else.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use sinew::merkle::antientropy::{Reconciler, Responder, Step};
use sinew::replica::Message;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use crate::engine::Input;
use crate::node::{Ctx, Frames, next_frame};
use sinew_examples::wire::{Frame, codec};

/// The deepest tree a peer may ask this node to build (2^16 buckets, 1 MiB).
const MAX_DEPTH: u8 = 16;

/// A tree depth for a cluster of about `keys` keys: a few keys per bucket.
pub(crate) fn depth_for(keys: usize) -> u8 {
    let buckets = (keys / 4).max(64);
    u8::try_from(buckets.ilog2())
        .unwrap_or(MAX_DEPTH)
        .clamp(6, MAX_DEPTH)
}

/// Answers a peer's session.
pub(crate) async fn respond(frames: &mut Frames, from: String, depth: u8, ctx: &Ctx) {
    if depth > MAX_DEPTH {
        return;
    }
    let peer = from.clone();
    let Some(tree) = ctx.ask(|reply| Input::Tree { peer, depth, reply }).await else {
        return;
    };
    let mut responder = Responder::new(&tree);
    while let Some(Ok(frame)) = next_frame(frames).await {
        let answer = match frame {
            Frame::Round(m) => match responder.respond(&m) {
                Ok(r) => Frame::Round(r.into()),
                Err(_) => return,
            },
            Frame::Peer(message @ Message::Sync { .. }) => {
                let from = from.clone();
                let asked = ctx.ask(|reply| Input::Sync {
                    from,
                    message,
                    reply,
                });
                match asked.await {
                    Some(reply) => Frame::Peer(reply),
                    None => return,
                }
            }
            _ => return,
        };
        if frames.send(answer.encode()).await.is_err() {
            return;
        }
    }
}

/// What one session did.
struct Session {
    ranges: usize,
    rounds: u32,
    bytes: u64,
    changed: u64,
    full_copy_bytes: u64,
}

/// Runs a session with every peer that is up, one after another; the report as JSON.
pub(crate) async fn repair_all(ctx: &Ctx) -> String {
    let peers = ctx
        .ask(|reply| Input::Peers { reply })
        .await
        .unwrap_or_default();
    let mut sessions = Vec::new();
    let (mut bytes, mut changed, mut full) = (0, 0, 0);
    for (peer, addr) in peers {
        let report = match session(ctx, &peer, addr).await {
            Ok(s) => {
                bytes += s.bytes;
                changed += s.changed;
                full += s.full_copy_bytes;
                json!({"peer": peer, "ranges": s.ranges, "rounds": s.rounds, "bytes": s.bytes,
                       "keys_repaired": s.changed, "full_copy_bytes": s.full_copy_bytes})
            }
            Err(e) => json!({"peer": peer, "error": e.to_string()}),
        };
        sessions.push(report);
    }
    json!({"sessions": sessions, "bytes": bytes, "keys_repaired": changed, "full_copy_bytes": full})
        .to_string()
}

type SessionResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Sends `frame`, counting its bytes (with the 4-byte length) into `bytes`.
async fn send(frames: &mut Frames, frame: Frame, bytes: &mut u64) -> SessionResult<()> {
    let encoded = frame.encode();
    *bytes += encoded.len() as u64 + 4;
    frames.send(encoded).await?;
    Ok(())
}

/// Reads the next frame, counting its bytes into `bytes`.
async fn receive(frames: &mut Frames, bytes: &mut u64) -> SessionResult<Frame> {
    let raw = frames.next().await.ok_or("the peer closed the session")??;
    *bytes += raw.len() as u64 + 4;
    Ok(Frame::decode(raw.freeze())?)
}

async fn session(ctx: &Ctx, peer: &str, addr: SocketAddr) -> SessionResult<Session> {
    let stream = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr)).await??;
    stream.set_nodelay(true)?;
    let mut frames = Framed::new(stream, codec());
    let mut bytes = 0;
    let hello = Frame::HelloRepair {
        from: ctx.me.clone(),
        depth: ctx.depth,
    };
    send(&mut frames, hello, &mut bytes).await?;
    let depth = ctx.depth;
    let name = peer.to_owned();
    let tree = ctx
        .ask(|reply| Input::Tree {
            peer: name,
            depth,
            reply,
        })
        .await
        .ok_or("no tree")?;
    let mut reconciler = Reconciler::new(&tree);
    let mut message = reconciler.start();
    let ranges = loop {
        send(&mut frames, Frame::Round(message.into()), &mut bytes).await?;
        let Frame::Round(reply) = receive(&mut frames, &mut bytes).await? else {
            return Err("expected a reconciliation round".into());
        };
        match reconciler.receive(&reply)? {
            Step::Send(next) => message = next,
            Step::Done(ranges) => break ranges,
        }
    };
    let rounds = reconciler.rounds();
    let mut s = Session {
        ranges: ranges.len(),
        rounds,
        bytes: 0,
        changed: 0,
        full_copy_bytes: 0,
    };
    if !ranges.is_empty() {
        let name = peer.to_owned();
        let sync = ctx
            .ask(|reply| Input::SyncRequest {
                peer: name,
                tree,
                ranges,
                reply,
            })
            .await
            .ok_or("no sync request")?;
        send(&mut frames, Frame::Peer(sync), &mut bytes).await?;
        let Frame::Peer(reply @ Message::SyncReply { .. }) =
            receive(&mut frames, &mut bytes).await?
        else {
            return Err("expected a sync reply".into());
        };
        let from = peer.to_owned();
        s.changed = ctx
            .ask(|r| Input::Merge {
                from,
                message: reply,
                reply: r,
            })
            .await
            .ok_or("no merge")?;
    }
    // Measured once the two agree: what a full copy of the shared keys would have sent.
    let peer = peer.to_owned();
    s.full_copy_bytes = ctx
        .ask(|reply| Input::SharedBytes { peer, reply })
        .await
        .ok_or("no size")?;
    s.bytes = bytes;
    Ok(s)
}
