//! Maglev hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
//! Balancer", NSDI 2016).

// Table slots and node indices are u32: the table has at most MAX_TABLE_SIZE < 2^32 slots.
#![allow(clippy::cast_possible_truncation)]

use std::hash::Hash;

use crate::{
    ConfigError, ConsistentHash, MembershipError,
    hash::{MAGLEV_OFFSET_SEED, MAGLEV_SKIP_SEED, hash_u64},
    members::{Members, Upsert},
    walk::{Walk, prev_same},
};

/// Maglev hashing: a lookup table of prime size `M` (default 65 537) in which every node owns
/// `M / n` slots (±1), filled from per-node permutations of the slots.
///
/// Node `n` with identity `id` ([`node_id`](crate::node_id)) has `offset = xxh3(id, OFFSET) mod
/// M` and `skip = xxh3(id, SKIP) mod (M − 1) + 1` (XXH3-64 of the 8 little-endian bytes of
/// `id`, seeded with [`MAGLEV_OFFSET_SEED`](crate::hash::MAGLEV_OFFSET_SEED) and
/// [`MAGLEV_SKIP_SEED`](crate::hash::MAGLEV_SKIP_SEED)), and prefers slots `offset, offset + skip,
/// offset + 2·skip, …` (mod `M`, a permutation since `M` is prime). Nodes, taken in order of
/// identity (so the table does not depend on insertion order), claim in turn their next
/// preferred free slot until the table is full. A key with hash `h` is owned by slot
/// `⌊h · M / 2⁶⁴⌋` (a multiply, not a division). Replicas are the distinct owners of the
/// following slots.
///
/// `route` is O(1): one multiplication and one read. Every membership change rebuilds the
/// table: O(M log M) expected (each node's search for a free slot lengthens as the table
/// fills), O(M²) at worst; a few milliseconds at the default size (the crate README quotes a
/// measured rebuild at 10, 100 and 1000 nodes). Maglev balances
/// almost perfectly (every node owns ⌊M/n⌋ or ⌈M/n⌉ slots) but is not minimally disruptive: a
/// change moves the changed node's keys and some others (about 1.6 × the minimum at 100 nodes;
/// measure yours with [`moved_fraction`](crate::moved_fraction)). No weights.
///
/// ```
/// use sinew_ring::Maglev;
///
/// let mut m = Maglev::new();
/// for backend in ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"] {
///     m.add(backend)?;
/// }
/// let owner = m.route(&("10.9.8.7", 51234u16)); // a connection's 5-tuple, say
/// assert!(owner.is_some());
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Maglev<N> {
    members: Members<N>,
    size: u32,
    table: Vec<u32>,
    prev: Vec<u32>,
}

/// Concise: the sizes, not the table (65 537 slots by default).
impl<N> std::fmt::Debug for Maglev<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Maglev")
            .field("nodes", &self.members.len())
            .field("table_size", &self.size)
            .finish_non_exhaustive()
    }
}

impl<N> Default for Maglev<N> {
    fn default() -> Self {
        Self {
            members: Members::default(),
            size: Self::DEFAULT_TABLE_SIZE,
            table: Vec::new(),
            prev: Vec::new(),
        }
    }
}

/// Whether `n` is prime (trial division; `n` ≤ 2²⁰ so at most 1 024 divisions).
fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2;
    while d * d <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 1;
    }
    true
}

impl<N> Maglev<N> {
    /// The default table size, 65 537 (prime), as in the paper.
    pub const DEFAULT_TABLE_SIZE: u32 = 65_537;
    /// The largest table size accepted, 2²⁰ (the largest prime below it is 1 048 573; a slot
    /// costs 8 bytes, so about 8 MiB).
    pub const MAX_TABLE_SIZE: u32 = 1 << 20;
    /// The most slots per listed node a *deserialized* router may ask for: `table_size` must
    /// be at most the larger of [`DEFAULT_TABLE_SIZE`](Self::DEFAULT_TABLE_SIZE) and
    /// `1024 × nodes` (the paper's rule is at least 100 × nodes), checked before the table is
    /// built, so hostile input cannot make a few bytes allocate megabytes.
    pub const MAX_DECODED_SLOTS_PER_NODE: u32 = 1024;

    /// An empty router with a table of 65 537 slots.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty router with a table of `size` slots. Pick a prime well above 100 × the
    /// largest node count you expect (the paper's rule) for good balance.
    ///
    /// # Errors
    ///
    /// [`ConfigError::BadTableSize`] unless `size` is a prime in `3..=`[`MAX_TABLE_SIZE`](Self::MAX_TABLE_SIZE).
    pub fn with_table_size(size: u32) -> Result<Self, ConfigError> {
        if !(3..=Self::MAX_TABLE_SIZE).contains(&size) || !is_prime(u64::from(size)) {
            return Err(ConfigError::BadTableSize {
                size: u64::from(size),
            });
        }
        Ok(Self {
            size,
            ..Self::default()
        })
    }

    /// The table size `M`.
    pub fn table_size(&self) -> u32 {
        self.size
    }

    /// The membership, for serde.
    #[cfg(feature = "serde")]
    pub(crate) fn members(&self) -> &Members<N> {
        &self.members
    }

