//! Reads: send to every target, settle on the merge of the first `r` replies, repair the
//! replicas that answered with something older (and late replies too).

use std::hash::Hash;
use std::time::Duration;

use bytes::Bytes;
use sinew_clock::Clock;
use sinew_ring::ConsistentHash;

use super::{Completion, Coordinator, Kind, OpId, ReadOutcome};
use crate::error::OpError;
use crate::message::{Message, Transmit};
use crate::options::{Options, ReadRepair};
use crate::version::Siblings;

impl<N: Clone + Eq + Hash, C: Clock> Coordinator<N, C> {
    /// Starts a read of `key` (placed by `sinew_ring::key_hash_bytes(&key)`), sending to every
    /// target at once and completing after `options.r` replies.
    ///
    /// # Errors
    ///
    /// [`OpError::Unavailable`] if fewer than `r` usable nodes are alive,
    /// [`OpError::Overloaded`], or [`OpError::Options`] for out-of-range options.
    pub fn get<R: ConsistentHash<Node = N>>(
        &mut self,
        key: Bytes,
        router: &R,
        is_alive: impl Fn(&N) -> bool,
        options: Options,
        now: Duration,
    ) -> Result<OpId, OpError> {
        self.metrics.gets += 1;
        let slot = self.start(Kind::Get, key, router, is_alive, options, now)?;
        let Some(op) = self.ops.get_mut(slot) else {
            return Err(OpError::Overloaded { max_in_flight: 0 });
        };
        let id = op.id(slot).0;
        op.replies.clear();
        op.replies.resize(op.targets.len(), None);
        for t in &op.targets {
            self.out.push_back(Transmit {
                to: t.node.clone(),
                message: Message::Get {
                    op: id,
                    key: op.key.clone(),
                },
            });
        }
        Ok(OpId(id))
    }

    pub(super) fn on_get_reply(&mut self, slot: usize, target: usize, object: Siblings) {
        if let Some(newest) = object.newest()
            && self.hlc.update(newest.timestamp).is_err()
        {
            self.metrics.clock_rejections += 1;
        }
        let Some(op) = self.ops.get_mut(slot) else {
            return;
        };
        if op.kind != Kind::Get {
            return;
        }
        let (Some(t), Some(reply)) = (op.targets.get_mut(target), op.replies.get_mut(target))
        else {
            return;
        };
        if t.replied {
            self.metrics.stray_replies += 1;
            return;
        }
        t.replied = true;
        if op.completed {
            // A late reply: current, or, if it is older or newer than what the read settled
            // on, a reason to repair it or everyone else.
            if op.object.as_ref() == Some(&object) {
                t.current = true;
                *reply = Some(object);
            } else {
                *reply = Some(object);
                self.settle(slot);
            }
            self.maybe_finish_get(slot);
            return;
        }
        *reply = Some(object);
        if op.count(|t| t.replied) >= op.options.r {
            self.settle(slot);
            self.maybe_finish_get(slot);
        }
    }

    /// Merges the replies into the object the read settles on, marks the replicas that hold
    /// it current and sends it to the others (read repair). When every reply is the same, as
    /// it is most of the time, nothing is merged: the settled object shares the first reply.
    pub(super) fn settle(&mut self, slot: usize) {
        let policy = self.policy;
        let Some(op) = self.ops.get_mut(slot) else {
            return;
        };
        let mut replies = op.replies.iter().flatten();
        let first = replies.next();
        let agree = op.object.is_none() && replies.all(|r| Some(r) == first);
        let merged = match first {
            Some(first) if agree => first.clone(),
            _ => {
                let mut merged = op.object.take().unwrap_or_default();
                for reply in op.replies.iter().flatten() {
                    policy.merge(&mut merged, reply);
                }
                merged
            }
        };
        let id = op.id(slot).0;
        let repair = op.options.read_repair != ReadRepair::Off;
        for (t, reply) in op.targets.iter_mut().zip(op.replies.iter_mut()) {
            let Some(held) = reply else {
                continue;
            };
            if *held == merged {
                // Equal, unless it only will be once its repair is acknowledged.
                t.current = t.current || !t.repairing;
                continue;
            }
            t.current = false;
            if !repair {
                continue;
            }
            // The replica will hold the merged object; current once it acknowledges.
            *held = merged.clone();
            t.repairing = true;
            self.metrics.read_repairs += 1;
            event!(DEBUG, home = t.home, "read repair sent");
            self.out.push_back(Transmit {
                to: t.node.clone(),
                message: Message::Replicate {
                    op: id,
                    key: op.key.clone(),
                    object: merged.clone(),
                    hint: t.hint.clone(),
                },
            });
        }
        op.object = Some(merged);
    }

    /// Completes a read once it has its quorum (and, for a blocking repair, once `r` replicas
    /// hold the merged object); frees it once nothing more can arrive.
    pub(super) fn maybe_finish_get(&mut self, slot: usize) {
        let Some(op) = self.ops.get_mut(slot) else {
            return;
        };
        if !op.completed {
            let ready = match op.options.read_repair {
                ReadRepair::Blocking => op.count(|t| t.current) >= op.options.r,
                ReadRepair::Async | ReadRepair::Off => op.count(|t| t.replied) >= op.options.r,
            };
            if !ready {
                return;
            }
            op.completed = true;
            let strict = op.count(|t| t.replied && t.home) >= op.options.r;
            let object = op.object.clone().unwrap_or_default();
            self.events.push_back(Completion::Get {
                op: op.id(slot),
                result: Ok(ReadOutcome {
                    key: op.key.clone(),
                    object,
                    strict,
                }),
            });
        }
        let Some(op) = self.ops.get(slot) else {
            return;
        };
        let settled = op
            .targets
            .iter()
            .all(|t| t.replied && (t.current || op.options.read_repair == ReadRepair::Off));
        if settled {
            self.release(slot);
        }
    }
}
