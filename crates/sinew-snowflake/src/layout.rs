//! [`Layout`]: how an ID's 64 bits split into timestamp, worker and sequence.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::{ComposeError, ConfigError, Id, TryDecodeError};

/// The order of the fields below the timestamp, which is always the top field (that is what
/// makes IDs sort by time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum FieldOrder {
    /// `timestamp | worker | sequence`, as Twitter, Discord and Instagram do.
    #[default]
    TimeWorkerSequence,
    /// `timestamp | sequence | worker`, as Sonyflake does.
    TimeSequenceWorker,
}

/// Which field of a layout a value belongs to, in errors ([`ComposeError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The timestamp, in ticks since the layout's epoch.
    Timestamp,
    /// The worker (machine, shard, node) field.
    Worker,
    /// The per-tick sequence counter.
    Sequence,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Timestamp => "timestamp",
            Field::Worker => "worker",
            Field::Sequence => "sequence",
        })
    }
}

/// How a 64-bit ID splits into fields, the length of a tick, and the epoch ticks count from.
///
/// A `Layout` is always valid: the presets are, and [`Layout::builder`] checks every other.
/// The timestamp is always the top field, so IDs sort by creation time (to the tick).
///
/// | preset | epoch | timestamp | worker | sequence | order | capacity per worker | runs out |
/// |---|---|---|---|---|---|---|---|
/// | [`TWITTER`](Self::TWITTER) | 2010-11-04T01:42:54.657Z | 41 bits of 1 ms | 10 | 12 | time, worker, seq | 4 096 000/s | 2080 |
/// | [`DISCORD`](Self::DISCORD) | 2015-01-01T00:00:00Z | 42 bits of 1 ms | 10 (5 worker + 5 process) | 12 | time, worker, seq | 4 096 000/s | 2154 |
/// | [`SONYFLAKE`](Self::SONYFLAKE) | 2014-09-01T00:00:00Z | 39 bits of 10 ms | 16 (machine) | 8 | time, seq, machine | 25 600/s | 2188 |
/// | [`INSTAGRAM`](Self::INSTAGRAM) | 2011-08-24T21:07:01.721Z | 41 bits of 1 ms | 13 (shard) | 10 | time, shard, seq | 1 024 000/s | 2081 |
///
/// # Examples
///
/// Decoding Discord's documented example ID:
///
/// ```
/// use sinew_snowflake::Layout;
///
/// let parts = Layout::DISCORD.decode(175928847299117063);
/// assert_eq!(parts.unix_millis(), 1462015105796); // 2016-04-30T11:18:25.796Z
/// assert_eq!(parts.split_worker(5), (1, 0));     // worker 1, process 0
/// assert_eq!(parts.sequence(), 7);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A layout of your own:
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use sinew_snowflake::Layout;
///
/// let layout = Layout::builder()
///     .timestamp_bits(40)
///     .worker_bits(7)
///     .sequence_bits(16)
///     .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600)) // 2025-01-01
///     .build()?;
/// assert_eq!(layout.ids_per_second(), 65_536_000);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Layout {
    timestamp_bits: u8,
    worker_bits: u8,
    sequence_bits: u8,
    tick_nanos: u64,
    epoch_nanos: u64,
    order: FieldOrder,
}

const MILLI: u64 = 1_000_000;

impl Layout {
    /// Twitter's Snowflake: 41-bit millisecond timestamp from 2010-11-04T01:42:54.657Z
    /// (1288834974657 ms), 10-bit worker, 12-bit sequence.
    pub const TWITTER: Layout = Layout {
        timestamp_bits: 41,
        worker_bits: 10,
        sequence_bits: 12,
        tick_nanos: MILLI,
        epoch_nanos: 1_288_834_974_657 * MILLI,
        order: FieldOrder::TimeWorkerSequence,
    };

