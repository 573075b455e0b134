//! Tower middleware: [`CircuitBreakerLayer`] wraps a service in a breaker.
//!
//! Clones of the layer, and every service it makes, share one [`CircuitBreaker`] (held in an
//! `Arc`), so a breaker guards a downstream however many handles to the service exist. Each
//! call takes a permit when the service is *called* (not in `poll_ready`, so a service that
//! is polled ready but never called holds nothing); the classifier decides which results
//! count as failures (by default every `Err`). A rejected call resolves at once to
//! [`CallError::Rejected`] without touching the inner service; a response future dropped
//! early records nothing; a panic while polling it counts as a failure and is resumed.
//!
//! ```
//! use std::sync::Arc;
//! use sinew_breaker::{CallError, CircuitBreaker, tower::CircuitBreakerLayer};
//! use tower::{Layer, Service, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let breaker = Arc::new(CircuitBreaker::builder().consecutive_failures(2).build()?);
//! // HTTP-style: a 5xx response is a failure even though the call returned Ok.
//! let layer = CircuitBreakerLayer::new(Arc::clone(&breaker))
//!     .classify(|res: &Result<u16, std::io::Error>| !matches!(res, Ok(status) if *status < 500));
//! let mut svc = layer.layer(service_fn(|_req: ()| async { Ok::<u16, std::io::Error>(503) }));
//!
//! assert_eq!(svc.ready().await?.call(()).await?, 503);
//! assert_eq!(svc.ready().await?.call(()).await?, 503);
//! assert!(matches!(svc.ready().await?.call(()).await, Err(CallError::Rejected(_))));
//! # Ok(())
//! # }
//! ```

use crate::sync::Arc;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use sinew_clock::{Clock, SystemClock};
use tower_layer::Layer;
use tower_service::Service;

use crate::error::{CallError, Rejected};
use crate::unwind::CatchUnwind;
use crate::{CircuitBreaker, OwnedPermit};

/// Decides whether a service's result counts as a failure for the breaker.
///
/// Implemented by closures `Fn(&Result<Response, Error>) -> bool` (true = failure) and by
/// [`ErrorsAreFailures`], the default.
pub trait Classify<R, E> {
    /// Whether `result` counts as a failure.
    fn is_failure(&self, result: &Result<R, E>) -> bool;
}

impl<R, E, F: Fn(&Result<R, E>) -> bool> Classify<R, E> for F {
    fn is_failure(&self, result: &Result<R, E>) -> bool {
        self(result)
    }
}

/// The default classifier: every `Err` is a failure, every `Ok` a success.
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorsAreFailures;

impl<R, E> Classify<R, E> for ErrorsAreFailures {
    fn is_failure(&self, result: &Result<R, E>) -> bool {
        result.is_err()
    }
}

/// A [`Layer`] that guards services with one shared [`CircuitBreaker`].
pub struct CircuitBreakerLayer<C = SystemClock, F = ErrorsAreFailures> {
    breaker: Arc<CircuitBreaker<C>>,
    classify: F,
}

impl<C> CircuitBreakerLayer<C, ErrorsAreFailures> {
    /// A layer sharing `breaker`, counting every `Err` as a failure.
    pub fn new(breaker: Arc<CircuitBreaker<C>>) -> Self {
        CircuitBreakerLayer {
            breaker,
            classify: ErrorsAreFailures,
        }
    }
}

impl<C, F> CircuitBreakerLayer<C, F> {
    /// Replaces the classifier: `classify(&result)` returns true for a failure.
    pub fn classify<F2>(self, classify: F2) -> CircuitBreakerLayer<C, F2> {
        CircuitBreakerLayer {
            breaker: self.breaker,
            classify,
        }
    }

    /// The shared breaker (for its state and metrics).
    pub fn breaker(&self) -> &Arc<CircuitBreaker<C>> {
        &self.breaker
    }
}

impl<C, F: Clone> Clone for CircuitBreakerLayer<C, F> {
    fn clone(&self) -> Self {
        CircuitBreakerLayer {
            breaker: Arc::clone(&self.breaker),
            classify: self.classify.clone(),
        }
    }
}

