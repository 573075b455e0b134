//! `serde` support: the routers' membership (nodes, weights, settings), never their derived
//! tables, which are rebuilt on deserialization. Nodes are written in identity order, so the
//! same membership always serializes the same way.
//!
//! Deserialization validates like the constructors do (zero weights, identity collisions,
//! duplicates, bad table sizes and the point limit are errors), so a deserialized router routes
//! exactly as the serialized one did. The work is bounded by the input before anything is
//! built: a ring may ask for at most [`HashRing::MAX_DECODED_POINTS_PER_NODE`] points per
//! listed node, a Maglev table for at most [`Maglev::MAX_DECODED_SLOTS_PER_NODE`] slots per
//! listed node (or the default size).

use std::hash::Hash;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

use crate::{ConfigError, HashRing, Jump, Maglev, MembershipError, Rendezvous, members::Members};

/// Members with weights, in identity order.
fn weighted<N>(m: &Members<N>) -> Vec<(&N, u32)> {
    let mut v: Vec<(u64, &N, u32)> = (0..m.len())
        .filter_map(|i| Some((m.id(i), m.nodes.get(i)?, m.weight(i))))
        .collect();
    v.sort_unstable_by_key(|&(id, _, _)| id);
    v.into_iter().map(|(_, n, w)| (n, w)).collect()
}

#[derive(Serialize)]
struct RingOut<'a, N> {
    vnodes: u32,
    nodes: Vec<(&'a N, u32)>,
}

#[derive(Deserialize)]
struct RingIn<N> {
    vnodes: u32,
    nodes: Vec<(N, u32)>,
}

impl<N: Serialize> Serialize for HashRing<N> {
    /// `{"vnodes": 160, "nodes": [[node, weight], ...]}`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RingOut {
            vnodes: self.vnodes(),
            nodes: weighted(self.members()),
        }
        .serialize(s)
    }
}

impl<'de, N: Deserialize<'de> + Hash + Eq> Deserialize<'de> for HashRing<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let RingIn { vnodes, nodes } = RingIn::deserialize(d)?;
        let count = nodes.len();
        // Bound the work by the input before building: vnodes × Σweight points.
        let requested = nodes.iter().fold(0u64, |acc, (_, w)| {
            acc.saturating_add(u64::from(*w).saturating_mul(u64::from(vnodes.max(1))))
        });
        let max = (count as u64)
            .saturating_mul(HashRing::<N>::MAX_DECODED_POINTS_PER_NODE)
            .min(HashRing::<N>::MAX_POINTS);
        if requested > max {
            return Err(D::Error::custom(MembershipError::TooManyPoints {
                requested,
                max,
            }));
        }
        let mut ring = HashRing::with_vnodes(vnodes);
        if let Some((_, e)) = ring.extend_weighted(nodes).into_iter().next() {
            return Err(D::Error::custom(e));
        }
        if ring.len() != count {
            return Err(D::Error::custom("a node is listed twice"));
        }
        Ok(ring)
    }
}

#[derive(Serialize)]
struct RendezvousOut<'a, N> {
    nodes: Vec<(&'a N, u32)>,
}

#[derive(Deserialize)]
struct RendezvousIn<N> {
    nodes: Vec<(N, u32)>,
}

impl<N: Serialize> Serialize for Rendezvous<N> {
    /// `{"nodes": [[node, weight], ...]}`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RendezvousOut {
            nodes: weighted(self.members()),
        }
        .serialize(s)
    }
}

impl<'de, N: Deserialize<'de> + Hash + Eq> Deserialize<'de> for Rendezvous<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let RendezvousIn { nodes } = RendezvousIn::deserialize(d)?;
        let count = nodes.len();
        let mut r = Rendezvous::new();
        for (node, weight) in nodes {
            r.add_weighted(node, weight).map_err(D::Error::custom)?;
        }
        if r.len() != count {
            return Err(D::Error::custom("a node is listed twice"));
        }
        Ok(r)
    }
}

#[derive(Serialize)]
struct MaglevOut<'a, N> {
    table_size: u32,
    nodes: Vec<&'a N>,
}

#[derive(Deserialize)]
struct MaglevIn<N> {
    table_size: u32,
    nodes: Vec<N>,
}

impl<N: Serialize> Serialize for Maglev<N> {
    /// `{"table_size": 65537, "nodes": [node, ...]}`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        MaglevOut {
            table_size: self.table_size(),
            nodes: weighted(self.members())
                .into_iter()
                .map(|(n, _)| n)
                .collect(),
        }
        .serialize(s)
    }
}

impl<'de, N: Deserialize<'de> + Hash + Eq> Deserialize<'de> for Maglev<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let MaglevIn { table_size, nodes } = MaglevIn::deserialize(d)?;
        let count = nodes.len();
        // Bound the table by the input before building it.
        let max = (count as u64)
            .saturating_mul(u64::from(Maglev::<N>::MAX_DECODED_SLOTS_PER_NODE))
            .max(u64::from(Maglev::<N>::DEFAULT_TABLE_SIZE));
        if u64::from(table_size) > max {
            return Err(D::Error::custom(ConfigError::TableTooLarge {
                size: u64::from(table_size),
                max,
            }));
        }
        let mut m = Maglev::with_table_size(table_size).map_err(D::Error::custom)?;
        if let Some((_, e)) = m.extend_nodes(nodes).into_iter().next() {
            return Err(D::Error::custom(e));
        }
        if m.len() != count {
            return Err(D::Error::custom("a node is listed twice"));
        }
        Ok(m)
    }
}

impl<N: Serialize> Serialize for Jump<N> {
    /// `[node, ...]` in bucket order (the order matters for jump).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.nodes().serialize(s)
    }
}

impl<'de, N: Deserialize<'de> + Hash + Eq> Deserialize<'de> for Jump<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let nodes = Vec::<N>::deserialize(d)?;
        let mut jump = Jump::new();
        for node in nodes {
            if !jump.add(node) {
                return Err(D::Error::custom("a node is listed twice"));
            }
        }
        Ok(jump)
    }
}
