//! A reference model of the breaker's single-threaded semantics, written as plainly as
//! possible (a `VecDeque` window, plain fields, no packing, no atomics), and a driver that runs
//! the same operations on a real `CircuitBreaker` and the model and checks they agree on every
//! state, admission, rejection and metric.
//!
//! Shared by the proptest in `tests/model.rs` and the fuzz target `fuzz/fuzz_targets/breaker_model.rs`.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::VecDeque;
use std::time::Duration;

use sinew_breaker::{CircuitBreaker, ManualClock, Permit, State, Transition};

/// A rejection as the model sees it: the rejecting state and, when open, the time left.
type Rejected = (State, Option<Duration>);

pub const START: Duration = Duration::from_secs(1_700_000_000);
const MS: u64 = 1_000_000;

/// The settings a model run uses (each drawn from a small range by the caller).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub window: u32,
    pub minimum_calls: u32,
    /// Failure-rate threshold in percent (1..=100).
    pub failure_pct: u32,
    /// Slow-call duration in ms and rate threshold in percent, if on.
    pub slow: Option<(u32, u32)>,
    pub consecutive: Option<u32>,
    pub wait_ms: u32,
    /// Backoff multiplier (1..=4) and cap as a multiple of the wait (1..=8).
    pub backoff: Option<(u32, u32)>,
    pub permits: u32,
    pub max_half_open_ms: Option<u32>,
}

impl Settings {
    /// Clamps arbitrary values into the valid ranges.
    pub fn sane(self) -> Settings {
        let window = self.window.clamp(1, 64);
        Settings {
            window,
            minimum_calls: self.minimum_calls.clamp(1, window),
            failure_pct: self.failure_pct.clamp(1, 100),
            slow: self.slow.map(|(d, r)| (d.clamp(1, 1000), r.clamp(1, 100))),
            consecutive: self.consecutive.map(|c| c.clamp(1, 16)),
            wait_ms: self.wait_ms.clamp(1, 10_000),
            backoff: self.backoff.map(|(m, c)| (m.clamp(1, 4), c.clamp(1, 8))),
            permits: self.permits.clamp(1, 8),
            max_half_open_ms: self.max_half_open_ms.map(|m| m.clamp(1, 10_000)),
        }
    }

    pub fn build(
        &self,
        clock: &ManualClock,
        listener: impl Fn(&Transition) + Send + Sync + 'static,
    ) -> CircuitBreaker<ManualClock> {
        let mut b = CircuitBreaker::builder()
            .on_transition(listener)
            .count_window(self.window)
            .minimum_calls(self.minimum_calls)
            .failure_rate_threshold(f64::from(self.failure_pct) / 100.0)
            .wait_in_open(Duration::from_millis(u64::from(self.wait_ms)))
            .half_open_permits(self.permits)
            .clock(clock.clone());
        if let Some((d, r)) = self.slow {
            b = b.slow_call(Duration::from_millis(u64::from(d)), f64::from(r) / 100.0);
        }
        if let Some(c) = self.consecutive {
            b = b.consecutive_failures(c);
        }
        if let Some((m, c)) = self.backoff {
            let wait = Duration::from_millis(u64::from(self.wait_ms));
            b = b.open_backoff(f64::from(m), wait * c);
        }
        if let Some(m) = self.max_half_open_ms {
            b = b.max_wait_in_half_open(Duration::from_millis(u64::from(m)));
        }
        b.build().unwrap()
    }
}

/// One step of a scenario.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    /// Move the clock forward by this many ms.
    Advance(u16),
    /// Ask for a permit (kept in a list of held permits).
    Acquire,
    /// Report held permit `i % held` as a success.
    Success(u8),
    /// Report held permit `i % held` as a failure.
    Failure(u8),
    /// Drop held permit `i % held` unreported.
    Drop(u8),
    ForceOpen,
    Disable,
    Reset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PKind {
    Closed,
    Trial,
    Disabled,
}

#[derive(Debug, Clone, Copy)]
struct MPermit {
    kind: PKind,
    generation: u64,
    start: u64,
}

