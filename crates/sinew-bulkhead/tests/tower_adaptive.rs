//! `AdaptiveLimitLayer`: load shedding beyond the limit, outcomes from the classifier, and
//! nothing recorded for a response future dropped early.
#![cfg(feature = "tower")]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sinew_bulkhead::limit::{Aimd, Outcome};
use sinew_bulkhead::tower::AdaptiveLimitLayer;
use sinew_bulkhead::{AdaptiveLimit, CallError, ManualClock, Rejected};
use tokio::sync::oneshot;
use tower::{Layer, Service, ServiceExt, service_fn};

fn limit(n: u32) -> AdaptiveLimit<ManualClock> {
    AdaptiveLimit::builder(Aimd::new())
        .initial_limit(n)
        .window_samples(1)
        .clock(ManualClock::new(Duration::from_secs(1)))
        .build()
        .unwrap()
}

#[tokio::test]
async fn sheds_beyond_the_limit_and_counts_errors_as_drops() {
    let limit = limit(1);
    let layer = AdaptiveLimitLayer::new(limit.clone());
    let mut svc = layer.layer(service_fn(
        |rx: oneshot::Receiver<Result<u8, &'static str>>| async { rx.await.unwrap() },
    ));
    let (tx, rx) = oneshot::channel();
    let first = svc.ready().await.unwrap().call(rx);
    // The first call holds the only slot: the second is shed at once.
    let (_tx2, rx2) = oneshot::channel();
    let second = svc.ready().await.unwrap().call(rx2).await;
    assert_eq!(second.unwrap_err(), CallError::Rejected(Rejected::Full));
    tx.send(Err("overloaded")).unwrap();
    assert_eq!(first.await.unwrap_err(), CallError::Inner("overloaded"));
    let m = limit.metrics();
    assert_eq!(
        (m.admitted, m.rejected, m.dropped, m.in_flight),
        (1, 1, 1, 0)
    );
}

#[tokio::test]
async fn the_classifier_decides() {
    let limit = limit(10);
    let layer = AdaptiveLimitLayer::new(limit.clone()).classify(|r: &Result<u16, ()>| match r {
        Ok(503) | Err(()) => Outcome::Dropped,
        Ok(s) if (400..500).contains(s) => Outcome::Ignored,
        Ok(_) => Outcome::Success,
    });
    let mut svc = layer.layer(service_fn(|status: u16| async move { Ok::<_, ()>(status) }));
    for status in [200, 404, 503] {
        assert_eq!(svc.ready().await.unwrap().call(status).await, Ok(status));
    }
    let m = limit.metrics();
    assert_eq!((m.admitted, m.dropped, m.ignored), (3, 1, 1));
    // 200: in_flight 1 * 2 < 10, so held; 503: floor(10 * 0.9) = 9.
    assert_eq!(limit.limit(), 9);
    let _ = format!("{layer:?} {svc:?}");
}

#[tokio::test]
async fn a_dropped_response_future_records_nothing() {
    let limit = limit(1);
    let mut svc = AdaptiveLimitLayer::new(limit.clone())
        .layer(service_fn(|()| std::future::pending::<Result<(), ()>>()));
    let fut = svc.ready().await.unwrap().call(());
    assert_eq!(limit.in_flight(), 1);
    drop(fut);
    let m = limit.metrics();
    assert_eq!((m.in_flight, m.ignored, m.dropped), (0, 1, 0));
}
