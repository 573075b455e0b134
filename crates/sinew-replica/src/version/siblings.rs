//! [`Siblings`]: one key's versions as dotted version vectors (a causal context and the
//! dotted values it has not overwritten).

use std::fmt;
use std::hash::Hasher;
use std::sync::Arc;

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
///
/// Cloning is cheap: the data sits behind a shared pointer, so a clone (an object fanned out
/// to `n` replicas, or returned by a [`MemoryStore`](crate::MemoryStore)'s `get`) allocates
/// nothing and copies no value. A clone is copied on its first change, and only if it is
/// still shared (copy on write); [`new`](Self::new) allocates nothing either.
pub struct Siblings<V = Bytes> {
    /// `None` for the object never written (empty context, so no siblings either): `new`
    /// and decoding a missing key then allocate nothing.
    inner: Option<Arc<Inner<V>>>,
}

/// The data of a written [`Siblings`], shared between clones.
#[derive(Clone)]
struct Inner<V> {
    context: VersionVector,
    entries: Vec<Sibling<V>>,
}

/// The context of the object never written.
static EMPTY_CONTEXT: VersionVector = VersionVector::new();

impl<V> Clone for Siblings<V> {
    fn clone(&self) -> Self {
        Siblings {
            inner: self.inner.clone(),
        }
    }
}

impl<V: PartialEq> PartialEq for Siblings<V> {
    /// By value; two clones of one object are equal without comparing (as for an `Arc` of
    /// an `Eq` type, a value is taken to equal itself).
    fn eq(&self, other: &Self) -> bool {
        if let (Some(a), Some(b)) = (&self.inner, &other.inner)
            && Arc::ptr_eq(a, b)
        {
            return true;
        }
        self.context() == other.context() && self.entries() == other.entries()
    }
}

impl<V: Eq> Eq for Siblings<V> {}

impl<V: fmt::Debug> fmt::Debug for Siblings<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Siblings")
            .field("context", self.context())
            .field("entries", &self.entries())
            .finish()
    }
}

/// [`Siblings`] as serialized: a struct of its context and siblings.
#[cfg(feature = "serde")]
#[derive(serde::Serialize)]
#[serde(rename = "Siblings")]
struct SiblingsRef<'a, V> {
    context: &'a VersionVector,
    entries: &'a [Sibling<V>],
}

#[cfg(feature = "serde")]
impl<V: serde::Serialize> serde::Serialize for Siblings<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SiblingsRef {
            context: self.context(),
            entries: self.entries(),
        }
        .serialize(serializer)
    }
}

/// The fields of [`Siblings`] as deserialized, before their invariants are checked.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct SiblingsParts<V> {
    context: VersionVector,
    entries: Vec<Sibling<V>>,
}

