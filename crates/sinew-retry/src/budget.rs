//! [`RetryBudget`]: retries as a share of the requests, shared by every caller of a dependency.

use std::fmt;
use std::time::Duration;

use sinew_clock::{Clock, SystemClock};

use crate::error::ConfigError;
use crate::sync::{Arc, AtomicU64, Ordering};

/// Slots of the deposit ring: a deposit lives for `window` to `window * (1 - 1/SLOTS)`.
const SLOTS: u64 = 10;
const SLOTS_USIZE: usize = 10;
const SLOTS_U32: u32 = 10;
/// Credit is counted in thousandths of a retry.
const UNIT: u64 = 1000;
/// A slot word: the slot's epoch (mod 2^32) above, its credit in thousandths below.
const LOW32: u64 = u32::MAX as u64;
/// The floor word: the second above (40 bits, exact until the year 36812), grants below.
const FLOOR_BITS: u32 = 24;
const FLOOR_MASK: u64 = (1 << FLOOR_BITS) - 1;
const NANOS_PER_SEC: u64 = 1_000_000_000;

const MAX_RATIO: f64 = 1000.0;
const MAX_MIN_PER_SECOND: u32 = 1_000_000;
const MIN_WINDOW: Duration = Duration::from_millis(100);
const MAX_WINDOW: Duration = Duration::from_secs(3600);

/// A retry budget: retries allowed as a share (`ratio`) of the original requests of the last
/// `window`, plus a floor of `min_per_second`, shared by every clone and thread.
///
/// Call [`deposit`](Self::deposit) once per original request and
/// [`try_withdraw`](Self::try_withdraw) before each retry; retry only when it returns `true`.
/// This is Finagle's `RetryBudget` and the idea behind gRPC's retry throttling and tower's
/// `TpsBudget`: when a dependency fails every call, retries stay at `ratio` of the traffic
/// (plus the floor) instead of multiplying it, however many callers and layers retry.
///
/// ```
/// use std::time::Duration;
/// use sinew_retry::{ManualClock, RetryBudget};
///
/// let clock = ManualClock::new(Duration::from_secs(1_000));
/// let budget = RetryBudget::builder()
///     .ratio(0.2)
///     .min_per_second(0)
///     .clock(clock.clone())
///     .build()?;
/// for _ in 0..10 {
///     budget.deposit(); // ten requests...
/// }
/// let retries = (0..10).filter(|_| budget.try_withdraw()).count();
/// assert_eq!(retries, 2); // ...buy two retries
///
/// // Deposits expire after the window (10 s by default).
/// for _ in 0..10 {
///     budget.deposit();
/// }
/// clock.advance(Duration::from_secs(10));
/// assert!(!budget.try_withdraw());
/// assert_eq!(budget.metrics().refused, 9);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # The bound
///
/// Let `r` be `ratio` rounded to the nearest thousandth (credit is kept in thousandths of a
/// retry), `m` the floor `min_per_second`, `W` the window. Time (the budget's clock, in
/// nanoseconds) is cut into slots `k(t) = floor(t * M / 2^64)` with `M = ceil(2^64 / (W / 10))`
/// (a multiply, not a division, per call), each `2^64 / M <= W / 10` long; each of the ten
/// slot words holds one slot's credit, tagged with `k`.
///
/// - A deposit at time `t` adds `r` to the word of slot `k(t)`, replacing the word's content
///   if it holds an older slot (that credit has expired), and dropping the deposit if it holds
///   a newer one (a thread whose clock reading is stale).
/// - A withdrawal at time `t` takes exactly 1 from the word of a slot `k` in
///   `k(t) - 9 ..= k(t)` whose tag is `k` and whose credit is at least 1, oldest first; failing
///   that, one of the `m` grants of the current second (a second word: the second and its
///   count); failing that, it is refused.
///
/// Each step is one compare-exchange on one word, so concurrent withdrawals cannot both take
/// the last unit. Hence, exactly (not just on average):
///
/// 1. **Every retry granted from credit is paid for by deposits of the last `W`.** A word
///    tagged `k` only ever received deposits made in slot `k` (a tag is set only by a deposit
///    of that slot, and tags only move forward), and a withdrawal takes 1 only while the
///    word holds at least 1, so the credit withdrawn from slot `k` never exceeds `r` times the
///    deposits made in it. A withdrawal at `t` draws on slots `k >= k(t) - 9`, whose deposits
///    read the clock after `t - 10 * (W / 10) >= t - W`.
/// 2. **The floor grants at most `m` per second** (per whole second of the clock).
///
/// So over any interval of length `L` (seconds), the successful withdrawals are at most
///
/// ```text
/// m * (ceil(L) + 1)  +  r * (deposits made from W before the interval to its end)
/// ```
///
/// and over a window-long interval `m * (W + 1) + r * (deposits in the window and the one
/// before it)`. Over a whole run of length `T` the retries are at most `r * requests +
/// m * (ceil(T) + 1)`; that is what caps amplification at `1 + r` (plus the floor) in an
/// outage. Deposits stop counting `W * 0.9` to `W` after they are made.
///
/// The budget may grant less: a slot's credit below one retry is not pooled with another
/// slot's (so a client making fewer than `5 * 10 / W` requests per second at `r = 0.2` lives
/// on the floor), a deposit by a thread with a stale clock reading is dropped, and a slot
/// holds at most 2^32 thousandths of a retry. All of these err on the side of fewer retries.
/// A slot word left untouched for 2^32 slots (13 years at the smallest window) could read as
/// current again; no other case breaks the bound.
///
/// # Cost
///
/// A deposit is one clock read and one compare-exchange (plus a counter); a withdrawal one
/// clock read, up to ten loads and one compare-exchange (plus a counter). The counters sit on
/// cache lines of their own, away from the slot words. No allocation, no lock. Clones share
/// one budget. The clock read is most of the cost on [`SystemClock`] (about 10 ns); a budget
/// built with `sinew_clock::CachedClock` reads an atomic instead, at the cache's resolution
/// (its lag only makes deposits expire that much sooner).
pub struct RetryBudget<C = SystemClock> {
    inner: Arc<Inner<C>>,
}

