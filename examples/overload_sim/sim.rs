//! The simulation: an open-loop load against a server with a fixed number of workers and a
//! FIFO queue, through one admission policy at the server's door, on virtual time. The
//! bulkhead and the adaptive limits are sinew-bulkhead's real types on a `ManualClock` set to
//! the simulated time, so what they decide here is what they decide in a service.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

use sinew::bulkhead::{
    AdaptiveLimit, Aimd, Bulkhead, Gradient2, ManualClock, OwnedAdaptivePermit, OwnedPermit, Vegas,
};
use sinew_examples::rng::Rng;

/// Simulated time, in microseconds.
type Micros = u64;
const MS: Micros = 1_000;
const S: Micros = 1_000_000;

/// Workers at full capacity; with a mean service time of 10 ms, 1,000 requests a second.
const WORKERS: usize = 10;
/// Requests a second the server completes at full capacity.
pub(crate) const CAPACITY: f64 = 1_000.0;
/// A response later than this is of no use to its client (and an adaptive limit hears of it
/// as a drop, as a client timeout).
pub(crate) const SLO: Micros = 100 * MS;

/// The timeline.
const UNLOADED: (Micros, Micros) = (2 * S, 10 * S); // 0.5x, measured for the unloaded p99
const RAMP_END: Micros = 30 * S; // 0.5x -> 3x from 10 s to here
const MEASURED: (Micros, Micros) = (40 * S, 60 * S); // 3x, full capacity
const HALVED: (Micros, Micros) = (60 * S, 90 * S); // a noisy neighbour takes half the workers
const END: Micros = 120 * S;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    None,
    /// A bulkhead sized for full capacity: the workers and a small queue.
    StaticTuned,
    /// A bulkhead sized generously, as fixed limits usually are.
    StaticLoose,
    Aimd,
    Vegas,
    Gradient2,
}

impl Policy {
    pub(crate) const ALL: [Policy; 6] = [
        Policy::None,
        Policy::StaticTuned,
        Policy::StaticLoose,
        Policy::Aimd,
        Policy::Vegas,
        Policy::Gradient2,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::StaticTuned => "static_tuned",
            Policy::StaticLoose => "static_loose",
            Policy::Aimd => "aimd",
            Policy::Vegas => "vegas",
            Policy::Gradient2 => "gradient2",
        }
    }
}

/// The static limits: tuned is Little's law at full capacity (1,000 a second x 10 ms = 10
/// in service) plus 2 waiting; loose is what a fixed limit is usually set to, "plenty".
const TUNED: u32 = 12;
const LOOSE: u32 = 200;

enum Door {
    Open,
    Bulkhead(Bulkhead),
    Adaptive(AdaptiveLimit<ManualClock>),
}

