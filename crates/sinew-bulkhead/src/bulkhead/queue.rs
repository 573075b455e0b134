//! The FIFO wait queue: a `Mutex`-protected `VecDeque` of waiters, each with its own small
//! state, and a release path that hands a freed slot straight to the first waiter.
//!
//! The protocol, in terms of the state word (see [`super`]):
//!
//! - The `WAITERS` flag is set exactly while the queue is non-empty, and changed only under
//!   the queue lock.
//! - While it is set, nothing outside the lock raises `in_flight`: `try_acquire` refuses (so it
//!   never overtakes a waiter) and a release only lowers it, then takes the lock to pass the
//!   slot on. So under the lock, "is there room for the first waiter" stays true until the
//!   lock holder fills it.
//! - A grant moves a slot to a waiter without it ever being free: `in_flight` does not drop,
//!   the waiter's node is marked granted, and its waker is woken after the lock is released.
//! - A waiter that leaves (cancelled or timed out) takes the queue lock, then its node's lock:
//!   if it was granted in the meantime, it owns a slot and releases it (to the next waiter, or
//!   back); if not, it unlinks itself. Either way nothing leaks.
//!
//! Lock order: queue, then node. No user code runs under either lock (wakers are woken after).
//!
//! Without the `tokio` feature nothing waits (the queue stays empty), so the waiting half is
//! unused there; it is compiled anyway so the loom models can drive it without a runtime.
#![cfg_attr(not(feature = "tokio"), allow(dead_code))]

use std::collections::VecDeque;
use std::task::{Context, Waker};

use super::{ADMIT, IN_FLIGHT, Shared, WAITERS};
use crate::error::Rejected;
use crate::sync::{Arc, Mutex, Ordering, lock};

/// The waiters, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    waiters: VecDeque<Arc<Node>>,
}

/// One waiter: granted or not, and the waker to call when it is.
#[derive(Debug, Default)]
pub(crate) struct Node {
    state: Mutex<NodeState>,
}

#[derive(Debug, Default)]
struct NodeState {
    granted: bool,
    waker: Option<Waker>,
}

/// What [`Shared::enqueue`] did.
#[derive(Debug)]
pub(crate) enum Enqueued {
    /// A slot was free after all: the caller holds it.
    Admitted,
    /// The caller is queued behind this node.
    Waiting(Arc<Node>),
}

/// Wakers collected under the lock, woken after it is released. A release grants at most a
/// few waiters, so this rarely holds more than one.
pub(crate) type Wakers = Vec<Waker>;

fn wake_all(wakers: Wakers) {
    for w in wakers {
        w.wake();
    }
}

impl Node {
    /// Whether the node was granted a slot; if not, remembers `cx`'s waker for the grant.
    pub(crate) fn poll_granted(&self, cx: &mut Context<'_>) -> bool {
        let mut s = lock(&self.state);
        if s.granted {
            return true;
        }
        if !s.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            s.waker = Some(cx.waker().clone());
        }
        false
    }

    /// Whether the node was granted a slot (for the loom models, which poll by hand).
    #[cfg(all(test, sinew_loom))]
    pub(crate) fn is_granted(&self) -> bool {
        lock(&self.state).granted
    }
}

