//! [`VersionVector`]: what a replica has seen, one counter per actor.

use std::cmp::Ordering;

use super::Dot;
use crate::codec::{get_count, get_varint, put_varint, varint_len};
use crate::error::DecodeError;

/// The most actors a decoded [`VersionVector`] may have (a cluster's coordinators; far above
/// any real one, low enough that a hostile count cannot make a decoder work for long).
pub const MAX_ACTORS: usize = 4096;

/// A version vector: a map actor → counter, where `a ↦ n` means "has seen the writes
/// `(a, 1) ..= (a, n)`" and a missing actor counts 0.
///
/// Entries are kept sorted by actor in one `Vec` (a handful of actors, so a linear pass over
/// contiguous memory beats any map): [`merge`](Self::merge), [`descends`](Self::descends) and
/// the comparison are one linear pass, and merge does not allocate when `other`'s actors are
/// already present in `self` (the steady state of a cluster).
///
/// Vectors are partially ordered: `a <= b` when `b` has seen everything `a` has
/// ([`descends`](Self::descends)); two vectors neither of which descends the other are
/// [`concurrent`](Self::concurrent), and `partial_cmp` returns `None` for them.
///
/// ```
/// use std::cmp::Ordering;
/// use sinew_replica::version::{Dot, VersionVector};
///
/// let mut a = VersionVector::new();
/// assert_eq!(a.increment(1), Dot::new(1, 1));
/// let mut b = a.clone();
/// a.increment(1); // a = {1: 2}
/// b.increment(2); // b = {1: 1, 2: 1}
/// assert!(a.concurrent(&b));
/// assert_eq!(a.partial_cmp(&b), None);
///
/// let mut c = a.clone();
/// c.merge(&b); // {1: 2, 2: 1}: the least vector that descends both
/// assert!(c.descends(&a) && c.descends(&b));
/// assert_eq!(c.partial_cmp(&a), Some(Ordering::Greater));
/// assert!(c.contains(Dot::new(2, 1)) && !c.contains(Dot::new(2, 2)));
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "Vec<Dot>"))]
pub struct VersionVector {
    /// Sorted by actor, actors unique, counters non-zero: each entry is the actor's latest dot.
    entries: Vec<Dot>,
}

impl VersionVector {
    /// The empty vector: nothing seen.
    pub const fn new() -> Self {
        VersionVector {
            entries: Vec::new(),
        }
    }

    /// The counter of `actor` (0 when absent).
    #[inline]
    pub fn get(&self, actor: u64) -> u64 {
        match self.find(actor) {
            Ok(i) => self.entries.get(i).map_or(0, |d| d.counter),
            Err(_) => 0,
        }
    }

    /// A new event at `actor`: its counter plus one; returns the new dot.
    ///
    /// The counter saturates at `u64::MAX` (2⁶⁴ − 1 writes by one actor), where the same
    /// dot would be returned again; no real actor gets there.
    pub fn increment(&mut self, actor: u64) -> Dot {
        match self.find(actor) {
            Ok(i) => match self.entries.get_mut(i) {
                Some(d) => {
                    d.counter = d.counter.saturating_add(1);
                    *d
                }
                None => Dot::new(actor, 0),
            },
            Err(i) => {
                let dot = Dot::new(actor, 1);
                self.entries.insert(i, dot);
                dot
            }
        }
    }

    /// Records that `dot` has been seen: the actor's counter becomes the larger of the two.
    /// A dot with counter 0 changes nothing.
    pub fn witness(&mut self, dot: Dot) {
        if dot.counter == 0 {
            return;
        }
        match self.find(dot.actor) {
            Ok(i) => {
                if let Some(d) = self.entries.get_mut(i) {
                    d.counter = d.counter.max(dot.counter);
                }
            }
            Err(i) => self.entries.insert(i, dot),
        }
    }

    /// Whether `dot` has been seen: `get(dot.actor) >= dot.counter`.
    #[inline]
    pub fn contains(&self, dot: Dot) -> bool {
        self.get(dot.actor) >= dot.counter
    }

