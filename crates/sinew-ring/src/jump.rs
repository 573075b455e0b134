//! Jump consistent hashing (Lamping and Veach, 2014).

use std::collections::HashMap;
use std::hash::Hash;

use crate::{ConsistentHash, hash::node_id};

/// Jump consistent hash: the bucket in `0..buckets` for `key`, exactly the algorithm of
/// Lamping and Veach, "A Fast, Minimal Memory, Consistent Hash Algorithm" (2014):
///
/// ```c
/// int32_t JumpConsistentHash(uint64_t key, int32_t num_buckets) {
///     int64_t b = -1, j = 0;
///     while (j < num_buckets) {
///         b = j;
///         key = key * 2862933555777941757ULL + 1;
///         j = (b + 1) * (double(1LL << 31) / double((key >> 33) + 1));
///     }
///     return b;
/// }
/// ```
///
/// Going from `n` to `n + 1` buckets moves exactly the keys that land in the new bucket
/// (expected `1/(n + 1)` of them). O(ln buckets) time, no memory. `buckets == 0` returns 0
/// (the C code's -1 has no `u32`), so guard the empty case yourself if it can occur. Buckets
/// above `i32::MAX` work as the same arithmetic extended (the paper's signature stops at
/// `i32`).
///
/// ```
/// use sinew_ring::jump_hash;
///
/// assert_eq!(jump_hash(0, 1), 0);
/// let b = jump_hash(0xdead_beef, 10);
/// assert!(b < 10);
/// // Growing to 11 buckets keeps the key in place or moves it to the new bucket 10.
/// let c = jump_hash(0xdead_beef, 11);
/// assert!(c == b || c == 10);
/// ```
#[inline]
pub fn jump_hash(mut key: u64, buckets: u32) -> u32 {
    let buckets = i64::from(buckets);
    let mut b: i64 = -1;
    let mut j: i64 = 0;
    while j < buckets {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        #[allow(clippy::cast_precision_loss)] // as the paper: (key >> 33) + 1 < 2^31 is exact
        let r = (1u64 << 31) as f64 / ((key >> 33) + 1) as f64;
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        {
            // b + 1 <= 2^32 is exact in f64; `as` saturates on the (never reached) overflow.
            j = ((b + 1) as f64 * r) as i64;
        }
    }
    u32::try_from(b).unwrap_or(0)
}

/// A router over an ordered list of nodes using [`jump_hash`]: node `i` is bucket `i`.
///
/// Jump's buckets are numbered, so membership is a *list*, not a set: appending a node moves
/// only the keys that go to it (the minimum), and [`pop`](Self::pop) moves only the last
/// node's keys. Removing a node from the middle ([`remove`](Self::remove)) moves the last node
/// into its bucket, so the keys of two nodes move (2/n instead of 1/n). Use it for numbered
/// shards that grow and shrink at the end; use [`HashRing`](crate::HashRing) or
/// [`Rendezvous`](crate::Rendezvous) when arbitrary nodes come and go. Jump has no weights.
///
/// `add`, `remove`, `contains` and `pop` are O(1) expected (a hash map by
/// [`node_id`](crate::node_id); should two distinct nodes ever share an identity, chance about
/// n²/2⁶⁵, the router falls back to scanning by equality, still correct).
///
/// `route` is O(ln n) with no memory reads but the node list. Replica `i` of a key is bucket
/// `(jump_hash(key) + i) mod n`: distinct, stable, and the first is the jump owner.
///
/// ```
/// use sinew_ring::Jump;
///
/// let mut shards = Jump::new();
/// for name in ["s0", "s1", "s2"] {
///     shards.add(name);
/// }
/// let owner = shards.route(&12345u64);
/// assert!(owner.is_some());
/// assert_eq!(shards.replicas(&12345u64, 5).count(), 3); // only 3 nodes
/// ```
#[derive(Clone)]
pub struct Jump<N> {
    nodes: Vec<N>,
    /// `node_id(nodes[i])`.
    ids: Vec<u64>,
    /// `index[ids[i]] == i`, while no two nodes share an identity.
    index: HashMap<u64, usize>,
    /// Two distinct nodes share an identity: `index` is abandoned for scans by equality.
    collided: bool,
}

/// Two routers are equal when their node lists are (the same nodes in the same buckets).
impl<N: PartialEq> PartialEq for Jump<N> {
    fn eq(&self, other: &Self) -> bool {
        self.nodes == other.nodes
    }
}

impl<N: Eq> Eq for Jump<N> {}

/// Concise: the node count, not the list (see [`nodes`](Jump::nodes) for that).
impl<N> std::fmt::Debug for Jump<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jump")
            .field("nodes", &self.nodes.len())
            .finish_non_exhaustive()
    }
}

impl<N> Default for Jump<N> {
    fn default() -> Self {
        Self {
            nodes: Vec::new(),
            ids: Vec::new(),
            index: HashMap::new(),
            collided: false,
        }
    }
}

impl<N> Jump<N> {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// The nodes in bucket order.
    pub fn nodes(&self) -> &[N] {
        &self.nodes
    }

    /// Removes and returns the last node (only its keys move).
    pub fn pop(&mut self) -> Option<N> {
        let node = self.nodes.pop()?;
        if let Some(id) = self.ids.pop()
            && !self.collided
        {
            self.index.remove(&id);
        }
        Some(node)
    }

