//! [`CircuitBreaker`], its permits and its transitions.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::Duration;

use sinew_clock::{Clock, SystemClock};

use crate::config::{Builder, Config, WindowKind};
use crate::error::{CallError, Rejected};
use crate::state::{CLOSED, DISABLED, FORCED_OPEN, GEN_MASK, HALF_OPEN, OPEN, State, Word};
use crate::sync::{Arc, AtomicU64, Ordering, Padded};
use crate::window::{CALL, CountWindow, Counts, FAILED, SLOW, TimeWindow, Window};

pub(crate) type Listener = Box<dyn Fn(&Transition) + Send + Sync>;

/// One state transition, as given to the [`on_transition`](Builder::on_transition) listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transition {
    /// The state before.
    pub from: State,
    /// The state after.
    pub to: State,
    /// When, by the breaker's clock (time since the Unix epoch).
    pub at: Duration,
}

/// A snapshot of a breaker's state and window, from [`CircuitBreaker::metrics`].
///
/// The fields are read one after another, not at one instant: under concurrent calls they
/// may disagree by the calls that finished in between.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Metrics {
    /// The state.
    pub state: State,
    /// Calls in the window (the closed state's; emptied when the breaker goes half-open).
    pub calls: u64,
    /// Failed calls in the window.
    pub failures: u64,
    /// Slow calls in the window (successful or not).
    pub slow_calls: u64,
    /// `failures / calls`, or 0 with no calls.
    pub failure_rate: f64,
    /// `slow_calls / calls`, or 0 with no calls.
    pub slow_call_rate: f64,
    /// Failures in a row in the closed state (counted only with
    /// [`consecutive_failures`](Builder::consecutive_failures) set).
    pub consecutive_failures: u32,
    /// Calls turned away since the breaker was built (exact; wrapping at 2^64).
    pub rejected: u64,
    /// In half-open: trial permits out or reported (not counting dropped ones); else 0.
    pub trial_permits: u32,
    /// In half-open: trials reported successful so far; else 0.
    pub trial_successes: u32,
}

/// What a permit remembers of its admission: two `u64`s, so it travels in registers (a
/// ticket with a narrower field, copied through memory, costs a failed store-to-load
/// forwarding: a stall longer than the rest of a closed call).
#[derive(Debug, Clone, Copy)]
struct Ticket {
    /// The state word at admission; its state bits say what kind of permit this is
    /// (closed, half-open trial, disabled, or [`DONE`] once reported). A closed-state word
    /// never changes until the next transition, so "is this outcome still current" is one
    /// comparison with it.
    word: u64,
    /// Clock reading at admission (nanoseconds), when the slow-call rule is on; else 0.
    start: u64,
}

/// State bits no state uses: a ticket already reported, or (in [`CircuitBreaker::admit_other`]'s
/// packed answer) a rejection.
const DONE: u64 = 0b111;

impl Ticket {
    #[inline(always)]
    fn kind(&self) -> u64 {
        self.word & 0b111
    }

    #[inline(always)]
    fn is_trial(&self) -> bool {
        self.kind() == HALF_OPEN
    }
}

/// Deadline word: generation (21 bits) above a deadline in ms since the breaker's time base.
const DL_BITS: u32 = 43;
const DL_MASK: u64 = (1 << DL_BITS) - 1;
const MS: u64 = 1_000_000;

#[derive(Debug)]
struct Head {
    /// The packed [`Word`].
    state: AtomicU64,
    /// When the current Open (or HalfOpen) generation ends; see [`DL_BITS`].
    deadline: AtomicU64,
}