    /// Pointwise maximum with `other` (the least upper bound), in one linear pass.
    ///
    /// Allocates only when `other` has actors that `self` lacks.
    pub fn merge(&mut self, other: &VersionVector) {
        // In place while every actor of `other` is already here.
        let mut i = 0;
        for (j, theirs) in other.entries.iter().enumerate() {
            loop {
                match self.entries.get_mut(i) {
                    Some(ours) if ours.actor < theirs.actor => i += 1,
                    Some(ours) if ours.actor == theirs.actor => {
                        ours.counter = ours.counter.max(theirs.counter);
                        i += 1;
                        break;
                    }
                    _ => {
                        // `theirs` is missing here: `self[..i]` is done (its actors are all
                        // below `theirs`), the tails need a sorted merge into a new vector.
                        let rest = other.entries.get(j..).unwrap_or_default();
                        self.merge_tails(i, rest);
                        return;
                    }
                }
            }
        }
    }

    /// Replaces `self.entries[from..]` by its sorted merge with `theirs` (pointwise max).
    #[cold]
    fn merge_tails(&mut self, from: usize, theirs: &[Dot]) {
        let ours = self.entries.get(from..).unwrap_or_default();
        let mut merged = Vec::with_capacity(self.entries.len() + theirs.len());
        merged.extend_from_slice(self.entries.get(..from).unwrap_or_default());
        let (mut a, mut b) = (ours.iter().peekable(), theirs.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => match x.actor.cmp(&y.actor) {
                    Ordering::Less => a.next().copied(),
                    Ordering::Greater => b.next().copied(),
                    Ordering::Equal => {
                        let counter = x.counter.max(y.counter);
                        let actor = x.actor;
                        a.next();
                        b.next();
                        Some(Dot::new(actor, counter))
                    }
                },
                (Some(_), None) => a.next().copied(),
                (None, Some(_)) => b.next().copied(),
                (None, None) => None,
            };
            match next {
                Some(d) => merged.push(d),
                None => break,
            }
        }
        self.entries = merged;
    }

    /// Whether `self` has seen everything `other` has: `self[a] >= other[a]` for every actor
    /// (reflexive: a vector descends itself).
    pub fn descends(&self, other: &VersionVector) -> bool {
        // Counters are non-zero, so more entries means an actor `self` lacks.
        if other.entries.len() > self.entries.len() {
            return false;
        }
        let mut ours = self.entries.iter();
        'theirs: for theirs in &other.entries {
            for d in ours.by_ref() {
                match d.actor.cmp(&theirs.actor) {
                    Ordering::Less => {}
                    Ordering::Equal if d.counter >= theirs.counter => continue 'theirs,
                    _ => return false,
                }
            }
            return false;
        }
        true
    }

    /// Whether neither vector descends the other: each has seen a write the other has not.
    #[inline]
    pub fn concurrent(&self, other: &VersionVector) -> bool {
        self.partial_cmp(other).is_none()
    }

    /// The number of actors with a non-zero counter.
    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing has been seen.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Each actor's latest dot, by actor.
    pub fn iter(&self) -> impl Iterator<Item = Dot> + '_ {
        self.entries.iter().copied()
    }

    /// Appends the compact encoding: a varint count, then for each entry by actor the varint
    /// gap from the previous actor (the first actor itself) and the varint counter. A
    /// 5-actor vector with small ids and counters below 16 384 takes at most 16 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.entries.len() as u64);
        let mut prev = 0;
        for d in &self.entries {
            put_varint(out, d.actor - prev);
            put_varint(out, d.counter);
            prev = d.actor;
        }
    }

    /// The number of bytes [`encode`](Self::encode) writes.
    pub fn encoded_len(&self) -> usize {
        let mut prev = 0;
        let mut len = varint_len(self.entries.len() as u64);
        for d in &self.entries {
            len += varint_len(d.actor - prev) + varint_len(d.counter);
            prev = d.actor;
        }
        len
    }

    /// Decodes a vector from the front of `bytes`; returns it and the number of bytes read.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Truncated`] and [`DecodeError::Overlong`] for bad varints,
    /// [`DecodeError::TooMany`] above [`MAX_ACTORS`] entries, [`DecodeError::Unsorted`] for an
    /// actor repeated or past `u64::MAX`, [`DecodeError::ZeroCounter`]. Never allocates more
    /// than the input's length justifies.
    pub fn decode(bytes: &[u8]) -> Result<(Self, usize), DecodeError> {
        let mut input = bytes;
        let vv = Self::decode_from(&mut input)?;
        Ok((vv, bytes.len() - input.len()))
    }

    /// Decodes a vector that fills all of `bytes`.
    ///
    /// # Errors
    ///
    /// Those of [`decode`](Self::decode), and [`DecodeError::Trailing`] if bytes are left.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut input = bytes;
        let vv = Self::decode_from(&mut input)?;
        if input.is_empty() {
            Ok(vv)
        } else {
            Err(DecodeError::Trailing)
        }
    }

    /// [`decode`](Self::decode) over a cursor, advancing it.
    pub(crate) fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let count = get_count(input, "actors", MAX_ACTORS)?;
        // Each entry takes at least two bytes, so the input bounds the allocation.
        let mut entries = Vec::with_capacity(count.min(input.len() / 2));
        let mut prev: Option<u64> = None;
        for _ in 0..count {
            let gap = get_varint(input)?;
            let counter = get_varint(input)?;
            let actor = match prev {
                None => gap,
                Some(_) if gap == 0 => return Err(DecodeError::Unsorted),
                Some(p) => p.checked_add(gap).ok_or(DecodeError::Unsorted)?,
            };
            if counter == 0 {
                return Err(DecodeError::ZeroCounter);
            }
            entries.push(Dot::new(actor, counter));
            prev = Some(actor);
        }
        Ok(VersionVector { entries })
    }

    /// The index of `actor`'s entry, or where it would be inserted.
    #[inline]
    fn find(&self, actor: u64) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&actor, |d| d.actor)
    }
}

