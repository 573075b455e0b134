//! `Hedge::call` and the tower `HedgeLayer` on tokio's paused clock: when the hedge is sent,
//! that the loser is cancelled, the budget's cap, and `min_samples`.
#![cfg(all(feature = "tower", not(sinew_loom)))]
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use sinew_retry::tower::HedgeLayer;
use sinew_retry::{Hedge, ManualClock};
use tokio::time::{Instant, sleep};
use tower::{Layer, Service, ServiceExt, service_fn};

const MS: Duration = Duration::from_millis(1);

/// A hedge on a frozen window clock, warmed up with `warm` latencies of 10 ms, so its delay
/// is 10 ms (within 1/64).
fn hedge(max_extra_load: f64, min_samples: u32, warm: u32) -> Hedge<ManualClock> {
    let h = Hedge::builder()
        .percentile(0.5)
        .max_extra_load(max_extra_load)
        .min_samples(min_samples)
        .clock(ManualClock::new(Duration::from_secs(1_700_000_000)))
        .build()
        .unwrap();
    for _ in 0..warm {
        h.record(10 * MS);
    }
    h
}

/// Sets its flag when dropped: proof that a future was dropped (cancelled or finished).
struct DropGuard(Arc<AtomicBool>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// One request's copies: the first takes `first`, later ones `then`; each notes when it
/// started and whether it finished, and holds a drop guard.
#[derive(Clone, Default)]
struct Log {
    starts: Arc<Mutex<Vec<Duration>>>,
    finished: Arc<Mutex<Vec<usize>>>,
    dropped: Arc<Mutex<Vec<Arc<AtomicBool>>>>,
}

impl Log {
    fn op(
        &self,
        origin: Instant,
        first: Duration,
        then: Duration,
    ) -> impl Future<Output = Result<usize, usize>> + use<> {
        let mut starts = self.starts.lock().unwrap();
        let n = starts.len();
        starts.push(origin.elapsed());
        let flag = Arc::new(AtomicBool::new(false));
        self.dropped.lock().unwrap().push(Arc::clone(&flag));
        let finished = Arc::clone(&self.finished);
        async move {
            let _guard = DropGuard(flag);
            sleep(if n == 0 { first } else { then }).await;
            finished.lock().unwrap().push(n);
            Ok(n)
        }
    }

    fn starts(&self) -> Vec<Duration> {
        self.starts.lock().unwrap().clone()
    }

    fn finished(&self) -> Vec<usize> {
        self.finished.lock().unwrap().clone()
    }

    fn dropped(&self, n: usize) -> bool {
        self.dropped.lock().unwrap()[n].load(Ordering::SeqCst)
    }
}

/// Within the sketch's error (1/64 of 10 ms, the delay) plus tokio's timer resolution (1 ms).
fn near(d: Duration, want: Duration) -> bool {
    d.abs_diff(want) <= 10 * MS / 64 + MS
}

#[tokio::test(start_paused = true)]
async fn the_hedge_goes_out_after_the_delay_and_the_loser_is_cancelled() {
    let h = hedge(1.0, 1, 100);
    let log = Log::default();
    let origin = Instant::now();
    let out = h.call(|| log.op(origin, 1_000 * MS, 5 * MS)).await;
    assert_eq!(out, Ok(1), "the hedge answered");
    let starts = log.starts();
    assert_eq!(starts.len(), 2);
    assert_eq!(starts[0], Duration::ZERO);
    assert!(near(starts[1], 10 * MS), "hedge sent at {:?}", starts[1]);
    // The hedge answered at about 15 ms; the original never finished and was dropped.
    assert!(near(origin.elapsed(), 15 * MS), "{:?}", origin.elapsed());
    assert_eq!(log.finished(), [1]);
    assert!(log.dropped(0), "the original was cancelled");
    let m = h.metrics();
    assert_eq!(
        (m.requests, m.hedges, m.hedges_won, m.refused),
        (1, 1, 1, 0)
    );
    // The original's time so far (15 ms, past the delay) was recorded.
    assert_eq!(h.samples(), 101);
}

#[tokio::test(start_paused = true)]
async fn no_hedge_when_the_original_answers_in_time() {
    let h = hedge(1.0, 1, 100);
    let log = Log::default();
    let origin = Instant::now();
    assert_eq!(h.call(|| log.op(origin, 9 * MS, MS)).await, Ok(0));
    assert_eq!(log.starts().len(), 1);
    assert_eq!(h.metrics().hedges, 0);
    // Nothing fires later either.
    sleep(Duration::from_secs(1)).await;
    assert_eq!(log.starts().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn when_the_original_wins_the_hedge_is_cancelled() {
    let h = hedge(1.0, 1, 100);
    let log = Log::default();
    let origin = Instant::now();
    // The original answers at 12 ms, the hedge (sent at 10 ms) would at 110 ms.
    assert_eq!(h.call(|| log.op(origin, 12 * MS, 100 * MS)).await, Ok(0));
    assert_eq!(log.starts().len(), 2);
    assert!(log.dropped(1), "the hedge was cancelled");
    assert_eq!(log.finished(), [0]);
    let m = h.metrics();
    assert_eq!((m.hedges, m.hedges_won), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn an_error_is_an_answer() {
    let h = hedge(1.0, 1, 100);
    let origin = Instant::now();
    let mut n = 0;
    let out: Result<(), &str> = h
        .call(|| {
            n += 1;
            let first = n == 1;
            async move {
                sleep(if first { 20 * MS } else { 50 * MS }).await;
                Err(if first {
                    "original failed"
                } else {
                    "hedge failed"
                })
            }
        })
        .await;
    assert_eq!(out, Err("original failed"));
    assert_eq!(n, 2);
    assert!(near(origin.elapsed(), 20 * MS));
}

#[tokio::test(start_paused = true)]
async fn no_hedge_before_min_samples() {
    let h = hedge(1.0, 100, 98);
    let log = Log::default();
    let origin = Instant::now();
    // 98 samples: no delay, so no hedge, and the call's own latency is the 99th sample.
    assert_eq!(h.call(|| log.op(origin, 20 * MS, MS)).await, Ok(0));
    assert_eq!(log.starts().len(), 1);
    assert_eq!(h.samples(), 99);
    let m = h.metrics();
    assert_eq!(
        (m.hedges, m.refused),
        (0, 0),
        "the budget was not even asked"
    );
    // The 99th and 100th samples: from now on it hedges.
    h.record(20 * MS);
    let log = Log::default();
    let origin = Instant::now();
    assert_eq!(h.call(|| log.op(origin, 1_000 * MS, MS)).await, Ok(1));
    assert_eq!(log.starts().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_budget_caps_hedges_at_max_extra_load() {
    // p50 over 1,000 samples of 10 ms: 200 slow calls cannot move it.
    let h = hedge(0.1, 1, 1_000);
    let mut copies = 0;
    for _ in 0..200 {
        let log = Log::default();
        let origin = Instant::now();
        let out = h.call(|| log.op(origin, 100 * MS, MS)).await;
        copies += log.starts().len();
        // Hedged calls answer from the hedge, the others from the slow original.
        assert_eq!(out, Ok(log.starts().len() - 1));
    }
    let m = h.metrics();
    // Call k may hedge while hedges + 1 <= 0.1 * k: exactly one in ten.
    assert_eq!(m.requests, 200);
    assert_eq!(m.hedges, 20);
    assert_eq!(m.refused, 180);
    assert_eq!(m.hedges_won, 20);
    assert_eq!(copies, 220, "10% extra load");
}

#[tokio::test(start_paused = true)]
async fn hedging_cuts_the_tail() {
    // 1 in 20 calls is 10x slower; p90 of the window is the fast latency.
    let h = Hedge::builder()
        .percentile(0.9)
        .max_extra_load(0.1)
        .min_samples(50)
        .clock(ManualClock::new(Duration::from_secs(1_700_000_000)))
        .build()
        .unwrap();
    let mut latencies = Vec::new();
    for i in 0..1_000 {
        let start = Instant::now();
        let mut copy = 0;
        let _ = h
            .call(|| {
                copy += 1;
                // The original of every 20th call is slow; a hedge never is.
                let slow = copy == 1 && i % 20 == 7;
                async move {
                    sleep(if slow { 100 * MS } else { 10 * MS }).await;
                    Ok::<_, ()>(())
                }
            })
            .await;
        latencies.push(start.elapsed());
    }
    latencies.sort();
    let p99 = latencies[989];
    assert!(p99 <= 25 * MS, "p99 {p99:?} with hedging (100 ms without)");
    let m = h.metrics();
    assert!(m.hedges as f64 <= 0.1 * m.requests as f64);
}

#[tokio::test(start_paused = true)]
async fn tower_layer_hedges_and_cancels_the_loser() {
    let h = hedge(1.0, 1, 100);
    let log = Log::default();
    let origin = Instant::now();
    let log2 = log.clone();
    let backend = service_fn(move |_req: ()| log2.op(origin, 1_000 * MS, 5 * MS));
    let svc = HedgeLayer::new(h.clone()).layer(backend);
    assert_eq!(svc.oneshot(()).await, Ok(1));
    assert!(near(log.starts()[1], 10 * MS));
    assert!(log.dropped(0), "the original was cancelled");
    assert_eq!(h.metrics().hedges_won, 1);
}

#[tokio::test(start_paused = true)]
async fn tower_clones_share_the_budget() {
    let h = hedge(0.5, 1, 100);
    let layer = HedgeLayer::new(h.clone());
    let calls = Arc::new(AtomicU32::new(0));
    let c = Arc::clone(&calls);
    let backend = service_fn(move |_req: ()| {
        c.fetch_add(1, Ordering::Relaxed);
        async {
            sleep(100 * MS).await;
            Ok::<_, ()>(())
        }
    });
    let mut a = layer.layer(backend.clone());
    let mut b = layer.clone().layer(backend).clone();
    // Four requests over two services: 0.5 each buys two hedges in all.
    let mut futures = Vec::new();
    for i in 0..4 {
        let svc = if i % 2 == 0 { &mut a } else { &mut b };
        futures.push(svc.ready().await.unwrap().call(()));
    }
    for f in futures {
        f.await.unwrap();
    }
    assert_eq!(calls.load(Ordering::Relaxed), 4 + 2);
    let m = h.metrics();
    assert_eq!((m.requests, m.hedges, m.refused), (4, 2, 2));
}

/// A service that is ready once (for the original), then never again: clones share that.
#[derive(Clone)]
struct ReadyOnce {
    ready: Arc<AtomicBool>,
}

impl Service<()> for ReadyOnce {
    type Response = &'static str;
    type Error = &'static str;
    type Future =
        std::pin::Pin<Box<dyn Future<Output = Result<&'static str, &'static str>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), &'static str>> {
        if self.ready.swap(false, Ordering::SeqCst) {
            Poll::Ready(Ok(()))
        } else {
            Poll::Ready(Err("overloaded"))
        }
    }

    fn call(&mut self, _req: ()) -> Self::Future {
        Box::pin(async {
            sleep(50 * MS).await;
            Ok("original")
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_clone_that_is_not_ready_sends_no_hedge() {
    let h = hedge(1.0, 1, 100);
    let svc = HedgeLayer::new(h.clone()).layer(ReadyOnce {
        ready: Arc::new(AtomicBool::new(true)),
    });
    assert_eq!(svc.oneshot(()).await, Ok("original"));
    let m = h.metrics();
    assert_eq!(
        (m.hedges, m.hedges_won),
        (1, 0),
        "granted, but not sendable"
    );
}
