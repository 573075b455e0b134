//! The sans-io exchange: [`Reconciler`], [`Responder`] and their [`Message`]s (the protocol
//! and its encoding are in the [module docs](super)).

use super::tree::{AntiEntropyTree, BucketRange, Digest128, MAX_DEPTH, to_ranges};
use crate::error::{DecodeError, ReconcileError};
use std::fmt;

/// The default limit on the candidates of one round (see the
/// [module docs](super#memory-and-a-dishonest-peer)):
/// 65,536, enough for 32,768 differing nodes on one level, about 2.5 MiB of memory per side.
pub const DEFAULT_MAX_CANDIDATES: usize = 1 << 16;

const MAGIC: u8 = 0xAE;
const KIND_DIGESTS: u8 = 1;
const KIND_DIFF: u8 = 2;
const HEADER_LEN: usize = 16;

/// A reconciliation message (see the [module docs](super#byte-encoding-version-1-stable) for
/// the encoding).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// The reconciler's digests of this level's candidates.
    Digests {
        /// The sender's tree depth.
        depth: u8,
        /// The sender's tree seed.
        seed: u64,
        /// The level of the candidates.
        level: u8,
        /// One digest per candidate, in candidate order.
        digests: Vec<Digest128>,
    },
    /// The responder's verdict: which candidates differ.
    Diff {
        /// The sender's tree depth.
        depth: u8,
        /// The sender's tree seed.
        seed: u64,
        /// The level of the candidates.
        level: u8,
        /// One flag per candidate, set where the digests differ.
        differs: DiffBits,
    },
}

/// The flags of a [`Message::Diff`], one per candidate, packed eight to a byte (bit `i` of the
/// set is bit `i % 8`, least significant first, of byte `i / 8`) as on the wire, so a decoded
/// `Diff` takes no more memory than its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DiffBits {
    /// `len.div_ceil(8)` bytes; the unused high bits of the last one are zero.
    bytes: Vec<u8>,
    len: usize,
}

impl DiffBits {
    /// The number of flags.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no flags.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Flag `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<bool> {
        if i >= self.len {
            return None;
        }
        self.bytes.get(i / 8).map(|b| b >> (i % 8) & 1 == 1)
    }

    /// The flags in order.
    pub fn iter(&self) -> impl Iterator<Item = bool> + '_ {
        (0..self.len).map(|i| self.get(i).unwrap_or(false))
    }

    /// The number of flags set.
    pub fn count_ones(&self) -> usize {
        self.bytes.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// The packed bytes, as encoded.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl FromIterator<bool> for DiffBits {
    fn from_iter<I: IntoIterator<Item = bool>>(iter: I) -> Self {
        let mut bits = Self::default();
        for flag in iter {
            if bits.len % 8 == 0 {
                bits.bytes.push(0);
            }
            if let Some(last) = bits.bytes.last_mut() {
                *last |= u8::from(flag) << (bits.len % 8);
            }
            bits.len += 1;
        }
        bits
    }
}

impl From<Vec<bool>> for DiffBits {
    fn from(flags: Vec<bool>) -> Self {
        flags.into_iter().collect()
    }
}

impl Message {
    /// The encoding.
    pub fn encode(&self) -> Vec<u8> {
        let (kind, depth, seed, level, count) = match self {
            Self::Digests {
                depth,
                seed,
                level,
                digests,
            } => (KIND_DIGESTS, *depth, *seed, *level, digests.len()),
            Self::Diff {
                depth,
                seed,
                level,
                differs,
            } => (KIND_DIFF, *depth, *seed, *level, differs.len()),
        };
        let mut out = Vec::with_capacity(HEADER_LEN + 16 * count);
        out.extend_from_slice(&[MAGIC, kind, depth, level]);
        out.extend_from_slice(&seed.to_le_bytes());
        // At most 2^24 candidates by construction.
        out.extend_from_slice(&u32::try_from(count).unwrap_or(u32::MAX).to_le_bytes());
        match self {
            Self::Digests { digests, .. } => {
                for d in digests {
                    out.extend_from_slice(&d.to_le_bytes());
                }
            }
            Self::Diff { differs, .. } => out.extend_from_slice(differs.as_bytes()),
        }
        out
    }

