//! Tower middleware (feature `tower`).
//!
//! As every sinew tower layer does, clones of a layer and every service it makes share one
//! state, so the limit holds across all handles to a downstream. Response futures are
//! hand-written, not boxed.

mod bulkhead;
pub use bulkhead::*;
