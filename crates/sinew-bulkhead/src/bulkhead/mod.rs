//! [`Bulkhead`]: at most `max_concurrent` calls inside, with an optional bounded FIFO wait
//! queue.
//!
//! The state is one 64-bit word, so admission is one compare-exchange and a release one
//! `fetch_sub`:
//!
//! ```text
//! bits  0..32  in_flight   permits alive
//! bit   32     WAITERS     the wait queue is non-empty (changed only under its lock)
//! bits 33..64  admitted    admissions, low 31 bits (a wrap adds 2^31 to a side counter)
//! ```
//!
//! Counting admissions in the same word keeps `metrics().admitted` exact at no extra atomic
//! operation on the fast path; the waiters flag in the same word means a release learns
//! whether anyone waits from the very operation that frees the slot, so no wake-up is lost
//! and the no-waiter release takes no lock.

mod queue;

use std::fmt;
use std::time::Duration;

use crate::error::{ConfigError, MAX_WAIT_LIMIT, Rejected};
use crate::sync::{Arc, AtomicU32, AtomicU64, Counter, Mutex, Ordering, Padded};
use queue::Queue;

/// Mask of the `in_flight` field.
const IN_FLIGHT: u64 = u32::MAX as u64;
/// The flag set while the wait queue is non-empty.
const WAITERS: u64 = 1 << 32;
/// Where the admission count starts.
const ADMITTED_SHIFT: u32 = 33;
/// One admission: one more in flight, one more admitted (the carry out of bit 63 is the
/// admitted field's wrap).
const ADMIT: u64 = 1 + (1 << ADMITTED_SHIFT);

/// The words every admission touches, on a cache line of their own.
#[derive(Debug)]
struct Hot {
    word: AtomicU64,
    max: AtomicU32,
}

/// Counters only slow paths touch (rejections, waits), away from the hot line.
#[derive(Debug, Default)]
struct Counters {
    rejected: Counter,
    waited: Counter,
    timed_out: Counter,
    /// Admissions carried out of the word's 31-bit field.
    admitted_carry: Counter,
}

pub(crate) struct Shared {
    hot: Padded<Hot>,
    counters: Padded<Counters>,
    queue: Mutex<Queue>,
    /// The queue's length, mirrored for lock-free reads.
    waiting: std::sync::atomic::AtomicU32,
    max_waiting: u32,
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    max_wait: Option<Duration>,
}

impl Shared {
    /// The lock-free fast path: take a slot if one is free and no one is queued (so it never
    /// overtakes a waiter). One load of the limit, one of the word, one compare-exchange.
    #[inline]
    fn try_admit(&self) -> bool {
        let max = u64::from(self.hot.max.load(Ordering::Relaxed));
        let mut w = self.hot.word.load(Ordering::Relaxed);
        loop {
            if w & WAITERS != 0 || (w & IN_FLIGHT) >= max {
                return false;
            }
            let new = w.wrapping_add(ADMIT);
            match self
                .hot
                .word
                .compare_exchange_weak(w, new, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.count_admitted_wrap(new);
                    return true;
                }
                Err(actual) => w = actual,
            }
        }
    }

    /// After an admission that left the word `new`: if the admitted field just wrapped to 0,
    /// carry 2^31 into the side counter.
    #[inline(always)]
    fn count_admitted_wrap(&self, new: u64) {
        if new >> ADMITTED_SHIFT == 0 {
            self.counters.admitted_carry.add(1 << (64 - ADMITTED_SHIFT));
        }
    }

    /// Frees a slot: one `fetch_sub`; the lock only if someone waits.
    #[inline]
    fn release(&self) {
        let prev = self.hot.word.fetch_sub(1, Ordering::Release);
        if prev & WAITERS != 0 {
            self.release_slow();
        }
    }

    #[inline]
    fn reject(&self, why: Rejected) -> Rejected {
        self.counters.rejected.incr();
        why
    }

    fn in_flight(&self) -> u32 {
        (self.hot.word.load(Ordering::Relaxed) & IN_FLIGHT) as u32
    }

    fn admitted(&self) -> u64 {
        let w = self.hot.word.load(Ordering::Relaxed);
        self.counters
            .admitted_carry
            .get()
            .wrapping_add(w >> ADMITTED_SHIFT)
    }
}