    /// Discord: 42-bit millisecond timestamp from 2015-01-01T00:00:00Z (1420070400000 ms),
    /// 10-bit worker field made of a 5-bit worker id then a 5-bit process id
    /// ([`Parts::split_worker(5)`](Parts::split_worker) separates them), 12-bit increment.
    ///
    /// Like Discord's own IDs it uses all 64 bits: from 2084 (2^41 ms after the epoch) its IDs
    /// no longer fit a signed 64-bit column.
    pub const DISCORD: Layout = Layout {
        timestamp_bits: 42,
        worker_bits: 10,
        sequence_bits: 12,
        tick_nanos: MILLI,
        epoch_nanos: 1_420_070_400_000 * MILLI,
        order: FieldOrder::TimeWorkerSequence,
    };

    /// Sonyflake: 39-bit timestamp in 10 ms ticks from 2014-09-01T00:00:00Z, then an 8-bit
    /// sequence, then a 16-bit machine id (time | sequence | machine).
    pub const SONYFLAKE: Layout = Layout {
        timestamp_bits: 39,
        worker_bits: 16,
        sequence_bits: 8,
        tick_nanos: 10 * MILLI,
        epoch_nanos: 1_409_529_600_000 * MILLI,
        order: FieldOrder::TimeSequenceWorker,
    };

    /// Instagram's sharded IDs: 41-bit millisecond timestamp from Instagram's epoch
    /// (1314220021721 ms), 13-bit logical shard id, 10-bit sequence.
    ///
    /// Like Instagram's own scheme it uses all 64 bits: from 2046 (2^40 ms after the epoch)
    /// its IDs no longer fit a signed 64-bit column.
    pub const INSTAGRAM: Layout = Layout {
        timestamp_bits: 41,
        worker_bits: 13,
        sequence_bits: 10,
        tick_nanos: MILLI,
        epoch_nanos: 1_314_220_021_721 * MILLI,
        order: FieldOrder::TimeWorkerSequence,
    };

    /// Starts a custom layout. Defaults: Twitter's widths (41/10/12), a 1 ms tick, the Unix
    /// epoch and [`FieldOrder::TimeWorkerSequence`]. Set an epoch near your launch date: 41 bits
    /// of milliseconds from 1970 run out in 2039.
    pub fn builder() -> LayoutBuilder {
        LayoutBuilder {
            timestamp_bits: 41,
            worker_bits: 10,
            sequence_bits: 12,
            tick: Duration::from_millis(1),
            epoch: SystemTime::UNIX_EPOCH,
            order: FieldOrder::TimeWorkerSequence,
            use_sign_bit: false,
        }
    }

    /// A builder that starts from this layout's settings.
    pub fn to_builder(&self) -> LayoutBuilder {
        LayoutBuilder {
            timestamp_bits: self.timestamp_bits(),
            worker_bits: self.worker_bits(),
            sequence_bits: self.sequence_bits(),
            tick: Duration::from_nanos(self.tick_nanos),
            epoch: self.epoch(),
            order: self.order,
            use_sign_bit: self.total_bits() == 64,
        }
    }

    /// Width of the timestamp field in bits.
    pub const fn timestamp_bits(&self) -> u32 {
        self.timestamp_bits as u32
    }

    /// Width of the worker field in bits.
    pub const fn worker_bits(&self) -> u32 {
        self.worker_bits as u32
    }

    /// Width of the sequence field in bits.
    pub const fn sequence_bits(&self) -> u32 {
        self.sequence_bits as u32
    }

    /// Total width of the ID in bits (at most 63, or 64 for layouts built with
    /// [`LayoutBuilder::use_sign_bit`]).
    pub const fn total_bits(&self) -> u32 {
        self.timestamp_bits() + self.worker_bits() + self.sequence_bits()
    }

    /// Length of one timestamp tick.
    pub const fn tick(&self) -> Duration {
        Duration::from_nanos(self.tick_nanos)
    }

