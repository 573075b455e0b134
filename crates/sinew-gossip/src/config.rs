//! Protocol configuration and its presets.

use std::time::Duration;

use bytes::Bytes;

use crate::error::ConfigError;
use crate::wire::{self, MAX_LABEL_LEN};

/// The protocol's knobs. Start from a preset ([`Config::lan`], [`Config::wan`],
/// [`Config::local`]) and change fields; [`Member::new`](crate::Member::new) validates.
///
/// # Tuning guide
///
/// - **Detection time** is roughly `probe_interval` (until someone probes the crashed member) +
///   `probe_interval` (the failed probe) + the suspicion timeout + a few `gossip_interval`s of
///   dissemination. The suspicion timeout starts at `suspicion_max_mult x` the minimum and
///   shrinks towards the minimum `suspicion_mult x log10(max(N, 10)) x probe_interval` as
///   independent members confirm the suspicion (Lifeguard). Shorten `probe_interval` to detect
///   faster; every member then sends proportionally more probes.
/// - **False deaths** come from suspicions nobody refutes in time: under packet loss or slow
///   members raise `suspicion_mult` (more time to refute) or `indirect_probes` (more paths to
///   the target). Lifeguard's `awareness_max` stretches the timeouts of a member that notices it
///   is itself slow (missed nacks) so it stops accusing healthy peers.
/// - **Dissemination speed** is `gossip_interval` x about `log(N) / log(gossip_fanout + 1)`
///   rounds. Each update is retransmitted `retransmit_mult x ceil(log10(N + 1))` times; raise
///   `retransmit_mult` under heavy loss.
/// - **Bandwidth** in steady state is dominated by probes (one ping and one ack per member per
///   `probe_interval`) and the anti-entropy digest (one ~540-byte exchange per
///   `push_pull_interval`); gossip rounds send nothing when there is nothing new.
/// - **Partitions heal** without help: every `reconnect_interval` each member pings one member
///   it believes dead (or a seed it cannot see), round robin, least recently tried first; an
///   answer starts anti-entropy with it, so both sides of a healed split learn that they were
///   wrong and the accused members refute. Each ping is a few dozen bytes (sent only while
///   there are dead records, which are kept `tombstone_ttl`); a larger interval saves them but
///   slows healing by as much, since a member with `d` dead records re-checks each within
///   `d x reconnect_interval`.
/// - **Anti-entropy answers are capped** at `sync_max_datagrams` MTUs, so a forged digest
///   cannot turn one datagram into a large flood at a victim.
///
/// # Serde
///
/// With the `serde` feature, a `Config` serializes as a map of its fields; durations are
/// seconds as numbers (`0.2` is 200 ms, see [`sinew_clock::serde_secs`]) and the cluster label
/// is a string (or, if it is not UTF-8, its bytes). Every field may be left out and then takes
/// its [`Config::lan`] value; an unknown field is an error. The label is read as either a
/// string or bytes, so reading needs a self-describing format (JSON, TOML, YAML, CBOR...),
/// not bincode or postcard. Deserializing runs
/// [`validate`](Config::validate), so a bad configuration is refused with its
/// [`ConfigError`]:
///
/// ```
/// # #[cfg(feature = "serde")] {
/// use std::time::Duration;
/// use sinew_gossip::Config;
///
/// let config: Config =
///     serde_json::from_str(r#"{"cluster_label": "prod", "probe_interval": 2, "probe_timeout": 0.8}"#)?;
/// assert_eq!(config.probe_timeout, Duration::from_millis(800));
/// assert_eq!(&config.cluster_label[..], b"prod");
/// assert_eq!(config.gossip_fanout, Config::lan().gossip_fanout);
/// // A probe timeout longer than the probe interval does not validate.
/// assert!(serde_json::from_str::<Config>(r#"{"probe_timeout": 2}"#).is_err());
/// # }
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// A label every datagram carries; datagrams with another label are dropped, so two
    /// clusters sharing a network do not mix. At most 255 bytes. Default: empty.
    pub cluster_label: Bytes,
    /// The largest datagram sent, in bytes (header included). Default 1400.
    pub mtu: usize,
    /// The largest metadata a member may publish. Default 512; must leave room for one
    /// message in a datagram.
    pub max_metadata: usize,
    /// How often a member probes the next member. memberlist LAN: 1 s.
    pub probe_interval: Duration,
    /// How long a direct probe waits for an ack before asking others to probe indirectly.
    /// memberlist LAN: 500 ms.
    pub probe_timeout: Duration,
    /// How many members are asked to probe indirectly (`k`). memberlist LAN: 3.
    pub indirect_probes: usize,
    /// How often a gossip round runs. memberlist LAN: 200 ms.
    pub gossip_interval: Duration,
    /// How many members a gossip round sends to. memberlist LAN: 3.
    pub gossip_fanout: usize,
    /// How long after a member's death gossip is still sent to it (so it can hear that it is
    /// considered dead and refute). memberlist LAN: 30 s.
    pub gossip_to_dead: Duration,
    /// `lambda` in the retransmit limit `lambda x ceil(log10(N + 1))`. memberlist LAN: 4.
    pub retransmit_mult: u32,
    /// The minimum suspicion timeout is `suspicion_mult x log10(max(N, 10)) x probe_interval`.
    /// memberlist LAN: 4.
    pub suspicion_mult: u32,
    /// The maximum (initial) suspicion timeout is `suspicion_max_mult x` the minimum.
    /// memberlist LAN: 6.
    pub suspicion_max_mult: u32,
    /// Lifeguard's local health multiplier ranges over `0..awareness_max`; probe interval and
    /// timeout are scaled by `multiplier + 1`. memberlist LAN: 8.
    pub awareness_max: u32,
    /// How often a member runs anti-entropy (digest exchange) with a random live member.
    /// memberlist LAN: 30 s.
    pub push_pull_interval: Duration,
    /// How often a member pings a member it believes dead, or a seed it does not see alive
    /// (partition healing and join retries); an ack starts anti-entropy with it. LAN and
    /// local presets: 1 s (one probe interval); WAN: 5 s.
    pub reconnect_interval: Duration,
    /// How long a dead or left member's record is kept (it stops third parties from
    /// resurrecting it, and is the pool of reconnect targets). Default 1 hour.
    pub tombstone_ttl: Duration,
    /// The most datagrams sent in answer to one anti-entropy digest. A digest is one
    /// datagram (540 bytes) that anyone can send with a forged sender address; answered in
    /// full where every bucket differs, it would make this member send its whole view
    /// (about 14 bytes per member without metadata, up to `max_metadata` more with it) to
    /// the forged address, an amplification that grows with the cluster. Capped, the answer
    /// is at most this many MTUs: with the defaults 22.4 KB, about 40 times the digest, the
    /// order of an ack carrying piggybacked rumours (up to 1400 bytes for an 11-byte ping).
    /// Larger differences converge over successive exchanges, each starting at a random
    /// bucket. Default 16 (a whole 1000-member view without metadata fits).
    pub sync_max_datagrams: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self::lan()
    }
}

