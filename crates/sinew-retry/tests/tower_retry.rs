//! The tower `RetryLayer` on tokio's paused clock: waits, classification, hints, limits, and
//! the budget shared across clones.
#![cfg(all(feature = "tower", not(sinew_loom)))]
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sinew_clock::TokioClock;
use sinew_retry::tower::RetryLayer;
use sinew_retry::{Backoff, Decision, Jitter, ManualClock, RetryBudget, RetryError, RetryPolicy};
use tokio::time::Instant;
use tower::{Layer, Service, ServiceExt, service_fn};

const MS: Duration = Duration::from_millis(1);

/// Constant 100 ms waits, no jitter, `retries` retries.
fn backoff(retries: u32) -> Backoff {
    Backoff::constant(100 * MS)
        .jitter(Jitter::None)
        .max_retries(retries)
        .build()
        .unwrap()
}

/// A backend that fails its first `failures` calls with `error`, counting calls.
fn flaky(
    failures: u32,
    error: &'static str,
) -> (
    Arc<AtomicU32>,
    impl Service<u32, Response = u32, Error = &'static str, Future: Send> + Clone,
) {
    let calls = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&calls);
    let svc = service_fn(move |req: u32| {
        let n = seen.fetch_add(1, Ordering::Relaxed);
        async move { if n < failures { Err(error) } else { Ok(req) } }
    });
    (calls, svc)
}

#[tokio::test(start_paused = true)]
async fn retries_until_success_waiting_the_backoff() {
    let (calls, backend) = flaky(2, "busy");
    let svc = RetryLayer::new(Arc::new(RetryPolicy::new(backoff(3)))).layer(backend);
    let start = Instant::now();
    assert_eq!(svc.oneshot(7).await.unwrap(), 7);
    assert_eq!(calls.load(Ordering::Relaxed), 3);
    assert_eq!(start.elapsed(), 200 * MS);
}

#[tokio::test(start_paused = true)]
async fn exhausted_after_max_retries() {
    let (calls, backend) = flaky(u32::MAX, "down");
    let svc = RetryLayer::new(Arc::new(RetryPolicy::new(backoff(3)))).layer(backend);
    match svc.oneshot(1).await {
        Err(RetryError::Exhausted { error, attempts }) => {
            assert_eq!((error, attempts), ("down", 4));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(calls.load(Ordering::Relaxed), 4);
}

#[tokio::test(start_paused = true)]
async fn max_elapsed_ends_before_a_wait_that_would_pass_it() {
    let (calls, backend) = flaky(u32::MAX, "down");
    let b = Backoff::constant(100 * MS)
        .jitter(Jitter::None)
        .max_retries(10)
        .max_elapsed(250 * MS)
        .build()
        .unwrap();
    // max_elapsed is read on the policy's clock: tokio's, paused.
    let policy = RetryPolicy::new(b).clock(TokioClock::new());
    let svc = RetryLayer::new(Arc::new(policy)).layer(backend);
    let start = Instant::now();
    let err = svc.oneshot(1).await.unwrap_err();
    // Attempts at 0, 100 and 200 ms; a third wait would end at 300 ms, past 250.
    assert!(
        matches!(err, RetryError::Exhausted { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(calls.load(Ordering::Relaxed), 3);
    assert_eq!(start.elapsed(), 200 * MS);
}

#[tokio::test(start_paused = true)]
async fn the_classifier_stops_and_hints() {
    let classify = |e: &&'static str| match *e {
        "fatal" => Decision::Stop,
        "slow down" => Decision::RetryAfter(500 * MS),
        _ => Decision::Retry,
    };
    let policy = Arc::new(RetryPolicy::new(backoff(3)).classify(classify));

    let (calls, backend) = flaky(u32::MAX, "fatal");
    let err = RetryLayer::new(Arc::clone(&policy))
        .layer(backend)
        .oneshot(1)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RetryError::Stopped {
                error: "fatal",
                attempts: 1
            }
        ),
        "{err:?}"
    );
    assert_eq!(calls.load(Ordering::Relaxed), 1);

    // The server's hint is longer than the backoff: it wins.
    let (_, backend) = flaky(1, "slow down");
    let start = Instant::now();
    let svc = RetryLayer::new(policy).layer(backend);
    assert_eq!(svc.oneshot(5).await.unwrap(), 5);
    assert_eq!(start.elapsed(), 500 * MS);
}

#[tokio::test(start_paused = true)]
async fn clones_share_the_budget() {
    let clock = ManualClock::new(Duration::from_secs(1_700_000_000));
    let budget = RetryBudget::builder()
        .ratio(0.5)
        .min_per_second(1)
        .window(Duration::from_secs(10))
        .clock(clock)
        .build()
        .unwrap();
    let policy = Arc::new(RetryPolicy::new(backoff(100)).budget(budget.clone()));
    let layer = RetryLayer::new(policy);
    let (calls, backend) = flaky(u32::MAX, "down");
    let mut services = [layer.layer(backend.clone()), layer.clone().layer(backend)];
    let mut budget_errors = 0;
    for i in 0..20 {
        let svc = &mut services[i % 2];
        let err = svc.ready().await.unwrap().call(1).await.unwrap_err();
        if matches!(err, RetryError::Budget { .. }) {
            budget_errors += 1;
        }
    }
    let m = budget.metrics();
    assert_eq!(m.deposits, 20);
    let retries = u64::from(calls.load(Ordering::Relaxed)) - 20;
    assert_eq!(retries, m.withdrawals);
    // The floor (1 per second over 10 s) plus half of the 20 requests, however they split.
    assert!(retries <= 10 + 10, "{retries} retries");
    assert_eq!(
        budget_errors, 20,
        "every call ended on the budget, none on max_retries"
    );
}

/// Ready for the first attempt only; its clones then refuse with "overloaded".
#[derive(Clone)]
struct ReadyOnce(Arc<AtomicU32>);

impl Service<u32> for ReadyOnce {
    type Response = u32;
    type Error = &'static str;
    type Future = std::future::Ready<Result<u32, &'static str>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        std::task::Poll::Ready(if n == 0 { Ok(()) } else { Err("overloaded") })
    }

    fn call(&mut self, _req: u32) -> Self::Future {
        std::future::ready(Err("down"))
    }
}

#[tokio::test(start_paused = true)]
async fn a_readiness_error_counts_as_a_failed_attempt() {
    let svc = RetryLayer::new(Arc::new(RetryPolicy::new(backoff(2))))
        .layer(ReadyOnce(Arc::new(AtomicU32::new(0))));
    let err = svc.oneshot(1).await.unwrap_err();
    assert!(
        matches!(
            err,
            RetryError::Exhausted {
                error: "overloaded",
                attempts: 3
            }
        ),
        "{err:?}"
    );
}

#[test]
fn services_and_futures_are_send() {
    fn send<T: Send>(_: &T) {}
    let (_, backend) = flaky(0, "");
    let mut svc = RetryLayer::new(Arc::new(RetryPolicy::default())).layer(backend);
    send(&svc);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _guard = rt.enter();
    send(&svc.call(1));
    let mut hedged =
        sinew_retry::tower::HedgeLayer::new(sinew_retry::Hedge::new()).layer(flaky(0, "").1);
    send(&hedged);
    send(&hedged.call(1));
}