    /// The instant that timestamp 0 stands for.
    pub fn epoch(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_nanos(self.epoch_nanos)
    }

    /// The order of the worker and sequence fields.
    pub const fn order(&self) -> FieldOrder {
        self.order
    }

    /// The largest worker id this layout holds.
    pub const fn max_worker(&self) -> u64 {
        mask(self.worker_bits())
    }

    /// The largest sequence number this layout holds (IDs per tick minus one).
    pub const fn max_sequence(&self) -> u64 {
        mask(self.sequence_bits())
    }

    /// The largest timestamp (in ticks since the epoch) this layout holds.
    pub const fn max_timestamp(&self) -> u64 {
        mask(self.timestamp_bits())
    }

    /// When the timestamp field overflows: after this instant the layout cannot make IDs.
    pub fn expires_at(&self) -> SystemTime {
        // Validation guarantees this fits in u64 nanoseconds.
        let end = u64::try_from(self.end_nanos_u128()).unwrap_or(u64::MAX);
        SystemTime::UNIX_EPOCH + Duration::from_nanos(end)
    }

    /// How many IDs one worker can make per second (rounded down): the sequence capacity
    /// divided by the tick. Faster than this, a generator waits (or borrows from the future).
    pub fn ids_per_second(&self) -> u64 {
        let per_tick = u128::from(self.max_sequence()) + 1;
        let ids = per_tick * 1_000_000_000 / u128::from(self.tick_nanos);
        u64::try_from(ids).unwrap_or(u64::MAX)
    }

    /// Splits an ID into its fields. Bits above the layout's width are ignored; use
    /// [`try_decode`](Self::try_decode) to reject them.
    pub fn decode(&self, id: u64) -> Parts {
        let timestamp = (id >> self.timestamp_shift()) & self.max_timestamp();
        Parts {
            timestamp,
            worker: (id >> self.worker_shift()) & self.max_worker(),
            sequence: (id >> self.sequence_shift()) & self.max_sequence(),
            // Validation guarantees epoch + max_timestamp * tick fits in u64.
            unix_nanos: self.epoch_nanos + timestamp * self.tick_nanos,
        }
    }

    /// Splits an ID into its fields, or says it has bits set above the layout's width (so this
    /// layout did not make it).
    ///
    /// # Errors
    ///
    /// [`TryDecodeError::IdOutOfRange`] if `id` has bits above
    /// [`total_bits`](Self::total_bits).
    pub fn try_decode(&self, id: u64) -> Result<Parts, TryDecodeError> {
        if id & !mask(self.total_bits()) != 0 {
            return Err(TryDecodeError::IdOutOfRange {
                id,
                bits: self.total_bits(),
            });
        }
        Ok(self.decode(id))
    }

    /// Builds an ID from its fields: `timestamp` in ticks since the epoch.
    ///
    /// # Errors
    ///
    /// [`ComposeError::FieldOutOfRange`] if a value does not fit its field.
    pub fn compose(&self, timestamp: u64, worker: u64, sequence: u64) -> Result<Id, ComposeError> {
        check_field(Field::Timestamp, timestamp, self.max_timestamp())?;
        check_field(Field::Worker, worker, self.max_worker())?;
        check_field(Field::Sequence, sequence, self.max_sequence())?;
        Ok(Id::new(self.pack(timestamp, worker, sequence)))
    }

    /// The ID with these fields; the caller has checked that each fits.
    #[inline]
    pub(crate) const fn pack(&self, timestamp: u64, worker: u64, sequence: u64) -> u64 {
        (timestamp << self.timestamp_shift())
            | (worker << self.worker_shift())
            | (sequence << self.sequence_shift())
    }

    pub(crate) const fn timestamp_shift(&self) -> u32 {
        self.worker_bits() + self.sequence_bits()
    }

    pub(crate) const fn worker_shift(&self) -> u32 {
        match self.order {
            FieldOrder::TimeWorkerSequence => self.sequence_bits(),
            FieldOrder::TimeSequenceWorker => 0,
        }
    }

