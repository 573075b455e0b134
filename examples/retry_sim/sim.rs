//! The simulation: clients send requests (a Poisson stream) through `layers` services, each of
//! which calls the next and retries by its policy, down to the server. Everything runs on
//! virtual time from one event queue; sinew-retry's real `Backoff`, `RetryBudget` and `Hedge`
//! decide, on a `ManualClock` set to the simulated time.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use sinew::retry::{Backoff, Delays, Hedge, ManualClock, RetryBudget};

use crate::server::{MS, Micros, Next, Scenario, Server};
use sinew_examples::rng::Rng;

/// How every layer retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    /// No retries.
    None,
    /// 3 retries per layer, at once, no budget: the loop most code starts with.
    Naive,
    /// 3 retries per layer after `Backoff::default()` (exponential, full jitter), no budget.
    Backoff,
    /// `Backoff::default()` and a `RetryBudget::new()` at every layer, and a layer does not
    /// retry an error its lower layer already retried (the lower layer says so in its error,
    /// like gRPC's pushback): only the layer next to the failure retries.
    Budget,
    /// The same budgets, but every layer retries every error: budgets multiply across layers.
    BudgetEveryLayer,
    /// `Budget`, plus a `Hedge::new()` at the top layer.
    Hedge,
}

impl Policy {
    pub(crate) const ALL: [Policy; 6] = [
        Policy::None,
        Policy::Naive,
        Policy::Backoff,
        Policy::Budget,
        Policy::BudgetEveryLayer,
        Policy::Hedge,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Naive => "naive",
            Policy::Backoff => "backoff",
            Policy::Budget => "budget",
            Policy::BudgetEveryLayer => "budget_every_layer",
            Policy::Hedge => "hedge",
        }
    }
}

const MAX_RETRIES: u32 = 3;

/// One row of the report.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) scenario: Scenario,
    pub(crate) policy: Policy,
    pub(crate) layers: usize,
    pub(crate) offered_rps: f64,
    pub(crate) server_rps: f64,
    pub(crate) amplification: f64,
    pub(crate) success_rate: f64,
    pub(crate) latency_ms_p50: f64,
    pub(crate) latency_ms_p99: f64,
    pub(crate) latency_ms_p999: f64,
    pub(crate) retries: u64,
    pub(crate) budget_refused: u64,
    pub(crate) hedges: u64,
}

pub(crate) struct Options {
    pub(crate) rps: f64,
    pub(crate) seconds: u64,
    pub(crate) layers: usize,
    pub(crate) seed: u64,
    pub(crate) slow_share: f64,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Arrive,
    /// A layer call's backoff is over: its next attempt.
    Retry(usize),
    /// A top-layer call's hedge timer.
    Hedge(usize),
    /// A server job is done.
    Done(usize),
}

#[derive(Clone, Copy)]
enum Outcome {
    Ok,
    /// `retried`: the layer that failed had retries of its own and gave up.
    Err {
        retried: bool,
    },
}

#[derive(Clone, Copy)]
enum Child {
    Call(usize),
    Job(usize),
}

/// One request at one layer, and its attempts at the next.
struct Call {
    layer: usize,
    parent: Option<usize>,
    started: Micros,
    retries: u32,
    delays: Option<Delays>,
    outstanding: u32,
    children: Vec<Child>,
    done: bool,
}

struct Layer {
    retries: bool,
    /// An error its lower layer already retried is passed up, not retried.
    skip_retried: bool,
    backoff: Option<Backoff>,
    budget: Option<RetryBudget<ManualClock>>,
}

pub(crate) struct Sim {
    policy: Policy,
    now: Micros,
    end: Micros,
    mean_gap: f64,
    seq: u64,
    events: BinaryHeap<Reverse<(Micros, u64, Event)>>,
    calls: Vec<Call>,
    layers: Vec<Layer>,
    server: Server,
    clock: ManualClock,
    hedge: Option<Hedge<ManualClock>>,
    rng: Rng,
    /// The clients' arrivals, on a stream of their own: every policy sees the same requests.
    arrivals: Rng,
    /// Seeds for each call's backoff jitter, on a stream of their own so that policies
    /// without jitter see the same arrivals and service times.
    seeds: Rng,
    requests: u64,
    successes: u64,
    latencies: Vec<Micros>,
    retries: u64,
    budget_refused: u64,
    hedges: u64,
}

