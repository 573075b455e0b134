//! The messages between coordinators and replicas, and their wire encoding.

use std::net::SocketAddr;

use bytes::Bytes;
use sinew_merkle::antientropy::BucketRange;

use crate::codec::{get_array, get_bytes, get_varint, put_bytes, put_varint};
use crate::error::DecodeError;
use sinew_clock::HlcTimestamp;

use crate::version::{Dot, Siblings, VersionVector};

/// A message to send: hand `message` to node `to` (the same node included: a coordinator
/// talks to its own node's replica through messages too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit<N> {
    /// The destination.
    pub to: N,
    /// What to deliver.
    pub message: Message<N>,
}

/// What coordinators and replicas say to each other. `op` numbers are the sender's; a reply
/// carries the request's. Route a received message with [`for_coordinator`](Self::for_coordinator).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message<N> {
    /// Read `key`.
    Get {
        /// The coordinator's operation.
        op: u64,
        /// The key.
        key: Bytes,
    },
    /// A replica's object for the key of a [`Get`](Self::Get) (empty if it holds none).
    GetReply {
        /// The operation.
        op: u64,
        /// The replica's object.
        object: Siblings,
    },
    /// Coordinate a write here (the dotted-version-vector policy): the replica applies it
    /// under a new dot of its own and answers with the resulting object.
    Put {
        /// The operation.
        op: u64,
        /// The key.
        key: Bytes,
        /// The value written.
        value: Bytes,
        /// The causal context the client read.
        context: VersionVector,
        /// The coordinator's hybrid-clock time of the write.
        timestamp: HlcTimestamp,
    },
    /// The object after a [`Put`](Self::Put), for the coordinator to replicate.
    PutReply {
        /// The operation.
        op: u64,
        /// The write's dot.
        dot: Dot,
        /// The object the write produced.
        object: Siblings,
    },
    /// Merge `object` into the replica's copy of `key` (a write, or a read repair), or keep
    /// it as a hint for `hint` when this node stands in for it.
    Replicate {
        /// The operation.
        op: u64,
        /// The key.
        key: Bytes,
        /// The object to merge.
        object: Siblings,
        /// The home replica this node stands in for (sloppy quorum), if any.
        hint: Option<N>,
    },
    /// A [`Replicate`](Self::Replicate) was applied (or kept as a hint).
    Ack {
        /// The operation.
        op: u64,
    },
    /// A hint handed to its owner.
    HintReplay {
        /// The hint's id at the sender.
        id: u64,
        /// The key.
        key: Bytes,
        /// The object to merge.
        object: Siblings,
    },
    /// A [`HintReplay`](Self::HintReplay) was applied; the sender may delete the hint.
    HintAck {
        /// The hint's id.
        id: u64,
    },
    /// Anti-entropy: the sender's objects in the bucket ranges a Merkle reconciliation found
    /// different (buckets of a tree of `2^depth` buckets with `seed`); the receiver merges them
    /// and answers with its own objects in those ranges that differ.
    Sync {
        /// The tree's depth.
        depth: u8,
        /// The tree's seed.
        seed: u64,
        /// The ranges that differ.
        ranges: Vec<BucketRange>,
        /// The sender's objects in them.
        objects: Vec<(Bytes, Siblings)>,
    },
    /// The answer to a [`Sync`](Self::Sync).
    SyncReply {
        /// The replier's objects the sender lacks or holds older.
        objects: Vec<(Bytes, Siblings)>,
    },
}

impl<N> Message<N> {
    /// Whether this is a reply for a [`Coordinator`](crate::Coordinator) (`GetReply`,
    /// `PutReply`, `Ack`); everything else goes to the node's [`Replica`](crate::Replica).
    pub fn for_coordinator(&self) -> bool {
        matches!(
            self,
            Self::GetReply { .. } | Self::PutReply { .. } | Self::Ack { .. }
        )
    }
}

/// How a node identity is written in a [`Message`] (only [`Message::Replicate`]'s hint names
/// a node). Implemented for the integer types, `String` and `SocketAddr`.
pub trait WireNode: Sized {
    /// Appends the encoding.
    fn encode_node(&self, out: &mut Vec<u8>);
    /// Reads one from the front of `input`, advancing it.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] if the bytes are not a valid encoding.
    fn decode_node(input: &mut &[u8]) -> Result<Self, DecodeError>;
}

