//! Dynamo-style replication as a library (work in progress on issue 16).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub(crate) mod codec;
mod coordinator;
pub mod error;
mod hints;
mod message;
mod options;
mod replica;
mod store;
pub mod version;

pub use coordinator::{
    Completion, Coordinator, CoordinatorMetrics, DEFAULT_MAX_IN_FLIGHT, OpId, ReadOutcome,
    WriteOutcome,
};
pub use error::{ConfigError, DecodeError, OpError};
pub use hints::{DEFAULT_MAX_HINT_BYTES, DEFAULT_MAX_HINTS, Hint, HintStore};
pub use message::{Message, Transmit, WireNode};
pub use options::{MAX_N, Options, ReadRepair};
pub use replica::{Replica, ReplicaMetrics};
pub use store::{MemoryStore, Store};
pub use version::{Dot, Policy, Sibling, Siblings, VersionVector};

/// The hybrid logical clock's types, from sinew-clock.
pub use sinew_clock::{HlcTimestamp, HybridClock};
