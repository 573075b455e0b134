//! Tower middleware (`tower` feature): [`RateLimitLayer`] and [`KeyedRateLimitLayer`].
//!
//! Clones of a layer, and every service it makes, share one limiter held in an `Arc`, so the
//! budget is one for all connections however many handles to the service exist (tower's own
//! `RateLimit` keeps a budget per service instance, and axum or hyper clone the service per
//! connection). Build a layer over a limiter you also use elsewhere with
//! [`RateLimitLayer::new`], or over a fresh one with [`RateLimitLayer::from_quota`].
//!
//! A request over the limit fails with `Box<dyn Error + Send + Sync>` (tower's error type)
//! holding a [`Denied`]: `err.downcast_ref::<Denied>()` gives the `retry_after` for a
//! `429 Too Many Requests` with a `Retry-After` header. [`OnLimit::Wait`] applies
//! backpressure instead.
//!
//! ```
//! use std::sync::Arc;
//! use sinew_ratelimit::tower::RateLimitLayer;
//! use sinew_ratelimit::{Denied, Quota, RateLimiter};
//! use tower::{Layer, Service, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let limiter = Arc::new(RateLimiter::new(Quota::per_second(1)?));
//! let layer = RateLimitLayer::new(Arc::clone(&limiter));
//! let echo = service_fn(|req: &'static str| async move { Ok::<_, std::convert::Infallible>(req) });
//! let mut a = layer.layer(echo);
//! let mut b = a.clone(); // another connection: same budget
//! assert_eq!(a.ready().await?.call("hi").await?, "hi");
//! let err = b.ready().await?.call("hi").await.unwrap_err();
//! assert!(err.downcast_ref::<Denied>().is_some());
//! assert_eq!(limiter.metrics().denied, 1);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use sinew_clock::{Clock, SystemClock};
use tower_layer::Layer;
use tower_service::Service;

use crate::gcra::Ticket;
use crate::sync::Arc;
use crate::{Denied, KeyedRateLimiter, Quota, RateLimiter};

/// The services' error type, tower's: a rejection is a [`Denied`] inside it.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a [`RateLimitService`] does with a request over the limit.
///
/// With the `serde` feature it is written `"reject"` or `"wait"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum OnLimit {
    /// Fail the request at once with a [`Denied`] error (the default).
    #[default]
    Reject,
    /// Apply backpressure: `poll_ready` is pending until a token is available. Waiting
    /// services reserve their token in the limiter ([`RateLimiter::until_ready`]), so
    /// connections are served in the order they started waiting, and a service left waiting
    /// without being polled blocks nobody.
    Wait,
}

/// A tower [`Layer`] limiting every service it makes with **one shared** [`RateLimiter`].
///
/// Unlike tower's own `RateLimit`, whose budget lives in each service instance (so under axum
/// or hyper, where the service is cloned per connection, every connection gets a fresh
/// budget), the services this layer makes — and their clones — all draw from the one limiter
/// held in an `Arc`.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// use sinew_ratelimit::tower::{OnLimit, RateLimitLayer};
/// use sinew_ratelimit::{Denied, Quota};
/// use tower::{Layer, Service, ServiceExt, service_fn};
///
/// let layer = RateLimitLayer::from_quota(Quota::per_second(1)?).on_limit(OnLimit::Reject);
/// let echo = service_fn(|req: &'static str| async move { Ok::<_, std::convert::Infallible>(req) });
/// let mut a = layer.layer(echo);
/// let mut b = a.clone(); // another connection: same budget
/// assert_eq!(a.ready().await?.call("hi").await?, "hi");
/// let err = b.ready().await?.call("hi").await.unwrap_err();
/// assert!(err.downcast_ref::<Denied>().is_some());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct RateLimitLayer<C = SystemClock> {
    limiter: Arc<RateLimiter<C>>,
    on_limit: OnLimit,
}

impl<C> Clone for RateLimitLayer<C> {
    fn clone(&self) -> Self {
        RateLimitLayer {
            limiter: Arc::clone(&self.limiter),
            on_limit: self.on_limit,
        }
    }
}

impl RateLimitLayer {
    /// A layer over a new [`RateLimiter`] on the system clock, rejecting over the limit.
    pub fn from_quota(quota: Quota) -> Self {
        Self::new(Arc::new(RateLimiter::new(quota)))
    }
}

impl<C> RateLimitLayer<C> {
    /// A layer sharing `limiter` (which you may also check, or read the
    /// [`metrics`](RateLimiter::metrics) of, elsewhere), rejecting over the limit.
    pub fn new(limiter: Arc<RateLimiter<C>>) -> Self {
        RateLimitLayer {
            limiter,
            on_limit: OnLimit::Reject,
        }
    }

    /// Chooses rejecting or waiting.
    pub fn on_limit(mut self, on_limit: OnLimit) -> Self {
        self.on_limit = on_limit;
        self
    }

