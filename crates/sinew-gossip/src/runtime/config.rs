//! What a [`Cluster`](super::Cluster) is started with.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;

use super::faults::Faults;
use super::identity;
use crate::keyring::Keyring;
use crate::{Config, ConfigError};

/// Everything a member needs to start: its name, where it listens, where it is reached, whom
/// it joins through, the protocol timing and the keys. Built with [`ClusterConfig::builder`].
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    pub(crate) name: String,
    pub(crate) bind: SocketAddr,
    pub(crate) advertise: Option<SocketAddr>,
    pub(crate) seeds: Vec<String>,
    pub(crate) gossip: Config,
    pub(crate) keyring: Option<Keyring>,
    pub(crate) metadata: Bytes,
    pub(crate) generation: Option<u64>,
    pub(crate) faults: Option<Faults>,
    pub(crate) leave_timeout: Duration,
    pub(crate) seed_refresh: Duration,
}

impl ClusterConfig {
    /// A member called `name` that binds UDP and TCP on `bind` (port 0 picks a free port).
    pub fn builder(name: impl Into<String>, bind: SocketAddr) -> ClusterConfigBuilder {
        ClusterConfigBuilder {
            config: ClusterConfig {
                name: name.into(),
                bind,
                advertise: None,
                seeds: Vec::new(),
                gossip: Config::lan(),
                keyring: None,
                metadata: Bytes::new(),
                generation: None,
                faults: None,
                leave_timeout: Duration::from_secs(5),
                seed_refresh: Duration::from_secs(30),
            },
        }
    }

    /// The member's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The protocol configuration.
    pub fn gossip(&self) -> &Config {
        &self.gossip
    }
}

/// Builds a [`ClusterConfig`].
#[derive(Clone, Debug)]
#[must_use]
pub struct ClusterConfigBuilder {
    config: ClusterConfig,
}

impl ClusterConfigBuilder {
    /// The address other members reach this one at, when it differs from the bound one
    /// (behind NAT, in a container, or bound to `0.0.0.0`). Required when binding an
    /// unspecified IP.
    pub fn advertise(mut self, addr: SocketAddr) -> Self {
        self.config.advertise = Some(addr);
        self
    }

    /// Adds a seed: `host:port` of any member, resolved at start and again whenever a seed
    /// is not seen alive (at most every [`seed_refresh`](Self::seed_refresh)), so a seed
    /// that moves to a new address is found again.
    pub fn seed(mut self, host_port: impl Into<String>) -> Self {
        self.config.seeds.push(host_port.into());
        self
    }

    /// The protocol timing ([`Config::lan`] by default).
    pub fn gossip(mut self, config: Config) -> Self {
        self.config.gossip = config;
        self
    }

    /// Encrypts and authenticates every datagram and stream with this keyring; without one,
    /// traffic is plain. Every member of a cluster needs a key in common.
    pub fn keyring(mut self, keyring: Keyring) -> Self {
        self.config.keyring = Some(keyring);
        self
    }

    /// The initial application metadata.
    pub fn metadata(mut self, metadata: impl Into<Bytes>) -> Self {
        self.config.metadata = metadata.into();
        self
    }

    /// The member's generation (its life number; a restart must use a larger one). By
    /// default the wall clock in milliseconds since the Unix epoch, which grows across
    /// restarts unless the clock steps back.
    pub fn generation(mut self, generation: u64) -> Self {
        self.config.generation = Some(generation);
        self
    }

    /// Injects faults into the member's transport (tests and drills).
    pub fn faults(mut self, faults: Faults) -> Self {
        self.config.faults = Some(faults);
        self
    }

    /// How long [`Cluster::leave`](super::Cluster::leave) waits for the announcement to
    /// spread before stopping anyway (5 s by default).
    pub fn leave_timeout(mut self, timeout: Duration) -> Self {
        self.config.leave_timeout = timeout;
        self
    }

    /// The least time between two resolutions of the seeds (30 s by default).
    pub fn seed_refresh(mut self, every: Duration) -> Self {
        self.config.seed_refresh = every;
        self
    }

    /// Checks and returns the configuration.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`]; any error of [`Config::validate`] for the protocol
    /// configuration; [`ConfigError::MetadataTooLarge`] (metadata and name together above
    /// [`Config::max_metadata`]); or [`ConfigError::AdvertiseRequired`].
    pub fn build(self) -> Result<ClusterConfig, ConfigError> {
        let c = self.config;
        if !identity::valid_name(&c.name) {
            return Err(ConfigError::InvalidName);
        }
        c.gossip.validate()?;
        let (len, max) = (c.metadata.len(), metadata_room(&c.gossip, &c.name));
        if len > max {
            return Err(ConfigError::MetadataTooLarge { len, max });
        }
        let advertise = c.advertise.unwrap_or(c.bind);
        if advertise.ip().is_unspecified() {
            return Err(ConfigError::AdvertiseRequired);
        }
        Ok(c)
    }
}

/// The room for application metadata once the name is in front of it.
pub(crate) fn metadata_room(gossip: &Config, name: &str) -> usize {
    gossip.max_metadata.saturating_sub(1 + name.len())
}
