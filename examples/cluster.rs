//! The sinew showcase: a small replicated key-value cache built from every sinew crate, run
//! through a crash and a restart, and checked at the end.
//!
//! ```text
//! cargo run --release -p sinew-examples --example cluster                # 5 nodes, 10,000 keys
//! cargo run --release -p sinew-examples --example cluster -- --quick     # a few seconds
//! cargo run --release -p sinew-examples --example cluster -- --nodes 7 --keys 50000 --seed 3
//! ```
//!
//! In one process on 127.0.0.1, N cache nodes (default 5) each run:
//!
//! - **sinew-gossip**: a real cluster member over UDP and TCP sockets (`runtime::Cluster`),
//!   which is how every node knows who is alive;
//! - **sinew-ring**: a consistent-hash ring built from that membership, placing each key on
//!   `replicas(key, 3)`;
//! - **sinew-snowflake**: a time-ordered ID as every write's version (the newest wins);
//! - **sinew-ratelimit**: a keyed limiter in front of each node, per client;
//! - **sinew-breaker**: a circuit breaker around every call from one node to another;
//! - **sinew-bloom**: a filter of the keys each node holds, answering "definitely not here"
//!   without touching its store;
//! - **sinew-merkle**: anti-entropy between replicas, finding and repairing what a node missed.
//!
//! Node-to-node calls are in-process function calls (a crashed node fails them), so the
//! demo needs nothing but loopback; membership is the real protocol over real sockets.
//!
//! The scenario: clients load keys (one client is too fast and gets limited); a node crashes;
//! breakers open towards it, membership marks it dead, the ring routes around it and writes go
//! on; it restarts; anti-entropy finds the ranges it missed and repairs them; every key is read
//! back from every replica and checked. The program exits 0 only if that check passes.
#![allow(clippy::print_stdout, clippy::print_stderr)]
// an example talks
// Every index is taken modulo a length that is never zero here (at least 4 nodes, 3 of them
// alive, and non-empty key lists): the modulo says so more plainly than `.get()` would.
#![allow(clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::error::Error;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sinew::bloom::BlockedBloomFilter;
use sinew::breaker::{CallError, CircuitBreaker, State as BreakerState};
use sinew::gossip::runtime::{Cluster, ClusterConfig};
use sinew::gossip::{Config, State};
use sinew::merkle::AntiEntropyTree;
use sinew::merkle::antientropy::{BucketRange, Reconciler, Responder, Step, ranges_contain};
use sinew::ratelimit::{KeyedRateLimiter, Quota};
use sinew::ring::HashRing;
use sinew::snowflake::{Generator, Layout};

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;
/// key -> (version, value)
type Data = BTreeMap<String, (u64, String)>;

/// Each key lives on this many nodes; a write succeeds when this many minus one took it.
const REPLICAS: usize = 3;
/// Merkle tree depth for about `keys` keys: a few keys per bucket.
fn depth_for(keys: usize) -> u8 {
    let buckets = (keys / 4).max(64);
    u8::try_from(buckets.ilog2()).unwrap_or(16).clamp(6, 16)
}

struct Options {
    nodes: usize,
    keys: usize,
    seed: u64,
    quick: bool,
}

fn options() -> Res<Options> {
    let mut o = Options {
        nodes: 5,
        keys: 10_000,
        seed: 1,
        quick: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--nodes" => o.nodes = value()?.parse()?,
            "--keys" => o.keys = value()?.parse()?,
            "--seed" => o.seed = value()?.parse()?,
            "--quick" => {
                o.quick = true;
                o.keys = o.keys.min(2_000);
            }
            "-h" | "--help" => {
                println!("cluster [--nodes N] [--keys K] [--seed S] [--quick]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other:?} (try --help)").into()),
        }
    }
    if o.nodes < REPLICAS + 1 {
        return Err(format!("--nodes must be at least {}", REPLICAS + 1).into());
    }
    Ok(o)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A node's data: key -> (version, value), the Merkle tree kept beside it, and a Bloom filter
/// of every key it holds.
struct Store {
    data: BTreeMap<String, (u64, String)>,
    tree: AntiEntropyTree,
    filter: BlockedBloomFilter,
}

