//! [`KeyedRateLimiter`]: one bucket per key, in bounded memory.

use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;
use sinew_clock::{Clock, SystemClock};

use crate::error::{CheckNError, Denied};
use crate::events;
use crate::gcra::{cost, decide, remaining};
use crate::metrics::KeyedMetrics;
use crate::quota::{Quota, QuotaCell};
#[cfg(feature = "tracing")]
use crate::sync::Flag;
use crate::sync::{AtomicUsize, Mutex, MutexGuard, Ordering, lock, try_lock};

/// Per-shard shares to choose from: 7/8 of a power of two, the most keys a hashbrown table of
/// that many buckets holds before it grows. Sizing shards this way keeps a full limiter's
/// tables near their maximum load factor instead of just past a doubling.
const SHARES: [usize; 8] = [896, 448, 224, 112, 56, 28, 14, 7];
/// Aim for at least this many shards, so threads rarely meet on one lock.
const MIN_SHARDS: usize = 32;
/// Never more shards than this (512 KiB of shard headers), whatever `max_keys` says: above
/// `MAX_SHARDS × 784` keys, each shard's share grows instead, so a huge `max_keys` (even
/// `usize::MAX`) allocates nothing up front beyond these headers.
const MAX_SHARDS: usize = 4096;

/// A rate limiter with one token bucket per key (client id, IP address, API key), all sharing
/// one [`Quota`], in memory bounded by a maximum number of keys.
///
/// # Memory
///
/// Each tracked key costs the key itself, one `u64` (its GCRA state) and a control byte of a
/// hashbrown table, divided by the table's load factor (at most 7/8). Keys whose bucket has
/// refilled are indistinguishable from keys never seen, so they are evicted — never a key that
/// still owes tokens, so no admission decision is lost. Eviction is incremental: the keys live
/// in many small shards (each at most about a thousand keys, behind its own lock; above
/// about 3.2 million keys the shard count stops at 4,096 and the shards grow instead), and a shard
/// is swept of refilled keys when it is about to grow, once about an eighth of its keys have
/// refilled, so the work per evicted key is constant. There is no stop-the-world sweep.
///
/// When the limiter already tracks `max_keys` keys, a **new** key is admitted only once room is
/// made by evicting refilled keys. To make it, the new key's own shard and up to 4 other shards
/// (round robin, skipping any that another thread holds) are swept if they are due on that
/// batch schedule, and, for one shard per call, as soon as any of its keys has refilled: a
/// bounded amount of work (at most 5 shards of about a thousand keys). If no room is found, the
/// key is denied ([`Denied::is_key_capacity`]), rather than admitted untracked or allowed to
/// evict a key that still owes tokens; `retry_after` is then the earliest refill among the
/// shards looked at. Residual delay: a refilled key in a shard not looked at in this call is
/// found only by later calls (each looks at the next 4 shards), so a new key may be refused
/// while refilled keys exist elsewhere, for up to `shards / 4` refused calls. Size `max_keys`
/// for the number of clients active within one refill time ([`Quota::refill_time`]).
///
/// # Time that moves backwards
///
/// Each shard remembers the latest time it has seen and treats an earlier clock reading as
/// that time. Otherwise a key evicted after refilling (its state forgotten) would be refilled
/// again by a clock set back before its TAT. The clamp is per shard (no shared write on the
/// check path), so after the clock moves back, keys in a shard that saw the later time are
/// judged at that time, and keys in other shards at their own shard's latest time: never more
/// admissions than the latest time seen allows. (The single-bucket [`RateLimiter`] keeps its
/// whole state and judges an earlier reading against it, which is stricter.)
///
/// [`RateLimiter`]: crate::RateLimiter
///
/// # Metrics
///
/// [`metrics`](Self::metrics) counts admissions, denials, evicted keys and key-capacity
/// denials. Each shard counts its own, in plain integers under the lock a check already holds
/// (no atomic operation, no shared cache line); `metrics` adds them up shard by shard.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sinew_ratelimit::{KeyedRateLimiter, ManualClock, Quota};
///
/// let clock = ManualClock::new(Duration::from_secs(1_000));
/// let limiter = KeyedRateLimiter::with_clock(Quota::per_second(1)?, 10_000, clock.clone());
/// limiter.check_key("alice")?;
/// assert!(limiter.check_key("alice").is_err()); // alice's bucket is empty
/// limiter.check_key("bob")?; // bob has his own
/// clock.advance(Duration::from_secs(1));
/// limiter.check_key("alice")?;
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct KeyedRateLimiter<K, C = SystemClock, S = RandomState> {
    shards: Box<[Shard<K>]>,
    /// The most keys one shard may hold, so a skewed hash cannot make one shard's sweep long.
    shard_limit: usize,
    max_keys: usize,
    /// Keys tracked in all shards; never below the true count, never above `max_keys`.
    len: AtomicUsize,
    /// Round-robin position for sweeping other shards when the limiter is full.
    cursor: AtomicUsize,
    quota: QuotaCell,
    hasher: S,
    clock: C,
    start: u64,
    /// Raised by the key-capacity denial that emitted its `tracing` event, lowered when a
    /// sweep makes room: one event per episode of refusing new keys, not one per refusal.
    #[cfg(feature = "tracing")]
    refusing: Flag,
}

