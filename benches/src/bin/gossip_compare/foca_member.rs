//! foca 2.0 behind sinew's simulator: a [`SimMember`] that drives a `foca::Foca` on virtual
//! time, and [`lan_config`], foca configured with the timing sinew's `Config::lan()` uses.
//!
//! foca is sans-io like sinew: it takes datagrams (`handle_data`) and timer events
//! (`handle_timer`) and talks back through a `Runtime` (send these bytes, notify this, hand me
//! this timer event after that long). The adapter's runtime keeps the timer events in a queue
//! ordered by virtual due time; `poll_timeout` is the earliest of them, and `handle_timeout`
//! hands every due event back to foca. Datagrams and notifications are queued for the
//! simulator, which drains them after every call.
//!
//! # What foca reports, and how it maps to the simulator's events
//!
//! - `MemberUp(id)` → joined; `Rename(old, new)` → joined for `new` when the member stays
//!   active under its new identity (foca emits `MemberUp` itself when it becomes active).
//! - `MemberDown(id)` → dead. foca cannot tell a member that left from one that died: both
//!   are `Down`, so a leave counts as a death here (the report card has no leaves).
//! - foca has no suspicion notification. A suspicion in foca starts only at a prober whose
//!   probe failed, and exactly then it schedules `Timer::ChangeSuspectToDown`; the adapter
//!   reports a suspicion when it sees that timer scheduled and foca's own table then holds
//!   the member as `Suspect` in that incarnation. So false suspicions are counted for foca
//!   too (once per member, generation and foca incarnation, like sinew's).
//! - Identities are `(address, generation)`; `renew()` bumps the generation, so a member
//!   that learns it was declared down rejoins at once in a new generation (foca's
//!   auto-rejoin), and a restart (a larger generation) wins the address conflict. Joined and
//!   dead events carry incarnation number 0: a foca identity goes down at most once, so
//!   counting false deaths per generation is counting them per life, as for sinew.
//!
//! # Bootstrapping
//!
//! foca's `announce` is one datagram: if it or the reply is lost, foca stays alone and
//! (having no active member) runs no timers. An application must retry, so the adapter
//! re-announces to its seeds every second while foca knows no active member. This loop only
//! runs while foca is alone; partitions heal through foca's own
//! `periodic_announce_to_down_members`.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::num::{NonZeroU8, NonZeroU32, NonZeroUsize};
use std::time::Duration;

use ::foca::{
    Config, Foca, Identity, NoCustomBroadcast, Notification, PeriodicParams, PostcardCodec,
    Runtime, State as FocaState, Timer,
};
use bytes::Bytes;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};
use sinew_gossip::sim::{SimEvent, SimMember};
use sinew_gossip::{Incarnation, State};

