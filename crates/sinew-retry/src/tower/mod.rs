//! Tower middleware (feature `tower`): [`RetryLayer`] retries a service's errors under a
//! [`RetryPolicy`](crate::RetryPolicy), [`HedgeLayer`] hedges its slow requests.
//!
//! As every sinew tower layer does, clones of a layer and every service it makes share one
//! state (the policy's retry budget, the hedge's latency window and budget), so the limits
//! hold across all handles to a downstream. Response futures are hand-written, not boxed.

mod hedge;
mod retry;

pub use hedge::{HedgeLayer, HedgeService, ResponseFuture as HedgeFuture};
pub use retry::{ResponseFuture as RetryFuture, RetryLayer, RetryService};
