//! The wire format: compact, versioned binary datagrams.
//!
//! Every datagram is
//!
//! ```text
//! version:u8 (= 1) | label_len:u8 | label bytes | sender address | message*
//! ```
//!
//! and carries one or more messages back to back until its end. Integers that are usually
//! small (sequence numbers, generations, incarnation numbers) are LEB128 varints; addresses are a
//! family tag (4 or 6), the IP octets and a big-endian port. A message is a one-byte tag and its
//! fields:
//!
//! | tag | message | fields |
//! |---|---|---|
//! | 1 | [`Message::Ping`] | seq |
//! | 2 | [`Message::Ack`] | seq |
//! | 3 | [`Message::PingReq`] | seq, target address |
//! | 4 | [`Message::Nack`] | seq |
//! | 5 | [`Message::Alive`] | address, incarnation, metadata (u16 length + bytes) |
//! | 6 | [`Message::Suspect`] | address, incarnation, accuser address, age in ms |
//! | 7 | [`Message::Dead`] | address, incarnation, accuser address |
//! | 8 | [`Message::Left`] | address, incarnation |
//! | 9 | [`Message::SyncDigest`] | reply flag (u8), bucket count (u8), count x u64 |
//! | 10 | [`Message::SyncState`] | address, incarnation, state (u8), metadata |
//!
//! An incarnation is a varint generation followed by a varint number.
//!
//! Decoding is total: [`decode`] returns a [`Datagram`] or a [`DecodeError`] for any byte
//! string, never panics, and allocates at most in proportion to the input's length.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{Buf, BufMut, Bytes, BytesMut};

pub use crate::error::DecodeError;

/// The protocol version this crate speaks (the first byte of every datagram).
pub const PROTOCOL_VERSION: u8 = 1;

/// The longest cluster label a datagram can carry.
pub const MAX_LABEL_LEN: usize = 255;

/// The longest metadata a message can carry (its length is a `u16`).
pub const MAX_METADATA_LEN: usize = u16::MAX as usize;

/// The number of buckets in a [`Message::SyncDigest`].
pub const DIGEST_BUCKETS: usize = 64;

/// Which life of a member, and which version within that life.
///
/// `generation` tells lives apart: a member picks a new, larger one each time it starts (a
/// startup timestamp is the usual choice). `number` starts at 0 in each life and is bumped by the
/// member itself to refute a suspicion or to publish new metadata. Incarnations compare
/// lexicographically, generation first, so a restarted member outranks everything said about its
/// previous life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Incarnation {
    /// Which life: larger for every restart.
    pub generation: u64,
    /// Which version within the life: bumped by the member itself.
    pub number: u32,
}

impl Incarnation {
    /// An incarnation with the given generation and number.
    pub const fn new(generation: u64, number: u32) -> Self {
        Self { generation, number }
    }
}

impl fmt::Display for Incarnation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.generation, self.number)
    }
}

/// A member's state as the membership protocol sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// Answering probes.
    Alive,
    /// Failed a probe; declared dead unless it refutes in time.
    Suspect,
    /// Declared dead after an unrefuted suspicion.
    Dead,
    /// Left the cluster on purpose.
    Left,
}

impl State {
    fn to_u8(self) -> u8 {
        match self {
            State::Alive => 0,
            State::Suspect => 1,
            State::Dead => 2,
            State::Left => 3,
        }
    }

    fn from_u8(v: u8) -> Result<Self, DecodeError> {
        Ok(match v {
            0 => State::Alive,
            1 => State::Suspect,
            2 => State::Dead,
            3 => State::Left,
            other => return Err(DecodeError::BadState(other)),
        })
    }
}

