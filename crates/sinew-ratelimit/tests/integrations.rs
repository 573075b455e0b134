//! The `tokio` and `tower` features, on tokio's paused clock (no real sleeping).
#![cfg(all(feature = "tower", not(sinew_loom)))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use sinew_ratelimit::tower::{KeyedRateLimitLayer, OnLimit, RateLimitLayer};
use sinew_ratelimit::{
    CheckNError, Denied, KeyedRateLimiter, Quota, RateLimiter, SlidingWindow, TokioClock,
};
use tokio::time::Instant;
use tower::{Layer, Service, ServiceExt, service_fn};

fn quota() -> Quota {
    Quota::per_second(10).unwrap().burst(5).unwrap()
}

#[tokio::test(start_paused = true)]
async fn until_ready_sleeps_exactly_the_wait() {
    let l = RateLimiter::with_clock(quota(), TokioClock::new());
    let start = Instant::now();
    for _ in 0..5 {
        l.until_ready().await;
    }
    assert_eq!(start.elapsed(), Duration::ZERO, "the burst needs no wait");
    for _ in 0..3 {
        l.until_ready().await;
    }
    assert_eq!(start.elapsed(), Duration::from_millis(300));
    l.until_n_ready(5).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(800));
    assert_eq!(
        l.until_n_ready(6).await,
        Err(CheckNError::InsufficientCapacity {
            requested: 6,
            capacity: 5
        })
    );
    // Each completed wait is one admission; a waiter is never counted as denied, and a request
    // that can never fit is not counted.
    let m = l.metrics();
    assert_eq!((m.admitted, m.denied), (9, 0));
}

#[tokio::test(start_paused = true)]
async fn until_ready_is_cancel_safe() {
    let l = RateLimiter::with_clock(quota(), TokioClock::new());
    l.check_n(5).unwrap();
    // Give up after 50 ms: the token arrives at 100 ms, so the wait is cancelled.
    let timed_out = tokio::time::timeout(Duration::from_millis(50), l.until_n_ready(2)).await;
    assert!(timed_out.is_err());
    // Nothing was reserved or taken by the cancelled future: one token at 100 ms as usual.
    tokio::time::advance(Duration::from_millis(50)).await;
    assert_eq!(l.remaining(), 1);
    assert_eq!(l.check(), Ok(()));
    // The cancelled wait never completed: not an admission.
    let m = l.metrics();
    assert_eq!((m.admitted, m.denied), (2, 0));
}

