//! Bulkhead behaviour: permits, limits, metrics, and (feature `tokio`) the FIFO queue, its
//! maximum wait and cancellation at every stage, on tokio's paused clock.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use proptest::prelude::*;
use sinew_bulkhead::{Bulkhead, ConfigError, Rejected};

#[test]
fn permits_take_and_free_slots() {
    let b = Bulkhead::new(2);
    let p1 = b.try_acquire().unwrap();
    let p2 = b.try_acquire_owned().unwrap();
    assert_eq!(b.in_flight(), 2);
    assert_eq!(b.try_acquire().unwrap_err(), Rejected::Full);
    assert_eq!(b.try_acquire_owned().unwrap_err(), Rejected::Full);
    drop(p1);
    assert_eq!(b.in_flight(), 1);
    let p3 = b.try_acquire().unwrap();
    drop((p2, p3));
    assert_eq!(b.in_flight(), 0);
    let m = b.metrics();
    assert_eq!(
        (m.admitted, m.rejected, m.in_flight, m.max_concurrent),
        (3, 2, 0, 2)
    );
}

#[test]
fn clones_share_one_bulkhead() {
    let a = Bulkhead::new(1);
    let b = a.clone();
    assert!(a.same_as(&b));
    assert!(!a.same_as(&Bulkhead::new(1)));
    let _p = a.try_acquire().unwrap();
    assert_eq!(b.try_acquire().unwrap_err(), Rejected::Full);
    assert_eq!(b.in_flight(), 1);
}

#[test]
fn owned_permits_move_into_threads() {
    let b = Bulkhead::new(1);
    let p = b.try_acquire_owned().unwrap();
    assert!(p.bulkhead().same_as(&b));
    std::thread::spawn(move || drop(p)).join().unwrap();
    assert_eq!(b.in_flight(), 0);
}

#[test]
fn zero_admits_nothing_until_raised() {
    let b = Bulkhead::new(0);
    assert_eq!(b.try_acquire().unwrap_err(), Rejected::Full);
    b.set_max_concurrent(1);
    assert!(b.try_acquire().is_ok());
}

#[test]
fn shrinking_lets_calls_inside_finish() {
    let b = Bulkhead::new(3);
    let held: Vec<_> = (0..3).map(|_| b.try_acquire().unwrap()).collect();
    b.set_max_concurrent(1);
    assert_eq!(b.max_concurrent(), 1);
    assert_eq!(b.in_flight(), 3); // nothing is revoked
    let mut held = held.into_iter();
    drop(held.next());
    assert!(b.try_acquire().is_err()); // 2 inside, limit 1
    drop(held.next());
    assert!(b.try_acquire().is_err()); // 1 inside, limit 1
    drop(held.next());
    let p = b.try_acquire().unwrap();
    assert!(b.try_acquire().is_err());
    b.set_max_concurrent(2);
    let q = b.try_acquire().unwrap();
    drop((p, q));
}

#[test]
fn builder_checks_every_setting() {
    assert_eq!(
        Bulkhead::builder().build().unwrap_err(),
        ConfigError::MaxConcurrent(0)
    );
    assert_eq!(
        Bulkhead::builder()
            .max_concurrent(1)
            .max_wait(Duration::ZERO)
            .build()
            .unwrap_err(),
        ConfigError::MaxWait(Duration::ZERO)
    );
    let far = Duration::from_secs(200 * 365 * 24 * 3600);
    assert_eq!(
        Bulkhead::builder()
            .max_concurrent(1)
            .max_wait(far)
            .build()
            .unwrap_err(),
        ConfigError::MaxWait(far)
    );
    let b = Bulkhead::builder()
        .max_concurrent(4)
        .queue(8)
        .max_wait(Duration::from_millis(5))
        .build()
        .unwrap();
    assert_eq!(
        (b.max_concurrent(), b.max_waiting(), b.max_wait()),
        (4, 8, Some(Duration::from_millis(5)))
    );
    // Errors say which setting is wrong.
    assert!(
        ConfigError::MaxConcurrent(0)
            .to_string()
            .contains("max concurrent")
    );
    assert!(Rejected::QueueFull.to_string().contains("queue"));
}