/// One protocol message. A datagram carries one or more.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A direct probe; the receiver answers [`Message::Ack`] with the same `seq`.
    Ping {
        /// The prober's sequence number.
        seq: u32,
    },
    /// The answer to a [`Message::Ping`] (or a relayed answer to a [`Message::PingReq`]).
    Ack {
        /// The sequence number being acknowledged.
        seq: u32,
    },
    /// Asks the receiver to probe `target` and relay the ack (an indirect probe).
    PingReq {
        /// The requester's sequence number, echoed in the relayed ack or nack.
        seq: u32,
        /// The member to probe.
        target: SocketAddr,
    },
    /// Lifeguard: the relay did not hear from the target in time (tells the requester that
    /// the relay itself is alive, so the requester can judge its own health).
    Nack {
        /// The requester's sequence number.
        seq: u32,
    },
    /// Rumour: `addr` is alive at `incarnation`, with this metadata.
    Alive {
        /// The member.
        addr: SocketAddr,
        /// Its incarnation.
        incarnation: Incarnation,
        /// Its metadata.
        metadata: Bytes,
    },
    /// Rumour: `from` suspects `addr` at `incarnation`.
    Suspect {
        /// The suspected member.
        addr: SocketAddr,
        /// The incarnation suspected.
        incarnation: Incarnation,
        /// Who suspects it (Lifeguard counts independent accusers).
        from: SocketAddr,
        /// How long ago, in milliseconds, the suspicion was first raised (as the sender
        /// knows it): a receiver counts its suspicion timeout from then, so every member's
        /// timer runs out at about the same time however late the rumour reached it.
        age_ms: u32,
    },
    /// Rumour: `from` declared `addr` dead at `incarnation`.
    Dead {
        /// The dead member.
        addr: SocketAddr,
        /// The incarnation declared dead.
        incarnation: Incarnation,
        /// Who declared it.
        from: SocketAddr,
    },
    /// Rumour: `addr` left the cluster at `incarnation`.
    Left {
        /// The member that left.
        addr: SocketAddr,
        /// Its final incarnation.
        incarnation: Incarnation,
    },
    /// Anti-entropy: a hash per bucket of the sender's whole membership view. The receiver sends
    /// back [`Message::SyncState`] for every bucket that differs, and its own digest unless
    /// `reply` is set.
    SyncDigest {
        /// Whether this digest answers another.
        reply: bool,
        /// One hash per bucket ([`DIGEST_BUCKETS`] of them).
        buckets: Vec<u64>,
    },
    /// Anti-entropy: one entry of the sender's view, sent for a differing bucket.
    SyncState {
        /// The member.
        addr: SocketAddr,
        /// Its incarnation.
        incarnation: Incarnation,
        /// Its state in the sender's view.
        state: State,
        /// Its metadata (empty unless alive or suspect).
        metadata: Bytes,
    },
}

const TAG_PING: u8 = 1;
const TAG_ACK: u8 = 2;
const TAG_PING_REQ: u8 = 3;
const TAG_NACK: u8 = 4;
const TAG_ALIVE: u8 = 5;
const TAG_SUSPECT: u8 = 6;
const TAG_DEAD: u8 = 7;
const TAG_LEFT: u8 = 8;
const TAG_SYNC_DIGEST: u8 = 9;
const TAG_SYNC_STATE: u8 = 10;

/// A decoded datagram: who sent it, under which cluster label, and its messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// The cluster label the sender belongs to.
    pub label: Bytes,
    /// The sender's advertised address (where replies go).
    pub sender: SocketAddr,
    /// The messages, in order.
    pub messages: Vec<Message>,
}

// ---------------------------------------------------------------------------------------------
// Encoding

// The casts keep the low 7 bits on purpose.
#[allow(clippy::cast_possible_truncation)]
fn put_varint(buf: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        buf.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

fn varint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

fn put_addr(buf: &mut BytesMut, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => {
            buf.put_u8(4);
            buf.put_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            buf.put_u8(6);
            buf.put_slice(&ip.octets());
        }
    }
    buf.put_u16(addr.port());
}

fn addr_len(addr: &SocketAddr) -> usize {
    match addr {
        SocketAddr::V4(_) => 1 + 4 + 2,
        SocketAddr::V6(_) => 1 + 16 + 2,
    }
}

fn put_incarnation(buf: &mut BytesMut, inc: Incarnation) {
    put_varint(buf, inc.generation);
    put_varint(buf, u64::from(inc.number));
}

fn incarnation_len(inc: Incarnation) -> usize {
    varint_len(inc.generation) + varint_len(u64::from(inc.number))
}

fn put_metadata(buf: &mut BytesMut, metadata: &Bytes) {
    // Callers (the member) never build a message with longer metadata; clamp defensively so
    // the length prefix always matches what follows.
    let len = metadata.len().min(MAX_METADATA_LEN);
    buf.put_u16(u16::try_from(len).unwrap_or(u16::MAX));
    buf.put_slice(metadata.get(..len).unwrap_or_default());
}