/// A bulkhead: at most [`max_concurrent`](Bulkhead::max_concurrent) calls inside at once, the
/// rest turned away ([`try_acquire`](Bulkhead::try_acquire)) or queued in FIFO order for at
/// most a maximum wait ([`acquire`](Bulkhead::acquire), feature `tokio`).
///
/// Clones share one bulkhead (an `Arc` inside), so hand a clone to every task or thread.
///
/// ```
/// use sinew_bulkhead::{Bulkhead, Rejected};
///
/// let bulkhead = Bulkhead::new(2);
/// let a = bulkhead.try_acquire()?;
/// let b = bulkhead.try_acquire()?;
/// assert_eq!(bulkhead.try_acquire().unwrap_err(), Rejected::Full);
/// drop(a); // the slot is free again
/// let c = bulkhead.try_acquire()?;
/// assert_eq!(bulkhead.in_flight(), 2);
/// # drop((b, c));
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Bulkhead {
    shared: Arc<Shared>,
}

impl Bulkhead {
    /// A bulkhead admitting at most `max_concurrent` calls at once, without a wait queue:
    /// [`acquire`](Bulkhead::acquire) turns a call away at once when it is full, as
    /// [`try_acquire`](Bulkhead::try_acquire) does. `new(0)` admits nothing until
    /// [`set_max_concurrent`](Bulkhead::set_max_concurrent) raises the limit.
    pub fn new(max_concurrent: u32) -> Self {
        Bulkhead::from_parts(max_concurrent, 0, None)
    }

    /// A builder, for a bulkhead with a wait queue:
    /// `Bulkhead::builder().max_concurrent(10).queue(100).max_wait(d).build()`.
    pub fn builder() -> BulkheadBuilder {
        BulkheadBuilder::default()
    }

    fn from_parts(max_concurrent: u32, max_waiting: u32, max_wait: Option<Duration>) -> Self {
        Bulkhead {
            shared: Arc::new(Shared {
                hot: Padded(Hot {
                    word: AtomicU64::new(0),
                    max: AtomicU32::new(max_concurrent),
                }),
                counters: Padded(Counters::default()),
                queue: Mutex::new(Queue::default()),
                waiting: std::sync::atomic::AtomicU32::new(0),
                max_waiting,
                max_wait,
            }),
        }
    }

    /// Takes a slot if one is free, without waiting: lock-free (one compare-exchange when
    /// uncontended). Fails with [`Rejected::Full`] when every slot is taken, and also while
    /// calls wait in the queue (a free slot belongs to the first of them: FIFO).
    ///
    /// The permit borrows the bulkhead; [`try_acquire_owned`](Bulkhead::try_acquire_owned)
    /// gives one that does not.
    ///
    /// # Errors
    ///
    /// [`Rejected::Full`].
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_>, Rejected> {
        if self.shared.try_admit() {
            Ok(Permit {
                shared: &self.shared,
            })
        } else {
            Err(self.shared.reject(Rejected::Full))
        }
    }

    /// As [`try_acquire`](Bulkhead::try_acquire), with a `'static` permit (it holds a clone
    /// of the bulkhead's `Arc`) to move into a spawned task.
    ///
    /// # Errors
    ///
    /// [`Rejected::Full`].
    #[inline]
    pub fn try_acquire_owned(&self) -> Result<OwnedPermit, Rejected> {
        if self.shared.try_admit() {
            Ok(OwnedPermit {
                shared: Arc::clone(&self.shared),
            })
        } else {
            Err(self.shared.reject(Rejected::Full))
        }
    }