    /// The shared limiter.
    pub fn limiter(&self) -> &Arc<RateLimiter<C>> {
        &self.limiter
    }
}

impl<S, C> Layer<S> for RateLimitLayer<C> {
    type Service = RateLimitService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService {
            inner,
            limiter: Arc::clone(&self.limiter),
            on_limit: self.on_limit,
            waiting: None,
            permit: None,
        }
    }
}

/// A wait for a token in [`OnLimit::Wait`] mode: the limiter's `until_ready`, boxed so the
/// service can hold it across `poll_ready` calls. Its output is the token's ticket, for a refund.
type Waiting = Pin<Box<dyn Future<Output = Ticket> + Send + Sync>>;

/// The service [`RateLimitLayer`] makes. Clones share the limiter.
///
/// In [`OnLimit::Wait`] mode the token is taken in `poll_ready` (as tower's `RateLimit`
/// does). If the service is dropped before the call, or the inner service's `poll_ready`
/// fails, the token is given back to the limiter if no token was taken after it (otherwise it
/// stays spent, so the rate is never exceeded). While a service
/// waits, its token is reserved (see [`RateLimiter::until_ready`]): a service that is left
/// waiting and never polled again holds that one token and delays nobody else beyond it;
/// dropping it refunds the token on the same rule as a dropped `until_ready` future.
pub struct RateLimitService<S, C = SystemClock> {
    inner: S,
    limiter: Arc<RateLimiter<C>>,
    on_limit: OnLimit,
    waiting: Option<Waiting>,
    /// Wait mode: the token taken for the next call, if one was.
    permit: Option<Ticket>,
}

impl<S: fmt::Debug, C: fmt::Debug> fmt::Debug for RateLimitService<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitService")
            .field("inner", &self.inner)
            .field("limiter", &self.limiter)
            .field("on_limit", &self.on_limit)
            .field("permit", &self.permit)
            .finish_non_exhaustive()
    }
}

impl<S, C> Drop for RateLimitService<S, C> {
    fn drop(&mut self) {
        // Made ready but never called: the call this token was for will not happen.
        if let Some(ticket) = self.permit.take() {
            self.limiter.refund_admitted(ticket);
        }
    }
}

impl<S: Clone, C> Clone for RateLimitService<S, C> {
    fn clone(&self) -> Self {
        RateLimitService {
            inner: self.inner.clone(),
            limiter: Arc::clone(&self.limiter),
            on_limit: self.on_limit,
            waiting: None,
            permit: None,
        }
    }
}

impl<S, C, Req> Service<Req> for RateLimitService<S, C>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    C: Clock + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.on_limit == OnLimit::Wait && self.permit.is_none() {
            if self.waiting.is_none() {
                // The common case, without an allocation: a token free (reserved tokens of
                // waiters are not free, so this does not overtake them).
                if let Ok(ticket) = self.limiter.take_n(1) {
                    self.permit = Some(ticket);
                } else {
                    let limiter = Arc::clone(&self.limiter);
                    self.waiting = Some(Box::pin(async move {
                        // One token always fits, so the error cannot happen (and would
                        // leave nothing to refund).
                        limiter
                            .wait_n(1, Duration::ZERO)
                            .await
                            .unwrap_or(Ticket::EMPTY)
                    }));
                }
            }
            if let Some(waiting) = self.waiting.as_mut() {
                let ticket = ready!(waiting.as_mut().poll(cx));
                self.waiting = None;
                self.permit = Some(ticket);
            }
        }
        match self.inner.poll_ready(cx) {
            Poll::Ready(Err(err)) => {
                // The call this token was for will not happen: give it back.
                if let Some(ticket) = self.permit.take() {
                    self.limiter.refund_admitted(ticket);
                }
                Poll::Ready(Err(err.into()))
            }
            other => other.map_err(Into::into),
        }
    }

    fn call(&mut self, req: Req) -> Self::Future {
        // Wait mode took the token in `poll_ready`; a call without one (a caller bug tower
        // allows services to panic on) is checked like a rejecting call instead.
        let admitted = if self.on_limit == OnLimit::Wait && self.permit.take().is_some() {
            Ok(())
        } else {
            self.limiter.check()
        };
        match admitted {
            Ok(()) => ResponseFuture::inner(self.inner.call(req)),
            Err(denied) => ResponseFuture::rejected(denied),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of the rate-limit services: the inner service's future, or an
    /// immediate [`Denied`] error.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: Option<F>,
        rejected: Option<Denied>,
    }
}

impl<F> ResponseFuture<F> {
    fn inner(future: F) -> Self {
        ResponseFuture {
            inner: Some(future),
            rejected: None,
        }
    }

    fn rejected(denied: Denied) -> Self {
        ResponseFuture {
            inner: None,
            rejected: Some(denied),
        }
    }
}

