//! [`LocalGenerator`]: one thread's handle on a shared [`Generator`].

use std::ops::Deref;

use crate::{Clock, ConfigError, Generator, Id, IdBatch, NextIdError};

/// Hands out one thread's IDs from small batches reserved on a shared [`Generator`], so most
/// IDs cost a clock read and an increment, with no atomic read-modify-write.
///
/// [`Generator::next_id`] claims every ID with a compare-exchange on one shared cache line:
/// about 8 ns uncontended on a typical x86 server, and far more when several threads hammer one
/// generator, as the line moves between cores on every ID. A `LocalGenerator` claims
/// [`batch_size`](Self::batch_size) IDs of the current tick at once with
/// [`Generator::next_batch`] and then hands them out one by one, checking the clock on every
/// call: once the clock has moved past the batch's tick, the rest of the batch is dropped and a
/// new one reserved, so **no ID carries a timestamp older than the clock's tick**.
///
/// Take one handle per thread (or per task) with [`Generator::local`] (borrowing) or
/// [`LocalGenerator::new`] with an `Arc<Generator>` (owning, to move into a spawned thread).
///
/// # Guarantees and trade-offs
///
/// - **Unique**: every ID comes from a batch the shared generator reserved, so handles, the
///   generator itself and its other users never collide.
/// - **Increasing per handle**: each ID is greater than every earlier one from the same handle.
///   IDs from *different* handles interleave within a tick (handle A may hand out an ID lower
///   than one handle B handed out a moment before), as with any per-thread scheme; across ticks
///   they are ordered.
/// - **Gaps**: IDs left in a batch when its tick ends, or when the handle is dropped, are never
///   issued. A tick of the layout holds [`Layout::max_sequence`](crate::Layout::max_sequence)
///   `+ 1` IDs; with `t` threads each wasting up to `batch_size - 1` per tick, keep
///   `t × batch_size` well below that (the default batch is at most 1/16 of a tick).
/// - **Errors** are the shared generator's ([`Generator::next_id`]); under
///   [`Exhaustion::Error`](crate::Exhaustion::Error), a handle that cannot reserve a whole batch
///   falls back to a single ID, so it fails only when the generator would.
/// - [`Generator::last_id`] counts reserved IDs as issued, so a high-water mark persisted from it
///   stays safe for [`resume_after`](crate::GeneratorBuilder::resume_after).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::thread;
/// use sinew_snowflake::{Generator, Layout, LocalGenerator};
///
/// let shared = Arc::new(Generator::new(Layout::TWITTER, 1)?);
/// let workers: Vec<_> = (0..2)
///     .map(|_| {
///         let mut ids = LocalGenerator::new(Arc::clone(&shared));
///         thread::spawn(move || (0..1000).map(|_| ids.next_id()).collect::<Result<Vec<_>, _>>())
///     })
///     .collect();
/// let mut all = Vec::new();
/// for worker in workers {
///     let ids = worker.join().map_err(|_| "worker panicked")??;
///     assert!(ids.windows(2).all(|w| w[0] < w[1])); // increasing per handle
///     all.extend(ids);
/// }
/// all.sort();
/// all.dedup();
/// assert_eq!(all.len(), 2000); // unique across handles
///
/// // Borrowing form, for one thread:
/// let mut local = shared.local();
/// assert!(local.next_id()? < local.next_id()?);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct LocalGenerator<G> {
    shared: G,
    batch: IdBatch,
    /// The clock reading (ns since the Unix epoch) at which the batch's tick ends; the batch is
    /// used only while the clock reads earlier.
    tick_ends_at: u64,
    batch_size: u64,
}

/// The largest default batch.
const MAX_DEFAULT_BATCH: u64 = 64;

impl<C: Clock, G: Deref<Target = Generator<C>>> LocalGenerator<G> {
    /// A handle on `shared` with the default batch size: 64 IDs, or 1/16 of a tick's IDs if
    /// that is fewer (at least 1). Nothing is reserved until the first ID.
    pub fn new(shared: G) -> Self {
        let per_tick = shared.layout().max_sequence() + 1;
        let batch_size = (per_tick / 16).clamp(1, MAX_DEFAULT_BATCH);
        Self::unchecked(shared, batch_size)
    }

    /// A handle on `shared` reserving `batch_size` IDs at a time.
    ///
    /// # Errors
    ///
    /// [`ConfigError::BatchSize`] if `batch_size` is zero or more than one tick holds.
    pub fn with_batch_size(shared: G, batch_size: u64) -> Result<Self, ConfigError> {
        let per_tick = shared.layout().max_sequence() + 1;
        if batch_size == 0 || batch_size > per_tick {
            return Err(ConfigError::BatchSize {
                requested: batch_size,
                max: per_tick,
            });
        }
        Ok(Self::unchecked(shared, batch_size))
    }

    fn unchecked(shared: G, batch_size: u64) -> Self {
        LocalGenerator {
            shared,
            batch: IdBatch::empty(),
            tick_ends_at: 0,
            batch_size,
        }
    }

