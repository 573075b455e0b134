//! `BulkheadLayer`: shedding when full without a queue, waiting with one, the maximum wait,
//! and permits held exactly as long as the inner call.
#![cfg(feature = "tower")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use sinew_bulkhead::tower::BulkheadLayer;
use sinew_bulkhead::{Bulkhead, CallError, Rejected};
use tokio::sync::oneshot;
use tower::{Layer, Service, ServiceExt, service_fn};

/// A service whose responses wait for the test to release them, one channel per request.
fn gated()
-> impl Service<oneshot::Receiver<u32>, Response = u32, Error = Infallible, Future: Send> + Clone {
    service_fn(|rx: oneshot::Receiver<u32>| async move { Ok(rx.await.unwrap_or(0)) })
}

fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
}

#[tokio::test(start_paused = true)]
async fn sheds_load_when_full_without_a_queue() {
    let bulkhead = Bulkhead::new(2);
    let svc = BulkheadLayer::new(bulkhead.clone()).layer(gated());

    let (tx1, rx1) = oneshot::channel();
    let (tx2, rx2) = oneshot::channel();
    let mut f1 = Box::pin(svc.clone().oneshot(rx1));
    let mut f2 = Box::pin(svc.clone().oneshot(rx2));
    assert!(poll_once(&mut f1).is_pending());
    assert!(poll_once(&mut f2).is_pending());
    assert_eq!(bulkhead.in_flight(), 2);

    // The third is turned away at once, and the inner service never sees it.
    let (_tx3, rx3) = oneshot::channel();
    let res = svc.clone().oneshot(rx3).await;
    assert!(matches!(res, Err(CallError::Rejected(Rejected::Full))));

    tx1.send(7).unwrap();
    assert_eq!(f1.await.unwrap(), 7);
    assert_eq!(bulkhead.in_flight(), 1);
    tx2.send(8).unwrap();
    assert_eq!(f2.await.unwrap(), 8);
    assert_eq!(bulkhead.in_flight(), 0);
    let m = bulkhead.metrics();
    assert_eq!((m.admitted, m.rejected), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn waits_in_the_queue_when_there_is_one() {
    let bulkhead = Bulkhead::builder()
        .max_concurrent(1)
        .queue(4)
        .build()
        .unwrap();
    let mut svc = BulkheadLayer::new(bulkhead.clone()).layer(gated());
    let mut other = svc.clone();

    let (tx1, rx1) = oneshot::channel();
    let f1 = svc.ready().await.unwrap().call(rx1);

    // The second caller is held in poll_ready (backpressure) until the first completes.
    let mut ready = other.ready();
    assert!(poll_once(&mut ready).is_pending());
    assert_eq!(bulkhead.waiting(), 1);
    tx1.send(1).unwrap();
    assert_eq!(f1.await.unwrap(), 1);
    assert_eq!(bulkhead.in_flight(), 1); // handed straight to the waiter
    let (tx2, rx2) = oneshot::channel();
    let f2 = ready.await.unwrap().call(rx2);
    tx2.send(2).unwrap();
    assert_eq!(f2.await.unwrap(), 2);
    assert_eq!((bulkhead.in_flight(), bulkhead.waiting()), (0, 0));
    let m = bulkhead.metrics();
    assert_eq!((m.admitted, m.waited, m.rejected), (2, 1, 0));
}

#[tokio::test(start_paused = true)]
async fn the_maximum_wait_and_a_full_queue_reject_the_call() {
    let bulkhead = Bulkhead::builder()
        .max_concurrent(1)
        .queue(1)
        .max_wait(Duration::from_millis(50))
        .build()
        .unwrap();
    let svc = BulkheadLayer::new(bulkhead.clone()).layer(gated());
    let _held = bulkhead.try_acquire_owned().unwrap();

    let (_t1, r1) = oneshot::channel();
    let mut queued = Box::pin(svc.clone().oneshot(r1));
    assert!(poll_once(&mut queued).is_pending());
    let (_t2, r2) = oneshot::channel();
    let res = svc.clone().oneshot(r2).await;
    assert!(matches!(res, Err(CallError::Rejected(Rejected::QueueFull))));

    let start = tokio::time::Instant::now();
    let res = queued.await;
    assert!(matches!(res, Err(CallError::Rejected(Rejected::Timeout))));
    assert_eq!(start.elapsed(), Duration::from_millis(50));
    assert_eq!(bulkhead.waiting(), 0);
    let m = bulkhead.metrics();
    assert_eq!((m.rejected, m.timed_out, m.waited), (2, 1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_response_future_frees_its_slot() {
    let bulkhead = Bulkhead::new(1);
    let mut svc = BulkheadLayer::new(bulkhead.clone()).layer(gated());
    let (_tx, rx) = oneshot::channel();
    let f = svc.ready().await.unwrap().call(rx);
    assert_eq!(bulkhead.in_flight(), 1);
    drop(f);
    assert_eq!(bulkhead.in_flight(), 0);

    // A readiness reservation is released with the service, too.
    let mut svc2 = svc.clone();
    svc2.ready().await.unwrap();
    assert_eq!(bulkhead.in_flight(), 1);
    drop(svc2);
    assert_eq!(bulkhead.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn inner_errors_pass_through() {
    let bulkhead = Bulkhead::new(1);
    let mut svc = BulkheadLayer::new(bulkhead.clone()).layer(service_fn(|_: ()| async {
        Err::<(), _>(std::io::Error::other("boom"))
    }));
    let err = svc.ready().await.unwrap().call(()).await.unwrap_err();
    assert_eq!(err.to_string(), "boom");
    assert!(err.rejected().is_none());
    assert!(err.into_inner().is_some());
    assert_eq!(bulkhead.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn calling_without_poll_ready_does_not_panic() {
    let bulkhead = Bulkhead::new(1);
    let mut svc = BulkheadLayer::new(bulkhead.clone())
        .layer(service_fn(|x: u32| async move { Ok::<u32, Infallible>(x) }));
    assert_eq!(svc.call(3).await.unwrap(), 3);
    let _held = bulkhead.try_acquire().unwrap();
    assert!(matches!(
        svc.call(4).await,
        Err(CallError::Rejected(Rejected::Full))
    ));
}