enum Held {
    Nothing,
    /// Held only to be dropped when the request completes, which frees its slot.
    Bulkhead(#[allow(dead_code)] OwnedPermit),
    Adaptive(OwnedAdaptivePermit<ManualClock>),
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Arrive,
    /// Request `.0` finished service.
    Done(usize),
    /// Record the limit (every 100 ms).
    Tick,
}

struct Request {
    arrived: Micros,
    service: Micros,
    held: Held,
}

/// One row of the report.
pub(crate) struct Row {
    pub(crate) policy: Policy,
    pub(crate) goodput: f64,
    pub(crate) latency_ms_p50: f64,
    pub(crate) latency_ms_p99: f64,
    pub(crate) unloaded_latency_ms_p99: f64,
    pub(crate) rejected: u64,
    pub(crate) limit_converge_s: Option<f64>,
    /// The limit's mean over the measured 3x window and the second half of the halved phase.
    pub(crate) limit_full: Option<f64>,
    pub(crate) limit_halved: Option<f64>,
    /// Goodput while halved, as a fraction of the halved capacity.
    pub(crate) goodput_halved: f64,
}

pub(crate) struct Sim {
    policy: Policy,
    now: Micros,
    seq: u64,
    events: BinaryHeap<Reverse<(Micros, u64, Event)>>,
    clock: ManualClock,
    door: Door,
    requests: Vec<Request>,
    queue: VecDeque<usize>,
    busy: usize,
    workers: usize,
    arrivals: Rng,
    service: Rng,
    rejected: u64,
    /// (arrival, latency) of every completed request.
    done: Vec<(Micros, Micros)>,
    /// (time, limit) every 100 ms.
    limits: Vec<(Micros, u32)>,
}

fn percentile_ms(sorted: &[Micros], per_mille: usize) -> f64 {
    let i = sorted.len().saturating_sub(1) * per_mille / 1000;
    sorted.get(i).map_or(0.0, |&l| l as f64 / 1e3)
}

impl Sim {
    pub(crate) fn new(policy: Policy, seed: u64) -> Result<Self, Box<dyn std::error::Error>> {
        let clock = ManualClock::new(Duration::ZERO);
        let adaptive = |limit: AdaptiveLimit<ManualClock>| Door::Adaptive(limit);
        let door = match policy {
            Policy::None => Door::Open,
            Policy::StaticTuned => Door::Bulkhead(Bulkhead::new(TUNED)),
            Policy::StaticLoose => Door::Bulkhead(Bulkhead::new(LOOSE)),
            Policy::Aimd => adaptive(
                AdaptiveLimit::builder(Aimd::new())
                    .clock(clock.clone())
                    .build()?,
            ),
            Policy::Vegas => adaptive(
                AdaptiveLimit::builder(Vegas::new())
                    .clock(clock.clone())
                    .build()?,
            ),
            Policy::Gradient2 => adaptive(
                AdaptiveLimit::builder(Gradient2::new())
                    .clock(clock.clone())
                    .build()?,
            ),
        };
        let mut sim = Self {
            policy,
            now: 0,
            seq: 0,
            events: BinaryHeap::new(),
            clock,
            door,
            requests: Vec::new(),
            queue: VecDeque::new(),
            busy: 0,
            workers: WORKERS,
            // The same arrivals and service times for every policy (common random numbers).
            arrivals: Rng::new(seed),
            service: Rng::new(seed ^ 0x5EED_0F5E_4A1C_E000),
            rejected: 0,
            done: Vec::new(),
            limits: Vec::new(),
        };
        sim.at(0, Event::Arrive);
        sim.at(0, Event::Tick);
        Ok(sim)
    }

    fn at(&mut self, when: Micros, event: Event) {
        self.seq += 1;
        self.events.push(Reverse((when, self.seq, event)));
    }

    /// Offered load at time `t`, as a multiple of capacity.
    fn load(t: Micros) -> f64 {
        if t < UNLOADED.1 {
            0.5
        } else if t < RAMP_END {
            0.5 + 2.5 * (t - UNLOADED.1) as f64 / (RAMP_END - UNLOADED.1) as f64
        } else {
            3.0
        }
    }

    fn workers_at(t: Micros) -> usize {
        if (HALVED.0..HALVED.1).contains(&t) {
            WORKERS / 2
        } else {
            WORKERS
        }
    }

    fn limit(&self) -> u32 {
        match &self.door {
            Door::Open => u32::MAX,
            Door::Bulkhead(b) => b.max_concurrent(),
            Door::Adaptive(a) => a.limit(),
        }
    }

    pub(crate) fn run(mut self) -> Row {
        while let Some(Reverse((when, _, event))) = self.events.pop() {
            self.now = when;
            self.clock.set(Duration::from_micros(when));
            let workers = Self::workers_at(when);
            if workers != self.workers {
                self.workers = workers;
                self.start_work();
            }
            match event {
                Event::Arrive => self.arrive(),
                Event::Done(id) => self.finish(id),
                Event::Tick => {
                    self.limits.push((self.now, self.limit()));
                    if self.now < END {
                        self.at(self.now + 100 * MS, Event::Tick);
                    }
                }
            }
        }
        self.report()
    }

