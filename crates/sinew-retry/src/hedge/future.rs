//! The race of an original request and its hedge, shared by [`Hedge::call`] and the tower
//! layer's response future: one hand-written future, no boxing.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use sinew_clock::Clock;
use tokio::time::{Instant, Sleep};

use super::Hedge;

/// Starts the hedge request once its delay has passed and the budget allowed it.
pub(crate) trait Launch {
    /// The hedge request.
    type Future;
    /// `Ready(Some)` with the started request, `Ready(None)` if it cannot be started (then
    /// the original alone decides), `Pending` while waiting (a tower service's readiness).
    fn poll_launch(&mut self, cx: &mut Context<'_>) -> Poll<Option<Self::Future>>;
}

/// [`Launch`] for [`Hedge::call`]: calls the operation again.
pub(crate) struct Again<F>(pub(crate) F);

impl<F: FnMut() -> Fut, Fut> Launch for Again<F> {
    type Future = Fut;
    fn poll_launch(&mut self, _cx: &mut Context<'_>) -> Poll<Option<Fut>> {
        Poll::Ready(Some((self.0)()))
    }
}

pin_project_lite::pin_project! {
    /// The original request, and its hedge once sent; the first to answer wins.
    pub(crate) struct Hedged<Fut, L, C: Clock> {
        #[pin]
        original: Fut,
        #[pin]
        hedge: Option<Fut>,
        // Some while waiting for the delay.
        #[pin]
        sleep: Option<Sleep>,
        // Some until the hedge is sent or given up.
        launch: Option<L>,
        handle: Hedge<C>,
        started: Instant,
    }
}

impl<Fut, L, C: Clock> Hedged<Fut, L, C> {
    /// Races `original` against a hedge started by `launch` after `delay`; with no delay
    /// (or no launcher) the original runs alone. The request must already be counted
    /// ([`Hedge::begin`]).
    pub(crate) fn new(
        handle: Hedge<C>,
        delay: Option<Duration>,
        original: Fut,
        launch: Option<L>,
    ) -> Self {
        let started = Instant::now();
        let (sleep, launch) = match (delay, launch) {
            (Some(d), Some(l)) => (Some(tokio::time::sleep_until(started + d)), Some(l)),
            _ => (None, None),
        };
        Hedged {
            original,
            hedge: None,
            sleep,
            launch,
            handle,
            started,
        }
    }
}

impl<Fut, L, C> Future for Hedged<Fut, L, C>
where
    Fut: Future,
    L: Launch<Future = Fut>,
    C: Clock,
{
    type Output = Fut::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Fut::Output> {
        let mut this = self.project();
        if let Poll::Ready(out) = this.original.poll(cx) {
            this.handle.finish(this.started.elapsed(), false);
            return Poll::Ready(out);
        }
        if let Some(sleep) = this.sleep.as_mut().as_pin_mut() {
            if sleep.poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.sleep.set(None);
            if !this.handle.try_hedge() {
                *this.launch = None;
            }
        }
        if let Some(launch) = this.launch.as_mut() {
            match launch.poll_launch(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(started) => {
                    *this.launch = None;
                    if let Some(fut) = started {
                        this.hedge.set(Some(fut));
                    }
                }
            }
        }
        if let Some(hedge) = this.hedge.as_pin_mut()
            && let Poll::Ready(out) = hedge.poll(cx)
        {
            // The original is dropped with this future: cancelled. Its time so far is past
            // the delay, which is all the percentile needs of it.
            this.handle.finish(this.started.elapsed(), true);
            return Poll::Ready(out);
        }
        Poll::Pending
    }
}
