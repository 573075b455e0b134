//! [`RetryLayer`]: a service's errors retried under a shared [`RetryPolicy`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use sinew_clock::{Clock, SystemClock};
use tokio::time::Sleep;
use tower_layer::Layer;
use tower_service::Service;

use crate::error::RetryError;
use crate::policy::{Classify, RetryAll, RetryPolicy};
use crate::retry::{Run, Step};
use crate::sync::Arc;

/// A [`Layer`] that retries a service's errors under one shared [`RetryPolicy`]: clones of
/// the layer and every service it makes share its budget, so the retry load is capped across
/// every handle to the downstream.
///
/// Each call deposits once into the policy's budget and makes the first attempt. On an error
/// the policy's classifier decides: [`Decision::Stop`](crate::Decision::Stop) ends the call; a
/// retry takes the next backoff delay (none left, or past `max_elapsed`: the call ends), waits
/// the longer of it and a [`Decision::RetryAfter`](crate::Decision::RetryAfter) hint,
/// withdraws from the budget (refused: the call ends), then polls the service clone the
/// future holds ready and calls it with a clone of the request (a readiness error counts as
/// a failed attempt). The error says why the call ended, with the last error and the
/// attempts made ([`RetryError`]); these are the rules of [`retry`](crate::retry()), which
/// the layer shares its code with. An error from the service's own `poll_ready`, before any
/// attempt, is passed on as `RetryError::Stopped` with `attempts: 0`.
///
/// The waits run on tokio's timer; `max_elapsed` and the budget's window on the policy's
/// clock (sinew-clock's `TokioClock` follows tokio's paused time in tests). A request costs
/// one clone of the service and one of the request (kept for retries) and no allocation of
/// the layer's own.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use sinew_retry::{Backoff, RetryPolicy, tower::RetryLayer};
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let policy = Arc::new(RetryPolicy::new(Backoff::exponential(Duration::from_millis(10)).build()?));
/// let calls = Arc::new(AtomicU32::new(0));
/// let seen = Arc::clone(&calls);
/// // Fails twice, then answers.
/// let backend = service_fn(move |req: u32| {
///     let n = seen.fetch_add(1, Ordering::Relaxed);
///     async move {
///         if n < 2 { Err(std::io::Error::other("busy")) } else { Ok(req * 2) }
///     }
/// });
/// let svc = RetryLayer::new(policy).layer(backend);
/// assert_eq!(svc.oneshot(21).await?, 42);
/// assert_eq!(calls.load(Ordering::Relaxed), 3);
/// # Ok(())
/// # }
/// ```
pub struct RetryLayer<K = RetryAll, C: Clock = SystemClock> {
    policy: Arc<RetryPolicy<K, C>>,
}

impl<K, C: Clock> RetryLayer<K, C> {
    /// A layer retrying under `policy` (shared: its budget is every service's).
    pub fn new(policy: Arc<RetryPolicy<K, C>>) -> Self {
        RetryLayer { policy }
    }

    /// The shared policy (for its budget's metrics).
    pub fn policy(&self) -> &Arc<RetryPolicy<K, C>> {
        &self.policy
    }
}

impl<K, C: Clock> Clone for RetryLayer<K, C> {
    fn clone(&self) -> Self {
        RetryLayer {
            policy: Arc::clone(&self.policy),
        }
    }
}

impl<K: fmt::Debug, C: Clock + fmt::Debug> fmt::Debug for RetryLayer<K, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryLayer")
            .field("policy", &self.policy)
            .finish()
    }
}

impl<S, K, C: Clock> Layer<S> for RetryLayer<K, C> {
    type Service = RetryService<S, K, C>;

    fn layer(&self, inner: S) -> Self::Service {
        RetryService {
            inner,
            policy: Arc::clone(&self.policy),
        }
    }
}

/// A service whose errors are retried; made by [`RetryLayer`].
pub struct RetryService<S, K = RetryAll, C: Clock = SystemClock> {
    inner: S,
    policy: Arc<RetryPolicy<K, C>>,
}

impl<S, K, C: Clock> RetryService<S, K, C> {
    /// The shared policy.
    pub fn policy(&self) -> &Arc<RetryPolicy<K, C>> {
        &self.policy
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: Clone, K, C: Clock> Clone for RetryService<S, K, C> {
    fn clone(&self) -> Self {
        RetryService {
            inner: self.inner.clone(),
            policy: Arc::clone(&self.policy),
        }
    }
}

impl<S: fmt::Debug, K: fmt::Debug, C: Clock + fmt::Debug> fmt::Debug for RetryService<S, K, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryService")
            .field("inner", &self.inner)
            .field("policy", &self.policy)
            .finish()
    }
}

impl<S, Req, K, C> Service<Req> for RetryService<S, K, C>
where
    S: Service<Req> + Clone,
    Req: Clone,
    K: Classify<S::Error>,
    C: Clock,
{
    type Response = S::Response;
    type Error = RetryError<S::Error>;
    type Future = ResponseFuture<S, Req, K, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Before any attempt: the downstream's own refusal, with no attempt made.
        self.inner
            .poll_ready(cx)
            .map_err(|error| RetryError::Stopped { error, attempts: 0 })
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let mut run = Run::start(Arc::clone(&self.policy), None);
        // Without a deadline there is always a next attempt; this counts the first.
        let _first = run.next_attempt();
        let retry = self.inner.clone();
        let fut = self.inner.call(req.clone());
        ResponseFuture {
            state: State::Calling { fut },
            service: retry,
            request: req,
            run,
        }
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F> {
        // An attempt is in flight.
        Calling { #[pin] fut: F },
        // Waiting out the backoff before the next attempt.
        Waiting { #[pin] sleep: Sleep },
        // The wait is over; the service clone is being polled ready.
        Readying,
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`RetryService`]: the attempts, and the waits between them.
    pub struct ResponseFuture<S: Service<Req>, Req, K, C: Clock> {
        #[pin]
        state: State<S::Future>,
        // A clone of the service for the retries, and the request to clone for each.
        service: S,
        request: Req,
        run: Run<Arc<RetryPolicy<K, C>>>,
    }
}

impl<S: Service<Req>, Req, K, C: Clock> fmt::Debug for ResponseFuture<S, Req, K, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<S, Req, K, C> Future for ResponseFuture<S, Req, K, C>
where
    S: Service<Req>,
    Req: Clone,
    K: Classify<S::Error>,
    C: Clock,
{
    type Output = Result<S::Response, RetryError<S::Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let outcome = match this.state.as_mut().project() {
                StateProj::Calling { fut } => ready!(fut.poll(cx)),
                StateProj::Waiting { sleep } => {
                    ready!(sleep.poll(cx));
                    this.state.set(State::Readying);
                    continue;
                }
                StateProj::Readying => {
                    let ready = ready!(this.service.poll_ready(cx));
                    let _next = this.run.next_attempt();
                    match ready {
                        Ok(()) => {
                            let fut = this.service.call(this.request.clone());
                            this.state.set(State::Calling { fut });
                            continue;
                        }
                        // The downstream cannot take the attempt: as good as a failed one.
                        Err(error) => Err(error),
                    }
                }
            };
            // No deadline, so no error is kept for one.
            match this.run.step(outcome, &mut None) {
                Step::Wait(wait) => this.state.set(State::Waiting {
                    sleep: tokio::time::sleep(wait),
                }),
                Step::Done(result) => return Poll::Ready(result.map(|r| r.value)),
            }
        }
    }
}