/// The reference model; times are ns since the breaker was built.
#[derive(Debug)]
pub struct Model {
    s: Settings,
    state: State,
    generation: u64,
    trips: u32,
    window: VecDeque<(bool, bool)>,
    consecutive: u32,
    /// End of the current Open or HalfOpen stretch (`u64::MAX`: none).
    until: u64,
    issued: u32,
    succeeded: u32,
    rejected: u64,
    transitions: Vec<(State, State)>,
}

impl Model {
    pub fn new(s: Settings) -> Model {
        Model {
            s,
            state: State::Closed,
            generation: 0,
            trips: 0,
            window: VecDeque::new(),
            consecutive: 0,
            until: u64::MAX,
            issued: 0,
            succeeded: 0,
            rejected: 0,
            transitions: Vec::new(),
        }
    }

    fn wait(&self, trips: u32) -> u64 {
        let wait = u64::from(self.s.wait_ms) * MS;
        match self.s.backoff {
            None => wait,
            Some((m, cap)) => {
                let grown = (wait as f64) * f64::from(m).powi(trips.saturating_sub(1) as i32);
                (grown.min((wait * u64::from(cap)) as f64)) as u64
            }
        }
    }

    fn go(&mut self, to: State, trips: u32, now: u64) {
        if to != self.state {
            self.transitions.push((self.state, to));
        }
        self.state = to;
        self.generation += 1;
        self.trips = trips;
        self.issued = 0;
        self.succeeded = 0;
        self.until = match to {
            // Deadlines have millisecond resolution, rounded up.
            State::Open => (now + self.wait(trips)).div_ceil(MS) * MS,
            State::HalfOpen => self
                .s
                .max_half_open_ms
                .map_or(u64::MAX, |m| (now + u64::from(m) * MS).div_ceil(MS) * MS),
            _ => u64::MAX,
        };
        if to == State::HalfOpen {
            self.window.clear();
            self.consecutive = 0;
        }
    }

    fn acquire(&mut self, now: u64) -> Result<MPermit, Rejected> {
        loop {
            match self.state {
                State::Closed | State::Disabled => {
                    let kind = if self.state == State::Closed {
                        PKind::Closed
                    } else {
                        PKind::Disabled
                    };
                    return Ok(MPermit {
                        kind,
                        generation: self.generation,
                        start: now,
                    });
                }
                State::ForcedOpen => {
                    self.rejected += 1;
                    return Err((State::ForcedOpen, None));
                }
                State::Open => {
                    if now < self.until {
                        self.rejected += 1;
                        return Err((State::Open, Some(Duration::from_nanos(self.until - now))));
                    }
                    self.go(State::HalfOpen, self.trips, now);
                    self.issued = 1;
                    return Ok(MPermit {
                        kind: PKind::Trial,
                        generation: self.generation,
                        start: now,
                    });
                }
                State::HalfOpen => {
                    if self.issued < self.s.permits {
                        self.issued += 1;
                        return Ok(MPermit {
                            kind: PKind::Trial,
                            generation: self.generation,
                            start: now,
                        });
                    }
                    if now < self.until {
                        self.rejected += 1;
                        return Err((State::HalfOpen, None));
                    }
                    self.go(State::Open, (self.trips + 1).min(255), now);
                }
            }
        }
    }

    fn is_slow(&self, p: &MPermit, now: u64) -> bool {
        self.s
            .slow
            .is_some_and(|(d, _)| now - p.start >= u64::from(d) * MS)
    }

    fn report(&mut self, p: MPermit, failed: bool, now: u64) {
        let slow = self.is_slow(&p, now);
        if p.generation != self.generation {
            return;
        }
        match (p.kind, self.state) {
            (PKind::Closed, State::Closed) => {
                let mut trip = false;
                if let Some(k) = self.s.consecutive {
                    self.consecutive = if failed { self.consecutive + 1 } else { 0 };
                    trip = self.consecutive >= k;
                }
                if self.window.len() == self.s.window as usize {
                    self.window.pop_front();
                }
                self.window.push_back((failed, slow));
                let calls = self.window.len() as u64;
                let failures = self.window.iter().filter(|c| c.0).count() as u64;
                let slows = self.window.iter().filter(|c| c.1).count() as u64;
                if calls >= u64::from(self.s.minimum_calls) {
                    trip |= failures as f64 / calls as f64 >= f64::from(self.s.failure_pct) / 100.0;
                    if let Some((_, r)) = self.s.slow {
                        trip |= slows as f64 / calls as f64 >= f64::from(r) / 100.0;
                    }
                }
                if trip {
                    self.go(State::Open, 1, now);
                }
            }
            (PKind::Trial, State::HalfOpen) => {
                if failed || slow {
                    self.go(State::Open, (self.trips + 1).min(255), now);
                } else if self.succeeded + 1 >= self.s.permits {
                    self.go(State::Closed, 0, now);
                } else {
                    self.succeeded += 1;
                }
            }
            _ => {}
        }
    }