/// The number of bytes `header` occupies: version, label and sender.
pub fn header_len(label: &[u8], sender: &SocketAddr) -> usize {
    2 + label.len().min(MAX_LABEL_LEN) + addr_len(sender)
}

/// Appends the datagram header (version, label, sender) to `buf`.
///
/// A label longer than [`MAX_LABEL_LEN`] is cut to that length (configuration validation
/// rejects such labels before they get here).
pub fn encode_header(buf: &mut BytesMut, label: &[u8], sender: &SocketAddr) {
    buf.put_u8(PROTOCOL_VERSION);
    let label = label
        .get(..label.len().min(MAX_LABEL_LEN))
        .unwrap_or_default();
    buf.put_u8(u8::try_from(label.len()).unwrap_or(u8::MAX));
    buf.put_slice(label);
    put_addr(buf, sender);
}

impl Message {
    /// The exact number of bytes [`Message::encode`] appends.
    pub fn encoded_len(&self) -> usize {
        1 + match self {
            Message::Ping { seq } | Message::Ack { seq } | Message::Nack { seq } => {
                varint_len(u64::from(*seq))
            }
            Message::PingReq { seq, target } => varint_len(u64::from(*seq)) + addr_len(target),
            Message::Alive {
                addr,
                incarnation,
                metadata,
            } => {
                addr_len(addr)
                    + incarnation_len(*incarnation)
                    + 2
                    + metadata.len().min(MAX_METADATA_LEN)
            }
            Message::Suspect {
                addr,
                incarnation,
                from,
                age_ms,
            } => {
                addr_len(addr)
                    + incarnation_len(*incarnation)
                    + addr_len(from)
                    + varint_len(u64::from(*age_ms))
            }
            Message::Dead {
                addr,
                incarnation,
                from,
            } => addr_len(addr) + incarnation_len(*incarnation) + addr_len(from),
            Message::Left { addr, incarnation } => addr_len(addr) + incarnation_len(*incarnation),
            Message::SyncDigest { buckets, .. } => 2 + 8 * buckets.len().min(255),
            Message::SyncState {
                addr,
                incarnation,
                metadata,
                ..
            } => {
                addr_len(addr)
                    + incarnation_len(*incarnation)
                    + 1
                    + 2
                    + metadata.len().min(MAX_METADATA_LEN)
            }
        }
    }

    /// Appends the message (tag and fields) to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) {
        match self {
            Message::Ping { seq } => {
                buf.put_u8(TAG_PING);
                put_varint(buf, u64::from(*seq));
            }
            Message::Ack { seq } => {
                buf.put_u8(TAG_ACK);
                put_varint(buf, u64::from(*seq));
            }
            Message::Nack { seq } => {
                buf.put_u8(TAG_NACK);
                put_varint(buf, u64::from(*seq));
            }
            Message::PingReq { seq, target } => {
                buf.put_u8(TAG_PING_REQ);
                put_varint(buf, u64::from(*seq));
                put_addr(buf, target);
            }
            Message::Alive {
                addr,
                incarnation,
                metadata,
            } => {
                buf.put_u8(TAG_ALIVE);
                put_addr(buf, addr);
                put_incarnation(buf, *incarnation);
                put_metadata(buf, metadata);
            }
            Message::Suspect {
                addr,
                incarnation,
                from,
                age_ms,
            } => {
                buf.put_u8(TAG_SUSPECT);
                put_addr(buf, addr);
                put_incarnation(buf, *incarnation);
                put_addr(buf, from);
                put_varint(buf, u64::from(*age_ms));
            }
            Message::Dead {
                addr,
                incarnation,
                from,
            } => {
                buf.put_u8(TAG_DEAD);
                put_addr(buf, addr);
                put_incarnation(buf, *incarnation);
                put_addr(buf, from);
            }
            Message::Left { addr, incarnation } => {
                buf.put_u8(TAG_LEFT);
                put_addr(buf, addr);
                put_incarnation(buf, *incarnation);
            }
            Message::SyncDigest { reply, buckets } => {
                buf.put_u8(TAG_SYNC_DIGEST);
                buf.put_u8(u8::from(*reply));
                let n = buckets.len().min(255);
                buf.put_u8(u8::try_from(n).unwrap_or(u8::MAX));
                for b in buckets.iter().take(n) {
                    buf.put_u64(*b);
                }
            }
            Message::SyncState {
                addr,
                incarnation,
                state,
                metadata,
            } => {
                buf.put_u8(TAG_SYNC_STATE);
                put_addr(buf, addr);
                put_incarnation(buf, *incarnation);
                buf.put_u8(state.to_u8());
                put_metadata(buf, metadata);
            }
        }
    }
}

