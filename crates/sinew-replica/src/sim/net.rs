//! The virtual network: one queue of timed events (message deliveries and the simulator's
//! own timers), per-message delay and iid loss, and partitions.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Duration;

use rand::RngExt;
use rand::rngs::Xoshiro256PlusPlus;

/// An event due at `at`; `seq` breaks ties in scheduling order, so the run is deterministic.
#[derive(Debug)]
struct Entry<E> {
    at: Duration,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    // Reversed: `BinaryHeap` is a max-heap and the earliest event must come out first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A queue of events in time order (ties in the order they were scheduled).
#[derive(Debug)]
pub(crate) struct Queue<E> {
    heap: BinaryHeap<Entry<E>>,
    seq: u64,
}

impl<E> Queue<E> {
    pub(crate) fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }

    pub(crate) fn push(&mut self, at: Duration, event: E) {
        self.seq += 1;
        self.heap.push(Entry {
            at,
            seq: self.seq,
            event,
        });
    }

    /// The next event if it is due at or before `until`.
    pub(crate) fn pop_until(&mut self, until: Duration) -> Option<(Duration, E)> {
        if self.heap.peek()?.at > until {
            return None;
        }
        self.heap.pop().map(|e| (e.at, e.event))
    }
}

/// Delay, loss and partitions, and the count of messages handed to the network.
#[derive(Debug)]
pub(crate) struct Network {
    loss: f64,
    delay_min: Duration,
    delay_max: Duration,
    /// The partition group of every node (all 0 when healed).
    group: Vec<u32>,
    /// Messages handed to the network (lost ones included).
    pub(crate) sent: u64,
    /// Messages lost to iid loss.
    pub(crate) lost: u64,
    /// Messages dropped by a partition.
    pub(crate) cut: u64,
}

impl Network {
    pub(crate) fn new(nodes: usize, loss: f64, delay_min: Duration, delay_max: Duration) -> Self {
        Self {
            loss,
            delay_min,
            delay_max: delay_max.max(delay_min),
            group: vec![0; nodes],
            sent: 0,
            lost: 0,
            cut: 0,
        }
    }

    /// Splits the nodes: those in `minority` go to group 1, the others stay in group 0.
    pub(crate) fn partition(&mut self, minority: &[usize]) {
        self.heal();
        for &i in minority {
            if let Some(g) = self.group.get_mut(i) {
                *g = 1;
            }
        }
    }

    pub(crate) fn heal(&mut self) {
        self.group.iter_mut().for_each(|g| *g = 0);
    }

    /// Whether `a` and `b` can talk (same side of any partition).
    pub(crate) fn connected(&self, a: usize, b: usize) -> bool {
        self.group.get(a) == self.group.get(b)
    }

    /// Hands one message from `from` to `to` to the network at `now`: its delivery time, or
    /// `None` if it is lost or cut by a partition. Every message draws from the generator
    /// the same way whatever its fate, so one change of fate does not reshuffle the run.
    pub(crate) fn send(
        &mut self,
        rng: &mut Xoshiro256PlusPlus,
        now: Duration,
        from: usize,
        to: usize,
    ) -> Option<Duration> {
        self.sent += 1;
        let lost = rng.random::<f64>() < self.loss;
        let span = self.delay_max.saturating_sub(self.delay_min).as_nanos();
        let extra = u64::try_from(span).map_or(0, |s| rng.random_range(0..=s));
        if !self.connected(from, to) {
            self.cut += 1;
            return None;
        }
        if lost {
            self.lost += 1;
            return None;
        }
        Some(now + self.delay_min + Duration::from_nanos(extra))
    }

    /// Counts `count` messages exchanged reliably (the anti-entropy tree walk; see the module
    /// docs of [`sim`](super)).
    pub(crate) fn count_reliable(&mut self, count: u64) {
        self.sent += count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn queue_pops_in_time_then_schedule_order() {
        let mut q = Queue::new();
        let ms = Duration::from_millis;
        q.push(ms(5), "b");
        q.push(ms(1), "a");
        q.push(ms(5), "c");
        assert_eq!(q.pop_until(ms(0)), None);
        assert_eq!(q.pop_until(ms(9)), Some((ms(1), "a")));
        assert_eq!(q.pop_until(ms(9)), Some((ms(5), "b")));
        assert_eq!(q.pop_until(ms(9)), Some((ms(5), "c")));
        assert_eq!(q.pop_until(ms(9)), None);
    }

    #[test]
    fn partitions_cut_and_delays_stay_in_range() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let ms = Duration::from_millis;
        let mut net = Network::new(4, 0.0, ms(1), ms(10));
        for _ in 0..1000 {
            let at = net.send(&mut rng, ms(100), 0, 3);
            assert!(at.is_some_and(|at| at >= ms(101) && at <= ms(110)));
        }
        net.partition(&[3]);
        assert_eq!(net.send(&mut rng, ms(100), 0, 3), None);
        assert!(net.send(&mut rng, ms(100), 0, 1).is_some());
        net.heal();
        assert!(net.send(&mut rng, ms(100), 0, 3).is_some());
        assert_eq!((net.sent, net.cut, net.lost), (1003, 1, 0));
    }
}
