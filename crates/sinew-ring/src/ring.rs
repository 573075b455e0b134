//! The weighted hash ring with virtual nodes (Karger et al., 1997).

// Positions and node indices are stored as u32: the ring holds at most `MAX_POINTS` < 2^32
// points and so at most that many nodes, which every constructor checks.
#![allow(clippy::cast_possible_truncation)]

use std::hash::Hash;

use crate::{
    ConsistentHash, MembershipError,
    hash::point_hash,
    members::{Members, Upsert},
    walk::{Walk, prev_same},
};

/// One virtual node. The canonical order is `(hash, id, vnode)`: it depends only on the nodes'
/// identities, so it is the same whatever order nodes were added in, and it resolves equal
/// hashes deterministically (the smaller identity, then the smaller vnode index, comes first
/// and owns the position).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Point {
    hash: u64,
    id: u64,
    vnode: u32,
    node: u32,
}

/// A consistent-hash ring with weighted virtual nodes.
///
/// Node `n` with weight `w` is placed at `w × vnodes` points (at least one); virtual node `i`
/// sits at [`point_hash`]`(`[`node_id`](crate::node_id)`(n), i)`. A key with hash `h` belongs to
/// the first point at or after `h`, wrapping past `u64::MAX` to the first point. Replicas
/// continue clockwise, skipping nodes already chosen.
///
/// Lookup is O(1) expected: an index of 4-byte slots over the top bits of the hash (about one
/// point per bucket). A bucket with at most one point decides its keys from its slot alone
/// (10 more bits of the point and the owners on either side), so most lookups read one slot
/// and not the points; a crowded bucket (about a fifth of keys) counts its few points without
/// branches, and the worst case is a binary search, O(log points). On cold keys at 1000 nodes
/// × 100 virtual nodes (2²⁰ distinct keys, cachegrind with a 1 MiB L2) a `route` takes 0.68 L2
/// misses and 74 instructions (the key hash and the benchmark loop included), against 1.02 and 87 with only bucket
/// offsets in front of the points, and 2.75 and 327 for hashring 0.3's binary search.
/// The index costs 8 bytes a bucket (the slot and the bucket's first position), with buckets
/// the power of two at or above the points: 8 to 16 bytes a point.
/// Membership changes cost O(points) (a merge, not a re-sort).
///
/// ```
/// use sinew_ring::HashRing;
///
/// let mut ring = HashRing::new();
/// ring.add("cache-a")?;
/// ring.add("cache-b")?;
/// ring.add_weighted("cache-big", 3)?; // three times the share of the others
/// let owner = ring.route("user:42");
/// assert!(owner.is_some());
/// let replicas: Vec<_> = ring.replicas("user:42", 2).collect();
/// assert_eq!(replicas.len(), 2);
/// assert_ne!(replicas[0], replicas[1]);
/// assert_eq!(Some(replicas[0]), owner);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct HashRing<N> {
    vnodes: u32,
    members: Members<N>,
    /// Canonically ordered points (see [`Point`]).
    points: Vec<Point>,
    /// `points[i].hash`, contiguous for the search.
    hashes: Vec<u64>,
    /// `points[i].node`.
    owners: Vec<u32>,
    /// For replicas: see [`prev_same`].
    prev: Vec<u32>,
    /// One [`Slot`] per bucket of the hash space (`hash >> shift`), and a last one for the
    /// end: `2^(64 - shift) + 1` slots of 4 bytes, with about one point a bucket.
    slots: Vec<Slot>,
    /// `starts[b]` is the first position whose hash is in bucket `b` or later, for the search
    /// in a crowded bucket and for `position`.
    starts: Vec<u32>,
    shift: u32,
}

