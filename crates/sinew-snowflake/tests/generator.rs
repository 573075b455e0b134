//! Generator behaviour with a hand-driven clock: exhaustion, rollback, restart, batches.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly

use std::time::{Duration, SystemTime};

use sinew_snowflake::{
    ConfigError, Exhaustion, Generator, Id, Layout, ManualClock, NextBatchError, NextIdError,
};

/// 2024-01-01T00:00:00Z, a time well inside every preset's range.
const START: Duration = Duration::from_secs(1_704_067_200);

/// A tiny layout (4 IDs per 1 ms tick) so exhaustion is easy to reach.
fn tiny() -> Layout {
    Layout::builder()
        .timestamp_bits(41)
        .worker_bits(4)
        .sequence_bits(2)
        .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .build()
        .unwrap()
}

fn generator(policy: Exhaustion) -> (Generator<ManualClock>, ManualClock) {
    let clock = ManualClock::new(START);
    let ids = Generator::builder(tiny(), 3)
        .clock(clock.clone())
        .exhaustion(policy)
        .build()
        .unwrap();
    (ids, clock)
}

fn tick_of(id: Id) -> u64 {
    tiny().decode(id.get()).timestamp()
}

fn now_tick(clock: &ManualClock) -> u64 {
    use sinew_snowflake::Clock;
    u64::try_from((clock.now() - Duration::from_secs(1_700_000_000)).as_millis()).unwrap()
}

#[test]
fn fields_are_what_the_clock_and_worker_say() {
    let (ids, clock) = generator(Exhaustion::Wait);
    let id = ids.next_id().unwrap();
    let parts = tiny().decode(id.get());
    assert_eq!(parts.timestamp(), now_tick(&clock));
    assert_eq!(parts.worker(), 3);
    assert_eq!(parts.sequence(), 0);
    assert_eq!(u128::from(parts.unix_millis()), START.as_millis());
    assert_eq!(ids.last_id(), Some(id));
    // The sequence restarts at 0 on each new tick.
    ids.next_id().unwrap();
    clock.advance(Duration::from_millis(1));
    assert_eq!(tiny().decode(ids.next_id().unwrap().get()).sequence(), 0);
}

#[test]
fn exhaustion_error_policy() {
    let (ids, clock) = generator(Exhaustion::Error);
    let first: Vec<Id> = (0..4).map(|_| ids.next_id().unwrap()).collect();
    assert!(first.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(ids.next_id(), Err(NextIdError::SequenceExhausted));
    assert_eq!(
        ids.next_id(),
        Err(NextIdError::SequenceExhausted),
        "errors claim nothing"
    );
    assert_eq!(ids.last_id(), Some(first[3]));
    clock.advance(Duration::from_millis(1));
    let next = ids.next_id().unwrap();
    assert!(next > first[3]);
    assert_eq!(tick_of(next), tick_of(first[3]) + 1);
}

#[test]
fn exhaustion_borrow_policy_runs_ahead_up_to_the_bound() {
    let (ids, clock) = generator(Exhaustion::Borrow {
        up_to: Duration::from_millis(2),
    });
    let now = now_tick(&clock);
    // 4 IDs in the current tick, then 4 in each of the 2 borrowed ticks.
    let mut last = Id::new(0);
    for i in 0..12 {
        let id = ids.next_id().unwrap();
        assert!(id > last);
        assert_eq!(tick_of(id), now + i / 4);
        last = id;
    }
    // Borrowing is used up: with the clock stopped, a 13th ID would wait; let another thread
    // advance the clock and check the waiting call completes with a later tick.
    std::thread::scope(|s| {
        let waiter = s.spawn(|| ids.next_id().unwrap());
        clock.advance(Duration::from_millis(1));
        let id = waiter.join().unwrap();
        assert!(id > last);
        assert_eq!(tick_of(id), now + 3);
    });
}

#[test]
fn exhaustion_wait_policy_waits_for_the_next_tick() {
    let (ids, clock) = generator(Exhaustion::Wait);
    let last = (0..4).map(|_| ids.next_id().unwrap()).last().unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| ids.next_id().unwrap());
        clock.advance(Duration::from_millis(5));
        let id = waiter.join().unwrap();
        assert!(id > last);
        assert_eq!(tick_of(id), now_tick(&clock));
    });
}