    /// The number of buckets jump uses (the node count, at most `u32::MAX`).
    #[inline]
    fn buckets(&self) -> u32 {
        u32::try_from(self.nodes.len()).unwrap_or(u32::MAX)
    }
}

impl<N: Hash + Eq> Jump<N> {
    /// The bucket of `node`, if it is a member.
    fn find(&self, node: &N, id: u64) -> Option<usize> {
        if self.collided {
            return self.nodes.iter().position(|n| n == node);
        }
        let &i = self.index.get(&id)?;
        (self.nodes.get(i) == Some(node)).then_some(i)
    }

    /// Appends `node` as the next bucket; returns `false` (and changes nothing) if it is
    /// already a member.
    pub fn add(&mut self, node: N) -> bool {
        let id = node_id(&node);
        if self.find(&node, id).is_some() {
            return false;
        }
        if !self.collided {
            if self.index.contains_key(&id) {
                // A distinct node with the same identity: scan by equality from now on.
                self.collided = true;
                self.index = HashMap::new();
            } else {
                self.index.insert(id, self.nodes.len());
            }
        }
        self.nodes.push(node);
        self.ids.push(id);
        true
    }

    /// Removes `node`, moving the last node into its bucket; returns whether it was a member.
    pub fn remove(&mut self, node: &N) -> bool {
        let Some(i) = self.find(node, node_id(node)) else {
            return false;
        };
        self.nodes.swap_remove(i);
        let id = self.ids.swap_remove(i);
        if !self.collided {
            self.index.remove(&id);
            if let Some(&moved) = self.ids.get(i) {
                self.index.insert(moved, i);
            }
        }
        true
    }

    /// Whether `node` is a member.
    pub fn contains(&self, node: &N) -> bool {
        self.find(node, node_id(node)).is_some()
    }
}

impl<N: Hash + Eq> FromIterator<N> for Jump<N> {
    /// Nodes in iteration order; later duplicates are dropped.
    fn from_iter<I: IntoIterator<Item = N>>(iter: I) -> Self {
        let mut jump = Self::new();
        for node in iter {
            jump.add(node);
        }
        jump
    }
}

impl<N> ConsistentHash for Jump<N> {
    type Node = N;

    #[inline]
    fn len(&self) -> usize {
        self.nodes.len()
    }

    #[inline]
    fn node(&self, index: usize) -> Option<&N> {
        self.nodes.get(index)
    }

    #[inline]
    fn route_index(&self, hash: u64) -> Option<usize> {
        if self.nodes.is_empty() {
            return None;
        }
        Some(jump_hash(hash, self.buckets()) as usize)
    }

    fn replica_indices(&self, hash: u64, n: usize) -> impl Iterator<Item = usize> + '_ {
        let len = self.buckets() as usize;
        let first = self.route_index(hash).unwrap_or(0);
        (0..n.min(len)).map(move |i| {
            let b = first + i;
            if b >= len { b - len } else { b }
        })
    }
}

crate::inherent_router_methods!(Jump);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)] // tests fail loudly
mod tests {
    use std::hash::Hasher;

    use proptest::prelude::*;

    use super::*;

    /// The index agrees with the list after any sequence of adds, removes and pops.
    fn check<N: Hash + Eq + std::fmt::Debug>(j: &Jump<N>, model: &[N]) {
        assert_eq!(j.nodes(), model);
        assert_eq!(j.ids.len(), model.len());
        if !j.collided {
            assert_eq!(j.index.len(), model.len());
            for (i, &id) in j.ids.iter().enumerate() {
                assert_eq!(j.index.get(&id), Some(&i));
            }
        }
        for n in model {
            assert!(j.contains(n));
        }
    }

    proptest! {
        #[test]
        fn index_matches_the_list(ops in prop::collection::vec((0u8..3, 0u16..12), 0..80)) {
            let mut j = Jump::new();
            let mut model: Vec<u16> = Vec::new();
            for (op, n) in ops {
                match op {
                    0 => {
                        prop_assert_eq!(j.add(n), !model.contains(&n));
                        if !model.contains(&n) { model.push(n); }
                    }
                    1 => {
                        let i = model.iter().position(|&x| x == n);
                        prop_assert_eq!(j.remove(&n), i.is_some());
                        if let Some(i) = i { model.swap_remove(i); }
                    }
                    _ => prop_assert_eq!(j.pop(), model.pop()),
                }
                check(&j, &model);
                prop_assert_eq!(j.contains(&n), model.contains(&n));
            }
        }
    }

    #[derive(Debug, PartialEq, Eq)]
    struct Colliding(u8);
    impl Hash for Colliding {
        fn hash<H: Hasher>(&self, _: &mut H) {}
    }

    /// Distinct nodes with one identity are still distinct members (found by equality).
    #[test]
    fn identity_collisions_fall_back_to_equality() {
        let mut j = Jump::new();
        assert!(j.add(Colliding(1)));
        assert!(j.add(Colliding(2)));
        assert!(!j.add(Colliding(1)));
        assert!(j.collided);
        assert!(j.contains(&Colliding(2)));
        assert!(j.remove(&Colliding(1)));
        assert!(!j.contains(&Colliding(1)));
        assert_eq!(j.nodes(), &[Colliding(2)]);
        assert_eq!(j.pop(), Some(Colliding(2)));
        assert!(j.is_empty());
    }
}