/// foca configured like sinew's `Config::lan()` (memberlist's LAN timing) for a cluster of
/// `n` members. Starts from `foca::Config::new_lan(n)` (itself derived from memberlist's
/// `DefaultLANConfig`) and sets every knob that has a sinew counterpart explicitly.
///
/// foca has no equivalent of Lifeguard: no local health multiplier (sinew's
/// `awareness_max`: a member that misses acks and nacks slows its own probing instead of
/// accusing others), no suspicion timeout that starts long (6x) and shrinks with independent
/// confirmations, no nacks in indirect probes. Nor has it push-pull anti-entropy (digest
/// exchange); its nearest tool is the periodic `Announce`, answered with a `Feed` of members.
// The f64 -> u8 cast is of a value clamped to 1..=255.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(crate) fn lan_config(n: usize) -> Config {
    let n = n.max(1);
    let size = NonZeroU32::new(u32::try_from(n).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
    let log10 = |x: usize| (x as f64).log10();
    let mut c = Config::new_lan(size);
    // sinew/memberlist: probe_interval 1 s, probe_timeout 500 ms, indirect_probes 3.
    c.probe_period = Duration::from_secs(1);
    c.probe_rtt = Duration::from_millis(500);
    c.num_indirect_probes = NonZeroUsize::new(3).unwrap_or(NonZeroUsize::MIN);
    // sinew/memberlist: gossip every 200 ms to 3 random members (foca, like sinew, skips a
    // round when it has nothing new to tell).
    c.periodic_gossip = Some(PeriodicParams {
        frequency: Duration::from_millis(200),
        num_members: NonZeroUsize::new(3).unwrap_or(NonZeroUsize::MIN),
    });
    // memberlist's retransmit limit, retransmit_mult (4) x ceil(log10(N + 1)): 16 at N = 1000.
    // (new_lan uses floor(4 x log10(N + 1)) = 12; we give foca memberlist's larger budget.)
    let tx = 4.0 * log10(n + 1).ceil();
    c.max_transmissions = NonZeroU8::new(tx.clamp(1.0, 255.0) as u8).unwrap_or(NonZeroU8::MIN);
    // memberlist's suspicion timeout, suspicion_mult (4) x log10(max(N, 10)) x probe
    // interval: 12 s at N = 1000 (the same as new_lan). This is sinew's *minimum*: sinew
    // starts at 6x that and shrinks towards it as members confirm; foca's timeout is fixed.
    c.suspect_to_down_after = Duration::from_secs_f64(4.0 * log10(n.max(10)));
    // sinew/memberlist: datagrams of at most 1400 bytes.
    c.max_packet_size = NonZeroUsize::new(1400).unwrap_or(NonZeroUsize::MIN);
    // Tell a member declared down that it is (foca's TurnUndead): with `renew()` it rejoins
    // in a new generation at once. sinew's counterpart is gossiping to the dead for 30 s so
    // they can refute.
    c.notify_down_members = true;
    // sinew: push-pull anti-entropy every 30 s with one random live member. foca: announce
    // to one random live member every 30 s (the reply is a Feed of members).
    c.periodic_announce = Some(PeriodicParams {
        frequency: Duration::from_secs(30),
        num_members: NonZeroUsize::MIN,
    });
    // sinew: every reconnect_interval (10 s) anti-entropy with one member believed dead, so
    // partitions heal. foca: announce to one member it holds down every 10 s (new_lan: 65 s
    // to 2 members); foca's docs recommend this with renewable identities for partitions.
    c.periodic_announce_to_down_members = Some(PeriodicParams {
        frequency: Duration::from_secs(10),
        num_members: NonZeroUsize::MIN,
    });
    // sinew: tombstones of dead members kept 1 hour (new_lan: 24 h; the runs are shorter
    // than either).
    c.remove_down_after = Some(Duration::from_secs(3600));
    c
}

/// A foca identity: the member's address and its life. A larger generation wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Id {
    addr: SocketAddr,
    generation: u64,
}

impl Identity for Id {
    type Addr = SocketAddr;

    fn renew(&self) -> Option<Self> {
        Some(Self {
            addr: self.addr,
            generation: self.generation.wrapping_add(1),
        })
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        self.generation > adversary.generation
    }
}

/// The adapter's `foca::Runtime`: virtual-time timer queue and output queues.
#[derive(Default)]
struct Rt {
    now: Duration,
    seq: u64,
    /// Timer events by due time; among equal due times in foca's own order (its docs ask
    /// for `SendIndirectProbe` before `ProbeRandomMember`), then in submission order.
    timers: BTreeSet<(Duration, Timer<Id>, u64)>,
    transmits: VecDeque<(SocketAddr, Bytes)>,
    events: VecDeque<SimEvent>,
    /// Whether each address's current identity is active, as foca's notifications told.
    active: HashMap<SocketAddr, bool>,
    /// A `Rename(old, new)` whose liveness is not known yet: the next notification says
    /// whether `new` went up or down; if none does, it kept `old`'s liveness.
    renamed: Option<(Id, bool)>,
    /// Members this foca just started to suspect (from `ChangeSuspectToDown` timers).
    suspicions: Vec<(Id, u16)>,
}

fn inc(id: &Id, number: u16) -> Incarnation {
    Incarnation::new(id.generation, u32::from(number))
}

impl Rt {
    /// `MemberUp` (`active`) or `MemberDown`: report it, and if it follows a rename of the
    /// same identity, it is that rename's liveness change.
    fn liveness_changed(&mut self, id: Id, active: bool) {
        if self.renamed.is_some_and(|(r, _)| r == id) {
            self.renamed = None;
        }
        self.flush_rename();
        self.active.insert(id.addr, active);
        let (addr, incarnation) = (id.addr, inc(&id, 0));
        self.events.push_back(if active {
            SimEvent::Joined { addr, incarnation }
        } else {
            SimEvent::Dead { addr, incarnation }
        });
    }

    fn flush_rename(&mut self) {
        if let Some((id, true)) = self.renamed.take() {
            self.events.push_back(SimEvent::Joined {
                addr: id.addr,
                incarnation: inc(&id, 0),
            });
        }
    }
}