    /// Decodes a message.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] for anything but a well-formed version-1 message.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (header, body) = bytes
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(DecodeError::Truncated)?;
        let [
            magic,
            kind,
            depth,
            level,
            s0,
            s1,
            s2,
            s3,
            s4,
            s5,
            s6,
            s7,
            c0,
            c1,
            c2,
            c3,
        ] = *header;
        if magic != MAGIC {
            return Err(DecodeError::UnknownTag(magic));
        }
        if depth == 0 || depth > MAX_DEPTH {
            return Err(DecodeError::Invalid("depth out of range"));
        }
        if level == 0 || level > depth {
            return Err(DecodeError::Invalid("level out of range"));
        }
        let seed = u64::from_le_bytes([s0, s1, s2, s3, s4, s5, s6, s7]);
        let count = u32::from_le_bytes([c0, c1, c2, c3]);
        if u64::from(count) > 1u64 << level {
            return Err(DecodeError::Invalid(
                "more candidates than the level has nodes",
            ));
        }
        let count = count as usize;
        let need = match kind {
            KIND_DIGESTS => count * 16,
            KIND_DIFF => count.div_ceil(8),
            other => return Err(DecodeError::Invalid(kind_name(other))),
        };
        if body.len() < need {
            return Err(DecodeError::Truncated);
        }
        if body.len() > need {
            return Err(DecodeError::TrailingBytes);
        }
        if kind == KIND_DIGESTS {
            let digests = body
                .chunks_exact(16)
                .filter_map(|c| <[u8; 16]>::try_from(c).ok())
                .map(u128::from_le_bytes)
                .collect();
            return Ok(Self::Digests {
                depth,
                seed,
                level,
                digests,
            });
        }
        if !count.is_multiple_of(8) && body.last().is_some_and(|&b| b >> (count % 8) != 0) {
            return Err(DecodeError::Invalid("padding bits are not zero"));
        }
        let differs = DiffBits {
            bytes: body.to_vec(),
            len: count,
        };
        Ok(Self::Diff {
            depth,
            seed,
            level,
            differs,
        })
    }
}

fn kind_name(_kind: u8) -> &'static str {
    "unknown message kind"
}

/// The state both sides share: the level and candidates of the current round.
#[derive(Debug, Clone)]
struct Walk {
    level: u8,
    candidates: Vec<u32>,
    result: Option<Vec<BucketRange>>,
    rounds: u32,
    bytes_sent: u64,
    bytes_received: u64,
    /// The most candidates a round may have (at least 2, the candidates of level 1).
    limit: usize,
}

impl Walk {
    fn new(limit: usize) -> Self {
        Self {
            level: 1,
            candidates: vec![0, 1],
            result: None,
            rounds: 0,
            bytes_sent: 0,
            bytes_received: 0,
            limit: limit.max(2),
        }
    }

    /// Takes the verdict on this level's candidates; finishes or moves to the next level.
    /// Checks the next level's candidates against the limit first, so that a rejected verdict
    /// leaves the walk unchanged.
    fn advance(&mut self, depth: u8, differs: &DiffBits) -> Result<(), ReconcileError> {
        if self.level < depth {
            let next = differs.count_ones().saturating_mul(2);
            if next > self.limit {
                return Err(ReconcileError::TooManyDifferences {
                    level: self.level + 1,
                    candidates: next,
                    limit: self.limit,
                });
            }
        }
        self.rounds += 1;
        let differing = self
            .candidates
            .iter()
            .zip(differs.iter())
            .filter(|(_, d)| *d)
            .map(|(&c, _)| c);
        if self.level >= depth {
            self.result = Some(to_ranges(differing));
            return Ok(());
        }
        let next: Vec<u32> = differing.flat_map(|c| [2 * c, 2 * c + 1]).collect();
        if next.is_empty() {
            self.result = Some(Vec::new());
        } else {
            self.candidates = next;
            self.level += 1;
        }
        Ok(())
    }

