//! The showcase's story, phase by phase: start the nodes, load, read, `kill -9` one node while
//! writes go on, restart it empty, bring it back (hints, read repair, anti-entropy), check.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use sinew::replica::{Dot, VersionVector};

use crate::client::{Client, ClientStats};
use crate::node::NodeArgs;
use crate::procs::NodeProc;
use crate::report::{self, Report};
use crate::{Options, Res};

/// The newest acknowledged write of a key, and the context to write it again with.
pub(crate) struct Acked {
    pub(crate) dot: Dot,
    pub(crate) value: Bytes,
    pub(crate) context: VersionVector,
}

/// The clients: name, whether it paces itself, and how many connections it drives at once.
/// greedy sends without pause over four connections and is limited. alice starts on node-0,
/// bob on the node that will be killed (he fails over when it dies), greedy on another one.
const CLIENTS: [(&str, bool, usize); 3] =
    [("alice", true, 1), ("bob", true, 1), ("greedy", false, 4)];

/// The run's choices from its seed (xorshift64: enough for picking keys and a victim).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }
}

pub(crate) struct Run {
    pub(crate) o: Options,
    pub(crate) started: Instant,
    pub(crate) nodes: Vec<NodeProc>,
    addrs: Arc<Vec<SocketAddr>>,
    admin: Client,
    /// The newest acknowledged write of every key written.
    pub(crate) acked: BTreeMap<String, Acked>,
    pub(crate) acknowledged_writes: u64,
    pub(crate) reads: u64,
    pub(crate) stale_reads: u64,
    pub(crate) clients: ClientStats,
    /// Index of the node that is killed and restarted.
    pub(crate) victim: usize,
    /// The most nodes seen with their breaker towards the killed node open.
    pub(crate) breakers_opened: usize,
}

impl Run {
    fn at(&self) -> String {
        format!("[{:>6.2}s]", self.started.elapsed().as_secs_f64())
    }

    /// Every running node's counters (a restarted node's count from its restart).
    pub(crate) async fn stats(&mut self) -> Res<Vec<Value>> {
        let mut all = Vec::new();
        for i in 0..self.nodes.len() {
            if self.nodes[i].is_running() {
                all.push(self.admin.stats(i).await?);
            }
        }
        Ok(all)
    }

    /// Sums a counter over every running node.
    pub(crate) async fn sum(&mut self, counter: &str) -> Res<u64> {
        Ok(self
            .stats()
            .await?
            .iter()
            .filter_map(|s| s[counter].as_u64())
            .sum())
    }

