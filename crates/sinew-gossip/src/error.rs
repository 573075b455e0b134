//! Every error of the crate, each re-exported where its operation lives.
//!
//! - [`ConfigError`]: a setting out of range, from every check of a configuration
//!   ([`Config::validate`](crate::Config::validate) and the constructors that run it,
//!   [`PhiAccrual::with_params`](crate::PhiAccrual::with_params), and with `tokio`
//!   [`ClusterConfigBuilder::build`](crate::runtime::ClusterConfigBuilder::build)).
//! - [`PacketError`] ([`Member::handle_packet`](crate::Member::handle_packet)),
//!   [`MetadataError`] ([`Member::set_metadata`](crate::Member::set_metadata)) and
//!   [`DecodeError`] ([`wire::decode`](crate::wire::decode)).
//! - [`ArgsError`] ([`ReportOptions::from_args`](crate::sim::ReportOptions::from_args)).
//! - With `aes-gcm`, the [`keyring`](crate::keyring)'s: `ParseKeyError`, `EntropyError`,
//!   `KeyError`, `SealError`, `OpenError`.
//! - With `tokio`, the [`runtime`](crate::runtime)'s: `ClusterError` (start),
//!   `SetMetadataError`, `UpdateKeyringError`, `StoppedError`.

use std::fmt;

use crate::wire::{DIGEST_BUCKETS, MAX_LABEL_LEN};

/// A setting out of range: why a [`Config`](crate::Config), a
/// [`PhiAccrual`](crate::PhiAccrual) or (with `tokio`) a
/// [`ClusterConfig`](crate::runtime::ClusterConfig) was refused. Each variant names its
/// setting.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `cluster_label` is longer than 255 bytes.
    LabelTooLong(usize),
    /// `mtu` cannot hold the largest message (an anti-entropy digest, or an entry with
    /// `max_metadata` bytes of metadata).
    MtuTooSmall {
        /// The configured MTU.
        mtu: usize,
        /// The smallest MTU this configuration needs.
        needed: usize,
    },
    /// The setting of this name must be non-zero and is zero (a [`Config`](crate::Config)
    /// field, or `max_samples`, `min_std_deviation` or `first_heartbeat_estimate` of a
    /// [`PhiAccrual`](crate::PhiAccrual)).
    Zero(&'static str),
    /// `probe_timeout` is longer than `probe_interval`.
    ProbeTimeoutTooLong,
    /// The [`PhiAccrual`](crate::PhiAccrual) `threshold` is not a positive finite number.
    PhiThreshold(f64),
    /// The member's `name` is empty, longer than
    /// [`MAX_NAME_LEN`](crate::runtime::MAX_NAME_LEN) bytes, or has control characters.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    InvalidName,
    /// The initial `metadata` does not fit beside the name in
    /// [`Config::max_metadata`](crate::Config::max_metadata).
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    MetadataTooLarge {
        /// The metadata's length.
        len: usize,
        /// The room left beside the name.
        max: usize,
    },
    /// The bind address is unspecified (`0.0.0.0`) and no `advertise` address was given.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    AdvertiseRequired,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::LabelTooLong(n) => {
                write!(
                    f,
                    "cluster label is {n} bytes, at most {MAX_LABEL_LEN} allowed"
                )
            }
            ConfigError::MtuTooSmall { mtu, needed } => write!(
                f,
                "mtu {mtu} is too small for the largest message (needs {needed}; lower max_metadata or raise mtu)"
            ),
            ConfigError::Zero(name) => write!(f, "{name} must be non-zero"),
            ConfigError::ProbeTimeoutTooLong => {
                f.write_str("probe_timeout must not exceed probe_interval")
            }
            ConfigError::PhiThreshold(t) => write!(f, "phi threshold must be > 0, got {t}"),
            #[cfg(feature = "tokio")]
            ConfigError::InvalidName => write!(
                f,
                "a member name is 1 to {} bytes with no control characters",
                crate::runtime::MAX_NAME_LEN
            ),
            #[cfg(feature = "tokio")]
            ConfigError::MetadataTooLarge { len, max } => write!(
                f,
                "metadata is {len} bytes, at most {max} fit beside the name"
            ),
            #[cfg(feature = "tokio")]
            ConfigError::AdvertiseRequired => f.write_str(
                "the bind address is unspecified: give an advertise address peers can reach",
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Why [`Member::handle_packet`](crate::Member::handle_packet) dropped a datagram. The
/// member's state is unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PacketError {
    /// The bytes are not a valid datagram.
    Decode(DecodeError),
    /// The datagram belongs to another cluster (its label differs).
    WrongCluster,
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::Decode(e) => write!(f, "malformed datagram: {e}"),
            PacketError::WrongCluster => f.write_str("datagram from another cluster"),
        }
    }
}

