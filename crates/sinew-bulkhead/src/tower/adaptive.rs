//! [`AdaptiveLimitLayer`]: wraps a service in an [`AdaptiveLimit`], shedding the calls beyond
//! the limit and feeding it each call's RTT and outcome.
//!
//! Clones of the layer, and every service it makes, share one limit. Each call takes a permit
//! when the service is *called* (not in `poll_ready`, so a service polled ready but never
//! called holds nothing); over the limit, the call resolves at once to
//! [`CallError::Rejected`] without reaching the inner service (load shedding). When the
//! response future completes, the classifier turns the result into an [`Outcome`]: by default
//! every `Err` is a drop (a timeout, an overload error) and every `Ok` a success; an
//! HTTP-style classifier can call 503s drops and 4xx ignored. A response future dropped before
//! it completes records nothing (the permit is released as `ignore`).
//!
//! ```
//! use sinew_bulkhead::{AdaptiveLimit, CallError, limit::{Aimd, Outcome}, tower::AdaptiveLimitLayer};
//! use tower::{Layer, Service, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let limit = AdaptiveLimit::new(Aimd::new());
//! let layer = AdaptiveLimitLayer::new(limit.clone()).classify(|res: &Result<u16, std::io::Error>| match res {
//!     Ok(503) | Err(_) => Outcome::Dropped,
//!     Ok(s) if (400..500).contains(s) => Outcome::Ignored,
//!     Ok(_) => Outcome::Success,
//! });
//! let mut svc = layer.layer(service_fn(|_req: ()| async { Ok::<u16, std::io::Error>(200) }));
//! assert_eq!(svc.ready().await?.call(()).await?, 200);
//! assert_eq!(limit.metrics().admitted, 1);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use sinew_clock::{Clock, SystemClock};
use tower_layer::Layer;
use tower_service::Service;

use crate::error::{CallError, Rejected};
use crate::limit::{AdaptiveLimit, Outcome, OwnedAdaptivePermit};

/// Decides how a service's result counts for the limit.
///
/// Implemented by closures `Fn(&Result<Response, Error>) -> Outcome` and by
/// [`ErrorsAreDrops`], the default.
pub trait Classify<R, E> {
    /// The outcome `result` stands for.
    fn classify(&self, result: &Result<R, E>) -> Outcome;
}

impl<R, E, F: Fn(&Result<R, E>) -> Outcome> Classify<R, E> for F {
    fn classify(&self, result: &Result<R, E>) -> Outcome {
        self(result)
    }
}

/// The default classifier: every `Err` is a drop, every `Ok` a success.
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorsAreDrops;

impl<R, E> Classify<R, E> for ErrorsAreDrops {
    fn classify(&self, result: &Result<R, E>) -> Outcome {
        if result.is_ok() {
            Outcome::Success
        } else {
            Outcome::Dropped
        }
    }
}

/// A [`Layer`] that guards services with one shared [`AdaptiveLimit`].
pub struct AdaptiveLimitLayer<K = ErrorsAreDrops, C = SystemClock> {
    limit: AdaptiveLimit<C>,
    classify: K,
}

impl<C> AdaptiveLimitLayer<ErrorsAreDrops, C> {
    /// A layer sharing `limit` (a clone shares the same state), counting every `Err` as a drop.
    pub fn new(limit: AdaptiveLimit<C>) -> Self {
        AdaptiveLimitLayer {
            limit,
            classify: ErrorsAreDrops,
        }
    }
}

impl<K, C> AdaptiveLimitLayer<K, C> {
    /// Replaces the classifier: `classify(&result)` returns the call's [`Outcome`].
    pub fn classify<K2>(self, classify: K2) -> AdaptiveLimitLayer<K2, C> {
        AdaptiveLimitLayer {
            limit: self.limit,
            classify,
        }
    }

    /// The shared limit (its limit, in-flight count and metrics).
    pub fn limit(&self) -> &AdaptiveLimit<C> {
        &self.limit
    }
}