/// A bucket of [`HashRing::slots`], packed in 4 bytes so that most lookups read this and
/// nothing else: a lookup's cost is its cache misses (the points of a large ring do not fit in
/// L2), and the answer for most keys is decided here. Bits, low to high:
///
/// - `owner` (20): the owner of the bucket's first point, or of the first point after it
///   (wrapping to position 0 past the end): the owner of every key in the bucket up to its
///   first point (node indices are below `MAX_POINTS` = 2²⁰);
/// - `rem` (10): bits `shift - 10 .. shift` of the bucket's only point, just below the bucket
///   bits; all ones if the bucket holds no point;
/// - `count` (2): the points in the bucket, 0, 1, or 2 for "two or more".
///
/// For a bucket holding at most one point, a key whose same 10 bits are below `rem` belongs
/// to `owner`, above `rem` to the next slot's `owner`; only equal bits (a chance of 2⁻¹⁰)
/// and crowded buckets search `hashes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot(u32);

impl Slot {
    const OWNER_MASK: u32 = (1 << 20) - 1;
    const REM_BITS: u32 = 10;
    const REM_MASK: u32 = (1 << Self::REM_BITS) - 1;
    const REM_SHIFT: u32 = 20;
    const COUNT_SHIFT: u32 = 30;

    /// `owner < MAX_POINTS`, which every constructor checks.
    fn new(owner: u32, rem: u32, count: usize) -> Self {
        Self(
            (owner & Self::OWNER_MASK)
                | (rem & Self::REM_MASK) << Self::REM_SHIFT
                | (count.min(2) as u32) << Self::COUNT_SHIFT,
        )
    }

    fn owner(self) -> usize {
        (self.0 & Self::OWNER_MASK) as usize
    }

    fn rem(self) -> u32 {
        (self.0 >> Self::REM_SHIFT) & Self::REM_MASK
    }

    /// Whether the bucket holds at most one point (so `rem` decides).
    fn sparse(self) -> bool {
        self.0 >> Self::COUNT_SHIFT < 2
    }

    /// The bits of `hash` that [`rem`](Self::rem) holds, for a ring whose buckets take the top
    /// `64 - shift` bits.
    fn rem_of(hash: u64, shift: u32) -> u32 {
        (hash >> shift.saturating_sub(Self::REM_BITS)) as u32 & Self::REM_MASK
    }
}

/// Concise: the sizes, not the points (a ring holds up to 2²⁰ of them).
impl<N> std::fmt::Debug for HashRing<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashRing")
            .field("nodes", &self.members.len())
            .field("vnodes", &self.vnodes)
            .field("points", &self.hashes.len())
            .finish_non_exhaustive()
    }
}

impl<N> Default for HashRing<N> {
    fn default() -> Self {
        Self::with_vnodes(HashRing::<N>::DEFAULT_VNODES)
    }
}

impl<N> HashRing<N> {
    /// The default number of virtual nodes per unit of weight (160, as in ketama).
    pub const DEFAULT_VNODES: u32 = 160;
    /// The most points (virtual nodes, over all nodes) a ring holds: 2²⁰ (a point costs 48 to
    /// 56 bytes, so at most 56 MiB; 1000 nodes × 160 virtual nodes is 160 000 points). Every
    /// constructor checks it before building anything.
    pub const MAX_POINTS: u64 = 1 << 20;
    /// The most points per listed node a *deserialized* ring may ask for (`vnodes × Σweight ≤
    /// 4096 × nodes`, and at most [`MAX_POINTS`](Self::MAX_POINTS)), checked before anything
    /// is built, so hostile input cannot make a few bytes allocate megabytes.
    pub const MAX_DECODED_POINTS_PER_NODE: u64 = 4096;

    /// An empty ring with 160 virtual nodes per unit of weight.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty ring with `vnodes` virtual nodes per unit of weight (0 is taken as 1).
    ///
    /// More virtual nodes balance better (peak/mean load ≈ 1 + a few/√vnodes) at the cost of
    /// memory (48 to 56 bytes a point) and slower membership changes; lookups stay O(1).
    pub fn with_vnodes(vnodes: u32) -> Self {
        Self {
            vnodes: vnodes.max(1),
            members: Members::default(),
            points: Vec::new(),
            hashes: Vec::new(),
            owners: Vec::new(),
            prev: Vec::new(),
            slots: Vec::new(),
            starts: Vec::new(),
            shift: 63,
        }
    }

