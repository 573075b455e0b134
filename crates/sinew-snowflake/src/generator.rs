//! [`Generator`]: the lock-free ID generator.

use std::time::{Duration, SystemTime};

use crate::divide::Divisor;
use crate::sync::{AtomicU64, Ordering, yield_now};
use crate::{Clock, ConfigError, Id, Layout, NextBatchError, NextIdError, SystemClock};

/// What a generator does when a tick's sequence numbers are used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Exhaustion {
    /// Wait for the clock to reach the next tick, spinning with [`std::thread::yield_now`] and
    /// holding no lock (the default). With a clock that never advances, this waits forever.
    #[default]
    Wait,
    /// Issue IDs from the following ticks, up to `up_to` ahead of the clock, then wait. IDs
    /// stay unique and increasing; their timestamps run ahead of the clock by at most `up_to`.
    Borrow {
        /// How far ahead of the clock IDs may be stamped.
        up_to: Duration,
    },
    /// Return [`NextIdError::SequenceExhausted`] at once.
    Error,
}

/// Makes unique, time-ordered IDs for one worker id, lock-free.
///
/// All methods take `&self`; a `Generator` is `Send + Sync`, so share one per worker id (in an
/// `Arc` or a `static`) rather than making one per thread: two generators with the same worker
/// id make duplicates.
///
/// # How it works
///
/// The generator keeps one `AtomicU64`: the next free (tick, sequence) pair, packed as
/// `tick << sequence_bits | sequence`. [`next_id`](Self::next_id) reads the clock, computes the
/// pair to issue (the current tick's first sequence number if the clock has moved on, else the
/// next free one), and claims it with one compare-exchange. A thread that loses the race
/// retries with the value it lost to, so every pair is issued at most once, and each thread
/// sees the pairs it claims increase; while that value is still in the tick this call read,
/// the retry claims the next pair at once, without reading the clock again.
///
/// # Guarantees
///
/// - **Unique and increasing**: no ID is ever issued twice, and each ID is greater than every
///   ID this generator issued before it (checked by a loom model and multi-threaded tests).
/// - **Clock rollback**: if the clock reads earlier than the last tick issued by up to the
///   [rollback tolerance](GeneratorBuilder::rollback_tolerance) (default 1 s), the generator
///   keeps issuing from the last tick; further back, [`next_id`](Self::next_id) returns
///   [`NextIdError::ClockMovedBackwards`] naming the step, and succeeds again once the clock catches
///   up. With [`SystemClock`] this only happens across restarts, which
///   [`resume_after`](GeneratorBuilder::resume_after) covers.
/// - **Exhaustion**: when a tick's sequence numbers run out, the [`Exhaustion`] policy decides
///   (default: wait for the next tick, holding no lock).
/// - **Errors lose nothing**: a call that returns `Err` claimed nothing.
/// - **Cost**: one clock read, one multiply by the tick's precomputed reciprocal (no division)
///   and one compare-exchange per ID uncontended. With [`CachedClock`](crate::CachedClock) the
///   clock read is one atomic load.
///
/// # Examples
///
/// ```
/// use sinew_snowflake::{Generator, Layout};
///
/// let ids = Generator::new(Layout::TWITTER, 7)?;
/// let first = ids.next_id()?;
/// let second = ids.next_id()?;
/// assert!(second > first);
/// assert_eq!(Layout::TWITTER.decode(first.get()).worker(), 7);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Resuming after a restart, from a high-water mark the previous run persisted:
///
/// ```
/// use sinew_snowflake::{Generator, Id, Layout};
///
/// let persisted = Id::new(1_900_000_000_000_000_000); // from disk
/// let ids = Generator::builder(Layout::TWITTER, 7)
///     .resume_after(persisted)
///     .build()?;
/// assert!(ids.next_id()? > persisted);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Generator<C = SystemClock> {
    /// The next free position, `tick << sequence_bits | sequence`.
    next: AtomicU64,
    layout: Layout,
    worker: u64,
    clock: C,
    exhaustion: Exhaustion,
    /// Ticks that may be borrowed ahead of the clock (0 unless `Exhaustion::Borrow`).
    borrow_ticks: u64,
    tolerance: Duration,
    /// How far behind the last issued tick the clock may read: tolerance plus borrowing.
    max_lag_ticks: u64,
    /// The layout's numbers as the hot path uses them, worked out once.
    fast: Fast,
}

