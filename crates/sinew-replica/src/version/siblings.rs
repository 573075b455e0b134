//! [`Siblings`]: one key's versions as dotted version vectors (a causal context and the
//! dotted values it has not overwritten).

use std::hash::Hasher;

use bytes::Bytes;
use sinew_hash::Xxh3Hasher;

use super::{Dot, HlcTimestamp, VersionVector};
use crate::codec::{bytes_len, get_array, get_bytes, get_count, put_bytes, put_varint, varint_len};
use crate::error::DecodeError;

/// The most siblings a decoded [`Siblings`] may hold. Concurrent writes to one key are kept
/// until a client resolves them, so a key hammered by blind writers can grow siblings (Riak
/// warns from 25 and refuses from 100 by default); a thousand is far past any healthy object.
/// An object grown past this limit still encodes, but its encoding is refused by the decoder:
/// a store should resolve (or cap) siblings before that.
pub const MAX_SIBLINGS: usize = 1024;

/// The seed of [`Siblings::fingerprint`] (the bytes `b"sinewrep"` read big-endian).
pub const FINGERPRINT_SEED: u64 = u64::from_be_bytes(*b"sinewrep");

/// The smallest encoded sibling: a 1-byte actor, a 1-byte counter, an 8-byte timestamp and
/// a 1-byte length; bounds a decoder's allocation by the input's length.
const MIN_SIBLING_LEN: usize = 11;

/// One value of a key, with the write that produced it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Sibling<V = Bytes> {
    /// The write that produced the value (unique: one dot, one value).
    pub dot: Dot,
    /// When it was written, by the coordinator's hybrid logical clock: orders siblings for
    /// last-writer-wins ([`Siblings::keep_newest`]), never for causality.
    pub timestamp: HlcTimestamp,
    /// The value.
    pub value: V,
}

/// A key's versions: its causal context (every write it has seen) and the values of the
/// writes not yet overwritten (siblings when they are concurrent), each named by its
/// [`Dot`]. Riak's dotted version vectors, in the "causal context + dotted values" form of
/// Almeida et al.
///
/// Invariants (kept by every method and checked by every decoder): siblings are sorted by dot
/// with no repeats, and the context covers every sibling's dot.
///
/// ```
/// use sinew_replica::version::{HlcTimestamp, Siblings, VersionVector};
///
/// let ts = HlcTimestamp::from_u64;
/// let mut key: Siblings<&str> = Siblings::new();
/// // Two clients write blind (empty context) through replica 1: both values are kept.
/// key.write(1, &VersionVector::new(), ts(10), "red");
/// key.write(1, &VersionVector::new(), ts(11), "blue");
/// assert_eq!(key.values().collect::<Vec<_>>(), [&"red", &"blue"]);
/// // A client that read both writes "purple" with that context: it replaces exactly them.
/// let seen = key.context().clone();
/// key.write(1, &seen, ts(12), "purple");
/// assert_eq!(key.values().collect::<Vec<_>>(), [&"purple"]);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "SiblingsParts<V>"))]
pub struct Siblings<V = Bytes> {
    context: VersionVector,
    entries: Vec<Sibling<V>>,
}

/// The fields of [`Siblings`] as deserialized, before their invariants are checked.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct SiblingsParts<V> {
    context: VersionVector,
    entries: Vec<Sibling<V>>,
}

#[cfg(feature = "serde")]
impl<V> TryFrom<SiblingsParts<V>> for Siblings<V> {
    type Error = DecodeError;

    fn try_from(parts: SiblingsParts<V>) -> Result<Self, DecodeError> {
        Siblings::from_parts(parts.context, parts.entries)
    }
}

impl<V> Default for Siblings<V> {
    fn default() -> Self {
        Siblings::new()
    }
}

/// The last-writer-wins order of siblings: timestamp, then dot to break ties (dots are unique,
/// so the order is total and every replica picks the same winner).
#[inline]
fn lww_key<V>(s: &Sibling<V>) -> (HlcTimestamp, Dot) {
    (s.timestamp, s.dot)
}

impl<V> Siblings<V> {
    /// No value and nothing seen (a key never written).
    pub const fn new() -> Self {
        Siblings {
            context: VersionVector::new(),
            entries: Vec::new(),
        }
    }

