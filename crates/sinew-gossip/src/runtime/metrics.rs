//! Counters a running member keeps about its traffic and its health.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why a received datagram or stream frame was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// No key in the keyring opens it (forged, corrupted, or sealed with another key), or it
    /// is not sealed although the cluster is encrypted.
    Unauthenticated,
    /// It was opened before (a replay), or is older than the replay window.
    Replayed,
    /// It opened (or needed no key) but is not a valid datagram.
    Malformed,
    /// It belongs to another cluster (its label differs).
    WrongCluster,
    /// A stream frame longer than any datagram, or a connection beyond the limits.
    Oversized,
    /// The node was too busy to take it (too many connections, or its queue was full).
    Overloaded,
    /// Dropped on purpose by the fault injector.
    Injected,
}

/// The counters, updated by the member's tasks with relaxed atomic adds: each counter is
/// exact, but a snapshot is not one instant across counters.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    packets_in: AtomicU64,
    bytes_in: AtomicU64,
    packets_out: AtomicU64,
    bytes_out: AtomicU64,
    streams_in: AtomicU64,
    streams_out: AtomicU64,
    send_errors: AtomicU64,
    drops: [AtomicU64; 7],
    health: AtomicU64,
    probes: AtomicU64,
    indirect_probes: AtomicU64,
    failed_probes: AtomicU64,
    suspicions: AtomicU64,
}

impl Metrics {
    pub(crate) fn received(&self, bytes: usize) {
        self.packets_in.fetch_add(1, Relaxed);
        self.bytes_in.fetch_add(bytes as u64, Relaxed);
    }

    pub(crate) fn sent(&self, bytes: usize) {
        self.packets_out.fetch_add(1, Relaxed);
        self.bytes_out.fetch_add(bytes as u64, Relaxed);
    }

    pub(crate) fn stream_in(&self) {
        self.streams_in.fetch_add(1, Relaxed);
    }

    pub(crate) fn stream_out(&self) {
        self.streams_out.fetch_add(1, Relaxed);
    }

    pub(crate) fn send_error(&self) {
        self.send_errors.fetch_add(1, Relaxed);
    }

    pub(crate) fn dropped(&self, reason: DropReason) {
        if let Some(c) = self.drops.get(reason as usize) {
            c.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn suspicion(&self) {
        self.suspicions.fetch_add(1, Relaxed);
    }

    pub(crate) fn set_core(&self, health: u32, probes: crate::ProbeStats) {
        self.health.store(u64::from(health), Relaxed);
        self.probes.store(probes.probes, Relaxed);
        self.indirect_probes.store(probes.indirect, Relaxed);
        self.failed_probes.store(probes.failed, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        let drop = |r: DropReason| self.drops.get(r as usize).map_or(0, |c| c.load(Relaxed));
        MetricsSnapshot {
            packets_in: self.packets_in.load(Relaxed),
            bytes_in: self.bytes_in.load(Relaxed),
            packets_out: self.packets_out.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
            streams_in: self.streams_in.load(Relaxed),
            streams_out: self.streams_out.load(Relaxed),
            send_errors: self.send_errors.load(Relaxed),
            dropped_unauthenticated: drop(DropReason::Unauthenticated),
            dropped_replayed: drop(DropReason::Replayed),
            dropped_malformed: drop(DropReason::Malformed),
            dropped_wrong_cluster: drop(DropReason::WrongCluster),
            dropped_oversized: drop(DropReason::Oversized),
            dropped_overloaded: drop(DropReason::Overloaded),
            dropped_injected: drop(DropReason::Injected),
            health: u32::try_from(self.health.load(Relaxed)).unwrap_or(u32::MAX),
            probes: self.probes.load(Relaxed),
            indirect_probes: self.indirect_probes.load(Relaxed),
            failed_probes: self.failed_probes.load(Relaxed),
            suspicions: self.suspicions.load(Relaxed),
        }
    }
}

/// A member's counters at one moment ([`Cluster::metrics`](super::Cluster::metrics)).
/// Everything counts since the member started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Datagrams and stream frames received, every one that reached the member (a stream
    /// refused at connection, or cut off by a bad length prefix, counts its drop only).
    pub packets_in: u64,
    /// Their bytes, as received (sealed).
    pub bytes_in: u64,
    /// Datagrams and stream frames sent.
    pub packets_out: u64,
    /// Their bytes, as sent (sealed).
    pub bytes_out: u64,
    /// TCP connections accepted.
    pub streams_in: u64,
    /// TCP connections opened.
    pub streams_out: u64,
    /// Sends the operating system refused (an unreachable peer, a full buffer).
    pub send_errors: u64,
    /// Dropped: [`DropReason::Unauthenticated`].
    pub dropped_unauthenticated: u64,
    /// Dropped: [`DropReason::Replayed`].
    pub dropped_replayed: u64,
    /// Dropped: [`DropReason::Malformed`].
    pub dropped_malformed: u64,
    /// Dropped: [`DropReason::WrongCluster`].
    pub dropped_wrong_cluster: u64,
    /// Dropped: [`DropReason::Oversized`].
    pub dropped_oversized: u64,
    /// Dropped: [`DropReason::Overloaded`].
    pub dropped_overloaded: u64,
    /// Dropped: [`DropReason::Injected`] (inbound and outbound).
    pub dropped_injected: u64,
    /// Lifeguard's local health score now: 0 is healthy; each point stretches this member's
    /// probe timeouts (see [`Member::health`](crate::Member::health)).
    pub health: u32,
    /// Probes started.
    pub probes: u64,
    /// Probes that needed the indirect path.
    pub indirect_probes: u64,
    /// Probes that got no ack at all.
    pub failed_probes: u64,
    /// Suspicions this member learned of or raised (each `suspect` event).
    pub suspicions: u64,
}

impl MetricsSnapshot {
    /// Every drop, whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_unauthenticated
            + self.dropped_replayed
            + self.dropped_malformed
            + self.dropped_wrong_cluster
            + self.dropped_oversized
            + self.dropped_overloaded
            + self.dropped_injected
    }
}
