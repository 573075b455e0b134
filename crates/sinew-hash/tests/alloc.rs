//! Items whose `Hash` writes at most 128 bytes hash with no allocation; longer ones stream
//! (allocating XXH3's streaming state).
#![allow(clippy::unwrap_used)]

use std::hash::BuildHasher;

use sinew_hash::Xxh3Builder;
use sinew_testkit::CountingAllocator;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

#[test]
fn up_to_128_bytes_inline_longer_streams() {
    let b = Xxh3Builder::with_seed(1);
    let short = [7u8; 120]; // a slice hashes its length (8 bytes) and then its bytes: 128
    let long = [7u8; 121]; // 129
    let before = CountingAllocator::allocations_on_this_thread();
    let h = b.hash_one(&short[..]);
    let h2 = b.hash_one(42u64);
    assert_eq!(
        CountingAllocator::allocations_on_this_thread(),
        before,
        "{h} {h2}"
    );
    let _ = b.hash_one(&long[..]);
    assert!(CountingAllocator::allocations_on_this_thread() > before);
}
