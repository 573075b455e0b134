//! [`Partitioned`]: one [`AdaptiveLimit`] shared between priority classes, each with a
//! guaranteed fraction of it.

use std::fmt;
use std::time::Duration;

use sinew_clock::{Clock, SystemClock};

use super::{AdaptiveLimit, AdaptivePermit, Outcome};
use crate::error::{ConfigError, Rejected};
use crate::sync::{Arc, AtomicU64, Ordering};

/// One [`AdaptiveLimit`] shared between named classes of calls, each guaranteed a fraction of
/// the (moving) limit, borrowing what the others leave unused.
///
/// Follows Netflix concurrency-limits' `AbstractPartitionedLimiter`: a class's guaranteed
/// share is `max(1, ceil(limit * fraction))`; a call is admitted if the limit has room
/// (whatever its class: unused capacity is borrowed), or else if its class is below its
/// share. So a class is never starved by another that borrowed its room; the price, as in
/// Netflix's, is that while borrowers finish, the total in flight may exceed the limit by at
/// most the sum of the shares. Every call's outcome feeds the one limit.
///
/// ```
/// use sinew_bulkhead::limit::{AdaptiveLimit, Aimd, Partitioned};
///
/// let limit = AdaptiveLimit::builder(Aimd::new()).initial_limit(10).build()?;
/// let parts = Partitioned::builder(limit)
///     .partition("live", 0.8)
///     .partition("batch", 0.2)
///     .build()?;
/// let (live, batch) = (parts.class("live").ok_or("no class")?, parts.class("batch").ok_or("no class")?);
/// // Batch borrows the whole limit while live is idle...
/// let held: Vec<_> = (0..10).map(|_| parts.try_acquire(batch)).collect::<Result<_, _>>()?;
/// assert!(parts.try_acquire(batch).is_err());
/// // ...and live still gets its guaranteed share (8 of 10).
/// assert!(parts.try_acquire(live).is_ok());
/// # drop(held);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Partitioned<C = SystemClock> {
    inner: Arc<Inner<C>>,
}

impl<C> Clone for Partitioned<C> {
    fn clone(&self) -> Self {
        Partitioned {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<C> {
    limit: AdaptiveLimit<C>,
    classes: Box<[ClassState]>,
}

struct ClassState {
    name: String,
    fraction: f64,
    in_flight: AtomicU64,
    rejected: AtomicU64,
}

/// A class of a [`Partitioned`] limit, from [`Partitioned::class`]; a cheap index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Class(usize);

impl<C: Clock> Partitioned<C> {
    /// A builder sharing `limit` between the partitions it is given.
    pub fn builder(limit: AdaptiveLimit<C>) -> PartitionedBuilder<C> {
        PartitionedBuilder {
            limit,
            partitions: Vec::new(),
        }
    }

    /// The class named `name`, if there is one.
    pub fn class(&self, name: &str) -> Option<Class> {
        self.inner
            .classes
            .iter()
            .position(|c| c.name == name)
            .map(Class)
    }

    /// A permit for a call of `class`: if the limit has room, or else if the class is below
    /// its guaranteed share.
    ///
    /// # Errors
    ///
    /// [`Rejected::Full`] when the limit is reached and the class holds its whole share (or
    /// `class` comes from another `Partitioned`).
    pub fn try_acquire(&self, class: Class) -> Result<PartitionPermit<'_, C>, Rejected> {
        let Some(state) = self.inner.classes.get(class.0) else {
            return Err(Rejected::Full);
        };
        let limit = &self.inner.limit;
        if let Some(permit) = limit.try_acquire_quiet() {
            state.in_flight.fetch_add(1, Ordering::Relaxed);
            return Ok(PartitionPermit {
                permit: Some(permit),
                class: state,
            });
        }
        let share = u64::from(share(limit.limit(), state.fraction));
        let mut cur = state.in_flight.load(Ordering::Relaxed);
        while cur < share {
            match state.in_flight.compare_exchange_weak(
                cur,
                cur + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Ok(PartitionPermit {
                        permit: Some(limit.acquire_forced()),
                        class: state,
                    });
                }
                Err(actual) => cur = actual,
            }
        }
        state.rejected.fetch_add(1, Ordering::Relaxed);
        limit.count_rejection();
        Err(Rejected::Full)
    }
}

impl<C> Partitioned<C> {
    /// The shared limit (its limit, in-flight count and metrics).
    pub fn limit(&self) -> &AdaptiveLimit<C> {
        &self.inner.limit
    }

    /// The calls of `class` in flight now (0 for a class of another `Partitioned`).
    pub fn in_flight(&self, class: Class) -> u32 {
        self.inner.classes.get(class.0).map_or(0, |c| {
            u32::try_from(c.in_flight.load(Ordering::Relaxed)).unwrap_or(u32::MAX)
        })
    }

    /// The share of the current limit `class` is guaranteed.
    pub fn guaranteed(&self, class: Class) -> u32 {
        self.inner
            .classes
            .get(class.0)
            .map_or(0, |c| share(self.inner.limit.limit(), c.fraction))
    }

