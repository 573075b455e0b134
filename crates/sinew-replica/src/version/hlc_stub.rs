//! TEMPORARY STAND-IN for `sinew_clock::HlcTimestamp`, which is being added to sinew-clock in
//! parallel. Same names and signatures; replace this file with
//! `pub use sinew_clock::HlcTimestamp;` in `version/mod.rs` when it lands.

/// A 64-bit hybrid logical timestamp (stand-in; see the module note).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct HlcTimestamp(u64);

impl HlcTimestamp {
    /// The timestamp whose 64-bit form is `raw`.
    pub const fn from_u64(raw: u64) -> Self {
        HlcTimestamp(raw)
    }

    /// The 64-bit form, ordered like the timestamps.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The 8-byte big-endian encoding, which sorts like the timestamps.
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    /// The timestamp of an 8-byte big-endian encoding.
    pub const fn from_bytes(bytes: [u8; 8]) -> Self {
        HlcTimestamp(u64::from_be_bytes(bytes))
    }
}