/// What [`Generator::reserve`] and [`Generator::id_at`] need from the layout and worker,
/// precomputed so a call does no division and re-derives no mask.
#[derive(Debug, Clone, Copy)]
struct Fast {
    epoch_nanos: u64,
    /// The tick's reciprocal: clock nanoseconds to ticks.
    tick: Divisor,
    max_timestamp: u64,
    sequence_bits: u32,
    /// `per tick - 1`.
    sequence_mask: u64,
    /// How far a position's tick moves up to make room for the worker field.
    worker_bits: u32,
    /// Where the sequence number sits in an ID.
    sequence_shift: u32,
    /// The worker id, in place.
    worker_field: u64,
}

impl Fast {
    fn new(layout: &Layout, worker: u64) -> Self {
        Fast {
            epoch_nanos: layout.epoch_nanos(),
            tick: Divisor::new(layout.tick_nanos()),
            max_timestamp: layout.max_timestamp(),
            sequence_bits: layout.sequence_bits(),
            sequence_mask: layout.max_sequence(),
            worker_bits: layout.worker_bits(),
            sequence_shift: layout.sequence_shift(),
            worker_field: worker << layout.worker_shift(),
        }
    }

    /// The ID at position `tick << sequence_bits | sequence`: the tick moves up past the
    /// worker field, the sequence moves to its place, the worker is or-ed in. The timestamp is
    /// the top field, so the tick lands where `Layout::pack` puts it.
    #[inline]
    fn id_at(&self, position: u64) -> u64 {
        ((position & !self.sequence_mask) << self.worker_bits)
            | ((position & self.sequence_mask) << self.sequence_shift)
            | self.worker_field
    }
}

impl Generator {
    /// A generator for `worker` on the system clock, with the default policies.
    ///
    /// # Errors
    ///
    /// [`ConfigError::WorkerOutOfRange`] if `worker` does not fit the layout, or
    /// [`ConfigError::EpochInFuture`] if the layout's epoch is after the current time.
    pub fn new(layout: Layout, worker: u64) -> Result<Self, ConfigError> {
        Self::builder(layout, worker).build()
    }

    /// Starts a generator with non-default settings: clock, [`Exhaustion`] policy, rollback
    /// tolerance, resume point.
    pub fn builder(layout: Layout, worker: u64) -> GeneratorBuilder<SystemClock> {
        GeneratorBuilder {
            layout,
            worker,
            clock: SystemClock,
            exhaustion: Exhaustion::Wait,
            tolerance: Duration::from_secs(1),
            resume_after: None,
        }
    }
}

impl<C: Clock> Generator<C> {
    /// A generator for `worker` on `clock`, with the default policies.
    ///
    /// # Errors
    ///
    /// As [`Generator::new`].
    pub fn with_clock(layout: Layout, worker: u64, clock: C) -> Result<Self, ConfigError> {
        Generator::builder(layout, worker).clock(clock).build()
    }

    /// The next ID.
    ///
    /// # Errors
    ///
    /// [`NextIdError::ClockMovedBackwards`] beyond the tolerance,
    /// [`NextIdError::SequenceExhausted`] under [`Exhaustion::Error`], [`NextIdError::Expired`]
    /// once the layout's timestamp field runs out. An error claims nothing.
    #[inline]
    pub fn next_id(&self) -> Result<Id, NextIdError> {
        let position = self.reserve(1)?;
        Ok(self.id_at(position))
    }

    /// Reserves `n` consecutive IDs of one tick with a single atomic operation, for callers
    /// that need many at once. The batch holds no reference to the generator.
    ///
    /// # Errors
    ///
    /// [`NextBatchError::BatchSize`] if `n` is zero or more than one tick holds
    /// ([`Layout::max_sequence`] + 1); otherwise as [`next_id`](Self::next_id).
    pub fn next_batch(&self, n: u64) -> Result<IdBatch, NextBatchError> {
        let per_tick = self.layout.max_sequence() + 1;
        if n == 0 || n > per_tick {
            return Err(NextBatchError::BatchSize {
                requested: n,
                max: per_tick,
            });
        }
        Ok(self.reserve_batch(n)?.0)
    }

