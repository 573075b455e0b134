//! The showcase's data plane (`examples/cluster`): the frames clients, nodes and repair
//! sessions send each other over TCP. It lives in this library so the fuzzer reaches its
//! decoder (`fuzz/fuzz_targets/examples_cluster_frame.rs`).
//!
//! Every connection carries length-delimited frames (tokio-util's `LengthDelimitedCodec`, a
//! 4-byte big-endian length, at most [`MAX_FRAME`] bytes). Its first frame says who is calling
//! ([`Frame::HelloClient`], [`Frame::HelloPeer`], [`Frame::HelloRepair`]); the rest depends on
//! that:
//!
//! - a client sends requests and reads one response each (`Get` -> `Value`, `Put` ->
//!   `Written`, either may get `Limited` or `Failed`; `Stats` -> `Json`; `Dump` -> `Chunk`s
//!   then `End`; `Repair` -> `Json`);
//! - a peer sends sinew-replica [`Message`]s one way (the replies come back on the other
//!   node's own connection, as the protocol is asynchronous);
//! - a repair session sends Merkle reconciliation `Round`s and reads one back each, then one
//!   `Peer(Sync)` and reads `Peer(SyncReply)`.
//!
//! Decoding checks everything: a frame from the network is bad input until it parses, and a
//! bad one is an error that closes its connection, never a panic.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use sinew::replica::{Dot, Message, Siblings, VersionVector};
use tokio_util::codec::LengthDelimitedCodec;

/// The largest frame either side accepts (a dump chunk is the largest: [`DUMP_CHUNK`] objects).
pub const MAX_FRAME: usize = 16 << 20;
/// Objects per dump chunk, at most.
pub const DUMP_CHUNK: usize = 1024;
/// Encoded bytes per dump chunk, at most about (a chunk closes once past it): a chunk of large
/// values stays well inside [`MAX_FRAME`], since a single object is at most a frame itself.
pub const DUMP_CHUNK_BYTES: usize = 4 << 20;

/// The codec every connection uses.
pub fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(MAX_FRAME)
        .new_codec()
}

/// One frame of the data plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Opens a client connection; the name is the rate limiter's key.
    HelloClient(String),
    /// Opens a node's connection to a peer, for replica messages.
    HelloPeer(String),
    /// Opens an anti-entropy session over the keys the two nodes share.
    HelloRepair {
        /// The initiating node.
        from: String,
        /// The depth of the Merkle trees to compare.
        depth: u8,
    },
    /// Read a key (client).
    Get(Bytes),
    /// Write a key with the causal context of what the client last saw of it (client).
    Put {
        /// The key.
        key: Bytes,
        /// The value.
        value: Bytes,
        /// What the client last saw of the key (empty for a first write).
        context: VersionVector,
    },
    /// The node's counters, as JSON (client).
    Stats,
    /// Every object the node holds, in chunks (client).
    Dump,
    /// Run anti-entropy with every peer now, as `nodetool repair` does (client).
    Repair,
    /// A read's result.
    Value(Siblings),
    /// A write's acknowledgement: its dot.
    Written(Dot),
    /// Refused by the node's per-client rate limiter.
    Limited,
    /// The operation failed (no quorum in time, ...).
    Failed(String),
    /// A JSON answer (stats, a repair's report).
    Json(String),
    /// Part of a dump.
    Chunk(Vec<(Bytes, Siblings)>),
    /// The end of a dump.
    End,
    /// A replica-protocol message between nodes.
    Peer(Message<String>),
    /// A Merkle reconciliation message (sinew-merkle's `Reconciler` / `Responder` bytes).
    Round(Bytes),
}

/// A frame that does not parse, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadFrame(pub String);

impl std::fmt::Display for BadFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad frame: {}", self.0)
    }
}

impl std::error::Error for BadFrame {}

fn bad(what: impl std::fmt::Display) -> BadFrame {
    BadFrame(what.to_string())
}

fn put_bytes(out: &mut BytesMut, b: &[u8]) {
    // Frames are at most MAX_FRAME bytes, so every field fits a u32.
    out.put_u32(u32::try_from(b.len()).unwrap_or(u32::MAX));
    out.put_slice(b);
}

fn get_bytes(buf: &mut Bytes) -> Result<Bytes, BadFrame> {
    if buf.remaining() < 4 {
        return Err(bad("truncated length"));
    }
    let len = usize::try_from(buf.get_u32()).map_err(bad)?;
    if buf.remaining() < len {
        return Err(bad("truncated field"));
    }
    // A copy: a slice would keep the whole read buffer it came from alive for as long as a
    // store keeps the key or value.
    Ok(Bytes::copy_from_slice(&buf.split_to(len)))
}

fn get_string(buf: &mut Bytes) -> Result<String, BadFrame> {
    String::from_utf8(get_bytes(buf)?.to_vec()).map_err(bad)
}

fn put_siblings(out: &mut BytesMut, s: &Siblings) {
    let mut v = Vec::with_capacity(s.encoded_len());
    s.encode(&mut v);
    put_bytes(out, &v);
}