    /// Takes a slot, waiting for one in FIFO order if the bulkhead is full and has a queue
    /// (feature `tokio`; the maximum wait runs on tokio's timer, from the first poll).
    ///
    /// The future is `Send` and `'static` (it holds a clone of the bulkhead) and cancel-safe:
    /// dropped while queued, it leaves the queue; dropped after a slot was handed to it but
    /// before it returned the permit, the slot passes to the next waiter (or back). Nothing
    /// leaks either way.
    ///
    /// # Errors
    ///
    /// [`Rejected::Full`] when full without a queue, [`Rejected::QueueFull`] when the queue
    /// holds its maximum, [`Rejected::Timeout`] after the maximum wait.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub fn acquire(&self) -> Acquire {
        Acquire {
            shared: Arc::clone(&self.shared),
            state: AcquireState::Start,
        }
    }

    /// Changes the limit at run time. Shrinking lets the calls inside finish (new ones are
    /// admitted once `in_flight` is below the new limit); growing lets queued calls in at
    /// once. A call admitted concurrently with a shrink may count against the old limit.
    pub fn set_max_concurrent(&self, max: u32) {
        let old = self.shared.hot.max.load(Ordering::Relaxed);
        self.shared.set_max(max);
        #[cfg(feature = "tracing")]
        if old != max {
            tracing::info!(
                target: "sinew_bulkhead",
                old,
                new = max,
                in_flight = self.in_flight(),
                "bulkhead limit changed"
            );
        }
        #[cfg(not(feature = "tracing"))]
        let _ = old;
    }

    /// The current limit.
    pub fn max_concurrent(&self) -> u32 {
        self.shared.hot.max.load(Ordering::Relaxed)
    }

    /// Permits alive now (may exceed the limit for a while after a shrink).
    pub fn in_flight(&self) -> u32 {
        self.shared.in_flight()
    }

    /// Calls waiting in the queue now.
    pub fn waiting(&self) -> u32 {
        self.shared
            .waiting
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The maximum number of queued calls (0: no queue).
    pub fn max_waiting(&self) -> u32 {
        self.shared.max_waiting
    }

    /// The longest a call waits in the queue (`None`: until a slot frees).
    pub fn max_wait(&self) -> Option<Duration> {
        self.shared.max_wait
    }

    /// Counters since the bulkhead was built, and the current gauges.
    pub fn metrics(&self) -> BulkheadMetrics {
        let c = &self.shared.counters;
        BulkheadMetrics {
            admitted: self.shared.admitted(),
            rejected: c.rejected.get(),
            waited: c.waited.get(),
            timed_out: c.timed_out.get(),
            in_flight: self.in_flight(),
            waiting: self.waiting(),
            max_concurrent: self.max_concurrent(),
        }
    }

    /// Whether `self` and `other` are clones of one bulkhead.
    pub fn same_as(&self, other: &Bulkhead) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl fmt::Debug for Bulkhead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bulkhead")
            .field("max_concurrent", &self.max_concurrent())
            .field("in_flight", &self.in_flight())
            .field("max_waiting", &self.shared.max_waiting)
            .field("waiting", &self.waiting())
            .field("max_wait", &self.shared.max_wait)
            .finish()
    }
}

/// Builds a [`Bulkhead`]; from [`Bulkhead::builder`].
///
/// With the `serde` feature it is also the bulkhead's configuration file form: a map of
/// `max_concurrent`, `max_waiting` and `max_wait` (seconds), each optional, checked by
/// [`build`](BulkheadBuilder::build).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct BulkheadBuilder {
    max_concurrent: u32,
    max_waiting: u32,
    #[cfg_attr(
        feature = "serde",
        serde(
            with = "sinew_clock::serde_secs::option",
            skip_serializing_if = "Option::is_none"
        )
    )]
    max_wait: Option<Duration>,
}

impl BulkheadBuilder {
    /// The most calls inside at once (required, at least 1).
    pub fn max_concurrent(mut self, max_concurrent: u32) -> Self {
        self.max_concurrent = max_concurrent;
        self
    }

    /// A FIFO wait queue of at most `max_waiting` calls, for
    /// [`acquire`](Bulkhead::acquire) (feature `tokio`). 0 (the default): no queue.
    pub fn queue(mut self, max_waiting: u32) -> Self {
        self.max_waiting = max_waiting;
        self
    }

