//! Property tests: layouts round-trip their fields, text forms round-trip IDs, parsers never
//! panic, and a generator under random clock moves never repeats or goes backwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly

use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use sinew_snowflake::{
    Exhaustion, FieldOrder, Generator, Id, Layout, ManualClock, NextIdError, ParseIdError,
};

/// Any valid layout: widths that fit in 63 bits (64 with the sign bit), any tick from 1 ns to
/// 1 s, an epoch between 1970 and 2030; combinations that outlast 2554 are filtered out.
fn layouts() -> impl Strategy<Value = Layout> {
    (
        1u32..=64,
        0u32..=63,
        0u32..=63,
        1u64..=1_000_000_000,
        0u64..1_900_000_000,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_filter_map(
            "layout must be valid",
            |(t, w, s, tick, epoch, sign, order)| {
                Layout::builder()
                    .timestamp_bits(t)
                    .worker_bits(w)
                    .sequence_bits(s)
                    .tick(Duration::from_nanos(tick))
                    .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(epoch))
                    .order(if order {
                        FieldOrder::TimeSequenceWorker
                    } else {
                        FieldOrder::TimeWorkerSequence
                    })
                    .use_sign_bit(sign)
                    .build()
                    .ok()
            },
        )
}

fn presets() -> impl Strategy<Value = Layout> {
    prop_oneof![
        Just(Layout::TWITTER),
        Just(Layout::DISCORD),
        Just(Layout::SONYFLAKE),
        Just(Layout::INSTAGRAM),
    ]
}

/// Compose fields chosen within the layout's ranges, decode, and compare.
fn round_trip(layout: Layout, t: u64, w: u64, s: u64) -> Result<(), TestCaseError> {
    let (t, w, s) = (
        t & layout.max_timestamp(),
        w & layout.max_worker(),
        s & layout.max_sequence(),
    );
    let id = layout.compose(t, w, s).unwrap();
    let parts = layout.try_decode(id.get()).unwrap();
    prop_assert_eq!(
        (parts.timestamp(), parts.worker(), parts.sequence()),
        (t, w, s)
    );
    // Validation guarantees the epoch plus the whole timestamp range fits in u64 nanoseconds.
    let tick_nanos = u64::try_from(layout.tick().as_nanos()).unwrap();
    prop_assert_eq!(
        parts.time(),
        layout.epoch() + Duration::from_nanos(t * tick_nanos)
    );
    prop_assert!(parts.time() < layout.expires_at());
    Ok(())
}

proptest! {
    #[test]
    fn presets_round_trip(layout in presets(), t: u64, w: u64, s: u64) {
        round_trip(layout, t, w, s)?;
    }

    #[test]
    fn any_layout_round_trips(layout in layouts(), t: u64, w: u64, s: u64) {
        round_trip(layout, t, w, s)?;
    }

    #[test]
    fn ids_sort_by_timestamp_first(layout in layouts(), a: (u64, u64, u64), b: (u64, u64, u64)) {
        let id = |(t, w, s): (u64, u64, u64)| {
            layout.compose(t & layout.max_timestamp(), w & layout.max_worker(), s & layout.max_sequence()).unwrap()
        };
        let (x, y) = (id(a), id(b));
        let (tx, ty) = (layout.decode(x.get()).timestamp(), layout.decode(y.get()).timestamp());
        if tx < ty {
            prop_assert!(x < y);
        }
    }

    #[test]
    fn text_forms_round_trip(raw: u64) {
        let id = Id::new(raw);
        prop_assert_eq!(id.to_string().parse::<Id>(), Ok(id));
        prop_assert_eq!(Id::from_base62(&id.to_base62()), Ok(id));
        prop_assert_eq!(Id::from_crockford(&id.to_crockford()), Ok(id));
        prop_assert_eq!(Id::from_crockford(&id.to_crockford().to_lowercase()), Ok(id));
    }

    #[test]
    fn fixed_width_text_sorts_like_the_number(a: u64, b: u64) {
        let (x, y) = (Id::new(a), Id::new(b));
        prop_assert_eq!(x.cmp(&y), x.to_base62().cmp(&y.to_base62()));
        prop_assert_eq!(x.cmp(&y), x.to_crockford().cmp(&y.to_crockford()));
    }

    #[test]
    fn parsers_never_panic_and_accept_only_canonical_widths(s in ".{0,24}") {
        for result in [s.parse::<Id>(), Id::from_base62(&s), Id::from_crockford(&s)] {
            match result {
                Ok(_) | Err(ParseIdError::Empty | ParseIdError::InvalidLength { .. }
                    | ParseIdError::InvalidCharacter { .. } | ParseIdError::Overflow) => {}
                Err(other) => prop_assert!(false, "unexpected error {other:?}"),
            }
        }
        if let Ok(id) = Id::from_base62(&s) {
            prop_assert_eq!(id.to_base62(), s);
        }
    }

    /// A generator driven through random clock steps (forwards, and backwards within and
    /// beyond the tolerance) only ever returns increasing IDs, and errors only as documented.
    #[test]
    fn random_clock_moves_never_repeat_an_id(steps in prop::collection::vec((-30i64..30, 1usize..10), 1..60)) {
        let start = Duration::from_secs(1_704_067_200);
        let clock = ManualClock::new(start);
        let layout = Layout::builder().sequence_bits(2).worker_bits(4).timestamp_bits(41)
            .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)).build().unwrap();
        let ids = Generator::builder(layout, 1).clock(clock.clone())
            .exhaustion(Exhaustion::Error)
            .rollback_tolerance(Duration::from_millis(10)).build().unwrap();
        let mut now = start;
        let mut last: Option<Id> = None;
        for (step_ms, calls) in steps {
            now = if step_ms < 0 {
                now.saturating_sub(Duration::from_millis(step_ms.unsigned_abs()))
            } else {
                now + Duration::from_millis(step_ms as u64)
            };
            clock.set(now);
            for _ in 0..calls {
                match ids.next_id() {
                    Ok(id) => {
                        prop_assert!(last.is_none_or(|l| id > l));
                        last = Some(id);
                    }
                    // Beyond the tolerance, or the tick's sequence used up: both documented,
                    // both claim nothing.
                    Err(NextIdError::ClockMovedBackwards { .. }
                        | NextIdError::SequenceExhausted) => {}
                    Err(e) => prop_assert!(false, "unexpected {e:?}"),
                }
            }
        }
        prop_assert_eq!(ids.last_id(), last);
    }
}
