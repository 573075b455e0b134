//! The history of client operations and the checker that judges it, Jepsen style: every
//! written value is unique (it encodes its write's id), every write records the writes its
//! client had read (its parents), and the verdicts are computed from the history and the
//! final, converged state alone.
//!
//! Definitions (the issue's, made exact):
//!
//! - A write W is *covered* by an object O when O holds W's value, or the store orders O
//!   after W: with [`Policy::Dvv`] O's causal context covers W's dot; with [`Policy::Lww`]
//!   O's newest `(timestamp, dot)` is at least W's.
//! - *Lost acknowledged write*: an acknowledged write not covered by its key's final object.
//! - *Stale read*: a successful strict read that began after a strict write W to the same
//!   key was acknowledged, and whose result does not cover W; only counted when R + W > N
//!   (otherwise quorums need not intersect and nothing is promised).
//! - *Lost concurrent update*: an acknowledged write that is neither a final sibling nor an
//!   ancestor (through recorded parents, transitively, over every attempted write) of one.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use bytes::Bytes;
use sinew_clock::HlcTimestamp;

use crate::{Dot, OpError, Policy, Siblings};

/// The value a simulated client writes: its write id, 8 bytes big-endian.
pub(crate) fn value_of(write: u64) -> Bytes {
    Bytes::copy_from_slice(&write.to_be_bytes())
}

/// The write ids of an object's siblings (values that are not 8 bytes are not ours).
pub(crate) fn write_ids(object: &Siblings) -> Vec<u64> {
    object
        .iter()
        .filter_map(|s| <[u8; 8]>::try_from(s.value.as_ref()).ok())
        .map(u64::from_be_bytes)
        .collect()
}

/// What the store said when it acknowledged a write.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ack {
    pub(crate) dot: Dot,
    pub(crate) timestamp: HlcTimestamp,
    pub(crate) strict: bool,
    pub(crate) at: Duration,
}

/// One attempted write.
#[derive(Clone, Debug)]
pub(crate) struct WriteRecord {
    pub(crate) key: usize,
    pub(crate) parents: Vec<u64>,
    pub(crate) invoke: Duration,
    pub(crate) ack: Option<Ack>,
}

/// One completed read.
#[derive(Clone, Debug)]
pub(crate) struct ReadRecord {
    pub(crate) key: usize,
    pub(crate) invoke: Duration,
    /// The object read and whether the quorum was strict; `None` if the read failed.
    pub(crate) result: Option<(Siblings, bool)>,
}

/// Every operation of a run. Write ids are indices into `writes`.
#[derive(Debug, Default)]
pub(crate) struct History {
    pub(crate) writes: Vec<WriteRecord>,
    pub(crate) reads: Vec<ReadRecord>,
    pub(crate) write_failures: u64,
    pub(crate) read_failures: u64,
    pub(crate) why: Failures,
}

/// Why operations failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Failures {
    /// Refused at once: too few nodes alive (or none to send to).
    pub(crate) unavailable: u64,
    /// The coordinator's deadline passed before the quorum answered.
    pub(crate) timeout: u64,
    /// The coordinator never answered (it crashed, or was down): the client gave up.
    pub(crate) no_answer: u64,
    /// Anything else (overload, options).
    pub(crate) other: u64,
}

impl Failures {
    pub(crate) fn count(&mut self, e: &OpError) {
        match e {
            OpError::Unavailable { .. } => self.unavailable += 1,
            OpError::Timeout { .. } => self.timeout += 1,
            _ => self.other += 1,
        }
    }
}

/// The checker's verdicts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) acknowledged_writes: u64,
    pub(crate) lost_acknowledged_writes: u64,
    pub(crate) stale_reads: u64,
    pub(crate) lost_concurrent_updates: u64,
    pub(crate) siblings_max: usize,
    /// Successful strict reads (those the stale-read check applies to).
    pub(crate) strict_reads: u64,
    /// A few violations, described, for whoever debugs a failing run.
    pub(crate) examples: Vec<String>,
}

const MAX_EXAMPLES: usize = 5;

impl History {
    /// Starts a write of `key` by a client that read `parents`; returns its id.
    pub(crate) fn invoke_write(&mut self, key: usize, parents: Vec<u64>, now: Duration) -> u64 {
        self.writes.push(WriteRecord {
            key,
            parents,
            invoke: now,
            ack: None,
        });
        (self.writes.len() - 1) as u64
    }