    /// A concise `Debug` for the side that owns the walk: counts, not the candidates.
    fn debug(
        &self,
        f: &mut fmt::Formatter<'_>,
        name: &str,
        tree: &AntiEntropyTree,
        awaiting: Option<bool>,
    ) -> fmt::Result {
        let mut d = f.debug_struct(name);
        d.field("depth", &tree.depth())
            .field("seed", &format_args!("{:#x}", tree.seed()))
            .field("level", &self.level)
            .field("candidates", &self.candidates.len())
            .field("limit", &self.limit)
            .field("rounds", &self.rounds);
        if let Some(awaiting) = awaiting {
            d.field("awaiting", &awaiting);
        }
        d.field("done", &self.result.is_some())
            .field("bytes_sent", &self.bytes_sent)
            .field("bytes_received", &self.bytes_received)
            .finish()
    }

    fn check(&self, level: u8, count: usize) -> Result<(), ReconcileError> {
        if self.result.is_some() {
            return Err(ReconcileError::Unexpected("the exchange has finished"));
        }
        if level != self.level {
            return Err(ReconcileError::Unexpected("message for another level"));
        }
        if count != self.candidates.len() {
            return Err(ReconcileError::Unexpected("wrong number of candidates"));
        }
        Ok(())
    }
}

/// What the [`Reconciler`] does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send these bytes to the responder and pass its reply to
    /// [`Reconciler::receive`].
    Send(Vec<u8>),
    /// The exchange is over: these bucket ranges differ (empty if the trees are equal).
    Done(Vec<BucketRange>),
}

/// The side that starts a reconciliation. Sans-io: it makes bytes to send and takes bytes
/// received; moving them is up to you (TCP, HTTP, a message queue, a function call).
///
/// Each round holds at most [`DEFAULT_MAX_CANDIDATES`] candidates (or the limit given to
/// [`with_limit`](Self::with_limit)), so a dishonest responder cannot make it allocate more
/// (see the [module docs](super#memory-and-a-dishonest-peer)).
///
/// The ranges are exact for trees that are not written during the exchange; a write that
/// lands during it may be missed (see the
/// [module docs](super#concurrent-writes)).
///
/// # Examples
///
/// ```
/// use sinew_merkle::AntiEntropyTree;
/// use sinew_merkle::antientropy::{Reconciler, Responder, Step};
///
/// let local = AntiEntropyTree::new(10)?;
/// let remote = AntiEntropyTree::new(10)?;
/// for i in 0..1000u32 {
///     local.insert(i.to_be_bytes(), 1);
///     if i != 7 {
///         remote.insert(i.to_be_bytes(), 1); // remote lost key 7
///     }
/// }
/// let mut reconciler = Reconciler::new(&local);
/// let mut responder = Responder::new(&remote);
/// let mut message = reconciler.start();
/// let ranges = loop {
///     let reply = responder.respond(&message)?; // over the network, in real life
///     match reconciler.receive(&reply)? {
///         Step::Send(next) => message = next,
///         Step::Done(ranges) => break ranges,
///     }
/// };
/// assert_eq!(ranges.len(), 1);
/// assert!(ranges[0].contains(local.bucket_of(7u32.to_be_bytes())));
/// assert_eq!(responder.differences(), Some(&ranges[..]));
/// assert_eq!(reconciler.rounds(), 10);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Reconciler<'a> {
    tree: &'a AntiEntropyTree,
    walk: Walk,
    awaiting: bool,
}

impl fmt::Debug for Reconciler<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.walk
            .debug(f, "Reconciler", self.tree, Some(self.awaiting))
    }
}

impl<'a> Reconciler<'a> {
    /// A reconciler over the local tree, with at most [`DEFAULT_MAX_CANDIDATES`] candidates
    /// per round.
    pub fn new(tree: &'a AntiEntropyTree) -> Self {
        Self::with_limit(tree, DEFAULT_MAX_CANDIDATES)
    }

