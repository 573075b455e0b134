//! The sinew showcase: a replicated key-value cache whose nodes are separate processes
//! talking over real sockets, built from every sinew crate, taken through a `kill -9` and a
//! restart, and checked at the end.
//!
//! ```text
//! cargo run --release -p sinew-examples --example cluster                # 5 nodes, 10,000 keys
//! cargo run --release -p sinew-examples --example cluster -- --quick     # a few seconds
//! cargo run --release -p sinew-examples --example cluster -- --nodes 7 --keys 50000 --seed 3
//! ```
//!
//! The program starts N node processes on 127.0.0.1 (default 5; it runs its own binary again
//! as `cluster node ...`, so nothing needs installing). Each node runs:
//!
//! - **sinew-gossip**: a cluster member over UDP and TCP, its messages encrypted with a shared
//!   keyring; it advertises the node's data port in its metadata. This is how a node knows who
//!   is alive ([`engine`]).
//! - **a data plane** on its own TCP port: length-delimited frames (tokio-util) carrying client
//!   requests, replica messages and repair sessions (`sinew_examples::wire`, [`node`]).
//! - **sinew-replica**: a `Coordinator` for the reads and writes clients send it and a
//!   `Replica` for the keys it holds; n = 3, r = w = 2, sloppy quorum with hinted handoff,
//!   read repair, dotted version vectors minted by a per-node actor (a **sinew-snowflake** ID,
//!   new in every life) and stamped by a per-node **sinew-clock** `HybridClock` ([`engine`]).
//! - **sinew-ring**: the consistent-hash ring that places each key on 3 home replicas.
//! - **sinew-breaker**: a circuit breaker per peer around every message it sends; refused
//!   connections to a dead peer trip it ([`link`]).
//! - **sinew-ratelimit**: a keyed limiter per client in front of the node's server ([`node`]).
//! - **sinew-bloom**: a filter of the keys the node holds, answering "not here" without a
//!   lookup ([`store`]).
//! - **sinew-merkle**: anti-entropy with each peer over TCP, finding the differing key ranges
//!   before moving any data ([`repair`]).
//!
//! The parent drives clients over TCP (one of them too fast, and limited), kills one node with
//! SIGKILL while writes go on, restarts it with empty memory, watches hinted handoff, read
//! repair and anti-entropy bring it back, then reads every replica of every key over the
//! network and checks that no acknowledged write was lost ([`scenario`], [`report`]). It prints
//! a summary table and, last, one JSON line; it exits 0 only if every check passes. No node
//! outlives it: each exits when its stdin, held by the parent, closes.
#![allow(clippy::print_stdout, clippy::print_stderr)]
// an example talks
// Indexing here is by node indices below the node count fixed at the start, modulo non-empty
// lengths, or into serde_json values (which answer `Null` for what is missing, never panic):
// plain `[i]` says so more plainly than `.get(i)` would.
#![allow(clippy::indexing_slicing)]

mod client;
mod engine;
mod link;
mod node;
mod procs;
mod repair;
mod report;
mod scenario;
mod store;

use std::error::Error;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// The showcase's command line.
pub(crate) struct Options {
    pub(crate) nodes: usize,
    pub(crate) keys: usize,
    pub(crate) seed: u64,
    pub(crate) quick: bool,
}

/// At most this many keys: a dump or a repair of a node's share stays well inside a frame.
const MAX_KEYS: usize = 100_000;

fn options(mut args: impl Iterator<Item = String>) -> Res<Options> {
    let mut o = Options {
        nodes: 5,
        keys: 10_000,
        seed: 1,
        quick: false,
    };
    let mut keys_given = false;
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--nodes" => o.nodes = value()?.parse()?,
            "--keys" => {
                o.keys = value()?.parse()?;
                keys_given = true;
            }
            "--seed" => o.seed = value()?.parse()?,
            "--quick" => o.quick = true,
            "-h" | "--help" => {
                println!("cluster [--nodes N] [--keys K] [--seed S] [--quick]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other:?} (try --help)").into()),
        }
    }
    if o.quick && !keys_given {
        o.keys = 2_000;
    }
    if o.nodes < engine::REPLICAS + 1 || o.nodes > 16 {
        return Err(format!(
            "--nodes must be at least {} and at most 16",
            engine::REPLICAS + 1
        )
        .into());
    }
    if o.keys < 100 || o.keys > MAX_KEYS {
        return Err(format!("--keys must be between 100 and {MAX_KEYS}").into());
    }
    Ok(o)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let result = if args.peek().map(String::as_str) == Some("node") {
        args.next();
        match node::NodeArgs::parse(args) {
            Ok(a) => node::run(a).await,
            Err(e) => Err(e),
        }
    } else {
        match options(args) {
            // Ctrl-C drops the run, and with it every node process (they are killed on drop).
            Ok(o) => tokio::select! {
                r = scenario::run(o) => r,
                _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
            },
            Err(e) => Err(e),
        }
    };
    if let Err(e) = result {
        eprintln!("\nFAILED: {e}");
        std::process::exit(1);
    }
}