impl Store {
    /// Last writer wins: an older version than the one held is ignored.
    fn put(&mut self, key: &str, version: u64, value: &str) -> bool {
        match self.data.get(key) {
            Some((old, _)) if *old >= version => return false,
            Some((old, _)) => self.tree.update(key, *old, version),
            None => {
                self.tree.insert(key, version);
                self.filter.insert(key);
            }
        }
        self.data
            .insert(key.to_owned(), (version, value.to_owned()));
        true
    }
}

/// The error of a call to a node that is down.
#[derive(Debug)]
struct Down;

#[derive(Default)]
struct Counters {
    writes: AtomicU64,
    reads: AtomicU64,
    limited: AtomicU64,
    rejected_by_breakers: AtomicU64,
    failed_calls: AtomicU64,
    bloom_saved: AtomicU64,
}

/// One cache node.
struct Node {
    name: String,
    addr: SocketAddr,
    up: AtomicBool,
    store: Mutex<Store>,
    limiter: KeyedRateLimiter<String>,
    /// A breaker per peer, around every call this node makes to it.
    breakers: HashMap<String, CircuitBreaker>,
    member: Mutex<Option<Cluster>>,
    /// The ring for the membership it was built from.
    ring: Mutex<(Vec<String>, HashRing<String>)>,
}

impl Node {
    /// The node's request handler, as a peer or a client reaches it.
    fn handle_put(&self, key: &str, version: u64, value: &str) -> Result<(), Down> {
        if !self.up.load(Relaxed) {
            return Err(Down);
        }
        lock(&self.store).put(key, version, value);
        Ok(())
    }

    fn handle_get(&self, key: &str, c: &Counters) -> Result<Option<(u64, String)>, Down> {
        if !self.up.load(Relaxed) {
            return Err(Down);
        }
        let store = lock(&self.store);
        if !store.filter.contains(key) {
            c.bloom_saved.fetch_add(1, Relaxed);
            return Ok(None);
        }
        Ok(store.data.get(key).cloned())
    }

    /// The alive members as this node's gossip sees them, and a ring over them (rebuilt only
    /// when membership changes).
    fn replicas(&self, key: &str) -> Vec<String> {
        let alive: Vec<String> = match &*lock(&self.member) {
            Some(m) => {
                let mut v: Vec<String> = m
                    .members()
                    .iter()
                    .filter(|x| x.state == State::Alive)
                    .map(|x| x.name.clone())
                    .collect();
                v.sort();
                v
            }
            None => Vec::new(),
        };
        let mut ring = lock(&self.ring);
        if ring.0 != alive {
            let mut r = HashRing::new();
            for n in &alive {
                let _ = r.add(n.clone());
            }
            *ring = (alive, r);
        }
        ring.1.replicas(key, REPLICAS).cloned().collect()
    }
}

struct Cache {
    nodes: Vec<Arc<Node>>,
    ids: Generator,
    c: Counters,
    started: Instant,
}

#[derive(Debug)]
enum WriteError {
    Limited,
    NoQuorum,
}

impl Cache {
    fn node(&self, name: &str) -> Option<&Arc<Node>> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// A call from `from` to `to`, through `from`'s breaker for `to`.
    fn call<T>(
        &self,
        from: &Node,
        to: &str,
        f: impl FnOnce(&Node) -> Result<T, Down>,
    ) -> Option<T> {
        let target = self.node(to)?;
        let breaker = from.breakers.get(to)?;
        match breaker.call(|| f(target)) {
            Ok(v) => Some(v),
            Err(CallError::Rejected(_)) => {
                self.c.rejected_by_breakers.fetch_add(1, Relaxed);
                None
            }
            Err(_) => {
                self.c.failed_calls.fetch_add(1, Relaxed);
                None
            }
        }
    }

    /// A client write through `coordinator`: limited per client, versioned with a snowflake
    /// ID, sent to the key's replicas; it succeeds when all but one took it.
    fn put(
        &self,
        coordinator: &Node,
        client: &str,
        key: &str,
        value: &str,
    ) -> Result<u64, WriteError> {
        if coordinator.limiter.check_key(client).is_err() {
            self.c.limited.fetch_add(1, Relaxed);
            return Err(WriteError::Limited);
        }
        let version = self.ids.next_id().map_err(|_| WriteError::NoQuorum)?.get();
        let mut acks = 0;
        for r in coordinator.replicas(key) {
            let ok = if r == coordinator.name {
                coordinator.handle_put(key, version, value).is_ok()
            } else {
                self.call(coordinator, &r, |n| n.handle_put(key, version, value))
                    .is_some()
            };
            acks += usize::from(ok);
        }
        self.c.writes.fetch_add(1, Relaxed);
        if acks + 1 >= REPLICAS {
            Ok(version)
        } else {
            Err(WriteError::NoQuorum)
        }
    }