    /// A reconciler that holds at most `max_candidates` candidates in a round (at least 2, the
    /// nodes of level 1; smaller values count as 2). A round that would need more fails with
    /// [`ReconcileError::TooManyDifferences`]. Memory is about 40 bytes per candidate.
    pub fn with_limit(tree: &'a AntiEntropyTree, max_candidates: usize) -> Self {
        Self {
            tree,
            walk: Walk::new(max_candidates),
            awaiting: false,
        }
    }

    /// The first message: the digests of level 1.
    pub fn start(&mut self) -> Vec<u8> {
        self.digests_message()
    }

    fn digests_message(&mut self) -> Vec<u8> {
        let digests = self
            .tree
            .node_digests(self.walk.level, &self.walk.candidates);
        let bytes = Message::Digests {
            depth: self.tree.depth(),
            seed: self.tree.seed(),
            level: self.walk.level,
            digests,
        }
        .encode();
        self.walk.bytes_sent += bytes.len() as u64;
        self.awaiting = true;
        bytes
    }

    /// Takes the responder's reply: the next message to send, or the differing ranges.
    ///
    /// # Errors
    ///
    /// [`ReconcileError`] if the reply does not decode, comes from an incompatible tree, or is
    /// not the reply to the last message sent, and [`ReconcileError::TooManyDifferences`] if
    /// the next round would exceed the candidate limit. The reconciler is unchanged by a
    /// rejected reply.
    pub fn receive(&mut self, reply: &[u8]) -> Result<Step, ReconcileError> {
        let message = Message::decode(reply)?;
        let Message::Diff {
            depth,
            seed,
            level,
            differs,
        } = message
        else {
            return Err(ReconcileError::Unexpected("expected a Diff message"));
        };
        self.tree.check_compatible(depth, seed)?;
        if !self.awaiting {
            return Err(ReconcileError::Unexpected("no message is awaiting a reply"));
        }
        self.walk.check(level, differs.len())?;
        self.walk.advance(self.tree.depth(), &differs)?;
        self.walk.bytes_received += reply.len() as u64;
        self.awaiting = false;
        match &self.walk.result {
            Some(ranges) => Ok(Step::Done(ranges.clone())),
            None => Ok(Step::Send(self.digests_message())),
        }
    }

    /// The differing ranges, once the exchange is over.
    pub fn differences(&self) -> Option<&[BucketRange]> {
        self.walk.result.as_deref()
    }

    /// Round trips completed.
    pub fn rounds(&self) -> u32 {
        self.walk.rounds
    }

    /// Bytes this side has sent.
    pub fn bytes_sent(&self) -> u64 {
        self.walk.bytes_sent
    }

    /// Bytes this side has received.
    pub fn bytes_received(&self) -> u64 {
        self.walk.bytes_received
    }
}

/// The side that answers a [`Reconciler`]. It learns the same differing ranges, so both
/// replicas can repair.
///
/// Like the reconciler, it holds at most [`DEFAULT_MAX_CANDIDATES`] candidates per round (or
/// the limit given to [`with_limit`](Self::with_limit)), whatever digests a dishonest
/// reconciler sends; both sides must allow the same number for an honest exchange to pass.
/// The ranges are exact for trees that are not written during the exchange.
#[derive(Clone)]
pub struct Responder<'a> {
    tree: &'a AntiEntropyTree,
    walk: Walk,
}

impl fmt::Debug for Responder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.walk.debug(f, "Responder", self.tree, None)
    }
}

impl<'a> Responder<'a> {
    /// A responder over the local tree, with at most [`DEFAULT_MAX_CANDIDATES`] candidates per
    /// round.
    pub fn new(tree: &'a AntiEntropyTree) -> Self {
        Self::with_limit(tree, DEFAULT_MAX_CANDIDATES)
    }

    /// A responder that holds at most `max_candidates` candidates in a round (at least 2), as
    /// [`Reconciler::with_limit`].
    pub fn with_limit(tree: &'a AntiEntropyTree, max_candidates: usize) -> Self {
        Self {
            tree,
            walk: Walk::new(max_candidates),
        }
    }