/// One lock and table, on its own cache lines.
#[repr(align(128))]
struct Shard<K> {
    table: Mutex<Table<K>>,
}

struct Table<K> {
    map: HashTable<(K, u64)>,
    /// Do not sweep this shard before this time: too few keys will have refilled (see
    /// [`Table::sweep`]).
    sweep_at: u64,
    /// No key here refills before this time: the earliest TAT kept by the last sweep or
    /// inserted since (checks only move TATs later, so it is a lower bound). At the key cap,
    /// a shard is swept ahead of its batch schedule once this has passed.
    earliest: u64,
    /// The latest time this shard has seen. Time that appears to move backwards is clamped
    /// to it: an evicted key's TAT is forgotten, so without the clamp an earlier clock
    /// reading would find it "new" and refill it (see [`Table::clamp`]).
    latest: u64,
    /// This shard's share of [`KeyedRateLimiter::metrics`].
    counts: KeyedMetrics,
}

impl<K> Table<K> {
    /// `now`, or the latest time this shard has seen if that is later; records it.
    ///
    /// Every eviction in a shard happens at a clamped time, so a key is evicted only once
    /// its TAT is at or before `latest`, and every later decision in the shard is made at
    /// `latest` or after: a key re-appearing after its eviction finds the full bucket it
    /// had when it was evicted, whatever the clock says.
    fn clamp(&mut self, now: u64) -> u64 {
        self.latest = self.latest.max(now);
        self.latest
    }

    /// Counts a check's decision for [`KeyedRateLimiter::metrics`], and returns it.
    fn count(&mut self, decided: Result<(), Denied>) -> Result<(), Denied> {
        let counts = &mut self.counts;
        match &decided {
            Ok(()) => counts.admitted = counts.admitted.wrapping_add(1),
            Err(denied) => {
                counts.denied = counts.denied.wrapping_add(1);
                if denied.is_key_capacity() {
                    counts.key_capacity_denied = counts.key_capacity_denied.wrapping_add(1);
                }
            }
        }
        decided
    }

