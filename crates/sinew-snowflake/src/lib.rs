//! Unique, time-ordered 64-bit IDs without coordination: Twitter's Snowflake and its relatives.
//!
//! A Snowflake ID packs three fields into 64 bits: the time it was made (in ticks since a
//! custom epoch), the worker that made it, and a sequence number within the tick. Each worker
//! (process, machine, shard) gets its own worker id once; after that every node makes IDs
//! alone, and the IDs are unique across the cluster and sort by creation time.
//!
//! ```text
//!  63        22 21     12 11        0     Layout::TWITTER
//! +------------+---------+-----------+
//! | timestamp  | worker  | sequence  |
//! |  41 bits   | 10 bits |  12 bits  |
//! +------------+---------+-----------+
//! ```
//!
//! - [`Layout`] says how the bits are split, the tick, and the epoch; presets for
//!   [Twitter](Layout::TWITTER), [Discord](Layout::DISCORD), [Sonyflake](Layout::SONYFLAKE)
//!   and [Instagram](Layout::INSTAGRAM), or build your own. [`Layout::decode`] takes any ID
//!   apart; [`Layout::expires_at`] and [`Layout::ids_per_second`] say how long and how fast.
//! - [`Generator`] makes IDs for one worker id: lock-free (one compare-exchange per ID),
//!   `Send + Sync`, safe against clock rollback and restarts, with a choice of what to do when
//!   a tick's sequence runs out ([`Exhaustion`]) and batches ([`Generator::next_batch`]).
//! - [`LocalGenerator`] is one thread's handle on a shared generator: it reserves a few IDs of
//!   the current tick at a time and hands them out with no atomic operation, for hot loops and
//!   for many threads on one worker id.
//! - [`Id`] is the ID: ordered, hashable, printable in decimal, fixed-width base62 and
//!   Crockford base32, and serde-friendly (a string, since JavaScript loses bits above 2^53).
//!
//! # Should I use this?
//!
//! Use Snowflake IDs when you want 64-bit keys (half a UUID, and a native database integer)
//! that sort by time, made without a round trip to anyone, and you can give each generator a
//! distinct worker id. If you cannot assign worker ids, use UUIDv7 or ULID (the `uuid` and
//! `ulid` crates): 128 random-tailed bits need no coordination at all.
//!
//! # Examples
//!
//! ```
//! use sinew_snowflake::{Generator, Layout};
//!
//! let ids = Generator::new(Layout::TWITTER, 42)?;
//! let id = ids.next_id()?;
//! let parts = Layout::TWITTER.decode(id.get());
//! assert_eq!(parts.worker(), 42);
//! println!("{id} was made at {} ms since 1970", parts.unix_millis());
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Tests drive time by hand:
//!
//! ```
//! use std::time::Duration;
//! use sinew_snowflake::{Exhaustion, Generator, Layout, ManualClock, NextIdError};
//!
//! let clock = ManualClock::new(Duration::from_secs(1_700_000_000));
//! let ids = Generator::builder(Layout::SONYFLAKE, 1)
//!     .clock(clock.clone())
//!     .exhaustion(Exhaustion::Error)
//!     .build()?;
//! for _ in 0..256 {
//!     ids.next_id()?; // a 10 ms Sonyflake tick holds 256 IDs
//! }
//! assert_eq!(ids.next_id(), Err(NextIdError::SequenceExhausted));
//! clock.advance(Duration::from_millis(10));
//! assert!(ids.next_id().is_ok());
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Performance
//!
//! Uncontended, an ID costs a clock read, a multiply (the tick's reciprocal, worked out once)
//! and a compare-exchange. The default [`SystemClock`] reads the CPU's time-stamp counter
//! where the kernel trusts it (about 10 ns); for the last nanoseconds use [`CachedClock`] (one
//! atomic load, refreshed every millisecond by a background thread). The compare-exchange on
//! one shared word is the floor of a shared generator (a few nanoseconds uncontended, far more
//! when threads contend for the line); a [`LocalGenerator`] per thread removes it. The
//! workspace README has criterion figures against rs-snowflake, snowflaked, snowflake_me,
//! sonyflake, uuid (v7) and ulid, each measured under its format's cap.
//!
//! # Errors
//!
//! Builders return [`ConfigError`], whose variants each name the setting at fault:
//! [`LayoutBuilder::build`], [`GeneratorBuilder::build`] (and [`Generator::new`],
//! [`Generator::with_clock`]) and [`LocalGenerator::with_batch_size`]. Each operation returns an
//! error holding only the variants it can produce:
//!
//! | operation | error |
//! |---|---|
//! | [`Generator::next_id`], [`LocalGenerator::next_id`] | [`NextIdError`]: clock moved backwards, sequence exhausted, layout expired |
//! | [`Generator::next_batch`] | [`NextBatchError`]: those, or a batch size a tick cannot hold |
//! | [`Layout::try_decode`] | [`TryDecodeError`] |
//! | [`Layout::compose`] | [`ComposeError`] |
//! | [`Id`]'s parsers (`FromStr`, [`Id::from_base62`], [`Id::from_crockford`]) | [`ParseIdError`] |
//!
//! # Crate features
//!
//! - `serde`: `Serialize`/`Deserialize` for [`Id`] (decimal string; [`serde_u64`] for numbers).
//!
//! # Guarantees
//!
//! - One generator never issues an ID twice, and each ID is greater than every earlier one from
//!   it, across threads (loom-checked) and within the rollback tolerance.
//! - No panics from any input: bad settings, bad text and hostile IDs are `Err`s.
//! - No locks and no allocation when making IDs; waiting (on exhaustion) holds nothing.
//! - Time comes from a [`Clock`]; `Clock`, [`SystemClock`], [`ManualClock`] and [`CachedClock`]
//!   are re-exported from `sinew-clock`.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod divide;
mod error;
mod generator;
mod id;
mod layout;
mod local;
mod sync;

// The README's code blocks, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

pub use error::{
    ComposeError, ConfigError, NextBatchError, NextIdError, ParseIdError, TryDecodeError,
};
pub use generator::{Exhaustion, Generator, GeneratorBuilder, IdBatch};
pub use id::Id;
#[cfg(feature = "serde")]
pub use id::serde_u64;
pub use layout::{Field, FieldOrder, Layout, LayoutBuilder, Parts};
pub use local::LocalGenerator;
pub use sinew_clock::{CachedClock, Clock, ManualClock, SystemClock};