impl<K: Clone, C> Clone for AdaptiveLimitLayer<K, C> {
    fn clone(&self) -> Self {
        AdaptiveLimitLayer {
            limit: self.limit.clone(),
            classify: self.classify.clone(),
        }
    }
}

impl<K, C> fmt::Debug for AdaptiveLimitLayer<K, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdaptiveLimitLayer")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl<S, K: Clone, C> Layer<S> for AdaptiveLimitLayer<K, C> {
    type Service = AdaptiveLimitService<S, K, C>;

    fn layer(&self, inner: S) -> Self::Service {
        AdaptiveLimitService {
            inner,
            limit: self.limit.clone(),
            classify: self.classify.clone(),
        }
    }
}

/// A service guarded by a shared [`AdaptiveLimit`]; made by [`AdaptiveLimitLayer`].
pub struct AdaptiveLimitService<S, K = ErrorsAreDrops, C = SystemClock> {
    inner: S,
    limit: AdaptiveLimit<C>,
    classify: K,
}

impl<S: Clone, K: Clone, C> Clone for AdaptiveLimitService<S, K, C> {
    fn clone(&self) -> Self {
        AdaptiveLimitService {
            inner: self.inner.clone(),
            limit: self.limit.clone(),
            classify: self.classify.clone(),
        }
    }
}

impl<S: fmt::Debug, K, C> fmt::Debug for AdaptiveLimitService<S, K, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdaptiveLimitService")
            .field("inner", &self.inner)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl<S, K, C> AdaptiveLimitService<S, K, C> {
    /// The shared limit.
    pub fn limit(&self) -> &AdaptiveLimit<C> {
        &self.limit
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, Req, K, C> Service<Req> for AdaptiveLimitService<S, K, C>
where
    S: Service<Req>,
    C: Clock + 'static,
    K: Classify<S::Response, S::Error> + Clone,
{
    type Response = S::Response;
    type Error = CallError<S::Error>;
    type Future = AdaptiveLimitFuture<S::Future, K, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(CallError::Inner)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        match self.limit.try_acquire_owned() {
            Ok(permit) => AdaptiveLimitFuture {
                inner: Inner::Running {
                    fut: self.inner.call(req),
                    permit: Some(permit),
                    classify: self.classify.clone(),
                },
            },
            Err(rejected) => AdaptiveLimitFuture {
                inner: Inner::Rejected { rejected },
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`AdaptiveLimitService`].
    pub struct AdaptiveLimitFuture<Fut, K, C: 'static> {
        #[pin]
        inner: Inner<Fut, K, C>,
    }
}

pin_project_lite::pin_project! {
    #[project = Proj]
    enum Inner<Fut, K, C: 'static> {
        Running {
            #[pin]
            fut: Fut,
            permit: Option<OwnedAdaptivePermit<C>>,
            classify: K,
        },
        Rejected {
            rejected: Rejected,
        },
    }
}

impl<Fut, K, C: 'static> fmt::Debug for AdaptiveLimitFuture<Fut, K, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Running { permit, .. } => f
                .debug_struct("AdaptiveLimitFuture")
                .field("permit", permit)
                .finish_non_exhaustive(),
            Inner::Rejected { rejected } => f
                .debug_struct("AdaptiveLimitFuture")
                .field("rejected", rejected)
                .finish(),
        }
    }
}

impl<Fut, R, E, K, C> Future for AdaptiveLimitFuture<Fut, K, C>
where
    Fut: Future<Output = Result<R, E>>,
    K: Classify<R, E>,
    C: Clock + 'static,
{
    type Output = Result<R, CallError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.project() {
            Proj::Rejected { rejected } => Poll::Ready(Err(CallError::Rejected(*rejected))),
            Proj::Running {
                fut,
                permit,
                classify,
            } => {
                let result = ready!(fut.poll(cx));
                if let Some(permit) = permit.take() {
                    permit.record(classify.classify(&result));
                }
                Poll::Ready(result.map_err(CallError::Inner))
            }
        }
    }
}