impl Config {
    /// memberlist's `DefaultLANConfig` timing: probe 1 s, probe timeout 500 ms, 3 indirect
    /// probes, gossip every 200 ms to 3 members, suspicion multiplier 4 (max 6x), retransmit
    /// multiplier 4, push-pull every 30 s; MTU 1400.
    pub fn lan() -> Self {
        Self {
            cluster_label: Bytes::new(),
            mtu: 1400,
            max_metadata: 512,
            probe_interval: Duration::from_secs(1),
            probe_timeout: Duration::from_millis(500),
            indirect_probes: 3,
            gossip_interval: Duration::from_millis(200),
            gossip_fanout: 3,
            gossip_to_dead: Duration::from_secs(30),
            retransmit_mult: 4,
            suspicion_mult: 4,
            suspicion_max_mult: 6,
            awareness_max: 8,
            push_pull_interval: Duration::from_secs(30),
            reconnect_interval: Duration::from_secs(1),
            tombstone_ttl: Duration::from_secs(3600),
            sync_max_datagrams: 16,
        }
    }

    /// memberlist's `DefaultWANConfig` timing: probe 5 s, probe timeout 3 s, gossip every
    /// 500 ms to 4 members, suspicion multiplier 6, push-pull every 60 s.
    pub fn wan() -> Self {
        Self {
            probe_interval: Duration::from_secs(5),
            probe_timeout: Duration::from_secs(3),
            gossip_interval: Duration::from_millis(500),
            gossip_fanout: 4,
            gossip_to_dead: Duration::from_secs(60),
            suspicion_mult: 6,
            push_pull_interval: Duration::from_secs(60),
            reconnect_interval: Duration::from_secs(5),
            ..Self::lan()
        }
    }