    /// Answers one message from the reconciler.
    ///
    /// # Errors
    ///
    /// [`ReconcileError`] if the message does not decode, comes from an incompatible tree, or
    /// is out of turn, and [`ReconcileError::TooManyDifferences`] if the next round would
    /// exceed the candidate limit (no reply is made). The responder is unchanged by a rejected
    /// message.
    pub fn respond(&mut self, message: &[u8]) -> Result<Vec<u8>, ReconcileError> {
        let decoded = Message::decode(message)?;
        let Message::Digests {
            depth,
            seed,
            level,
            digests,
        } = decoded
        else {
            return Err(ReconcileError::Unexpected("expected a Digests message"));
        };
        self.tree.check_compatible(depth, seed)?;
        self.walk.check(level, digests.len())?;
        let ours = self.tree.node_digests(level, &self.walk.candidates);
        let differs: DiffBits = ours.iter().zip(&digests).map(|(a, b)| a != b).collect();
        self.walk.advance(self.tree.depth(), &differs)?;
        let reply = Message::Diff {
            depth: self.tree.depth(),
            seed: self.tree.seed(),
            level,
            differs,
        }
        .encode();
        self.walk.bytes_received += message.len() as u64;
        self.walk.bytes_sent += reply.len() as u64;
        Ok(reply)
    }

    /// The differing ranges, once the exchange is over.
    pub fn differences(&self) -> Option<&[BucketRange]> {
        self.walk.result.as_deref()
    }

    /// Whether the exchange is over.
    pub fn is_done(&self) -> bool {
        self.walk.result.is_some()
    }

    /// Round trips completed.
    pub fn rounds(&self) -> u32 {
        self.walk.rounds
    }

    /// Bytes this side has sent.
    pub fn bytes_sent(&self) -> u64 {
        self.walk.bytes_sent
    }

    /// Bytes this side has received.
    pub fn bytes_received(&self) -> u64 {
        self.walk.bytes_received
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)] // tests fail loudly
mod tests {
    use super::*;

    #[cfg(not(sinew_loom))] // the tree's atomics are loom's, usable only inside a model
    #[test]
    fn debug_is_concise() {
        let t = AntiEntropyTree::new(20).unwrap();
        let mut r = Reconciler::new(&t);
        let _ = r.start();
        let text = format!("{r:?} {:?}", Responder::new(&t));
        assert!(text.len() < 400, "{text}");
        assert!(
            text.starts_with("Reconciler { depth: 20, seed: 0x7369") && text.contains("Responder"),
            "{text}"
        );
    }

    #[test]
    fn messages_round_trip_and_reject_garbage() {
        let m = Message::Diff {
            depth: 5,
            seed: 9,
            level: 4,
            differs: vec![
                true, false, true, true, false, false, false, false, true, false,
            ]
            .into(),
        };
        let bytes = m.encode();
        assert_eq!(bytes.len(), 16 + 2);
        assert_eq!(bytes[16..], [0b0000_1101, 0b0000_0001]);
        if let Message::Diff { differs, .. } = &m {
            assert_eq!((differs.len(), differs.count_ones()), (10, 4));
            assert_eq!(differs.get(8), Some(true));
            assert_eq!(differs.get(10), None);
            assert_eq!(
                differs.iter().collect::<Vec<_>>(),
                [
                    true, false, true, true, false, false, false, false, true, false
                ]
            );
        }
        assert_eq!(Message::decode(&bytes), Ok(m));
        let mut padded = bytes.clone();
        if let Some(last) = padded.last_mut() {
            *last |= 0x80;
        }
        assert!(Message::decode(&padded).is_err());
        let d = Message::Digests {
            depth: 5,
            seed: 9,
            level: 2,
            digests: vec![1, u128::MAX, 3],
        };
        let bytes = d.encode();
        assert_eq!(Message::decode(&bytes), Ok(d));
        assert_eq!(Message::decode(&bytes[..20]), Err(DecodeError::Truncated));
        assert_eq!(Message::decode(&[]), Err(DecodeError::Truncated));
        let mut too_many = bytes.clone();
        too_many[12] = 5; // 5 candidates at level 2, which has 4 nodes
        assert!(Message::decode(&too_many).is_err());
        let mut huge = bytes;
        huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Message::decode(&huge).is_err());
    }
}