/// A lock-free circuit breaker. Share it by reference or in an `Arc`; every method takes
/// `&self`.
///
/// See the [crate docs](crate) for the rules and an overview, and [`Builder`] for the settings.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sinew_breaker::{CircuitBreaker, ManualClock, State};
///
/// let clock = ManualClock::new(Duration::from_secs(1_000));
/// let breaker = CircuitBreaker::builder()
///     .failure_rate_threshold(0.5)
///     .minimum_calls(4)
///     .count_window(10)
///     .wait_in_open(Duration::from_secs(30))
///     .half_open_permits(2)
///     .clock(clock.clone())
///     .build()?;
///
/// for _ in 0..4 {
///     breaker.try_acquire()?.failure();
/// }
/// assert_eq!(breaker.state(), State::Open);
/// assert!(breaker.try_acquire().is_err());
///
/// clock.advance(Duration::from_secs(30));
/// let (a, b) = (breaker.try_acquire()?, breaker.try_acquire()?);
/// assert!(breaker.try_acquire().is_err(), "exactly two trial calls");
/// a.success();
/// b.success();
/// assert_eq!(breaker.state(), State::Closed);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CircuitBreaker<C = SystemClock> {
    head: Padded<Head>,
    window: Padded<Window>,
    /// Failures in a row, stamped with the closed generation they were counted in: the
    /// generation (21 bits) above the count (32 bits). A count of an older generation is
    /// restarted by the first report of a newer one, so no transition needs to reset it and
    /// a report from before a transition never counts after it.
    consecutive: Padded<AtomicU64>,
    rejected: Padded<AtomicU64>,
    config: Config,
    clock: C,
    /// Clock reading at build; times inside the breaker are nanoseconds since it.
    base: u64,
    /// No slow-call rule, no consecutive-failure rule, a count window: reporting a closed
    /// call needs no clock read and takes the short path.
    lean: bool,
    listener: Option<Listener>,
}

impl<C: fmt::Debug> fmt::Debug for CircuitBreaker<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field(
                "state",
                &Word(self.head.state.load(Ordering::Relaxed)).state(),
            )
            .field("config", &self.config)
            .field("clock", &self.clock)
            .field("listener", &self.listener.is_some())
            .finish_non_exhaustive()
    }
}

impl CircuitBreaker<SystemClock> {
    /// A builder with the default settings (see [`Builder`]) and the system clock.
    pub fn builder() -> Builder<SystemClock> {
        Builder::new()
    }
}

impl<C: Clock> CircuitBreaker<C> {
    pub(crate) fn from_parts(config: Config, clock: C, listener: Option<Listener>) -> Self {
        let window = match config.window {
            WindowKind::Count(n) => Window::Count(CountWindow::new(n)),
            WindowKind::Time { window, buckets } => Window::Time(TimeWindow::new(
                u64::try_from(window.as_nanos()).unwrap_or(u64::MAX),
                buckets,
            )),
        };
        let base = clock.now_nanos();
        let lean = config.slow_nanos.is_none()
            && config.consecutive_failures.is_none()
            && matches!(config.window, WindowKind::Count(_));
        CircuitBreaker {
            head: Padded(Head {
                state: AtomicU64::new(Word::pack(CLOSED, 0, 0, 0, 0).0),
                deadline: AtomicU64::new(0),
            }),
            window: Padded(window),
            consecutive: Padded(AtomicU64::new(0)),
            rejected: Padded(AtomicU64::new(0)),
            config,
            clock,
            base,
            lean,
            listener,
        }
    }

    /// The breaker's settings, as built (with the default minimum number of calls resolved);
    /// give them to [`Builder::config`] to build another breaker like this one, or serialize
    /// them (feature `serde`).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The current state. `Open` stays `Open` after its wait has passed until the next call
    /// asks for a permit, which moves the breaker to `HalfOpen`.
    pub fn state(&self) -> State {
        self.load().state()
    }