    /// The object made of a context and siblings, checked: the siblings must be sorted by dot
    /// with no repeat, no dot may have counter 0, and the context must cover every dot.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Unsorted`], [`DecodeError::ZeroCounter`] or [`DecodeError::Uncovered`]
    /// naming the broken invariant.
    pub fn from_parts(
        context: VersionVector,
        entries: Vec<Sibling<V>>,
    ) -> Result<Self, DecodeError> {
        let mut prev: Option<Dot> = None;
        for s in &entries {
            check_sibling(&context, prev, s.dot)?;
            prev = Some(s.dot);
        }
        Ok(Siblings { context, entries })
    }

    /// The context and the siblings (sorted by dot).
    pub fn into_parts(self) -> (VersionVector, Vec<Sibling<V>>) {
        (self.context, self.entries)
    }

    /// Every dot this object has seen: its causal history, including the writes it has since
    /// overwritten. A client writes back the context it read, so that its write replaces
    /// exactly what it saw.
    #[inline]
    pub fn context(&self) -> &VersionVector {
        &self.context
    }

    /// The siblings, sorted by dot.
    pub fn iter(&self) -> std::slice::Iter<'_, Sibling<V>> {
        self.entries.iter()
    }

    /// The number of siblings (0 for a key never written, 1 when there is no conflict).
    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no value.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The siblings' values, by dot.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|s| &s.value)
    }

    /// A write coordinated by replica `actor`, carrying the causal `context` the client read
    /// (empty for a blind write): drops exactly the siblings whose dot `context` covers, adds
    /// `value` under the dot `(actor, max(self.context[actor], context[actor]) + 1)`, and
    /// makes the context `self.context ∪ context ∪ {dot}`. Returns the new dot.
    ///
    /// Siblings the client had not seen stay: they are concurrent with this write. This is
    /// correct only when every earlier dot of `actor` for this key is in `self`, that is when
    /// the write is applied at the replica that owns `actor` (as Riak's coordinating vnode
    /// does) and that replica kept its state; the coordinator then ships the resulting
    /// object to the other replicas, which [`merge`](Self::merge) it. Applying a write with
    /// another replica's actor could reuse a dot that names a different write.
    pub fn write(
        &mut self,
        actor: u64,
        context: &VersionVector,
        timestamp: HlcTimestamp,
        value: V,
    ) -> Dot {
        let counter = self
            .context
            .get(actor)
            .max(context.get(actor))
            .saturating_add(1);
        let dot = Dot::new(actor, counter);
        self.entries.retain(|s| !context.contains(s.dot));
        self.context.merge(context);
        self.context.witness(dot);
        self.insert(Sibling {
            dot,
            timestamp,
            value,
        });
        dot
    }

    /// A last-writer-wins write: the object becomes this one value if `(timestamp, dot)` is
    /// greater than every sibling's, and the dot joins the context either way (a losing write
    /// is overwritten, not pending). Returns whether it won; a write already seen (its dot
    /// covered by the context, as on a second delivery) changes nothing and returns `false`.
    ///
    /// An actor's context entry stands for all its dots up to the counter, so each actor must
    /// number its writes in the order of their timestamps (its counter and its HLC both only
    /// move forward, as they do in one coordinator).
    pub fn write_lww(&mut self, dot: Dot, timestamp: HlcTimestamp, value: V) -> bool {
        if dot.counter == 0 || self.context.contains(dot) {
            return false;
        }
        self.context.witness(dot);
        let key = (timestamp, dot);
        if self.entries.iter().any(|s| lww_key(s) >= key) {
            return false;
        }
        self.entries.clear();
        self.entries.push(Sibling {
            dot,
            timestamp,
            value,
        });
        true
    }

    /// Synchronizes with another replica's object (the DVV join): keeps each sibling of
    /// either side unless the other side's context covers its dot and the other side does
    /// not hold it (the other side overwrote it), and unites the contexts. Linear in the
    /// two sizes.
    ///
    /// The result is canonical (siblings sorted by dot, no repeats), so merge is commutative,
    /// associative and idempotent as a value: `a.merge(b)` equals `b.merge(a)`. A dot names
    /// one write, so two objects never hold different values under one dot; if they do (a
    /// caller reused a dot), `self`'s copy is kept.
    pub fn merge(&mut self, other: &Siblings<V>)
    where
        V: Clone,
    {
        let ours = std::mem::take(&mut self.entries);
        let mut merged = Vec::with_capacity(ours.len().max(other.entries.len()));
        let mut theirs = other.entries.iter().peekable();
        for mine in ours {
            // Theirs below mine: kept unless we overwrote them.
            while let Some(t) = theirs.next_if(|t| t.dot < mine.dot) {
                if !self.context.contains(t.dot) {
                    merged.push(t.clone());
                }
            }
            // Mine is kept if they hold it too, or have not seen it.
            let they_hold = theirs.next_if(|t| t.dot == mine.dot).is_some();
            if they_hold || !other.context.contains(mine.dot) {
                merged.push(mine);
            }
        }
        for t in theirs {
            if !self.context.contains(t.dot) {
                merged.push(t.clone());
            }
        }
        self.entries = merged;
        self.context.merge(&other.context);
    }

    /// Whether this object has seen everything `other` has (its context descends `other`'s),
    /// in which case merging `other` into it changes nothing: a replica answering with
    /// `other` is stale and needs repair.
    pub fn descends(&self, other: &Siblings<V>) -> bool {
        self.context.descends(&other.context)
    }

    /// Reduces the object to its newest sibling by `(timestamp, dot)`: the last-writer-wins
    /// resolution. The context is kept, so the dropped writes stay overwritten everywhere
    /// this object is merged.
    pub fn keep_newest(&mut self) {
        if let Some(key) = self.newest().map(lww_key) {
            // Dots are unique: exactly one sibling has this key.
            self.entries.retain(|s| lww_key(s) == key);
        }
    }

    /// The newest sibling by `(timestamp, dot)`, if any.
    pub fn newest(&self) -> Option<&Sibling<V>> {
        self.entries.iter().max_by_key(|s| lww_key(s))
    }

    /// Whether this object has seen the write `dot` (its context covers it), whether it
    /// still holds its value or has overwritten it.
    #[inline]
    pub fn covers(&self, dot: Dot) -> bool {
        self.context.contains(dot)
    }

    /// A 64-bit fingerprint of the versions: the context and each sibling's dot and
    /// timestamp, not the values (a dot names one write, so equal versions mean equal
    /// values). XXH3-64 from sinew-hash under [`FINGERPRINT_SEED`] over the numbers as
    /// little-endian `u64`s, so it is the same in every process and on every platform:
    /// for Merkle anti-entropy, where two replicas compare the fingerprints of their keys.
    pub fn fingerprint(&self) -> u64 {
        let mut h = Xxh3Hasher::with_seed(FINGERPRINT_SEED);
        h.write_u64(self.context.len() as u64);
        for d in self.context.iter() {
            h.write_u64(d.actor);
            h.write_u64(d.counter);
        }
        h.write_u64(self.entries.len() as u64);
        for s in &self.entries {
            h.write_u64(s.dot.actor);
            h.write_u64(s.dot.counter);
            h.write_u64(s.timestamp.as_u64());
        }
        h.finish()
    }

    /// Decodes an object from the front of `bytes`, making each value from its bytes with
    /// `value`; returns it and the number of bytes read. [`decode`](Siblings::decode) and
    /// [`decode_bytes`](Siblings::decode_bytes) are this for [`Bytes`].
    ///
    /// # Errors
    ///
    /// Those of [`VersionVector::decode`] for the context; [`DecodeError::TooMany`] above
    /// [`MAX_SIBLINGS`] siblings; [`DecodeError::Truncated`] for a value longer than the
    /// input left; [`DecodeError::ZeroCounter`], [`DecodeError::Unsorted`] (dots not strictly
    /// increasing) and [`DecodeError::Uncovered`] (a dot outside the context). Never
    /// allocates more than the input's length justifies.
    pub fn decode_with<F>(bytes: &[u8], mut value: F) -> Result<(Self, usize), DecodeError>
    where
        F: FnMut(&[u8]) -> V,
    {
        let mut input = bytes;
        let context = VersionVector::decode_from(&mut input)?;
        let count = get_count(&mut input, "siblings", MAX_SIBLINGS)?;
        let mut entries = Vec::with_capacity(count.min(input.len() / MIN_SIBLING_LEN));
        let mut prev: Option<Dot> = None;
        for _ in 0..count {
            let dot = Dot::decode_from(&mut input)?;
            check_sibling(&context, prev, dot)?;
            let timestamp = HlcTimestamp::from_bytes(get_array(&mut input)?);
            let v = value(get_bytes(&mut input)?);
            entries.push(Sibling {
                dot,
                timestamp,
                value: v,
            });
            prev = Some(dot);
        }
        Ok((Siblings { context, entries }, bytes.len() - input.len()))
    }

    /// Inserts a sibling at its place by dot (replacing one with the same dot).
    fn insert(&mut self, sibling: Sibling<V>) {
        match self.entries.binary_search_by_key(&sibling.dot, |s| s.dot) {
            Ok(i) => {
                if let Some(slot) = self.entries.get_mut(i) {
                    *slot = sibling;
                }
            }
            Err(i) => self.entries.insert(i, sibling),
        }
    }
}