#[tokio::test(start_paused = true)]
async fn jitter_stays_within_bounds() {
    let l = RateLimiter::with_clock(quota(), TokioClock::new());
    l.check_n(5).unwrap();
    let start = Instant::now();
    l.until_ready_with_jitter(Duration::from_millis(30)).await;
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    assert!(waited <= Duration::from_millis(131), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn keyed_and_window_waiting() {
    let keyed = KeyedRateLimiter::with_clock(quota(), 100, TokioClock::new());
    let start = Instant::now();
    keyed.until_key_n_ready("a", 5).await.unwrap();
    keyed.until_key_ready("b").await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    keyed.until_key_ready("a").await;
    assert_eq!(start.elapsed(), Duration::from_millis(100));

    let window = SlidingWindow::with_clock(2, Duration::from_secs(1), TokioClock::new()).unwrap();
    window.until_n_ready(2).await.unwrap();
    window.until_ready().await;
    assert!(start.elapsed() >= Duration::from_secs(1));
    assert!(window.until_n_ready(3).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn many_waiters_get_exactly_the_rate() {
    let l = Arc::new(RateLimiter::with_clock(quota(), TokioClock::new()));
    let start = Instant::now();
    let tasks: Vec<_> = (0..25)
        .map(|_| {
            let l = Arc::clone(&l);
            tokio::spawn(async move {
                l.until_ready().await;
                Instant::now()
            })
        })
        .collect();
    let mut done = Vec::new();
    for t in tasks {
        done.push(t.await.unwrap() - start);
    }
    done.sort();
    // 5 at once, then one per 100 ms: the 25th at 2 s.
    assert_eq!(done[4], Duration::ZERO);
    assert_eq!(done[24], Duration::from_secs(2));
    for (i, at) in (0u32..).zip(&done).skip(5) {
        assert!(
            *at >= Duration::from_millis(100) * (i - 4),
            "waiter {i} at {at:?}"
        );
    }
}

/// A waiter for 5 tokens is not starved by a later waiter for 1: reservations are FIFO.
#[tokio::test(start_paused = true)]
async fn waiters_are_served_in_fifo_order() {
    let l = Arc::new(RateLimiter::with_clock(quota(), TokioClock::new()));
    l.check_n(5).unwrap();
    let start = Instant::now();
    let big = {
        let l = Arc::clone(&l);
        tokio::spawn(async move {
            l.until_n_ready(5).await.unwrap();
            Instant::now() - start
        })
    };
    // Let the big waiter queue first.
    tokio::task::yield_now().await;
    let small = {
        let l = Arc::clone(&l);
        tokio::spawn(async move {
            l.until_ready().await;
            Instant::now() - start
        })
    };
    // Without the queue the small waiter would take the token at 100 ms and push the big
    // one to 600 ms.
    assert_eq!(big.await.unwrap(), Duration::from_millis(500));
    assert_eq!(small.await.unwrap(), Duration::from_millis(600));
}

/// A waiter cancelled while waiting refunds its reservation; the next one is served.
#[tokio::test(start_paused = true)]
async fn cancelled_queued_waiter_leaves_the_queue() {
    let l = Arc::new(RateLimiter::with_clock(quota(), TokioClock::new()));
    l.check_n(5).unwrap();
    let start = Instant::now();
    let head = {
        let l = Arc::clone(&l);
        tokio::spawn(async move { l.until_n_ready(5).await })
    };
    tokio::task::yield_now().await;
    head.abort();
    assert!(head.await.unwrap_err().is_cancelled());
    l.until_ready().await;
    assert_eq!(Instant::now() - start, Duration::from_millis(100));
}

/// Regression: a waiter that is kept but never polled again must not freeze the limiter. With
/// the old FIFO turn (a `tokio::sync::Mutex` guard held across the sleep) the abandoned
/// future kept the turn forever and every later waiter hung.
#[tokio::test(start_paused = true)]
async fn abandoned_waiter_blocks_nobody() {
    let l = Arc::new(RateLimiter::with_clock(quota(), TokioClock::new()));
    l.check_n(5).unwrap();
    let start = Instant::now();
    let mut abandoned = Box::pin(l.until_n_ready(2));
    // Polled once (it reserves its tokens), then left alone but kept alive.
    assert!(
        tokio::time::timeout(Duration::from_millis(1), &mut abandoned)
            .await
            .is_err()
    );
    let later = tokio::time::timeout(Duration::from_secs(10), l.until_ready()).await;
    assert!(later.is_ok(), "a later waiter hung behind an abandoned one");
    // Scheduled after the abandoned reservation: tokens 1-2 at 100-200 ms, its own at 300 ms.
    assert_eq!(Instant::now() - start, Duration::from_millis(300));
    // The abandoned future still completes at once when polled (its tokens were reserved),
    // and dropping it then takes nothing more.
    abandoned.await.unwrap();
    assert_eq!(Instant::now() - start, Duration::from_millis(300));
}

/// The tower form of the freeze: `timeout(svc.ready())` gives up but the service is kept.
#[tokio::test(start_paused = true)]
async fn abandoned_waiting_service_blocks_nobody() {
    let limiter = Arc::new(RateLimiter::with_clock(
        Quota::per_second(10).unwrap().burst(1).unwrap(),
        TokioClock::new(),
    ));
    let layer = RateLimitLayer::new(Arc::clone(&limiter)).on_limit(OnLimit::Wait);
    let mut kept = layer.layer(echo());
    let mut other = layer.layer(echo());
    assert_eq!(kept.ready().await.unwrap().call(1).await.unwrap(), 1);
    let start = Instant::now();
    // Gives up waiting, keeps the service (its wait future lives inside it).
    assert!(
        tokio::time::timeout(Duration::from_millis(1), kept.ready())
            .await
            .is_err()
    );
    let ready = tokio::time::timeout(Duration::from_secs(10), other.ready()).await;
    assert_eq!(ready.unwrap().unwrap().call(2).await.unwrap(), 2);
    assert_eq!(Instant::now() - start, Duration::from_millis(200));
    let direct = tokio::time::timeout(Duration::from_secs(10), limiter.until_ready()).await;
    assert!(direct.is_ok());
    assert_eq!(Instant::now() - start, Duration::from_millis(300));
    // Dropping the kept service, whose token is still reserved, gives nothing back: others
    // reserved after it, and its token, handed to a new caller now, would be a second token
    // at 300 ms from a bucket of one.
    drop(kept);
    assert!(limiter.check().is_err());
    assert_eq!(limiter.remaining(), 0);
}

/// Polls `waiter` for 1 ms, so it reserves its tokens, and checks that it is still waiting.
async fn start_waiting(waiter: &mut (impl Future<Output = ()> + Unpin)) {
    assert!(
        tokio::time::timeout(Duration::from_millis(1), waiter)
            .await
            .is_err()
    );
}

/// The refund is exact only for the last reservation. With a burst of 1, waiters A then B
/// reserve (due at 100 and 200 ms) and A is cancelled: giving A's token back would let a
/// `check` at 200 ms in beside B, two tokens at once. So A's token is forfeited, and the
/// next free token is at 300 ms; with B cancelled too (last first), both come back.
#[tokio::test(start_paused = true)]
async fn cancelled_waiter_refunds_only_when_last() {
    let l = RateLimiter::with_clock(
        Quota::per_second(10).unwrap().burst(1).unwrap(),
        TokioClock::new(),
    );
    l.check().unwrap();
    let start = Instant::now();
    let mut a = Box::pin(l.until_ready());
    let mut b = Box::pin(l.until_ready());
    start_waiting(&mut a).await;
    start_waiting(&mut b).await;
    drop(a);
    // B still wakes at 200 ms; nobody else gets a token before 300 ms.
    tokio::time::sleep_until(start + Duration::from_millis(150)).await;
    assert_eq!(
        l.check().unwrap_err().retry_after(),
        Duration::from_millis(150)
    );
    b.await;
    assert_eq!(Instant::now() - start, Duration::from_millis(200));
    assert!(
        l.check().is_err(),
        "a second token at 200 ms from a bucket of 1"
    );

    // Cancelled last first, both reservations come back.
    tokio::time::sleep_until(start + Duration::from_millis(300)).await;
    l.check().unwrap(); // 300 ms: empty again
    let mut c = Box::pin(l.until_ready());
    let mut d = Box::pin(l.until_ready());
    start_waiting(&mut c).await;
    start_waiting(&mut d).await;
    drop(d);
    drop(c);
    tokio::time::sleep_until(start + Duration::from_millis(400)).await;
    assert_eq!(
        l.check(),
        Ok(()),
        "both refunded: the next token is due at 400 ms"
    );
}

/// A waiter dropped while waiting gives its reserved tokens back.
#[tokio::test(start_paused = true)]
async fn dropped_waiter_refunds_its_reservation() {
    let l = RateLimiter::with_clock(quota(), TokioClock::new());
    l.check_n(5).unwrap();
    {
        let mut waiter = Box::pin(l.until_n_ready(3));
        assert!(
            tokio::time::timeout(Duration::from_millis(1), &mut waiter)
                .await
                .is_err()
        );
        // Reserved: the bucket is in debt, a synchronous check is denied for longer.
        assert_eq!(
            l.check().unwrap_err().retry_after(),
            Duration::from_millis(399)
        );
    }
    assert_eq!(
        l.check().unwrap_err().retry_after(),
        Duration::from_millis(99)
    );
}

/// Wait mode: a service made ready and dropped without a call gives its token back (it was the
/// last taken), and one dropped after others took tokens does not.
#[tokio::test(start_paused = true)]
async fn wait_mode_refunds_the_token_of_a_service_dropped_before_its_call() {
    let limiter = Arc::new(RateLimiter::with_clock(quota(), TokioClock::new()));
    let layer = RateLimitLayer::new(Arc::clone(&limiter)).on_limit(OnLimit::Wait);
    let mut svc = layer.layer(echo());
    svc.ready().await.unwrap();
    assert_eq!(limiter.remaining(), 4);
    assert_eq!(limiter.metrics().admitted, 1);
    drop(svc);
    assert_eq!(limiter.remaining(), 5);
    assert_eq!(
        limiter.metrics().admitted,
        0,
        "the refunded token is not an admission"
    );

    let mut first = layer.layer(echo());
    first.ready().await.unwrap();
    limiter.check().unwrap();
    drop(first);
    assert_eq!(limiter.remaining(), 3, "a refund under a later token");
    assert_eq!(
        limiter.metrics().admitted,
        2,
        "forfeited, not refunded: still counted"
    );
}

/// A service whose own `poll_ready` fails.
#[derive(Clone)]
struct Broken;

impl Service<u32> for Broken {
    type Response = u32;
    type Error = std::io::Error;
    type Future = std::future::Ready<Result<u32, std::io::Error>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Err(std::io::Error::other("broken")))
    }

    fn call(&mut self, req: u32) -> Self::Future {
        std::future::ready(Ok(req))
    }
}

/// Wait mode takes the token before asking the inner service; if that fails, the token is
/// given back rather than lost.
#[tokio::test(start_paused = true)]
async fn wait_mode_refunds_the_token_when_the_inner_service_fails() {
    let limiter = Arc::new(RateLimiter::with_clock(quota(), TokioClock::new()));
    let mut svc = RateLimitLayer::new(Arc::clone(&limiter))
        .on_limit(OnLimit::Wait)
        .layer(Broken);
    for _ in 0..10 {
        assert!(svc.ready().await.is_err());
    }
    assert_eq!(limiter.remaining(), 5);
}

fn echo() -> impl Service<u32, Response = u32, Error = Infallible, Future: Send> + Clone {
    service_fn(|req: u32| async move { Ok::<_, Infallible>(req) })
}

/// axum-style: the server clones the service for each connection. All clones share one budget.
#[tokio::test(start_paused = true)]
async fn layer_clones_share_one_budget() {
    let layer = RateLimitLayer::new(Arc::new(RateLimiter::with_clock(
        quota(),
        TokioClock::new(),
    )));
    let root = layer.layer(echo());
    let mut admitted = 0;
    let mut rejected = Vec::new();
    for _connection in 0..4 {
        let mut svc = root.clone();
        for req in 0..3 {
            match svc.ready().await.unwrap().call(req).await {
                Ok(r) => {
                    assert_eq!(r, req);
                    admitted += 1;
                }
                Err(e) => rejected.push(*e.downcast_ref::<Denied>().unwrap()),
            }
        }
    }
    assert_eq!(admitted, 5, "one budget of 5 across 4 connections");
    assert_eq!(rejected.len(), 7);
    assert_eq!(rejected[0].retry_after(), Duration::from_millis(100));
    assert_eq!(layer.limiter().remaining(), 0);
    let m = layer.limiter().metrics();
    assert_eq!((m.admitted, m.denied), (5, 7));

    // tower's own RateLimit, for contrast: each clone has its own budget.
    let tower_layer = tower::limit::RateLimitLayer::new(5, Duration::from_secs(1));
    let mut tower_admitted = 0;
    for _connection in 0..4 {
        let mut svc = tower_layer.layer(echo());
        for req in 0..3 {
            // Its poll_ready waits rather than rejects; count calls that complete at once.
            let ready = tokio::time::timeout(Duration::from_millis(1), svc.ready()).await;
            if let Ok(Ok(svc)) = ready {
                svc.call(req).await.unwrap();
                tower_admitted += 1;
            }
        }
    }
    assert_eq!(
        tower_admitted, 12,
        "per-instance budgets admit 3 on each of 4 connections"
    );
}

#[tokio::test(start_paused = true)]
async fn layer_wait_mode_applies_backpressure() {
    let limiter = Arc::new(RateLimiter::with_clock(
        Quota::per_second(10).unwrap().burst(1).unwrap(),
        TokioClock::new(),
    ));
    let layer = RateLimitLayer::new(Arc::clone(&limiter)).on_limit(OnLimit::Wait);
    let mut a = layer.layer(echo());
    let mut b = a.clone();
    let start = Instant::now();
    for req in 0..3 {
        assert_eq!(a.ready().await.unwrap().call(req).await.unwrap(), req);
        assert_eq!(b.ready().await.unwrap().call(req).await.unwrap(), req);
    }
    // 6 requests, 1 at once then one per 100 ms.
    assert_eq!(start.elapsed(), Duration::from_millis(500));
    // Each request counted once, as admitted: waiting is not a denial.
    let m = limiter.metrics();
    assert_eq!((m.admitted, m.denied), (6, 0));
}

/// Waiting services reserve in order: a service does not overtake an earlier
/// waiter for more tokens.
#[tokio::test(start_paused = true)]
async fn layer_wait_mode_queues_behind_earlier_waiters() {
    let limiter = Arc::new(RateLimiter::with_clock(quota(), TokioClock::new()));
    limiter.check_n(5).unwrap();
    let start = Instant::now();
    let big = {
        let l = Arc::clone(&limiter);
        tokio::spawn(async move {
            l.until_n_ready(5).await.unwrap();
            Instant::now() - start
        })
    };
    tokio::task::yield_now().await;
    let mut svc = RateLimitLayer::new(Arc::clone(&limiter))
        .on_limit(OnLimit::Wait)
        .layer(echo());
    svc.ready().await.unwrap().call(7).await.unwrap();
    assert_eq!(Instant::now() - start, Duration::from_millis(600));
    assert_eq!(big.await.unwrap(), Duration::from_millis(500));
}

#[tokio::test(start_paused = true)]
async fn keyed_layer_limits_per_key() {
    let limiter = Arc::new(KeyedRateLimiter::with_clock(
        quota(),
        1_000,
        TokioClock::new(),
    ));
    let layer = KeyedRateLimitLayer::new(limiter, |req: &u32| req % 2);
    let root = layer.layer(echo());
    let mut per_key = [0, 0];
    for conn in 0..4 {
        let mut svc = root.clone();
        for req in 0..6u32 {
            let req = req + conn * 100;
            if svc.ready().await.unwrap().call(req).await.is_ok() {
                per_key[(req % 2) as usize] += 1;
            }
        }
    }
    assert_eq!(per_key, [5, 5]);
    let mut svc = root.clone();
    let err = svc.ready().await.unwrap().call(1).await.unwrap_err();
    let denied = err.downcast_ref::<Denied>().unwrap();
    assert!(!denied.is_key_capacity());
    tokio::time::advance(denied.retry_after()).await;
    assert_eq!(svc.ready().await.unwrap().call(1).await.unwrap(), 1);
    assert!(format!("{layer:?}").contains("KeyedRateLimitLayer"));
    let m = layer.limiter().metrics();
    assert_eq!((m.admitted, m.denied, m.key_capacity_denied), (11, 15, 0));
}

#[test]
fn services_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    let svc = RateLimitLayer::from_quota(quota())
        .on_limit(OnLimit::Wait)
        .layer(echo());
    assert_send_sync(&svc);
    let keyed = KeyedRateLimitLayer::<u32, _>::from_quota(quota(), 10, |r: &u32| *r).layer(echo());
    assert_send_sync(&keyed);
}
