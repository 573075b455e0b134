//! Every error type of the crate: [`HlcError`], from the hybrid logical clock and its
//! timestamps.

use std::fmt;

/// Why a hybrid logical clock operation or an [`HlcTimestamp`](crate::HlcTimestamp)
/// constructor refused its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HlcError {
    /// [`HybridClock::update`](crate::HybridClock::update) was given a timestamp whose physical
    /// part is further ahead of the local physical clock than the clock's maximum offset. The
    /// clock was left unchanged: accepting it would drag every later local timestamp that far
    /// into the future.
    ClockOffset {
        /// The physical part of the received timestamp, in ms since the Unix epoch.
        received_ms: u64,
        /// The local physical clock when it was refused, in ms since the Unix epoch.
        local_ms: u64,
        /// The clock's maximum offset, in whole ms.
        max_offset_ms: u64,
    },
    /// [`HlcTimestamp::new`](crate::HlcTimestamp::new) was given physical milliseconds beyond
    /// the 48 bits a timestamp holds ([`HlcTimestamp::MAX_PHYSICAL_MS`](crate::HlcTimestamp::MAX_PHYSICAL_MS),
    /// in the year 10889).
    PhysicalOutOfRange {
        /// The physical milliseconds given.
        physical_ms: u64,
    },
    /// [`HlcTimestamp::decode`](crate::HlcTimestamp::decode) was given a slice that is not
    /// exactly 8 bytes long.
    Length {
        /// The length of the slice given.
        len: usize,
    },
}

impl fmt::Display for HlcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::ClockOffset {
                received_ms,
                local_ms,
                max_offset_ms,
            } => write!(
                f,
                "received timestamp is {} ms ahead of the local clock ({received_ms} ms vs \
                 {local_ms} ms since the Unix epoch), more than the maximum offset of \
                 {max_offset_ms} ms",
                received_ms.saturating_sub(local_ms)
            ),
            Self::PhysicalOutOfRange { physical_ms } => write!(
                f,
                "physical time {physical_ms} ms does not fit the 48 bits of a hybrid logical \
                 timestamp (at most {} ms)",
                crate::HlcTimestamp::MAX_PHYSICAL_MS
            ),
            Self::Length { len } => write!(
                f,
                "a hybrid logical timestamp is exactly 8 bytes, got {len}"
            ),
        }
    }
}

impl std::error::Error for HlcError {}
