//! The `tracing` events (`tracing` feature; without it every function here is empty and
//! compiles to nothing). Events mark state changes only, never an ordinary admission or
//! denial: target `sinew_ratelimit`.

#[cfg(feature = "tracing")]
use std::time::Duration;

use crate::Quota;

/// A limiter's quota was replaced (`INFO`).
#[inline]
pub(crate) fn quota_changed(limiter: &'static str, quota: Quota) {
    #[cfg(feature = "tracing")]
    tracing::event!(
        target: "sinew_ratelimit",
        tracing::Level::INFO,
        limiter,
        interval_ns = u64::try_from(quota.interval().as_nanos()).unwrap_or(u64::MAX),
        burst = quota.burst_size(),
        "{limiter} quota set to one token every {:?}, burst {}",
        quota.interval(),
        quota.burst_size()
    );
    #[cfg(not(feature = "tracing"))]
    let _ = (limiter, quota);
}

/// A keyed limiter evicted `evicted` refilled keys in one sweep (or one
/// `evict_refilled`), leaving about `keys` tracked (`DEBUG`).
#[inline]
pub(crate) fn keys_evicted(evicted: usize, keys: usize) {
    #[cfg(feature = "tracing")]
    tracing::event!(
        target: "sinew_ratelimit",
        tracing::Level::DEBUG,
        evicted,
        keys,
        "keyed rate limiter evicted {evicted} refilled keys, {keys} left"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = (evicted, keys);
}

/// A keyed limiter started refusing new keys: it tracks `max_keys` keys and none could be
/// evicted (`WARN`; once per episode, until a sweep makes room again).
#[cfg(feature = "tracing")]
pub(crate) fn key_capacity_reached(max_keys: usize, retry_after: Duration) {
    tracing::event!(
        target: "sinew_ratelimit",
        tracing::Level::WARN,
        max_keys,
        retry_after_ns = u64::try_from(retry_after.as_nanos()).unwrap_or(u64::MAX),
        "keyed rate limiter is full ({max_keys} keys owe tokens): refusing new keys for {retry_after:?}"
    );
}