    /// Evicts every key whose bucket has refilled; returns how many went.
    ///
    /// Also decides when this shard is next worth sweeping: when about an eighth of the keys
    /// kept now will have refilled (estimated from 16 evenly spaced samples of their TATs), so
    /// each sweep of `s` keys frees about `s / 16` or more and the cost per evicted key stays
    /// constant, even under a flood of new keys at the key limit.
    fn sweep(&mut self, now: u64) -> usize {
        let before = self.map.len();
        let stride = (before / SAMPLES).max(1);
        let mut samples = [u64::MAX; SAMPLES];
        let (mut seen, mut taken) = (0usize, 0usize);
        let mut earliest = u64::MAX;
        self.map.retain(|(_, tat)| {
            let keep = *tat > now;
            if keep {
                earliest = earliest.min(*tat);
                if seen % stride == 0
                    && let Some(slot) = samples.get_mut(taken)
                {
                    *slot = *tat;
                    taken += 1;
                }
                seen += 1;
            }
            keep
        });
        samples.sort_unstable();
        // The second smallest of 16 samples: about the 1/8 quantile.
        self.sweep_at = if taken >= 2 { samples[1] } else { samples[0] };
        self.earliest = earliest;
        let evicted = before - self.map.len();
        self.counts.keys_evicted = self.counts.keys_evicted.wrapping_add(evicted as u64);
        evicted
    }
}

/// TAT samples a sweep keeps to schedule the next one.
const SAMPLES: usize = 16;

/// Other shards a new key at the key cap may sweep to make room.
const PROBES: usize = 4;

impl<K, C: fmt::Debug, S> fmt::Debug for KeyedRateLimiter<K, C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedRateLimiter")
            .field("quota", &self.quota.quota())
            .field("max_keys", &self.max_keys)
            .field("len", &self.len())
            .field("shards", &self.shards.len())
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq> KeyedRateLimiter<K> {
    /// A keyed limiter on the [`SystemClock`] tracking at most `max_keys` keys (0 is taken
    /// as 1), hashing keys with std's randomly seeded SipHash (keys often come from clients,
    /// and a seeded hash keeps them from aiming at one shard).
    pub fn new(quota: Quota, max_keys: usize) -> Self {
        Self::with_hasher(quota, max_keys, SystemClock, RandomState::new())
    }
}

impl<K: Hash + Eq, C: Clock> KeyedRateLimiter<K, C> {
    /// As [`new`](KeyedRateLimiter::new), on `clock`.
    pub fn with_clock(quota: Quota, max_keys: usize, clock: C) -> Self {
        Self::with_hasher(quota, max_keys, clock, RandomState::new())
    }
}

impl<K: Hash + Eq, C: Clock, S: BuildHasher> KeyedRateLimiter<K, C, S> {
    /// As [`with_clock`](KeyedRateLimiter::with_clock), hashing keys with `hasher`. Use a
    /// seeded hasher if clients choose the keys.
    pub fn with_hasher(quota: Quota, max_keys: usize, clock: C, hasher: S) -> Self {
        let max_keys = max_keys.max(1);
        // Shards are filled on average to 7/8 of their table's capacity when the limiter is
        // full, so the random spread of keys over shards (a standard deviation of about
        // sqrt(784) = 28 keys at the largest share) almost never pushes a table past 896 keys
        // into a doubling.
        let share = SHARES
            .iter()
            .copied()
            .find(|&share| max_keys.div_ceil(share * 7 / 8) >= MIN_SHARDS)
            .unwrap_or(7);
        let mut shards = max_keys.div_ceil((share * 7 / 8).max(1));
        // A shard may hold about twice its share, so a skewed spread of keys still fits.
        let mut shard_limit = share.saturating_mul(2).saturating_add(8);
        if shards > MAX_SHARDS {
            // Past the largest share: fixed shard count, larger (growable) tables.
            shards = MAX_SHARDS;
            let per_shard = max_keys.div_ceil(MAX_SHARDS);
            shard_limit = per_shard
                .saturating_add(per_shard / 7)
                .saturating_mul(2)
                .saturating_add(8);
        }
        let start = clock.now_nanos();
        KeyedRateLimiter {
            shards: (0..shards)
                .map(|_| Shard {
                    table: Mutex::new(Table {
                        map: HashTable::new(),
                        sweep_at: u64::MAX,
                        earliest: u64::MAX,
                        latest: 0,
                        counts: KeyedMetrics::default(),
                    }),
                })
                .collect(),
            shard_limit,
            max_keys,
            len: AtomicUsize::new(0),
            cursor: AtomicUsize::new(0),
            quota: QuotaCell::new(quota),
            hasher,
            clock,
            start,
            #[cfg(feature = "tracing")]
            refusing: Flag::default(),
        }
    }