    /// The longest a call waits in the queue before [`Rejected::Timeout`] (default: no
    /// limit). Only meaningful with a [`queue`](BulkheadBuilder::queue).
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = Some(max_wait);
        self
    }

    /// The bulkhead.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MaxConcurrent`] if `max_concurrent` is unset or 0,
    /// [`ConfigError::MaxWait`] if `max_wait` is zero or above 100 years.
    pub fn build(self) -> Result<Bulkhead, ConfigError> {
        if self.max_concurrent == 0 {
            return Err(ConfigError::MaxConcurrent(self.max_concurrent));
        }
        if let Some(d) = self.max_wait
            && (d.is_zero() || d > MAX_WAIT_LIMIT)
        {
            return Err(ConfigError::MaxWait(d));
        }
        Ok(Bulkhead::from_parts(
            self.max_concurrent,
            self.max_waiting,
            self.max_wait,
        ))
    }
}

/// A slot in a [`Bulkhead`], borrowing it; dropping the permit frees the slot (to the first
/// waiter, if any). `Send` and `Sync`.
#[must_use = "the slot is freed as soon as the permit is dropped"]
pub struct Permit<'a> {
    shared: &'a Shared,
}

impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        self.shared.release();
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

/// A slot in a [`Bulkhead`] that owns a handle to it (`'static`, `Send`, `Sync`): move it into
/// a spawned task. Dropping it frees the slot.
#[must_use = "the slot is freed as soon as the permit is dropped"]
pub struct OwnedPermit {
    shared: Arc<Shared>,
}