    /// Write `id` was acknowledged.
    pub(crate) fn ack_write(&mut self, id: u64, ack: Ack) {
        if let Some(w) = usize::try_from(id)
            .ok()
            .and_then(|i| self.writes.get_mut(i))
        {
            w.ack = Some(ack);
        }
    }

    /// Judges the history against `finals`: the converged object of every key (keys absent
    /// from it have no value anywhere).
    pub(crate) fn check(
        &self,
        policy: Policy,
        finals: &HashMap<usize, Siblings>,
        quorums_intersect: bool,
    ) -> Verdict {
        let mut v = Verdict::default();
        let empty = Siblings::default();
        let note = |v: &mut Verdict, what: String| {
            if v.examples.len() < MAX_EXAMPLES {
                v.examples.push(what);
            }
        };
        // Strict acknowledged writes by key, in acknowledgement order, for the stale reads.
        let mut strict_acks: HashMap<usize, Vec<(Duration, u64)>> = HashMap::new();
        for (id, w) in self.writes.iter().enumerate() {
            let Some(ack) = w.ack else { continue };
            v.acknowledged_writes += 1;
            let id = id as u64;
            let last = finals.get(&w.key).unwrap_or(&empty);
            if !covers(policy, last, id, &ack) {
                v.lost_acknowledged_writes += 1;
                note(
                    &mut v,
                    format!(
                        "write {id} to key {} (invoked at {:?}, acknowledged at {:?}) is lost",
                        w.key, w.invoke, ack.at
                    ),
                );
            }
            if ack.strict {
                strict_acks.entry(w.key).or_default().push((ack.at, id));
            }
        }
        if quorums_intersect {
            for list in strict_acks.values_mut() {
                list.sort_unstable();
            }
            for r in &self.reads {
                let Some((object, true)) = &r.result else {
                    continue;
                };
                v.strict_reads += 1;
                let Some(list) = strict_acks.get(&r.key) else {
                    continue;
                };
                let before = list.partition_point(|&(at, _)| at < r.invoke);
                for &(at, id) in list.iter().take(before) {
                    let ack = self.ack_of(id);
                    if ack.is_some_and(|a| !covers(policy, object, id, &a)) {
                        v.stale_reads += 1;
                        note(
                            &mut v,
                            format!(
                                "read of key {} begun at {:?} misses write {id} acknowledged at {at:?}",
                                r.key, r.invoke
                            ),
                        );
                        break; // one stale read, however many writes it misses
                    }
                }
            }
        }
        // Lost concurrent updates: the final siblings and their ancestors are preserved.
        let mut preserved = vec![false; self.writes.len()];
        let mut stack: Vec<u64> = Vec::new();
        for object in finals.values() {
            v.siblings_max = v.siblings_max.max(object.len());
            stack.extend(write_ids(object));
        }
        while let Some(id) = stack.pop() {
            let Some(i) = usize::try_from(id).ok() else {
                continue;
            };
            match preserved.get_mut(i) {
                Some(p) if !*p => *p = true,
                _ => continue,
            }
            if let Some(w) = self.writes.get(i) {
                stack.extend(&w.parents);
            }
        }
        for (id, w) in self.writes.iter().enumerate() {
            if w.ack.is_some() && !preserved.get(id).copied().unwrap_or(false) {
                v.lost_concurrent_updates += 1;
                note(
                    &mut v,
                    format!(
                        "write {id} to key {} is neither a final sibling nor an ancestor of one",
                        w.key
                    ),
                );
            }
        }
        v
    }

    fn ack_of(&self, id: u64) -> Option<Ack> {
        self.writes.get(usize::try_from(id).ok()?)?.ack
    }

    /// The distinct keys written or read.
    pub(crate) fn keys(&self) -> BTreeSet<usize> {
        let w = self.writes.iter().map(|w| w.key);
        w.chain(self.reads.iter().map(|r| r.key)).collect()
    }
}