macro_rules! wire_int {
    ($($t:ty),*) => {$(
        impl WireNode for $t {
            fn encode_node(&self, out: &mut Vec<u8>) {
                put_varint(out, u64::from(*self));
            }
            fn decode_node(input: &mut &[u8]) -> Result<Self, DecodeError> {
                <$t>::try_from(get_varint(input)?).map_err(|_| DecodeError::Invalid { what: "node id" })
            }
        }
    )*};
}
wire_int!(u16, u32, u64);

impl WireNode for String {
    fn encode_node(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.as_bytes());
    }
    fn decode_node(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let bytes = get_bytes(input)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Invalid { what: "node name" })
    }
}

impl WireNode for SocketAddr {
    fn encode_node(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.to_string().as_bytes());
    }
    fn decode_node(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let bytes = get_bytes(input)?;
        std::str::from_utf8(bytes)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(DecodeError::Invalid {
                what: "node address",
            })
    }
}

const GET: u8 = 1;
const GET_REPLY: u8 = 2;
const PUT: u8 = 3;
const PUT_REPLY: u8 = 4;
const REPLICATE: u8 = 5;
const ACK: u8 = 6;
const HINT_REPLAY: u8 = 7;
const HINT_ACK: u8 = 8;
const SYNC: u8 = 9;
const SYNC_REPLY: u8 = 10;

fn put_object(out: &mut Vec<u8>, object: &Siblings) {
    object.encode(out);
}

fn get_object(input: &mut &[u8]) -> Result<Siblings, DecodeError> {
    let (object, used) = Siblings::decode(input)?;
    *input = input.get(used..).ok_or(DecodeError::Truncated)?;
    Ok(object)
}

fn get_key(input: &mut &[u8]) -> Result<Bytes, DecodeError> {
    get_bytes(input).map(Bytes::copy_from_slice)
}

fn put_objects(out: &mut Vec<u8>, objects: &[(Bytes, Siblings)]) {
    put_varint(out, objects.len() as u64);
    for (key, object) in objects {
        put_bytes(out, key);
        put_object(out, object);
    }
}

/// A count of items, each at least `min_size` bytes: at most what the rest of the input can
/// hold, so a forged count cannot make us reserve memory the input does not back.
fn get_len(input: &mut &[u8], min_size: usize) -> Result<usize, DecodeError> {
    let count = get_varint(input)?;
    match usize::try_from(count) {
        Ok(c) if c <= input.len() / min_size.max(1) => Ok(c),
        _ => Err(DecodeError::Invalid { what: "item count" }),
    }
}

fn get_objects(input: &mut &[u8]) -> Result<Vec<(Bytes, Siblings)>, DecodeError> {
    let count = get_len(input, 2)?;
    let mut objects = Vec::with_capacity(count);
    for _ in 0..count {
        let key = get_key(input)?;
        objects.push((key, get_object(input)?));
    }
    Ok(objects)
}

fn get_dot(input: &mut &[u8]) -> Result<Dot, DecodeError> {
    let actor = get_varint(input)?;
    let counter = get_varint(input)?;
    Ok(Dot { actor, counter })
}

fn get_u32(input: &mut &[u8]) -> Result<u32, DecodeError> {
    u32::try_from(get_varint(input)?).map_err(|_| DecodeError::Invalid { what: "bucket" })
}