    /// The members, in no particular order.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = &N> + '_ {
        self.members.nodes.iter()
    }

    /// How many table slots member `node` owns, for inspecting balance.
    pub fn slots(&self) -> Vec<(&N, usize)> {
        let mut counts = vec![0usize; self.members.len()];
        for &o in &self.table {
            if let Some(c) = counts.get_mut(o as usize) {
                *c += 1;
            }
        }
        self.members.nodes.iter().zip(counts).collect()
    }

    /// Refills the table from the members (the paper's `Populate`).
    fn rebuild(&mut self) {
        let n = self.members.len();
        let m = self.size as usize;
        self.table.clear();
        if n == 0 {
            self.prev.clear();
            return;
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_unstable_by_key(|&i| self.members.id(i));
        let size = u64::from(self.size);
        // (next slot, skip) of each node, in `order`.
        let mut cursor: Vec<(u64, u64)> = order
            .iter()
            .map(|&i| {
                let id = self.members.id(i);
                let offset = hash_u64(MAGLEV_OFFSET_SEED, id) % size;
                let skip = hash_u64(MAGLEV_SKIP_SEED, id) % (size - 1) + 1;
                (offset, skip)
            })
            .collect();
        self.table.resize(m, u32::MAX);
        let mut filled = 0usize;
        'fill: loop {
            for (&i, (next, skip)) in order.iter().zip(cursor.iter_mut()) {
                // Every node's permutation covers all M slots, and a free slot exists, so
                // this finds one within M steps.
                for _ in 0..m {
                    let slot = *next as usize;
                    *next += *skip;
                    if *next >= size {
                        *next -= size;
                    }
                    if let Some(s) = self.table.get_mut(slot)
                        && *s == u32::MAX
                    {
                        *s = i as u32;
                        filled += 1;
                        break;
                    }
                }
                if filled >= m {
                    break 'fill;
                }
            }
        }
        self.prev = prev_same(&self.table, n);
    }

    #[inline]
    fn slot(&self, hash: u64) -> usize {
        ((u128::from(hash) * u128::from(self.size)) >> 64) as usize
    }
}

impl<N: Hash + Eq> Maglev<N> {
    /// Adds `node` (a no-op if it is already a member) and rebuilds the table.
    ///
    /// # Errors
    ///
    /// [`MembershipError::IdentityCollision`] if a different member has the same identity hash, and
    /// [`MembershipError::TableTooSmall`] if there would be more nodes than slots. On error nothing
    /// changes.
    pub fn add(&mut self, node: N) -> Result<(), MembershipError> {
        if self.members.find(&node)?.is_none() && self.members.len() >= self.size as usize {
            return Err(MembershipError::TableTooSmall {
                size: u64::from(self.size),
                nodes: self.members.len() as u64 + 1,
            });
        }
        if let Upsert::Added(_) = self.members.upsert(node, 1)? {
            self.rebuild();
        }
        Ok(())
    }

    /// Removes `node` and rebuilds the table; returns whether it was a member.
    pub fn remove(&mut self, node: &N) -> bool {
        let removed = self.members.remove(node).is_some();
        if removed {
            self.rebuild();
        }
        removed
    }

    /// Whether `node` is a member.
    pub fn contains(&self, node: &N) -> bool {
        matches!(self.members.find(node), Ok(Some(_)))
    }

    /// Adds many nodes with one rebuild; returns those refused, with why (see [`add`](Self::add)).
    pub fn extend_nodes<I: IntoIterator<Item = N>>(
        &mut self,
        iter: I,
    ) -> Vec<(N, MembershipError)> {
        let mut refused = Vec::new();
        let mut changed = false;
        for node in iter {
            match self.members.find(&node) {
                Err(e) => refused.push((node, e)),
                Ok(Some(_)) => {}
                Ok(None) if self.members.len() >= self.size as usize => {
                    let e = MembershipError::TableTooSmall {
                        size: u64::from(self.size),
                        nodes: self.members.len() as u64 + 1,
                    };
                    refused.push((node, e));
                }
                Ok(None) => changed |= self.members.upsert(node, 1).is_ok(),
            }
        }
        if changed {
            self.rebuild();
        }
        refused
    }
}

impl<N: Hash + Eq> FromIterator<N> for Maglev<N> {
    /// A router with the default table size; duplicates and refused nodes are left out.
    fn from_iter<I: IntoIterator<Item = N>>(iter: I) -> Self {
        let mut m = Self::new();
        m.extend_nodes(iter);
        m
    }
}

impl<N> ConsistentHash for Maglev<N> {
    crate::members::member_access!();

    #[inline]
    fn route_index(&self, hash: u64) -> Option<usize> {
        self.table.get(self.slot(hash)).map(|&o| o as usize)
    }

    fn replica_indices(&self, hash: u64, n: usize) -> impl Iterator<Item = usize> + '_ {
        Walk::new(
            &self.table,
            &self.prev,
            self.slot(hash),
            n.min(self.members.len()),
        )
    }
}

crate::inherent_router_methods!(Maglev);

#[cfg(test)]
mod tests {
    use super::is_prime;

    #[test]
    fn primes() {
        assert!(is_prime(65_537));
        assert!(is_prime(3));
        assert!(!is_prime(65_535));
        assert!(!is_prime(1));
        assert!(!is_prime(0));
    }
}
