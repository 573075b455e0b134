//! `call_async` (no runtime needed) and, with their features, `call_async_timeout` and the
//! tower layer.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use sinew_breaker::{CircuitBreaker, State};

fn breaker(consecutive: u32) -> CircuitBreaker {
    CircuitBreaker::builder()
        .consecutive_failures(consecutive)
        .wait_in_open(Duration::from_secs(60))
        .build()
        .unwrap()
}

#[tokio::test]
async fn call_async_records_outcomes() {
    let b = breaker(2);
    assert_eq!(b.call_async(async { Ok::<_, ()>(1) }).await.unwrap(), 1);
    let r = b
        .call_async_with(async { Err::<(), _>(404) }, |e| *e >= 500)
        .await;
    assert_eq!(r.unwrap_err().into_inner(), Some(404));
    assert_eq!(b.metrics().failures, 0);
    let _ = b.call_async(async { Err::<(), _>(503) }).await;
    let _ = b.call_async(async { Err::<(), _>(503) }).await;
    assert_eq!(b.state(), State::Open);
    let r = b.call_async(async { Ok::<_, ()>(1) }).await;
    assert!(r.unwrap_err().is_rejected());
}

#[tokio::test]
async fn a_panicking_future_counts_as_a_failure() {
    let b = std::sync::Arc::new(breaker(1));
    let b2 = std::sync::Arc::clone(&b);
    let task = tokio::spawn(async move {
        let _ = b2
            .call_async(async {
                if b2.state() == State::Closed {
                    panic!("boom");
                }
                Ok::<_, ()>(())
            })
            .await;
    });
    assert!(task.await.unwrap_err().is_panic());
    assert_eq!(b.state(), State::Open);
}

#[tokio::test]
async fn a_cancelled_future_records_nothing_and_frees_its_trial() {
    let clock = sinew_breaker::ManualClock::new(Duration::from_secs(10));
    let b = CircuitBreaker::builder()
        .consecutive_failures(1)
        .half_open_permits(1)
        .wait_in_open(Duration::from_secs(1))
        .clock(clock.clone())
        .build()
        .unwrap();
    b.try_acquire().unwrap().failure();
    clock.advance(Duration::from_secs(1));
    {
        let call = b.call_async(std::future::pending::<Result<(), ()>>());
        // Poll once so the trial permit is taken, then drop the future.
        let mut call = std::pin::pin!(call);
        let waker = std::task::Waker::noop();
        assert!(
            call.as_mut()
                .poll(&mut std::task::Context::from_waker(waker))
                .is_pending()
        );
        assert_eq!(b.metrics().trial_permits, 1);
    }
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.metrics().trial_permits, 0);
    b.call_async(async { Ok::<_, ()>(()) }).await.unwrap();
    assert_eq!(b.state(), State::Closed);
}

/// A classifier that panics in `call_async_with`: the call counts as a failure and the
/// panic goes on.
#[tokio::test]
async fn a_panicking_async_classifier_counts_as_a_failure() {
    let b = std::sync::Arc::new(breaker(1));
    let b2 = std::sync::Arc::clone(&b);
    let task = tokio::spawn(async move {
        let _ = b2
            .call_async_with(async { Err::<(), _>(503) }, |_| -> bool {
                panic!("classifier")
            })
            .await;
    });
    assert!(task.await.unwrap_err().is_panic());
    assert_eq!(b.state(), State::Open);
}

#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn a_timed_out_call_counts_as_a_failure() {
    let b = breaker(1);
    let r = b
        .call_async_timeout(Duration::from_millis(10), async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok::<_, ()>(())
        })
        .await;
    assert_eq!(
        r.unwrap_err(),
        sinew_breaker::CallError::Timeout(Duration::from_millis(10))
    );
    assert_eq!(b.state(), State::Open);
}

#[cfg(feature = "tower")]
mod tower_layer {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use sinew_breaker::tower::CircuitBreakerLayer;
    use tower::{Layer, Service, ServiceExt, service_fn};

    use super::*;

    #[tokio::test]
    async fn clones_share_one_breaker_and_rejections_skip_the_service() {
        let b = Arc::new(breaker(3));
        let layer = CircuitBreakerLayer::new(Arc::clone(&b));
        let hits = Arc::new(AtomicUsize::new(0));
        let h = Arc::clone(&hits);
        let svc = layer.clone().layer(service_fn(move |fail: bool| {
            h.fetch_add(1, Ordering::Relaxed);
            async move { if fail { Err("down") } else { Ok("up") } }
        }));
        let mut a = svc.clone();
        let mut c = layer.layer(svc.get_ref().clone());
        assert_eq!(a.ready().await.unwrap().call(false).await.unwrap(), "up");
        let _ = a.ready().await.unwrap().call(true).await;
        let _ = c.ready().await.unwrap().call(true).await;
        let r = a.ready().await.unwrap().call(true).await;
        assert_eq!(r.unwrap_err(), sinew_breaker::CallError::Inner("down"));
        assert_eq!(b.state(), State::Open);
        assert!(Arc::ptr_eq(c.breaker(), &b));
        let r = c.ready().await.unwrap().call(false).await;
        assert!(r.unwrap_err().is_rejected());
        assert_eq!(
            hits.load(Ordering::Relaxed),
            4,
            "the rejected call never reached the service"
        );
    }

    /// A classifier that panics: the call counts as a failure (here the one that trips the
    /// breaker) and the panic goes on.
    #[tokio::test]
    async fn a_panicking_classifier_counts_as_a_failure() {
        let b = Arc::new(breaker(1));
        let layer = CircuitBreakerLayer::new(Arc::clone(&b))
            .classify(|_: &Result<u16, ()>| -> bool { panic!("classifier") });
        let svc = layer.layer(service_fn(|status: u16| async move { Ok::<_, ()>(status) }));
        let task = tokio::spawn(async move { svc.oneshot(200).await });
        assert!(task.await.unwrap_err().is_panic());
        assert_eq!(b.state(), State::Open);
    }

    #[tokio::test]
    async fn the_classifier_sees_responses() {
        let b = Arc::new(breaker(2));
        let layer = CircuitBreakerLayer::new(Arc::clone(&b))
            .classify(|r: &Result<u16, ()>| !matches!(r, Ok(s) if *s < 500));
        let mut svc = layer.layer(service_fn(|status: u16| async move { Ok::<_, ()>(status) }));
        for _ in 0..5 {
            assert_eq!(svc.ready().await.unwrap().call(404).await.unwrap(), 404);
        }
        assert_eq!(b.state(), State::Closed);
        svc.ready().await.unwrap().call(500).await.unwrap();
        svc.ready().await.unwrap().call(502).await.unwrap();
        assert_eq!(b.state(), State::Open);
        assert!(format!("{svc:?}").contains("CircuitBreakerService"));
    }
}
