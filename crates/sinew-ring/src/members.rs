//! Membership storage shared by the routers: nodes, their identities and weights.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use crate::{MembershipError, hash::node_id};

/// What [`Members::upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upsert {
    /// A new member at this index.
    Added(usize),
    /// An existing member at this index had another weight.
    Reweighted(usize),
    /// Already a member with this weight.
    Unchanged,
}

/// Nodes with their identity hashes and weights; indices are dense (`0..len`), and removal is
/// `swap_remove` (the last member takes the removed one's index).
///
/// Lookups by node go through a hash map from identity to index, so `find`, `upsert` and
/// `remove` are O(1) expected (plus one hash of the node), and building a membership of n
/// nodes one at a time is O(n), not O(n²). The map is private bookkeeping: placement never
/// depends on it (std's `RandomState` is fine here, and resists crafted identities).
#[derive(Clone)]
pub(crate) struct Members<N> {
    pub(crate) nodes: Vec<N>,
    pub(crate) ids: Vec<u64>,
    pub(crate) weights: Vec<u32>,
    /// `index[ids[i]] == i` for every member `i`.
    index: HashMap<u64, usize>,
    /// How many members have each weight (for "are all weights equal?" in O(1)).
    weight_counts: BTreeMap<u32, usize>,
}

impl<N> std::fmt::Debug for Members<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Members")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl<N> Default for Members<N> {
    fn default() -> Self {
        Self {
            nodes: Vec::new(),
            ids: Vec::new(),
            weights: Vec::new(),
            index: HashMap::new(),
            weight_counts: BTreeMap::new(),
        }
    }
}

impl<N> Members<N> {
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The weight of member `i` (0 if out of range).
    pub(crate) fn weight(&self, i: usize) -> u32 {
        self.weights.get(i).copied().unwrap_or(0)
    }

    /// The identity of member `i` (0 if out of range).
    pub(crate) fn id(&self, i: usize) -> u64 {
        self.ids.get(i).copied().unwrap_or(0)
    }

    /// Members with their weights, in index order.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = (&N, u32)> + '_ {
        self.nodes.iter().zip(self.weights.iter().copied())
    }

    /// Whether every member has the same weight (true when empty). O(1).
    pub(crate) fn uniform(&self) -> bool {
        self.weight_counts.len() <= 1
    }

    fn count_weight(&mut self, weight: u32) {
        *self.weight_counts.entry(weight).or_insert(0) += 1;
    }

    fn uncount_weight(&mut self, weight: u32) {
        if let Some(c) = self.weight_counts.get_mut(&weight) {
            *c = c.saturating_sub(1);
            if *c == 0 {
                self.weight_counts.remove(&weight);
            }
        }
    }
}

impl<N: Hash + Eq> Members<N> {
    /// Looks a node up: `Ok(Some(i))` if it is member `i`, `Ok(None)` if absent, and
    /// `Err(IdentityCollision)` if a different member has its identity. O(1) expected.
    pub(crate) fn find(&self, node: &N) -> Result<Option<usize>, MembershipError> {
        self.find_id(node, node_id(node))
    }

    fn find_id(&self, node: &N, id: u64) -> Result<Option<usize>, MembershipError> {
        match self.index.get(&id) {
            None => Ok(None),
            Some(&i) if self.nodes.get(i) == Some(node) => Ok(Some(i)),
            Some(_) => Err(MembershipError::IdentityCollision { id }),
        }
    }

    /// Adds `node` with `weight`, or sets the weight of an existing member.
    pub(crate) fn upsert(&mut self, node: N, weight: u32) -> Result<Upsert, MembershipError> {
        if weight == 0 {
            return Err(MembershipError::ZeroWeight);
        }
        let id = node_id(&node);
        match self.find_id(&node, id)? {
            Some(i) => {
                let old = self.weight(i);
                if old == weight {
                    return Ok(Upsert::Unchanged);
                }
                if let Some(w) = self.weights.get_mut(i) {
                    *w = weight;
                }
                self.uncount_weight(old);
                self.count_weight(weight);
                Ok(Upsert::Reweighted(i))
            }
            None => {
                let i = self.nodes.len();
                self.ids.push(id);
                self.nodes.push(node);
                self.weights.push(weight);
                self.index.insert(id, i);
                self.count_weight(weight);
                Ok(Upsert::Added(i))
            }
        }
    }

