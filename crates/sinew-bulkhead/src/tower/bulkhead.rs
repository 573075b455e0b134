//! [`BulkheadLayer`]: at most `max_concurrent` requests inside a service, the rest waiting in
//! the bulkhead's queue or shed.
//!
//! A permit is taken in `poll_ready`, before the inner service's own readiness, and held by
//! the response future until it completes (or is dropped):
//!
//! - without a queue the bulkhead sheds load: when it is full, `poll_ready` still returns
//!   ready and the call resolves at once to [`CallError::Rejected`]`(`[`Rejected::Full`]`)`
//!   without touching the inner service;
//! - with a queue, `poll_ready` is pending while the request waits its turn (backpressure),
//!   and a full queue or the maximum wait resolves the call to the matching rejection.
//!
//! Rejections never come out of `poll_ready` as errors, so balancers and buffers that treat a
//! `poll_ready` error as a dead service keep the service. A service polled ready but never
//! called holds its permit until it is called or dropped, as `tower::limit::ConcurrencyLimit`
//! does. Clones of a service share the bulkhead but not a permit reserved by `poll_ready`.
//!
//! ```
//! use sinew_bulkhead::{Bulkhead, CallError, Rejected, tower::BulkheadLayer};
//! use tower::{Layer, Service, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let bulkhead = Bulkhead::new(1);
//! let layer = BulkheadLayer::new(bulkhead.clone());
//! let mut svc = layer.layer(service_fn(|x: u32| async move { Ok::<u32, std::io::Error>(x * 2) }));
//!
//! assert_eq!(svc.ready().await?.call(21).await?, 42);
//!
//! let held = bulkhead.try_acquire()?; // someone else holds the only slot
//! let res = svc.ready().await?.call(1).await;
//! assert!(matches!(res, Err(CallError::Rejected(Rejected::Full))));
//! drop(held);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tower_layer::Layer;
use tower_service::Service;

use crate::bulkhead::{Acquire, Bulkhead, OwnedPermit};
use crate::error::{CallError, Rejected};

/// A [`Layer`] that guards services with one shared [`Bulkhead`].
#[derive(Debug, Clone)]
pub struct BulkheadLayer {
    bulkhead: Bulkhead,
}

impl BulkheadLayer {
    /// A layer sharing `bulkhead` (and its queue, if it has one) between every service it
    /// makes.
    pub fn new(bulkhead: Bulkhead) -> Self {
        BulkheadLayer { bulkhead }
    }

    /// The shared bulkhead (for its limit and metrics).
    pub fn bulkhead(&self) -> &Bulkhead {
        &self.bulkhead
    }
}

impl<S> Layer<S> for BulkheadLayer {
    type Service = BulkheadService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BulkheadService::new(inner, self.bulkhead.clone())
    }
}

/// What `poll_ready` has reserved for the next call.
enum Reserved {
    Nothing,
    Acquiring(Acquire),
    Permit(OwnedPermit),
    Rejected(Rejected),
}

/// A service guarded by a shared [`Bulkhead`]; made by [`BulkheadLayer`].
pub struct BulkheadService<S> {
    inner: S,
    bulkhead: Bulkhead,
    reserved: Reserved,
}

impl<S> BulkheadService<S> {
    /// `inner`, guarded by `bulkhead`.
    pub fn new(inner: S, bulkhead: Bulkhead) -> Self {
        BulkheadService {
            inner,
            bulkhead,
            reserved: Reserved::Nothing,
        }
    }

    /// The shared bulkhead.
    pub fn bulkhead(&self) -> &Bulkhead {
        &self.bulkhead
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service (a reserved permit is released).
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone> Clone for BulkheadService<S> {
    fn clone(&self) -> Self {
        // A clone shares the bulkhead but not this service's reservation.
        BulkheadService::new(self.inner.clone(), self.bulkhead.clone())
    }
}

impl<S: fmt::Debug> fmt::Debug for BulkheadService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reserved = match self.reserved {
            Reserved::Nothing => "nothing",
            Reserved::Acquiring(_) => "acquiring",
            Reserved::Permit(_) => "permit",
            Reserved::Rejected(_) => "rejected",
        };
        f.debug_struct("BulkheadService")
            .field("inner", &self.inner)
            .field("bulkhead", &self.bulkhead)
            .field("reserved", &reserved)
            .finish()
    }
}