impl OwnedPermit {
    /// The bulkhead this permit belongs to.
    pub fn bulkhead(&self) -> Bulkhead {
        Bulkhead {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for OwnedPermit {
    #[inline]
    fn drop(&mut self) {
        self.shared.release();
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit").finish_non_exhaustive()
    }
}

/// A snapshot of a bulkhead's counters and gauges, from [`Bulkhead::metrics`].
///
/// Read one field after another, not at one instant: under concurrent calls the fields may
/// disagree by the calls in between. Counters are exact and wrap at 2^64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BulkheadMetrics {
    /// Calls admitted (at once or after waiting).
    pub admitted: u64,
    /// Calls turned away, for any reason ([`Rejected::Full`], [`Rejected::QueueFull`],
    /// [`Rejected::Timeout`]).
    pub rejected: u64,
    /// Calls that joined the wait queue (admitted later, timed out, or cancelled).
    pub waited: u64,
    /// Calls that waited the maximum wait and were turned away (also counted in `rejected`).
    pub timed_out: u64,
    /// Permits alive.
    pub in_flight: u32,
    /// Calls in the queue.
    pub waiting: u32,
    /// The limit.
    pub max_concurrent: u32,
}

#[cfg(feature = "tokio")]
pub use queue::Acquire;
#[cfg(feature = "tokio")]
use queue::AcquireState;

/// loom models of the permit counter and the queue's hand-off. Run with:
/// `RUSTFLAGS="--cfg sinew_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p sinew-bulkhead --lib`
#[cfg(all(test, sinew_loom))]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly
mod loom_models {
    use loom::thread;

    use super::queue::Enqueued;
    use super::*;

    fn queued(max: u32) -> Bulkhead {
        Bulkhead::builder()
            .max_concurrent(max)
            .queue(4)
            .build()
            .unwrap()
    }

    /// The state a quiet bulkhead must be back in: nothing in flight, no one queued, the
    /// waiters flag down, and every slot free.
    fn assert_quiet(b: &Bulkhead, max: u32) {
        assert_eq!(b.in_flight(), 0);
        assert_eq!(b.waiting(), 0);
        assert_eq!(b.shared.hot.word.load(Ordering::SeqCst) & WAITERS, 0);
        let all: Vec<_> = (0..max).map(|_| b.try_acquire().unwrap()).collect();
        assert!(b.try_acquire().is_err());
        drop(all);
    }

    fn owned(b: &Bulkhead) -> OwnedPermit {
        OwnedPermit {
            shared: Arc::clone(&b.shared),
        }
    }

    /// Three threads race for two slots: never more than two permits alive, and every slot
    /// comes back.
    #[test]
    fn permit_counter_never_exceeds_max() {
        loom::model(|| {
            let b = Bulkhead::new(2);
            let threads: Vec<_> = (0..3)
                .map(|_| {
                    let b = b.clone();
                    thread::spawn(move || {
                        if let Ok(p) = b.try_acquire() {
                            assert!(b.in_flight() <= 2);
                            drop(p);
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            assert_quiet(&b, 2);
        });
    }

    /// A shrink racing admissions: after it, nothing new is admitted above the new limit.
    #[test]
    fn shrink_races_admission() {
        loom::model(|| {
            let b = Bulkhead::new(2);
            let b2 = b.clone();
            let t = thread::spawn(move || {
                b2.try_acquire().is_ok_and(|p| {
                    drop(p);
                    true
                })
            });
            b.set_max_concurrent(1);
            let mine = b.try_acquire();
            if mine.is_ok() {
                // The other thread's permit may count against the old limit, never ours.
                assert!(b.in_flight() <= 2);
            }
            drop(mine);
            t.join().unwrap();
            assert_quiet(&b, 1);
        });
    }

    /// A release racing a call joining the queue: the call is either admitted (it saw the
    /// freed slot) or queued and then granted (the release saw it). A lost wake-up would leave
    /// it queued with a free slot.
    #[test]
    fn release_races_enqueue() {
        loom::model(|| {
            let b = queued(1);
            let held = b.try_acquire_owned().unwrap();
            let t = thread::spawn(move || drop(held));
            let got = b.shared.enqueue().unwrap();
            t.join().unwrap();
            match got {
                Enqueued::Admitted => b.shared.release(),
                Enqueued::Waiting(node) => {
                    assert!(
                        node.is_granted(),
                        "a queued call was left behind a free slot"
                    );
                    drop(owned(&b));
                }
            }
            assert_quiet(&b, 1);
        });
    }

    /// A waiter cancelled while the slot is being handed to it: the slot goes to it (and it
    /// passes it on) or stays free; it never leaks, and never goes to two holders.
    #[test]
    fn cancel_races_hand_off() {
        loom::model(|| {
            let b = queued(1);
            let held = b.try_acquire_owned().unwrap();
            let Ok(Enqueued::Waiting(node)) = b.shared.enqueue() else {
                panic!("the slot is held, so the call queues");
            };
            let releaser = thread::spawn(move || drop(held));
            let b2 = b.clone();
            let barger = thread::spawn(move || {
                if let Ok(p) = b2.try_acquire() {
                    assert_eq!(b2.in_flight(), 1);
                    drop(p);
                }
            });
            if b.shared.withdraw(&node) {
                b.shared.release();
            }
            releaser.join().unwrap();
            barger.join().unwrap();
            assert_quiet(&b, 1);
        });
    }

    /// Two waiters; the first is cancelled while the slot is released: the second ends up
    /// with the slot, whichever came first.
    #[test]
    fn slot_passes_to_the_next_waiter() {
        loom::model(|| {
            let b = queued(1);
            let held = b.try_acquire_owned().unwrap();
            let (Ok(Enqueued::Waiting(first)), Ok(Enqueued::Waiting(second))) =
                (b.shared.enqueue(), b.shared.enqueue())
            else {
                panic!("the slot is held, so both calls queue");
            };
            let releaser = thread::spawn(move || drop(held));
            if b.shared.withdraw(&first) {
                b.shared.release();
            }
            releaser.join().unwrap();
            assert!(second.is_granted());
            assert_eq!(b.in_flight(), 1);
            drop(owned(&b));
            assert_quiet(&b, 1);
        });
    }

    /// Growing the limit while a holder releases: both waiters get in, at most two inside.
    #[test]
    fn growth_races_release() {
        loom::model(|| {
            let b = queued(1);
            let held = b.try_acquire_owned().unwrap();
            let (Ok(Enqueued::Waiting(w1)), Ok(Enqueued::Waiting(w2))) =
                (b.shared.enqueue(), b.shared.enqueue())
            else {
                panic!("the slot is held, so both calls queue");
            };
            let releaser = thread::spawn(move || drop(held));
            b.set_max_concurrent(2);
            releaser.join().unwrap();
            assert!(w1.is_granted() && w2.is_granted());
            assert_eq!(b.in_flight(), 2);
            drop((owned(&b), owned(&b)));
            assert_quiet(&b, 2);
        });
    }
}