    fn release(&mut self, p: MPermit) {
        if p.kind == PKind::Trial
            && self.state == State::HalfOpen
            && p.generation == self.generation
            && self.issued > 0
        {
            self.issued -= 1;
        }
    }

    fn force(&mut self, to: State, now: u64) {
        if to == State::Closed {
            self.window.clear();
            self.consecutive = 0;
        }
        self.go(to, 0, now);
    }
}

/// Runs `ops` on a real breaker and on the model, asserting agreement after every step.
pub fn run(settings: Settings, ops: &[Op]) {
    let s = settings.sane();
    let clock = ManualClock::new(START);
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&events);
    let breaker = s.build(&clock, move |t| sink.lock().unwrap().push((t.from, t.to)));
    let mut model = Model::new(s);
    let mut held: Vec<(Permit<'_, ManualClock>, MPermit)> = Vec::new();
    let mut now = 0u64;
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Advance(ms) => {
                clock.advance(Duration::from_millis(u64::from(ms)));
                now += u64::from(ms) * MS;
            }
            Op::Acquire => {
                let real = breaker.try_acquire();
                let want = model.acquire(now);
                match (real, want) {
                    (Ok(p), Ok(m)) => {
                        assert_eq!(p.is_trial(), m.kind == PKind::Trial, "step {step}: {op:?}");
                        if held.len() < 64 {
                            held.push((p, m));
                        } else {
                            p.success();
                            model.report(m, false, now);
                        }
                    }
                    (Err(r), Err(m)) => {
                        assert_eq!((r.state(), r.retry_after()), m, "step {step}: {op:?}");
                    }
                    (r, m) => panic!("step {step}: real {r:?}, model {m:?}"),
                }
            }
            Op::Success(i) | Op::Failure(i) | Op::Drop(i) => {
                if held.is_empty() {
                    continue;
                }
                let (p, m) = held.swap_remove(usize::from(i) % held.len());
                match op {
                    Op::Success(_) => {
                        p.success();
                        model.report(m, false, now);
                    }
                    Op::Failure(_) => {
                        p.failure();
                        model.report(m, true, now);
                    }
                    _ => {
                        drop(p);
                        model.release(m);
                    }
                }
            }
            Op::ForceOpen => {
                breaker.force_open();
                model.force(State::ForcedOpen, now);
            }
            Op::Disable => {
                breaker.disable();
                model.force(State::Disabled, now);
            }
            Op::Reset => {
                breaker.reset();
                model.force(State::Closed, now);
            }
        }
        let m = breaker.metrics();
        assert_eq!(m.state, model.state, "step {step}: {op:?}");
        assert_eq!(m.rejected, model.rejected, "step {step}: {op:?}");
        if model.state == State::HalfOpen {
            assert_eq!(m.trial_permits, model.issued, "step {step}: {op:?}");
            assert_eq!(m.trial_successes, model.succeeded, "step {step}: {op:?}");
        }
        if matches!(model.state, State::Closed) {
            assert_eq!(m.calls, model.window.len() as u64, "step {step}: {op:?}");
            let failures = model.window.iter().filter(|c| c.0).count() as u64;
            assert_eq!(m.failures, failures, "step {step}: {op:?}");
            let slows = model.window.iter().filter(|c| c.1).count() as u64;
            assert_eq!(m.slow_calls, slows, "step {step}: {op:?}");
        }
        assert_eq!(
            *events.lock().unwrap(),
            model.transitions,
            "step {step}: {op:?}"
        );
    }
}