impl Shared {
    /// Takes a slot if one is free and no one waits, else joins the back of the queue (or is
    /// turned away if the queue is full).
    pub(crate) fn enqueue(&self) -> Result<Enqueued, Rejected> {
        let mut q = lock(&self.queue);
        let max = u64::from(self.hot.max.load(Ordering::Relaxed));
        let mut w = self.hot.word.load(Ordering::Acquire);
        loop {
            if w & WAITERS == 0 && (w & IN_FLIGHT) < max {
                // Room, and no one ahead of us: admit as try_acquire does.
                match self.hot.word.compare_exchange_weak(
                    w,
                    w.wrapping_add(ADMIT),
                    Ordering::Acquire,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        self.count_admitted_wrap(w.wrapping_add(ADMIT));
                        return Ok(Enqueued::Admitted);
                    }
                    Err(actual) => {
                        w = actual;
                        continue;
                    }
                }
            }
            if q.waiters.len() >= self.max_waiting as usize {
                return Err(Rejected::QueueFull);
            }
            if w & WAITERS != 0 {
                break;
            }
            // Raise the flag; it fails (and we look again) if a lock-free acquire or release
            // moved the word meanwhile. Once it is up, the word moves only under our lock or
            // downwards (releases, which will then take the lock and find us).
            match self.hot.word.compare_exchange_weak(
                w,
                w | WAITERS,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => w = actual,
            }
        }
        let node = Arc::new(Node::default());
        q.waiters.push_back(Arc::clone(&node));
        self.set_waiting(&q);
        Ok(Enqueued::Waiting(node))
    }

    /// Hands free slots to the first waiters while there is room, collecting their wakers.
    /// Called under the queue lock.
    fn grant(&self, q: &mut Queue, wakers: &mut Wakers) {
        let max = u64::from(self.hot.max.load(Ordering::Relaxed));
        while !q.waiters.is_empty() {
            // With waiters queued, `in_flight` only falls outside this lock, so room seen here
            // is still there when we fill it.
            let w = self.hot.word.load(Ordering::Acquire);
            if (w & IN_FLIGHT) >= max {
                break;
            }
            let Some(node) = q.waiters.pop_front() else {
                break;
            };
            // One more in flight, one more admitted; the last waiter out lowers the flag.
            let delta = if q.waiters.is_empty() {
                ADMIT.wrapping_sub(WAITERS)
            } else {
                ADMIT
            };
            let prev = self.hot.word.fetch_add(delta, Ordering::AcqRel);
            self.count_admitted_wrap(prev.wrapping_add(delta));
            let mut s = lock(&node.state);
            s.granted = true;
            if let Some(waker) = s.waker.take() {
                wakers.push(waker);
            }
        }
        self.set_waiting(q);
    }

    /// The slow half of a release: the word had the `WAITERS` flag when a slot was freed, so
    /// pass it on to the first waiter (or leave it free, if the queue emptied meanwhile or the
    /// bulkhead shrank below its in-flight count).
    #[cold]
    pub(crate) fn release_slow(&self) {
        let mut wakers = Wakers::new();
        {
            let mut q = lock(&self.queue);
            self.grant(&mut q, &mut wakers);
        }
        wake_all(wakers);
    }

    /// A waiter leaves the queue (dropped, or its maximum wait is over). Returns true if it
    /// had been granted a slot meanwhile: the caller then owns that slot (to keep as a permit,
    /// or release).
    pub(crate) fn withdraw(&self, node: &Arc<Node>) -> bool {
        let mut q = lock(&self.queue);
        if lock(&node.state).granted {
            return true;
        }
        if let Some(i) = q.waiters.iter().position(|n| Arc::ptr_eq(n, node)) {
            q.waiters.remove(i);
            if q.waiters.is_empty() {
                // The flag is up (the queue was not empty), so this clears exactly that bit.
                self.hot.word.fetch_sub(WAITERS, Ordering::AcqRel);
            }
            self.set_waiting(&q);
        }
        false
    }

    /// Sets the limit under the queue lock, and lets waiters in if it grew.
    pub(crate) fn set_max(&self, max: u32) {
        let mut wakers = Wakers::new();
        {
            let mut q = lock(&self.queue);
            self.hot.max.store(max, Ordering::Release);
            self.grant(&mut q, &mut wakers);
        }
        wake_all(wakers);
    }

    /// Mirrors the queue's length for `waiting()`, which reads it without the lock.
    fn set_waiting(&self, q: &Queue) {
        let n = u32::try_from(q.waiters.len()).unwrap_or(u32::MAX);
        self.waiting.store(n, std::sync::atomic::Ordering::Relaxed);
    }
}

#[cfg(feature = "tokio")]
pub use acquire::Acquire;
#[cfg(feature = "tokio")]
pub(crate) use acquire::AcquireState;

/// The future of [`Bulkhead::acquire`](crate::Bulkhead::acquire), on tokio's timer.
#[cfg(feature = "tokio")]
mod acquire {
    use std::fmt;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::time::Sleep;