#[test]
fn permits_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Bulkhead>();
    send_sync::<sinew_bulkhead::Permit<'static>>();
    send_sync::<sinew_bulkhead::OwnedPermit>();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Real threads hammer one bulkhead (and one of them resizes it): never more than the
    /// limit in force is inside, counted by the callers themselves; every slot comes back.
    #[test]
    fn never_more_than_max_inside(
        max in 1u32..5,
        threads in 2usize..5,
        ops in 50usize..400,
        resize in proptest::collection::vec(1u32..5, 0..4),
    ) {
        let b = Bulkhead::new(max);
        // The largest limit ever in force bounds the count; a resize lets calls already
        // inside stay, so the bound is the maximum over the limits set.
        let bound = resize.iter().copied().chain([max]).max().unwrap();
        let inside = Arc::new(AtomicU32::new(0));
        let peak = Arc::new(AtomicU32::new(0));
        std::thread::scope(|s| {
            for t in 0..threads {
                let (b, inside, peak) = (b.clone(), Arc::clone(&inside), Arc::clone(&peak));
                let resize = resize.clone();
                s.spawn(move || {
                    for i in 0..ops {
                        if t == 0
                            && i % 50 == 25
                            && let Some(m) = resize.get(i / 50)
                        {
                            b.set_max_concurrent(*m);
                        }
                        let permit = if i % 2 == 0 {
                            b.try_acquire_owned().ok().map(|p| Box::new(p) as Box<dyn Send>)
                        } else {
                            b.try_acquire().ok().map(|p| Box::new(p) as Box<dyn Send + '_>)
                        };
                        if let Some(p) = permit {
                            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                            peak.fetch_max(now, Ordering::SeqCst);
                            assert!(now <= bound, "{now} inside, limit {bound}");
                            std::hint::spin_loop();
                            inside.fetch_sub(1, Ordering::SeqCst);
                            drop(p);
                        }
                    }
                });
            }
        });
        prop_assert_eq!(b.in_flight(), 0);
        prop_assert!(peak.load(Ordering::SeqCst) <= bound);
        let last = b.max_concurrent();
        let all: Vec<_> = (0..last).map(|_| b.try_acquire().unwrap()).collect();
        prop_assert!(b.try_acquire().is_err());
        drop(all);
        let m = b.metrics();
        prop_assert_eq!(m.in_flight, 0);
    }

    /// Without resizing, the bound is exactly the limit, and every attempt is counted once.
    #[test]
    fn counts_add_up(max in 1u32..4, ops in 10usize..200) {
        let b = Bulkhead::new(max);
        let inside = Arc::new(AtomicU32::new(0));
        std::thread::scope(|s| {
            for _ in 0..3 {
                let (b, inside) = (b.clone(), Arc::clone(&inside));
                s.spawn(move || {
                    for _ in 0..ops {
                        if let Ok(p) = b.try_acquire() {
                            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                            assert!(now <= max);
                            inside.fetch_sub(1, Ordering::SeqCst);
                            drop(p);
                        }
                    }
                });
            }
        });
        let m = b.metrics();
        prop_assert_eq!(m.admitted + m.rejected, 3 * ops as u64);
        prop_assert_eq!(m.in_flight, 0);
    }
}

#[cfg(feature = "tokio")]
mod waiting {
    use super::*;
    use std::future::Future;
    use std::sync::Mutex;
    use std::task::{Context, Poll, Waker};
    use tokio::time::Instant;

    fn queued(max: u32, queue: u32, wait: Option<Duration>) -> Bulkhead {
        let b = Bulkhead::builder().max_concurrent(max).queue(queue);
        match wait {
            Some(w) => b.max_wait(w),
            None => b,
        }
        .build()
        .unwrap()
    }

    /// Nothing inside, no one queued, and every slot can be taken.
    fn assert_quiet(b: &Bulkhead) {
        assert_eq!(b.in_flight(), 0, "a slot leaked");
        assert_eq!(b.waiting(), 0, "a waiter leaked");
        let all: Vec<_> = (0..b.max_concurrent())
            .map(|_| b.try_acquire().expect("every slot is free"))
            .collect();
        assert!(b.try_acquire().is_err());
        drop(all);
    }

