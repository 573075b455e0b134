//! A fault injector between a member and its sockets, for tests and drills.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// Wraps a member's transport to drop, delay, or cut off traffic: a partition, a lossy link
/// or a slow network on one machine. Clone it to keep a handle; pass a clone to
/// [`ClusterConfigBuilder::faults`](super::ClusterConfigBuilder::faults); change it while the
/// member runs.
///
/// It applies to everything the member sends (UDP and TCP) and to what it receives from a
/// cut-off peer. A partition between two groups is made by cutting each side off from the
/// other on both sides, as a real network split would.
///
/// ```
/// use sinew_gossip::runtime::Faults;
///
/// let faults = Faults::new(7);
/// let peer = "127.0.0.1:7002".parse()?;
/// faults.cut_off(peer);
/// assert!(faults.is_cut_off(peer));
/// faults.heal();
/// assert!(!faults.is_cut_off(peer));
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Faults {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    rng: Xoshiro256PlusPlus,
    drop_probability: f64,
    delay: Duration,
    cut_off: HashSet<SocketAddr>,
}

/// What to do with one outbound datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Send,
    Delay(Duration),
    Drop,
}

impl Faults {
    /// No faults yet; random drops use a generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            inner: Arc::new(Mutex::new(State {
                rng: Xoshiro256PlusPlus::seed_from_u64(seed),
                drop_probability: 0.0,
                delay: Duration::ZERO,
                cut_off: HashSet::new(),
            })),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // The state stays consistent whatever a panicking holder did (plain field writes).
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Drops each outbound datagram with probability `p` (clamped to 0..=1).
    pub fn set_drop_probability(&self, p: f64) {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        self.with(|s| s.drop_probability = p);
    }

    /// Delays every outbound datagram by `delay`.
    pub fn set_delay(&self, delay: Duration) {
        self.with(|s| s.delay = delay);
    }

    /// Cuts `peer` off: nothing is sent to it and nothing from it is accepted.
    pub fn cut_off(&self, peer: SocketAddr) {
        self.with(|s| s.cut_off.insert(peer));
    }

    /// Restores the link to `peer`.
    pub fn restore(&self, peer: SocketAddr) {
        self.with(|s| s.cut_off.remove(&peer));
    }

    /// Whether `peer` is cut off.
    pub fn is_cut_off(&self, peer: SocketAddr) -> bool {
        self.with(|s| s.cut_off.contains(&peer))
    }

    /// Removes every fault: no drops, no delay, no cut-off peer.
    pub fn heal(&self) {
        self.with(|s| {
            s.drop_probability = 0.0;
            s.delay = Duration::ZERO;
            s.cut_off.clear();
        });
    }

    pub(crate) fn outbound(&self, to: SocketAddr) -> Verdict {
        self.with(|s| {
            if s.cut_off.contains(&to)
                || (s.drop_probability > 0.0 && s.rng.random_bool(s.drop_probability))
            {
                Verdict::Drop
            } else if s.delay.is_zero() {
                Verdict::Send
            } else {
                Verdict::Delay(s.delay)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        let f = Faults::new(1);
        let a: SocketAddr = ([127, 0, 0, 1], 1).into();
        let b: SocketAddr = ([127, 0, 0, 1], 2).into();
        assert_eq!(f.outbound(a), Verdict::Send);
        f.cut_off(a);
        assert_eq!(f.outbound(a), Verdict::Drop);
        assert_eq!(f.outbound(b), Verdict::Send);
        f.set_delay(Duration::from_millis(5));
        assert_eq!(f.outbound(b), Verdict::Delay(Duration::from_millis(5)));
        f.restore(a);
        f.set_delay(Duration::ZERO);
        f.set_drop_probability(1.0);
        assert_eq!(f.outbound(a), Verdict::Drop);
        f.set_drop_probability(f64::NAN);
        assert_eq!(f.outbound(a), Verdict::Send);
    }

    #[test]
    fn drop_probability_is_roughly_honoured() {
        let f = Faults::new(3);
        f.set_drop_probability(0.25);
        let a: SocketAddr = ([127, 0, 0, 1], 1).into();
        let dropped = (0..10_000)
            .filter(|_| f.outbound(a) == Verdict::Drop)
            .count();
        // Binomial(10_000, 0.25): sd = 43.3; 2_500 +- 300 is about 7 sd.
        assert!((2_200..=2_800).contains(&dropped), "{dropped}");
    }
}