struct Inner<C> {
    slots: [AtomicU64; SLOTS_USIZE],
    floor: AtomicU64,
    /// On cache lines of their own: a counter's add then never takes the line of the slot
    /// words another thread is scanning or swapping.
    counts: Padded<Counts>,
    /// Credit per deposit, thousandths of a retry.
    per_deposit: u64,
    min_per_second: u64,
    /// `ceil(2^64 / (window / SLOTS in ns))`: a time's slot is `now * slot_mul >> 64`, a
    /// multiply instead of a division on every call. Each slot is then `2^64 / slot_mul`
    /// nanoseconds long, at most `window / SLOTS`.
    slot_mul: u64,
    ratio: f64,
    window: Duration,
    clock: C,
}

struct Counts {
    deposits: AtomicU64,
    withdrawals: AtomicU64,
    refused: AtomicU64,
}

/// Keeps its content on cache lines of its own (128 bytes: x86-64 prefetches lines in pairs).
#[repr(align(128))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<C> Clone for RetryBudget<C> {
    fn clone(&self) -> Self {
        RetryBudget {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C: Clock> fmt::Debug for RetryBudget<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field("ratio", &self.inner.ratio)
            .field("min_per_second", &self.inner.min_per_second)
            .field("window", &self.inner.window)
            .field("balance", &self.balance())
            .field("metrics", &self.metrics())
            .finish()
    }
}

/// A budget's counters, from [`RetryBudget::metrics`]: each a count since it was built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct BudgetMetrics {
    /// Calls of [`deposit`](RetryBudget::deposit).
    pub deposits: u64,
    /// Calls of [`try_withdraw`](RetryBudget::try_withdraw) that returned `true`.
    pub withdrawals: u64,
    /// Calls of [`try_withdraw`](RetryBudget::try_withdraw) that returned `false`.
    pub refused: u64,
}

/// The default ratio: one retry per ten requests, the per-client retry budget of Google's SRE
/// book ("Handling Overload"). In a full outage a layer then adds 10% to the load, plus the
/// floor. Finagle and tower's `TpsBudget` default to 0.2; with 0.2 and the floor, a 1,000
/// requests a second client sends 1.21x its load to a dead dependency.
pub const DEFAULT_RATIO: f64 = 0.1;

impl RetryBudget {
    /// A budget with the defaults: ratio 0.1, 10 retries per second, a 10 s window, the
    /// system clock.
    pub fn new() -> Self {
        RetryBudget::from_checked(DEFAULT_RATIO, 10, Duration::from_secs(10), SystemClock)
    }