    fn arrive(&mut self) {
        if self.now >= END {
            return;
        }
        let rate = Self::load(self.now) * CAPACITY;
        let gap = self.arrivals.exponential(1e6 / rate).max(1);
        self.at(self.now + gap, Event::Arrive);
        // Service: 8 ms plus an exponential tail with a 2 ms mean; drawn for every arrival so
        // every policy sees the same work.
        let service = 8 * MS + self.service.exponential(2.0 * MS as f64);
        let held = match &self.door {
            Door::Open => Some(Held::Nothing),
            Door::Bulkhead(b) => b.try_acquire_owned().ok().map(Held::Bulkhead),
            Door::Adaptive(a) => a.try_acquire_owned().ok().map(Held::Adaptive),
        };
        let Some(held) = held else {
            self.rejected += 1;
            return;
        };
        self.requests.push(Request {
            arrived: self.now,
            service,
            held,
        });
        self.queue.push_back(self.requests.len() - 1);
        self.start_work();
    }

    fn start_work(&mut self) {
        while self.busy < self.workers {
            let Some(id) = self.queue.pop_front() else {
                return;
            };
            self.busy += 1;
            let service = self.requests[id].service;
            self.at(self.now + service, Event::Done(id));
        }
    }

    fn finish(&mut self, id: usize) {
        self.busy -= 1;
        let latency = self.now - self.requests[id].arrived;
        self.done.push((self.requests[id].arrived, latency));
        match std::mem::replace(&mut self.requests[id].held, Held::Nothing) {
            Held::Nothing | Held::Bulkhead(_) => {}
            Held::Adaptive(permit) => {
                if latency > SLO {
                    permit.dropped();
                } else {
                    permit.success();
                }
            }
        }
        self.start_work();
    }

    fn report(self) -> Row {
        let window = |range: (Micros, Micros)| -> Vec<Micros> {
            let mut v: Vec<Micros> = self
                .done
                .iter()
                .filter(|(a, _)| (range.0..range.1).contains(a))
                .map(|&(_, l)| l)
                .collect();
            v.sort_unstable();
            v
        };
        let good = |range: (Micros, Micros), capacity: f64| {
            let seconds = (range.1 - range.0) as f64 / 1e6;
            window(range).iter().filter(|&&l| l <= SLO).count() as f64 / seconds / capacity
        };
        let measured = window(MEASURED);
        let unloaded = window(UNLOADED);
        let adaptive = matches!(self.door, Door::Adaptive(_));
        let mean_limit = |range: (Micros, Micros)| {
            let v: Vec<f64> = self
                .limits
                .iter()
                .filter(|(t, _)| (range.0..range.1).contains(t))
                .map(|&(_, l)| f64::from(l))
                .collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        let settled = (HALVED.0 + (HALVED.1 - HALVED.0) / 2, HALVED.1);
        let halved_limit = mean_limit(settled);
        // Settled: from this time to the end of the halved phase the limit stays within 20%
        // (and at least 2) of where it ends up.
        let band = (0.2 * halved_limit).max(2.0);
        let converge = self
            .limits
            .iter()
            .filter(|(t, _)| (HALVED.0..HALVED.1).contains(t))
            .rev()
            .take_while(|&&(_, l)| (f64::from(l) - halved_limit).abs() <= band)
            .last()
            .map(|&(t, _)| (t - HALVED.0) as f64 / 1e6);
        Row {
            policy: self.policy,
            goodput: good(MEASURED, CAPACITY),
            latency_ms_p50: percentile_ms(&measured, 500),
            latency_ms_p99: percentile_ms(&measured, 990),
            unloaded_latency_ms_p99: percentile_ms(&unloaded, 990),
            rejected: self.rejected,
            limit_converge_s: if adaptive { converge } else { None },
            limit_full: adaptive.then(|| mean_limit(MEASURED)),
            limit_halved: adaptive.then_some(halved_limit),
            goodput_halved: good(settled, CAPACITY / 2.0),
        }
    }
}
