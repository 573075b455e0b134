//! The parameters of a run and their command-line form.

use std::time::Duration;

use crate::error::SimError;
use crate::{Options, Policy};

/// The parameters of a run. `SimOptions::default()` is the issue's scenario.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SimOptions {
    /// Nodes in the cluster.
    pub nodes: usize,
    /// Replicas per key.
    pub n: usize,
    /// Read quorum.
    pub r: usize,
    /// Write quorum.
    pub w: usize,
    /// Client operations (gets and puts) to complete before the end phase.
    pub ops: u64,
    /// iid message loss, in `[0, 1)`.
    pub loss: f64,
    /// The largest clock offset of a node (each node's offset is uniform in `[-skew, +skew]`).
    pub skew: Duration,
    /// How concurrent versions are resolved.
    pub policy: Policy,
    /// The seed of everything random.
    pub seed: u64,
    /// Whether the scenario includes the partition.
    pub partition: bool,
    /// Whether the scenario includes the crash and restart.
    pub crash: bool,
    /// How long the partition and the crash each last.
    pub fault_duration: Duration,
    /// Concurrent clients.
    pub clients: usize,
    /// The size of the key space.
    pub keys: usize,
    /// How long membership takes to learn a crash or a restart.
    pub detect: Duration,
    /// The anti-entropy interval.
    pub anti_entropy: Duration,
    /// Each operation's timeout.
    pub timeout: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            nodes: 5,
            n: 3,
            r: 2,
            w: 2,
            ops: 100_000,
            loss: 0.05,
            skew: Duration::from_millis(50),
            policy: Policy::Dvv,
            seed: 1,
            partition: true,
            crash: true,
            fault_duration: Duration::from_secs(10),
            clients: 8,
            keys: 1000,
            detect: Duration::from_secs(1),
            anti_entropy: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
        }
    }
}

pub(super) fn policy_name(policy: Policy) -> &'static str {
    match policy {
        Policy::Lww => "lww",
        _ => "dvv",
    }
}

impl SimOptions {
    /// The flags [`from_args`](Self::from_args) reads, for a program's `--help`.
    pub const USAGE: &'static str = "[--nodes 5] [--n 3] [--r 2] [--w 2] [--ops 100000] \
        [--loss 0.05] [--skew-ms 50] [--policy dvv|lww] [--seed 1] [--json] [--no-faults] \
        [--no-partition] [--no-crash] [--fault-s 10] [--clients 8] [--keys 1000] \
        [--detect-ms 1000] [--ae-ms 1000] [--timeout-ms 1000]";

    /// Options from command-line arguments (the program name left out); what is not given
    /// keeps its default. `--json` is accepted and ignored here (it is the program's
    /// business); `--no-faults` turns off both the partition and the crash. The result is
    /// [validated](Self::validate).
    ///
    /// ```
    /// use sinew_replica::sim::SimOptions;
    ///
    /// let args = ["--nodes", "7", "--policy", "lww", "--no-faults"];
    /// let opts = SimOptions::from_args(args.map(String::from))?;
    /// assert_eq!((opts.nodes, opts.partition, opts.crash), (7, false, false));
    /// assert!(SimOptions::from_args(["--n", "9"].map(String::from)).is_err()); // 9 > 5 nodes
    /// Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`SimError`] for an unknown flag, a flag without its value, a value that does not
    /// parse, or options that do not validate.
    pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Self, SimError> {
        let mut o = Self::default();
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--json" => continue,
                "--no-faults" => {
                    (o.partition, o.crash) = (false, false);
                    continue;
                }
                "--no-partition" => {
                    o.partition = false;
                    continue;
                }
                "--no-crash" => {
                    o.crash = false;
                    continue;
                }
                _ => {}
            }
            let Some(value) = args.next() else {
                return Err(SimError::MissingValue(flag));
            };
            let bad = || SimError::BadValue {
                flag: flag.clone(),
                value: value.clone(),
            };
            let ms = |v: &str| {
                v.parse::<u64>()
                    .map(Duration::from_millis)
                    .map_err(|_| bad())
            };
            match flag.as_str() {
                "--nodes" => o.nodes = value.parse().map_err(|_| bad())?,
                "--n" => o.n = value.parse().map_err(|_| bad())?,
                "--r" => o.r = value.parse().map_err(|_| bad())?,
                "--w" => o.w = value.parse().map_err(|_| bad())?,
                "--ops" => o.ops = value.parse().map_err(|_| bad())?,
                "--loss" => o.loss = value.parse().map_err(|_| bad())?,
                "--skew-ms" => o.skew = ms(&value)?,
                "--seed" => o.seed = value.parse().map_err(|_| bad())?,
                "--clients" => o.clients = value.parse().map_err(|_| bad())?,
                "--keys" => o.keys = value.parse().map_err(|_| bad())?,
                "--detect-ms" => o.detect = ms(&value)?,
                "--ae-ms" => o.anti_entropy = ms(&value)?,
                "--timeout-ms" => o.timeout = ms(&value)?,
                "--fault-s" => {
                    o.fault_duration = value
                        .parse::<u64>()
                        .map(Duration::from_secs)
                        .map_err(|_| bad())?;
                }
                "--policy" => {
                    o.policy = match value.as_str() {
                        "dvv" => Policy::Dvv,
                        "lww" => Policy::Lww,
                        _ => return Err(bad()),
                    }
                }
                _ => return Err(SimError::UnknownFlag(flag)),
            }
        }
        o.validate()?;
        Ok(o)
    }

    /// Checks that the options describe a run: at least one node, `1 <= r, w <= n <= nodes`,
    /// at least one operation, client and key, `0 <= loss < 1`, and non-zero intervals.
    ///
    /// # Errors
    ///
    /// [`SimError::Invalid`] naming the setting.
    pub fn validate(&self) -> Result<(), SimError> {
        let invalid = |setting: &'static str, why: &'static str| {
            Err(SimError::Invalid {
                setting,
                reason: why,
            })
        };
        if self.nodes == 0 {
            return invalid("nodes", "must be at least 1");
        }
        if self.n == 0 || self.n > self.nodes {
            return invalid("n", "must be between 1 and the number of nodes");
        }
        if self.r == 0 || self.r > self.n {
            return invalid("r", "must be between 1 and n");
        }
        if self.w == 0 || self.w > self.n {
            return invalid("w", "must be between 1 and n");
        }
        if self.ops == 0 {
            return invalid("ops", "must be at least 1");
        }
        if !(0.0..1.0).contains(&self.loss) {
            return invalid("loss", "must be in [0, 1)");
        }
        if self.clients == 0 {
            return invalid("clients", "must be at least 1");
        }
        if self.keys == 0 {
            return invalid("keys", "must be at least 1");
        }
        if self.anti_entropy.is_zero() {
            return invalid("anti_entropy", "must be non-zero");
        }
        if self.timeout.is_zero() {
            return invalid("timeout", "must be non-zero");
        }
        if self.skew > Duration::from_secs(3600) {
            return invalid("skew", "must be at most an hour");
        }
        Options::new(self.n, self.r, self.w).map_err(|_| SimError::Invalid {
            setting: "n, r, w",
            reason: "refused by Options::new",
        })?;
        Ok(())
    }

    pub(super) fn quorum(&self) -> Result<Options, SimError> {
        Options::new(self.n, self.r, self.w)
            .map(|o| o.with_timeout(self.timeout))
            .map_err(|_| SimError::Invalid {
                setting: "n, r, w",
                reason: "refused by Options::new",
            })
    }
}