    /// A builder, starting from the defaults of [`new`](Self::new).
    pub fn builder() -> RetryBudgetBuilder {
        RetryBudgetBuilder {
            ratio: DEFAULT_RATIO,
            min_per_second: 10,
            window: Duration::from_secs(10),
            clock: SystemClock,
        }
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget::new()
    }
}

impl<C: Clock> RetryBudget<C> {
    fn from_checked(ratio: f64, min_per_second: u32, window: Duration, clock: C) -> Self {
        // Checked by the builder: ratio in [0, 1000], window in [100 ms, 1 h].
        #[allow(clippy::cast_possible_truncation)] // in [0, 10^6]: exact
        let per_deposit = (ratio * UNIT as f64).round() as u64;
        let window_nanos = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
        RetryBudget {
            inner: Arc::new(Inner {
                slots: std::array::from_fn(|_| AtomicU64::new(0)),
                floor: AtomicU64::new(0),
                counts: Padded(Counts {
                    deposits: AtomicU64::new(0),
                    withdrawals: AtomicU64::new(0),
                    refused: AtomicU64::new(0),
                }),
                per_deposit,
                min_per_second: u64::from(min_per_second),
                slot_mul: slot_multiplier(window_nanos / SLOTS),
                ratio,
                window,
                clock,
            }),
        }
    }

    /// Records an original request (not a retry): adds `ratio` of a retry to the budget, for
    /// `window`.
    #[inline]
    pub fn deposit(&self) {
        let inner = &*self.inner;
        inner.counts.deposits.fetch_add(1, Ordering::Relaxed);
        if inner.per_deposit == 0 {
            return;
        }
        let k = inner.slot_of(inner.clock.now_nanos());
        let tag = tag_of(k);
        let Some(slot) = inner.slot(k) else {
            return;
        };
        let mut word = slot.load(Ordering::Relaxed);
        loop {
            let (t, credit) = split(word);
            let new = if t == tag {
                pack(tag, (credit + inner.per_deposit).min(LOW32))
            } else if is_older(t, tag) {
                pack(tag, inner.per_deposit.min(LOW32))
            } else {
                // The slot already belongs to a later slot of time: this thread's reading is
                // stale. Dropping the deposit errs on the side of fewer retries.
                return;
            };
            match slot.compare_exchange_weak(word, new, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return,
                Err(now) => word = now,
            }
        }
    }

    /// Asks for one retry: `true` (and the retry is counted) if the budget allows it now.
    #[inline]
    pub fn try_withdraw(&self) -> bool {
        let inner = &*self.inner;
        let now = inner.clock.now_nanos();
        if inner.take_credit(now) || inner.take_floor(now) {
            inner.counts.withdrawals.fetch_add(1, Ordering::Relaxed);
            true
        } else {
            inner.counts.refused.fetch_add(1, Ordering::Relaxed);
            false
        }
    }

    /// Retries available now: whole retries of credit in the live slots plus what is left of
    /// this second's floor. A snapshot; concurrent callers may change it at once.
    pub fn balance(&self) -> u64 {
        let inner = &*self.inner;
        let now = inner.clock.now_nanos();
        let current = tag_of(inner.slot_of(now));
        let credit: u64 = inner
            .slots
            .iter()
            .filter_map(|slot| Inner::<C>::live(slot.load(Ordering::Acquire), current))
            .map(|(credit, _)| credit / UNIT)
            .sum();
        let (second, used) = split_floor(inner.floor.load(Ordering::Acquire));
        let used = if second == now / NANOS_PER_SEC {
            used
        } else {
            0
        };
        credit + inner.min_per_second.saturating_sub(used)
    }

    /// The counters: deposits, withdrawals granted and refused.
    pub fn metrics(&self) -> BudgetMetrics {
        let inner = &*self.inner;
        BudgetMetrics {
            deposits: inner.counts.deposits.load(Ordering::Relaxed),
            withdrawals: inner.counts.withdrawals.load(Ordering::Relaxed),
            refused: inner.counts.refused.load(Ordering::Relaxed),
        }
    }

    /// The budget's clock.
    pub fn clock(&self) -> &C {
        &self.inner.clock
    }

    /// The ratio set (credit is kept in thousandths: the bound uses it rounded).
    pub fn ratio(&self) -> f64 {
        self.inner.ratio
    }