    /// memberlist's `DefaultLocalConfig` timing (loopback, tests): probe 1 s, probe timeout
    /// 200 ms, gossip every 100 ms, suspicion multiplier 3, push-pull every 15 s.
    pub fn local() -> Self {
        Self {
            probe_timeout: Duration::from_millis(200),
            gossip_interval: Duration::from_millis(100),
            gossip_to_dead: Duration::from_secs(15),
            suspicion_mult: 3,
            retransmit_mult: 2,
            push_pull_interval: Duration::from_secs(15),
            ..Self::lan()
        }
    }

    /// Every timing multiplied by `factor` (counts and sizes unchanged): `Config::local()
    /// .scaled(0.1)` runs a loopback cluster ten times faster, for tests and demos. Each
    /// duration saturates, and stays at least 1 ms.
    pub fn scaled(self, factor: f64) -> Self {
        let f = |d: Duration| {
            let s = d.as_secs_f64() * factor;
            Duration::try_from_secs_f64(s)
                .unwrap_or(if s > 0.0 {
                    Duration::MAX
                } else {
                    Duration::ZERO
                })
                .max(Duration::from_millis(1))
        };
        Self {
            probe_interval: f(self.probe_interval),
            probe_timeout: f(self.probe_timeout),
            gossip_interval: f(self.gossip_interval),
            gossip_to_dead: f(self.gossip_to_dead),
            push_pull_interval: f(self.push_pull_interval),
            reconnect_interval: f(self.reconnect_interval),
            tombstone_ttl: f(self.tombstone_ttl),
            ..self
        }
    }

    /// Sets the cluster label (builder style).
    pub fn with_label(mut self, label: impl Into<Bytes>) -> Self {
        self.cluster_label = label.into();
        self
    }

    /// Checks that the configuration is usable.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first field out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.cluster_label.len() > MAX_LABEL_LEN {
            return Err(ConfigError::LabelTooLong(self.cluster_label.len()));
        }
        // The largest message a member builds is an Alive/SyncState about an IPv6 member
        // with full metadata; it must fit one datagram from an IPv6 sender.
        let v6 = std::net::SocketAddr::from(([0u16; 8], 0));
        let biggest = wire::Message::SyncState {
            addr: v6,
            incarnation: crate::Incarnation::new(u64::MAX, u32::MAX),
            state: crate::State::Alive,
            metadata: Bytes::from(vec![0u8; self.max_metadata.min(wire::MAX_METADATA_LEN)]),
        };
        let digest = wire::Message::SyncDigest {
            reply: false,
            buckets: vec![0; wire::DIGEST_BUCKETS],
        };
        let header = wire::header_len(&self.cluster_label, &v6);
        let need = header + biggest.encoded_len().max(digest.encoded_len());
        if self.max_metadata > wire::MAX_METADATA_LEN || need > self.mtu {
            return Err(ConfigError::MtuTooSmall {
                mtu: self.mtu,
                needed: need,
            });
        }
        for (name, d) in [
            ("probe_interval", self.probe_interval),
            ("probe_timeout", self.probe_timeout),
            ("gossip_interval", self.gossip_interval),
            ("push_pull_interval", self.push_pull_interval),
            ("reconnect_interval", self.reconnect_interval),
        ] {
            if d.is_zero() {
                return Err(ConfigError::Zero(name));
            }
        }
        if self.probe_timeout > self.probe_interval {
            return Err(ConfigError::ProbeTimeoutTooLong);
        }
        for (name, v) in [
            ("indirect_probes", self.indirect_probes as u64),
            ("gossip_fanout", self.gossip_fanout as u64),
            ("retransmit_mult", u64::from(self.retransmit_mult)),
            ("suspicion_mult", u64::from(self.suspicion_mult)),
            ("suspicion_max_mult", u64::from(self.suspicion_max_mult)),
            ("awareness_max", u64::from(self.awareness_max)),
            ("sync_max_datagrams", self.sync_max_datagrams as u64),
        ] {
            if v == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        Ok(())
    }
}

/// Serde for [`Config`]: the form its docs describe, checked by `validate`.
#[cfg(feature = "serde")]
mod serde_impl {
    use std::time::Duration;

    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Config;