    /// Virtual nodes per unit of weight.
    pub fn vnodes(&self) -> u32 {
        self.vnodes
    }

    /// The points on the ring (virtual nodes over all members).
    pub fn points(&self) -> usize {
        self.hashes.len()
    }

    /// The membership, for serde.
    #[cfg(feature = "serde")]
    pub(crate) fn members(&self) -> &Members<N> {
        &self.members
    }

    /// The members and their weights, in no particular order.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = (&N, u32)> + '_ {
        self.members.iter()
    }

    /// The number of points a node of weight `weight` gets.
    fn points_for(&self, weight: u32) -> u64 {
        u64::from(weight) * u64::from(self.vnodes)
    }

    /// The bucket of `hash`.
    #[inline]
    fn bucket(&self, hash: u64) -> usize {
        (hash >> self.shift) as usize
    }

    /// Position of the first point at or after `hash`, wrapping to 0; `None` if empty.
    #[inline]
    fn position(&self, hash: u64) -> Option<usize> {
        let len = self.hashes.len();
        if len == 0 {
            return None;
        }
        let pos = self.search(hash, self.bucket(hash));
        Some(if pos >= len { 0 } else { pos })
    }

    /// Position of the first point at or after `hash` among the points of its bucket `b`, or
    /// the next bucket's first position.
    #[inline]
    fn search(&self, hash: u64, b: usize) -> usize {
        let lo = self.starts.get(b).map_or(0, |&x| x as usize);
        let hi = self.starts.get(b + 1).map_or(lo, |&x| x as usize);
        let bucket = self.hashes.get(lo..hi).unwrap_or_default();
        // A bucket holds a few points: count the smaller ones without branches. Only a very
        // crowded one (nodes whose points cluster) takes the binary search.
        let within: usize = if bucket.len() <= 8 {
            bucket.iter().map(|&x| usize::from(x < hash)).sum()
        } else {
            bucket.partition_point(|&x| x < hash)
        };
        lo + within
    }

    /// Rebuilds the lookup arrays from `points`.
    fn rebuild(&mut self) {
        self.hashes.clear();
        self.hashes.extend(self.points.iter().map(|p| p.hash));
        self.owners.clear();
        self.owners.extend(self.points.iter().map(|p| p.node));
        self.prev = prev_same(&self.owners, self.members.len());
        // About one point per bucket: bits = ceil(log2(points)), at least 1 (at most 20, as
        // points <= 2^20).
        let len = self.hashes.len();
        let bits = (usize::BITS - len.saturating_sub(1).leading_zeros()).clamp(1, 20);
        self.shift = 64 - bits;
        self.slots.clear();
        self.starts.clear();
        if len == 0 {
            // No slots, so an empty ring routes nowhere.
            return;
        }
        let buckets = 1usize << bits;
        self.slots.reserve(buckets + 1);
        self.starts.reserve(buckets + 1);
        let owner_at = |j: usize| {
            let j = if j >= len { 0 } else { j };
            self.owners.get(j).copied().unwrap_or(0)
        };
        let mut j = 0usize;
        for b in 0..=buckets {
            let lo = j;
            while self
                .hashes
                .get(j)
                .is_some_and(|&h| ((h >> self.shift) as usize) <= b)
            {
                j += 1;
            }
            let rem = match self.hashes.get(lo..j) {
                Some(&[only]) => Slot::rem_of(only, self.shift),
                _ => Slot::REM_MASK,
            };
            self.slots.push(Slot::new(owner_at(lo), rem, j - lo));
            self.starts.push(lo as u32);
        }
    }

    /// The node that owns `hash` (as `route_hash`), for [`diff`](Self::diff).
    fn owner_at(&self, hash: u64) -> Option<&N> {
        let pos = self.position(hash)?;
        let owner = *self.owners.get(pos)?;
        self.members.nodes.get(owner as usize)
    }
}

