//! Membership storage shared by the routers: nodes, their identities and weights.

use std::hash::Hash;

use crate::{Error, hash::node_id};

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
#[derive(Debug, Clone)]
pub(crate) struct Members<N> {
    pub(crate) nodes: Vec<N>,
    pub(crate) ids: Vec<u64>,
    pub(crate) weights: Vec<u32>,
}

impl<N> Default for Members<N> {
    fn default() -> Self {
        Self {
            nodes: Vec::new(),
            ids: Vec::new(),
            weights: Vec::new(),
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
}

impl<N: Hash + Eq> Members<N> {
    /// Looks a node up: `Ok(Some(i))` if it is member `i`, `Ok(None)` if absent, and
    /// `Err(IdentityCollision)` if a different member has its identity.
    pub(crate) fn find(&self, node: &N) -> Result<Option<usize>, Error> {
        let id = node_id(node);
        match self.ids.iter().position(|&x| x == id) {
            None => Ok(None),
            Some(i) if self.nodes.get(i) == Some(node) => Ok(Some(i)),
            Some(_) => Err(Error::IdentityCollision { id }),
        }
    }

    /// Adds `node` with `weight`, or sets the weight of an existing member.
    pub(crate) fn upsert(&mut self, node: N, weight: u32) -> Result<Upsert, Error> {
        if weight == 0 {
            return Err(Error::ZeroWeight);
        }
        match self.find(&node)? {
            Some(i) => match self.weights.get_mut(i) {
                Some(w) if *w == weight => Ok(Upsert::Unchanged),
                Some(w) => {
                    *w = weight;
                    Ok(Upsert::Reweighted(i))
                }
                None => Ok(Upsert::Unchanged),
            },
            None => {
                self.ids.push(node_id(&node));
                self.nodes.push(node);
                self.weights.push(weight);
                Ok(Upsert::Added(self.nodes.len() - 1))
            }
        }
    }

    /// Removes `node`; returns the index it had (the last member now has that index).
    pub(crate) fn remove(&mut self, node: &N) -> Option<usize> {
        let i = self.find(node).ok().flatten()?;
        self.nodes.swap_remove(i);
        self.ids.swap_remove(i);
        self.weights.swap_remove(i);
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