impl PartialOrd for VersionVector {
    /// `Less` when `other` strictly descends `self`, `Greater` the other way, `Equal` when
    /// equal, `None` when [`concurrent`](VersionVector::concurrent). One linear pass.
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        let (ours, theirs) = (&self.entries, &other.entries);
        let (mut i, mut j) = (0, 0);
        let (mut ahead, mut behind) = (false, false);
        loop {
            match (ours.get(i), theirs.get(j)) {
                (Some(x), Some(y)) => match x.actor.cmp(&y.actor) {
                    Ordering::Less => {
                        ahead = true;
                        i += 1;
                    }
                    Ordering::Greater => {
                        behind = true;
                        j += 1;
                    }
                    Ordering::Equal => {
                        ahead |= x.counter > y.counter;
                        behind |= x.counter < y.counter;
                        i += 1;
                        j += 1;
                    }
                },
                (Some(_), None) => {
                    ahead = true;
                    break;
                }
                (None, Some(_)) => {
                    behind = true;
                    break;
                }
                (None, None) => break,
            }
            if ahead && behind {
                return None;
            }
        }
        match (ahead, behind) {
            (false, false) => Some(Ordering::Equal),
            (true, false) => Some(Ordering::Greater),
            (false, true) => Some(Ordering::Less),
            (true, true) => None,
        }
    }
}

impl FromIterator<Dot> for VersionVector {
    /// The least vector containing every dot (counters 0 ignored).
    fn from_iter<I: IntoIterator<Item = Dot>>(iter: I) -> Self {
        let mut entries: Vec<Dot> = iter.into_iter().filter(|d| d.counter > 0).collect();
        entries.sort_unstable();
        // Sorted by (actor, counter): the last of each actor's run is its largest.
        entries.reverse();
        entries.dedup_by_key(|d| d.actor);
        entries.reverse();
        VersionVector { entries }
    }
}

impl Extend<Dot> for VersionVector {
    fn extend<I: IntoIterator<Item = Dot>>(&mut self, iter: I) {
        for dot in iter {
            self.witness(dot);
        }
    }
}

impl TryFrom<Vec<Dot>> for VersionVector {
    type Error = DecodeError;

