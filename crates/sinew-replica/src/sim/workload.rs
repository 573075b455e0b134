//! The clients: each runs one operation at a time, with a think time in between.
//!
//! An operation is either a read-modify-write (a get, then, if it succeeded, a put of a
//! fresh unique value carrying the context the get returned: in the history these are two
//! operations, a read and a write whose parents are the values read) or a blind read. Keys
//! are drawn uniformly from the key space, so that with the default 8 clients and 1,000
//! keys some writes to one key overlap in time (about 1% of them in steady state, many more
//! across a partition), and every key sees about a hundred writes in a 100,000-operation
//! run.

use std::time::Duration;

use rand::RngExt;
use rand::rngs::Xoshiro256PlusPlus;

use crate::OpId;

/// What a client is doing.
#[derive(Clone, Debug)]
pub(crate) enum State {
    /// Thinking until its wake-up event.
    Idle,
    /// Waiting for a get.
    Reading {
        call: Call,
        key: usize,
        /// Whether a put follows (a read-modify-write) or not (a blind read).
        then_write: bool,
    },
    /// Waiting for a put.
    Writing { call: Call, write: u64 },
}

/// Where an operation was sent: the node, the node's life, and the coordinator's id for it
/// (`None` when the node was down and only the client's own timeout will end it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Call {
    pub(crate) node: usize,
    pub(crate) incarnation: u32,
    pub(crate) op: Option<OpId>,
    pub(crate) invoke: Duration,
}

/// One client.
#[derive(Clone, Debug)]
pub(crate) struct Client {
    pub(crate) state: State,
    /// Bumped at every operation, so that a stale client-side timeout is recognised.
    pub(crate) attempt: u64,
}

/// The workload's shape.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Workload {
    pub(crate) keys: usize,
    /// Share of operations that are blind reads (the rest are read-modify-writes).
    pub(crate) blind_reads: f64,
    pub(crate) think_max: Duration,
}

impl Workload {
    /// The next operation: a key and whether it is a read-modify-write.
    pub(crate) fn next_op(&self, rng: &mut Xoshiro256PlusPlus) -> (usize, bool) {
        let key = rng.random_range(0..self.keys.max(1));
        let rmw = rng.random::<f64>() >= self.blind_reads;
        (key, rmw)
    }

    /// A think time, uniform in `[1 ms, think_max]`.
    pub(crate) fn think(&self, rng: &mut Xoshiro256PlusPlus) -> Duration {
        let min = Duration::from_millis(1);
        let span = u64::try_from(self.think_max.saturating_sub(min).as_micros()).unwrap_or(0);
        min + Duration::from_micros(rng.random_range(0..=span))
    }
}

/// The bytes of key number `k`.
pub(crate) fn key_bytes(k: usize) -> bytes::Bytes {
    bytes::Bytes::from(format!("key-{k:06}"))
}