impl<N: Hash + Eq> HashRing<N> {
    /// Adds `node` with weight 1, or sets an existing member's weight back to 1.
    ///
    /// # Errors
    ///
    /// [`MembershipError::IdentityCollision`] if a different member has the same identity hash, and
    /// [`MembershipError::TooManyPoints`] past [`MAX_POINTS`](Self::MAX_POINTS).
    pub fn add(&mut self, node: N) -> Result<(), MembershipError> {
        self.add_weighted(node, 1)
    }

    /// Adds `node` with `weight` (it gets `weight × vnodes` points), or changes an existing
    /// member's weight. A node's points are the same whatever its weight's history: weight 3
    /// means virtual nodes `0..3 × vnodes`, so raising a weight only adds points.
    ///
    /// # Errors
    ///
    /// [`MembershipError::ZeroWeight`] for weight 0 (use [`remove`](Self::remove)),
    /// [`MembershipError::IdentityCollision`] if a different member has the same identity hash, and
    /// [`MembershipError::TooManyPoints`] past [`MAX_POINTS`](Self::MAX_POINTS). On error the ring is
    /// unchanged.
    pub fn add_weighted(&mut self, node: N, weight: u32) -> Result<(), MembershipError> {
        if weight == 0 {
            return Err(MembershipError::ZeroWeight);
        }
        let old_points = match self.members.find(&node)? {
            Some(i) => self.points_for(self.members.weight(i)),
            None => 0,
        };
        let requested = self.points.len() as u64 - old_points + self.points_for(weight);
        if requested > Self::MAX_POINTS || self.members.len() as u64 >= Self::MAX_POINTS {
            return Err(MembershipError::TooManyPoints {
                requested,
                max: Self::MAX_POINTS,
            });
        }
        let i = match self.members.upsert(node, weight)? {
            Upsert::Unchanged => return Ok(()),
            Upsert::Added(i) | Upsert::Reweighted(i) => i,
        };
        self.points.retain(|p| p.node as usize != i);
        let id = self.members.id(i);
        let count = self.points_for(weight) as u32; // <= MAX_POINTS, checked above
        let mut fresh: Vec<Point> = (0..count)
            .map(|vnode| Point {
                hash: point_hash(id, vnode),
                id,
                vnode,
                node: i as u32,
            })
            .collect();
        fresh.sort_unstable();
        self.points = merge(std::mem::take(&mut self.points), fresh);
        self.rebuild();
        Ok(())
    }

    /// Removes `node`; returns whether it was a member. Only the keys it owned move, each to
    /// the next node clockwise.
    pub fn remove(&mut self, node: &N) -> bool {
        let last = self.members.len().saturating_sub(1) as u32;
        let Some(i) = self.members.remove(node) else {
            return false;
        };
        let i = i as u32;
        self.points.retain(|p| p.node != i);
        for p in &mut self.points {
            if p.node == last {
                p.node = i;
            }
        }
        self.rebuild();
        true
    }

    /// Whether `node` is a member.
    pub fn contains(&self, node: &N) -> bool {
        matches!(self.members.find(node), Ok(Some(_)))
    }

    /// The weight of `node`, if it is a member.
    pub fn weight(&self, node: &N) -> Option<u32> {
        let i = self.members.find(node).ok().flatten()?;
        Some(self.members.weight(i))
    }