impl Runtime<Id> for Rt {
    fn notify(&mut self, notification: Notification<'_, Id>) {
        match notification {
            Notification::MemberUp(id) => self.liveness_changed(*id, true),
            Notification::MemberDown(id) => self.liveness_changed(*id, false),
            Notification::Rename(old, new) => {
                self.flush_rename();
                let was_active = self.active.get(&old.addr).copied().unwrap_or(false);
                self.renamed = Some((*new, was_active));
            }
            // About ourselves (joined, alone, declared down, rejoined as a new generation):
            // the simulator reads our generation directly.
            _ => self.flush_rename(),
        }
    }

    fn send_to(&mut self, to: Id, data: &[u8]) {
        self.transmits
            .push_back((to.addr, Bytes::copy_from_slice(data)));
    }

    fn submit_after(&mut self, event: Timer<Id>, after: Duration) {
        if let Timer::ChangeSuspectToDown {
            member_id,
            incarnation,
            ..
        } = &event
        {
            self.suspicions.push((*member_id, *incarnation));
        }
        self.seq += 1;
        self.timers
            .insert((self.now.saturating_add(after), event, self.seq));
    }
}

type Inner = Foca<Id, PostcardCodec, Xoshiro256PlusPlus, NoCustomBroadcast>;

/// A foca member in sinew's simulator.
pub(crate) struct FocaMember {
    foca: Inner,
    rt: Rt,
    seeds: Vec<SocketAddr>,
    /// When to re-announce to the seeds if foca is still alone (bootstrap retry).
    rejoin_at: Option<Duration>,
    left: bool,
}

impl fmt::Debug for FocaMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FocaMember")
            .field("id", self.foca.identity())
            .field("active_members", &self.foca.num_members())
            .field("timers", &self.rt.timers.len())
            .finish_non_exhaustive()
    }
}

/// foca keeps no metadata beside the identity; the adapter refuses `set_metadata`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MetadataUnsupported;

impl fmt::Display for MetadataUnsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the foca adapter does not support metadata")
    }
}

impl std::error::Error for MetadataUnsupported {}

/// How often the adapter re-announces to the seeds while foca knows nobody.
const REJOIN_INTERVAL: Duration = Duration::from_secs(1);

impl FocaMember {
    /// Work after every call into foca: report the suspicions it started (checked against
    /// its table), and a pending rename.
    fn settle(&mut self) {
        self.rt.flush_rename();
        for (id, number) in std::mem::take(&mut self.rt.suspicions) {
            let suspect = self.foca.iter_membership_state().any(|m| {
                *m.id() == id && m.state() == FocaState::Suspect && m.incarnation() == number
            });
            if suspect {
                self.rt.events.push_back(SimEvent::Suspected {
                    addr: id.addr,
                    incarnation: inc(&id, number),
                });
            }
        }
    }

    fn announce_to_seeds(&mut self) {
        for &addr in &self.seeds {
            // The seed's generation is unknown; foca accepts an Announce addressed to any
            // identity with its address.
            let _ = self.foca.announce(
                Id {
                    addr,
                    generation: 0,
                },
                &mut self.rt,
            );
        }
    }
}

impl SimMember for FocaMember {
    type Config = Config;
    type MetadataError = MetadataUnsupported;

    fn new(
        config: &Config,
        addr: SocketAddr,
        generation: u64,
        now: Duration,
        seed: u64,
    ) -> Option<Self> {
        let id = Id { addr, generation };
        let rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        Some(Self {
            foca: Foca::new(id, config.clone(), rng, PostcardCodec),
            rt: Rt {
                now,
                ..Rt::default()
            },
            seeds: Vec::new(),
            rejoin_at: None,
            left: false,
        })
    }

    fn join(&mut self, seeds: &[SocketAddr]) {
        self.seeds = seeds.to_vec();
        self.announce_to_seeds();
        self.rejoin_at = Some(self.rt.now + REJOIN_INTERVAL);
        self.settle();
    }

    fn leave(&mut self) {
        let _ = self.foca.leave_cluster(&mut self.rt);
        self.left = true;
        self.rejoin_at = None;
        self.settle();
    }

    fn set_metadata(&mut self, _metadata: Bytes) -> Result<(), MetadataUnsupported> {
        Err(MetadataUnsupported)
    }

    fn handle_packet(&mut self, now: Duration, _from: SocketAddr, bytes: &[u8]) {
        self.rt.now = now;
        // foca reads the sender from the datagram's header. Errors (stale or odd
        // datagrams) leave its state unchanged; a socket loop would ignore them too.
        let _ = self.foca.handle_data(bytes, &mut self.rt);
        self.settle();
    }