    /// Waits (at most `limit`) until `cond` holds for every running node's stats.
    async fn wait_for(&mut self, limit: Duration, cond: impl Fn(&Value) -> bool) -> Res<bool> {
        let end = Instant::now() + limit;
        loop {
            if self.stats().await?.iter().all(&cond) {
                return Ok(true);
            }
            if Instant::now() > end {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A client per lane: each client's keys are split among its connections, so every key
    /// has one writer and its context is always the one that writer last saw.
    fn lanes<T: Clone>(&self, items: &[T]) -> Vec<(Client, bool, Vec<T>)> {
        let mut lanes = Vec::new();
        let other = if self.victim == 1 { 2 } else { 1 };
        for (c, (name, pace, conns)) in CLIENTS.iter().enumerate() {
            let node = [0, self.victim, other][c];
            let mine: Vec<&T> = items
                .iter()
                .enumerate()
                .filter(|(i, _)| i % CLIENTS.len() == c)
                .map(|(_, t)| t)
                .collect();
            for k in 0..*conns {
                let share = mine.iter().skip(k).step_by(*conns).map(|t| (*t).clone());
                let client = Client::new(name, Arc::clone(&self.addrs), node);
                lanes.push((client, *pace, share.collect()));
            }
        }
        lanes
    }

    /// Writes every key in `keys` once, from all clients at once; `label` names the progress
    /// line (none if empty).
    async fn write(&mut self, keys: &[String], round: u32, label: &str) -> Res<()> {
        let work: Vec<(String, VersionVector)> = keys
            .iter()
            .map(|k| {
                let context = self.acked.get(k).map(|a| a.context.clone());
                (k.clone(), context.unwrap_or_default())
            })
            .collect();
        let done = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for (mut client, pace, share) in self.lanes(&work) {
            let done = Arc::clone(&done);
            tasks.push(tokio::spawn(async move {
                let mut acked = Vec::new();
                for (key, context) in share {
                    let value = Bytes::from(format!("{key} v{round} by {}", client.name));
                    let dot = client.put(&key, &value, &context).await?;
                    acked.push((key, dot, value, context));
                    done.fetch_add(1, Relaxed);
                    if pace {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>((client.stats, acked))
            }));
        }
        let progress = show_progress(label, Arc::clone(&done), keys.len(), "writes");
        for task in tasks {
            let (stats, acked) = task.await??;
            self.clients.merge(stats);
            for (key, dot, value, mut context) in acked {
                self.acknowledged_writes += 1;
                context.witness(dot);
                self.acked.insert(
                    key,
                    Acked {
                        dot,
                        value,
                        context,
                    },
                );
            }
        }
        progress.abort();
        if !label.is_empty() {
            eprintln!("\r  {label}: {}/{} writes", keys.len(), keys.len());
        }
        Ok(())
    }

    /// Reads every key in `keys` once, from all clients at once; a read that does not reflect
    /// the key's newest acknowledged write is stale. Returns how many keys were absent.
    async fn read(&mut self, keys: &[String], label: &str) -> Res<u64> {
        let work: Vec<(String, Option<Dot>)> = keys
            .iter()
            .map(|k| (k.clone(), self.acked.get(k).map(|a| a.dot)))
            .collect();
        let done = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for (mut client, _, share) in self.lanes(&work) {
            let done = Arc::clone(&done);
            tasks.push(tokio::spawn(async move {
                let (mut stale, mut absent) = (0u64, 0u64);
                for (key, newest) in share {
                    let object = client.get(&key).await?;
                    match newest {
                        Some(dot) if !object.covers(dot) => stale += 1,
                        None if object.is_empty() => absent += 1,
                        _ => {}
                    }
                    done.fetch_add(1, Relaxed);
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>((client.stats, stale, absent))
            }));
        }
        let progress = show_progress(label, Arc::clone(&done), keys.len(), "reads");
        let mut absent = 0;
        for task in tasks {
            let (stats, s, a) = task.await??;
            self.clients.merge(stats);
            self.stale_reads += s;
            absent += a;
        }
        progress.abort();
        eprintln!("\r  {label}: {}/{} reads", keys.len(), keys.len());
        self.reads += keys.len() as u64;
        Ok(absent)
    }

    async fn start_node(&mut self, args: NodeArgs) -> Res<NodeProc> {
        let p = NodeProc::start(args).await?;
        println!(
            "{} started {} as pid {}: gossip {} (UDP + TCP, encrypted), data {} (TCP), actor {}",
            self.at(),
            p.name(),
            p.pid,
            p.gossip,
            p.data,
            p.actor
        );
        Ok(p)
    }
}

/// Prints `label: done/total unit` on stderr every 200 ms until aborted.
fn show_progress(
    label: &str,
    done: Arc<AtomicU64>,
    total: usize,
    unit: &'static str,
) -> tokio::task::JoinHandle<()> {
    let label = label.to_owned();
    tokio::spawn(async move {
        if label.is_empty() {
            return;
        }
        loop {
            eprint!("\r  {label}: {}/{total} {unit}", done.load(Relaxed));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}

/// A 32-byte gossip key, hex (a real cluster would take it from a secret store).
fn gossip_key(rng: &mut Rng) -> String {
    (0..32)
        .map(|_| format!("{:02x}", rng.next() & 0xff))
        .collect()
}

fn alive_count(stats: &Value) -> usize {
    stats["members"]
        .as_object()
        .map_or(0, |m| m.values().filter(|s| *s == "alive").count())
}

pub(crate) async fn run(o: Options) -> Res<()> {
    println!(
        "sinew showcase: {} cache node processes, {} keys, n = 3, r = w = 2, seed {}{}",
        o.nodes,
        o.keys,
        o.seed,
        if o.quick { " (quick)" } else { "" }
    );
    let started = Instant::now();
    let mut rng = Rng::new(o.seed);
    // Never node-0: the restarted node joins through it.
    let victim = 1 + rng.below(o.nodes - 1);
    let mut run = Run {
        started,
        nodes: Vec::new(),
        addrs: Arc::new(Vec::new()),
        admin: Client::new("admin", Arc::new(Vec::new()), 0),
        acked: BTreeMap::new(),
        acknowledged_writes: 0,
        reads: 0,
        stale_reads: 0,
        clients: ClientStats::default(),
        victim,
        breakers_opened: 0,
        o,
    };

    // 1. The node processes.
    let key = gossip_key(&mut rng);
    for i in 0..run.o.nodes {
        let args = NodeArgs {
            name: format!("node-{i}"),
            index: u16::try_from(i)?,
            gossip: "127.0.0.1:0".parse()?,
            data: "127.0.0.1:0".parse()?,
            join: run.nodes.first().map(|n| n.gossip),
            key: key.clone(),
            keys: run.o.keys,
            quick: run.o.quick,
        };
        let p = run.start_node(args).await?;
        run.nodes.push(p);
    }
    run.addrs = Arc::new(run.nodes.iter().map(|n| n.data).collect());
    run.admin = Client::new("admin", Arc::clone(&run.addrs), 0);
    let n = run.o.nodes;
    if !run
        .wait_for(Duration::from_secs(20), |s| alive_count(s) == n)
        .await?
    {
        return Err("the cluster did not converge within 20 s".into());
    }
    println!("{} {n} nodes see each other alive", run.at());

    // 2. Load, then reads (half for keys nobody wrote).
    let mut keys: Vec<String> = (0..run.o.keys).map(|i| format!("user:{i:06}")).collect();
    // In a seeded order, so each seed gives clients and samples other keys.
    for i in (1..keys.len()).rev() {
        keys.swap(i, rng.below(i + 1));
    }
    println!(
        "{} clients alice, bob and greedy write {} keys over TCP (greedy sends without pause)",
        run.at(),
        keys.len()
    );
    run.write(&keys, 1, "load").await?;
    println!(
        "{} loaded; {} requests limited by the nodes' per-client limiters (greedy's; it backs off and retries)",
        run.at(),
        run.clients.limited
    );
    let reads: Vec<String> = (0..run.o.keys / 2)
        .map(|i| {
            if i % 2 == 0 {
                keys[(i * 7) % keys.len()].clone()
            } else {
                format!("absent:{i}")
            }
        })
        .collect();
    let absent = run.read(&reads, "reads").await?;
    println!(
        "{} {} quorum reads, {absent} for absent keys: {} lookups of keys a node does not hold answered by its Bloom filter alone",
        run.at(),
        reads.len(),
        run.sum("bloom_saved").await?
    );

    // 3. kill -9 one node; writes go on.
    let victim_name = run.nodes[victim].name().to_owned();
    run.nodes[victim].kill().await?;
    let crashed = Instant::now();
    println!(
        "{} CRASH {victim_name}: kill -9 (pid {})",
        run.at(),
        run.nodes[victim].pid
    );
    let second: Vec<String> = keys
        .iter()
        .step_by(10)
        .cloned()
        .chain((0..run.o.keys / 50).map(|i| format!("user:new{i:05}")))
        .collect();
    // Write the second set in chunks until every survivor has marked the victim dead (and at
    // least once through).
    let (mut round, mut written) = (2, 0);
    loop {
        let chunk: Vec<String> = (0..200)
            .map(|j| second[(written + j) % second.len()].clone())
            .collect();
        written += chunk.len();
        run.write(&chunk, round, "").await?;
        if written % second.len() < chunk.len() {
            round += 1;
        }
        let stats = run.stats().await?;
        run.breakers_opened = run.breakers_opened.max(
            stats
                .iter()
                .filter(|s| {
                    s["breakers_open"]
                        .as_array()
                        .is_some_and(|v| v.iter().any(|p| *p == *victim_name))
                })
                .count(),
        );
        let dead = stats.iter().all(|s| s["members"][&victim_name] == "dead");
        if dead && written >= second.len() {
            break;
        }
        if crashed.elapsed() > Duration::from_secs(30) {
            return Err(format!("{victim_name} was not marked dead within 30 s").into());
        }
    }
    let hints_stored = run.sum("hints_stored").await?;
    let refused = run.sum("calls_failed").await?;
    let turned_away = run.sum("breaker_rejections").await?;
    println!(
        "{} {written} writes went on: breakers towards {victim_name} opened at {} of {} nodes ({} calls refused, then {} turned away), and stand-ins took {hints_stored} hinted writes",
        run.at(),
        run.breakers_opened,
        n - 1,
        refused,
        turned_away,
    );
    println!(
        "{} membership: every node marks {victim_name} dead ({:.2} s after the kill)",
        run.at(),
        crashed.elapsed().as_secs_f64()
    );

    // 4. Restart it with empty memory (a new actor: its dots start over).
    let mut args = run.nodes[victim].args.clone();
    args.gossip = run.nodes[victim].gossip;
    args.data = run.nodes[victim].data;
    args.join = Some(run.nodes[0].gossip);
    let restarted = run.start_node(args).await?;
    run.nodes[victim] = restarted;
    println!("{} RESTART {victim_name}, empty", run.at());
    if !run
        .wait_for(Duration::from_secs(30), |s| alive_count(s) == n)
        .await?
    {
        return Err(format!("{victim_name} was not seen alive again within 30 s").into());
    }
    println!(
        "{} membership: every node sees {victim_name} alive again",
        run.at()
    );

    // 5. Hinted handoff, read repair, anti-entropy.
    let t = Instant::now();
    if !run
        .wait_for(Duration::from_secs(30), |s| s["hints_held"] == 0)
        .await?
    {
        return Err("hints were not all delivered within 30 s".into());
    }
    println!(
        "{} hinted handoff: {} hints delivered to {victim_name} in {:.2} s",
        run.at(),
        run.sum("hints_delivered").await?,
        t.elapsed().as_secs_f64()
    );
    let sample: Vec<String> = run.acked.keys().step_by(4).cloned().collect();
    let repairs_before = run.sum("read_repairs").await?;
    run.read(&sample, "reads after").await?;
    println!(
        "{} {} quorum reads repaired {} stale replicas on the way",
        run.at(),
        sample.len(),
        run.sum("read_repairs").await? - repairs_before
    );
    let repair = run.admin.repair(victim).await?;
    for s in repair["sessions"].as_array().into_iter().flatten() {
        println!(
            "{} anti-entropy {victim_name} <-> {}: {} rounds, {} differing bucket ranges, {} keys repaired, {} bytes (a full copy: {})",
            run.at(),
            s["peer"].as_str().unwrap_or("?"),
            s["rounds"],
            s["ranges"],
            s["keys_repaired"],
            s["bytes"],
            s["full_copy_bytes"]
        );
        if let Some(e) = s.get("error") {
            return Err(format!("anti-entropy with {}: {e}", s["peer"]).into());
        }
    }

    // 6. Every replica of every key, read over the network, and the report.
    let report = report::check(&mut run, &repair).await?;
    for node in &mut run.nodes {
        node.kill().await?;
    }
    report::print(&report);
    report.verdict()
}

impl Run {
    /// Every node's objects, read over the network.
    pub(crate) async fn dumps(
        &mut self,
    ) -> Res<Vec<std::collections::HashMap<Bytes, sinew::replica::Siblings>>> {
        let mut all = Vec::new();
        for i in 0..self.nodes.len() {
            all.push(self.admin.dump(i).await?);
        }
        Ok(all)
    }
}

impl ClientStats {
    pub(crate) fn merge(&mut self, other: ClientStats) {
        self.limited += other.limited;
        self.failed += other.failed;
        self.failovers += other.failovers;
        self.latencies.extend(other.latencies);
    }
}

impl Report {
    pub(crate) fn verdict(&self) -> Res<()> {
        let mut failures = Vec::new();
        if self.lost_acknowledged_writes > 0 {
            failures.push(format!(
                "{} acknowledged writes lost",
                self.lost_acknowledged_writes
            ));
        }
        if self.stale_replicas > 0 {
            failures.push(format!(
                "{} replicas do not hold their key's newest write, e.g. {}",
                self.stale_replicas, self.example
            ));
        }
        if self.stale_reads > 0 {
            failures.push(format!(
                "{} reads missed an acknowledged write",
                self.stale_reads
            ));
        }
        for (what, count) in [
            ("no request was limited", self.limited),
            (
                "no breaker opened",
                u64::try_from(self.breakers_opened).unwrap_or(0),
            ),
            ("no call to the killed node failed", self.calls_failed),
            ("no hint was delivered", self.hints_delivered),
            ("no read was repaired", self.read_repairs),
            ("anti-entropy repaired nothing", self.anti_entropy_keys),
        ] {
            if count == 0 {
                failures.push(what.to_owned());
            }
        }
        if failures.is_empty() {
            println!("\nOK: every replica of every key holds its newest acknowledged write.");
            report::print_json(self);
            Ok(())
        } else {
            report::print_json(self);
            Err(failures.join("; ").into())
        }
    }
}