/// The invariants of one sibling's dot after `prev`.
fn check_sibling(context: &VersionVector, prev: Option<Dot>, dot: Dot) -> Result<(), DecodeError> {
    if dot.counter == 0 {
        return Err(DecodeError::ZeroCounter);
    }
    if prev.is_some_and(|p| p >= dot) {
        return Err(DecodeError::Unsorted);
    }
    if !context.contains(dot) {
        return Err(DecodeError::Uncovered);
    }
    Ok(())
}

impl<V: AsRef<[u8]>> Siblings<V> {
    /// Appends the encoding: the context ([`VersionVector::encode`]), a varint sibling count,
    /// then for each sibling by dot its varint actor and counter, its timestamp as 8
    /// big-endian bytes, and its value with a varint length.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        self.context.encode(out);
        put_varint(out, self.entries.len() as u64);
        for s in &self.entries {
            s.dot.encode(out);
            out.extend_from_slice(&s.timestamp.to_bytes());
            put_bytes(out, s.value.as_ref());
        }
    }

    /// The number of bytes [`encode`](Self::encode) writes.
    pub fn encoded_len(&self) -> usize {
        let siblings: usize = self
            .entries
            .iter()
            .map(|s| s.dot.encoded_len() + 8 + bytes_len(s.value.as_ref().len()))
            .sum();
        self.context.encoded_len() + varint_len(self.entries.len() as u64) + siblings
    }
}