    #[inline]
    fn now(&self) -> u64 {
        self.clock.now_nanos().saturating_sub(self.start)
    }

    /// The shard for a hash. Uses bits 20..52: hashbrown takes the table index from the low
    /// bits and the control tag from the top 7, and the shard must not correlate with either.
    #[inline]
    fn shard_index(&self, hash: u64) -> usize {
        let mid = (hash >> 20) & 0xFFFF_FFFF;
        // Lemire's multiply-shift: uniform over any shard count, no division.
        let index = (mid * self.shards.len() as u64) >> 32;
        usize::try_from(index).unwrap_or(0)
    }

    #[inline]
    fn lock_shard(&self, index: usize) -> MutexGuard<'_, Table<K>> {
        // `index < shards.len()` by construction of `shard_index`; fall back to shard 0
        // rather than panic.
        let shard = self.shards.get(index).or_else(|| self.shards.first());
        match shard {
            Some(shard) => lock(&shard.table),
            None => unreachable_empty(),
        }
    }

    /// Takes one token from `key`'s bucket if there is one. A key not seen before (or evicted
    /// after refilling) starts with a full bucket.
    ///
    /// # Errors
    ///
    /// [`Denied`] with the exact wait if the bucket is empty, or with
    /// [`Denied::is_key_capacity`] if `key` is new and the limiter is full of keys that still
    /// owe tokens. Nothing is consumed.
    pub fn check_key<Q>(&self, key: &Q) -> Result<(), Denied>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let p = self.quota.load();
        self.acquire(key, p.interval, p.depth)
    }

    /// Takes `n` tokens from `key`'s bucket if all are there, otherwise none.
    ///
    /// # Errors
    ///
    /// As [`RateLimiter::check_n`](crate::RateLimiter::check_n), plus the key-capacity denial
    /// of [`check_key`](Self::check_key).
    pub fn check_key_n<Q>(&self, key: &Q, n: u32) -> Result<(), CheckNError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let p = self.quota.load();
        let inc = cost(p, n)?;
        Ok(self.acquire(key, inc, p.depth)?)
    }

    fn acquire<Q>(&self, key: &Q, inc: u64, depth: u64) -> Result<(), Denied>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if inc == 0 {
            // Zero tokens always fit; no need to track the key for that.
            return Ok(());
        }
        let hash = self.hasher.hash_one(key);
        let index = self.shard_index(hash);
        let mut table = self.lock_shard(index);
        let now = table.clamp(self.now());
        if let Some((_, tat)) = table.map.find_mut(hash, |(k, _)| k.borrow() == key) {
            let decided = decide(*tat, now, inc, depth)
                .map(|new_tat| *tat = new_tat)
                .map_err(Denied::after);
            return table.count(decided);
        }
        // A new key has a full bucket, which holds any `inc <= depth`.
        let new_tat = now.saturating_add(inc);
        let room = self.make_room(&mut table, index, now);
        if let Err(denied) = table.count(room) {
            drop(table);
            #[cfg(feature = "tracing")]
            if self.refusing.raise() {
                events::key_capacity_reached(self.max_keys, denied.retry_after());
            }
            return Err(denied);
        }
        table.sweep_at = table.sweep_at.min(new_tat);
        table.earliest = table.earliest.min(new_tat);
        let hasher = &self.hasher;
        table
            .map
            .insert_unique(hash, (key.to_owned(), new_tat), |(k, _)| hasher.hash_one(k));
        Ok(())
    }

    /// Reserves room for one more key in `table` (counted in `len`), evicting refilled keys
    /// if needed.
    fn make_room(&self, table: &mut Table<K>, index: usize, now: u64) -> Result<(), Denied> {
        // Before the table grows, drop the keys that have refilled: steady churn then reuses
        // the table instead of doubling it.
        if table.map.len() == table.map.capacity() && now >= table.sweep_at {
            self.sweep(table, now);
        }
        if self.reserve(table) {
            return Ok(());
        }
        // At the key cap (or this shard's limit). First this shard: on its batch schedule,
        // or early (one sweep per call, a bounded `shard_limit` keys) once a key has refilled.
        let mut early_sweep = true;
        if now >= table.sweep_at || now >= table.earliest {
            early_sweep = now >= table.sweep_at;
            self.sweep(table, now);
            if self.reserve(table) {
                return Ok(());
            }
        }
        let mut wait_until = table.earliest;
        // The whole limiter is full: help by sweeping up to `PROBES` other shards, round
        // robin, each if it is free now (`try_lock`, so two threads doing this can never
        // deadlock) and due: on its batch schedule, or (for one shard per call) because one of
        // its keys has refilled. A key freed anywhere makes room for this one.
        if table.map.len() < self.shard_limit && self.shards.len() > 1 {
            for _ in 0..PROBES.min(self.shards.len() - 1) {
                let other = self.cursor.fetch_add(1, Ordering::Relaxed) % self.shards.len();
                let other = if other == index {
                    (other + 1) % self.shards.len()
                } else {
                    other
                };
                let Some(mut other_table) = self.shards.get(other).and_then(|s| try_lock(&s.table))
                else {
                    continue;
                };
                let now = other_table.clamp(now);
                let scheduled = now >= other_table.sweep_at;
                if scheduled || (early_sweep && now >= other_table.earliest) {
                    early_sweep &= scheduled;
                    self.sweep(&mut other_table, now);
                }
                wait_until = wait_until.min(other_table.earliest);
                drop(other_table);
                if self.reserve(table) {
                    return Ok(());
                }
            }
        }
        let wait = if wait_until == u64::MAX {
            // Nothing known to refill: suggest one full refill, the longest any key can owe.
            self.quota.load().depth
        } else {
            wait_until.saturating_sub(now).max(1)
        };
        Err(Denied::key_capacity(wait))
    }

    /// Sweeps `table` (see [`Table::sweep`]) and uncounts the keys it evicted. (Its `tracing`
    /// event, if any, is emitted under the shard's lock; sweeps are rare, at most 5 per check.)
    fn sweep(&self, table: &mut Table<K>, now: u64) {
        let freed = table.sweep(now);
        if freed > 0 {
            let before = self.len.fetch_sub(freed, Ordering::Relaxed);
            self.made_room(freed, before.saturating_sub(freed));
        }
    }

    /// Bookkeeping after `freed` keys were evicted, leaving `keys`: the event, and the end of
    /// an episode of refusing new keys.
    fn made_room(&self, freed: usize, keys: usize) {
        #[cfg(feature = "tracing")]
        self.refusing.lower();
        events::keys_evicted(freed, keys);
    }

    /// Counts one more key if both the limiter and this shard have room.
    fn reserve(&self, table: &Table<K>) -> bool {
        if table.map.len() >= self.shard_limit {
            return false;
        }
        let mut len = self.len.load(Ordering::Relaxed);
        while len < self.max_keys {
            match self
                .len
                .compare_exchange_weak(len, len + 1, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => len = actual,
            }
        }
        false
    }

    /// Would [`check_key`](Self::check_key) admit `key` now? Consumes nothing and does not
    /// start tracking `key`. (A new key is reported admissible even if the limiter is full.)
    ///
    /// # Errors
    ///
    /// [`Denied`] with the wait if `key`'s bucket is empty.
    pub fn peek_key<Q>(&self, key: &Q) -> Result<(), Denied>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let p = self.quota.load();
        let hash = self.hasher.hash_one(key);
        let table = self.lock_shard(self.shard_index(hash));
        let tat = table
            .map
            .find(hash, |(k, _)| k.borrow() == key)
            .map_or(0, |(_, tat)| *tat);
        decide(tat, self.now().max(table.latest), p.interval, p.depth)
            .map(drop)
            .map_err(Denied::after)
    }

    /// Whole tokens in `key`'s bucket now.
    pub fn remaining_key<Q>(&self, key: &Q) -> u32
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hasher.hash_one(key);
        let table = self.lock_shard(self.shard_index(hash));
        let tat = table
            .map
            .find(hash, |(k, _)| k.borrow() == key)
            .map_or(0, |(_, tat)| *tat);
        remaining(tat, self.now().max(table.latest), self.quota.load())
    }

    /// Evicts every key whose bucket has refilled, one shard at a time (each shard is locked
    /// only while it is swept), and shrinks the tables left mostly empty. Returns how many keys
    /// went. Never needed for correctness or to bound memory (that is `max_keys`); useful to
    /// give memory back after a crowd of clients has gone quiet, for example from a timer.
    pub fn evict_refilled(&self) -> usize {
        let mut total = 0;
        let hasher = &self.hasher;
        for index in 0..self.shards.len() {
            let mut table = self.lock_shard(index);
            let now = table.clamp(self.now());
            let freed = table.sweep(now);
            self.len.fetch_sub(freed, Ordering::Relaxed);
            total += freed;
            // Give memory back once a table is mostly empty (tables never shrink on their own).
            if table.map.len() < table.map.capacity() / 4 {
                table.map.shrink_to_fit(|(k, _)| hasher.hash_one(k));
            }
        }
        if total > 0 {
            // One event for the whole pass, not one per shard.
            self.made_room(total, self.len());
        }
        total
    }

    /// Replaces the quota for every key, without a lock on the check path (as
    /// [`RateLimiter::set_quota`](crate::RateLimiter::set_quota)).
    pub fn set_quota(&self, quota: Quota) {
        self.quota.set(quota);
        events::quota_changed("KeyedRateLimiter", quota);
    }
}