    pub(crate) const fn sequence_shift(&self) -> u32 {
        match self.order {
            FieldOrder::TimeWorkerSequence => 0,
            FieldOrder::TimeSequenceWorker => self.worker_bits(),
        }
    }

    pub(crate) const fn tick_nanos(&self) -> u64 {
        self.tick_nanos
    }

    pub(crate) const fn epoch_nanos(&self) -> u64 {
        self.epoch_nanos
    }

    /// Nanoseconds since 1970 at which the timestamp field overflows.
    const fn end_nanos_u128(&self) -> u128 {
        self.epoch_nanos as u128 + (self.max_timestamp() as u128 + 1) * self.tick_nanos as u128
    }
}

/// A run of `bits` one bits (`bits` in 0..=64).
pub(crate) const fn mask(bits: u32) -> u64 {
    if bits == 0 {
        0
    } else {
        u64::MAX >> (64 - bits)
    }
}

fn check_field(field: Field, value: u64, max: u64) -> Result<(), ComposeError> {
    if value > max {
        return Err(ComposeError::FieldOutOfRange { field, value, max });
    }
    Ok(())
}

/// Builds a custom [`Layout`]; see [`Layout::builder`] for the defaults.
#[derive(Debug, Clone)]
#[must_use]
pub struct LayoutBuilder {
    timestamp_bits: u32,
    worker_bits: u32,
    sequence_bits: u32,
    tick: Duration,
    epoch: SystemTime,
    order: FieldOrder,
    use_sign_bit: bool,
}

impl LayoutBuilder {
    /// Width of the timestamp field (at least 1).
    pub fn timestamp_bits(mut self, bits: u32) -> Self {
        self.timestamp_bits = bits;
        self
    }

    /// Width of the worker field (may be 0 for a single generator).
    pub fn worker_bits(mut self, bits: u32) -> Self {
        self.worker_bits = bits;
        self
    }

    /// Width of the sequence field (may be 0: one ID per tick).
    pub fn sequence_bits(mut self, bits: u32) -> Self {
        self.sequence_bits = bits;
        self
    }

    /// Length of one timestamp tick (at least 1 ns), such as 1 ms or 10 ms.
    pub fn tick(mut self, tick: Duration) -> Self {
        self.tick = tick;
        self
    }

    /// The instant that timestamp 0 stands for. It must not be after the generator's clock
    /// reads now; [`Generator`](crate::Generator) checks that when it starts.
    pub fn epoch(mut self, epoch: SystemTime) -> Self {
        self.epoch = epoch;
        self
    }

    /// The order of the worker and sequence fields.
    pub fn order(mut self, order: FieldOrder) -> Self {
        self.order = order;
        self
    }

    /// Allows the fields to total 64 bits instead of 63. IDs then stop fitting a signed 64-bit
    /// integer (Java's `long`, SQL's `BIGINT`) once the top bit is set; only for formats that
    /// already do this, such as [`Layout::DISCORD`] and [`Layout::INSTAGRAM`]. (One corner: a
    /// 64-bit layout with no worker bits never issues its very last ID, `u64::MAX`.)
    pub fn use_sign_bit(mut self, yes: bool) -> Self {
        self.use_sign_bit = yes;
        self
    }

