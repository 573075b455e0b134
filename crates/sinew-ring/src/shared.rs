//! Lock-free snapshot sharing of a router.

use arc_swap::ArcSwap;

use crate::sync::Arc;

pub use arc_swap::Guard;

/// A router shared by many readers and updated by writers without blocking the readers:
/// readers take a cheap [`load`](Self::load) (no lock, no reference-count contention in the
/// common case) and route against that version; a writer builds the next version and
/// [`store`](Self::store)s it, or uses [`update`](Self::update) to derive it from the current
/// one. Built on the `arc-swap` crate.
///
/// ```
/// use std::sync::Arc;
/// use sinew_ring::{HashRing, Snapshot};
///
/// let shared = Arc::new(Snapshot::new(HashRing::from_iter(["a", "b"])));
/// let reader = {
///     let shared = Arc::clone(&shared);
///     std::thread::spawn(move || shared.load().route("key").copied())
/// };
/// shared.update(|ring| {
///     let mut next = ring.clone();
///     let _ = next.add("c");
///     next
/// });
/// assert!(reader.join().map_err(|_| "reader panicked")?.is_some());
/// assert_eq!(shared.load().len(), 3);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Snapshot<R> {
    current: ArcSwap<R>,
}

impl<R: std::fmt::Debug> std::fmt::Debug for Snapshot<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("current", &self.current.load())
            .finish()
    }
}

impl<R> Snapshot<R> {
    /// Shares `router`.
    pub fn new(router: R) -> Self {
        Self {
            current: ArcSwap::from_pointee(router),
        }
    }

    /// The current version, for a short read (route a key, a few keys). Holding many guards
    /// for long is allowed but slower; use [`load_full`](Self::load_full) for that.
    #[inline]
    pub fn load(&self) -> Guard<Arc<R>> {
        self.current.load()
    }

    /// The current version as an `Arc`, to keep.
    pub fn load_full(&self) -> Arc<R> {
        self.current.load_full()
    }

    /// Publishes `router` as the current version; readers see it from their next `load`.
    pub fn store(&self, router: R) {
        self.current.store(Arc::new(router));
    }

    /// Publishes `f(current)`, retrying `f` if another writer published in between, so
    /// concurrent updates are never lost. Returns the version that was replaced.
    pub fn update<F: FnMut(&R) -> R>(&self, mut f: F) -> Arc<R> {
        self.current.rcu(|cur| f(cur))
    }
}