impl<K, C, S> KeyedRateLimiter<K, C, S> {
    /// Keys currently tracked (at most [`max_keys`](Self::max_keys)). Refilled keys that
    /// have not been evicted yet are counted.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// The entries actually stored, counted table by table (each shard locked in turn), for
    /// tests that check the key cap without trusting [`len`](Self::len)'s counter. Not part
    /// of the stable API.
    #[doc(hidden)]
    pub fn stored_keys(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| lock(&shard.table).map.len())
            .sum()
    }

    /// Admissions, denials, evicted keys and key-capacity denials since the limiter was made
    /// (see [`KeyedMetrics`] for what counts).
    ///
    /// Locks each shard in turn (as a check does, briefly) to add up its counts, so it costs
    /// `O(shards)`; under concurrent checks the sum mixes shards read at slightly different
    /// instants, each of them exact.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sinew_ratelimit::{KeyedRateLimiter, ManualClock, Quota};
    ///
    /// let clock = ManualClock::new(Duration::from_secs(1));
    /// let limiter = KeyedRateLimiter::with_clock(Quota::per_second(1)?, 1, clock);
    /// limiter.check_key("alice")?;
    /// assert!(limiter.check_key("alice").is_err()); // her bucket is empty
    /// assert!(limiter.check_key("bob").unwrap_err().is_key_capacity()); // no room for him
    /// let m = limiter.metrics();
    /// assert_eq!((m.admitted, m.denied, m.key_capacity_denied), (1, 2, 1));
    /// Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn metrics(&self) -> KeyedMetrics {
        self.shards
            .iter()
            .map(|shard| lock(&shard.table).counts)
            .fold(KeyedMetrics::default(), KeyedMetrics::add)
    }

    /// True if no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most keys this limiter tracks.
    pub fn max_keys(&self) -> usize {
        self.max_keys
    }

    /// The current quota.
    pub fn quota(&self) -> Quota {
        self.quota.quota()
    }

    /// The clock this limiter reads.
    pub fn clock(&self) -> &C {
        &self.clock
    }
}