impl std::error::Error for PacketError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PacketError::Decode(e) => Some(e),
            PacketError::WrongCluster => None,
        }
    }
}

/// Why [`Member::set_metadata`](crate::Member::set_metadata) refused the metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetadataError {
    /// The metadata is longer than [`Config::max_metadata`](crate::Config::max_metadata).
    TooLarge {
        /// Its length.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetadataError::TooLarge { len, max } => {
                write!(f, "metadata is {len} bytes, at most {max} allowed")
            }
        }
    }
}

impl std::error::Error for MetadataError {}

/// Why a byte string is not a valid datagram ([`wire::decode`](crate::wire::decode)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended in the middle of a field.
    Truncated,
    /// The first byte names a protocol version this crate does not speak.
    UnsupportedVersion(u8),
    /// An address family tag other than 4 or 6.
    BadAddressFamily(u8),
    /// An unknown message tag.
    UnknownMessage(u8),
    /// A state byte other than 0..=3.
    BadState(u8),
    /// A varint longer than its type allows.
    VarintOverflow,
    /// A digest whose bucket count is not [`DIGEST_BUCKETS`].
    BadDigest(u8),
    /// A datagram with no message after its header.
    Empty,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("datagram truncated"),
            DecodeError::UnsupportedVersion(v) => write!(f, "unsupported protocol version {v}"),
            DecodeError::BadAddressFamily(t) => write!(f, "bad address family tag {t}"),
            DecodeError::UnknownMessage(t) => write!(f, "unknown message tag {t}"),
            DecodeError::BadState(s) => write!(f, "bad member state {s}"),
            DecodeError::VarintOverflow => f.write_str("varint overflows its type"),
            DecodeError::BadDigest(n) => {
                write!(f, "digest has {n} buckets, expected {DIGEST_BUCKETS}")
            }
            DecodeError::Empty => f.write_str("datagram carries no message"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why [`ReportOptions::from_args`](crate::sim::ReportOptions::from_args) refused a command
/// line.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArgsError {
    /// A flag it does not know.
    UnknownFlag(String),
    /// The flag came last, without its value.
    MissingValue(String),
    /// The flag's value does not parse.
    BadValue {
        /// The flag.
        flag: String,
        /// Its value.
        value: String,
    },
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgsError::UnknownFlag(flag) => write!(f, "unknown option {flag:?} (try --help)"),
            ArgsError::MissingValue(flag) => write!(f, "{flag} needs a value"),
            ArgsError::BadValue { flag, value } => write!(f, "{flag}: cannot read {value:?}"),
        }
    }
}

impl std::error::Error for ArgsError {}

#[cfg(feature = "aes-gcm")]
pub use keyring::*;

/// The keyring's errors, one per kind of operation.
#[cfg(feature = "aes-gcm")]
mod keyring {
    use std::fmt;

    use crate::keyring::{MAX_PLAINTEXT, OVERHEAD};

    /// Why a hex key did not parse ([`Keyring::from_hex`](crate::keyring::Keyring::from_hex)).
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum ParseKeyError {
        /// The key did not have 64 characters (the length found, after trimming whitespace).
        BadLength(usize),
        /// A character is not a hex digit, at this byte offset.
        BadHex(usize),
    }

    impl fmt::Display for ParseKeyError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                ParseKeyError::BadLength(n) => {
                    write!(f, "a key is 64 hex digits (32 bytes), found {n} characters")
                }
                ParseKeyError::BadHex(at) => {
                    write!(f, "not a hex digit at offset {at} of the key")
                }
            }
        }
    }

    impl std::error::Error for ParseKeyError {}

    /// The operating system's random number generator failed
    /// ([`Keyring::generate_key`](crate::keyring::Keyring::generate_key),
    /// [`Sealer::new`](crate::keyring::Sealer::new)).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct EntropyError;

    impl fmt::Display for EntropyError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("the operating system's random generator failed")
        }
    }

    impl std::error::Error for EntropyError {}

    /// A key change the keyring refuses ([`Keyring::use_key`](crate::keyring::Keyring::use_key),
    /// [`Keyring::remove`](crate::keyring::Keyring::remove)). One type for both, so a
    /// rotation step that makes several changes (the closure given to
    /// `Cluster::update_keyring`) can use `?` on each.
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum KeyError {
        /// The key is not installed in the keyring.
        NotInstalled,
        /// The key is the primary key, which cannot be removed (make another key primary
        /// first). Only from `remove`.
        RemovePrimary,
    }

    impl fmt::Display for KeyError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                KeyError::NotInstalled => f.write_str("the key is not installed in the keyring"),
                KeyError::RemovePrimary => {
                    f.write_str("the primary key cannot be removed; make another key primary first")
                }
            }
        }
    }

    impl std::error::Error for KeyError {}

    /// Why a packet did not open ([`Opener::open`](crate::keyring::Opener::open)).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum OpenError {
        /// The packet is shorter than [`OVERHEAD`] bytes (or empty).
        TooShort,
        /// The packet's first byte is not a version this crate seals.
        UnknownVersion(u8),
        /// No installed key opens the packet: another cluster's key, a forgery, or a
        /// corruption.
        Unauthenticated,
        /// The packet is authentic but was opened before, or is too old to tell (older than
        /// [`REPLAY_WINDOW`](crate::keyring::REPLAY_WINDOW) behind its session's newest).
        Replayed,
    }

    impl fmt::Display for OpenError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                OpenError::TooShort => write!(f, "sealed packet shorter than {OVERHEAD} bytes"),
                OpenError::UnknownVersion(v) => write!(f, "unknown sealed packet version {v}"),
                OpenError::Unauthenticated => f.write_str("no installed key opens the packet"),
                OpenError::Replayed => f.write_str("replayed or too old packet"),
            }
        }
    }

    impl std::error::Error for OpenError {}

    /// The plaintext was longer than [`MAX_PLAINTEXT`] and cannot be sealed
    /// ([`Sealer::seal`](crate::keyring::Sealer::seal)).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct SealError {
        /// The plaintext's length.
        pub len: usize,
    }

    impl fmt::Display for SealError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(
                f,
                "plaintext of {} bytes is longer than the {MAX_PLAINTEXT} bytes that can be sealed",
                self.len
            )
        }
    }

    impl std::error::Error for SealError {}
}