    use super::{Enqueued, Node};
    use crate::bulkhead::{OwnedPermit, Shared};
    use crate::error::Rejected;
    use crate::sync::Arc;

    pub(crate) enum AcquireState {
        /// Not polled yet.
        Start,
        /// Queued behind `node`, until the grant or the deadline.
        Waiting {
            node: Arc<Node>,
            /// Boxed so the future stays `Unpin`; only queued calls allocate it.
            deadline: Option<Pin<Box<Sleep>>>,
        },
        /// Returned its result.
        Done,
    }

    /// The future of [`Bulkhead::acquire`](crate::Bulkhead::acquire): a slot, after waiting in
    /// FIFO order if the bulkhead is full and has a queue.
    ///
    /// `Send`, `'static` and `Unpin`. Cancel-safe: dropping it while queued leaves the queue,
    /// and a slot granted to it that it has not returned yet passes to the next waiter. Polled
    /// again after it finished, it returns [`Rejected::Full`] (it never panics).
    #[must_use = "futures do nothing unless polled"]
    pub struct Acquire {
        pub(crate) shared: Arc<Shared>,
        pub(crate) state: AcquireState,
    }

    impl Acquire {
        fn permit(&self) -> OwnedPermit {
            OwnedPermit {
                shared: Arc::clone(&self.shared),
            }
        }

        fn finish(
            &mut self,
            r: Result<OwnedPermit, Rejected>,
        ) -> Poll<Result<OwnedPermit, Rejected>> {
            self.state = AcquireState::Done;
            Poll::Ready(r)
        }
    }

    impl Future for Acquire {
        type Output = Result<OwnedPermit, Rejected>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let this = self.get_mut();
            let shared = &this.shared;
            if let AcquireState::Start = this.state {
                if shared.try_admit() {
                    return this.finish(Ok(this.permit()));
                }
                if shared.max_waiting == 0 {
                    let r = shared.reject(Rejected::Full);
                    return this.finish(Err(r));
                }
                match shared.enqueue() {
                    Ok(Enqueued::Admitted) => return this.finish(Ok(this.permit())),
                    Ok(Enqueued::Waiting(node)) => {
                        shared.counters.waited.incr();
                        let deadline = shared.max_wait.map(|d| Box::pin(tokio::time::sleep(d)));
                        this.state = AcquireState::Waiting { node, deadline };
                    }
                    Err(r) => {
                        let r = shared.reject(r);
                        #[cfg(feature = "tracing")]
                        tracing::debug!(target: "sinew_bulkhead", reason = "queue_full", "bulkhead call rejected");
                        return this.finish(Err(r));
                    }
                }
            }
            let AcquireState::Waiting { node, deadline } = &mut this.state else {
                // Polled after completion: a caller bug, answered without a panic.
                return Poll::Ready(Err(Rejected::Full));
            };
            if node.poll_granted(cx) {
                return this.finish(Ok(this.permit()));
            }
            if let Some(d) = deadline
                && d.as_mut().poll(cx).is_ready()
            {
                // A grant racing the deadline wins: the slot is ours, keep it.
                let granted = this.shared.withdraw(node);
                if granted {
                    return this.finish(Ok(this.permit()));
                }
                this.shared.counters.timed_out.incr();
                let r = this.shared.reject(Rejected::Timeout);
                #[cfg(feature = "tracing")]
                tracing::debug!(target: "sinew_bulkhead", reason = "timeout", "bulkhead call rejected");
                return this.finish(Err(r));
            }
            Poll::Pending
        }
    }

    impl Drop for Acquire {
        fn drop(&mut self) {
            if let AcquireState::Waiting { node, .. } = &self.state
                && self.shared.withdraw(node)
            {
                // Granted but never returned: pass the slot on.
                self.shared.release();
            }
        }
    }

    impl fmt::Debug for Acquire {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let state = match self.state {
                AcquireState::Start => "start",
                AcquireState::Waiting { .. } => "waiting",
                AcquireState::Done => "done",
            };
            f.debug_struct("Acquire").field("state", &state).finish()
        }
    }
}