    /// Removes `node`; returns the index it had (the last member now has that index).
    pub(crate) fn remove(&mut self, node: &N) -> Option<usize> {
        let i = self.find(node).ok().flatten()?;
        self.nodes.swap_remove(i);
        let id = self.ids.swap_remove(i);
        let weight = self.weights.swap_remove(i);
        self.index.remove(&id);
        // The former last member (if any) now sits at `i`.
        if let Some(&moved) = self.ids.get(i) {
            self.index.insert(moved, i);
        }
        self.uncount_weight(weight);
        Some(i)
    }
}

/// The `ConsistentHash` items every `Members`-backed router shares: the node type, `len` and
/// `node`, over a field named `members`.
macro_rules! member_access {
    () => {
        type Node = N;

        #[inline]
        fn len(&self) -> usize {
            self.members.len()
        }

        #[inline]
        fn node(&self, index: usize) -> Option<&N> {
            self.members.nodes.get(index)
        }
    };
}
pub(crate) use member_access;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)] // tests fail loudly
mod tests {
    use std::hash::Hasher;

    use proptest::prelude::*;

    use super::*;

    /// The index and weight counts must agree with a plain scan after any sequence of
    /// upserts and removes (swap_remove moves the last member, whose index must follow).
    fn check(m: &Members<u16>, model: &[(u16, u32)]) {
        assert_eq!(m.len(), model.len());
        assert_eq!(m.index.len(), model.len());
        for (i, (&id, node)) in m.ids.iter().zip(&m.nodes).enumerate() {
            assert_eq!(m.index.get(&id), Some(&i), "index of member {i}");
            assert_eq!(id, node_id(node));
            assert_eq!(m.find(node), Ok(Some(i)));
        }
        let mut got: Vec<(u16, u32)> = m.iter().map(|(&n, w)| (n, w)).collect();
        got.sort_unstable();
        let mut want = model.to_vec();
        want.sort_unstable();
        assert_eq!(got, want);
        let first = model.first().map(|&(_, w)| w);
        assert_eq!(m.uniform(), model.iter().all(|&(_, w)| Some(w) == first));
        let counted: usize = m.weight_counts.values().sum();
        assert_eq!(counted, model.len());
    }

    proptest! {
        #[test]
        fn index_matches_a_scan(ops in prop::collection::vec((any::<bool>(), 0u16..16, 1u32..4), 0..80)) {
            let mut m = Members::default();
            let mut model: Vec<(u16, u32)> = Vec::new();
            for (add, n, w) in ops {
                if add {
                    let before = model.iter().position(|&(x, _)| x == n);
                    let got = m.upsert(n, w).unwrap();
                    match before {
                        None => {
                            prop_assert_eq!(got, Upsert::Added(model.len()));
                            model.push((n, w));
                        }
                        Some(j) if model[j].1 == w => prop_assert_eq!(got, Upsert::Unchanged),
                        Some(j) => {
                            prop_assert!(matches!(got, Upsert::Reweighted(_)));
                            model[j].1 = w;
                        }
                    }
                } else {
                    let had = model.iter().any(|&(x, _)| x == n);
                    prop_assert_eq!(m.remove(&n).is_some(), had);
                    model.retain(|&(x, _)| x != n);
                }
                check(&m, &model);
            }
        }
    }

    #[derive(Debug, PartialEq, Eq)]
    struct Colliding(u8);
    impl Hash for Colliding {
        fn hash<H: Hasher>(&self, _: &mut H) {}
    }

    #[test]
    fn collisions_are_found_through_the_index() {
        let mut m = Members::default();
        assert_eq!(m.upsert(Colliding(1), 1), Ok(Upsert::Added(0)));
        assert!(matches!(
            m.upsert(Colliding(2), 1),
            Err(MembershipError::IdentityCollision { .. })
        ));
        assert!(matches!(
            m.find(&Colliding(2)),
            Err(MembershipError::IdentityCollision { .. })
        ));
        assert_eq!(m.remove(&Colliding(2)), None);
        assert_eq!(m.remove(&Colliding(1)), Some(0));
        assert_eq!(m.upsert(Colliding(2), 1), Ok(Upsert::Added(0)));
    }
}