/// Encodes one datagram holding `messages` (no MTU check; see [`Packer`] for that).
pub fn encode(label: &[u8], sender: &SocketAddr, messages: &[Message]) -> Bytes {
    let len = header_len(label, sender) + messages.iter().map(Message::encoded_len).sum::<usize>();
    let mut buf = BytesMut::with_capacity(len);
    encode_header(&mut buf, label, sender);
    for m in messages {
        m.encode(&mut buf);
    }
    buf.freeze()
}

/// Packs messages into datagrams of at most `mtu` bytes each, header included.
///
/// A message that cannot fit in an empty datagram is refused by [`Packer::push`] (the member's
/// configuration validation makes that impossible for the messages it builds).
#[derive(Debug)]
pub struct Packer<'a> {
    label: &'a [u8],
    sender: SocketAddr,
    mtu: usize,
    current: BytesMut,
    messages_in_current: usize,
    done: Vec<Bytes>,
}

impl<'a> Packer<'a> {
    /// A packer for datagrams from `sender` under `label`, each at most `mtu` bytes.
    pub fn new(label: &'a [u8], sender: SocketAddr, mtu: usize) -> Self {
        Self {
            label,
            sender,
            mtu,
            current: BytesMut::new(),
            messages_in_current: 0,
            done: Vec::new(),
        }
    }

    /// Bytes still free in the datagram being filled.
    pub fn remaining(&self) -> usize {
        let used = if self.messages_in_current == 0 {
            header_len(self.label, &self.sender)
        } else {
            self.current.len()
        };
        self.mtu.saturating_sub(used)
    }

    /// How many datagrams this packer has started (closed ones plus a non-empty current one).
    pub fn datagrams(&self) -> usize {
        self.done.len() + usize::from(self.messages_in_current > 0)
    }

    /// Whether the datagram being filled holds any message.
    pub fn has_messages(&self) -> bool {
        self.messages_in_current > 0
    }

    /// Adds `message` to the current datagram if it fits, else to a new one. Returns `false`
    /// (and drops the message) if it would not fit even in an empty datagram.
    pub fn push(&mut self, message: &Message) -> bool {
        let len = message.encoded_len();
        if header_len(self.label, &self.sender) + len > self.mtu {
            return false;
        }
        if len > self.remaining() {
            self.flush();
        }
        if self.messages_in_current == 0 {
            self.current = BytesMut::with_capacity(self.mtu.min(2048));
            encode_header(&mut self.current, self.label, &self.sender);
        }
        message.encode(&mut self.current);
        self.messages_in_current += 1;
        true
    }

    /// Adds `message` only if it fits in the current, non-empty datagram.
    pub fn push_if_fits(&mut self, message: &Message) -> bool {
        if self.messages_in_current == 0 || message.encoded_len() > self.remaining() {
            return false;
        }
        message.encode(&mut self.current);
        self.messages_in_current += 1;
        true
    }

    /// Closes the current datagram (if it holds anything).
    pub fn flush(&mut self) {
        if self.messages_in_current > 0 {
            let buf = std::mem::take(&mut self.current);
            self.done.push(buf.freeze());
            self.messages_in_current = 0;
        }
    }