    /// Checks the settings and returns the layout.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] saying which rule the settings break: fields wider than 63 bits (64
    /// with `use_sign_bit`, [`ConfigError::FieldsTooWide`]), a zero-width timestamp
    /// ([`ConfigError::ZeroTimestampBits`]), a zero tick ([`ConfigError::ZeroTick`]), an epoch
    /// before 1970 ([`ConfigError::EpochBeforeUnixEpoch`]), or a timestamp field that outlasts
    /// the year 2554 ([`ConfigError::ExpiresTooLate`]).
    pub fn build(self) -> Result<Layout, ConfigError> {
        let max = if self.use_sign_bit { 64 } else { 63 };
        let bits = self
            .timestamp_bits
            .saturating_add(self.worker_bits)
            .saturating_add(self.sequence_bits);
        if bits > max {
            return Err(ConfigError::FieldsTooWide { bits, max });
        }
        if self.timestamp_bits == 0 {
            return Err(ConfigError::ZeroTimestampBits);
        }
        let tick_nanos = u64::try_from(self.tick.as_nanos()).unwrap_or(u64::MAX);
        if tick_nanos == 0 {
            return Err(ConfigError::ZeroTick);
        }
        let epoch = self
            .epoch
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|_| ConfigError::EpochBeforeUnixEpoch)?;
        let epoch_nanos =
            u64::try_from(epoch.as_nanos()).map_err(|_| ConfigError::ExpiresTooLate)?;
        // All widths are at most 64 here, so the casts cannot truncate.
        let narrow = |b: u32| u8::try_from(b).unwrap_or(u8::MAX);
        let layout = Layout {
            timestamp_bits: narrow(self.timestamp_bits),
            worker_bits: narrow(self.worker_bits),
            sequence_bits: narrow(self.sequence_bits),
            tick_nanos,
            epoch_nanos,
            order: self.order,
        };
        if layout.end_nanos_u128() > u128::from(u64::MAX) {
            return Err(ConfigError::ExpiresTooLate);
        }
        Ok(layout)
    }
}

/// The fields of a decoded ID; see [`Layout::decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Parts {
    timestamp: u64,
    worker: u64,
    sequence: u64,
    unix_nanos: u64,
}

impl Parts {
    /// The timestamp field: ticks since the layout's epoch.
    pub const fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// When the ID was made, in milliseconds since the Unix epoch (rounded down to the tick).
    pub const fn unix_millis(&self) -> u64 {
        self.unix_nanos / MILLI
    }

    /// When the ID was made, to the tick.
    pub fn time(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_nanos(self.unix_nanos)
    }

    /// The worker field.
    pub const fn worker(&self) -> u64 {
        self.worker
    }

    /// The worker field split into its high part and its low `low_bits` bits, for layouts
    /// whose worker field holds two ids: `Layout::DISCORD` has a 5-bit worker id then a 5-bit
    /// process id, so `split_worker(5)` returns `(worker_id, process_id)`.
    pub const fn split_worker(&self, low_bits: u32) -> (u64, u64) {
        let low_bits = if low_bits > 63 { 63 } else { low_bits };
        (self.worker >> low_bits, self.worker & mask(low_bits))
    }

