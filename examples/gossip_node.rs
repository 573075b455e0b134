//! One cluster member over real UDP and TCP: start a few in separate terminals and watch them
//! find each other, notice a `kill -9`, and welcome a restart.
//!
//! ```text
//! cargo run --release -p sinew-examples --example gossip_node -- --name n1 --bind 127.0.0.1:7001
//! cargo run --release -p sinew-examples --example gossip_node -- --name n2 --bind 127.0.0.1:7002 --seed 127.0.0.1:7001
//! cargo run --release -p sinew-examples --example gossip_node -- --name n3 --bind 127.0.0.1:7003 --seed 127.0.0.1:7001
//! ```
//!
//! Every membership event is one JSON object on its own line of stdout:
//!
//! ```text
//! {"event":"alive","member":"n2","addr":"127.0.0.1:7002","incarnation":{"generation":1795000000000,"number":1},"at_ms":412}
//! ```
//!
//! `event` is `alive`, `suspect`, `dead`, `left` or `updated`; `at_ms` counts from the
//! program's start. On SIGINT (Ctrl-C) or SIGTERM the member leaves gracefully (the others
//! print `left`, not `dead`) and the program exits 0; `kill -9` is a crash, which the others
//! detect and print as `dead`.
//!
//! Options:
//!
//! - `--name NAME` (required), `--bind IP:PORT` (required; port 0 picks one),
//!   `--advertise IP:PORT` (the address others reach this member at, when it differs),
//!   `--seed HOST:PORT` (repeatable: any members to join through; retried until seen),
//! - `--key HEX` (64 hex digits: encrypt and authenticate everything with this key; every
//!   member needs the same one; make one with `openssl rand -hex 32`),
//! - `--metadata TEXT`, and timing: `--fast` (memberlist's LAN preset five times faster:
//!   probe every 200 ms), `--probe-interval-ms MS`, `--suspicion-mult K`.
//!
//! The member's own address and timing go to stderr, so stdout holds only events.
#![allow(clippy::print_stdout, clippy::print_stderr)] // an example talks on stdout

use std::error::Error;
use std::time::Instant;

use sinew::gossip::Config;
use sinew::gossip::keyring::Keyring;
use sinew::gossip::runtime::{Cluster, ClusterConfig, ClusterError, MemberEvent};

struct Args {
    name: String,
    bind: String,
    advertise: Option<String>,
    seeds: Vec<String>,
    key: Option<String>,
    metadata: String,
    gossip: Config,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut a = Args {
        name: String::new(),
        bind: String::new(),
        advertise: None,
        seeds: Vec::new(),
        key: None,
        metadata: String::new(),
        gossip: Config::lan(),
    };
    let mut probe_ms = None;
    let mut suspicion_mult = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--name" => a.name = value()?,
            "--bind" => a.bind = value()?,
            "--advertise" => a.advertise = Some(value()?),
            "--seed" => a.seeds.push(value()?),
            "--key" => a.key = Some(value()?),
            "--metadata" => a.metadata = value()?,
            "--fast" => a.gossip = Config::lan().scaled(0.2),
            "--probe-interval-ms" => probe_ms = Some(value()?.parse::<u64>()?),
            "--suspicion-mult" => suspicion_mult = Some(value()?.parse::<u32>()?),
            "-h" | "--help" => {
                eprintln!(
                    "gossip_node --name NAME --bind IP:PORT [--advertise IP:PORT] [--seed HOST:PORT ...] [--key HEX] [--metadata TEXT] [--fast] [--probe-interval-ms MS] [--suspicion-mult K]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other:?} (try --help)").into()),
        }
    }
    if a.name.is_empty() || a.bind.is_empty() {
        return Err("--name and --bind are required (try --help)".into());
    }
    if let Some(ms) = probe_ms {
        // Scale every timing with the probe interval, as the presets relate them.
        let factor = ms as f64 / a.gossip.probe_interval.as_millis() as f64;
        a.gossip = a.gossip.scaled(factor);
    }
    if let Some(k) = suspicion_mult {
        a.gossip.suspicion_mult = k;
    }
    Ok(a)
}

fn json_line(e: &MemberEvent, started: Instant) -> String {
    serde_json::json!({
        "event": e.kind.as_str(),
        "member": e.name,
        "addr": e.addr.to_string(),
        "incarnation": {"generation": e.incarnation.generation, "number": e.incarnation.number},
        "at_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
    .to_string()
}

/// Resolves when SIGINT or (on Unix) SIGTERM arrives.
async fn stop_signal() -> Result<(), Box<dyn Error>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let started = Instant::now();
    let args = parse_args()?;
    let bind = tokio::net::lookup_host(&args.bind)
        .await?
        .next()
        .ok_or("--bind does not resolve")?;
    let mut config = ClusterConfig::builder(&args.name, bind)
        .gossip(args.gossip.clone())
        .metadata(args.metadata.clone().into_bytes());
    if let Some(adv) = &args.advertise {
        config = config.advertise(adv.parse()?);
    }
    for seed in &args.seeds {
        config = config.seed(seed);
    }
    if let Some(hex) = &args.key {
        config = config.keyring(Keyring::from_hex(hex)?);
    }
    let config = config.build()?;
    // A node restarted at once may find its port still held by its previous life for a
    // moment (sockets the kernel is closing): retry briefly rather than fail.
    let mut tries = 0;
    let cluster = loop {
        match Cluster::start(config.clone()).await {
            Err(ClusterError::Bind(e)) if tries < 50 => {
                if tries == 0 {
                    eprintln!("cannot bind {bind} yet ({e}); retrying for 5 s");
                }
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            r => break r?,
        }
    };
    eprintln!(
        "{} listening on {} (advertised {}), probe every {:?}, {}",
        cluster.name(),
        cluster.bound_addr(),
        cluster.local_addr(),
        args.gossip.probe_interval,
        if args.key.is_some() {
            "encrypted"
        } else {
            "plain"
        }
    );

    let mut events = cluster.subscribe();
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            e = events.recv() => match e {
                Ok(e) => println!("{}", json_line(&e, started)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    eprintln!("missed {n} events; members now: {:?}", cluster.members());
                }
                // The member's task ended without being asked to: say so and fail.
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    return Err("the member stopped unexpectedly".into());
                }
            },
            r = &mut stop => {
                r?;
                eprintln!("{}: leaving", cluster.name());
                let m = cluster.metrics();
                cluster.leave().await?;
                eprintln!("left; traffic: {} datagrams in, {} out, {} dropped", m.packets_in, m.packets_out, m.dropped());
                break;
            }
        }
    }
    Ok(())
}
