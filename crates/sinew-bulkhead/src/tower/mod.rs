//! Tower middleware (feature `tower`): [`BulkheadLayer`] caps calls in flight (shedding or
//! waiting), [`AdaptiveLimitLayer`] sheds load beyond an adaptive concurrency limit.
//!
//! As every sinew tower layer does, clones of a layer and every service it makes share one
//! state, so the limit holds across all handles to a downstream. Response futures are
//! hand-written, not boxed.

mod adaptive;
mod bulkhead;
pub use adaptive::*;
pub use bulkhead::*;