impl<F, T, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.as_pin_mut() {
            Some(inner) => inner.poll(cx).map_err(Into::into),
            None => Poll::Ready(Err(Box::new(
                this.rejected.take().unwrap_or(Denied::after(0)),
            ))),
        }
    }
}

/// A tower [`Layer`] limiting requests **per key** (client IP, API key, user id) with one
/// shared [`KeyedRateLimiter`]; `extract` picks the key from each request.
///
/// Over the limit, requests are rejected with a [`Denied`] error (check
/// [`Denied::is_key_capacity`] to tell a full limiter from a client over its quota). There is
/// no waiting mode: the key is only known once a request is in hand, and holding one client's
/// requests inside the server to wait out its own limit spends server resources on the client
/// being limited; answer `429` with `Retry-After` instead. `poll_ready` is the inner
/// service's.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// use sinew_ratelimit::Quota;
/// use sinew_ratelimit::tower::KeyedRateLimitLayer;
/// use tower::{Layer, Service, ServiceExt, service_fn};
///
/// // Requests are (client, body) pairs here; with http, extract a header or the peer address.
/// let layer = KeyedRateLimitLayer::from_quota(Quota::per_second(1)?, 10_000, |req: &(u32, &str)| req.0);
/// let svc = service_fn(|req: (u32, &'static str)| async move { Ok::<_, std::convert::Infallible>(req.1) });
/// let mut svc = layer.layer(svc);
/// assert!(svc.ready().await?.call((1, "a")).await.is_ok());
/// assert!(svc.ready().await?.call((1, "b")).await.is_err()); // client 1 is over
/// assert!(svc.ready().await?.call((2, "c")).await.is_ok()); // client 2 is not
/// # Ok(())
/// # }
/// ```
pub struct KeyedRateLimitLayer<K, F, C = SystemClock> {
    limiter: Arc<KeyedRateLimiter<K, C>>,
    extract: F,
}

impl<K, F: Clone, C> Clone for KeyedRateLimitLayer<K, F, C> {
    fn clone(&self) -> Self {
        KeyedRateLimitLayer {
            limiter: Arc::clone(&self.limiter),
            extract: self.extract.clone(),
        }
    }
}

impl<K, F, C: fmt::Debug> fmt::Debug for KeyedRateLimitLayer<K, F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedRateLimitLayer")
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq, F> KeyedRateLimitLayer<K, F> {
    /// A layer over a new [`KeyedRateLimiter`] on the system clock tracking at most
    /// `max_keys` keys.
    pub fn from_quota(quota: Quota, max_keys: usize, extract: F) -> Self {
        Self::new(Arc::new(KeyedRateLimiter::new(quota, max_keys)), extract)
    }
}

impl<K, F, C> KeyedRateLimitLayer<K, F, C> {
    /// A layer sharing `limiter` (which you may also check, or read the
    /// [`metrics`](KeyedRateLimiter::metrics) of, elsewhere).
    pub fn new(limiter: Arc<KeyedRateLimiter<K, C>>, extract: F) -> Self {
        KeyedRateLimitLayer { limiter, extract }
    }

    /// The shared limiter.
    pub fn limiter(&self) -> &Arc<KeyedRateLimiter<K, C>> {
        &self.limiter
    }
}

impl<S, K, F: Clone, C> Layer<S> for KeyedRateLimitLayer<K, F, C> {
    type Service = KeyedRateLimitService<S, K, F, C>;

    fn layer(&self, inner: S) -> Self::Service {
        KeyedRateLimitService {
            inner,
            limiter: Arc::clone(&self.limiter),
            extract: self.extract.clone(),
        }
    }
}

/// The service [`KeyedRateLimitLayer`] makes. Clones share the limiter.
pub struct KeyedRateLimitService<S, K, F, C = SystemClock> {
    inner: S,
    limiter: Arc<KeyedRateLimiter<K, C>>,
    extract: F,
}

impl<S: Clone, K, F: Clone, C> Clone for KeyedRateLimitService<S, K, F, C> {
    fn clone(&self) -> Self {
        KeyedRateLimitService {
            inner: self.inner.clone(),
            limiter: Arc::clone(&self.limiter),
            extract: self.extract.clone(),
        }
    }
}

impl<S: fmt::Debug, K, F, C: fmt::Debug> fmt::Debug for KeyedRateLimitService<S, K, F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedRateLimitService")
            .field("inner", &self.inner)
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl<S, K, F, C, Req> Service<Req> for KeyedRateLimitService<S, K, F, C>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    K: Hash + Eq + Clone,
    F: Fn(&Req) -> K,
    C: Clock,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let key = (self.extract)(&req);
        match self.limiter.check_key(&key) {
            Ok(()) => ResponseFuture::inner(self.inner.call(req)),
            Err(denied) => ResponseFuture::rejected(denied),
        }
    }
}
