//! The piggyback queue: rumours waiting to be retransmitted, least-sent first.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use crate::wire::{Message, Packer};

/// The smallest rumour (a `Left` about an IPv4 member with one-byte varints).
const MIN_RUMOUR_LEN: usize = 1 + 7 + 2;

#[derive(Debug)]
struct Item {
    subject: SocketAddr,
    message: Message,
    transmits: u32,
    queued_at: Duration,
}

/// Rumours to piggyback, each sent at most `limit` times. A newer rumour about a member
/// replaces an older one still queued (it supersedes it).
#[derive(Debug, Default)]
pub(crate) struct BroadcastQueue {
    next_id: u64,
    // (transmits so far, newest first) -> id: iteration order is the send priority.
    order: BTreeSet<(u32, Reverse<u64>)>,
    items: HashMap<u64, Item>,
    by_subject: HashMap<SocketAddr, u64>,
}

impl BroadcastQueue {
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Queues `message` about `subject` at time `now`, replacing any queued rumour about the
    /// same member.
    pub(crate) fn push(&mut self, subject: SocketAddr, message: Message, now: Duration) {
        if let Some(old) = self.by_subject.remove(&subject)
            && let Some(item) = self.items.remove(&old)
        {
            self.order.remove(&(item.transmits, Reverse(old)));
        }
        let id = self.next_id;
        self.next_id += 1;
        self.order.insert((0, Reverse(id)));
        self.items.insert(
            id,
            Item {
                subject,
                message,
                transmits: 0,
                queued_at: now,
            },
        );
        self.by_subject.insert(subject, id);
    }

    /// Adds as many queued rumours to `packer` as fit (into its current datagram, or into a
    /// first one if it is empty), least-transmitted first, and drops those sent `limit` times.
    /// A suspicion's age goes out as of `now` (it kept ageing while queued). Returns how many
    /// were added.
    pub(crate) fn fill(&mut self, packer: &mut Packer<'_>, limit: u32, now: Duration) -> usize {
        let mut sent = Vec::new();
        let mut misses = 0;
        for &(transmits, Reverse(id)) in &self.order {
            // Stop when the datagram is full, or after a run of rumours too big for the
            // space left (scanning a long queue for a small one costs more than it saves).
            if packer.has_messages() && (packer.remaining() < MIN_RUMOUR_LEN || misses >= 8) {
                break;
            }
            let Some(item) = self.items.get(&id) else {
                continue;
            };
            let aged;
            let message = match &item.message {
                Message::Suspect {
                    addr,
                    incarnation,
                    from,
                    age_ms,
                } => {
                    let waited = now.saturating_sub(item.queued_at).as_millis();
                    aged = Message::Suspect {
                        addr: *addr,
                        incarnation: *incarnation,
                        from: *from,
                        age_ms: age_ms.saturating_add(u32::try_from(waited).unwrap_or(u32::MAX)),
                    };
                    &aged
                }
                other => other,
            };
            let added = if packer.has_messages() {
                packer.push_if_fits(message)
            } else {
                packer.push(message)
            };
            if added {
                sent.push((transmits, id));
            } else {
                misses += 1;
            }
        }
        for &(transmits, id) in &sent {
            self.order.remove(&(transmits, Reverse(id)));
            if transmits + 1 >= limit {
                if let Some(item) = self.items.remove(&id) {
                    self.by_subject.remove(&item.subject);
                }
            } else {
                if let Some(item) = self.items.get_mut(&id) {
                    item.transmits += 1;
                }
                self.order.insert((transmits + 1, Reverse(id)));
            }
        }
        sent.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Incarnation, decode};

    const T0: Duration = Duration::ZERO;

    fn addr(i: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], i))
    }

    fn left(i: u16, n: u32) -> Message {
        Message::Left {
            addr: addr(i),
            incarnation: Incarnation::new(1, n),
        }
    }

    #[test]
    fn newer_rumour_replaces_older_and_limit_applies() {
        let mut q = BroadcastQueue::default();
        q.push(addr(1), left(1, 1), T0);
        q.push(addr(1), left(1, 2), T0);
        q.push(addr(2), left(2, 1), T0);
        assert_eq!(q.len(), 2);
        for round in 0..3 {
            let mut p = Packer::new(b"", addr(0), 1400);
            assert_eq!(q.fill(&mut p, 3, T0), 2, "round {round}");
            let msgs = decode(&p.finish()[0]).unwrap().messages;
            assert!(msgs.contains(&left(1, 2)));
            assert!(!msgs.contains(&left(1, 1)));
        }
        assert!(q.is_empty());
    }

    #[test]
    fn least_sent_go_first_when_space_is_short() {
        let mut q = BroadcastQueue::default();
        q.push(addr(1), left(1, 1), T0);
        let mut p = Packer::new(b"", addr(0), 1400);
        q.fill(&mut p, 10, T0);
        q.push(addr(2), left(2, 1), T0);
        // Room for exactly one rumour after the header (9 bytes) + one 10-byte rumour.
        let mut p = Packer::new(b"", addr(0), 9 + 10);
        assert_eq!(q.fill(&mut p, 10, T0), 1);
        let msgs = decode(&p.finish()[0]).unwrap().messages;
        assert_eq!(msgs, vec![left(2, 1)]);
    }

    #[test]
    fn a_suspicion_ages_while_queued() {
        let mut q = BroadcastQueue::default();
        let suspect = |age_ms| Message::Suspect {
            addr: addr(1),
            incarnation: Incarnation::new(1, 0),
            from: addr(2),
            age_ms,
        };
        q.push(addr(1), suspect(300), Duration::from_secs(5));
        let mut p = Packer::new(b"", addr(0), 1400);
        q.fill(&mut p, 10, Duration::from_millis(5_250));
        let msgs = decode(&p.finish()[0]).unwrap().messages;
        assert_eq!(msgs, vec![suspect(550)]);
    }
}