    /// The hash ranges `node` owns, sorted, disjoint, inclusive, never wrapping, adjacent ranges
    /// merged; empty if it is not a member. A node that starts up (or rebuilds its index)
    /// loads exactly the keys whose [`key_hash`](crate::key_hash) falls in these ranges.
    /// O(P log P) for P points.
    ///
    /// ```
    /// use sinew_ring::{HashRing, key_hash};
    ///
    /// let ring: HashRing<&str> = ["a", "b", "c"].into_iter().collect();
    /// let mine = ring.ranges_of(&"b");
    /// let h = key_hash("some key");
    /// assert_eq!(mine.iter().any(|r| r.contains(h)), ring.route_hash(h) == Some(&"b"));
    /// ```
    pub fn ranges_of(&self, node: &N) -> Vec<HashRange> {
        let nobody = Self::with_vnodes(self.vnodes);
        Self::diff(&nobody, self)
            .into_iter()
            .filter(|m| m.to == Some(node))
            .map(|m| m.range)
            .collect()
    }

    /// The hash ranges whose owner differs between `old` and `new`: the migration plan.
    ///
    /// Each [`Move`] says that keys whose [`key_hash`](crate::key_hash) lies in `range` were
    /// owned by `from` and are now owned by `to`; so `from` streams exactly those keys to `to`.
    /// Ranges are disjoint, sorted, inclusive at both ends, never wrap (the range across
    /// `u64::MAX` is split in two), and adjacent ranges with the same `from` and `to` are
    /// merged. `from`/`to` are `None` where a ring is empty. O(P log P) for P points.
    ///
    /// ```
    /// use sinew_ring::HashRing;
    ///
    /// let mut old = HashRing::with_vnodes(4);
    /// old.add("a")?;
    /// old.add("b")?;
    /// let mut new = old.clone();
    /// new.add("c")?;
    /// for m in HashRing::diff(&old, &new) {
    ///     assert_eq!(m.to, Some(&"c")); // every moved range goes to the new node
    /// }
    /// Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn diff<'a>(old: &'a Self, new: &'a Self) -> Vec<Move<'a, N>> {
        // Every range boundary is a point of one ring; between consecutive boundaries both
        // owners are constant, and equal to the owners of the boundary that ends the range.
        let mut ends: Vec<u64> = Vec::with_capacity(old.hashes.len() + new.hashes.len() + 1);
        ends.extend_from_slice(&old.hashes);
        ends.extend_from_slice(&new.hashes);
        ends.push(u64::MAX);
        ends.sort_unstable();
        ends.dedup();
        let mut moves: Vec<Move<'a, N>> = Vec::new();
        let mut first = 0u64;
        for last in ends {
            let from = old.owner_at(last);
            let to = new.owner_at(last);
            if from != to {
                match moves.last_mut() {
                    Some(m)
                        if m.from == from
                            && m.to == to
                            && m.range.last.wrapping_add(1) == first =>
                    {
                        m.range.last = last;
                    }
                    _ => moves.push(Move {
                        range: HashRange { first, last },
                        from,
                        to,
                    }),
                }
            }
            first = last.wrapping_add(1);
        }
        moves
    }
}

/// Merges two canonically sorted point lists.
fn merge(a: Vec<Point>, b: Vec<Point>) -> Vec<Point> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let mut a = a.into_iter().peekable();
    let mut b = b.into_iter().peekable();
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x <= y,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        out.extend(if take_a { a.next() } else { b.next() });
    }
    out
}

impl<N: Hash + Eq> FromIterator<N> for HashRing<N> {
    /// A ring with 160 virtual nodes per node, all of weight 1. Duplicates are added once;
    /// a node whose identity collides with another's, or past `MAX_POINTS`, is left out.
    fn from_iter<I: IntoIterator<Item = N>>(iter: I) -> Self {
        let mut ring = Self::new();
        ring.extend_weighted(iter.into_iter().map(|n| (n, 1)));
        ring
    }
}