#[test]
fn rollback_within_tolerance_keeps_issuing_from_the_last_tick() {
    let clock = ManualClock::new(START);
    let ids = Generator::builder(tiny(), 3)
        .clock(clock.clone())
        .exhaustion(Exhaustion::Error)
        .rollback_tolerance(Duration::from_millis(10))
        .build()
        .unwrap();
    let before = ids.next_id().unwrap();
    clock.set(START - Duration::from_millis(10));
    let mut last = before;
    for _ in 0..3 {
        let id = ids.next_id().unwrap();
        assert!(id > last, "never lower than an ID already issued");
        assert_eq!(tick_of(id), tick_of(before));
        last = id;
    }
    // The last tick's sequence is used up and the clock is behind it: no ID to give.
    assert_eq!(ids.next_id(), Err(NextIdError::SequenceExhausted));
    clock.set(START + Duration::from_millis(1));
    assert!(ids.next_id().unwrap() > last);
}

#[test]
fn rollback_beyond_tolerance_is_an_error_naming_the_step() {
    let clock = ManualClock::new(START);
    let ids = Generator::builder(tiny(), 3)
        .clock(clock.clone())
        .rollback_tolerance(Duration::from_millis(10))
        .build()
        .unwrap();
    let before = ids.next_id().unwrap();
    clock.set(START - Duration::from_millis(11));
    assert_eq!(
        ids.next_id(),
        Err(NextIdError::ClockMovedBackwards {
            by: Duration::from_millis(11),
            tolerance: Duration::from_millis(10),
        })
    );
    // Even a clock set before the layout's epoch is only an error, never a panic.
    clock.set(Duration::ZERO);
    assert!(matches!(
        ids.next_id(),
        Err(NextIdError::ClockMovedBackwards { .. })
    ));
    clock.set(START);
    assert!(
        ids.next_id().unwrap() > before,
        "recovers once the clock catches up"
    );
}

#[test]
fn restart_after_high_water_mark() {
    let clock = ManualClock::new(START);
    let first_run = Generator::with_clock(tiny(), 3, clock.clone()).unwrap();
    let mut last = Id::new(0);
    for _ in 0..3 {
        last = first_run.next_id().unwrap();
    }
    let mark = first_run.last_id().unwrap();
    assert_eq!(mark, last);
    drop(first_run);

    // The machine restarts with its clock 5 ms behind (within the default 1 s tolerance).
    clock.set(START - Duration::from_millis(5));
    let second_run = Generator::builder(tiny(), 3)
        .clock(clock.clone())
        .resume_after(mark)
        .build()
        .unwrap();
    let next = second_run.next_id().unwrap();
    assert!(next > mark);

    // Resuming with a mark far in the clock's future is refused until the clock catches up.
    let future_mark = tiny().compose(now_tick(&clock) + 5_000, 3, 0).unwrap();
    let third_run = Generator::builder(tiny(), 3)
        .clock(clock.clone())
        .resume_after(future_mark)
        .build()
        .unwrap();
    assert!(matches!(
        third_run.next_id(),
        Err(NextIdError::ClockMovedBackwards { .. })
    ));
    clock.advance(Duration::from_secs(5));
    assert!(third_run.next_id().unwrap() > future_mark);
}

#[test]
fn resume_after_a_sequence_that_ended_its_tick() {
    let clock = ManualClock::new(START);
    let mark = tiny().compose(now_tick(&clock), 3, 3).unwrap(); // last sequence of the tick
    let ids = Generator::builder(tiny(), 3)
        .clock(clock.clone())
        .exhaustion(Exhaustion::Error)
        .resume_after(mark)
        .build()
        .unwrap();
    assert_eq!(ids.next_id(), Err(NextIdError::SequenceExhausted));
    clock.advance(Duration::from_millis(1));
    assert!(ids.next_id().unwrap() > mark);
}

#[test]
fn construction_errors() {
    let clock = ManualClock::new(START);
    assert_eq!(
        Generator::with_clock(tiny(), 16, clock.clone()).err(),
        Some(ConfigError::WorkerOutOfRange {
            worker: 16,
            max: 15
        })
    );
    let late_epoch = Layout::TWITTER
        .to_builder()
        .epoch(SystemTime::UNIX_EPOCH + START + Duration::from_secs(1))
        .build()
        .unwrap();
    assert!(matches!(
        Generator::with_clock(late_epoch, 0, clock.clone()),
        Err(ConfigError::EpochInFuture { .. })
    ));
    assert_eq!(
        Generator::builder(Layout::TWITTER, 0)
            .clock(clock)
            .resume_after(Id::new(u64::MAX))
            .build()
            .err(),
        Some(ConfigError::ResumeAfterForeignId { id: u64::MAX })
    );
}