    /// Asks to make one call. In `Closed` this is one atomic load.
    ///
    /// The [`Permit`] borrows the breaker; report the call's outcome with
    /// [`Permit::success`] or [`Permit::failure`]. A permit dropped without a report records
    /// nothing and, in half-open, gives its trial slot back.
    ///
    /// # Errors
    ///
    /// [`Rejected`] when the breaker is open, forced open, or half-open with every trial
    /// permit taken.
    #[inline(always)]
    pub fn try_acquire(&self) -> Result<Permit<'_, C>, Rejected> {
        let ticket = self.admit()?;
        Ok(Permit {
            breaker: self,
            ticket,
        })
    }

    /// [`try_acquire`](Self::try_acquire) for a breaker in an `Arc`, giving a permit that owns
    /// a reference to it (`'static`, to move into a spawned task). Costs an `Arc` clone.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire).
    pub fn try_acquire_owned(self: &Arc<Self>) -> Result<OwnedPermit<C>, Rejected> {
        let ticket = self.admit()?;
        Ok(OwnedPermit {
            breaker: Arc::clone(self),
            ticket,
        })
    }

    /// Runs `f` if the breaker admits it; every `Err` counts as a failure, a panic counts as a
    /// failure and keeps unwinding (the breaker records it on the way through, without
    /// catching it).
    ///
    /// # Errors
    ///
    /// [`CallError::Rejected`] if the breaker turned the call away (`f` did not run),
    /// [`CallError::Inner`] with `f`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// use sinew_breaker::{CallError, CircuitBreaker};
    ///
    /// let breaker = CircuitBreaker::builder().build()?;
    /// let answer: Result<u32, CallError<std::io::Error>> = breaker.call(|| Ok(42));
    /// assert_eq!(answer?, 42);
    /// Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn call<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, CallError<E>> {
        self.call_with(f, |_| true)
    }

    /// [`call`](Self::call) with a classifier: `is_failure(&err)` says whether an error counts
    /// as a failure; errors it clears (say, "not found" from a healthy backend) count as
    /// successes. A panic in `f` counts as a failure and is resumed.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    pub fn call_with<T, E>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
        is_failure: impl FnOnce(&E) -> bool,
    ) -> Result<T, CallError<E>> {
        // The ticket itself rather than a `Permit`: every path below reports it, so there is
        // nothing for a permit's `Drop` to do, and the ticket is never copied.
        let ticket = self.admit()?;
        // Records a failure if `f` panics, while the panic unwinds through this frame; on a
        // normal return it is forgotten. Same effect as `catch_unwind` + `resume_unwind`, but
        // free when nothing panics (a landing pad instead of an indirect call per call).
        let on_unwind = FailOnUnwind {
            breaker: self,
            ticket: &ticket,
        };
        let result = f();
        // The classifier runs under the same guard: if it panics, the call counts as failed
        // (and a half-open trial slot is never left taken).
        let failed = match &result {
            Ok(_) => false,
            Err(e) => is_failure(e),
        };
        std::mem::forget(on_unwind);
        self.finish(&ticket, failed);
        result.map_err(CallError::Inner)
    }

    /// Runs the future `fut` if the breaker admits it; every `Err` counts as a failure, a panic
    /// while polling counts as a failure and is resumed, and a future dropped before it
    /// finishes (cancelled) records nothing. Runtime-agnostic.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    pub async fn call_async<T, E>(
        &self,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, CallError<E>> {
        self.call_async_with(fut, |_| true).await
    }

    /// [`call_async`](Self::call_async) with a classifier, as [`call_with`](Self::call_with).
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    pub async fn call_async_with<T, E>(
        &self,
        fut: impl Future<Output = Result<T, E>>,
        is_failure: impl FnOnce(&E) -> bool,
    ) -> Result<T, CallError<E>> {
        let permit = self.try_acquire()?;
        match (crate::unwind::CatchUnwind { fut }).await {
            Ok(Ok(v)) => {
                permit.success();
                Ok(v)
            }
            Ok(Err(e)) => match catch_unwind(AssertUnwindSafe(|| is_failure(&e))) {
                Ok(failed) => {
                    permit.record(failed);
                    Err(CallError::Inner(e))
                }
                // A panicking classifier: the call counts as failed, as in `call_with`.
                Err(panic) => {
                    permit.failure();
                    resume_unwind(panic)
                }
            },
            Err(panic) => {
                permit.failure();
                resume_unwind(panic)
            }
        }
    }

    /// [`call_async`](Self::call_async) with a deadline: a call still running after `timeout`
    /// (tokio's timer) is dropped and counts as a failure.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call), and [`CallError::Timeout`] when the deadline passed.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn call_async_timeout<T, E>(
        &self,
        timeout: Duration,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, CallError<E>> {
        let permit = self.try_acquire()?;
        match tokio::time::timeout(timeout, crate::unwind::CatchUnwind { fut }).await {
            Ok(Ok(Ok(v))) => {
                permit.success();
                Ok(v)
            }
            Ok(Ok(Err(e))) => {
                permit.failure();
                Err(CallError::Inner(e))
            }
            Ok(Err(panic)) => {
                permit.failure();
                resume_unwind(panic)
            }
            Err(_elapsed) => {
                permit.failure();
                Err(CallError::Timeout(timeout))
            }
        }
    }

    /// Opens the breaker until [`reset`](Self::reset), whatever the window says.
    pub fn force_open(&self) {
        self.force(FORCED_OPEN);
    }

    /// Lets every call through and records nothing, until [`reset`](Self::reset) or
    /// [`force_open`](Self::force_open).
    pub fn disable(&self) {
        self.force(DISABLED);
    }

    /// Closes the breaker with an empty window, from any state. Permits issued before the
    /// reset report into nothing.
    pub fn reset(&self) {
        self.force(CLOSED);
    }

    /// A snapshot of the state, the window's counts and the rejection count.
    pub fn metrics(&self) -> Metrics {
        let w = self.load();
        let c = self.window.counts(self.rel_now());
        let rate = |n: u64| {
            if c.calls == 0 {
                0.0
            } else {
                n as f64 / c.calls as f64
            }
        };
        let half_open = w.state_bits() == HALF_OPEN;
        Metrics {
            state: w.state(),
            calls: c.calls,
            failures: c.failures,
            slow_calls: c.slow,
            failure_rate: rate(c.failures),
            slow_call_rate: rate(c.slow),
            consecutive_failures: if w.state_bits() == CLOSED {
                self.consecutive_in(w.generation())
            } else {
                0
            },
            rejected: self.rejected.load(Ordering::Relaxed),
            trial_permits: if half_open {
                u32::try_from(w.issued()).unwrap_or(u32::MAX)
            } else {
                0
            },
            trial_successes: if half_open {
                u32::try_from(w.succeeded()).unwrap_or(u32::MAX)
            } else {
                0
            },
        }
    }

    // ---- internals ----

    #[inline]
    fn load(&self) -> Word {
        Word(self.head.state.load(Ordering::Acquire))
    }

    /// Nanoseconds since the breaker's time base (0 if the clock reads earlier).
    #[inline]
    fn rel_now(&self) -> u64 {
        self.clock.now_nanos().saturating_sub(self.base)
    }

    #[inline]
    fn start_time(&self) -> u64 {
        if self.config.slow_nanos.is_some() {
            self.now_abs()
        } else {
            0
        }
    }

    /// A clock read kept out of line, so the admission path stays small and the reading
    /// comes back as one `u64` register (inlined, the compiler may split it into halves that
    /// a later 8-byte load cannot forward from).
    #[inline(never)]
    fn now_abs(&self) -> u64 {
        self.clock.now_nanos()
    }

    /// Admission. The closed answer (one load) and the two common rejections (forced open;
    /// open with its wait not over: a clock read and a load of the deadline word) are inlined
    /// into the caller, so the permit stays in registers; everything else is one call away.
    #[inline(always)]
    fn admit(&self) -> Result<Ticket, Rejected> {
        let w = self.load();
        if w.state_bits() == CLOSED {
            return Ok(Ticket {
                word: w.0,
                start: self.start_time(),
            });
        }
        if w.state_bits() == FORCED_OPEN {
            return Err(self.reject(Rejected::forced_open()));
        }
        if w.state_bits() == OPEN {
            let d = self.head.deadline.load(Ordering::Acquire);
            if d >> DL_BITS == w.generation() {
                let now = self.rel_now();
                let deadline = (d & DL_MASK) * MS;
                if now < deadline {
                    return Err(self.reject(Rejected::open(deadline - now)));
                }
            }
        }
        // Two registers back, not a `Result` through memory.
        let (a, b) = self.admit_other(w);
        if a & 0b111 == DONE {
            Err(Rejected::from_parts(a >> 3, b))
        } else {
            Ok(Ticket { word: a, start: b })
        }
    }

    /// Admission outside closed, when [`admit`](Self::admit)'s inlined checks did not answer:
    /// rejections are answered here, anything that may change the state goes on to
    /// [`admit_slow`](Self::admit_slow).
    ///
    /// The answer is packed into two `u64`s (returned in registers): a ticket as is, or a
    /// rejection as `(state << 3 | DONE, retry_after)`.
    #[inline(never)]
    fn admit_other(&self, w: Word) -> (u64, u64) {
        let answer = match w.state_bits() {
            OPEN => {
                let d = self.head.deadline.load(Ordering::Acquire);
                if d >> DL_BITS == w.generation() {
                    let now = self.rel_now();
                    let deadline = (d & DL_MASK) * MS;
                    if now < deadline {
                        let r = self.reject(Rejected::open(deadline - now));
                        return (r.state_bits() << 3 | DONE, r.retry_after_nanos());
                    }
                }
                self.admit_slow(w)
            }
            FORCED_OPEN => Err(self.reject(Rejected::forced_open())),
            _ => self.admit_slow(w),
        };
        match answer {
            Ok(t) => (t.word, t.start),
            Err(r) => (r.state_bits() << 3 | DONE, r.retry_after_nanos()),
        }
    }

    #[inline(never)]
    fn admit_slow(&self, mut w: Word) -> Result<Ticket, Rejected> {
        let permits = u64::from(self.config.half_open_permits);
        loop {
            match w.state_bits() {
                CLOSED | DISABLED => {
                    return Ok(Ticket {
                        word: w.0,
                        start: self.start_time(),
                    });
                }
                OPEN => {
                    let now = self.rel_now();
                    let Some(deadline) = self.deadline(w, now) else {
                        w = self.load();
                        continue;
                    };
                    if now < deadline {
                        return Err(self.reject(Rejected::open(deadline - now)));
                    }
                    // The wait is over: whoever wins the move to half-open takes the first
                    // trial permit with it.
                    let to = w.next(HALF_OPEN, w.trips()).with_permits(1, 0);
                    if self.transition(w, to, now) {
                        return Ok(Ticket {
                            word: to.0,
                            start: self.start_time(),
                        });
                    }
                }
                HALF_OPEN => {
                    if w.issued() < permits {
                        let to = w.with_permits(w.issued() + 1, w.succeeded());
                        if self.cas(w, to).is_ok() {
                            return Ok(Ticket {
                                word: w.0,
                                start: self.start_time(),
                            });
                        }
                    } else {
                        let now = self.rel_now();
                        match self.deadline(w, now) {
                            Some(deadline) if now < deadline => {
                                return Err(self.reject(Rejected::half_open_full()));
                            }
                            None => {
                                w = self.load();
                                continue;
                            }
                            Some(_) => {}
                        }
                        // Trials outstanding for longer than `max_wait_in_half_open`.
                        self.transition(w, w.next(OPEN, w.trips().saturating_add(1)), now);
                    }
                }
                _ => return Err(self.reject(Rejected::forced_open())),
            }
            w = self.load();
        }
    }

    #[inline]
    fn reject(&self, r: Rejected) -> Rejected {
        // A `fetch_add`: a load and a store would lose increments of threads rejected at the
        // same instant, and the count could even go backwards.
        self.rejected.fetch_add(1, Ordering::Relaxed);
        r
    }

    #[inline]
    fn cas(&self, from: Word, to: Word) -> Result<Word, Word> {
        self.head
            .state
            .compare_exchange(from.0, to.0, Ordering::AcqRel, Ordering::Acquire)
            .map(Word)
            .map_err(Word)
    }

    /// Whether the closed permit `t` still belongs to the current generation (asked by the
    /// window after it was written and fenced, see `CountWindow::record`).
    #[inline(always)]
    fn is_current(&self, t: &Ticket) -> bool {
        self.head.state.load(Ordering::Acquire) == t.word
    }

    /// Moves the state word from `from` to `to` if no one else has moved it; the winner (and
    /// only the winner) installs the new generation's deadline word, clears the window on
    /// entering half-open, and emits the one event of the transition.
    fn transition(&self, from: Word, to: Word, now: u64) -> bool {
        self.transition_clearing(from, to, now, to.state_bits() == HALF_OPEN)
    }

    /// [`transition`](Self::transition), clearing the window if `clear`.
    fn transition_clearing(&self, from: Word, to: Word, now: u64, clear: bool) -> bool {
        if self.cas(from, to).is_err() {
            return false;
        }
        // Every transition installs its generation's deadline word (no limit for the states
        // that have none), so the word never falls more than a few generations behind the
        // state: a deadline of a generation half the 21-bit space away would read as newer
        // than the state and never be replaced.
        self.deadline(to, now);
        if clear {
            // After the compare-exchange: a closed report of an older generation either wrote
            // the window before this clear (and is cleared) or re-checks the state after
            // writing, sees the new generation and takes its outcome back. Entering
            // half-open, the breaker cannot close before this thread's own trial reports, so
            // the window is empty when closed calls start recording again.
            self.window.clear();
        }
        self.emit(from.state(), to.state(), now);
        true
    }

    /// The consecutive failures counted in closed generation `generation`.
    fn consecutive_in(&self, generation: u64) -> u32 {
        let c = self.consecutive.load(Ordering::Relaxed);
        if c >> 32 == generation {
            #[allow(clippy::cast_possible_truncation)] // the low 32 bits are the count
            let n = c as u32;
            n
        } else {
            0
        }
    }

    /// Counts a closed report of generation `generation` in the consecutive failures; returns
    /// the failures in a row after it (0 for a report of an older generation than the count's,
    /// which changes nothing).
    fn count_consecutive(&self, generation: u64, failed: bool) -> u32 {
        let mut cur = self.consecutive.load(Ordering::Relaxed);
        loop {
            let cur_gen = cur >> 32;
            #[allow(clippy::cast_possible_truncation)] // the low 32 bits are the count
            let base = if cur_gen == generation {
                cur as u32
            } else if generation.wrapping_sub(cur_gen) & GEN_MASK <= GEN_MASK / 2 {
                0 // a count of an older generation: restart
            } else {
                return 0; // this report is older than the count
            };
            let next = if failed { base.saturating_add(1) } else { 0 };
            if cur_gen == generation && next == base {
                return next; // a success with nothing to reset
            }
            let new = generation << 32 | u64::from(next);
            match self.consecutive.compare_exchange_weak(
                cur,
                new,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return next,
                Err(actual) => cur = actual,
            }
        }
    }

    fn emit(&self, from: State, to: State, now: u64) {
        if from == to {
            return;
        }
        let event = Transition {
            from,
            to,
            at: Duration::from_nanos(self.base.saturating_add(now)),
        };
        #[cfg(feature = "tracing")]
        tracing::event!(
            target: "sinew_breaker",
            tracing::Level::INFO,
            from = event.from.as_str(),
            to = event.to.as_str(),
            at_ms = u64::try_from(event.at.as_millis()).unwrap_or(u64::MAX),
            "circuit breaker {} -> {}",
            event.from,
            event.to
        );
        if let Some(listener) = &self.listener {
            // The transition is already made; a panicking listener must neither undo the
            // bookkeeping around it (a half-open trial permit in hand, a deadline) nor panic
            // again while a failed call unwinds (an abort). Its panic has been reported by the
            // panic hook; it is dropped here.
            let _ = catch_unwind(AssertUnwindSafe(|| listener(&event)));
        }
    }

    /// The end (ns since base) of the Open or HalfOpen generation `w`. Normally stored by the
    /// thread that made the transition; a thread that sees the new state before that store
    /// computes it from its own `now` and installs it, so no thread ever waits on another.
    /// `None` when the deadline word already belongs to a newer generation: `w` is stale and
    /// the caller reloads the state.
    fn deadline(&self, w: Word, now: u64) -> Option<u64> {
        let generation = w.generation();
        let mut cur = self.head.deadline.load(Ordering::Acquire);
        loop {
            let cur_gen = cur >> DL_BITS;
            if cur_gen == generation {
                return Some((cur & DL_MASK) * MS);
            }
            // Only replace a deadline of an older generation (wrapping comparison), never one
            // of a newer transition this thread has not seen.
            let age = generation.wrapping_sub(cur_gen) & GEN_MASK;
            if age > GEN_MASK / 2 {
                return None;
            }
            let ms = match self.length_of(w) {
                Some(l) => now.saturating_add(l).div_ceil(MS).min(DL_MASK),
                None => DL_MASK,
            };
            let new = (generation << DL_BITS) | ms;
            match self
                .head
                .deadline
                .compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some(ms * MS),
                Err(actual) => cur = actual,
            }
        }
    }

    /// How long generation `w` lasts: the (backed-off, jittered) wait in open, or the max wait
    /// in half-open; `None` for no limit.
    fn length_of(&self, w: Word) -> Option<u64> {
        match w.state_bits() {
            OPEN => Some(self.open_wait(w.trips(), w.generation())),
            HALF_OPEN => self
                .config
                .max_wait_in_half_open
                .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
            _ => None,
        }
    }

    /// The wait of the `trips`-th trip in a row, in nanoseconds.
    #[allow(clippy::cast_possible_truncation)] // f64 -> u64 `as` saturates, as wanted
    pub(crate) fn open_wait(&self, trips: u64, generation: u64) -> u64 {
        let c = &self.config;
        let mut wait = c.wait_in_open.as_nanos() as f64;
        if let Some((multiplier, max)) = c.backoff {
            let exp = i32::try_from(trips.saturating_sub(1)).unwrap_or(i32::MAX);
            wait = (wait * multiplier.powi(exp)).min(max.as_nanos() as f64);
        }
        if c.jitter > 0.0 {
            let u = (sinew_hash::splitmix64(c.jitter_seed ^ generation) >> 11) as f64
                / (1u64 << 53) as f64;
            wait *= 1.0 + c.jitter * (2.0 * u - 1.0);
        }
        (wait as u64).max(1)
    }

    fn force(&self, target: u64) {
        let now = self.rel_now();
        let mut w = self.load();
        // A reset clears the window after its compare-exchange (see `transition_clearing`),
        // so a permit from before it records nothing afterwards.
        while !self.transition_clearing(w, w.next(target, 0), now, target == CLOSED) {
            w = self.load();
        }
    }

    #[inline(always)]
    fn finish(&self, t: &Ticket, failed: bool) {
        match t.kind() {
            CLOSED => self.record_closed(t, failed),
            HALF_OPEN => self.record_trial(t, failed),
            _ => {} // disabled, or already reported
        }
    }

    fn is_slow(&self, t: &Ticket, now_abs: u64) -> bool {
        matches!(self.config.slow_nanos, Some(s) if now_abs.saturating_sub(t.start) >= s)
    }

    /// The short path of a closed call's report: one load of the state word, then the
    /// count window (one load for a success into a window of N successes; a `fetch_add` and
    /// a load for a success replacing a success otherwise). No clock read: the clock is read
    /// only to decide (`decide`), and a plain success decides only at the minimum calls.
    #[inline(always)]
    fn record_closed(&self, t: &Ticket, failed: bool) {
        if !self.lean {
            return self.record_closed_full(t, failed);
        }
        if self.head.state.load(Ordering::Acquire) != t.word {
            return; // a transition happened since admission: this outcome is stale
        }
        let outcome = if failed { CALL | FAILED } else { CALL };
        let current = || self.is_current(t);
        if let Some(counts) = self
            .window
            .record(outcome, 0, self.config.minimum_calls, current)
        {
            self.decide(Word(t.word), counts);
        }
    }

    /// Trips if the rates say so (out of line: most recordings decide nothing).
    #[inline(never)]
    fn decide(&self, w: Word, counts: Counts) {
        if self.rate_trips(counts) {
            self.trip(w, self.rel_now());
        }
    }

    #[inline(never)]
    fn record_closed_full(&self, t: &Ticket, failed: bool) {
        let needs_now = self.config.slow_nanos.is_some() || self.window.needs_time();
        let now_abs = if needs_now { self.clock.now_nanos() } else { 0 };
        let slow = self.is_slow(t, now_abs);
        if self.head.state.load(Ordering::Acquire) != t.word {
            return; // a transition happened since admission: this outcome is stale
        }
        let w = Word(t.word);
        let now = now_abs.saturating_sub(self.base);
        let trip = self
            .config
            .consecutive_failures
            .is_some_and(|k| self.count_consecutive(w.generation(), failed) >= k);
        let outcome = CALL | if failed { FAILED } else { 0 } | if slow { SLOW } else { 0 };
        let current = || self.is_current(t);
        let counts = self
            .window
            .record(outcome, now, self.config.minimum_calls, current);
        if trip || counts.is_some_and(|c| self.rate_trips(c)) {
            let now = if needs_now { now } else { self.rel_now() };
            self.trip(w, now);
        }
    }

    /// Closed -> Open, if `w` is still the state.
    #[cold]
    fn trip(&self, w: Word, now: u64) {
        self.transition(w, w.next(OPEN, 1), now);
    }

    #[inline]
    fn rate_trips(&self, c: Counts) -> bool {
        let cfg = &self.config;
        if c.calls < cfg.minimum_calls || !c.plausible(self.window.capacity()) {
            return false;
        }
        let calls = c.calls as f64;
        c.failures as f64 / calls >= cfg.failure_rate
            || (cfg.slow_nanos.is_some() && c.slow as f64 / calls >= cfg.slow_rate)
    }

    #[inline(never)]
    fn record_trial(&self, t: &Ticket, failed: bool) {
        let now_abs = self.clock.now_nanos();
        let failed = failed || self.is_slow(t, now_abs);
        let now = now_abs.saturating_sub(self.base);
        let permits = u64::from(self.config.half_open_permits);
        let mut w = self.load();
        loop {
            if w.state_bits() != HALF_OPEN || w.generation() != Word(t.word).generation() {
                return;
            }
            let done = if failed {
                self.transition(w, w.next(OPEN, w.trips().saturating_add(1)), now)
            } else if w.succeeded() + 1 >= permits {
                self.transition(w, w.next(CLOSED, 0), now)
            } else {
                self.cas(w, w.with_permits(w.issued(), w.succeeded() + 1))
                    .is_ok()
            };
            if done {
                return;
            }
            w = self.load();
        }
    }

    /// A trial permit dropped unreported gives its slot back.
    #[cold]
    fn release(&self, t: &Ticket) {
        if !t.is_trial() {
            return;
        }
        let mut w = self.load();
        let generation = Word(t.word).generation();
        while w.state_bits() == HALF_OPEN && w.generation() == generation && w.issued() > 0 {
            match self.cas(w, w.with_permits(w.issued() - 1, w.succeeded())) {
                Ok(_) => return,
                Err(actual) => w = actual,
            }
        }
    }
}

