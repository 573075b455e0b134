//! The simulated server: a fixed number of workers, a bounded FIFO queue, and a scenario that
//! decides how each call goes (how long it takes, whether it fails).

use std::collections::VecDeque;

use sinew_examples::rng::Rng;

/// Simulated time, in microseconds.
pub(crate) type Micros = u64;

pub(crate) const MS: Micros = 1_000;

/// What the server is going through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scenario {
    /// Every call fails (after 1 ms of work: failing is not free).
    Outage,
    /// 10% of calls fail at random.
    Flaky,
    /// A share of calls (`--slow-share`, 2% by default) take 10 times longer.
    SlowTail,
}

impl Scenario {
    pub(crate) const ALL: [Scenario; 3] = [Scenario::Outage, Scenario::Flaky, Scenario::SlowTail];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::Outage => "outage",
            Scenario::Flaky => "flaky",
            Scenario::SlowTail => "slow_tail",
        }
    }
}

/// Workers; with a mean service time of 10 ms the server handles 1,600 calls a second.
pub(crate) const WORKERS: usize = 16;
/// Calls waiting beyond this many are refused at once (a full queue).
const MAX_QUEUE: usize = 2_000;

/// One call at the server.
pub(crate) struct Job {
    /// The layer call waiting for it.
    pub(crate) caller: usize,
    /// Its caller stopped waiting (a hedge's loser): skip it if it has not started.
    pub(crate) cancelled: bool,
    pub(crate) service: Micros,
    pub(crate) fails: bool,
}

pub(crate) struct Server {
    scenario: Scenario,
    slow_share: f64,
    pub(crate) jobs: Vec<Job>,
    queue: VecDeque<usize>,
    busy: usize,
    /// Calls that reached the server (the load retries add to).
    pub(crate) received: u64,
}

/// What `submit` or `finish` asks the simulation to do.
pub(crate) enum Next {
    /// Finish job `.0` after `.1` microseconds.
    Start(usize, Micros),
    /// Job `.0` was refused at once (queue full).
    Refused(usize),
    Nothing,
}

impl Server {
    pub(crate) fn new(scenario: Scenario, slow_share: f64) -> Self {
        Self {
            scenario,
            slow_share,
            jobs: Vec::new(),
            queue: VecDeque::new(),
            busy: 0,
            received: 0,
        }
    }

    /// A new call from layer call `caller`.
    pub(crate) fn submit(&mut self, caller: usize, rng: &mut Rng) -> Next {
        self.received += 1;
        // Service time: 8 ms plus an exponential tail with a 2 ms mean (10 ms on average).
        let mut service = 8 * MS + rng.exponential(2.0 * MS as f64);
        let mut fails = false;
        match self.scenario {
            Scenario::Outage => {
                service = MS;
                fails = true;
            }
            Scenario::Flaky => fails = rng.chance(0.10),
            Scenario::SlowTail => {
                if rng.chance(self.slow_share) {
                    service *= 10;
                }
            }
        }
        let id = self.jobs.len();
        self.jobs.push(Job {
            caller,
            cancelled: false,
            service,
            fails,
        });
        if self.busy < WORKERS {
            self.busy += 1;
            Next::Start(id, service)
        } else if self.queue.len() < MAX_QUEUE {
            self.queue.push_back(id);
            Next::Nothing
        } else {
            Next::Refused(id)
        }
    }

    /// A worker finished; the next queued job it starts, if any.
    pub(crate) fn finish(&mut self) -> Next {
        while let Some(id) = self.queue.pop_front() {
            if let Some(job) = self.jobs.get(id)
                && !job.cancelled
            {
                return Next::Start(id, job.service);
            }
        }
        self.busy = self.busy.saturating_sub(1);
        Next::Nothing
    }
}