impl<S, Req> Service<Req> for BulkheadService<S>
where
    S: Service<Req>,
{
    type Response = S::Response;
    type Error = CallError<S::Error>;
    type Future = BulkheadFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        loop {
            match &mut self.reserved {
                Reserved::Nothing => {
                    // With a queue, `acquire` (whose first poll is the same lock-free fast
                    // path); without one, `try_acquire` sheds at once. Either way a call is
                    // counted once, as admitted or as rejected.
                    self.reserved = if self.bulkhead.max_waiting() > 0 {
                        Reserved::Acquiring(self.bulkhead.acquire())
                    } else {
                        match self.bulkhead.try_acquire_owned() {
                            Ok(permit) => Reserved::Permit(permit),
                            Err(r) => Reserved::Rejected(r),
                        }
                    };
                }
                Reserved::Acquiring(fut) => {
                    self.reserved = match ready!(Pin::new(fut).poll(cx)) {
                        Ok(permit) => Reserved::Permit(permit),
                        Err(r) => Reserved::Rejected(r),
                    };
                }
                // A rejected call needs nothing from the inner service.
                Reserved::Rejected(_) => return Poll::Ready(Ok(())),
                Reserved::Permit(_) => {
                    return self.inner.poll_ready(cx).map_err(CallError::Inner);
                }
            }
        }
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let reserved = std::mem::replace(&mut self.reserved, Reserved::Nothing);
        let permit = match reserved {
            Reserved::Permit(p) => p,
            Reserved::Rejected(r) => return BulkheadFuture::rejected(r),
            // Called without `poll_ready` (a contract breach): admit without waiting rather
            // than panic; the inner service's readiness is its own business then.
            Reserved::Nothing | Reserved::Acquiring(_) => match self.bulkhead.try_acquire_owned() {
                Ok(p) => p,
                Err(r) => return BulkheadFuture::rejected(r),
            },
        };
        BulkheadFuture {
            inner: Inner::Running {
                fut: self.inner.call(req),
                permit: Some(permit),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`BulkheadService`]: holds the permit until the inner future
    /// completes or is dropped.
    pub struct BulkheadFuture<F> {
        #[pin]
        inner: Inner<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = Proj]
    enum Inner<F> {
        Running {
            #[pin]
            fut: F,
            permit: Option<OwnedPermit>,
        },
        Rejected {
            rejected: Rejected,
        },
    }
}

impl<F> BulkheadFuture<F> {
    fn rejected(rejected: Rejected) -> Self {
        BulkheadFuture {
            inner: Inner::Rejected { rejected },
        }
    }
}

impl<F> fmt::Debug for BulkheadFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Running { permit, .. } => f
                .debug_struct("BulkheadFuture")
                .field("permit", permit)
                .finish_non_exhaustive(),
            Inner::Rejected { rejected } => f
                .debug_struct("BulkheadFuture")
                .field("rejected", rejected)
                .finish(),
        }
    }
}

impl<F, R, E> Future for BulkheadFuture<F>
where
    F: Future<Output = Result<R, E>>,
{
    type Output = Result<R, CallError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.project() {
            Proj::Rejected { rejected } => Poll::Ready(Err(CallError::Rejected(*rejected))),
            Proj::Running { fut, permit } => {
                let out = ready!(fut.poll(cx));
                // Free the slot as soon as the response is in, not when the future is dropped.
                drop(permit.take());
                Poll::Ready(out.map_err(CallError::Inner))
            }
        }
    }
}