impl Sim {
    pub(crate) fn new(
        scenario: Scenario,
        policy: Policy,
        o: &Options,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let clock = ManualClock::new(Duration::ZERO);
        let mut layers = Vec::new();
        for l in 0..o.layers {
            let retries = policy != Policy::None;
            let budgeted = matches!(
                policy,
                Policy::Budget | Policy::BudgetEveryLayer | Policy::Hedge
            );
            layers.push(Layer {
                retries,
                skip_retried: matches!(policy, Policy::Budget | Policy::Hedge) && l + 1 < o.layers,
                backoff: match policy {
                    Policy::None | Policy::Naive => None,
                    _ => Some(Backoff::default()),
                },
                budget: if budgeted {
                    Some(RetryBudget::builder().clock(clock.clone()).build()?)
                } else {
                    None
                },
            });
        }
        let hedge = if policy == Policy::Hedge {
            Some(Hedge::builder().clock(clock.clone()).build()?)
        } else {
            None
        };
        let mut sim = Self {
            policy,
            now: 0,
            end: o.seconds * 1_000 * MS,
            mean_gap: 1e6 / o.rps,
            seq: 0,
            events: BinaryHeap::new(),
            calls: Vec::new(),
            layers,
            server: Server::new(scenario, o.slow_share),
            clock,
            hedge,
            // The same random numbers for every policy of a scenario (common random numbers), so
            // rows differ by their policy, not by their luck.
            rng: Rng::new(o.seed ^ (scenario as u64) << 32),
            seeds: Rng::new(!o.seed),
            arrivals: Rng::new(o.seed.rotate_left(17) ^ 0xA5A5_A5A5),
            requests: 0,
            successes: 0,
            latencies: Vec::new(),
            retries: 0,
            budget_refused: 0,
            hedges: 0,
        };
        sim.at(0, Event::Arrive);
        Ok(sim)
    }

    fn at(&mut self, when: Micros, event: Event) {
        self.seq += 1;
        self.events.push(Reverse((when, self.seq, event)));
    }

    /// Runs until every request has finished.
    pub(crate) fn run(mut self, scenario: Scenario, layers: usize) -> Row {
        while let Some(Reverse((when, _, event))) = self.events.pop() {
            self.now = when;
            self.clock.set(Duration::from_micros(when));
            match event {
                Event::Arrive => self.arrive(),
                Event::Retry(call) => {
                    if !self.calls[call].done {
                        self.issue(call);
                    }
                }
                Event::Hedge(call) => self.hedge(call),
                Event::Done(job) => self.job_done(job),
            }
        }
        self.latencies.sort_unstable();
        let seconds = self.end as f64 / 1e6;
        let pct = |per_mille: usize| {
            let i = self.latencies.len().saturating_sub(1) * per_mille / 1000;
            self.latencies.get(i).map_or(0.0, |&l| l as f64 / 1e3)
        };
        let requests = self.requests.max(1) as f64;
        Row {
            scenario,
            policy: self.policy,
            layers,
            offered_rps: self.requests as f64 / seconds,
            server_rps: self.server.received as f64 / seconds,
            amplification: self.server.received as f64 / requests,
            success_rate: self.successes as f64 / requests,
            latency_ms_p50: pct(500),
            latency_ms_p99: pct(990),
            latency_ms_p999: pct(999),
            retries: self.retries,
            budget_refused: self.budget_refused,
            hedges: self.hedges,
        }
    }

    fn new_call(&mut self, layer: usize, parent: Option<usize>) -> usize {
        let delays = self.layers[layer]
            .backoff
            .as_ref()
            .map(|b| b.delays_seeded(self.seeds.next_u64()));
        if let Some(budget) = &self.layers[layer].budget {
            budget.deposit();
        }
        self.calls.push(Call {
            layer,
            parent,
            started: self.now,
            retries: 0,
            delays,
            outstanding: 0,
            children: Vec::new(),
            done: false,
        });
        self.calls.len() - 1
    }