    /// Closes the current datagram and returns all datagrams.
    pub fn finish(mut self) -> Vec<Bytes> {
        self.flush();
        self.done
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding

fn need(buf: &[u8], n: usize) -> Result<(), DecodeError> {
    if buf.remaining() < n {
        Err(DecodeError::Truncated)
    } else {
        Ok(())
    }
}

fn get_u8(buf: &mut &[u8]) -> Result<u8, DecodeError> {
    need(buf, 1)?;
    Ok(buf.get_u8())
}

fn get_varint(buf: &mut &[u8], max_bits: u32) -> Result<u64, DecodeError> {
    let mut v: u64 = 0;
    let mut shift = 0u32;
    loop {
        let byte = get_u8(buf)?;
        let low = u64::from(byte & 0x7f);
        if shift >= max_bits || (max_bits - shift < 7 && low >> (max_bits - shift) != 0) {
            return Err(DecodeError::VarintOverflow);
        }
        v |= low << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
        shift += 7;
    }
}

fn get_u32_varint(buf: &mut &[u8]) -> Result<u32, DecodeError> {
    let v = get_varint(buf, 32)?;
    u32::try_from(v).map_err(|_| DecodeError::VarintOverflow)
}

fn get_addr(buf: &mut &[u8]) -> Result<SocketAddr, DecodeError> {
    let ip = match get_u8(buf)? {
        4 => {
            need(buf, 4)?;
            let mut o = [0u8; 4];
            buf.copy_to_slice(&mut o);
            IpAddr::V4(Ipv4Addr::from(o))
        }
        6 => {
            need(buf, 16)?;
            let mut o = [0u8; 16];
            buf.copy_to_slice(&mut o);
            IpAddr::V6(Ipv6Addr::from(o))
        }
        other => return Err(DecodeError::BadAddressFamily(other)),
    };
    need(buf, 2)?;
    Ok(SocketAddr::new(ip, buf.get_u16()))
}

fn get_incarnation(buf: &mut &[u8]) -> Result<Incarnation, DecodeError> {
    let generation = get_varint(buf, 64)?;
    let number = get_u32_varint(buf)?;
    Ok(Incarnation { generation, number })
}

fn get_bytes(buf: &mut &[u8], n: usize) -> Result<Bytes, DecodeError> {
    need(buf, n)?;
    let (head, tail) = buf.split_at(n);
    let out = Bytes::copy_from_slice(head);
    *buf = tail;
    Ok(out)
}

fn get_metadata(buf: &mut &[u8]) -> Result<Bytes, DecodeError> {
    need(buf, 2)?;
    let n = usize::from(buf.get_u16());
    get_bytes(buf, n)
}

fn decode_message(buf: &mut &[u8]) -> Result<Message, DecodeError> {
    Ok(match get_u8(buf)? {
        TAG_PING => Message::Ping {
            seq: get_u32_varint(buf)?,
        },
        TAG_ACK => Message::Ack {
            seq: get_u32_varint(buf)?,
        },
        TAG_NACK => Message::Nack {
            seq: get_u32_varint(buf)?,
        },
        TAG_PING_REQ => Message::PingReq {
            seq: get_u32_varint(buf)?,
            target: get_addr(buf)?,
        },
        TAG_ALIVE => Message::Alive {
            addr: get_addr(buf)?,
            incarnation: get_incarnation(buf)?,
            metadata: get_metadata(buf)?,
        },
        TAG_SUSPECT => Message::Suspect {
            addr: get_addr(buf)?,
            incarnation: get_incarnation(buf)?,
            from: get_addr(buf)?,
            age_ms: get_u32_varint(buf)?,
        },
        TAG_DEAD => Message::Dead {
            addr: get_addr(buf)?,
            incarnation: get_incarnation(buf)?,
            from: get_addr(buf)?,
        },
        TAG_LEFT => Message::Left {
            addr: get_addr(buf)?,
            incarnation: get_incarnation(buf)?,
        },
        TAG_SYNC_DIGEST => {
            let reply = get_u8(buf)? != 0;
            let n = get_u8(buf)?;
            if usize::from(n) != DIGEST_BUCKETS {
                return Err(DecodeError::BadDigest(n));
            }
            need(buf, 8 * DIGEST_BUCKETS)?;
            let buckets = (0..DIGEST_BUCKETS).map(|_| buf.get_u64()).collect();
            Message::SyncDigest { reply, buckets }
        }
        TAG_SYNC_STATE => Message::SyncState {
            addr: get_addr(buf)?,
            incarnation: get_incarnation(buf)?,
            state: State::from_u8(get_u8(buf)?)?,
            metadata: get_metadata(buf)?,
        },
        other => return Err(DecodeError::UnknownMessage(other)),
    })
}

/// Decodes one datagram.
///
/// # Errors
///
/// Any [`DecodeError`]: the input is truncated, names another protocol version, or holds a
/// malformed field. Never panics, whatever the input.
pub fn decode(mut buf: &[u8]) -> Result<Datagram, DecodeError> {
    let version = get_u8(&mut buf)?;
    if version != PROTOCOL_VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let label_len = usize::from(get_u8(&mut buf)?);
    let label = get_bytes(&mut buf, label_len)?;
    let sender = get_addr(&mut buf)?;
    let mut messages = Vec::new();
    while buf.has_remaining() {
        messages.push(decode_message(&mut buf)?);
    }
    if messages.is_empty() {
        return Err(DecodeError::Empty);
    }
    Ok(Datagram {
        label,
        sender,
        messages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    #[test]
    fn varint_lengths_match_encoding() {
        for v in [
            0u64,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut b = BytesMut::new();
            put_varint(&mut b, v);
            assert_eq!(b.len(), varint_len(v), "{v}");
            let mut s: &[u8] = &b;
            assert_eq!(get_varint(&mut s, 64), Ok(v));
        }
    }

    #[test]
    fn varint_overflow_is_an_error() {
        // 11 continuation bytes: longer than any u64.
        let mut s: &[u8] = &[0xff; 11];
        assert_eq!(get_varint(&mut s, 64), Err(DecodeError::VarintOverflow));
        // 2^32 does not fit a u32 field.
        let mut b = BytesMut::new();
        put_varint(&mut b, 1 << 32);
        let mut s: &[u8] = &b;
        assert_eq!(get_u32_varint(&mut s), Err(DecodeError::VarintOverflow));
        // The tenth byte of a u64 may only carry the top bit.
        let mut s: &[u8] = &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(get_varint(&mut s, 64), Err(DecodeError::VarintOverflow));
    }

    #[test]
    fn ping_datagram_is_small() {
        let bytes = encode(b"", &a("10.0.0.1:7946"), &[Message::Ping { seq: 5 }]);
        // version + label len + 7-byte IPv4 address + tag + 1-byte seq.
        assert_eq!(bytes.len(), 2 + 7 + 2);
        let d = decode(&bytes);
        assert_eq!(
            d,
            Ok(Datagram {
                label: Bytes::new(),
                sender: a("10.0.0.1:7946"),
                messages: vec![Message::Ping { seq: 5 }],
            })
        );
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert_eq!(decode(&[]), Err(DecodeError::Truncated));
        assert_eq!(decode(&[2]), Err(DecodeError::UnsupportedVersion(2)));
        assert_eq!(decode(&[1, 0, 5]), Err(DecodeError::BadAddressFamily(5)));
        assert_eq!(decode(&[1, 3, b'a']), Err(DecodeError::Truncated));
        assert_eq!(
            decode(&[1, 0, 4, 1, 2, 3, 4, 0, 1]),
            Err(DecodeError::Empty)
        );
        assert_eq!(
            decode(&[1, 0, 4, 1, 2, 3, 4, 0, 1, 99]),
            Err(DecodeError::UnknownMessage(99))
        );
        assert_eq!(
            decode(&[1, 0, 4, 1, 2, 3, 4, 0, 1, TAG_SYNC_DIGEST, 0, 3]),
            Err(DecodeError::BadDigest(3))
        );
        // A metadata length larger than the rest of the datagram.
        let mut b = BytesMut::new();
        encode_header(&mut b, b"", &a("1.2.3.4:1"));
        b.put_u8(TAG_ALIVE);
        put_addr(&mut b, &a("1.2.3.4:2"));
        put_incarnation(&mut b, Incarnation::new(1, 0));
        b.put_u16(60_000);
        assert_eq!(decode(&b), Err(DecodeError::Truncated));
    }

    #[test]
    fn packer_respects_mtu() {
        let sender = a("[::1]:7946");
        let mut p = Packer::new(b"cluster-a", sender, 200);
        let meta = Bytes::from(vec![7u8; 50]);
        let msgs: Vec<Message> = (0..20u16)
            .map(|i| Message::Alive {
                addr: a(&format!("10.0.0.{}:{}", i, 1000 + i)),
                incarnation: Incarnation::new(u64::from(i), 1),
                metadata: meta.clone(),
            })
            .collect();
        for m in &msgs {
            assert!(p.push(m));
        }
        let too_big = Message::Alive {
            addr: sender,
            incarnation: Incarnation::default(),
            metadata: Bytes::from(vec![0u8; 300]),
        };
        assert!(!p.push(&too_big));
        let datagrams = p.finish();
        assert!(datagrams.len() > 1);
        let mut decoded = Vec::new();
        for d in &datagrams {
            assert!(d.len() <= 200, "{}", d.len());
            let dg = decode(d).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&dg.label[..], b"cluster-a");
            decoded.extend(dg.messages);
        }
        assert_eq!(decoded, msgs);
    }
}