    /// The vector of these entries, which must be sorted by actor with no repeat and no
    /// zero counter (the form [`iter`](VersionVector::iter) yields): the same checks as the
    /// binary decoder, without its [`MAX_ACTORS`] limit (the caller holds the `Vec` already).
    fn try_from(entries: Vec<Dot>) -> Result<Self, DecodeError> {
        if entries.iter().any(|d| d.counter == 0) {
            return Err(DecodeError::ZeroCounter);
        }
        if entries
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.actor >= b.actor))
        {
            return Err(DecodeError::Unsorted);
        }
        Ok(VersionVector { entries })
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for VersionVector {
    /// A sequence of [`Dot`]s sorted by actor (each actor's latest dot).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(&self.entries)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn vv(entries: &[(u64, u64)]) -> VersionVector {
        entries.iter().map(|&(a, c)| Dot::new(a, c)).collect()
    }

    #[test]
    fn get_increment_witness() {
        let mut v = VersionVector::new();
        assert!(v.is_empty());
        assert_eq!(v.get(3), 0);
        assert_eq!(v.increment(3), Dot::new(3, 1));
        assert_eq!(v.increment(3), Dot::new(3, 2));
        assert_eq!(v.increment(1), Dot::new(1, 1));
        assert_eq!(v.get(3), 2);
        v.witness(Dot::new(3, 1)); // older: no change
        assert_eq!(v.get(3), 2);
        v.witness(Dot::new(3, 9));
        v.witness(Dot::new(2, 4));
        v.witness(Dot::new(5, 0)); // counter 0: nothing
        assert_eq!(v, vv(&[(1, 1), (2, 4), (3, 9)]));
        assert_eq!(v.iter().map(|d| d.actor).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(v.len(), 3);
        assert!(v.contains(Dot::new(2, 4)) && v.contains(Dot::new(2, 1)));
        assert!(!v.contains(Dot::new(2, 5)) && !v.contains(Dot::new(9, 1)));
        assert!(v.contains(Dot::new(9, 0)));
    }

    #[test]
    fn increment_saturates() {
        let mut v = vv(&[(1, u64::MAX)]);
        assert_eq!(v.increment(1), Dot::new(1, u64::MAX));
    }

    #[test]
    fn merge_in_place_and_with_new_actors() {
        let mut a = vv(&[(1, 5), (3, 1), (7, 2)]);
        a.merge(&vv(&[(1, 2), (7, 4)]));
        assert_eq!(a, vv(&[(1, 5), (3, 1), (7, 4)]));
        // New actors before, between and after.
        a.merge(&vv(&[(0, 1), (2, 2), (3, 3), (9, 1)]));
        assert_eq!(a, vv(&[(0, 1), (1, 5), (2, 2), (3, 3), (7, 4), (9, 1)]));
        let mut e = VersionVector::new();
        e.merge(&a);
        assert_eq!(e, a);
        a.merge(&VersionVector::new());
        assert_eq!(e, a);
    }

    #[test]
    fn comparisons() {
        let a = vv(&[(1, 2), (2, 1)]);
        let b = vv(&[(1, 2), (2, 2)]);
        let c = vv(&[(1, 3)]);
        let empty = VersionVector::new();
        assert_eq!(a.partial_cmp(&a), Some(Ordering::Equal));
        assert_eq!(a.partial_cmp(&b), Some(Ordering::Less));
        assert_eq!(b.partial_cmp(&a), Some(Ordering::Greater));
        assert_eq!(a.partial_cmp(&c), None);
        assert_eq!(empty.partial_cmp(&a), Some(Ordering::Less));
        assert!(b.descends(&a) && !a.descends(&b) && a.descends(&a));
        assert!(a.descends(&empty) && !empty.descends(&a) && empty.descends(&empty));
        assert!(a.concurrent(&c) && !a.concurrent(&b));
        // Same length, different actors.
        assert!(vv(&[(1, 1)]).concurrent(&vv(&[(2, 1)])));
        assert!(a.lt(&b) && b.gt(&a) && a.le(&a));
        assert!(!a.lt(&c) && !a.ge(&c) && !c.lt(&a) && !c.ge(&a));
    }

    #[test]
    fn from_iter_keeps_each_actors_max() {
        let v: VersionVector = [
            Dot::new(2, 1),
            Dot::new(1, 4),
            Dot::new(2, 7),
            Dot::new(1, 2),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            v.iter().collect::<Vec<_>>(),
            [Dot::new(1, 4), Dot::new(2, 7)]
        );
        let mut w = VersionVector::new();
        w.extend(v.iter());
        assert_eq!(w, v);
    }

    #[test]
    fn encoding() {
        let v = vv(&[(0, 1), (5, 300), (1 << 40, 2)]);
        let mut out = Vec::new();
        v.encode(&mut out);
        assert_eq!(out.len(), v.encoded_len());
        assert_eq!(out[..5], [3, 0, 1, 5, 0xac]);
        assert_eq!(VersionVector::decode(&out), Ok((v.clone(), out.len())));
        assert_eq!(VersionVector::from_bytes(&out), Ok(v.clone()));
        out.push(0);
        assert_eq!(VersionVector::decode(&out), Ok((v, out.len() - 1)));
        assert_eq!(VersionVector::from_bytes(&out), Err(DecodeError::Trailing));
        let mut empty = Vec::new();
        VersionVector::new().encode(&mut empty);
        assert_eq!(empty, [0]);
    }

    #[test]
    fn decode_rejects_bad_input() {
        let dec = |b: &[u8]| VersionVector::decode(b).map(|(v, _)| v);
        assert_eq!(dec(&[]), Err(DecodeError::Truncated));
        assert_eq!(dec(&[2, 1, 1]), Err(DecodeError::Truncated));
        assert_eq!(dec(&[1, 1, 0]), Err(DecodeError::ZeroCounter));
        assert_eq!(dec(&[2, 1, 1, 0, 1]), Err(DecodeError::Unsorted));
        assert_eq!(dec(&[1, 0x80, 0x00, 1]), Err(DecodeError::Overlong));
        // An actor past u64::MAX.
        let mut over = vec![2];
        over.extend([0xff; 9]);
        over.extend([0x01, 1, 1, 1]);
        assert_eq!(dec(&over), Err(DecodeError::Unsorted));
        // Too many: refused from the count alone.
        let mut many = Vec::new();
        put_varint(&mut many, MAX_ACTORS as u64 + 1);
        assert_eq!(
            dec(&many),
            Err(DecodeError::TooMany {
                what: "actors",
                count: MAX_ACTORS as u64 + 1,
                max: MAX_ACTORS as u64
            })
        );
        // A large honest count with no entries behind it: truncated, not allocated.
        let mut big = Vec::new();
        put_varint(&mut big, MAX_ACTORS as u64);
        assert_eq!(dec(&big), Err(DecodeError::Truncated));
    }

    #[test]
    fn try_from_checks_invariants() {
        assert_eq!(
            VersionVector::try_from(vec![Dot::new(2, 1), Dot::new(1, 1)]),
            Err(DecodeError::Unsorted)
        );
        assert_eq!(
            VersionVector::try_from(vec![Dot::new(1, 1), Dot::new(1, 2)]),
            Err(DecodeError::Unsorted)
        );
        assert_eq!(
            VersionVector::try_from(vec![Dot::new(1, 0)]),
            Err(DecodeError::ZeroCounter)
        );
        assert_eq!(
            VersionVector::try_from(vec![Dot::new(1, 1), Dot::new(4, 2)]),
            Ok(vv(&[(1, 1), (4, 2)]))
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_round_trip_and_validation() {
        let v = vv(&[(1, 2), (3, 4)]);
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, r#"[{"actor":1,"counter":2},{"actor":3,"counter":4}]"#);
        assert_eq!(serde_json::from_str::<VersionVector>(&json).unwrap(), v);
        let bad = r#"[{"actor":3,"counter":2},{"actor":1,"counter":4}]"#;
        assert!(serde_json::from_str::<VersionVector>(bad).is_err());
    }
}