    /// The serde shape of [`Config`], field by field (serde's remote derive: it reads and
    /// writes a `Config` directly, and keeps the unchecked `deserialize` private).
    #[derive(Serialize, Deserialize)]
    #[serde(remote = "Config", default = "Config::lan", deny_unknown_fields)]
    struct Form {
        #[serde(with = "label")]
        cluster_label: Bytes,
        mtu: usize,
        max_metadata: usize,
        #[serde(with = "sinew_clock::serde_secs")]
        probe_interval: Duration,
        #[serde(with = "sinew_clock::serde_secs")]
        probe_timeout: Duration,
        indirect_probes: usize,
        #[serde(with = "sinew_clock::serde_secs")]
        gossip_interval: Duration,
        gossip_fanout: usize,
        #[serde(with = "sinew_clock::serde_secs")]
        gossip_to_dead: Duration,
        retransmit_mult: u32,
        suspicion_mult: u32,
        suspicion_max_mult: u32,
        awareness_max: u32,
        #[serde(with = "sinew_clock::serde_secs")]
        push_pull_interval: Duration,
        #[serde(with = "sinew_clock::serde_secs")]
        reconnect_interval: Duration,
        #[serde(with = "sinew_clock::serde_secs")]
        tombstone_ttl: Duration,
        sync_max_datagrams: usize,
    }

    impl Serialize for Config {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            Form::serialize(self, serializer)
        }
    }

    impl<'de> Deserialize<'de> for Config {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Config, D::Error> {
            let config = Form::deserialize(deserializer)?;
            config.validate().map_err(serde::de::Error::custom)?;
            Ok(config)
        }
    }

    /// The cluster label: a string when it is UTF-8, else bytes; read from either (or from a
    /// sequence of byte values).
    mod label {
        use std::fmt;

        use bytes::Bytes;
        use serde::de::{self, SeqAccess, Visitor};
        use serde::{Deserializer, Serializer};

        pub(crate) fn serialize<S: Serializer>(label: &Bytes, s: S) -> Result<S::Ok, S::Error> {
            match std::str::from_utf8(label) {
                Ok(text) => s.serialize_str(text),
                Err(_) => s.serialize_bytes(label),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
            d.deserialize_any(LabelVisitor)
        }

        struct LabelVisitor;

        impl<'de> Visitor<'de> for LabelVisitor {
            type Value = Bytes;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a cluster label: a string or bytes")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Bytes, E> {
                Ok(Bytes::copy_from_slice(v.as_bytes()))
            }

            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes::copy_from_slice(v))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bytes, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(Bytes::from(out))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_validate() {
        for c in [Config::lan(), Config::wan(), Config::local()] {
            assert_eq!(c.validate(), Ok(()));
        }
    }

    #[test]
    fn lan_preset_matches_memberlist() {
        let c = Config::lan();
        assert_eq!(c.probe_interval, Duration::from_secs(1));
        assert_eq!(c.probe_timeout, Duration::from_millis(500));
        assert_eq!(c.indirect_probes, 3);
        assert_eq!(c.gossip_interval, Duration::from_millis(200));
        assert_eq!(c.gossip_fanout, 3);
        assert_eq!(c.suspicion_mult, 4);
        assert_eq!(c.retransmit_mult, 4);
        assert_eq!(c.mtu, 1400);
    }

    #[test]
    fn bad_configs_are_refused() {
        let mut c = Config::lan();
        c.mtu = 300;
        assert!(matches!(c.validate(), Err(ConfigError::MtuTooSmall { .. })));
        let c = Config::lan().with_label(vec![b'x'; 256]);
        assert_eq!(c.validate(), Err(ConfigError::LabelTooLong(256)));
        let mut c = Config::lan();
        c.probe_interval = Duration::ZERO;
        assert_eq!(c.validate(), Err(ConfigError::Zero("probe_interval")));
        let mut c = Config::lan();
        c.probe_timeout = Duration::from_secs(2);
        assert_eq!(c.validate(), Err(ConfigError::ProbeTimeoutTooLong));
        let mut c = Config::lan();
        c.gossip_fanout = 0;
        assert_eq!(c.validate(), Err(ConfigError::Zero("gossip_fanout")));
        let mut c = Config::lan();
        c.max_metadata = 100_000;
        assert!(c.validate().is_err());
    }
}