    /// Reserves `n` IDs (`1 <= n <= per tick`) and returns them with their tick.
    #[inline]
    pub(crate) fn reserve_batch(&self, n: u64) -> Result<(IdBatch, u64), NextIdError> {
        let start = self.reserve(n)?;
        let batch = IdBatch {
            next: self.id_at(start).get(),
            // Consecutive sequence numbers differ by one step of the sequence field.
            step: 1 << self.layout.sequence_shift(),
            remaining: n,
        };
        Ok((batch, start >> self.layout.sequence_bits()))
    }

    /// A handle that hands out this generator's IDs to one thread from small reserved batches,
    /// with no atomic operation on most calls; see [`LocalGenerator`](crate::LocalGenerator).
    pub fn local(&self) -> crate::LocalGenerator<&Self> {
        crate::LocalGenerator::new(self)
    }

    /// The highest ID issued so far, if any: persist it (now and then, rounded up a little)
    /// and pass it to [`resume_after`](GeneratorBuilder::resume_after) after a restart.
    pub fn last_id(&self) -> Option<Id> {
        let next = self.next.load(Ordering::Relaxed);
        next.checked_sub(1).map(|last| self.id_at(last))
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The worker id.
    pub fn worker(&self) -> u64 {
        self.worker
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    #[inline]
    fn id_at(&self, position: u64) -> Id {
        Id::new(self.fast.id_at(position))
    }

    /// Claims `n` consecutive positions within one tick (`1 <= n <= per tick`), returning the
    /// first.
    #[inline]
    fn reserve(&self, n: u64) -> Result<u64, NextIdError> {
        let Fast {
            sequence_bits,
            sequence_mask,
            ..
        } = self.fast;
        'clock: loop {
            let now = self.now_tick()?;
            // Loaded after the clock read, so the window in which another thread can move it
            // before our compare-exchange is as short as it can be.
            let mut next = self.next.load(Ordering::Relaxed);
            // Whether `next` was loaded after `now` was read, rather than left by a lost
            // compare-exchange.
            let mut fresh = true;
            loop {
                let mut start = next.max(now << sequence_bits);
                // Fast path: the slot is in the clock's current tick, with room for `n`. Then
                // the clock is not behind the last ID and nothing is exhausted or expired.
                if start >> sequence_bits != now || (start & sequence_mask) + n > sequence_mask + 1
                {
                    if !fresh {
                        // Rollback, exhaustion and borrowing are decided on a fresh reading.
                        continue 'clock;
                    }
                    match self.off_the_fast_path(next, now, n)? {
                        Some(slot) => start = slot,
                        None => {
                            // Exhausted: wait for the clock to reach the next tick.
                            yield_now();
                            continue 'clock;
                        }
                    }
                }
                let end = start.checked_add(n).ok_or_else(|| self.expired())?;
                // Relaxed is enough: uniqueness and per-thread order come from the
                // read-modify-write on this one location; the ID is the whole message.
                match self.next.compare_exchange_weak(
                    next,
                    end,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Ok(start),
                    // Lost to another thread (or a spurious failure). If what it left is still
                    // in this call's clock tick with room, the fast path claims the next slot
                    // at once, while this core holds the line, without reading the clock
                    // again: the ID carries the tick read in this call, as every ID does.
                    Err(actual) => {
                        next = actual;
                        fresh = false;
                    }
                }
            }
        }
    }

    /// Where `n` IDs go when the next free slot is not in the clock's current tick (the clock
    /// is behind the last ID, or the tick is used up): the first slot to claim, `None` to wait
    /// for the clock, or the error to return.
    #[cold]
    fn off_the_fast_path(&self, next: u64, now: u64, n: u64) -> Result<Option<u64>, NextIdError> {
        let sequence_bits = self.layout.sequence_bits();
        let per_tick = self.layout.max_sequence() + 1;
        let last = next.saturating_sub(1) >> sequence_bits;
        let lag = last.saturating_sub(now);
        if lag > self.max_lag_ticks {
            return Err(NextIdError::ClockMovedBackwards {
                by: self.layout.tick().saturating_mul(saturate_u32(lag)),
                tolerance: self.tolerance,
            });
        }
        let mut start = next.max(now << sequence_bits);
        if (start & (per_tick - 1)) + n > per_tick {
            // Not enough left in this tick: start the next one.
            start = ((start >> sequence_bits) + 1) << sequence_bits;
        }
        let tick = start >> sequence_bits;
        if tick > self.layout.max_timestamp() {
            return Err(self.expired());
        }
        if tick > now && tick > last {
            // The clock has not reached this tick: the sequence ran out.
            return match self.exhaustion {
                Exhaustion::Error => Err(NextIdError::SequenceExhausted),
                Exhaustion::Borrow { .. } if tick - now <= self.borrow_ticks => Ok(Some(start)),
                _ => Ok(None),
            };
        }
        Ok(Some(start))
    }

    /// The clock's current tick.
    #[inline]
    fn now_tick(&self) -> Result<u64, NextIdError> {
        let since_epoch = self.clock.now_nanos().saturating_sub(self.fast.epoch_nanos);
        let tick = self.fast.tick.divide(since_epoch);
        if tick > self.fast.max_timestamp {
            return Err(self.expired());
        }
        Ok(tick)
    }

    fn expired(&self) -> NextIdError {
        NextIdError::Expired {
            at: self.layout.expires_at(),
        }
    }
}

fn saturate_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Configures a [`Generator`]; from [`Generator::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct GeneratorBuilder<C> {
    layout: Layout,
    worker: u64,
    clock: C,
    exhaustion: Exhaustion,
    tolerance: Duration,
    resume_after: Option<Id>,
}

impl<C: Clock> GeneratorBuilder<C> {
    /// The clock (default [`SystemClock`]).
    pub fn clock<D: Clock>(self, clock: D) -> GeneratorBuilder<D> {
        GeneratorBuilder {
            layout: self.layout,
            worker: self.worker,
            clock,
            exhaustion: self.exhaustion,
            tolerance: self.tolerance,
            resume_after: self.resume_after,
        }
    }

    /// What to do when a tick's sequence numbers run out (default [`Exhaustion::Wait`]).
    pub fn exhaustion(mut self, policy: Exhaustion) -> Self {
        self.exhaustion = policy;
        self
    }

    /// How far the clock may read behind the last tick issued before
    /// [`next_id`](Generator::next_id) returns [`NextIdError::ClockMovedBackwards`] (default
    /// 1 s).
    /// Within it, the generator keeps issuing from the last tick. With
    /// [`Exhaustion::Borrow`], the borrowing bound is added to it.
    pub fn rollback_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Continues after `last`, an ID a previous run of this worker issued (its
    /// [`last_id`](Generator::last_id), persisted): every ID from this generator will be
    /// greater. If the clock now reads behind `last` by more than the rollback tolerance,
    /// `next_id` returns [`NextIdError::ClockMovedBackwards`] until it catches up.
    /// [`build`](Self::build) checks the resume point.
    pub fn resume_after(mut self, last: Id) -> Self {
        self.resume_after = Some(last);
        self
    }

    /// Checks the settings and starts the generator.
    ///
    /// # Errors
    ///
    /// [`ConfigError::WorkerOutOfRange`], [`ConfigError::EpochInFuture`],
    /// [`ConfigError::ResumeAfterForeignId`] if the resume point has bits above the layout's
    /// width, or [`ConfigError::ResumeAfterExpired`] if it is the layout's last ID.
    pub fn build(self) -> Result<Generator<C>, ConfigError> {
        let layout = self.layout;
        if self.worker > layout.max_worker() {
            return Err(ConfigError::WorkerOutOfRange {
                worker: self.worker,
                max: layout.max_worker(),
            });
        }
        let now = self.clock.now_nanos();
        if now < layout.epoch_nanos() {
            return Err(ConfigError::EpochInFuture {
                epoch: layout.epoch(),
                now: SystemTime::UNIX_EPOCH + Duration::from_nanos(now),
            });
        }
        let next = match self.resume_after {
            None => 0,
            Some(last) => {
                let parts = layout
                    .try_decode(last.get())
                    .map_err(|_| ConfigError::ResumeAfterForeignId { id: last.get() })?;
                let position = (parts.timestamp() << layout.sequence_bits()) | parts.sequence();
                position
                    .checked_add(1)
                    .ok_or(ConfigError::ResumeAfterExpired {
                        at: layout.expires_at(),
                    })?
            }
        };
        let ticks = |d: Duration| {
            u64::try_from(d.as_nanos() / u128::from(layout.tick_nanos())).unwrap_or(u64::MAX)
        };
        let borrow_ticks = match self.exhaustion {
            Exhaustion::Borrow { up_to } => ticks(up_to),
            _ => 0,
        };
        Ok(Generator {
            next: AtomicU64::new(next),
            layout,
            worker: self.worker,
            clock: self.clock,
            exhaustion: self.exhaustion,
            borrow_ticks,
            tolerance: self.tolerance,
            max_lag_ticks: ticks(self.tolerance).saturating_add(borrow_ticks),
            fast: Fast::new(&layout, self.worker),
        })
    }
}

/// A run of IDs reserved by [`Generator::next_batch`], in increasing order.
#[derive(Debug, Clone)]
pub struct IdBatch {
    /// The next ID to yield.
    next: u64,
    /// The difference between consecutive IDs: one step of the sequence field (all the IDs
    /// share one tick and one worker).
    step: u64,
    remaining: u64,
}

impl IdBatch {
    /// A batch with nothing in it.
    pub(crate) const fn empty() -> Self {
        IdBatch {
            next: 0,
            step: 0,
            remaining: 0,
        }
    }
}

impl Iterator for IdBatch {
    type Item = Id;

    #[inline]
    fn next(&mut self) -> Option<Id> {
        if self.remaining == 0 {
            return None;
        }
        let id = Id::new(self.next);
        self.remaining -= 1;
        // The last ID's successor may not exist (top of the ID space), so never compute it.
        if self.remaining > 0 {
            self.next += self.step;
        }
        Some(id)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.remaining).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

impl ExactSizeIterator for IdBatch {}
impl std::iter::FusedIterator for IdBatch {}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    use super::Fast;
    use crate::{FieldOrder, Layout};
    use proptest::prelude::*;

    fn layouts() -> Vec<Layout> {
        let mut layouts = vec![
            Layout::TWITTER,
            Layout::DISCORD,
            Layout::SONYFLAKE,
            Layout::INSTAGRAM,
        ];
        for (t, w, s) in [
            (63, 0, 0),
            (1, 0, 62),
            (1, 62, 0),
            (40, 3, 20),
            (20, 20, 23),
        ] {
            for order in [
                FieldOrder::TimeWorkerSequence,
                FieldOrder::TimeSequenceWorker,
            ] {
                let layout = Layout::builder()
                    .timestamp_bits(t)
                    .worker_bits(w)
                    .sequence_bits(s)
                    .order(order)
                    .build();
                layouts.extend(layout);
            }
        }
        layouts
    }

    proptest! {
        /// The precomputed packing puts every field where the layout's own `pack` does.
        #[test]
        fn id_at_packs_like_the_layout(
            index in 0usize..100,
            timestamp in any::<u64>(),
            worker in any::<u64>(),
            sequence in any::<u64>(),
        ) {
            let layouts = layouts();
            let layout = layouts[index % layouts.len()];
            let (timestamp, worker, sequence) = (
                timestamp & layout.max_timestamp(),
                worker & layout.max_worker(),
                sequence & layout.max_sequence(),
            );
            let position = (timestamp << layout.sequence_bits()) | sequence;
            prop_assert_eq!(
                Fast::new(&layout, worker).id_at(position),
                layout.pack(timestamp, worker, sequence)
            );
        }
    }
}