    /// Polls `f` once with a waker that does nothing (the tests poll again by hand).
    fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
        let mut cx = Context::from_waker(Waker::noop());
        std::pin::Pin::new(f).poll(&mut cx)
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_without_a_queue_rejects_at_once() {
        let b = Bulkhead::new(1);
        let p = b.acquire().await.unwrap();
        assert_eq!(b.acquire().await.unwrap_err(), Rejected::Full);
        drop(p);
        assert!(b.acquire().await.is_ok());
        assert_eq!(b.metrics().rejected, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_are_served_in_fifo_order() {
        let b = queued(1, 16, None);
        let held = b.acquire().await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (b, order) = (b.clone(), Arc::clone(&order));
            tasks.push(tokio::spawn(async move {
                let p = b.acquire().await.unwrap();
                order.lock().unwrap().push(i);
                tokio::time::sleep(Duration::from_millis(1)).await;
                drop(p);
            }));
            // Let the task queue before the next one is spawned.
            tokio::task::yield_now().await;
        }
        assert_eq!(b.waiting(), 8);
        // try_acquire never overtakes a waiter, even when a slot is momentarily free.
        assert!(b.try_acquire().is_err());
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..8).collect::<Vec<_>>());
        let m = b.metrics();
        assert_eq!((m.admitted, m.waited, m.rejected), (9, 8, 1));
        assert_quiet(&b);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_rejects() {
        let b = queued(1, 2, None);
        let _held = b.try_acquire().unwrap();
        let mut w1 = b.acquire();
        let mut w2 = b.acquire();
        assert!(poll_once(&mut w1).is_pending());
        assert!(poll_once(&mut w2).is_pending());
        assert_eq!(b.acquire().await.unwrap_err(), Rejected::QueueFull);
        assert_eq!(b.waiting(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn max_wait_is_respected() {
        let wait = Duration::from_millis(250);
        let b = queued(1, 4, Some(wait));
        let held = b.try_acquire().unwrap();
        let start = Instant::now();
        assert_eq!(b.acquire().await.unwrap_err(), Rejected::Timeout);
        assert_eq!(start.elapsed(), wait);
        let m = b.metrics();
        assert_eq!((m.timed_out, m.rejected, m.waited, m.waiting), (1, 1, 1, 0));
        // A slot freed before the deadline is handed over in time.
        let b2 = b.clone();
        let waiter = tokio::spawn(async move {
            let start = Instant::now();
            let p = b2.acquire().await;
            (p.map(drop), start.elapsed())
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(held);
        let (res, took) = waiter.await.unwrap();
        assert_eq!(res, Ok(()));
        assert_eq!(took, Duration::from_millis(100));
        assert_quiet(&b);
    }

    #[tokio::test(start_paused = true)]
    async fn growing_the_limit_lets_waiters_in() {
        let b = queued(1, 8, None);
        let _held = b.try_acquire().unwrap();
        let mut ws: Vec<_> = (0..3).map(|_| b.acquire()).collect();
        for w in &mut ws {
            assert!(poll_once(w).is_pending());
        }
        b.set_max_concurrent(3);
        let mut got = 0;
        for w in &mut ws {
            if let Poll::Ready(Ok(p)) = poll_once(w) {
                got += 1;
                std::mem::forget(p); // kept inside for the count below
            }
        }
        assert_eq!(got, 2); // the first two, in order
        assert_eq!(b.in_flight(), 3);
        assert_eq!(b.waiting(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn shrinking_holds_waiters_back_until_below_the_new_limit() {
        let b = queued(2, 8, None);
        let p1 = b.try_acquire_owned().unwrap();
        let p2 = b.try_acquire_owned().unwrap();
        let mut w = b.acquire();
        assert!(poll_once(&mut w).is_pending());
        b.set_max_concurrent(1);
        drop(p1); // 1 inside, limit 1: the waiter still waits
        assert!(poll_once(&mut w).is_pending());
        drop(p2);
        let Poll::Ready(Ok(p)) = poll_once(&mut w) else {
            panic!("the freed slot goes to the waiter");
        };
        assert_eq!(b.in_flight(), 1);
        drop(p);
        assert_quiet(&b);
    }

    /// Cancellation at every stage leaks nothing: before the first poll, while queued, after
    /// a slot was handed over but before the future returned it, and at the deadline.
    #[tokio::test(start_paused = true)]
    async fn dropped_waiters_leak_nothing() {
        let b = queued(2, 8, Some(Duration::from_secs(1)));

        // Never polled.
        drop(b.acquire());
        assert_quiet(&b);

        // Queued, then dropped.
        let held: Vec<_> = (0..2).map(|_| b.try_acquire_owned().unwrap()).collect();
        let mut w = b.acquire();
        assert!(poll_once(&mut w).is_pending());
        assert_eq!(b.waiting(), 1);
        drop(w);
        assert_eq!(b.waiting(), 0);
        drop(held);
        assert_quiet(&b);

        // Granted, then dropped before being polled again: the slot passes to the next waiter.
        let mut held: Vec<_> = (0..2).map(|_| b.try_acquire_owned().unwrap()).collect();
        let mut first = b.acquire();
        let mut second = b.acquire();
        assert!(poll_once(&mut first).is_pending());
        assert!(poll_once(&mut second).is_pending());
        drop(held.pop()); // hands the slot to `first`
        assert_eq!((b.in_flight(), b.waiting()), (2, 1));
        drop(first);
        assert_eq!((b.in_flight(), b.waiting()), (2, 0)); // `second` has it now
        let Poll::Ready(Ok(p)) = poll_once(&mut second) else {
            panic!("the slot passed to the second waiter");
        };
        drop((p, held));
        assert_quiet(&b);

        // Granted, dropped, no one behind: the slot goes back.
        let mut held: Vec<_> = (0..2).map(|_| b.try_acquire_owned().unwrap()).collect();
        let mut only = b.acquire();
        assert!(poll_once(&mut only).is_pending());
        drop(held.pop());
        drop(only);
        drop(held);
        assert_quiet(&b);

        // Timed out.
        let held: Vec<_> = (0..2).map(|_| b.try_acquire_owned().unwrap()).collect();
        assert_eq!(b.acquire().await.unwrap_err(), Rejected::Timeout);
        drop(held);
        assert_quiet(&b);

        // A grant and the deadline at the same instant: the grant wins, the slot is kept.
        let mut held: Vec<_> = (0..2).map(|_| b.try_acquire_owned().unwrap()).collect();
        let mut w = b.acquire();
        assert!(poll_once(&mut w).is_pending());
        tokio::time::advance(Duration::from_secs(1)).await;
        drop(held.pop());
        assert!(matches!(poll_once(&mut w), Poll::Ready(Ok(_))));
        drop(held);
        assert_quiet(&b);

        // Polled after completion: an error, not a panic.
        let mut w = b.acquire();
        assert!(matches!(poll_once(&mut w), Poll::Ready(Ok(_))));
        assert!(matches!(
            poll_once(&mut w),
            Poll::Ready(Err(Rejected::Full))
        ));
        assert_quiet(&b);
    }

    /// One call inside, counted by the caller: in on `enter` (checking the bound), out on drop.
    struct Inside(Arc<AtomicU32>);

    impl Inside {
        fn enter(count: &Arc<AtomicU32>, bound: u32) -> Inside {
            let now = count.fetch_add(1, Ordering::SeqCst) + 1;
            assert!(now <= bound, "{now} inside, limit {bound}");
            Inside(Arc::clone(count))
        }
    }

    impl Drop for Inside {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Tasks that wait, time out, are aborted at random points and release, on a
    /// multi-stage schedule driven by a fixed seed: afterwards nothing is inside or queued.
    #[tokio::test(start_paused = true)]
    async fn random_cancellation_leaks_nothing() {
        let (mut waited, mut timed_out, mut queue_full) = (0, 0, 0);
        for seed in 1..=20u64 {
            let b = queued(3, 6, Some(Duration::from_millis(30)));
            let inside = Arc::new(AtomicU32::new(0));
            let mut x = seed;
            let mut next = move || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            };
            let mut tasks = Vec::new();
            for _ in 0..60 {
                match next() % 4 {
                    0 | 1 => {
                        let (b, inside) = (b.clone(), Arc::clone(&inside));
                        let hold = Duration::from_millis(next() % 60);
                        tasks.push(tokio::spawn(async move {
                            if let Ok(p) = b.acquire().await {
                                // Counted out on drop too: an abort can land in the sleep.
                                let _inside = Inside::enter(&inside, 3);
                                tokio::time::sleep(hold).await;
                                drop(_inside);
                                drop(p);
                            }
                        }));
                    }
                    2 => {
                        if !tasks.is_empty() {
                            let i = usize::try_from(next() % tasks.len() as u64).unwrap();
                            tasks.swap_remove(i).abort();
                        }
                    }
                    _ => tokio::time::sleep(Duration::from_millis(next() % 10)).await,
                }
                tokio::task::yield_now().await;
            }
            for t in tasks {
                let _ = t.await;
            }
            assert_quiet(&b);
            assert_eq!(inside.load(Ordering::SeqCst), 0);
            let m = b.metrics();
            waited += m.waited;
            timed_out += m.timed_out;
            queue_full += m.rejected - m.timed_out;
        }
        // The schedule reaches every stage: queueing, timing out, a full queue.
        assert!(
            waited > 0 && timed_out > 0 && queue_full > 0,
            "{waited} {timed_out} {queue_full}"
        );
    }

    #[test]
    fn acquire_futures_are_send_static_unpin() {
        fn check<T: Send + 'static + Unpin>(_: &T) {}
        let b = Bulkhead::new(1);
        check(&b.acquire());
    }
}