/// `shards` is never empty (`max_keys >= 1` makes at least one); this is never called.
#[cold]
fn unreachable_empty() -> ! {
    #[allow(clippy::panic)]
    {
        panic!("sinew-ratelimit: a keyed limiter always has at least one shard")
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    use super::*;
    use sinew_clock::ManualClock;
    use std::time::Duration;

    /// The per-shard counts fit in the shard's own 128 bytes: counting costs no memory.
    #[test]
    fn a_shard_is_two_cache_lines() {
        assert_eq!(std::mem::size_of::<Shard<u64>>(), 128);
        assert_eq!(std::mem::size_of::<Shard<String>>(), 128);
    }

    #[test]
    fn shard_sizing() {
        let q = Quota::per_second(1).unwrap();
        let one: KeyedRateLimiter<u64> = KeyedRateLimiter::new(q, 0);
        assert_eq!(one.max_keys(), 1);
        assert_eq!(one.shards.len(), 1);
        let big: KeyedRateLimiter<u64> = KeyedRateLimiter::new(q, 1_000_000);
        assert_eq!(big.shards.len(), 1_000_000usize.div_ceil(784));
        let mid: KeyedRateLimiter<u64> = KeyedRateLimiter::new(q, 10_000);
        assert!(mid.shards.len() >= MIN_SHARDS);
        let just_one: KeyedRateLimiter<u64> = KeyedRateLimiter::new(q, 1);
        assert_eq!(just_one.shards.len(), 1);
        assert!(just_one.check_key(&1).is_ok());
        assert!(just_one.check_key(&2).unwrap_err().is_key_capacity());
    }

    /// Huge caps neither overflow nor allocate per key up front: the shard count stops at
    /// `MAX_SHARDS` and each shard's limit grows (saturating) instead.
    #[test]
    fn huge_max_keys_are_capped_in_shards_not_refused() {
        let q = Quota::per_second(1).unwrap();
        for max_keys in [
            usize::MAX,
            usize::MAX / 2,
            1_000_000_000_000,
            4096 * 784 + 1,
        ] {
            let l: KeyedRateLimiter<u64> = KeyedRateLimiter::new(q, max_keys);
            assert_eq!(l.max_keys(), max_keys);
            assert_eq!(l.shards.len(), MAX_SHARDS);
            assert!(l.shard_limit >= max_keys.div_ceil(MAX_SHARDS));
            for k in 0..10_000u64 {
                l.check_key(&k).unwrap();
            }
            assert_eq!(l.len(), 10_000);
            assert!(l.check_key(&0).is_err());
        }
        let edge: KeyedRateLimiter<u64> = KeyedRateLimiter::new(q, 4096 * 784);
        assert_eq!(edge.shards.len(), MAX_SHARDS);
        assert_eq!(edge.shard_limit, 1800);
    }

    /// Regression: at 1/s burst 1, a key admitted at t=10 (TAT 11) and evicted at t=12 must
    /// not be admitted again when the clock is set back to 5.
    #[test]
    fn clock_set_back_after_eviction_admits_nothing_extra() {
        let clock = ManualClock::new(Duration::from_secs(10));
        let q = Quota::per_second(1).unwrap().burst(1).unwrap();
        let l = KeyedRateLimiter::with_clock(q, 100, clock.clone());
        l.check_key(&7u32).unwrap();
        clock.set(Duration::from_secs(12));
        assert_eq!(l.evict_refilled(), 1);
        clock.set(Duration::from_secs(5));
        // The shard still judges at t=12: the key's bucket is full there, one admission...
        l.check_key(&7u32).unwrap();
        // ...and no more until the clock passes 13.
        assert!(l.check_key(&7u32).is_err());
        assert!(l.peek_key(&7u32).is_err());
        assert_eq!(l.remaining_key(&7u32), 0);
        clock.set(Duration::from_secs(12));
        assert!(l.check_key(&7u32).is_err());
        clock.set(Duration::from_secs(13));
        l.check_key(&7u32).unwrap();
    }

    /// At the key cap, one refilled key is enough to make room, even before its shard's
    /// batch schedule (an eighth of its keys refilled) says a sweep is due.
    #[test]
    fn at_the_cap_one_refilled_key_makes_room() {
        let clock = ManualClock::new(Duration::from_secs(10));
        let q = Quota::per_second(1).unwrap().burst(1).unwrap();
        let l = KeyedRateLimiter::with_clock(q, 2, clock.clone());
        assert_eq!(l.shards.len(), 1);
        l.check_key("a").unwrap(); // TAT 11.0
        clock.advance(Duration::from_millis(500));
        l.check_key("b").unwrap(); // TAT 11.5
        clock.advance(Duration::from_millis(100));
        // A sweep now schedules the next one for the second-smallest TAT sampled: 11.5.
        assert_eq!(l.evict_refilled(), 0);
        let denied = l.check_key("c").unwrap_err();
        assert!(denied.is_key_capacity());
        assert_eq!(denied.retry_after(), Duration::from_millis(400));
        clock.advance(Duration::from_millis(400)); // t = 11.0: "a" has refilled
        l.check_key("c").unwrap();
        assert_eq!(l.len(), 2);
    }

    /// The probes reach other shards: with every shard full but one refilled key in some
    /// shard, a new key is admitted within a few refused calls (4 shards looked at per call).
    #[test]
    fn at_the_cap_other_shards_are_probed() {
        let clock = ManualClock::new(Duration::from_secs(10));
        let q = Quota::per_second(1).unwrap().burst(1).unwrap();
        let l = KeyedRateLimiter::with_clock(q, 200, clock.clone());
        let shards = l.shards.len();
        assert!(shards > 8);
        l.check_key(&0u32).unwrap(); // TAT 11.0
        clock.advance(Duration::from_millis(500));
        let mut k = 1u32;
        while l.len() < 200 {
            l.check_key(&k).unwrap(); // TAT 11.5
            k += 1;
        }
        assert_eq!(l.evict_refilled(), 0);
        clock.advance(Duration::from_millis(500)); // t = 11.0: only key 0 has refilled
        let mut refused = 0;
        while l.check_key(&1_000_000u32).is_err() {
            refused += 1;
            assert!(refused <= shards / 4 + 1, "refused {refused} times");
        }
        assert_eq!(l.len(), 200);
    }

    #[test]
    fn sweep_tracks_earliest_refill() {
        let clock = ManualClock::new(Duration::from_secs(10));
        let q = Quota::per_second(1).unwrap();
        let l = KeyedRateLimiter::with_clock(q, 100, clock.clone());
        for k in 0..10u32 {
            l.check_key(&k).unwrap();
        }
        assert_eq!(l.len(), 10);
        assert_eq!(l.evict_refilled(), 0);
        clock.advance(Duration::from_secs(1));
        assert_eq!(l.evict_refilled(), 10);
        assert!(l.is_empty());
    }

    #[test]
    fn evict_refilled_gives_memory_back() {
        let clock = ManualClock::new(Duration::from_secs(10));
        let q = Quota::per_second(1).unwrap();
        let l = KeyedRateLimiter::with_clock(q, 100_000, clock.clone());
        for k in 0..100_000u32 {
            l.check_key(&k).unwrap();
        }
        let capacity = |l: &KeyedRateLimiter<u32, ManualClock>| -> usize {
            (0..l.shards.len())
                .map(|i| l.lock_shard(i).map.capacity())
                .sum()
        };
        assert!(capacity(&l) >= 100_000);
        clock.advance(Duration::from_secs(1));
        assert_eq!(l.evict_refilled(), 100_000);
        assert_eq!(capacity(&l), 0);
    }
}