/// Whether `object` holds write `id` or a version the store orders after it.
fn covers(policy: Policy, object: &Siblings, id: u64, ack: &Ack) -> bool {
    if write_ids(object).contains(&id) {
        return true;
    }
    match policy {
        Policy::Lww => object
            .newest()
            .is_some_and(|s| (s.timestamp, s.dot) >= (ack.timestamp, ack.dot)),
        _ => object.covers(ack.dot),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VersionVector;

    const MS: Duration = Duration::from_millis(1);

    fn ts(t: u64) -> HlcTimestamp {
        HlcTimestamp::from_u64(t << 16)
    }

    /// Applies write `id` (reading `ctx`) to `object` and records it, acknowledged at `at`.
    fn write(
        h: &mut History,
        object: &mut Siblings,
        ctx: &VersionVector,
        parents: Vec<u64>,
        at: u64,
    ) -> u64 {
        let id = h.invoke_write(0, parents, Duration::from_millis(at));
        let dot = object.write(1, ctx, ts(at), value_of(id));
        h.ack_write(
            id,
            Ack {
                dot,
                timestamp: ts(at),
                strict: true,
                at: Duration::from_millis(at),
            },
        );
        id
    }

    #[test]
    fn a_clean_history_passes_and_siblings_count() {
        let mut h = History::default();
        let mut o = Siblings::new();
        let a = write(&mut h, &mut o, &VersionVector::new(), vec![], 1);
        let b = write(&mut h, &mut o, &VersionVector::new(), vec![], 2); // concurrent with a
        let seen = o.context().clone();
        write(&mut h, &mut o, &seen, vec![a, b], 3); // resolves both
        let d = write(&mut h, &mut o, &seen, vec![a, b], 4); // concurrent with the resolution
        h.reads.push(ReadRecord {
            key: 0,
            invoke: 5 * MS,
            result: Some((o.clone(), true)),
        });
        let v = h.check(Policy::Dvv, &HashMap::from([(0, o)]), true);
        assert_eq!(v.acknowledged_writes, 4);
        assert_eq!(v.siblings_max, 2);
        assert_eq!(
            (
                v.lost_acknowledged_writes,
                v.stale_reads,
                v.lost_concurrent_updates
            ),
            (0, 0, 0),
            "{:?} (last write {d})",
            v.examples
        );
    }

    #[test]
    fn each_violation_is_caught() {
        let mut h = History::default();
        let mut o = Siblings::new();
        let before = o.clone();
        let a = write(&mut h, &mut o, &VersionVector::new(), vec![], 1);
        // A strict read after a's acknowledgement that returns the empty object: stale.
        h.reads.push(ReadRecord {
            key: 0,
            invoke: 2 * MS,
            result: Some((before.clone(), true)),
        });
        // The same read, but not strict, or begun before the ack: not counted.
        h.reads.push(ReadRecord {
            key: 0,
            invoke: 2 * MS,
            result: Some((before.clone(), false)),
        });
        h.reads.push(ReadRecord {
            key: 0,
            invoke: MS / 2,
            result: Some((before.clone(), true)),
        });
        // The final state forgot a: lost, both as an acknowledged write and as an update.
        let v = h.check(Policy::Dvv, &HashMap::from([(0, before.clone())]), true);
        assert_eq!(
            (
                v.lost_acknowledged_writes,
                v.stale_reads,
                v.lost_concurrent_updates
            ),
            (1, 1, 1),
            "{a}"
        );
        assert_eq!(v.examples.len(), 3);
        // Where quorums need not intersect, the stale read is not a violation.
        let v = h.check(Policy::Dvv, &HashMap::from([(0, before)]), false);
        assert_eq!(v.stale_reads, 0);
    }

    #[test]
    fn lww_supersedes_by_timestamp_and_loses_the_concurrent_write() {
        let mut h = History::default();
        let mut o = Siblings::new();
        let stamp = |h: &mut History, o: &mut Siblings, at: u64| {
            let id = h.invoke_write(0, vec![], Duration::from_millis(at));
            let dot = Dot::new(1, at);
            o.write_lww(dot, ts(at), value_of(id));
            let ack = Ack {
                dot,
                timestamp: ts(at),
                strict: true,
                at: Duration::from_millis(at),
            };
            h.ack_write(id, ack);
        };
        stamp(&mut h, &mut o, 1);
        stamp(&mut h, &mut o, 2); // blind, concurrent: replaces the first
        let v = h.check(Policy::Lww, &HashMap::from([(0, o)]), true);
        assert_eq!(v.lost_acknowledged_writes, 0); // the newer timestamp supersedes it
        assert_eq!(v.lost_concurrent_updates, 1); // but nothing preserved its value
    }
}
