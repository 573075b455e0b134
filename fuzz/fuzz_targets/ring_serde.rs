//! Every serde-deserializable sinew-ring type (`HashRing`, `Rendezvous`, `Maglev`, `Jump`,
//! with string and integer nodes) decoded from arbitrary bytes as JSON, the format of the
//! crate's serde tests. Nothing may panic; decoding may allocate no more than the documented
//! bounds justify for the input's size (measured by a counting global allocator); and
//! whatever decodes re-encodes canonically, decodes again, and routes the same.
//!
//! Raw bytes rarely spell a valid object with the right field names, so the same bytes also
//! drive a structured path: an arbitrary membership (any `vnodes`, weights, table sizes, node
//! names, duplicates) written as JSON and fed through the same checks.
#![no_main]

use std::fmt::Debug;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use sinew_ring::hash::sample_hash;
use sinew_ring::{ConsistentHash, HashRing, Jump, Maglev, Rendezvous};
use sinew_testkit::CountingAllocator;

/// Counts live bytes and their peak (the workspace's shared counting allocator).
#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// The most a decode may allocate (at its peak, beyond what was live before) for `len` input
/// bytes. Derivation: a Maglev table of the default size (65 537 slots) is allowed for any
/// input, about 8 bytes a slot (table and replica links), 0.5 MiB; a ring may ask for 4096
/// points per listed node, a node costs at least 6 input bytes (`[1,1],`), and a point at
/// most about 72 bytes at the peak (the 24-byte point with its vector's doubling, hashes,
/// owners, replica links and the bucket index), so under 50 KiB per input byte; a Maglev
/// table of 1024 slots per node costs 8 KiB per node of at least 2 bytes (`1,`).
fn budget(len: usize) -> usize {
    (1 << 20) + len * (64 << 10)
}

/// Decodes `data` as `T` under the allocation budget; if it decodes, checks `ok` and the
/// round trip (canonical re-encoding, identical routing).
fn check<T, F>(data: &[u8], ok: F)
where
    T: ConsistentHash + Serialize + DeserializeOwned,
    T::Node: PartialEq + Debug,
    F: Fn(&T),
{
    let (decoded, used) = CountingAllocator::with_peak_bytes(|| serde_json::from_slice::<T>(data));
    assert!(
        used <= budget(data.len()),
        "decoding {} bytes allocated {used} bytes (budget {})",
        data.len(),
        budget(data.len())
    );
    let Ok(router) = decoded else {
        return;
    };
    ok(&router);
    let json = serde_json::to_vec(&router).expect("a decoded router encodes");
    let back: T = serde_json::from_slice(&json).expect("an encoded router decodes");
    assert_eq!(
        serde_json::to_vec(&back).expect("encodes"),
        json,
        "the encoding is canonical"
    );
    assert_eq!(back.len(), router.len());
    for i in 0..32 {
        let h = sample_hash(i);
        assert_eq!(back.route_hash(h), router.route_hash(h));
        assert!(back.replicas_hash(h, 3).eq(router.replicas_hash(h, 3)));
    }
}

fn ring_ok<N>(r: &HashRing<N>) {
    let per_node = HashRing::<N>::MAX_DECODED_POINTS_PER_NODE;
    assert!(r.points() as u64 <= (r.len() as u64 * per_node).min(HashRing::<N>::MAX_POINTS));
    assert!(r.len() <= r.points());
}

fn maglev_ok<N>(m: &Maglev<N>) {
    let per_node = u64::from(Maglev::<N>::MAX_DECODED_SLOTS_PER_NODE);
    let max = (m.len() as u64 * per_node).max(u64::from(Maglev::<N>::DEFAULT_TABLE_SIZE));
    assert!(u64::from(m.table_size()) <= max);
    assert!(m.len() <= m.table_size() as usize);
}

/// Every type from the same bytes.
fn all(data: &[u8]) {
    check::<HashRing<String>, _>(data, ring_ok);
    check::<HashRing<u64>, _>(data, ring_ok);
    check::<Rendezvous<String>, _>(data, |_| {});
    check::<Rendezvous<u64>, _>(data, |_| {});
    check::<Maglev<String>, _>(data, maglev_ok);
    check::<Maglev<u64>, _>(data, maglev_ok);
    check::<Jump<String>, _>(data, |_| {});
    check::<Jump<u64>, _>(data, |_| {});
}

/// A small number most of the time (so memberships are valid often), any `u32` otherwise.
#[derive(Arbitrary, Debug)]
enum Num {
    Small(u8),
    Any(u32),
}

impl Num {
    fn get(&self) -> u32 {
        match *self {
            Num::Small(x) => u32::from(x % 16),
            Num::Any(x) => x,
        }
    }
}

/// A membership in the shape of the routers' serde forms, with hostile values allowed.
#[derive(Arbitrary, Debug)]
struct Shape {
    vnodes: Num,
    /// An index into `SIZES` (primes and not), or any `u32`.
    table_size: Num,
    /// Node names (or numbers); weights.
    nodes: Vec<(u16, Num)>,
    numeric: bool,
}

const SIZES: [u32; 12] = [
    3, 7, 97, 251, 4099, 65_537, 1_048_573, 0, 1, 4, 65_536, 16_777_213,
];

impl Shape {
    fn node(&self, n: u16) -> Value {
        if self.numeric {
            json!(n)
        } else {
            json!(format!("n{n}"))
        }
    }

    fn documents(&self) -> [Value; 4] {
        // 256 nodes reach every limit (256 × 4096 points = MAX_POINTS) and keep runs fast.
        let nodes = self
            .nodes
            .get(..self.nodes.len().min(256))
            .unwrap_or_default();
        let weighted: Vec<Value> = nodes
            .iter()
            .map(|(n, w)| json!([self.node(*n), w.get()]))
            .collect();
        let plain: Vec<Value> = nodes.iter().map(|(n, _)| self.node(*n)).collect();
        let table_size = match self.table_size {
            Num::Small(i) => SIZES[usize::from(i) % SIZES.len()],
            Num::Any(x) => x,
        };
        [
            json!({ "vnodes": self.vnodes.get(), "nodes": weighted }),
            json!({ "nodes": weighted }),
            json!({ "table_size": table_size, "nodes": plain }),
            json!(plain),
        ]
    }
}

fuzz_target!(|data: &[u8]| {
    all(data);
    let Ok(shape) = Shape::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    for doc in shape.documents() {
        all(&serde_json::to_vec(&doc).expect("a Value encodes"));
    }
});