    /// The sequence field: the ID's position within its tick.
    pub const fn sequence(&self) -> u64 {
        self.sequence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_round_trip_through_the_builder() {
        for layout in [
            Layout::TWITTER,
            Layout::DISCORD,
            Layout::SONYFLAKE,
            Layout::INSTAGRAM,
        ] {
            assert_eq!(layout.to_builder().build(), Ok(layout));
        }
    }

    /// Discord's documented example: 175928847299117063 is 2016-04-30T11:18:25.796Z, worker 1,
    /// process 0, increment 7.
    #[test]
    fn decodes_discords_documented_example() {
        let parts = Layout::DISCORD.decode(175_928_847_299_117_063);
        assert_eq!(parts.unix_millis(), 1_462_015_105_796);
        assert_eq!(
            parts.time(),
            SystemTime::UNIX_EPOCH + Duration::from_millis(1_462_015_105_796)
        );
        assert_eq!(parts.split_worker(5), (1, 0));
        assert_eq!(parts.worker(), 1 << 5);
        assert_eq!(parts.sequence(), 7);
        assert_eq!(
            Layout::DISCORD.compose(parts.timestamp(), parts.worker(), parts.sequence()),
            Ok(crate::Id::new(175_928_847_299_117_063))
        );
    }

    #[test]
    fn preset_widths_and_capacity() {
        assert_eq!(Layout::TWITTER.total_bits(), 63);
        assert_eq!(Layout::DISCORD.total_bits(), 64);
        assert_eq!(Layout::SONYFLAKE.total_bits(), 63);
        assert_eq!(Layout::INSTAGRAM.total_bits(), 64);
        assert_eq!(Layout::TWITTER.ids_per_second(), 4_096_000);
        assert_eq!(Layout::SONYFLAKE.ids_per_second(), 25_600);
        assert_eq!(Layout::INSTAGRAM.ids_per_second(), 1_024_000);
    }

    #[test]
    fn validation_errors() {
        let b = Layout::builder;
        assert_eq!(
            b().timestamp_bits(42).build(),
            Err(ConfigError::FieldsTooWide { bits: 64, max: 63 })
        );
        assert_eq!(
            b().timestamp_bits(43).use_sign_bit(true).build(),
            Err(ConfigError::FieldsTooWide { bits: 65, max: 64 })
        );
        assert_eq!(
            b().timestamp_bits(u32::MAX).build(),
            Err(ConfigError::FieldsTooWide {
                bits: u32::MAX,
                max: 63
            })
        );
        assert_eq!(
            b().timestamp_bits(0).build(),
            Err(ConfigError::ZeroTimestampBits)
        );
        assert_eq!(b().tick(Duration::ZERO).build(), Err(ConfigError::ZeroTick));
        let before_1970 = SystemTime::UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(
            b().epoch(before_1970).build(),
            Err(ConfigError::EpochBeforeUnixEpoch)
        );
        // 2^41 seconds is far past 2554.
        assert_eq!(
            b().tick(Duration::from_secs(1)).build(),
            Err(ConfigError::ExpiresTooLate)
        );
    }

    #[test]
    fn expiry_dates() {
        let year = |t: SystemTime| {
            let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
            1970 + secs / 31_556_952 // mean Gregorian year
        };
        assert_eq!(year(Layout::TWITTER.expires_at()), 2080);
        assert_eq!(year(Layout::DISCORD.expires_at()), 2154);
        assert_eq!(year(Layout::SONYFLAKE.expires_at()), 2188);
        assert_eq!(year(Layout::INSTAGRAM.expires_at()), 2081);
        // The Unix-epoch default runs out in 2039, which is why the docs say to set an epoch.
        assert_eq!(year(Layout::builder().build().unwrap().expires_at()), 2039);
    }

    #[test]
    fn compose_rejects_values_that_do_not_fit() {
        let l = Layout::TWITTER;
        assert_eq!(
            l.compose(0, 1024, 0),
            Err(ComposeError::FieldOutOfRange {
                field: Field::Worker,
                value: 1024,
                max: 1023
            })
        );
        assert!(l.compose(1 << 41, 0, 0).is_err());
        assert!(l.compose(0, 0, 4096).is_err());
        assert_eq!(l.compose(1, 1, 1).unwrap().get(), (1 << 22) | (1 << 12) | 1);
    }

    #[test]
    fn sonyflake_order_puts_the_machine_lowest() {
        let id = Layout::SONYFLAKE.compose(3, 0xBEEF, 5).unwrap().get();
        assert_eq!(id, (3 << 24) | (5 << 16) | 0xBEEF);
        let parts = Layout::SONYFLAKE.decode(id);
        assert_eq!(
            (parts.timestamp(), parts.worker(), parts.sequence()),
            (3, 0xBEEF, 5)
        );
    }

    #[test]
    fn try_decode_rejects_foreign_high_bits() {
        assert!(Layout::TWITTER.try_decode(u64::MAX >> 1).is_ok());
        assert_eq!(
            Layout::TWITTER.try_decode(u64::MAX),
            Err(TryDecodeError::IdOutOfRange {
                id: u64::MAX,
                bits: 63
            })
        );
    }
}