    fn arrive(&mut self) {
        if self.now >= self.end {
            return;
        }
        let gap = self.arrivals.exponential(self.mean_gap).max(1);
        self.at(self.now + gap, Event::Arrive);
        self.requests += 1;
        let call = self.new_call(0, None);
        if let Some(h) = &self.hedge {
            h.start();
            if let Some(delay) = h.delay() {
                let when = self.now + u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
                self.at(when, Event::Hedge(call));
            }
        }
        self.issue(call);
    }

    /// Sends call `call`'s next attempt to the layer below (or the server).
    fn issue(&mut self, call: usize) {
        self.calls[call].outstanding += 1;
        let layer = self.calls[call].layer;
        if layer + 1 == self.layers.len() {
            match self.server.submit(call, &mut self.rng) {
                Next::Start(job, service) => {
                    self.calls[call].children.push(Child::Job(job));
                    self.at(self.now + service, Event::Done(job));
                }
                Next::Refused(job) => {
                    self.calls[call].children.push(Child::Job(job));
                    self.deliver(call, Outcome::Err { retried: false });
                }
                Next::Nothing => {
                    let job = self.server.jobs.len() - 1;
                    self.calls[call].children.push(Child::Job(job));
                }
            }
        } else {
            let child = self.new_call(layer + 1, Some(call));
            self.calls[call].children.push(Child::Call(child));
            self.issue(child);
        }
    }

    fn hedge(&mut self, call: usize) {
        let Some(h) = &self.hedge else { return };
        if self.calls[call].done || !h.try_hedge() {
            return;
        }
        self.hedges += 1;
        self.issue(call);
    }

    fn job_done(&mut self, job: usize) {
        if let Next::Start(next, service) = self.server.finish() {
            self.at(self.now + service, Event::Done(next));
        }
        let Some(j) = self.server.jobs.get(job) else {
            return;
        };
        if j.cancelled {
            return;
        }
        let (caller, fails) = (j.caller, j.fails);
        let outcome = if fails {
            Outcome::Err { retried: false }
        } else {
            Outcome::Ok
        };
        self.deliver(caller, outcome);
    }

    /// An answer from below reaches call `call`.
    fn deliver(&mut self, call: usize, outcome: Outcome) {
        if self.calls[call].done {
            return;
        }
        self.calls[call].outstanding -= 1;
        let Outcome::Err { retried } = outcome else {
            return self.complete(call, Outcome::Ok);
        };
        if self.calls[call].outstanding > 0 {
            return; // a hedged attempt is still out
        }
        let layer = &self.layers[self.calls[call].layer];
        let wants = layer.retries
            && self.calls[call].retries < MAX_RETRIES
            && !(layer.skip_retried && retried);
        let delay = if !wants {
            None
        } else if layer.budget.as_ref().is_some_and(|b| !b.try_withdraw()) {
            self.budget_refused += 1;
            None
        } else {
            match &mut self.calls[call].delays {
                Some(delays) => delays.next(),
                None => Some(Duration::ZERO),
            }
        };
        match delay {
            Some(d) => {
                self.retries += 1;
                self.calls[call].retries += 1;
                let when = self.now + u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
                self.at(when, Event::Retry(call));
            }
            None => {
                let retried = self.layers[self.calls[call].layer].retries;
                self.complete(call, Outcome::Err { retried });
            }
        }
    }

    /// Call `call` is over: cancel what it still waits for and answer its caller.
    fn complete(&mut self, call: usize, outcome: Outcome) {
        self.cancel(call);
        match self.calls[call].parent {
            Some(parent) => self.deliver(parent, outcome),
            None => {
                let latency = self.now - self.calls[call].started;
                self.latencies.push(latency);
                if matches!(outcome, Outcome::Ok) {
                    self.successes += 1;
                }
                if let Some(h) = &self.hedge {
                    h.record(Duration::from_micros(latency));
                }
            }
        }
    }

    fn cancel(&mut self, call: usize) {
        self.calls[call].done = true;
        let children = std::mem::take(&mut self.calls[call].children);
        for child in children {
            match child {
                Child::Job(job) => {
                    if let Some(j) = self.server.jobs.get_mut(job) {
                        j.cancelled = true;
                    }
                }
                Child::Call(c) => {
                    if !self.calls[c].done {
                        self.cancel(c);
                    }
                }
            }
        }
    }
}