impl<N: Hash + Eq> HashRing<N> {
    /// Adds many `(node, weight)` pairs with one rebuild (faster than `add` in a loop).
    /// Returns the pairs that were refused, with why (see [`add_weighted`](Self::add_weighted)).
    pub fn extend_weighted<I: IntoIterator<Item = (N, u32)>>(
        &mut self,
        iter: I,
    ) -> Vec<(N, MembershipError)> {
        let mut refused = Vec::new();
        let mut total = self.points.len() as u64;
        let mut changed = false;
        for (node, weight) in iter {
            if weight == 0 {
                refused.push((node, MembershipError::ZeroWeight));
                continue;
            }
            let old_points = match self.members.find(&node) {
                Ok(Some(i)) => self.points_for(self.members.weight(i)),
                Ok(None) => 0,
                Err(e) => {
                    refused.push((node, e));
                    continue;
                }
            };
            let requested = total - old_points + self.points_for(weight);
            if requested > Self::MAX_POINTS {
                let max = Self::MAX_POINTS;
                refused.push((node, MembershipError::TooManyPoints { requested, max }));
                continue;
            }
            // Cannot fail: the weight is positive and `find` found no collision.
            if let Ok(Upsert::Added(_) | Upsert::Reweighted(_)) = self.members.upsert(node, weight)
            {
                total = requested;
                changed = true;
            }
        }
        if changed {
            self.points.clear();
            for i in 0..self.members.len() {
                let id = self.members.id(i);
                let count = self.points_for(self.members.weight(i)) as u32;
                self.points.extend((0..count).map(|vnode| Point {
                    hash: point_hash(id, vnode),
                    id,
                    vnode,
                    node: i as u32,
                }));
            }
            self.points.sort_unstable();
            self.rebuild();
        }
        refused
    }
}

impl<N> ConsistentHash for HashRing<N> {
    crate::members::member_access!();

    #[inline]
    fn route_index(&self, hash: u64) -> Option<usize> {
        // As `position`, but most keys take their owner from the slots, without reading the
        // points at all.
        let b = self.bucket(hash);
        let &[here, next] = self.slots.get(b..b + 2)? else {
            return None;
        };
        let rem = Slot::rem_of(hash, self.shift);
        if here.sparse() && rem != here.rem() {
            return Some(if rem > here.rem() {
                next.owner()
            } else {
                here.owner()
            });
        }
        let pos = self.search(hash, b);
        let pos = if pos >= self.hashes.len() { 0 } else { pos };
        self.owners.get(pos).map(|&o| o as usize)
    }

    fn replica_indices(&self, hash: u64, n: usize) -> impl Iterator<Item = usize> + '_ {
        let start = self.position(hash).unwrap_or(0);
        Walk::new(&self.owners, &self.prev, start, n.min(self.members.len()))
    }
}

crate::inherent_router_methods!(HashRing);

/// A contiguous, inclusive range of key hashes (`first..=last`, never wrapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HashRange {
    /// The first hash in the range.
    pub first: u64,
    /// The last hash in the range (inclusive).
    pub last: u64,
}

impl HashRange {
    /// Whether `hash` lies in the range.
    pub fn contains(&self, hash: u64) -> bool {
        self.first <= hash && hash <= self.last
    }

    /// The fraction of the whole 64-bit hash space this range covers (0 if `first > last`).
    #[allow(clippy::cast_precision_loss)] // a fraction for display
    pub fn fraction(&self) -> f64 {
        if self.first > self.last {
            return 0.0;
        }
        ((self.last - self.first) as f64 + 1.0) / 18_446_744_073_709_551_616.0
    }

    /// How many hashes the range holds, `last - first + 1` (0 if `first > last`; the whole
    /// space, 2⁶⁴, is returned as a `u128`).
    pub fn len(&self) -> u128 {
        if self.first > self.last {
            return 0;
        }
        u128::from(self.last - self.first) + 1
    }

    /// Whether the range holds no hash (`first > last`; ranges from [`HashRing::diff`] are
    /// never empty).
    pub fn is_empty(&self) -> bool {
        self.first > self.last
    }
}

/// One step of a migration plan: keys hashing into `range` move from `from` to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move<'a, N> {
    /// The key hashes that change owner.
    pub range: HashRange,
    /// The old owner (`None` if the old ring was empty).
    pub from: Option<&'a N>,
    /// The new owner (`None` if the new ring is empty).
    pub to: Option<&'a N>,
}