/// Records its ticket as a failure when dropped: armed around a closure that may panic, and
/// forgotten when it returns.
struct FailOnUnwind<'a, C: Clock> {
    breaker: &'a CircuitBreaker<C>,
    ticket: &'a Ticket,
}

impl<C: Clock> Drop for FailOnUnwind<'_, C> {
    #[cold]
    fn drop(&mut self) {
        self.breaker.finish(self.ticket, true);
    }
}

/// Permission to make one call, from [`CircuitBreaker::try_acquire`]; borrows the breaker.
///
/// Report the outcome with [`success`](Self::success) or [`failure`](Self::failure). The
/// permit measures the call from acquisition to report with the breaker's clock, for the
/// slow-call rule. Dropping it unreported records nothing and, for a half-open trial, gives the
/// trial slot back, so a cancelled call can never keep the breaker half-open.
///
/// `Send` and `Sync` when the clock is; [`OwnedPermit`] is the `'static` form.
#[must_use = "a permit that is dropped records nothing; report the outcome with success() or failure()"]
pub struct Permit<'a, C: Clock = SystemClock> {
    breaker: &'a CircuitBreaker<C>,
    ticket: Ticket,
}

/// [`Permit`] holding an `Arc` of its breaker, from
/// [`CircuitBreaker::try_acquire_owned`]; `'static`, to move into spawned tasks.
#[must_use = "a permit that is dropped records nothing; report the outcome with success() or failure()"]
pub struct OwnedPermit<C: Clock = SystemClock> {
    breaker: Arc<CircuitBreaker<C>>,
    ticket: Ticket,
}

