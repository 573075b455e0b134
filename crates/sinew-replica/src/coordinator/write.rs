//! Writes: one replica applies the write under its own dot (dotted version vectors) or the
//! coordinator stamps it (last-writer-wins), then the object goes to the other targets until
//! `w` have acknowledged it.

use std::hash::Hash;
use std::time::Duration;

use bytes::Bytes;
use sinew_clock::Clock;
use sinew_ring::ConsistentHash;

use super::{Completion, Coordinator, Kind, OpId, WriteOutcome};
use crate::error::OpError;
use crate::message::{Message, Transmit};
use crate::options::Options;
use crate::version::{Dot, Policy, Siblings, VersionVector};

impl<N: Clone + Eq + Hash, C: Clock> Coordinator<N, C> {
    /// Starts a write of `value` under `key`. `context` is the
    /// [`context`](Siblings::context) of the object the client read before writing (an empty
    /// vector for a blind write): the siblings it covers are replaced, any others are kept.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get), with `w` in place of `r`; under [`Policy::Dvv`] also
    /// [`OpError::Unavailable`] when no home replica is alive to apply the write.
    #[allow(clippy::too_many_arguments)] // the sans-io inputs of an operation, each distinct
    pub fn put<R: ConsistentHash<Node = N>>(
        &mut self,
        key: Bytes,
        value: Bytes,
        context: VersionVector,
        router: &R,
        is_alive: impl Fn(&N) -> bool,
        options: Options,
        now: Duration,
    ) -> Result<OpId, OpError> {
        self.metrics.puts += 1;
        let timestamp = self.hlc.now();
        let slot = self.start(Kind::Put, key, router, is_alive, options, now)?;
        let (me, actor, policy) = (self.me.clone(), self.actor, self.policy);
        let Some(op) = self.ops.get_mut(slot) else {
            return Err(OpError::Overloaded { max_in_flight: 0 });
        };
        op.timestamp = timestamp;
        match policy {
            Policy::Dvv => {
                // The leader applies the write under its own dot: this node if it is a home
                // replica (no extra hop), else the first home replica alive.
                let leader = op
                    .targets
                    .iter()
                    .position(|t| t.home && t.node == me)
                    .or_else(|| op.targets.iter().position(|t| t.home));
                let Some(leader) = leader else {
                    let alive = 0;
                    self.release(slot);
                    self.metrics.unavailable += 1;
                    event!(
                        DEBUG,
                        kind = "put",
                        needed = options.w,
                        alive = 0,
                        "no home replica alive to apply the write"
                    );
                    return Err(OpError::Unavailable {
                        needed: options.w,
                        alive,
                    });
                };
                op.value = value;
                op.context = context;
                let id = op.id(slot);
                self.send_put(slot, leader);
                Ok(id)
            }
            Policy::Lww => {
                let dot = Dot {
                    actor,
                    counter: timestamp.as_u64(),
                };
                let mut object = Siblings::new();
                object.write_lww(dot, timestamp, value);
                op.dot = dot;
                op.object = Some(object);
                let id = op.id(slot);
                self.replicate(slot, None);
                Ok(id)
            }
        }
    }

    pub(super) fn send_put(&mut self, slot: usize, leader: usize) {
        let Some(op) = self.ops.get_mut(slot) else {
            return;
        };
        let Some(target) = op.targets.get(leader) else {
            return;
        };
        op.leader = Some(leader);
        self.out.push_back(Transmit {
            to: target.node.clone(),
            message: Message::Put {
                op: op.id(slot).0,
                key: op.key.clone(),
                value: op.value.clone(),
                context: op.context.clone(),
                timestamp: op.timestamp,
            },
        });
    }

    /// Sends the operation's object to every target that has not answered, except `skip`.
    pub(super) fn replicate(&mut self, slot: usize, skip: Option<usize>) {
        let Some(op) = self.ops.get(slot) else {
            return;
        };
        let Some(object) = &op.object else {
            return;
        };
        let id = op.id(slot).0;
        for (i, t) in op.targets.iter().enumerate() {
            if Some(i) == skip || t.replied {
                continue;
            }
            self.out.push_back(Transmit {
                to: t.node.clone(),
                message: Message::Replicate {
                    op: id,
                    key: op.key.clone(),
                    object: object.clone(),
                    hint: t.hint.clone(),
                },
            });
        }
    }

    pub(super) fn on_put_reply(&mut self, slot: usize, target: usize, dot: Dot, object: Siblings) {
        let Some(op) = self.ops.get_mut(slot) else {
            return;
        };
        // Only the first leader's answer is used; a slow one answering after a retry has
        // applied the value too, and anti-entropy spreads that copy like any other.
        if op.kind != Kind::Put || op.object.is_some() {
            self.metrics.stray_replies += 1;
            return;
        }
        let Some(t) = op.targets.get_mut(target) else {
            return;
        };
        t.replied = true;
        op.leader = None;
        op.dot = dot;
        op.object = Some(object);
        self.replicate(slot, Some(target));
        self.maybe_finish_put(slot);
    }

    pub(super) fn on_ack(&mut self, slot: usize, target: usize) {
        let Some(op) = self.ops.get_mut(slot) else {
            return;
        };
        let Some(t) = op.targets.get_mut(target) else {
            return;
        };
        match op.kind {
            Kind::Put => {
                if t.replied || op.object.is_none() {
                    self.metrics.stray_replies += 1;
                    return;
                }
                t.replied = true;
                self.maybe_finish_put(slot);
            }
            Kind::Get => {
                // A read repair landed (of the latest merge: an older one's acknowledgement
                // is taken for it too, which can only make a blocking read return early).
                if t.repairing {
                    t.repairing = false;
                    t.current = true;
                }
                self.maybe_finish_get(slot);
            }
        }
    }

    pub(super) fn maybe_finish_put(&mut self, slot: usize) {
        let Some(op) = self.ops.get(slot) else {
            return;
        };
        let acked = op.count(|t| t.replied);
        if acked < op.options.w {
            return;
        }
        let strict = op.count(|t| t.replied && t.home) >= op.options.w;
        self.events.push_back(Completion::Put {
            op: op.id(slot),
            result: Ok(WriteOutcome {
                key: op.key.clone(),
                dot: op.dot,
                timestamp: op.timestamp,
                strict,
            }),
        });
        self.release(slot);
    }
}