    /// The floor, retries per second.
    pub fn min_per_second(&self) -> u32 {
        u32::try_from(self.inner.min_per_second).unwrap_or(u32::MAX)
    }

    /// How long a deposit counts.
    pub fn window(&self) -> Duration {
        self.inner.window
    }
}

impl<C> Inner<C> {
    /// The slot of time `now` (nanoseconds).
    #[inline]
    fn slot_of(&self, now: u64) -> u64 {
        ((u128::from(now) * u128::from(self.slot_mul)) >> 64) as u64
    }

    /// The word of slot `k` (always `Some`: `k % SLOTS` is in range).
    #[inline]
    fn slot(&self, k: u64) -> Option<&AtomicU64> {
        self.slots.get(usize::try_from(k % SLOTS).ok()?)
    }

    /// The credit of a slot word for a withdrawal in slot `current`, and how many slots old
    /// the word is: `None` unless it is one of the last `SLOTS` slots (a word written by a
    /// thread whose reading is ahead of `current` is not live yet).
    #[inline]
    fn live(word: u64, current: u32) -> Option<(u64, u32)> {
        let (tag, credit) = split(word);
        let age = current.wrapping_sub(tag);
        (age < SLOTS_U32).then_some((credit, age))
    }

    /// Takes one retry of credit from the oldest live slot that has one (it expires first).
    /// Scans all the words (in array order: a live word's age says which slot it is), then
    /// one compare-exchange; a lost race scans again.
    #[inline]
    fn take_credit(&self, now: u64) -> bool {
        if self.per_deposit == 0 {
            return false;
        }
        let current = tag_of(self.slot_of(now));
        loop {
            let mut oldest: Option<(&AtomicU64, u64, u32)> = None;
            for slot in &self.slots {
                let word = slot.load(Ordering::Acquire);
                if let Some((credit, age)) = Self::live(word, current)
                    && credit >= UNIT
                    && oldest.is_none_or(|(_, _, a)| age > a)
                {
                    oldest = Some((slot, word, age));
                }
            }
            let Some((slot, word, _)) = oldest else {
                return false;
            };
            if slot
                .compare_exchange(word, word - UNIT, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return true;
            }
        }
    }

    #[inline]
    fn take_floor(&self, now: u64) -> bool {
        if self.min_per_second == 0 {
            return false;
        }
        let second = now / NANOS_PER_SEC;
        let mut word = self.floor.load(Ordering::Acquire);
        loop {
            let (s, used) = split_floor(word);
            let new = if s == second && used < self.min_per_second {
                word + 1
            } else if s < second {
                (second << FLOOR_BITS) | 1
            } else {
                // This second's floor is spent (or the word is ahead of a stale reading).
                return false;
            };
            match self
                .floor
                .compare_exchange_weak(word, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(now) => word = now,
            }
        }
    }
}

/// `ceil(2^64 / slot_nanos)` (`slot_nanos` is at least 10 ms, so it fits).
fn slot_multiplier(slot_nanos: u64) -> u64 {
    let m = (1u128 << 64).div_ceil(u128::from(slot_nanos.max(1)));
    u64::try_from(m).unwrap_or(u64::MAX)
}

/// A slot's tag: its number mod 2^32.
#[inline]
fn tag_of(slot: u64) -> u32 {
    #[allow(clippy::cast_possible_truncation)] // the low 32 bits are the tag
    let tag = slot as u32;
    tag
}

#[inline]
fn split(word: u64) -> (u32, u64) {
    ((word >> 32) as u32, word & LOW32)
}

#[inline]
fn pack(tag: u32, credit: u64) -> u64 {
    (u64::from(tag) << 32) | credit
}

#[inline]
fn split_floor(word: u64) -> (u64, u64) {
    (word >> FLOOR_BITS, word & FLOOR_MASK)
}

/// Whether slot tag `a` is before `b`, in wrapping (serial number) order.
#[inline]
fn is_older(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) > 0
}

/// Builds a [`RetryBudget`]; start with [`RetryBudget::builder`].
///
/// | setting | default |
/// |---|---|
/// | [`ratio`](Self::ratio) | 0.1 ([`DEFAULT_RATIO`]; Finagle and tower's `TpsBudget` use 0.2) |
/// | [`min_per_second`](Self::min_per_second) | 10 |
/// | [`window`](Self::window) | 10 s |
/// | [`clock`](Self::clock) | [`SystemClock`] |
#[derive(Clone, Debug)]
pub struct RetryBudgetBuilder<C = SystemClock> {
    ratio: f64,
    min_per_second: u32,
    window: Duration,
    clock: C,
}