    /// The calls of `class` turned away.
    pub fn rejected(&self, class: Class) -> u64 {
        self.inner
            .classes
            .get(class.0)
            .map_or(0, |c| c.rejected.load(Ordering::Relaxed))
    }

    /// The classes' names, in the order they were added.
    pub fn classes(&self) -> impl Iterator<Item = &str> {
        self.inner.classes.iter().map(|c| c.name.as_str())
    }
}

/// `max(1, ceil(limit * fraction))`, as Netflix's partitions.
fn share(limit: u32, fraction: f64) -> u32 {
    let s = (f64::from(limit) * fraction).ceil();
    // `fraction <= 1`, so `s <= limit`.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let s = s as u32;
    s.max(1)
}

impl<C> fmt::Debug for Partitioned<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_struct("Partitioned");
        l.field("limit", &self.inner.limit);
        for c in self.inner.classes.iter() {
            l.field(&c.name, &c.in_flight.load(Ordering::Relaxed));
        }
        l.finish()
    }
}

/// Builds a [`Partitioned`]; from [`Partitioned::builder`].
#[must_use]
pub struct PartitionedBuilder<C = SystemClock> {
    limit: AdaptiveLimit<C>,
    partitions: Vec<(String, f64)>,
}

impl<C> fmt::Debug for PartitionedBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartitionedBuilder")
            .field("partitions", &self.partitions)
            .finish_non_exhaustive()
    }
}

impl<C> PartitionedBuilder<C> {
    /// Adds a class guaranteed `fraction` (in `(0, 1]`) of the limit; fractions add up to at
    /// most 1.
    pub fn partition(mut self, name: impl Into<String>, fraction: f64) -> Self {
        self.partitions.push((name.into(), fraction));
        self
    }

    /// The partitioned limit, or the first setting out of range.
    ///
    /// # Errors
    ///
    /// [`ConfigError::NoPartitions`], [`ConfigError::PartitionFraction`],
    /// [`ConfigError::PartitionFractionsSum`] or [`ConfigError::DuplicatePartition`].
    pub fn build(self) -> Result<Partitioned<C>, ConfigError> {
        if self.partitions.is_empty() {
            return Err(ConfigError::NoPartitions);
        }
        let mut sum = 0.0;
        for (i, (name, fraction)) in self.partitions.iter().enumerate() {
            if !(*fraction > 0.0 && *fraction <= 1.0) {
                return Err(ConfigError::PartitionFraction {
                    name: name.clone(),
                    fraction: *fraction,
                });
            }
            if self.partitions.iter().take(i).any(|(n, _)| n == name) {
                return Err(ConfigError::DuplicatePartition(name.clone()));
            }
            sum += fraction;
        }
        // A little slack for fractions like 0.7 + 0.2 + 0.1 that add up to 1.0000000000000002.
        if sum > 1.0 + 1e-9 {
            return Err(ConfigError::PartitionFractionsSum(sum));
        }
        let classes = self
            .partitions
            .into_iter()
            .map(|(name, fraction)| ClassState {
                name,
                fraction,
                in_flight: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
            })
            .collect();
        Ok(Partitioned {
            inner: Arc::new(Inner {
                limit: self.limit,
                classes,
            }),
        })
    }
}

/// A slot of a [`Partitioned`] limit for one class; closed like an [`AdaptivePermit`]
/// (dropping it unclosed is `ignore`). `Send`; borrows the `Partitioned`.
#[must_use = "a permit holds a slot until it is closed or dropped"]
pub struct PartitionPermit<'a, C = SystemClock> {
    permit: Option<AdaptivePermit<'a, C>>,
    class: &'a ClassState,
}

impl<C: Clock> PartitionPermit<'_, C> {
    /// The call succeeded; RTT by the limit's clock.
    pub fn success(self) {
        self.record(Outcome::Success);
    }

    /// The call succeeded in `rtt`.
    pub fn success_rtt(mut self, rtt: Duration) {
        if let Some(p) = self.permit.take() {
            p.success_rtt(rtt);
        }
    }

    /// The call was dropped (timeout or overload signal).
    pub fn dropped(self) {
        self.record(Outcome::Dropped);
    }

    /// No sample: release the slot only.
    pub fn ignore(self) {
        self.record(Outcome::Ignored);
    }

    /// Closes the permit with `outcome`.
    pub fn record(mut self, outcome: Outcome) {
        if let Some(p) = self.permit.take() {
            p.record(outcome);
        }
    }
}

impl<C> Drop for PartitionPermit<'_, C> {
    fn drop(&mut self) {
        // The class slot goes after the shared one (the inner permit, if still open, drops
        // as `ignore` with the struct's fields).
        self.class.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<C> fmt::Debug for PartitionPermit<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartitionPermit")
            .field("class", &self.class.name)
            .finish_non_exhaustive()
    }
}
