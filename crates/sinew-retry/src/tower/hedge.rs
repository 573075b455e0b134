//! [`HedgeLayer`]: a second request when the first is slow, the first response wins.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use sinew_clock::{Clock, SystemClock};
use tower_layer::Layer;
use tower_service::Service;

use crate::Hedge;
use crate::hedge::future::{Hedged, Launch};

/// A [`Layer`] that hedges requests with one shared [`Hedge`]: clones of the layer and every
/// service it makes share its latency window, budget and counters.
///
/// Each call counts a request ([`Hedge::start`]); if the response has not come after
/// [`Hedge::delay`] and [`Hedge::try_hedge`] allows, a clone of the inner service is polled
/// ready and called with a clone of the request. The first response (`Ok` or `Err`) wins;
/// the other response future is dropped, which cancels it. The original's latency (or its
/// time so far when the hedge won) is recorded on tokio's clock. The request and the service
/// are cloned only when a hedge may be sent (the delay is known); if the clone fails its
/// readiness, no hedge is sent and the original alone answers.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use sinew_retry::{Hedge, tower::HedgeLayer};
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let hedge = Hedge::builder().min_samples(1).max_extra_load(1.0).build()?;
/// hedge.record(Duration::from_millis(10)); // normally learnt from earlier requests
///
/// // A backend whose first answer is stuck for a second; the others take 5 ms.
/// let calls = Arc::new(AtomicU32::new(0));
/// let backend = service_fn(move |req: &'static str| {
///     let n = calls.fetch_add(1, Ordering::Relaxed);
///     async move {
///         tokio::time::sleep(Duration::from_millis(if n == 0 { 1_000 } else { 5 })).await;
///         Ok::<_, std::io::Error>((req, n))
///     }
/// });
/// let svc = HedgeLayer::new(hedge.clone()).layer(backend);
/// // The hedge, sent after 10 ms, answers at 15 ms; the stuck call is cancelled.
/// assert_eq!(svc.oneshot("get").await?, ("get", 1));
/// assert_eq!(hedge.metrics().hedges_won, 1);
/// # Ok(())
/// # }
/// ```
pub struct HedgeLayer<C: Clock = SystemClock> {
    hedge: Hedge<C>,
}

impl<C: Clock> HedgeLayer<C> {
    /// A layer sharing `hedge` (a `Hedge` is itself a shared handle).
    pub fn new(hedge: Hedge<C>) -> Self {
        HedgeLayer { hedge }
    }

    /// The shared hedge (for its metrics).
    pub fn hedge(&self) -> &Hedge<C> {
        &self.hedge
    }
}

impl<C: Clock> Clone for HedgeLayer<C> {
    fn clone(&self) -> Self {
        HedgeLayer {
            hedge: self.hedge.clone(),
        }
    }
}

impl<C: Clock + fmt::Debug> fmt::Debug for HedgeLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HedgeLayer")
            .field("hedge", &self.hedge)
            .finish()
    }
}

impl<S, C: Clock> Layer<S> for HedgeLayer<C> {
    type Service = HedgeService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        HedgeService {
            inner,
            hedge: self.hedge.clone(),
        }
    }
}

/// A service whose slow requests are hedged; made by [`HedgeLayer`].
pub struct HedgeService<S, C: Clock = SystemClock> {
    inner: S,
    hedge: Hedge<C>,
}

impl<S, C: Clock> HedgeService<S, C> {
    /// The shared hedge.
    pub fn hedge(&self) -> &Hedge<C> {
        &self.hedge
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: Clone, C: Clock> Clone for HedgeService<S, C> {
    fn clone(&self) -> Self {
        HedgeService {
            inner: self.inner.clone(),
            hedge: self.hedge.clone(),
        }
    }
}

impl<S: fmt::Debug, C: Clock + fmt::Debug> fmt::Debug for HedgeService<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HedgeService")
            .field("inner", &self.inner)
            .field("hedge", &self.hedge)
            .finish()
    }
}

impl<S, Req, C> Service<Req> for HedgeService<S, C>
where
    S: Service<Req> + Clone,
    Req: Clone,
    C: Clock,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S, Req, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let delay = self.hedge.begin();
        let launch = delay.map(|_| Resend {
            service: self.inner.clone(),
            request: Some(req.clone()),
        });
        let original = self.inner.call(req);
        ResponseFuture {
            inner: Hedged::new(self.hedge.clone(), delay, original, launch),
        }
    }
}

/// [`Launch`] for tower: a clone of the service, polled ready, called with a clone of the
/// request.
struct Resend<S, Req> {
    service: S,
    request: Option<Req>,
}

impl<S: Service<Req>, Req> Launch for Resend<S, Req> {
    type Future = S::Future;

    fn poll_launch(&mut self, cx: &mut Context<'_>) -> Poll<Option<S::Future>> {
        match self.service.poll_ready(cx) {
            Poll::Pending => Poll::Pending,
            // A clone that cannot serve is no reason to fail the original.
            Poll::Ready(Err(_)) => Poll::Ready(None),
            Poll::Ready(Ok(())) => Poll::Ready(self.request.take().map(|r| self.service.call(r))),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`HedgeService`]: the original and, once sent, the hedge.
    pub struct ResponseFuture<S: Service<Req>, Req, C: Clock> {
        #[pin]
        inner: Hedged<S::Future, Resend<S, Req>, C>,
    }
}

impl<S: Service<Req>, Req, C: Clock> fmt::Debug for ResponseFuture<S, Req, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<S: Service<Req>, Req, C: Clock> Future for ResponseFuture<S, Req, C> {
    type Output = Result<S::Response, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}
