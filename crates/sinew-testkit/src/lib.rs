//! Helpers shared by the sinew crates' tests and benchmarks; never published. Crates take it
//! as a path-only dev-dependency, which `cargo package` drops.
//!
//! - [`CountingAllocator`]: a global allocator that forwards to the system allocator and
//!   counts, for tests that prove a path does not allocate (`allocations_on_this_thread`) or
//!   allocates no more than its input justifies (`peak_bytes_during`), and for benches that
//!   report bytes per entry (`live_bytes`).
//! - [`capture_events`] (feature `tracing`): runs a closure under a subscriber that records
//!   every `tracing` event of one target, for tests of the crates' `tracing` features.
//!
//! # Examples
//!
//! ```
//! use sinew_testkit::CountingAllocator;
//!
//! // In a test or bench crate:
//! // #[global_allocator]
//! // static ALLOC: CountingAllocator = CountingAllocator;
//! let before = CountingAllocator::allocations_on_this_thread();
//! let _sum: u64 = (0..10u64).sum(); // no allocation
//! assert_eq!(CountingAllocator::allocations_on_this_thread(), before);
//! ```

#[cfg(feature = "tracing")]
mod events;
#[cfg(feature = "tracing")]
pub use events::{SeenEvent, capture_events};

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A global allocator that forwards every call to [`System`] and counts: allocations made by
/// each thread, bytes live in the whole process, and the peak of live bytes.
///
/// Install it with `#[global_allocator]` in a test or bench crate; the counts are read through
/// its associated functions. The per-thread count ignores allocations of other threads (the
/// test harness allocates on its own threads); the byte counts are process-wide, so measure
/// them in a test binary that runs one test at a time, or with one test function.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Allocations (and reallocations) made by this thread.
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

impl CountingAllocator {
    /// Allocations and reallocations made so far by the calling thread.
    pub fn allocations_on_this_thread() -> u64 {
        ALLOCS.with(Cell::get)
    }

    /// Bytes currently allocated in the whole process.
    pub fn live_bytes() -> usize {
        LIVE.load(Ordering::Relaxed)
    }

    /// The peak of live bytes while `f` ran, above what was live when it started; what `f`
    /// returns is dropped after the measurement.
    pub fn peak_bytes_during<R>(f: impl FnOnce() -> R) -> usize {
        Self::with_peak_bytes(f).1
    }

    /// What `f` returns, and the peak of live bytes while it ran above what was live when it
    /// started.
    pub fn with_peak_bytes<R>(f: impl FnOnce() -> R) -> (R, usize) {
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let result = f();
        let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
        (result, peak)
    }

    /// Counts a successful allocation of `by` bytes.
    fn grew(by: usize) {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is `System`'s. The counting beside it neither allocates nor re-enters
// the allocator: atomics, and a `const`-initialized thread-local `Cell` reached with
// `try_with` (which does nothing while the thread is being torn down). Only allocations that
// succeeded are counted.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, which is `System.alloc`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            Self::grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            Self::grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `realloc`'s contract, which is `System.realloc`'s.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // A moving realloc holds the old and the new block at once: the peak sees both.
            Self::grew(new_size);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}