impl Siblings<Bytes> {
    /// Decodes an object from the front of `bytes`, copying the values; returns it and the
    /// number of bytes read.
    ///
    /// # Errors
    ///
    /// See [`decode_with`](Siblings::decode_with).
    pub fn decode(bytes: &[u8]) -> Result<(Self, usize), DecodeError> {
        Self::decode_with(bytes, Bytes::copy_from_slice)
    }

    /// Decodes an object from the front of `bytes` without copying: each value is a slice
    /// of `bytes` (sharing its buffer). Returns it and the number of bytes read.
    ///
    /// # Errors
    ///
    /// See [`decode_with`](Siblings::decode_with).
    pub fn decode_bytes(bytes: &Bytes) -> Result<(Self, usize), DecodeError> {
        // Each value is a subslice of `bytes` itself, as `slice_ref` requires.
        Self::decode_with(bytes, |v| bytes.slice_ref(v))
    }

    /// Decodes an object that fills all of `bytes` (copying the values).
    ///
    /// # Errors
    ///
    /// Those of [`decode`](Siblings::decode), and [`DecodeError::Trailing`] if bytes are left.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (s, used) = Self::decode(bytes)?;
        if used == bytes.len() {
            Ok(s)
        } else {
            Err(DecodeError::Trailing)
        }
    }
}

impl<'a, V> IntoIterator for &'a Siblings<V> {
    type Item = &'a Sibling<V>;
    type IntoIter = std::slice::Iter<'a, Sibling<V>>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}
