//! Consistent hashing with bounded loads (Mirrokni, Thorup and Zadimoghaddam, SODA 2018).

use std::fmt;

use crate::{
    ConfigError, ConsistentHash,
    sync::{Arc, AtomicUsize, Ordering, spin_loop},
};

/// Consistent hashing with bounded loads: each key goes to the first node in its preference
/// order (the router's [`replicas`](ConsistentHash::replicas)) whose load is below
/// [`capacity`](Self::capacity)`(m + 1)` = `⌈c × (m + 1) / n⌉`, where `m` is the number of keys
/// currently placed, `n` the node count and `c ≥ 1` the capacity factor (the paper suggests
/// 1.25).
///
/// Load is counted with [`acquire`](Self::acquire), which returns a [`Load`] guard that
/// borrows the `BoundedLoad` and releases on drop; with [`acquire_owned`](Self::acquire_owned)
/// on an `Arc<BoundedLoad>`, whose [`OwnedLoad`] guard can move into a spawned task or thread;
/// or with [`acquire_index`](Self::acquire_index) / [`release`](Self::release) when the
/// placement is stored elsewhere (keep the index).
///
/// # Guarantees
///
/// - `acquire` never refuses while the router has a node, and always terminates when
///   uncontended: since the loads sum to `m`, some node is below the capacity, which is at
///   least `⌈(m + 1)/n⌉`; if the router's preference order misses it (a custom
///   [`ConsistentHash`] whose `replica_indices` repeats or skips nodes), a scan of every
///   node finds it. It returns `None` only for an empty router. Under contention it is
///   lock-free: it retries only when other threads placed keys in the meantime.
/// - No node's load exceeds [`capacity`](Self::capacity)`(m)` = `⌈c × m / n⌉` for the `m`
///   placed when it was last acquired:
///   with acquires only, loads never exceed `⌈c × average⌉`. Releases lower the average
///   without moving keys, so afterwards a node can sit above the new bound until its keys
///   are released (as in the paper, which rebalances on the next placement only).
/// - `&self` methods, lock-free (one `fetch_add` and one compare-exchange per acquire in the
///   common case), `Send + Sync`; the protocol is checked by loom models.
/// - Never panics; releasing an index that holds no load returns `false`.
///
/// Membership is the wrapped router's; to change it, build a new `BoundedLoad` (loads are
/// per index, and indices change with membership).
///
/// ```
/// use sinew_ring::{BoundedLoad, HashRing};
///
/// let ring: HashRing<&str> = ["a", "b", "c"].into_iter().collect();
/// let lb = BoundedLoad::new(ring, 1.25)?;
/// let mut held = Vec::new();
/// for request in 0..30u32 {
///     held.push(lb.acquire(&request).ok_or("empty")?);
/// }
/// // ⌈1.25 × 30 / 3⌉ = 13: no node holds more.
/// assert!(lb.loads().all(|(_, load)| load <= 13));
/// drop(held);
/// assert_eq!(lb.total(), 0);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct BoundedLoad<R> {
    router: R,
    factor: f64,
    loads: Box<[AtomicUsize]>,
    total: AtomicUsize,
}

impl<R: ConsistentHash + fmt::Debug> fmt::Debug for BoundedLoad<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedLoad")
            .field("router", &self.router)
            .field("factor", &self.factor)
            .field("total", &self.total())
            .finish_non_exhaustive()
    }
}

impl<R: ConsistentHash> BoundedLoad<R> {
    /// Wraps `router` with capacity factor `factor` (`c`; 1.25 is the paper's suggestion: lower
    /// is more even and moves more keys away from their first choice).
    ///
    /// # Errors
    ///
    /// [`ConfigError::BadCapacityFactor`] unless `factor` is finite and at least 1.
    pub fn new(router: R, factor: f64) -> Result<Self, ConfigError> {
        if !factor.is_finite() || factor < 1.0 {
            return Err(ConfigError::BadCapacityFactor { factor });
        }
        let loads = (0..router.len()).map(|_| AtomicUsize::new(0)).collect();
        Ok(Self {
            router,
            factor,
            loads,
            total: AtomicUsize::new(0),
        })
    }

    /// The wrapped router.
    pub fn router(&self) -> &R {
        &self.router
    }

