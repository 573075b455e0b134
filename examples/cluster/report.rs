//! The final check, over the network: every node's objects are read back, and every key's
//! newest acknowledged write must be on each of its home replicas; then the summary table and
//! the JSON line.

use std::time::Duration;

use serde_json::{Value, json};
use sinew::ring::HashRing;

use crate::Res;
use crate::engine::REPLICAS;
use crate::scenario::Run;

pub(crate) struct Report {
    pub(crate) node_processes: usize,
    pub(crate) acknowledged_writes: u64,
    pub(crate) keys: usize,
    pub(crate) replicas_checked: u64,
    pub(crate) lost_acknowledged_writes: u64,
    pub(crate) stale_replicas: u64,
    /// The first stale replica, described.
    pub(crate) example: String,
    pub(crate) reads: u64,
    pub(crate) stale_reads: u64,
    pub(crate) hints_stored: u64,
    pub(crate) hints_delivered: u64,
    pub(crate) read_repairs: u64,
    pub(crate) anti_entropy_keys: u64,
    pub(crate) anti_entropy_bytes: u64,
    pub(crate) anti_entropy_full_copy_bytes: u64,
    pub(crate) breakers_opened: usize,
    pub(crate) breaker_rejections: u64,
    pub(crate) calls_failed: u64,
    pub(crate) limited: u64,
    pub(crate) failovers: u64,
    pub(crate) bloom_saved: u64,
    pub(crate) latency_us_p50: u64,
    pub(crate) latency_us_p99: u64,
    pub(crate) wall_s: f64,
}

fn percentile_us(sorted: &[Duration], per_mille: usize) -> u64 {
    let i = sorted.len().saturating_sub(1) * per_mille / 1000;
    sorted
        .get(i)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

pub(crate) async fn check(run: &mut Run, repair: &Value) -> Res<Report> {
    eprint!("  reading every object of every node back...");
    let dumps = run.dumps().await?;
    eprintln!(" done");
    let names: Vec<String> = run.nodes.iter().map(|n| n.name().to_owned()).collect();
    let ring: HashRing<String> = names.iter().cloned().collect();
    let (mut checked, mut stale, mut lost) = (0, 0, 0);
    let mut example = String::new();
    for (key, acked) in &run.acked {
        let holds = |i: usize| {
            dumps
                .get(i)
                .and_then(|d| d.get(key.as_bytes()))
                .is_some_and(|o| {
                    o.covers(acked.dot)
                        && o.iter()
                            .filter(|s| s.dot == acked.dot)
                            .all(|s| s.value == acked.value)
                })
        };
        if !(0..dumps.len()).any(holds) {
            lost += 1;
        }
        for home in ring.replicas_bytes(key.as_bytes(), REPLICAS) {
            checked += 1;
            let i = names.iter().position(|n| n == home).unwrap_or(usize::MAX);
            if !holds(i) {
                stale += 1;
                if example.is_empty() {
                    example = format!("{key} on {home}");
                }
            }
        }
    }
    let stats = run.stats().await?;
    let sum = |counter: &str| -> u64 { stats.iter().filter_map(|s| s[counter].as_u64()).sum() };
    let mut latencies = std::mem::take(&mut run.clients.latencies);
    latencies.sort_unstable();
    Ok(Report {
        node_processes: run.nodes.len(),
        acknowledged_writes: run.acknowledged_writes,
        keys: run.acked.len(),
        replicas_checked: checked,
        lost_acknowledged_writes: lost,
        stale_replicas: stale,
        example,
        reads: run.reads,
        stale_reads: run.stale_reads,
        hints_stored: sum("hints_stored"),
        hints_delivered: sum("hints_delivered"),
        read_repairs: sum("read_repairs"),
        anti_entropy_keys: repair["keys_repaired"].as_u64().unwrap_or(0),
        anti_entropy_bytes: repair["bytes"].as_u64().unwrap_or(0),
        anti_entropy_full_copy_bytes: repair["full_copy_bytes"].as_u64().unwrap_or(0),
        breakers_opened: run.breakers_opened,
        breaker_rejections: sum("breaker_rejections"),
        calls_failed: sum("calls_failed"),
        limited: run.clients.limited,
        failovers: run.clients.failovers,
        bloom_saved: sum("bloom_saved"),
        latency_us_p50: percentile_us(&latencies, 500),
        latency_us_p99: percentile_us(&latencies, 990),
        wall_s: run.started.elapsed().as_secs_f64(),
    })
}

pub(crate) fn print(r: &Report) {
    println!("\n| summary | |");
    println!("|---|---|");
    println!(
        "| node processes (one killed with SIGKILL, restarted empty) | {} |",
        r.node_processes
    );
    println!(
        "| acknowledged writes / quorum reads (keys) | {} / {} ({}) |",
        r.acknowledged_writes, r.reads, r.keys
    );
    println!(
        "| client latency p50 / p99 (over TCP) | {} µs / {} µs |",
        r.latency_us_p50, r.latency_us_p99
    );
    println!(
        "| requests limited / client failovers | {} / {} |",
        r.limited, r.failovers
    );
    println!(
        "| calls to the dead node refused / turned away by open breakers (nodes open) | {} / {} ({}) |",
        r.calls_failed, r.breaker_rejections, r.breakers_opened
    );
    println!(
        "| hints stored / delivered | {} / {} |",
        r.hints_stored, r.hints_delivered
    );
    println!("| replicas fixed by read repair | {} |", r.read_repairs);
    println!(
        "| anti-entropy: keys repaired, bytes / a full copy | {}, {} / {} |",
        r.anti_entropy_keys, r.anti_entropy_bytes, r.anti_entropy_full_copy_bytes
    );
    println!(
        "| store lookups answered by a Bloom filter alone | {} |",
        r.bloom_saved
    );
    println!("| stale reads | {} |", r.stale_reads);
    println!(
        "| replicas checked over the network | {}, {} stale |",
        r.replicas_checked, r.stale_replicas
    );
    println!(
        "| lost acknowledged writes | {} |",
        r.lost_acknowledged_writes
    );
    println!("| wall time | {:.1} s |", r.wall_s);
}

pub(crate) fn print_json(r: &Report) {
    let line = json!({
        "transport": "tcp",
        "node_processes": r.node_processes,
        "acknowledged_writes": r.acknowledged_writes,
        "keys": r.keys,
        "replicas_checked": r.replicas_checked,
        "lost_acknowledged_writes": r.lost_acknowledged_writes,
        "stale_replicas": r.stale_replicas,
        "reads": r.reads,
        "stale_reads": r.stale_reads,
        "hints_stored": r.hints_stored,
        "hints_delivered": r.hints_delivered,
        "read_repairs": r.read_repairs,
        "anti_entropy_keys": r.anti_entropy_keys,
        "anti_entropy_bytes": r.anti_entropy_bytes,
        "anti_entropy_full_copy_bytes": r.anti_entropy_full_copy_bytes,
        "breakers_opened": r.breakers_opened,
        "breaker_rejections": r.breaker_rejections,
        "calls_failed": r.calls_failed,
        "limited": r.limited,
        "client_failovers": r.failovers,
        "bloom_saved": r.bloom_saved,
        "latency_us_p50": r.latency_us_p50,
        "latency_us_p99": r.latency_us_p99,
        "wall_s": (r.wall_s * 10.0).round() / 10.0,
    });
    println!("{line}");
}