impl<C: fmt::Debug, F> fmt::Debug for CircuitBreakerLayer<C, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerLayer")
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}

impl<S, C, F: Clone> Layer<S> for CircuitBreakerLayer<C, F> {
    type Service = CircuitBreakerService<S, C, F>;

    fn layer(&self, inner: S) -> Self::Service {
        CircuitBreakerService {
            inner,
            breaker: Arc::clone(&self.breaker),
            classify: self.classify.clone(),
        }
    }
}

/// A service guarded by a shared [`CircuitBreaker`]; made by [`CircuitBreakerLayer`].
pub struct CircuitBreakerService<S, C = SystemClock, F = ErrorsAreFailures> {
    inner: S,
    breaker: Arc<CircuitBreaker<C>>,
    classify: F,
}

impl<S: Clone, C, F: Clone> Clone for CircuitBreakerService<S, C, F> {
    fn clone(&self) -> Self {
        CircuitBreakerService {
            inner: self.inner.clone(),
            breaker: Arc::clone(&self.breaker),
            classify: self.classify.clone(),
        }
    }
}

impl<S: fmt::Debug, C: fmt::Debug, F> fmt::Debug for CircuitBreakerService<S, C, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerService")
            .field("inner", &self.inner)
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}

impl<S, C, F> CircuitBreakerService<S, C, F> {
    /// The shared breaker.
    pub fn breaker(&self) -> &Arc<CircuitBreaker<C>> {
        &self.breaker
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, Req, C, F> Service<Req> for CircuitBreakerService<S, C, F>
where
    S: Service<Req>,
    C: Clock,
    F: Classify<S::Response, S::Error> + Clone,
{
    type Response = S::Response;
    type Error = CallError<S::Error>;
    type Future = ResponseFuture<S::Future, C, F>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(CallError::Inner)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        match self.breaker.try_acquire_owned() {
            Ok(permit) => ResponseFuture {
                inner: Inner::Running {
                    fut: CatchUnwind {
                        fut: self.inner.call(req),
                    },
                    permit: Some(permit),
                    classify: self.classify.clone(),
                },
            },
            Err(rejected) => ResponseFuture {
                inner: Inner::Rejected { rejected },
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`CircuitBreakerService`].
    pub struct ResponseFuture<Fut, C: Clock, F> {
        #[pin]
        inner: Inner<Fut, C, F>,
    }
}

pin_project_lite::pin_project! {
    #[project = Proj]
    enum Inner<Fut, C: Clock, F> {
        Running {
            #[pin]
            fut: CatchUnwind<Fut>,
            permit: Option<OwnedPermit<C>>,
            classify: F,
        },
        Rejected {
            rejected: Rejected,
        },
    }
}

impl<Fut, C: Clock, F> fmt::Debug for ResponseFuture<Fut, C, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Running { permit, .. } => f
                .debug_struct("ResponseFuture")
                .field("permit", permit)
                .finish_non_exhaustive(),
            Inner::Rejected { rejected } => f
                .debug_struct("ResponseFuture")
                .field("rejected", rejected)
                .finish(),
        }
    }
}

impl<Fut, R, E, C, F> Future for ResponseFuture<Fut, C, F>
where
    Fut: Future<Output = Result<R, E>>,
    C: Clock,
    F: Classify<R, E>,
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
                let out = ready!(fut.poll(cx));
                let permit = permit.take();
                match out {
                    Ok(result) => {
                        if let Some(p) = permit {
                            // A panicking classifier counts as a failure, as in `call_with`.
                            match catch_unwind(AssertUnwindSafe(|| classify.is_failure(&result))) {
                                Ok(failed) => p.record(failed),
                                Err(panic) => {
                                    p.failure();
                                    resume_unwind(panic)
                                }
                            }
                        }
                        Poll::Ready(result.map_err(CallError::Inner))
                    }
                    Err(panic) => {
                        if let Some(p) = permit {
                            p.failure();
                        }
                        resume_unwind(panic)
                    }
                }
            }
        }
    }
}