fn get_siblings(buf: &mut Bytes) -> Result<Siblings, BadFrame> {
    Siblings::from_bytes(&get_bytes(buf)?).map_err(bad)
}

impl Frame {
    /// The frame's bytes (without the length prefix the codec adds).
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::new();
        match self {
            Self::HelloClient(name) => {
                out.put_u8(1);
                put_bytes(&mut out, name.as_bytes());
            }
            Self::HelloPeer(name) => {
                out.put_u8(2);
                put_bytes(&mut out, name.as_bytes());
            }
            Self::HelloRepair { from, depth } => {
                out.put_u8(3);
                put_bytes(&mut out, from.as_bytes());
                out.put_u8(*depth);
            }
            Self::Get(key) => {
                out.put_u8(10);
                put_bytes(&mut out, key);
            }
            Self::Put {
                key,
                value,
                context,
            } => {
                out.put_u8(11);
                put_bytes(&mut out, key);
                put_bytes(&mut out, value);
                let mut v = Vec::new();
                context.encode(&mut v);
                put_bytes(&mut out, &v);
            }
            Self::Stats => out.put_u8(12),
            Self::Dump => out.put_u8(13),
            Self::Repair => out.put_u8(14),
            Self::Value(s) => {
                out.put_u8(20);
                put_siblings(&mut out, s);
            }
            Self::Written(dot) => {
                out.put_u8(21);
                let mut v = Vec::new();
                dot.encode(&mut v);
                put_bytes(&mut out, &v);
            }
            Self::Limited => out.put_u8(22),
            Self::Failed(why) => {
                out.put_u8(23);
                put_bytes(&mut out, why.as_bytes());
            }
            Self::Json(text) => {
                out.put_u8(24);
                put_bytes(&mut out, text.as_bytes());
            }
            Self::Chunk(objects) => {
                out.put_u8(25);
                out.put_u32(u32::try_from(objects.len()).unwrap_or(u32::MAX));
                for (key, object) in objects {
                    put_bytes(&mut out, key);
                    put_siblings(&mut out, object);
                }
            }
            Self::End => out.put_u8(26),
            Self::Peer(message) => {
                out.put_u8(30);
                let mut v = Vec::new();
                message.encode(&mut v);
                out.put_slice(&v);
            }
            Self::Round(bytes) => {
                out.put_u8(31);
                out.put_slice(bytes);
            }
        }
        out.freeze()
    }

    /// Parses one frame; anything but exactly one well-formed frame is an error.
    ///
    /// # Errors
    ///
    /// [`BadFrame`] on an unknown tag, a truncated field, trailing bytes, or a version,
    /// object or message that does not decode. Never panics; allocates at most in proportion
    /// to the input.
    pub fn decode(mut buf: Bytes) -> Result<Self, BadFrame> {
        if !buf.has_remaining() {
            return Err(bad("empty frame"));
        }
        let frame = match buf.get_u8() {
            1 => Self::HelloClient(get_string(&mut buf)?),
            2 => Self::HelloPeer(get_string(&mut buf)?),
            3 => {
                let from = get_string(&mut buf)?;
                if !buf.has_remaining() {
                    return Err(bad("truncated depth"));
                }
                Self::HelloRepair {
                    from,
                    depth: buf.get_u8(),
                }
            }
            10 => Self::Get(get_bytes(&mut buf)?),
            11 => Self::Put {
                key: get_bytes(&mut buf)?,
                value: get_bytes(&mut buf)?,
                context: VersionVector::from_bytes(&get_bytes(&mut buf)?).map_err(bad)?,
            },
            12 => Self::Stats,
            13 => Self::Dump,
            14 => Self::Repair,
            20 => Self::Value(get_siblings(&mut buf)?),
            21 => {
                let bytes = get_bytes(&mut buf)?;
                let (dot, used) = Dot::decode(&bytes).map_err(bad)?;
                if used != bytes.len() {
                    return Err(bad("trailing bytes after a dot"));
                }
                Self::Written(dot)
            }
            22 => Self::Limited,
            23 => Self::Failed(get_string(&mut buf)?),
            24 => Self::Json(get_string(&mut buf)?),
            25 => {
                if buf.remaining() < 4 {
                    return Err(bad("truncated count"));
                }
                let count = usize::try_from(buf.get_u32()).map_err(bad)?;
                // Each object takes at least 8 bytes (two lengths): a forged count cannot
                // make us reserve more than the frame justifies.
                let mut objects = Vec::with_capacity(count.min(buf.remaining() / 8));
                for _ in 0..count {
                    objects.push((get_bytes(&mut buf)?, get_siblings(&mut buf)?));
                }
                Self::Chunk(objects)
            }
            26 => Self::End,
            30 => return Message::decode(&buf).map(Self::Peer).map_err(bad),
            31 => return Ok(Self::Round(buf)),
            tag => return Err(bad(format_args!("unknown tag {tag}"))),
        };
        if buf.has_remaining() {
            return Err(bad("trailing bytes"));
        }
        Ok(frame)
    }
}