    /// A read through `coordinator`: every replica is asked, the newest version wins.
    fn get(&self, coordinator: &Node, key: &str) -> Option<(u64, String)> {
        self.c.reads.fetch_add(1, Relaxed);
        coordinator
            .replicas(key)
            .iter()
            .filter_map(|r| {
                self.call(coordinator, r, |n| n.handle_get(key, &self.c))
                    .flatten()
            })
            .max()
    }

    fn alive_nodes(&self) -> Vec<Arc<Node>> {
        self.nodes
            .iter()
            .filter(|n| n.up.load(Relaxed))
            .cloned()
            .collect()
    }

    fn at(&self) -> String {
        format!("[{:>6.2}s]", self.started.elapsed().as_secs_f64())
    }
}

async fn start_member(
    name: &str,
    addr: SocketAddr,
    seed: Option<SocketAddr>,
    gossip: &Config,
) -> Res<Cluster> {
    let mut b = ClusterConfig::builder(name, addr).gossip(gossip.clone());
    if let Some(s) = seed {
        b = b.seed(s.to_string());
    }
    let config = b.build()?;
    // A restarted node may find its port held a moment longer by its previous life.
    let mut tries = 0;
    loop {
        match Cluster::start(config.clone()).await {
            Ok(c) => return Ok(c),
            Err(_) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Waits (at most `limit`) until `cond` holds.
async fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while !cond() {
        if Instant::now() > end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// A tiny deterministic generator for the demo's choices (which coordinator, which key).
struct Pick(u64);
impl Pick {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % n.max(1) as u64).unwrap_or(0)
    }
}

/// Writes `keys` from three clients, in turns of 40 keys each. Each client talks to its own
/// node (the next alive one if that is down). alice and bob pace themselves (three writes a
/// millisecond at most); greedy sends its 40 back to back, beyond its limiter's burst of 20, and
/// is limited. Limited writes back off and retry, so every key is written. Records the newest
/// version of every key and each write's latency.
async fn load(
    cache: &Cache,
    keys: &[String],
    round: u32,
    // Where in the clients' turns this batch starts (so batches take turns too).
    start: usize,
    latest: &mut BTreeMap<String, (u64, String)>,
    latencies: &mut Vec<Duration>,
    label: &str,
) -> Res<()> {
    let clients = ["alice", "bob", "greedy"];
    let total = keys.len();
    for (i, key) in keys.iter().enumerate() {
        let c = ((start + i) / 40) % clients.len();
        let client = clients[c];
        let value = format!("{key} v{round} by {client}");
        // A write that cannot succeed for 10 s (no quorum left) ends the run with an error
        // rather than retrying forever.
        let give_up = Instant::now() + Duration::from_secs(10);
        loop {
            if Instant::now() > give_up {
                return Err(format!("{client} could not write {key} for 10 s").into());
            }
            let alive = cache.alive_nodes();
            let coordinator = &alive[c % alive.len()];
            let t = Instant::now();
            match cache.put(coordinator, client, key, &value) {
                Ok(version) => {
                    latencies.push(t.elapsed());
                    latest.insert(key.clone(), (version, value.clone()));
                    break;
                }
                // Back off a little, as a client told "too many requests" should.
                Err(WriteError::Limited) => tokio::time::sleep(Duration::from_millis(2)).await,
                Err(WriteError::NoQuorum) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
        if client != "greedy" && i % 3 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if !label.is_empty() && (i % 200 == 0 || i + 1 == total) {
            eprint!("\r  {label}: {}/{total} writes", i + 1);
        }
    }
    if !label.is_empty() {
        eprintln!();
    }
    Ok(())
}

fn percentile(sorted: &[Duration], per_mille: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(sorted.len() - 1) * per_mille.min(1000) / 1000]
}

/// Merkle anti-entropy between `a` and `b` over the keys both should hold (both among the
/// key's replicas on the full ring); each takes the newer versions from the other. Returns
/// (keys repaired, differing bucket ranges found, bytes exchanged, bytes of a full copy of
/// b's shared keys).
fn anti_entropy(
    a: &Node,
    b: &Node,
    ring: &HashRing<String>,
    depth: u8,
) -> Res<(usize, usize, u64, u64)> {
    // Only keys whose replicas (on the full ring) include both nodes: a node that stood in
    // for a dead one holds copies it is not a replica of, which are not the other's business.
    let both = |k: &str| {
        let r: Vec<&String> = ring.replicas(k, REPLICAS).collect();
        r.contains(&&a.name) && r.contains(&&b.name)
    };
    let shared = |store: &Store| -> Res<(AntiEntropyTree, Data)> {
        let tree = AntiEntropyTree::new(depth)?;
        let mut data = BTreeMap::new();
        for (k, v) in store.data.iter().filter(|(k, _)| both(k)) {
            tree.insert(k, v.0);
            data.insert(k.clone(), v.clone());
        }
        Ok((tree, data))
    };
    let (ta, da) = shared(&lock(&a.store))?;
    let (tb, db) = shared(&lock(&b.store))?;
    let full: u64 = db
        .iter()
        .map(|(k, (_, v))| (k.len() + 8 + v.len()) as u64)
        .sum();
    let mut reconciler = Reconciler::new(&ta);
    let mut responder = Responder::new(&tb);
    let mut message = reconciler.start();
    let ranges: Vec<BucketRange> = loop {
        let reply = responder.respond(&message)?;
        match reconciler.receive(&reply)? {
            Step::Send(next) => message = next,
            Step::Done(ranges) => break ranges,
        }
    };
    let in_ranges =
        |d: &BTreeMap<String, (u64, String)>, t: &AntiEntropyTree| -> BTreeSet<String> {
            d.keys()
                .filter(|k| ranges_contain(&ranges, t.bucket_of(k.as_str())))
                .cloned()
                .collect()
        };
    let ka = in_ranges(&da, &ta);
    let kb = in_ranges(&db, &tb);
    // Each side sends its key list (key hash and version, 16 bytes each) for those ranges.
    let exchanged =
        reconciler.bytes_sent() + reconciler.bytes_received() + 16 * (ka.len() + kb.len()) as u64;
    let mut repaired = 0;
    for key in ka.union(&kb) {
        // The newer version goes to the side that lacks it.
        let fix = match (da.get(key), db.get(key)) {
            (Some(va), Some(vb)) if va.0 == vb.0 => None,
            (Some(va), Some(vb)) if va.0 > vb.0 => Some((b, va)),
            (_, Some(vb)) => Some((a, vb)),
            (Some(va), None) => Some((b, va)),
            (None, None) => None,
        };
        if let Some((node, (version, value))) = fix {
            repaired += usize::from(lock(&node.store).put(key, *version, value));
        }
    }
    Ok((repaired, ranges.len(), exchanged, full))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    match run().await {
        Ok(()) => {}
        Err(e) => {
            eprintln!("\nFAILED: {e}");
            std::process::exit(1);
        }
    }
}

async fn run() -> Res<()> {
    let o = options()?;
    let gossip = Config::lan().scaled(if o.quick { 0.1 } else { 0.2 });
    println!(
        "sinew showcase: {} cache nodes, {} keys, replication {REPLICAS}, seed {}{}",
        o.nodes,
        o.keys,
        o.seed,
        if o.quick { " (quick)" } else { "" }
    );

    // 1. The nodes, each a gossip member on its own loopback port.
    let started = Instant::now();
    let names: Vec<String> = (0..o.nodes).map(|i| format!("node-{i}")).collect();
    // Per client at each node: 4,000 requests a second, bursts of 20. The steady clients stay
    // under it; the greedy one does not.
    let per_client = Quota::per_second(4_000)?.burst(20)?;
    let mut nodes = Vec::new();
    let mut first: Option<SocketAddr> = None;
    for name in &names {
        let member = start_member(name, "127.0.0.1:0".parse()?, first, &gossip).await?;
        let addr = member.local_addr();
        first.get_or_insert(addr);
        let mut breakers = HashMap::new();
        for peer in names.iter().filter(|p| *p != name) {
            let b = CircuitBreaker::builder()
                .count_window(10)
                .minimum_calls(5)
                .failure_rate_threshold(0.5)
                .wait_in_open(Duration::from_millis(500))
                .half_open_permits(2)
                .build()?;
            breakers.insert(peer.clone(), b);
        }
        nodes.push(Arc::new(Node {
            name: name.clone(),
            addr,
            up: AtomicBool::new(true),
            store: Mutex::new(Store {
                data: BTreeMap::new(),
                tree: AntiEntropyTree::new(depth_for(o.keys))?,
                filter: BlockedBloomFilter::with_false_positive_rate(o.keys * 2, 0.01)?,
            }),
            limiter: KeyedRateLimiter::new(per_client, 1_000),
            breakers,
            member: Mutex::new(Some(member)),
            ring: Mutex::new((Vec::new(), HashRing::new())),
        }));
    }
    let cache = Cache {
        nodes,
        ids: Generator::new(Layout::TWITTER, 1)?,
        c: Counters::default(),
        started,
    };
    let alive_everywhere = |n: usize| {
        cache.nodes.iter().filter(|x| x.up.load(Relaxed)).all(|x| {
            lock(&x.member).as_ref().is_some_and(|m| {
                m.members()
                    .iter()
                    .filter(|y| y.state == State::Alive)
                    .count()
                    == n
            })
        })
    };
    if !wait_until(Duration::from_secs(20), || alive_everywhere(o.nodes)).await {
        return Err("the cluster did not converge within 20 s".into());
    }
    println!(
        "{} {} nodes see each other alive (gossip over UDP + TCP on 127.0.0.1)",
        cache.at(),
        o.nodes
    );

    // 2. Load.
    let mut pick = Pick(o.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let keys: Vec<String> = (0..o.keys).map(|i| format!("user:{i:06}")).collect();
    let mut latest = BTreeMap::new();
    let mut latencies = Vec::new();
    println!(
        "{} loading {} keys from clients alice, bob and greedy (greedy sends without pause)",
        cache.at(),
        o.keys
    );
    load(&cache, &keys, 1, 0, &mut latest, &mut latencies, "load").await?;
    println!(
        "{} loaded; {} requests limited by the per-client limiters (greedy's; it backs off and retries)",
        cache.at(),
        cache.c.limited.load(Relaxed),
    );
    // Reads, including keys nobody wrote: replicas without the key answer from their filter.
    for i in 0..o.keys / 2 {
        let alive = cache.alive_nodes();
        let coordinator = &alive[pick.next(alive.len())];
        let key = if i % 2 == 0 {
            keys[pick.next(keys.len())].clone()
        } else {
            format!("absent:{i}")
        };
        let t = Instant::now();
        let _ = cache.get(coordinator, &key);
        latencies.push(t.elapsed());
    }
    println!(
        "{} {} reads, half of them for absent keys: {} answered by Bloom filters alone",
        cache.at(),
        o.keys / 2,
        cache.c.bloom_saved.load(Relaxed)
    );

    // 3. Crash a node: its gossip task is aborted and it stops answering calls.
    let victim = Arc::clone(&cache.nodes[o.nodes - 1]);
    victim.up.store(false, Relaxed);
    if let Some(m) = lock(&victim.member).take() {
        m.shutdown();
    }
    let crashed_at = Instant::now();
    println!(
        "{} CRASH {} (gossip stopped, calls fail)",
        cache.at(),
        victim.name
    );
    let second: Vec<String> = keys
        .iter()
        .step_by(20)
        .cloned()
        .chain((0..o.keys / 50).map(|i| format!("user:new{i:05}")))
        .collect();
    let dead_everywhere = || {
        cache.alive_nodes().iter().all(|x| {
            lock(&x.member).as_ref().is_some_and(|m| {
                m.members()
                    .iter()
                    .any(|y| y.name == victim.name && y.state == State::Dead)
            })
        })
    };
    // Writes go on while membership notices, 40 at a time: at first a third of them have the
    // crashed node among their replicas, and those calls fail until its breakers open.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut next = 0;
    let mut while_down = 0;
    while !dead_everywhere() {
        if Instant::now() > deadline {
            return Err(format!("{} was not marked dead within 30 s", victim.name).into());
        }
        let chunk: Vec<String> = (0..40)
            .map(|j| second[(next + j) % second.len()].clone())
            .collect();
        next += chunk.len();
        while_down += chunk.len();
        load(
            &cache,
            &chunk,
            2,
            next - chunk.len(),
            &mut latest,
            &mut latencies,
            "",
        )
        .await?;
    }
    let opened = cache
        .alive_nodes()
        .iter()
        .filter(|n| {
            n.breakers
                .get(&victim.name)
                .is_some_and(|b| b.state() != BreakerState::Closed)
        })
        .count();
    println!(
        "{} {while_down} writes went on meanwhile: {} calls to {} failed, then breakers turned {} away (open at {opened} of {} nodes)",
        cache.at(),
        cache.c.failed_calls.load(Relaxed),
        victim.name,
        cache.c.rejected_by_breakers.load(Relaxed),
        o.nodes - 1
    );
    println!(
        "{} membership: every node marks {} dead ({:.2} s after the crash); the ring routes around it",
        cache.at(),
        victim.name,
        crashed_at.elapsed().as_secs_f64()
    );
    load(
        &cache,
        &second,
        3,
        0,
        &mut latest,
        &mut latencies,
        "writes after",
    )
    .await?;

    // 4. Restart it (its store survived the crash, but it missed every write since).
    let member = start_member(&victim.name, victim.addr, first, &gossip).await?;
    *lock(&victim.member) = Some(member);
    victim.up.store(true, Relaxed);
    println!("{} RESTART {} on {}", cache.at(), victim.name, victim.addr);
    if !wait_until(Duration::from_secs(30), || alive_everywhere(o.nodes)).await {
        return Err(format!("{} was not seen alive again within 30 s", victim.name).into());
    }
    println!(
        "{} membership: every node sees {} alive again",
        cache.at(),
        victim.name
    );

    // 5. Anti-entropy between the restarted node and each peer, over the keys they share.
    let mut full_ring = HashRing::new();
    for n in &names {
        full_ring.add(n.clone())?;
    }
    let (mut repaired, mut exchanged, mut full) = (0usize, 0u64, 0u64);
    for peer in cache.nodes.iter().filter(|n| n.name != victim.name) {
        let (r, ranges, x, f) = anti_entropy(&victim, peer, &full_ring, depth_for(o.keys / 3))?;
        println!(
            "{} anti-entropy {} <-> {}: {ranges} differing bucket ranges, {r} keys repaired, {x} bytes (a full copy: {f})",
            cache.at(),
            victim.name,
            peer.name
        );
        repaired += r;
        exchanged += x;
        full += f;
    }
    println!(
        "{} anti-entropy: {repaired} keys repaired in all, {exchanged} bytes exchanged against {full} for full copies",
        cache.at(),
    );

    // 6. Read every key back from every replica.
    let mut wrong = Vec::new();
    for (key, want) in &latest {
        for r in full_ring.replicas(key.as_str(), REPLICAS) {
            let node = cache.node(r).ok_or("unknown node")?;
            let got = lock(&node.store).data.get(key).cloned();
            if got.as_ref() != Some(want) {
                wrong.push(format!("{key} on {r}: {got:?}, want {want:?}"));
            }
        }
    }
    let checked = latest.len() * REPLICAS;
    println!(
        "{} checked {} keys x {REPLICAS} replicas: {} wrong",
        cache.at(),
        latest.len(),
        wrong.len()
    );

    latencies.sort_unstable();
    let c = &cache.c;
    println!("\n| summary | |");
    println!("|---|---|");
    println!(
        "| operations (writes + reads) | {} + {} |",
        c.writes.load(Relaxed),
        c.reads.load(Relaxed)
    );
    println!(
        "| client latency p50 / p99 (in-process calls) | {:.1?} / {:.1?} |",
        percentile(&latencies, 500),
        percentile(&latencies, 990)
    );
    println!("| requests limited | {} |", c.limited.load(Relaxed));
    println!(
        "| calls rejected by breakers | {} |",
        c.rejected_by_breakers.load(Relaxed)
    );
    println!(
        "| calls failed (node down) | {} |",
        c.failed_calls.load(Relaxed)
    );
    println!(
        "| reads saved by Bloom filters | {} |",
        c.bloom_saved.load(Relaxed)
    );
    println!("| keys repaired by anti-entropy | {repaired} |");
    println!("| anti-entropy bytes / full copy | {exchanged} / {full} |");
    println!("| replicas checked | {checked}, {} wrong |", wrong.len());
    println!("| wall time | {:.1} s |", started.elapsed().as_secs_f64());
    if !wrong.is_empty() {
        return Err(format!("{} replicas are wrong, e.g. {}", wrong.len(), wrong[0]).into());
    }
    if repaired == 0 {
        return Err("anti-entropy repaired nothing, but the restarted node missed writes".into());
    }
    println!("\nOK: every replica of every key holds its newest write.");
    Ok(())
}