#[cfg(feature = "tokio")]
pub use runtime::*;

/// The runtime's errors, one per operation of a [`Cluster`](crate::runtime::Cluster).
#[cfg(feature = "tokio")]
mod runtime {
    use std::fmt;
    use std::io;

    use super::{EntropyError, KeyError};

    /// Why [`Cluster::start`](crate::runtime::Cluster::start) failed.
    #[derive(Debug)]
    #[non_exhaustive]
    pub enum ClusterError {
        /// Binding the UDP socket or the TCP listener failed.
        Bind(io::Error),
        /// No random session id could be drawn for sealing (a cluster with a keyring).
        Entropy(EntropyError),
    }

    impl fmt::Display for ClusterError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                ClusterError::Bind(e) => write!(f, "cannot bind: {e}"),
                ClusterError::Entropy(e) => write!(f, "keyring: {e}"),
            }
        }
    }

    impl std::error::Error for ClusterError {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            match self {
                ClusterError::Bind(e) => Some(e),
                ClusterError::Entropy(e) => Some(e),
            }
        }
    }

    /// The member has stopped (shut down, left, or failed), so it cannot do what was asked
    /// ([`Cluster::leave`](crate::runtime::Cluster::leave), and a case of the other
    /// operations' errors).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct StoppedError;

    impl fmt::Display for StoppedError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("the member has stopped")
        }
    }

    impl std::error::Error for StoppedError {}

    /// Why [`Cluster::set_metadata`](crate::runtime::Cluster::set_metadata) refused.
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum SetMetadataError {
        /// The metadata does not fit beside the name in
        /// [`Config::max_metadata`](crate::Config::max_metadata).
        TooLarge {
            /// The metadata's length.
            len: usize,
            /// The room left beside the name.
            max: usize,
        },
        /// The member has stopped.
        Stopped,
    }

    impl fmt::Display for SetMetadataError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                SetMetadataError::TooLarge { len, max } => write!(
                    f,
                    "metadata refused: {len} bytes, at most {max} fit beside the name"
                ),
                SetMetadataError::Stopped => StoppedError.fmt(f),
            }
        }
    }

    impl std::error::Error for SetMetadataError {}

    impl From<StoppedError> for SetMetadataError {
        fn from(_: StoppedError) -> Self {
            SetMetadataError::Stopped
        }
    }

    /// Why [`Cluster::update_keyring`](crate::runtime::Cluster::update_keyring) changed
    /// nothing.
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum UpdateKeyringError {
        /// The change refused (the keyring is unchanged).
        Key(KeyError),
        /// The member was started without a keyring.
        NotEncrypted,
        /// The member has stopped.
        Stopped,
    }

    impl fmt::Display for UpdateKeyringError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                UpdateKeyringError::Key(e) => write!(f, "keyring: {e}"),
                UpdateKeyringError::NotEncrypted => {
                    f.write_str("the member was started without a keyring")
                }
                UpdateKeyringError::Stopped => StoppedError.fmt(f),
            }
        }
    }

    impl std::error::Error for UpdateKeyringError {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            match self {
                UpdateKeyringError::Key(e) => Some(e),
                _ => None,
            }
        }
    }

    impl From<StoppedError> for UpdateKeyringError {
        fn from(_: StoppedError) -> Self {
            UpdateKeyringError::Stopped
        }
    }
}
