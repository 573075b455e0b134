//! A per-client rate limiter in front of a simulated service.
//!
//! Four clients call one service for three seconds. Each client gets its own token bucket
//! (4 requests per second, bursts of up to 3) from one `KeyedRateLimiter`:
//!
//! - `alice` sends 2 requests per second: always within her quota.
//! - `bob` is bursty: 6 requests at once, twice, 0.7 s apart. The first burst gets 3 through
//!   (his full bucket); the second only the 2 tokens that refilled in between.
//! - `mallory` floods at 20 requests per second: about 4 per second pass, the rest are
//!   answered `429 Too Many Requests` with the exact `Retry-After`.
//! - `batch` is a background job that *waits* for its tokens (`until_key_ready`) instead of
//!   being rejected, so all of its 12 requests go through, spaced to the quota.
//!
//! Behind the per-client limits, one shared `RateLimiter` caps the whole service at 10
//! requests per second, as a backend's capacity would.
//!
//! The timeline is printed as it happens. Tokio's clock is paused (`start_paused`), so the
//! three simulated seconds run instantly and the output is the same on every run; the limiters
//! read that clock through `TokioClock`. Delete `start_paused = true` to watch it in real time.
//!
//! Run with `cargo run -p sinew-examples --example ratelimit`.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sinew::ratelimit::{KeyedRateLimiter, Quota, RateLimiter, TokioClock};
use tokio::time::{Instant, sleep};

type Limiter = KeyedRateLimiter<&'static str, TokioClock>;

/// What each client saw: (admitted, rejected).
type Tally = Arc<Mutex<BTreeMap<&'static str, (u32, u32)>>>;

struct Service {
    per_client: Limiter,
    backend: RateLimiter<TokioClock>,
    start: Instant,
    tally: Tally,
}

impl Service {
    /// Handles one request from `client`: the per-client limit, then the backend's capacity.
    fn handle(&self, client: &'static str) {
        let t = self.start.elapsed().as_secs_f64();
        let outcome = self
            .per_client
            .check_key(&client)
            .and_then(|()| self.backend.check());
        let mut tally = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        let entry = tally.entry(client).or_default();
        match outcome {
            Ok(()) => {
                entry.0 += 1;
                println!("t={t:5.3}s  {client:<8} 200 OK");
            }
            Err(denied) => {
                entry.1 += 1;
                println!(
                    "t={t:5.3}s  {client:<8} 429 Too Many Requests, Retry-After {:?}",
                    denied.retry_after()
                );
            }
        }
    }

    /// A client that waits for its own token first, then calls.
    async fn handle_patiently(&self, client: &'static str) {
        self.per_client.until_key_ready(&client).await;
        self.backend.until_ready().await;
        let t = self.start.elapsed().as_secs_f64();
        let mut tally = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        tally.entry(client).or_default().0 += 1;
        println!("t={t:5.3}s  {client:<8} 200 OK (waited for its turn)");
    }
}

/// Sends `count` requests from `client`, `every` apart.
async fn steady(service: Arc<Service>, client: &'static str, count: u32, every: Duration) {
    for _ in 0..count {
        service.handle(client);
        sleep(every).await;
    }
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let per_client = Quota::per_second(4)?.burst(3)?;
    let service = Arc::new(Service {
        // At most 10,000 clients tracked; clients whose bucket has refilled are forgotten.
        per_client: KeyedRateLimiter::with_clock(per_client, 10_000, TokioClock::new()),
        backend: RateLimiter::with_clock(Quota::per_second(10)?, TokioClock::new()),
        start: Instant::now(),
        tally: Tally::default(),
    });

    let alice = tokio::spawn(steady(
        Arc::clone(&service),
        "alice",
        6,
        Duration::from_millis(500),
    ));
    let mallory = tokio::spawn(steady(
        Arc::clone(&service),
        "mallory",
        60,
        Duration::from_millis(50),
    ));
    let bob = {
        let service = Arc::clone(&service);
        tokio::spawn(async move {
            for _burst in 0..2 {
                sleep(Duration::from_millis(700)).await;
                for _ in 0..6 {
                    service.handle("bob");
                }
            }
        })
    };
    let batch = {
        let service = Arc::clone(&service);
        tokio::spawn(async move {
            for _ in 0..12 {
                service.handle_patiently("batch").await;
            }
        })
    };
    for task in [alice, mallory, bob, batch] {
        task.await?;
    }

    println!();
    println!("client    admitted  rejected");
    let tally = service.tally.lock().unwrap_or_else(|e| e.into_inner());
    for (client, (ok, rejected)) in tally.iter() {
        println!("{client:<8}  {ok:>8}  {rejected:>8}");
    }
    println!(
        "\n{} clients tracked by the keyed limiter; elapsed {:?} of tokio time",
        service.per_client.len(),
        service.start.elapsed()
    );
    // The limiters' own counters, as a dashboard would read them. The keyed limiter counts
    // every check it decided, including the refused retries of `batch`'s waits and requests it
    // admitted that the backend then refused.
    let keyed = service.per_client.metrics();
    let backend = service.backend.metrics();
    println!(
        "per-client limiter: {} admitted, {} denied ({} because it was full), {} keys evicted",
        keyed.admitted, keyed.denied, keyed.key_capacity_denied, keyed.keys_evicted
    );
    println!(
        "backend limiter: {} admitted, {} denied",
        backend.admitted, backend.denied
    );
    Ok(())
}
