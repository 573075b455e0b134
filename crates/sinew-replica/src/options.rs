//! Per-operation quorum settings.

use std::time::Duration;

use crate::error::ConfigError;

/// The most replicas per key an operation may use.
pub const MAX_N: usize = 16;

/// Whether a read repairs the replicas that answered with an older version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ReadRepair {
    /// Send the merged version to stale replicas and wait for `r` of them (counting the ones
    /// already current) to hold it before the read returns, as Cassandra's blocking read
    /// repair does: a later read at the same quorum cannot see anything older.
    Blocking,
    /// Return at once and send the repairs in the background; late replies (from replicas
    /// beyond the first `r`) are repaired too, until the operation's deadline.
    #[default]
    Async,
    /// No repair; anti-entropy alone converges replicas.
    Off,
}

/// How many replicas an operation uses and waits for: `n` replicas per key, a read waits for
/// `r` replies, a write for `w` acknowledgements. `r + w > n` makes every read quorum meet
/// every write quorum (a strict quorum); the presets are Cassandra's consistency levels for
/// `n = 3`.
///
/// ```
/// use sinew_replica::Options;
/// use std::time::Duration;
///
/// let opts = Options::new(5, 3, 3)?.with_timeout(Duration::from_millis(200));
/// assert!(opts.is_strict());
/// assert!(!Options::ONE.is_strict());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Options {
    /// Replicas per key.
    pub n: usize,
    /// Replies a read waits for.
    pub r: usize,
    /// Acknowledgements a write waits for.
    pub w: usize,
    /// How long an operation may take before it fails with
    /// [`OpError::Timeout`](crate::OpError::Timeout).
    #[cfg_attr(feature = "serde", serde(with = "sinew_clock::serde_secs"))]
    pub timeout: Duration,
    /// Read repair, see [`ReadRepair`].
    pub read_repair: ReadRepair,
    /// Sloppy quorum: a replica that membership reports down is replaced by the next alive
    /// node on the ring, which keeps the write as a hint for it (Dynamo's hinted handoff).
    pub sloppy: bool,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

impl Options {
    const fn preset(r: usize, w: usize) -> Self {
        Self {
            n: 3,
            r,
            w,
            timeout: DEFAULT_TIMEOUT,
            read_repair: ReadRepair::Async,
            sloppy: true,
        }
    }

    /// `n = 3`, reads and writes wait for one replica (Cassandra's `ONE`).
    pub const ONE: Self = Self::preset(1, 1);
    /// `n = 3`, reads and writes wait for two replicas (Cassandra's `QUORUM`): strict.
    pub const QUORUM: Self = Self::preset(2, 2);
    /// `n = 3`, reads and writes wait for all three (Cassandra's `ALL`).
    pub const ALL: Self = Self::preset(3, 3);

    /// `n` replicas, read quorum `r`, write quorum `w`; a 1 s timeout, asynchronous read repair
    /// and a sloppy quorum.
    ///
    /// # Errors
    ///
    /// [`ConfigError::N`] unless `1 <= n <= MAX_N`; [`ConfigError::R`] / [`ConfigError::W`]
    /// unless `1 <= r, w <= n`.
    pub fn new(n: usize, r: usize, w: usize) -> Result<Self, ConfigError> {
        if n == 0 || n > MAX_N {
            return Err(ConfigError::N { n, max: MAX_N });
        }
        if r == 0 || r > n {
            return Err(ConfigError::R { r, n });
        }
        if w == 0 || w > n {
            return Err(ConfigError::W { w, n });
        }
        Ok(Self {
            n,
            r,
            w,
            ..Self::QUORUM
        })
    }

    /// The same options with this timeout.
    #[must_use]
    pub fn with_timeout(self, timeout: Duration) -> Self {
        Self { timeout, ..self }
    }

    /// The same options with this read repair.
    #[must_use]
    pub fn with_read_repair(self, read_repair: ReadRepair) -> Self {
        Self {
            read_repair,
            ..self
        }
    }

    /// The same options with a sloppy (`true`) or strict (`false`) choice of replicas.
    #[must_use]
    pub fn with_sloppy(self, sloppy: bool) -> Self {
        Self { sloppy, ..self }
    }

    /// Whether `r + w > n`: every read quorum meets every write quorum.
    pub fn is_strict(&self) -> bool {
        self.r + self.w > self.n
    }

    /// Whether the fields are in range (they are public, so a caller may have set them).
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        Self::new(self.n, self.r, self.w).map(|_| ())
    }
}

impl Default for Options {
    /// [`Options::QUORUM`].
    fn default() -> Self {
        Self::QUORUM
    }
}
