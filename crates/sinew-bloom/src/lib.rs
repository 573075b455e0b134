//! Bloom filters (docs to come)

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod atomic;
mod blocked;
mod classic;
mod counting;
mod error;
mod filter;
mod format;
mod hash;
mod scalable;
mod sizing;
mod split_block;
mod sync;

pub use atomic::AtomicBloomFilter;
pub use blocked::BlockedBloomFilter;
pub use classic::BloomFilter;
pub use counting::{COUNTER_MAX, CountingBloomFilter};
pub use error::{ConfigError, DecodeError, MergeError};
pub use filter::Filter;
pub use hash::{Xxh3Builder, Xxh3Hasher};
pub use scalable::{DEFAULT_GROWTH, DEFAULT_TIGHTENING_RATIO, MAX_STAGES, ScalableBloomFilter};
pub use sizing::MAX_BITS;
pub use split_block::SplitBlockBloomFilter;