impl<C: Clock> RetryBudgetBuilder<C> {
    /// Retries allowed per original request (finite, 0 to 1000; kept to the thousandth).
    pub fn ratio(mut self, ratio: f64) -> Self {
        self.ratio = ratio;
        self
    }

    /// The floor: retries allowed every second whatever the deposits, so a client with few
    /// requests can still retry (0 to 1,000,000).
    pub fn min_per_second(mut self, retries: u32) -> Self {
        self.min_per_second = retries;
        self
    }

    /// How long a deposit counts (100 ms to 1 hour); it stops counting between `0.9 * window`
    /// and `window` after it is made.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The time source ([`ManualClock`](crate::ManualClock) in tests).
    pub fn clock<C2: Clock>(self, clock: C2) -> RetryBudgetBuilder<C2> {
        RetryBudgetBuilder {
            ratio: self.ratio,
            min_per_second: self.min_per_second,
            window: self.window,
            clock,
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first out-of-range setting.
    pub fn build(self) -> Result<RetryBudget<C>, ConfigError> {
        if !(self.ratio.is_finite() && (0.0..=MAX_RATIO).contains(&self.ratio)) {
            return Err(ConfigError::Ratio(self.ratio));
        }
        if self.min_per_second > MAX_MIN_PER_SECOND {
            return Err(ConfigError::MinPerSecond(self.min_per_second));
        }
        if !(MIN_WINDOW..=MAX_WINDOW).contains(&self.window) {
            return Err(ConfigError::Window(self.window));
        }
        Ok(RetryBudget::from_checked(
            self.ratio,
            self.min_per_second,
            self.window,
            self.clock,
        ))
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;
    use sinew_clock::ManualClock;

    const T0: Duration = Duration::from_secs(1_000);

    fn budget(ratio: f64, floor: u32) -> (RetryBudget<ManualClock>, ManualClock) {
        let clock = ManualClock::new(T0);
        let b = RetryBudget::builder()
            .ratio(ratio)
            .min_per_second(floor)
            .window(Duration::from_secs(10))
            .clock(clock.clone())
            .build()
            .unwrap();
        (b, clock)
    }

    fn drain(b: &RetryBudget<ManualClock>) -> u64 {
        let mut n = 0;
        while b.try_withdraw() {
            n += 1;
        }
        n
    }

    #[test]
    fn deposits_buy_exactly_ratio_retries() {
        let (b, _) = budget(0.2, 0);
        for _ in 0..100 {
            b.deposit();
        }
        assert_eq!(b.balance(), 20);
        assert_eq!(drain(&b), 20);
        assert_eq!(b.balance(), 0);
        let m = b.metrics();
        assert_eq!((m.deposits, m.withdrawals, m.refused), (100, 20, 1));
    }

    #[test]
    fn deposits_expire_after_the_window() {
        let (b, clock) = budget(0.5, 0);
        for _ in 0..10 {
            b.deposit(); // slot 0 of the window: 5 retries
        }
        clock.advance(Duration::from_millis(9_999));
        assert_eq!(b.balance(), 5, "still live just before the window ends");
        clock.advance(Duration::from_millis(1));
        assert_eq!(b.balance(), 0, "gone a full window after the slot started");
        assert!(!b.try_withdraw());
        // A deposit made late in a slot lives at least 0.9 window.
        let (b, clock) = budget(0.5, 0);
        clock.advance(Duration::from_millis(999));
        b.deposit();
        b.deposit();
        clock.advance(Duration::from_millis(9_000));
        assert_eq!(b.balance(), 1);
        clock.advance(Duration::from_millis(1));
        assert_eq!(b.balance(), 0);
    }

    #[test]
    fn spend_oldest_first_and_slots_do_not_pool() {
        let (b, clock) = budget(0.2, 0);
        for _ in 0..5 {
            b.deposit();
        }
        clock.advance(Duration::from_secs(1));
        for _ in 0..9 {
            b.deposit(); // 1.8 retries: one whole
        }
        assert_eq!(b.balance(), 2);
        assert!(b.try_withdraw()); // from the older slot
        clock.advance(Duration::from_secs(9)); // the older slot expires
        assert_eq!(b.balance(), 1);
        assert!(b.try_withdraw());
        assert!(!b.try_withdraw(), "0.8 left is not a retry");
    }

    #[test]
    fn the_floor_refills_each_second() {
        let (b, clock) = budget(0.2, 3);
        assert_eq!(b.balance(), 3);
        assert_eq!(drain(&b), 3);
        clock.advance(Duration::from_millis(999));
        assert_eq!(drain(&b), 0, "same second");
        clock.advance(Duration::from_millis(1));
        assert_eq!(drain(&b), 3, "next second");
        // Unused floor does not accumulate.
        clock.advance(Duration::from_secs(5));
        assert_eq!(b.balance(), 3);
        // Credit is spent before the floor.
        for _ in 0..10 {
            b.deposit();
        }
        assert_eq!(b.balance(), 5);
        assert_eq!(drain(&b), 5);
    }

    #[test]
    fn stale_readings_never_add_credit() {
        let (b, clock) = budget(1.0, 0);
        clock.advance(Duration::from_secs(10)); // slot 10 of the ring overwrites position 0
        b.deposit();
        clock.set(T0); // a reading from the past maps to the same word
        b.deposit();
        assert_eq!(
            b.balance(),
            0,
            "the stale deposit is dropped, the newer slot is not live"
        );
        clock.set(T0 + Duration::from_secs(10));
        assert_eq!(drain(&b), 1);
    }

    #[test]
    fn bad_settings_are_errors_naming_them() {
        let b = || RetryBudget::builder();
        assert_eq!(
            b().ratio(-0.1).build().unwrap_err(),
            ConfigError::Ratio(-0.1)
        );
        assert!(matches!(
            b().ratio(f64::NAN).build(),
            Err(ConfigError::Ratio(_))
        ));
        assert_eq!(
            b().min_per_second(2_000_000).build().unwrap_err(),
            ConfigError::MinPerSecond(2_000_000)
        );
        assert_eq!(
            b().window(Duration::from_millis(10)).build().unwrap_err(),
            ConfigError::Window(Duration::from_millis(10))
        );
        let ok = b().ratio(0.0).min_per_second(0).build().unwrap();
        assert_eq!((ok.ratio(), ok.min_per_second()), (0.0, 0));
        assert_eq!(ok.window(), Duration::from_secs(10));
    }

    #[test]
    fn clones_share_and_threads_respect_the_bound() {
        let (b, _) = budget(0.2, 7);
        for _ in 0..1000 {
            b.deposit();
        }
        let granted: u64 = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    let b = b.clone();
                    s.spawn(move || (0..200).filter(|_| b.try_withdraw()).count() as u64)
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(granted, 200 + 7);
        assert_eq!(b.metrics().withdrawals, 207);
        assert_eq!(b.metrics().refused, 800 - 207);
    }

    proptest::proptest! {
        /// Against a reference model that records every deposit and grant with its time: at
        /// every withdrawal, the grants ever made from credit never exceed `r` times the
        /// deposits made, the grants in the last W never exceed `r` times the deposits of the
        /// last 2W, and the floor's grants in any one second never exceed the floor.
        #[test]
        fn grants_stay_within_the_bound(ops in proptest::collection::vec((0u8..3, 0u64..400), 1..400)) {
            let (b, clock) = budget(0.3, 2);
            let w = 10_000_000_000u64; // ns
            let mut deposits: Vec<u64> = Vec::new();
            let mut grants: Vec<u64> = Vec::new();
            for (op, ms) in ops {
                match op {
                    0 => { b.deposit(); deposits.push(clock.now_nanos()); }
                    1 => { if b.try_withdraw() { grants.push(clock.now_nanos()); } }
                    _ => clock.advance(Duration::from_millis(ms * 10)),
                }
                let now = clock.now_nanos();
                let recent_grants = grants.iter().filter(|&&g| g + w > now).count() as f64;
                let recent_deposits = deposits.iter().filter(|&&d| d + 2 * w > now).count() as f64;
                // Seconds touched by the last W: at most 11.
                proptest::prop_assert!(recent_grants <= 0.3 * recent_deposits + 2.0 * 11.0 + 1e-9);
                proptest::prop_assert!(grants.len() as f64 <= 0.3 * deposits.len() as f64
                    + 2.0 * (1.0 + (now as f64 - T0.as_nanos() as f64) / 1e9).ceil() + 1e-9);
                let this_second = grants.iter().filter(|&&g| g / 1_000_000_000 == now / 1_000_000_000).count();
                // Credit grants in this second are bounded by r * live deposits; floor by 2.
                let live = deposits.iter().filter(|&&d| d + w > now).count() as f64;
                proptest::prop_assert!(this_second as f64 <= 0.3 * live + 2.0 + 1e-9);
            }
        }
    }
}

/// loom models: concurrent withdrawals never take more than the deposits and the floor allow.
#[cfg(all(test, sinew_loom))]
mod loom_models {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use sinew_clock::ManualClock;

    fn budget(ratio: f64, floor: u32, clock: &ManualClock) -> RetryBudget<ManualClock> {
        RetryBudget::builder()
            .ratio(ratio)
            .min_per_second(floor)
            .window(Duration::from_secs(10))
            .clock(clock.clone())
            .build()
            .unwrap()
    }

    /// One thread deposits twice (ratio 0.5: one retry) while two threads each try two
    /// withdrawals; the floor is 1. At most 2 grants, in every interleaving.
    #[test]
    fn withdrawals_never_exceed_deposits_and_floor() {
        loom::model(|| {
            let clock = ManualClock::new(Duration::from_secs(5));
            let b = budget(0.5, 1, &clock);
            let depositor = {
                let b = b.clone();
                loom::thread::spawn(move || {
                    b.deposit();
                    b.deposit();
                })
            };
            let withdrawer = {
                let b = b.clone();
                loom::thread::spawn(move || {
                    u64::from(b.try_withdraw()) + u64::from(b.try_withdraw())
                })
            };
            let mine = u64::from(b.try_withdraw()) + u64::from(b.try_withdraw());
            depositor.join().unwrap();
            let granted = mine + withdrawer.join().unwrap();
            assert!(granted <= 2, "granted {granted}");
            // Whatever is left can still be taken, and no more.
            let rest = u64::from(b.try_withdraw()) + u64::from(b.try_withdraw());
            assert_eq!(granted + rest, 2);
            assert_eq!(b.metrics().withdrawals, 2);
        });
    }

    /// Two threads race for the last retry of credit while a third deposits another: each
    /// unit of credit is granted once, and the floor once per second.
    #[test]
    fn racing_withdrawals_take_each_unit_once() {
        loom::model(|| {
            let clock = ManualClock::new(Duration::from_secs(5));
            let b = budget(1.0, 1, &clock);
            b.deposit();
            let racers: Vec<_> = (0..2)
                .map(|_| {
                    let b = b.clone();
                    loom::thread::spawn(move || u64::from(b.try_withdraw()))
                })
                .collect();
            b.deposit();
            let granted: u64 = racers.into_iter().map(|r| r.join().unwrap()).sum();
            let rest = (0..4).filter(|_| b.try_withdraw()).count() as u64;
            // Two deposits of one retry, one floor grant.
            assert_eq!(granted + rest, 3, "{granted} + {rest}");
        });
    }

    /// Credit of a slot that expires while two threads race for it, as a third moves the
    /// clock past the window: nothing deposited before the window is spent after it.
    #[test]
    fn expired_credit_is_never_spent() {
        loom::model(|| {
            let clock = ManualClock::new(Duration::from_secs(5));
            let b = budget(1.0, 0, &clock);
            b.deposit(); // one retry, in slot k
            let mover = {
                let clock = clock.clone();
                let b = b.clone();
                loom::thread::spawn(move || {
                    clock.advance(Duration::from_secs(10));
                    b.deposit(); // slot k + 10: same word, the old credit replaced
                })
            };
            let racer = {
                let b = b.clone();
                loom::thread::spawn(move || u64::from(b.try_withdraw()))
            };
            let mine = u64::from(b.try_withdraw());
            mover.join().unwrap();
            let granted = mine + racer.join().unwrap();
            let rest = u64::from(b.try_withdraw()) + u64::from(b.try_withdraw());
            // Two deposits of one retry each, each spent at most once; after the move only
            // the second is live.
            assert!(granted + rest <= 2, "{granted} + {rest}");
            assert!(rest <= 1, "the expired deposit was still spendable");
        });
    }
}