    fn handle_timeout(&mut self, now: Duration) {
        self.rt.now = now;
        while let Some(first) = self.rt.timers.first() {
            if first.0 > now {
                break;
            }
            let Some((_, timer, _)) = self.rt.timers.pop_first() else {
                break;
            };
            // Timers of an old token (after going idle or changing identity) are ignored by
            // foca itself.
            let _ = self.foca.handle_timer(timer, &mut self.rt);
            self.settle();
        }
        if self.rejoin_at.is_some_and(|t| t <= now) {
            if self.foca.num_members() == 0 && !self.left {
                self.announce_to_seeds();
                self.rejoin_at = Some(now + REJOIN_INTERVAL);
                self.settle();
            } else {
                self.rejoin_at = None;
            }
        }
    }

    fn poll_transmit(&mut self) -> Option<(SocketAddr, Bytes)> {
        self.rt.transmits.pop_front()
    }

    fn poll_event(&mut self) -> Option<SimEvent> {
        self.rt.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Duration> {
        let timer = self.rt.timers.first().map(|t| t.0);
        match (timer, self.rejoin_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn has_left(&self) -> bool {
        self.left
    }

    fn num_alive(&self) -> usize {
        self.foca.num_members() + usize::from(!self.left)
    }

    fn generation(&self) -> u64 {
        self.foca.identity().generation
    }

    fn state_of(&self, addr: SocketAddr) -> Option<State> {
        self.foca
            .iter_membership_state()
            .find(|m| m.id().addr == addr)
            .map(|m| state(m.state()))
    }

    fn for_each_peer(&self, f: &mut dyn FnMut(SocketAddr, State)) {
        for m in self.foca.iter_membership_state() {
            f(m.id().addr, state(m.state()));
        }
    }
}

/// foca's states in sinew's terms (foca's `Down` covers both dead and left).
fn state(s: FocaState) -> State {
    match s {
        FocaState::Alive => State::Alive,
        FocaState::Suspect => State::Suspect,
        FocaState::Down => State::Dead,
    }
}

#[cfg(test)]
mod tests {
    use sinew_gossip::sim::{NetConfig, Simulation};

    use super::*;

    /// 30 foca members over a lossy network, all joining through member 0, converged.
    fn cluster(seed: u64) -> Simulation<FocaMember> {
        let mut sim =
            Simulation::<FocaMember>::with_config(lan_config(30), NetConfig::with_loss(0.05), seed);
        for _ in 0..30 {
            sim.add_member();
        }
        for id in 1..30 {
            sim.join(id, &[0]);
        }
        sim.run_for(Duration::from_secs(30));
        assert!(sim.converged(), "30 foca members did not converge in 30 s");
        sim
    }

    #[test]
    fn foca_cluster_converges_detects_a_crash_and_takes_a_restart_back() {
        let mut sim = cluster(1);
        sim.crash(7);
        // Probed within ~2 s, suspected, down after suspect_to_down_after (4 x log10(30) =
        // 5.9 s), then gossiped: well within 30 s.
        sim.run_for(Duration::from_secs(30));
        assert!(sim.everyone_sees_dead(7));
        assert!(sim.metrics().false_deaths.is_empty());
        sim.restart(7);
        sim.run_for(Duration::from_secs(30));
        assert!(sim.converged(), "the restarted member was not taken back");
        assert!(sim.member(7).is_some_and(|m| m.generation() >= 2));
    }

    #[test]
    fn foca_runs_replay_exactly() {
        let a = cluster(3);
        let b = cluster(3);
        assert_eq!(a.metrics().bytes_sent, b.metrics().bytes_sent);
        assert_eq!(a.metrics().datagrams_sent, b.metrics().datagrams_sent);
    }

    #[test]
    fn a_falsely_downed_member_is_counted_and_rejoins_in_a_new_generation() {
        let mut sim = cluster(4);
        let victim = 5;
        // Nothing reaches the victim for 30 s: it is suspected and declared down (a false
        // death: it is up), and when it hears again it learns so and renews its identity.
        for from in 0..30 {
            sim.set_link_loss(from, victim, 1.0);
        }
        sim.run_for(Duration::from_secs(30));
        for from in 0..30 {
            sim.set_link_loss(from, victim, 0.0);
        }
        let addr = sim.addr(victim);
        assert!(
            sim.metrics()
                .false_deaths
                .contains(&(addr, Incarnation::new(1, 0)))
        );
        sim.run_for(Duration::from_secs(60));
        assert!(sim.member(victim).is_some_and(|m| m.generation() >= 2));
        assert!(sim.converged(), "the renewed member was not taken back");
    }

    #[test]
    fn metadata_is_refused() {
        let mut sim = cluster(2);
        assert_eq!(sim.set_metadata(0, &b"x"[..]), Err(MetadataUnsupported));
    }
}