#[test]
fn expired_layout_is_an_error() {
    let layout = Layout::builder()
        .timestamp_bits(4) // 16 ms of life
        .worker_bits(0)
        .sequence_bits(4)
        .epoch(SystemTime::UNIX_EPOCH + START)
        .build()
        .unwrap();
    let clock = ManualClock::new(START);
    let ids = Generator::with_clock(layout, 0, clock.clone()).unwrap();
    assert!(ids.next_id().is_ok());
    clock.advance(Duration::from_millis(16));
    assert_eq!(
        ids.next_id(),
        Err(NextIdError::Expired {
            at: layout.expires_at()
        })
    );
    // The last tick's last ID can still be issued, and nothing after it.
    clock.set(START + Duration::from_millis(15));
    let ids = Generator::builder(layout, 0)
        .clock(clock)
        .exhaustion(Exhaustion::Borrow {
            up_to: Duration::from_secs(1),
        })
        .build()
        .unwrap();
    for _ in 0..16 {
        ids.next_id().unwrap();
    }
    assert!(matches!(ids.next_id(), Err(NextIdError::Expired { .. })));
}

#[test]
fn batches_are_consecutive_and_never_overlap() {
    let (ids, clock) = generator(Exhaustion::Error);
    let single = ids.next_id().unwrap();
    // 3 IDs left in this tick: a batch of 3 fits, a batch of 4 would not.
    let batch: Vec<Id> = ids.next_batch(3).unwrap().collect();
    assert_eq!(batch.len(), 3);
    assert!(batch[0] > single);
    assert!(batch.windows(2).all(|w| w[1].get() == w[0].get() + 1));
    assert_eq!(
        ids.next_batch(1).err(),
        Some(NextBatchError::NextId(NextIdError::SequenceExhausted))
    );
    clock.advance(Duration::from_millis(1));
    let next = ids.next_batch(4).unwrap();
    assert_eq!(next.len(), 4);
    let next: Vec<Id> = next.collect();
    assert!(next[0] > batch[2]);
    assert_eq!(ids.last_id(), Some(next[3]));
    assert_eq!(
        ids.next_batch(5).err(),
        Some(NextBatchError::BatchSize {
            requested: 5,
            max: 4
        })
    );
    assert_eq!(
        ids.next_batch(0).err(),
        Some(NextBatchError::BatchSize {
            requested: 0,
            max: 4
        })
    );
}

#[test]
fn a_batch_that_does_not_fit_moves_to_the_next_tick() {
    let (ids, clock) = generator(Exhaustion::Borrow {
        up_to: Duration::from_millis(1),
    });
    let first = ids.next_id().unwrap();
    let batch: Vec<Id> = ids.next_batch(4).unwrap().collect();
    assert_eq!(tick_of(batch[0]), tick_of(first) + 1);
    assert_eq!(tiny().decode(batch[0].get()).sequence(), 0);
    // The skipped sequence numbers of the first tick are not handed out later.
    clock.advance(Duration::from_millis(1));
    assert!(ids.next_id().unwrap() > batch[3]);
}

#[test]
fn sonyflake_order_batches_step_by_the_worker_field() {
    let clock = ManualClock::new(START);
    let ids = Generator::with_clock(Layout::SONYFLAKE, 0xABCD, clock).unwrap();
    let batch: Vec<Id> = ids.next_batch(3).unwrap().collect();
    for pair in batch.windows(2) {
        assert_eq!(pair[1].get() - pair[0].get(), 1 << 16);
    }
    for id in batch {
        assert_eq!(Layout::SONYFLAKE.decode(id.get()).worker(), 0xABCD);
    }
}

/// A full 64-bit layout with no worker bits: its very last position, `u64::MAX`, is the one
/// ID never issued (the generator's "next free" counter cannot go past it); everything up to
/// it is, and then the layout reports `Expired`, never a wrap-around.
#[test]
fn the_top_of_a_full_64_bit_layout() {
    let layout = Layout::builder()
        .timestamp_bits(48)
        .worker_bits(0)
        .sequence_bits(16)
        .tick(Duration::from_nanos(1))
        .epoch(SystemTime::UNIX_EPOCH + START)
        .use_sign_bit(true)
        .build()
        .unwrap();
    let clock = ManualClock::new(START + Duration::from_nanos(layout.max_timestamp()));
    let ids = Generator::with_clock(layout, 0, clock).unwrap();
    assert!(matches!(
        ids.next_batch(1 << 16),
        Err(NextBatchError::NextId(NextIdError::Expired { .. }))
    ));
    let batch: Vec<Id> = ids.next_batch((1 << 16) - 1).unwrap().collect();
    assert_eq!(batch[0].get(), u64::MAX - 0xFFFF);
    assert_eq!(batch.last(), Some(&Id::new(u64::MAX - 1)));
    assert!(matches!(ids.next_id(), Err(NextIdError::Expired { .. })));
    assert_eq!(ids.last_id(), Some(Id::new(u64::MAX - 1)));
}