macro_rules! permit_methods {
    () => {
        /// Records a successful call (or a failure, if it was slow in half-open).
        #[inline(always)]
        pub fn success(self) {
            self.record(false);
        }

        /// Records a failed call.
        #[inline(always)]
        pub fn failure(self) {
            self.record(true);
        }

        /// Whether this is a half-open trial call.
        pub fn is_trial(&self) -> bool {
            self.ticket.is_trial()
        }
    };
}

impl<C: Clock> Permit<'_, C> {
    permit_methods!();

    /// Records the call as failed if `failed`, else as successful.
    #[inline(always)]
    pub fn record(self, failed: bool) {
        // Reported: nothing left for `Drop` to do, and no copy of the ticket either.
        let this = std::mem::ManuallyDrop::new(self);
        this.breaker.finish(&this.ticket, failed);
    }
}

impl<C: Clock> OwnedPermit<C> {
    permit_methods!();

    /// Records the call as failed if `failed`, else as successful.
    #[inline]
    pub fn record(mut self, failed: bool) {
        let ticket = self.ticket;
        self.ticket.word = DONE;
        self.breaker.finish(&ticket, failed);
    }
}

impl<C: Clock> Drop for Permit<'_, C> {
    #[inline]
    fn drop(&mut self) {
        if self.ticket.is_trial() {
            self.breaker.release(&self.ticket);
        }
    }
}

impl<C: Clock> Drop for OwnedPermit<C> {
    fn drop(&mut self) {
        if self.ticket.is_trial() {
            self.breaker.release(&self.ticket);
        }
    }
}

impl<C: Clock> fmt::Debug for Permit<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("ticket", &self.ticket)
            .finish()
    }
}

impl<C: Clock> fmt::Debug for OwnedPermit<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("ticket", &self.ticket)
            .finish()
    }
}