#[cfg(feature = "serde")]
impl<'de, V: serde::Deserialize<'de>> serde::Deserialize<'de> for Siblings<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let parts = SiblingsParts::deserialize(deserializer)?;
        Siblings::from_parts(parts.context, parts.entries).map_err(serde::de::Error::custom)
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
        Siblings { inner: None }
    }

    /// The object of a checked context and siblings.
    fn from_checked(context: VersionVector, entries: Vec<Sibling<V>>) -> Self {
        // An empty context covers no dot, so there are no siblings either.
        if context.is_empty() {
            return Siblings::new();
        }
        Siblings {
            inner: Some(Arc::new(Inner { context, entries })),
        }
    }

    /// The siblings, sorted by dot.
    fn entries(&self) -> &[Sibling<V>] {
        self.inner.as_ref().map_or(&[], |i| &i.entries)
    }

    /// The data, to change: copied first if a clone shares it (copy on write), with room
    /// for the sibling a write adds.
    fn make_mut(&mut self) -> &mut Inner<V>
    where
        V: Clone,
    {
        let inner = self.inner.get_or_insert_with(|| {
            Arc::new(Inner {
                context: VersionVector::new(),
                entries: Vec::new(),
            })
        });
        if Arc::get_mut(inner).is_none() {
            let mut entries = Vec::with_capacity(inner.entries.len() + 1);
            entries.extend_from_slice(&inner.entries);
            *inner = Arc::new(Inner {
                context: inner.context.clone(),
                entries,
            });
        }
        Arc::make_mut(inner)
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
        Ok(Siblings::from_checked(context, entries))
    }

    /// The context and the siblings (sorted by dot); copied if a clone shares them.
    pub fn into_parts(self) -> (VersionVector, Vec<Sibling<V>>)
    where
        V: Clone,
    {
        match self.inner {
            Some(inner) => {
                let inner = Arc::unwrap_or_clone(inner);
                (inner.context, inner.entries)
            }
            None => (VersionVector::new(), Vec::new()),
        }
    }

    /// Every dot this object has seen: its causal history, including the writes it has since
    /// overwritten. A client writes back the context it read, so that its write replaces
    /// exactly what it saw.
    #[inline]
    pub fn context(&self) -> &VersionVector {
        self.inner.as_ref().map_or(&EMPTY_CONTEXT, |i| &i.context)
    }

    /// The siblings, sorted by dot.
    pub fn iter(&self) -> std::slice::Iter<'_, Sibling<V>> {
        self.entries().iter()
    }

    /// The number of siblings (0 for a key never written, 1 when there is no conflict).
    #[inline]
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether there is no value.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    /// The siblings' values, by dot.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries().iter().map(|s| &s.value)
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
    ) -> Dot
    where
        V: Clone,
    {
        let counter = self
            .context()
            .get(actor)
            .max(context.get(actor))
            .saturating_add(1);
        let dot = Dot::new(actor, counter);
        let inner = self.make_mut();
        inner.entries.retain(|s| !context.contains(s.dot));
        inner.context.merge(context);
        inner.context.witness(dot);
        inner.insert(Sibling {
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
    pub fn write_lww(&mut self, dot: Dot, timestamp: HlcTimestamp, value: V) -> bool
    where
        V: Clone,
    {
        if dot.counter == 0 || self.context().contains(dot) {
            return false;
        }
        let inner = self.make_mut();
        inner.context.witness(dot);
        let key = (timestamp, dot);
        if inner.entries.iter().any(|s| lww_key(s) >= key) {
            return false;
        }
        inner.entries.clear();
        inner.entries.push(Sibling {
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
        // Merging the empty object, or an object with itself, changes nothing; merging into
        // the empty object gives the other (shared, not copied).
        let Some(theirs) = &other.inner else {
            return;
        };
        let Some(mine) = &mut self.inner else {
            *self = other.clone();
            return;
        };
        if Arc::ptr_eq(mine, theirs) {
            return;
        }
        match Arc::get_mut(mine) {
            Some(mine) => {
                let ours = std::mem::take(&mut mine.entries);
                mine.entries = join(ours.len(), ours, &mine.context, theirs);
                mine.context.merge(&theirs.context);
            }
            // Shared: build the result beside it rather than copy it first.
            None => {
                let entries = join(
                    mine.entries.len(),
                    mine.entries.iter().cloned(),
                    &mine.context,
                    theirs,
                );
                let mut context = mine.context.clone();
                context.merge(&theirs.context);
                *mine = Arc::new(Inner { context, entries });
            }
        }
    }

    /// Whether this object has seen everything `other` has (its context descends `other`'s),
    /// in which case merging `other` into it changes nothing: a replica answering with
    /// `other` is stale and needs repair.
    pub fn descends(&self, other: &Siblings<V>) -> bool {
        self.context().descends(other.context())
    }

    /// Reduces the object to its newest sibling by `(timestamp, dot)`: the last-writer-wins
    /// resolution. The context is kept, so the dropped writes stay overwritten everywhere
    /// this object is merged.
    pub fn keep_newest(&mut self)
    where
        V: Clone,
    {
        // One sibling or none: nothing to drop, and nothing to copy.
        if self.len() < 2 {
            return;
        }
        if let Some(key) = self.newest().map(lww_key) {
            // Dots are unique: exactly one sibling has this key.
            self.make_mut().entries.retain(|s| lww_key(s) == key);
        }
    }

    /// The newest sibling by `(timestamp, dot)`, if any.
    pub fn newest(&self) -> Option<&Sibling<V>> {
        self.entries().iter().max_by_key(|s| lww_key(s))
    }

    /// Whether this object has seen the write `dot` (its context covers it), whether it
    /// still holds its value or has overwritten it.
    #[inline]
    pub fn covers(&self, dot: Dot) -> bool {
        self.context().contains(dot)
    }

    /// A 64-bit fingerprint of the versions: the context and each sibling's dot and
    /// timestamp, not the values (a dot names one write, so equal versions mean equal
    /// values). XXH3-64 from sinew-hash under [`FINGERPRINT_SEED`] over the numbers as
    /// little-endian `u64`s, so it is the same in every process and on every platform:
    /// for Merkle anti-entropy, where two replicas compare the fingerprints of their keys.
    pub fn fingerprint(&self) -> u64 {
        let mut h = Xxh3Hasher::with_seed(FINGERPRINT_SEED);
        h.write_u64(self.context().len() as u64);
        for d in self.context().iter() {
            h.write_u64(d.actor);
            h.write_u64(d.counter);
        }
        h.write_u64(self.len() as u64);
        for s in self {
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
        Ok((
            Siblings::from_checked(context, entries),
            bytes.len() - input.len(),
        ))
    }
}

impl<V> Inner<V> {
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

/// The siblings of the DVV join of `ours` (sorted by dot, `len` of them, under
/// `our_context`) and `theirs`: each sibling of either side is kept unless the other side's
/// context covers its dot and the other side does not hold it.
fn join<V: Clone>(
    len: usize,
    ours: impl IntoIterator<Item = Sibling<V>>,
    our_context: &VersionVector,
    theirs: &Inner<V>,
) -> Vec<Sibling<V>> {
    let mut merged = Vec::with_capacity(len.max(theirs.entries.len()));
    let mut their_entries = theirs.entries.iter().peekable();
    for mine in ours {
        // Theirs below mine: kept unless we overwrote them.
        while let Some(t) = their_entries.next_if(|t| t.dot < mine.dot) {
            if !our_context.contains(t.dot) {
                merged.push(t.clone());
            }
        }
        // Mine is kept if they hold it too, or have not seen it.
        let they_hold = their_entries.next_if(|t| t.dot == mine.dot).is_some();
        if they_hold || !theirs.context.contains(mine.dot) {
            merged.push(mine);
        }
    }
    for t in their_entries {
        if !our_context.contains(t.dot) {
            merged.push(t.clone());
        }
    }
    merged
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
        self.context().encode(out);
        put_varint(out, self.len() as u64);
        for s in self {
            s.dot.encode(out);
            out.extend_from_slice(&s.timestamp.to_bytes());
            put_bytes(out, s.value.as_ref());
        }
    }

    /// The number of bytes [`encode`](Self::encode) writes.
    pub fn encoded_len(&self) -> usize {
        let siblings: usize = self
            .iter()
            .map(|s| s.dot.encoded_len() + 8 + bytes_len(s.value.as_ref().len()))
            .sum();
        self.context().encoded_len() + varint_len(self.len() as u64) + siblings
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
        self.entries().iter()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn ts(t: u64) -> HlcTimestamp {
        HlcTimestamp::from_u64(t)
    }

    fn vv(entries: &[(u64, u64)]) -> VersionVector {
        entries.iter().map(|&(a, c)| Dot::new(a, c)).collect()
    }

    fn dots<V>(s: &Siblings<V>) -> Vec<Dot> {
        s.iter().map(|s| s.dot).collect()
    }

    fn encoded(s: &Siblings<Bytes>) -> Vec<u8> {
        let mut out = Vec::new();
        s.encode(&mut out);
        out
    }

    fn sample() -> Siblings<Bytes> {
        let mut s = Siblings::new();
        s.write(1, &VersionVector::new(), ts(5), Bytes::from_static(b"a"));
        s.write(2, &VersionVector::new(), ts(7), Bytes::from_static(b""));
        s.write(1, &VersionVector::new(), ts(6), Bytes::from(vec![7; 200]));
        s
    }

    #[test]
    fn new_and_default_are_empty() {
        let s: Siblings = Siblings::default();
        assert!(s.is_empty() && s.context().is_empty() && s.newest().is_none());
        assert_eq!(s, Siblings::new());
    }

    #[test]
    fn write_replaces_exactly_what_the_context_covers() {
        let mut s = Siblings::new();
        let empty = VersionVector::new();
        assert_eq!(s.write(1, &empty, ts(1), "a"), Dot::new(1, 1));
        let saw_a = s.context().clone();
        assert_eq!(s.write(1, &empty, ts(2), "b"), Dot::new(1, 2));
        // Covers a, not b.
        assert_eq!(s.write(1, &saw_a, ts(3), "c"), Dot::new(1, 3));
        assert_eq!(s.values().copied().collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!(dots(&s), [Dot::new(1, 2), Dot::new(1, 3)]);
        assert_eq!(s.context(), &vv(&[(1, 3)]));
        assert!(s.covers(Dot::new(1, 1)) && !s.covers(Dot::new(1, 4)));
        // A context with another actor's dots joins the object's context.
        let other = vv(&[(1, 3), (9, 4)]);
        assert_eq!(s.write(2, &other, ts(4), "d"), Dot::new(2, 1));
        assert_eq!(s.values().copied().collect::<Vec<_>>(), ["d"]);
        assert_eq!(s.context(), &vv(&[(1, 3), (2, 1), (9, 4)]));
    }

    #[test]
    fn write_counter_is_past_both_contexts() {
        let mut s = Siblings::new();
        // A context that knows more of actor 1 than the object (see `write`'s precondition).
        assert_eq!(s.write(1, &vv(&[(1, 4)]), ts(1), 0), Dot::new(1, 5));
        assert_eq!(s.write(1, &vv(&[(1, 2)]), ts(1), 1), Dot::new(1, 6));
        assert_eq!(dots(&s), [Dot::new(1, 5), Dot::new(1, 6)]);
    }

    #[test]
    fn siblings_stay_sorted_by_dot() {
        let mut s = Siblings::new();
        let empty = VersionVector::new();
        s.write(3, &empty, ts(1), ());
        s.write(1, &empty, ts(1), ());
        s.write(2, &empty, ts(1), ());
        s.write(1, &empty, ts(1), ());
        assert_eq!(
            dots(&s),
            [
                Dot::new(1, 1),
                Dot::new(1, 2),
                Dot::new(2, 1),
                Dot::new(3, 1)
            ]
        );
    }

    #[test]
    fn write_lww() {
        let mut s = Siblings::new();
        assert!(s.write_lww(Dot::new(1, 1), ts(10), "a"));
        // Older timestamp loses but is seen.
        assert!(!s.write_lww(Dot::new(2, 1), ts(5), "b"));
        assert!(s.covers(Dot::new(2, 1)));
        assert_eq!(s.values().copied().collect::<Vec<_>>(), ["a"]);
        // Equal timestamp: the greater dot wins.
        assert!(s.write_lww(Dot::new(3, 1), ts(10), "c"));
        assert_eq!(s.values().copied().collect::<Vec<_>>(), ["c"]);
        // Delivered twice, or a dot already seen: nothing changes.
        let before = s.clone();
        assert!(!s.write_lww(Dot::new(3, 1), ts(10), "c"));
        assert!(!s.write_lww(Dot::new(2, 1), ts(99), "late"));
        assert!(!s.write_lww(Dot::new(4, 0), ts(99), "no dot"));
        assert_eq!(s, before);
        assert!(s.write_lww(Dot::new(1, 2), ts(11), "d"));
        assert_eq!(s.len(), 1);
        assert_eq!(s.context(), &vv(&[(1, 2), (2, 1), (3, 1)]));
    }

    #[test]
    fn lww_write_over_siblings_replaces_them_all() {
        let mut s = Siblings::new();
        s.write(1, &VersionVector::new(), ts(1), "a");
        s.write(2, &VersionVector::new(), ts(2), "b");
        assert!(s.write_lww(Dot::new(3, 1), ts(3), "c"));
        assert_eq!(s.values().copied().collect::<Vec<_>>(), ["c"]);
    }

    #[test]
    fn merge_keeps_concurrent_and_drops_overwritten() {
        let empty = VersionVector::new();
        let mut a = Siblings::new();
        a.write(1, &empty, ts(1), "a1");
        let mut b = a.clone();
        // b overwrites a1; a writes a concurrent a2.
        let seen = b.context().clone();
        b.write(2, &seen, ts(2), "b1");
        a.write(1, &empty, ts(3), "a2");
        let mut ab = a.clone();
        ab.merge(&b);
        assert_eq!(ab.values().copied().collect::<Vec<_>>(), ["a2", "b1"]);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab, ba);
        // Idempotent, and merging an ancestor changes nothing.
        let again = ab.clone();
        ab.merge(&again);
        assert_eq!(ab, again);
        ab.merge(&a);
        assert_eq!(ab, again);
        assert!(ab.descends(&a) && ab.descends(&b) && !a.descends(&b));
        // Merging into an empty object copies.
        let mut e = Siblings::new();
        e.merge(&ab);
        assert_eq!(e, ab);
    }

    #[test]
    fn keep_newest_and_newest() {
        let mut s = Siblings::new();
        let empty = VersionVector::new();
        s.write(2, &empty, ts(9), "x");
        s.write(1, &empty, ts(9), "y"); // same timestamp, smaller dot
        s.write(3, &empty, ts(4), "z");
        assert_eq!(s.newest().map(|n| n.value), Some("x"));
        let context = s.context().clone();
        s.keep_newest();
        assert_eq!(s.values().copied().collect::<Vec<_>>(), ["x"]);
        assert_eq!(s.context(), &context);
        let mut e: Siblings<()> = Siblings::new();
        e.keep_newest();
        assert!(e.is_empty());
    }

    #[test]
    fn policy_merge() {
        let mut a = Siblings::new();
        a.write(1, &VersionVector::new(), ts(2), "a");
        let mut b = Siblings::new();
        b.write(2, &VersionVector::new(), ts(1), "b");
        let mut dvv = a.clone();
        super::super::Policy::Dvv.merge(&mut dvv, &b);
        assert_eq!(dvv.len(), 2);
        let mut lww = b.clone();
        super::super::Policy::Lww.merge(&mut lww, &a);
        assert_eq!(lww.values().copied().collect::<Vec<_>>(), ["a"]);
        assert_eq!(lww.context(), dvv.context());
        assert_eq!(super::super::Policy::default(), super::super::Policy::Dvv);
    }

    #[test]
    fn fingerprint_covers_versions_not_values() {
        let s = sample();
        // Pinned: the fingerprint is part of the anti-entropy protocol between processes.
        assert_eq!(s.fingerprint(), 0x74e4_e39f_2da5_ff26);
        assert_eq!(
            Siblings::<Bytes>::new().fingerprint(),
            0xb90f_13de_eb0b_bcc5
        );
        let mut other_value = Siblings::new();
        for x in s.iter() {
            other_value.write(
                x.dot.actor,
                &VersionVector::new(),
                x.timestamp,
                b"?".to_vec(),
            );
        }
        assert_eq!(other_value.fingerprint(), s.fingerprint());
        let mut later = s.clone();
        later.write(1, &VersionVector::new(), ts(1), Bytes::new());
        assert_ne!(later.fingerprint(), s.fingerprint());
        // Overwriting the same siblings leaves a different context: a different fingerprint.
        let mut resolved = s.clone();
        let context = s.context().clone();
        resolved.write(1, &context, ts(1), Bytes::new());
        assert_ne!(resolved.fingerprint(), s.fingerprint());
    }

    #[test]
    fn encoding_round_trips() {
        let s = sample();
        let bytes = encoded(&s);
        assert_eq!(bytes.len(), s.encoded_len());
        assert_eq!(Siblings::decode(&bytes), Ok((s.clone(), bytes.len())));
        assert_eq!(Siblings::from_bytes(&bytes), Ok(s.clone()));
        let shared = Bytes::from(bytes.clone());
        let (zero_copy, used) = Siblings::decode_bytes(&shared).unwrap();
        assert_eq!((&zero_copy, used), (&s, bytes.len()));
        // The values point into the input buffer.
        let long = zero_copy.iter().find(|x| x.value.len() == 200).unwrap();
        let range = shared.as_ptr_range();
        assert!(range.contains(&long.value.as_ptr()));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(Siblings::from_bytes(&trailing), Err(DecodeError::Trailing));
        assert_eq!(encoded(&Siblings::new()), [0, 0]);
    }

    /// An encoding of context `context` and siblings with these dots (timestamp 0, value
    /// `x`), bypassing the type's invariants.
    fn raw(context: &VersionVector, dots: &[(u64, u64)]) -> Vec<u8> {
        let mut out = Vec::new();
        context.encode(&mut out);
        put_varint(&mut out, dots.len() as u64);
        for &(a, c) in dots {
            put_varint(&mut out, a);
            put_varint(&mut out, c);
            out.extend_from_slice(&[0; 8]);
            put_bytes(&mut out, b"x");
        }
        out
    }

    #[test]
    fn decode_checks_invariants() {
        let ctx = vv(&[(1, 3), (2, 1)]);
        let dec = |b: &[u8]| Siblings::decode(b).map(|(s, _)| s);
        assert!(dec(&raw(&ctx, &[(1, 2), (1, 3), (2, 1)])).is_ok());
        assert_eq!(
            dec(&raw(&ctx, &[(1, 3), (1, 2)])),
            Err(DecodeError::Unsorted)
        );
        assert_eq!(
            dec(&raw(&ctx, &[(1, 2), (1, 2)])),
            Err(DecodeError::Unsorted)
        );
        assert_eq!(dec(&raw(&ctx, &[(1, 4)])), Err(DecodeError::Uncovered));
        assert_eq!(dec(&raw(&ctx, &[(3, 1)])), Err(DecodeError::Uncovered));
        assert_eq!(dec(&raw(&ctx, &[(1, 0)])), Err(DecodeError::ZeroCounter));
        // A value longer than the input.
        let mut long = raw(&ctx, &[(1, 1)]);
        let n = long.len();
        long[n - 2] = 2;
        assert_eq!(dec(&long), Err(DecodeError::Truncated));
        // Every strict prefix of a valid encoding is truncated.
        let ok = encoded(&sample());
        for cut in 0..ok.len() {
            assert_eq!(dec(&ok[..cut]), Err(DecodeError::Truncated), "cut at {cut}");
        }
        // Too many siblings, refused from the count alone.
        let mut many = Vec::new();
        ctx.encode(&mut many);
        put_varint(&mut many, MAX_SIBLINGS as u64 + 1);
        assert_eq!(
            dec(&many),
            Err(DecodeError::TooMany {
                what: "siblings",
                count: MAX_SIBLINGS as u64 + 1,
                max: MAX_SIBLINGS as u64
            })
        );
    }

    #[test]
    fn from_parts_checks_invariants() {
        let sib = |a, c| Sibling {
            dot: Dot::new(a, c),
            timestamp: ts(0),
            value: (),
        };
        let ctx = vv(&[(1, 2)]);
        assert!(Siblings::from_parts(ctx.clone(), vec![sib(1, 1), sib(1, 2)]).is_ok());
        assert_eq!(
            Siblings::from_parts(ctx.clone(), vec![sib(1, 2), sib(1, 1)]),
            Err(DecodeError::Unsorted)
        );
        assert_eq!(
            Siblings::from_parts(ctx.clone(), vec![sib(2, 1)]),
            Err(DecodeError::Uncovered)
        );
        assert_eq!(
            Siblings::from_parts(ctx, vec![sib(1, 0)]),
            Err(DecodeError::ZeroCounter)
        );
        let (c, e) = sample().into_parts();
        assert_eq!(Siblings::from_parts(c, e), Ok(sample()));
    }

    fn shares(a: &Siblings<Bytes>, b: &Siblings<Bytes>) -> bool {
        match (&a.inner, &b.inner) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    #[test]
    fn clones_share_until_changed() {
        let a = sample();
        let changes: [fn(&mut Siblings<Bytes>); 5] = [
            |s| {
                s.write(1, &VersionVector::new(), ts(9), Bytes::new());
            },
            |s| assert!(s.write_lww(Dot::new(7, 1), ts(99), Bytes::new())),
            |s| s.keep_newest(),
            |s| {
                let mut other = Siblings::new();
                other.write(5, &VersionVector::new(), ts(1), Bytes::new());
                s.merge(&other);
            },
            |s| super::super::Policy::Lww.merge(s, &sample()),
        ];
        for change in changes {
            let mut b = a.clone();
            assert!(shares(&a, &b));
            change(&mut b);
            assert!(!shares(&a, &b));
            assert_ne!(a, b);
            assert_eq!(a, sample(), "the original is untouched");
            // Changed again, now unshared: in place.
            let at = b.inner.as_ref().map(Arc::as_ptr);
            b.write(9, &VersionVector::new(), ts(1), Bytes::new());
            assert_eq!(b.inner.as_ref().map(Arc::as_ptr), at);
        }
        // A change that changes nothing copies nothing.
        let mut b = a.clone();
        b.merge(&Siblings::new());
        b.merge(&a.clone());
        assert!(!b.write_lww(Dot::new(1, 1), ts(99), Bytes::new()));
        let mut one = Siblings::new();
        one.write(1, &VersionVector::new(), ts(1), Bytes::new());
        let mut also = one.clone();
        also.keep_newest();
        assert!(shares(&a, &b) && shares(&one, &also));
        // Merging into the empty object shares the other.
        let mut e = Siblings::new();
        e.merge(&a);
        assert!(shares(&a, &e));
        // A shared object's parts are copied out; an unshared one's moved out.
        let (context, entries) = b.into_parts();
        assert_eq!(Siblings::from_parts(context, entries), Ok(a.clone()));
        let (context, entries) = sample().into_parts();
        assert_eq!(Siblings::from_parts(context, entries), Ok(a));
    }

    #[test]
    fn merge_of_a_shared_object_equals_merge_of_a_copy() {
        let empty = VersionVector::new();
        let mut a = sample();
        let seen = a.context().clone();
        let mut b = a.clone();
        b.write(2, &seen, ts(20), Bytes::from_static(b"b"));
        a.write(1, &empty, ts(21), Bytes::from_static(b"a"));
        let copy = |s: &Siblings<Bytes>| {
            Siblings::from_parts(s.context().clone(), s.iter().cloned().collect()).unwrap()
        };
        let mut unshared = copy(&a);
        unshared.merge(&b);
        let mut shared = a.clone();
        shared.merge(&b);
        assert_eq!(shared, unshared);
        // b overwrote sample's three; a's new value is concurrent with b's.
        assert_eq!(shared.values().collect::<Vec<_>>(), [&b"a"[..], &b"b"[..]]);
        assert_eq!(format!("{shared:?}"), format!("{unshared:?}"));
    }

    #[test]
    fn the_empty_object_is_not_allocated() {
        assert!(Siblings::<Bytes>::new().inner.is_none());
        let (decoded, _) = Siblings::decode(&[0, 0]).unwrap();
        assert!(decoded.inner.is_none());
        let parts = Siblings::<()>::from_parts(VersionVector::new(), Vec::new()).unwrap();
        assert!(parts.inner.is_none());
        assert_eq!(
            format!("{:?}", Siblings::<()>::new()),
            "Siblings { context: VersionVector { entries: [] }, entries: [] }"
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_format_is_pinned() {
        let mut s = Siblings::new();
        s.write(1, &VersionVector::new(), ts(5), Bytes::from_static(b"a"));
        s.write(2, &VersionVector::new(), ts(7), Bytes::new());
        assert_eq!(serde_json::to_string(&s).unwrap(), PINNED_JSON);
        assert_eq!(serde_json::from_str::<Siblings>(PINNED_JSON).unwrap(), s);
        assert_eq!(
            serde_json::to_string(&Siblings::<()>::new()).unwrap(),
            r#"{"context":[],"entries":[]}"#
        );
    }

    #[cfg(feature = "serde")]
    const PINNED_JSON: &str = concat!(
        r#"{"context":[{"actor":1,"counter":1},{"actor":2,"counter":1}],"#,
        r#""entries":[{"dot":{"actor":1,"counter":1},"timestamp":5,"value":[97]},"#,
        r#"{"dot":{"actor":2,"counter":1},"timestamp":7,"value":[]}]}"#
    );

    #[cfg(feature = "serde")]
    #[test]
    fn serde_round_trip_and_validation() {
        let s = sample();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Siblings>(&json).unwrap(), s);
        let bad = r#"{"context":[{"actor":1,"counter":1}],
            "entries":[{"dot":{"actor":1,"counter":2},"timestamp":0,"value":[]}]}"#;
        let err = serde_json::from_str::<Siblings>(bad).unwrap_err();
        assert!(err.to_string().contains("not covered"), "{err}");
        let p: super::super::Policy = serde_json::from_str(r#""lww""#).unwrap();
        assert_eq!(p, super::super::Policy::Lww);
    }
}