impl<N: WireNode> Message<N> {
    /// Appends the wire encoding: a tag byte, then the fields (integers as LEB128 varints,
    /// byte strings length-prefixed, versions in their own compact encodings).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Get { op, key } => {
                out.push(GET);
                put_varint(out, *op);
                put_bytes(out, key);
            }
            Self::GetReply { op, object } => {
                out.push(GET_REPLY);
                put_varint(out, *op);
                put_object(out, object);
            }
            Self::Put {
                op,
                key,
                value,
                context,
                timestamp,
            } => {
                out.push(PUT);
                put_varint(out, *op);
                put_bytes(out, key);
                put_bytes(out, value);
                context.encode(out);
                out.extend_from_slice(&timestamp.to_bytes());
            }
            Self::PutReply { op, dot, object } => {
                out.push(PUT_REPLY);
                put_varint(out, *op);
                put_varint(out, dot.actor);
                put_varint(out, dot.counter);
                put_object(out, object);
            }
            Self::Replicate {
                op,
                key,
                object,
                hint,
            } => {
                out.push(REPLICATE);
                put_varint(out, *op);
                put_bytes(out, key);
                put_object(out, object);
                match hint {
                    None => out.push(0),
                    Some(node) => {
                        out.push(1);
                        node.encode_node(out);
                    }
                }
            }
            Self::Ack { op } => {
                out.push(ACK);
                put_varint(out, *op);
            }
            Self::HintReplay { id, key, object } => {
                out.push(HINT_REPLAY);
                put_varint(out, *id);
                put_bytes(out, key);
                put_object(out, object);
            }
            Self::HintAck { id } => {
                out.push(HINT_ACK);
                put_varint(out, *id);
            }
            Self::Sync {
                depth,
                seed,
                ranges,
                objects,
            } => {
                out.push(SYNC);
                out.push(*depth);
                put_varint(out, *seed);
                put_varint(out, ranges.len() as u64);
                for r in ranges {
                    put_varint(out, u64::from(r.start));
                    put_varint(out, u64::from(r.end));
                }
                put_objects(out, objects);
            }
            Self::SyncReply { objects } => {
                out.push(SYNC_REPLY);
                put_objects(out, objects);
            }
        }
    }

    /// The encoding as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes one message that fills `bytes` exactly.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] on an unknown tag, truncated or trailing bytes, or a field out of
    /// range (a version that breaks its invariants, a forged count). Never panics; allocates at
    /// most in proportion to the input.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut input = bytes;
        let message = Self::decode_fields(&mut input)?;
        if input.is_empty() {
            Ok(message)
        } else {
            Err(DecodeError::Trailing)
        }
    }

    fn decode_fields(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let tag = u8::from_be_bytes(get_array(input)?);
        Ok(match tag {
            GET => Self::Get {
                op: get_varint(input)?,
                key: get_key(input)?,
            },
            GET_REPLY => Self::GetReply {
                op: get_varint(input)?,
                object: get_object(input)?,
            },
            PUT => {
                let op = get_varint(input)?;
                let key = get_key(input)?;
                let value = get_key(input)?;
                let (context, used) = VersionVector::decode(input)?;
                *input = input.get(used..).ok_or(DecodeError::Truncated)?;
                let (ts, rest) = input
                    .split_first_chunk::<8>()
                    .ok_or(DecodeError::Truncated)?;
                let timestamp = HlcTimestamp::from_bytes(*ts);
                *input = rest;
                Self::Put {
                    op,
                    key,
                    value,
                    context,
                    timestamp,
                }
            }
            PUT_REPLY => Self::PutReply {
                op: get_varint(input)?,
                dot: get_dot(input)?,
                object: get_object(input)?,
            },
            REPLICATE => {
                let op = get_varint(input)?;
                let key = get_key(input)?;
                let object = get_object(input)?;
                let hint = match u8::from_be_bytes(get_array(input)?) {
                    0 => None,
                    1 => Some(N::decode_node(input)?),
                    _ => return Err(DecodeError::Invalid { what: "hint flag" }),
                };
                Self::Replicate {
                    op,
                    key,
                    object,
                    hint,
                }
            }
            ACK => Self::Ack {
                op: get_varint(input)?,
            },
            HINT_REPLAY => Self::HintReplay {
                id: get_varint(input)?,
                key: get_key(input)?,
                object: get_object(input)?,
            },
            HINT_ACK => Self::HintAck {
                id: get_varint(input)?,
            },
            SYNC => {
                let depth = u8::from_be_bytes(get_array(input)?);
                if depth == 0 || depth > sinew_merkle::antientropy::MAX_DEPTH {
                    return Err(DecodeError::Invalid { what: "tree depth" });
                }
                let seed = get_varint(input)?;
                let count = get_len(input, 2)?;
                let mut ranges = Vec::with_capacity(count);
                for _ in 0..count {
                    let start = get_u32(input)?;
                    let end = get_u32(input)?;
                    if start >= end || ranges.last().is_some_and(|r: &BucketRange| r.end > start) {
                        return Err(DecodeError::Invalid {
                            what: "bucket range",
                        });
                    }
                    ranges.push(BucketRange { start, end });
                }
                Self::Sync {
                    depth,
                    seed,
                    ranges,
                    objects: get_objects(input)?,
                }
            }
            SYNC_REPLY => Self::SyncReply {
                objects: get_objects(input)?,
            },
            other => {
                return Err(DecodeError::UnknownTag {
                    what: "message",
                    tag: u64::from(other),
                });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::version::Policy;

    fn object() -> Siblings {
        let mut o = Siblings::new();
        o.write(
            7,
            &VersionVector::new(),
            HlcTimestamp::from_u64(99),
            Bytes::from_static(b"v"),
        );
        let mut other = Siblings::new();
        other.write(
            8,
            &VersionVector::new(),
            HlcTimestamp::from_u64(98),
            Bytes::from_static(b"w"),
        );
        Policy::Dvv.merge(&mut o, &other);
        o
    }

    fn every_message() -> Vec<Message<u64>> {
        let key = Bytes::from_static(b"key");
        vec![
            Message::Get {
                op: 1,
                key: key.clone(),
            },
            Message::GetReply {
                op: u64::MAX,
                object: object(),
            },
            Message::GetReply {
                op: 2,
                object: Siblings::new(),
            },
            Message::Put {
                op: 3,
                key: key.clone(),
                value: Bytes::from_static(b"value"),
                context: object().context().clone(),
                timestamp: HlcTimestamp::from_u64(12345),
            },
            Message::PutReply {
                op: 4,
                dot: Dot {
                    actor: 7,
                    counter: 1,
                },
                object: object(),
            },
            Message::Replicate {
                op: 5,
                key: key.clone(),
                object: object(),
                hint: Some(3),
            },
            Message::Replicate {
                op: 5,
                key: key.clone(),
                object: object(),
                hint: None,
            },
            Message::Ack { op: 6 },
            Message::HintReplay {
                id: 7,
                key: key.clone(),
                object: object(),
            },
            Message::HintAck { id: 8 },
            Message::Sync {
                depth: 10,
                seed: 42,
                ranges: vec![
                    BucketRange { start: 1, end: 3 },
                    BucketRange { start: 7, end: 8 },
                ],
                objects: vec![
                    (key.clone(), object()),
                    (Bytes::from_static(b"k2"), object()),
                ],
            },
            Message::SyncReply {
                objects: vec![(key, object())],
            },
        ]
    }

    #[test]
    fn every_message_round_trips_and_every_truncation_is_an_error() {
        for m in every_message() {
            let bytes = m.to_bytes();
            assert_eq!(Message::<u64>::decode(&bytes), Ok(m.clone()));
            for cut in 0..bytes.len() {
                assert!(
                    Message::<u64>::decode(&bytes[..cut]).is_err(),
                    "{m:?} cut at {cut}"
                );
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(Message::<u64>::decode(&longer), Err(DecodeError::Trailing));
        }
    }

    #[test]
    fn bad_fields_are_refused() {
        assert!(matches!(
            Message::<u64>::decode(&[0]),
            Err(DecodeError::UnknownTag { tag: 0, .. })
        ));
        // A hint naming a node wider than u16.
        let m = Message::Replicate {
            op: 1,
            key: Bytes::new(),
            object: Siblings::new(),
            hint: Some(70_000u64),
        };
        assert_eq!(
            Message::<u16>::decode(&m.to_bytes()),
            Err(DecodeError::Invalid { what: "node id" })
        );
        // A sync claiming a billion objects in a few bytes.
        let mut forged = vec![SYNC, 10];
        put_varint(&mut forged, 0);
        put_varint(&mut forged, 0);
        put_varint(&mut forged, 1_000_000_000);
        assert_eq!(
            Message::<u64>::decode(&forged),
            Err(DecodeError::Invalid { what: "item count" })
        );
        // Overlapping ranges, and a depth out of bounds.
        let overlapping: Message<u64> = Message::Sync {
            depth: 4,
            seed: 0,
            ranges: vec![
                BucketRange { start: 1, end: 5 },
                BucketRange { start: 3, end: 6 },
            ],
            objects: vec![],
        };
        assert!(Message::<u64>::decode(&overlapping.to_bytes()).is_err());
        assert!(Message::<u64>::decode(&[SYNC, 0, 0, 0, 0]).is_err());
        assert!(Message::<u64>::decode(&[SYNC, 25, 0, 0, 0]).is_err());
    }

    #[test]
    fn node_types_round_trip() {
        let addr: std::net::SocketAddr = "[::1]:7000".parse().unwrap();
        let m = Message::Replicate {
            op: 1,
            key: Bytes::new(),
            object: Siblings::new(),
            hint: Some(addr),
        };
        assert_eq!(Message::decode(&m.to_bytes()), Ok(m));
        let m = Message::Replicate {
            op: 1,
            key: Bytes::new(),
            object: Siblings::new(),
            hint: Some(String::from("node-a")),
        };
        assert_eq!(Message::decode(&m.to_bytes()), Ok(m));
    }

    proptest::proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = Message::<u64>::decode(&bytes);
            let _ = Message::<String>::decode(&bytes);
        }
    }
}