    /// The capacity factor `c`.
    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// Keys placed now (`m`).
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Acquire)
    }

    /// The load of node `index` (0 if out of range).
    pub fn load(&self, index: usize) -> usize {
        self.loads
            .get(index)
            .map_or(0, |l| l.load(Ordering::Acquire))
    }

    /// Every node with its load, in index order.
    pub fn loads(&self) -> impl Iterator<Item = (&R::Node, usize)> + '_ {
        (0..self.loads.len()).filter_map(|i| Some((self.router.node(i)?, self.load(i))))
    }

    /// The capacity for placing key number `m`: `⌈c × m / n⌉`, and never less than `⌈m / n⌉`
    /// (nor 1), whatever floating-point rounding does to `c × m / n` for huge `m` or `n`.
    ///
    /// Since the loads sum to fewer than `m` while key `m` is being placed, `n` nodes of
    /// capacity at least `⌈m / n⌉` always leave room for it.
    pub fn capacity(&self, m: usize) -> usize {
        let n = self.loads.len().max(1);
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        // m and n below 2^53 are exact; the result is non-negative (`as` saturates above).
        let cap = (self.factor * m as f64 / n as f64).ceil() as usize;
        cap.max(m.div_ceil(n)).max(1)
    }

    /// Places key `key`: the first node in its preference order with room. Returns `None`
    /// only if the router is empty. The guard releases the load on drop.
    pub fn acquire<K: std::hash::Hash + ?Sized>(&self, key: &K) -> Option<Load<'_, R>> {
        self.acquire_hash(crate::key_hash(key))
    }

    /// [`acquire`](Self::acquire) for a pre-hashed key.
    pub fn acquire_hash(&self, hash: u64) -> Option<Load<'_, R>> {
        let index = self.acquire_index(hash)?;
        Some(Load { owner: self, index })
    }

    /// [`acquire`](Self::acquire) on a shared `BoundedLoad`, with a guard that owns an `Arc` of
    /// it, so it can be moved into another thread or task (it is `Send + 'static` when the
    /// router is `Send + Sync + 'static`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use sinew_ring::{BoundedLoad, Maglev};
    ///
    /// let lb = Arc::new(BoundedLoad::new(Maglev::from_iter(["a", "b"]), 1.25)?);
    /// let session = lb.acquire_owned("client-7").ok_or("no nodes")?;
    /// let worker = std::thread::spawn(move || session.node().copied());
    /// assert!(worker.join().map_err(|_| "worker panicked")?.is_some());
    /// assert_eq!(lb.total(), 0); // released when the guard was dropped in the thread
    /// Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn acquire_owned<K: std::hash::Hash + ?Sized>(
        self: &Arc<Self>,
        key: &K,
    ) -> Option<OwnedLoad<R>> {
        let index = self.acquire_index(crate::key_hash(key))?;
        Some(OwnedLoad {
            owner: Arc::clone(self),
            index,
        })
    }

    /// Places a pre-hashed key and returns the node's index, with no guard: call
    /// [`release`](Self::release) with the index when the key leaves. `None` only if the
    /// router is empty.
    pub fn acquire_index(&self, hash: u64) -> Option<usize> {
        let n = self.loads.len();
        if n == 0 {
            return None;
        }
        // Count the key first, so the loads never sum to more than `total`.
        let mut m = self.total.fetch_add(1, Ordering::AcqRel).wrapping_add(1);
        loop {
            let cap = self.capacity(m);
            // The router's preference order first; then every index in turn, so that a
            // router whose `replica_indices` repeats or skips nodes (the trait can be
            // implemented by anyone) cannot make this loop spin: `n × cap ≥ m` exceeds the
            // loads' sum, so the scan finds room unless other threads took it meanwhile.
            let preferred = self.router.replica_indices(hash, n);
            for index in preferred.chain(0..n) {
                if self.try_take(index, cap) {
                    return Some(index);
                }
            }
            // Only under concurrency: others filled the nodes after we counted ourselves,
            // and so raised `total`; retry with the larger bound.
            spin_loop();
            m = self.total.load(Ordering::Acquire).max(m);
        }
    }

    /// Adds one unit of load to node `index` if it is below `cap`.
    fn try_take(&self, index: usize, cap: usize) -> bool {
        let Some(load) = self.loads.get(index) else {
            return false;
        };
        let mut cur = load.load(Ordering::Acquire);
        while cur < cap {
            match load.compare_exchange_weak(cur, cur + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(now) => cur = now,
            }
        }
        false
    }

    /// Releases one unit of load from node `index`; returns `false` (and changes nothing) if
    /// the index is out of range or holds no load.
    pub fn release(&self, index: usize) -> bool {
        let Some(load) = self.loads.get(index) else {
            return false;
        };
        let mut cur = load.load(Ordering::Acquire);
        loop {
            if cur == 0 {
                return false;
            }
            match load.compare_exchange_weak(cur, cur - 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        // Node first, total second: the loads never sum to more than `total`.
        self.total.fetch_sub(1, Ordering::AcqRel);
        true
    }
}

/// One unit of load on a node of a [`BoundedLoad`], released on drop. Borrows the
/// `BoundedLoad`; it is `Send` (and `Sync`) when the router is `Sync`.
pub struct Load<'a, R: ConsistentHash> {
    owner: &'a BoundedLoad<R>,
    index: usize,
}

impl<R: ConsistentHash> fmt::Debug for Load<'_, R>
where
    R::Node: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Load")
            .field("node", &self.node())
            .field("index", &self.index)
            .finish()
    }
}

impl<'a, R: ConsistentHash> Load<'a, R> {
    /// The node the key was placed on.
    pub fn node(&self) -> Option<&'a R::Node> {
        self.owner.router.node(self.index)
    }

    /// The node's index in the router.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Keeps the load without the guard; release it with [`BoundedLoad::release`].
    pub fn forget(self) -> usize {
        let index = self.index;
        std::mem::forget(self);
        index
    }
}

impl<R: ConsistentHash> Drop for Load<'_, R> {
    fn drop(&mut self) {
        self.owner.release(self.index);
    }
}

/// One unit of load on a node of a shared [`BoundedLoad`], released on drop; from
/// [`BoundedLoad::acquire_owned`]. Owns an `Arc` of the `BoundedLoad`, so it can outlive the
/// caller's borrow and move between threads.
pub struct OwnedLoad<R: ConsistentHash> {
    owner: Arc<BoundedLoad<R>>,
    index: usize,
}

impl<R: ConsistentHash> fmt::Debug for OwnedLoad<R>
where
    R::Node: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedLoad")
            .field("node", &self.node())
            .field("index", &self.index)
            .finish()
    }
}

impl<R: ConsistentHash> OwnedLoad<R> {
    /// The node the key was placed on.
    pub fn node(&self) -> Option<&R::Node> {
        self.owner.router.node(self.index)
    }

    /// The node's index in the router.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl<R: ConsistentHash> Drop for OwnedLoad<R> {
    fn drop(&mut self) {
        self.owner.release(self.index);
    }
}
