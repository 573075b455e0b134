//! The crate's errors: [`ConfigError`] for a router's settings, [`MembershipError`] for a
//! membership change that was refused.

use std::fmt;

/// Why a membership change was refused (`add`, `add_weighted`, `extend_*`); the router is
/// left as it was. No router method panics on any input.
///
/// One type for the membership changes of every router, so generic code handles them alike;
/// each method's `# Errors` section names the variants it can return (a `Maglev` never
/// returns `ZeroWeight`, a `HashRing` never `TableTooSmall`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MembershipError {
    /// A weight of zero was given; a member must own something. Remove the node instead.
    ZeroWeight,
    /// The node is distinct (by `Eq`) from a member whose identity hash
    /// ([`node_id`](crate::node_id)) is the same, so their placements would coincide.
    /// The chance for n nodes is about n²/2⁶⁵; rename one of them.
    IdentityCollision {
        /// The shared identity hash.
        id: u64,
    },
    /// The ring would hold more virtual nodes than [`HashRing::MAX_POINTS`](crate::HashRing::MAX_POINTS)
    /// (or, when deserializing, than [`HashRing::MAX_DECODED_POINTS_PER_NODE`](crate::HashRing::MAX_DECODED_POINTS_PER_NODE)
    /// per listed node).
    TooManyPoints {
        /// The points the change asked for in total.
        requested: u64,
        /// The limit.
        max: u64,
    },
    /// A Maglev table must have at least as many slots as there are nodes.
    TableTooSmall {
        /// The table size.
        size: u64,
        /// The nodes the change asked for.
        nodes: u64,
    },
}

impl fmt::Display for MembershipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroWeight => f.write_str("a node's weight must be at least 1"),
            Self::IdentityCollision { id } => write!(
                f,
                "the node's identity hash {id:#018x} equals that of a different member"
            ),
            Self::TooManyPoints { requested, max } => write!(
                f,
                "the ring would hold {requested} virtual nodes, more than the limit of {max}"
            ),
            Self::TableTooSmall { size, nodes } => write!(
                f,
                "a Maglev table of {size} slots cannot hold {nodes} nodes"
            ),
        }
    }
}

impl std::error::Error for MembershipError {}

/// A router setting that is out of range (`Maglev::with_table_size`, `BoundedLoad::new`, or
/// a deserialized router's settings). Each variant names the setting.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A Maglev table size that is not a prime in `3..=`[`Maglev::MAX_TABLE_SIZE`](crate::Maglev::MAX_TABLE_SIZE).
    BadTableSize {
        /// The size asked for.
        size: u64,
    },
    /// A deserialized Maglev router asked for a table larger than its node count justifies
    /// (see [`Maglev::MAX_DECODED_SLOTS_PER_NODE`](crate::Maglev::MAX_DECODED_SLOTS_PER_NODE)).
    TableTooLarge {
        /// The table size asked for.
        size: u64,
        /// The largest size allowed for that many nodes.
        max: u64,
    },
    /// A bounded-load capacity factor that is not a finite number at least 1.
    BadCapacityFactor {
        /// The factor given.
        factor: f64,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadTableSize { size } => write!(
                f,
                "Maglev table size {size} is not a prime between 3 and 2^20"
            ),
            Self::TableTooLarge { size, max } => write!(
                f,
                "a Maglev table of {size} slots is more than the {max} allowed for its nodes"
            ),
            Self::BadCapacityFactor { factor } => write!(
                f,
                "capacity factor {factor} is not a finite number at least 1"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}