    /// The next ID: from the current batch while the clock is still in its tick, else from a
    /// newly reserved batch.
    ///
    /// # Errors
    ///
    /// As [`Generator::next_id`], when a new batch must be reserved. An error claims nothing.
    #[inline]
    pub fn next_id(&mut self) -> Result<Id, NextIdError> {
        if self.shared.clock().now_nanos() < self.tick_ends_at
            && let Some(id) = self.batch.next()
        {
            return Ok(id);
        }
        self.refill()
    }

    /// How many IDs the handle reserves at a time.
    pub fn batch_size(&self) -> u64 {
        self.batch_size
    }

    /// The shared generator.
    pub fn shared(&self) -> &Generator<C> {
        &self.shared
    }

    #[cold]
    fn refill(&mut self) -> Result<Id, NextIdError> {
        let (batch, tick) = match self.shared.reserve_batch(self.batch_size) {
            // Too few IDs left in this tick for a batch, and the policy forbids waiting: take
            // what a plain `next_id` would.
            Err(NextIdError::SequenceExhausted) if self.batch_size > 1 => {
                self.shared.reserve_batch(1)
            }
            other => other,
        }?;
        let layout = self.shared.layout();
        self.tick_ends_at = tick
            .saturating_add(1)
            .saturating_mul(layout.tick_nanos())
            .saturating_add(layout.epoch_nanos());
        self.batch = batch;
        // A reserved batch holds at least one ID; the error only keeps this path panic-free.
        self.batch.next().ok_or(NextIdError::SequenceExhausted)
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{Exhaustion, Layout, ManualClock};

    #[allow(clippy::unwrap_used)] // test setup
    fn manual() -> (ManualClock, Generator<ManualClock>) {
        let clock = ManualClock::new(Duration::from_secs(1_700_000_000));
        let generator = Generator::with_clock(Layout::TWITTER, 3, clock.clone()).unwrap();
        (clock, generator)
    }

    #[test]
    fn interleaves_with_the_shared_generator_without_duplicates() {
        let (clock, shared) = manual();
        let mut a = shared.local();
        let mut b = LocalGenerator::with_batch_size(&shared, 5).unwrap();
        let mut all = Vec::new();
        let (mut last_a, mut last_b) = (None, None);
        for round in 0..3000 {
            let x = a.next_id().unwrap();
            let y = b.next_id().unwrap();
            assert!(
                Some(x) > last_a && Some(y) > last_b,
                "per-handle order broke"
            );
            (last_a, last_b) = (Some(x), Some(y));
            all.extend([x, y, shared.next_id().unwrap()]);
            if round % 700 == 0 {
                clock.advance(Duration::from_millis(1));
            }
        }
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn never_hands_out_a_stale_timestamp() {
        let (clock, shared) = manual();
        let mut local = shared.local();
        let first = local.next_id().unwrap();
        clock.advance(Duration::from_millis(1));
        let second = local.next_id().unwrap();
        let layout = Layout::TWITTER;
        assert_eq!(
            layout.decode(second.get()).unix_millis(),
            layout.decode(first.get()).unix_millis() + 1,
            "the rest of the first batch must be dropped once its tick ends"
        );
        // Within a tick, IDs come from the batch: consecutive sequence numbers.
        let third = local.next_id().unwrap();
        assert_eq!(layout.decode(third.get()).sequence(), 1);
    }

    #[test]
    fn falls_back_to_single_ids_when_a_batch_no_longer_fits() {
        let clock = ManualClock::new(Duration::from_secs(1_700_000_000));
        let shared = Generator::builder(Layout::TWITTER, 3)
            .clock(clock)
            .exhaustion(Exhaustion::Error)
            .build()
            .unwrap();
        // Leave 10 IDs in the tick.
        for _ in 0..4086 {
            shared.next_id().unwrap();
        }
        let mut local = LocalGenerator::with_batch_size(&shared, 64).unwrap();
        for _ in 0..10 {
            local.next_id().unwrap();
        }
        assert_eq!(local.next_id(), Err(NextIdError::SequenceExhausted));
    }

    #[test]
    fn system_clock_handle_uses_its_batches() {
        let shared = Generator::new(Layout::TWITTER, 3).unwrap();
        let mut local = shared.local();
        let ids: Vec<u64> = (0..1000).map(|_| local.next_id().unwrap().get()).collect();
        // 1000 IDs take well under a millisecond, so at most a few tick changes drop a batch;
        // every other step is to the next sequence number of the same batch.
        let step = 1 << Layout::TWITTER.sequence_shift();
        let next_in_batch = ids.windows(2).filter(|w| w[1] - w[0] == step).count();
        assert!(
            next_in_batch >= 900,
            "only {next_in_batch} of 999 steps stayed in a batch"
        );
    }

    #[test]
    fn batch_size_is_checked() {
        let (_, shared) = manual();
        assert_eq!(shared.local().batch_size(), 64);
        assert!(matches!(
            LocalGenerator::with_batch_size(&shared, 0),
            Err(ConfigError::BatchSize { .. })
        ));
        assert!(matches!(
            LocalGenerator::with_batch_size(&shared, 4097),
            Err(ConfigError::BatchSize { max: 4096, .. })
        ));
        let sony = Generator::new(Layout::SONYFLAKE, 1).unwrap();
        assert_eq!(sony.local().batch_size(), 16);
    }
}
