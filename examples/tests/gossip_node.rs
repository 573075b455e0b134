//! Five `gossip_node` processes on 127.0.0.1: one is killed with SIGKILL and the other four
//! print it `dead`; it restarts and they print it `alive` again; one gets SIGTERM, leaves
//! (the others print `left`) and exits 0. Every wait is bounded; the children are killed
//! when the test ends, pass or fail.
//!
//! `cargo test -p sinew-examples` (and `cargo test --workspace`) builds the example first;
//! see `sinew_examples::example_binary`.
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Detection with `--fast` (probe 200 ms, suspicion multiplier 4, 5 members): the dead
/// member is probed within a round (1 s), suspected after its probe fails, and declared
/// dead when the suspicion times out: 0.8 s at least, 4.8 s at most (Lifeguard's 6x). 30 s
/// leaves room for a loaded machine.
const BOUND: Duration = Duration::from_secs(30);

/// The same key for every node: the test also covers the encrypted path.
const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn binary() -> PathBuf {
    sinew_examples::example_binary("gossip_node").unwrap_or_else(|e| panic!("{e}"))
}

/// `n` distinct ports, each free for both UDP and TCP right now (all held until all are
/// chosen, so none is handed out twice).
fn free_ports(n: usize) -> Vec<u16> {
    let mut held = Vec::new();
    while held.len() < n {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)) {
            held.push((port, udp, tcp));
        }
    }
    held.into_iter().map(|(port, _, _)| port).collect()
}

/// One line a node printed, tagged with the node and when the test read it.
struct Line {
    node: usize,
    json: Value,
    at: Instant,
}

struct Nodes {
    addrs: Vec<SocketAddr>,
    children: Vec<Option<Child>>,
    tx: mpsc::Sender<Line>,
    rx: mpsc::Receiver<Line>,
    log: Vec<Line>,
}

impl Nodes {
    fn spawn(&mut self, i: usize) {
        let mut cmd = Command::new(binary());
        cmd.args([
            "--name",
            &format!("n{i}"),
            "--bind",
            &self.addrs[i].to_string(),
        ])
        .args(["--fast", "--key", KEY]);
        // Everyone seeds through n0; n0 through n1, so it too finds its way back.
        let seed = if i == 0 { self.addrs[1] } else { self.addrs[0] };
        cmd.args(["--seed", &seed.to_string()]);
        // Each node's stderr (its address, timing and any error) goes to a file, for failures.
        let log = std::env::temp_dir().join(format!("gossip_node_test_n{i}.log"));
        let stderr = std::fs::File::create(&log).map_or_else(|_| Stdio::null(), Stdio::from);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary().display()));
        let out = child.stdout.take().unwrap();
        let tx = self.tx.clone();
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                // A line that is not JSON reaches the test as a string, which fails its checks
                // with the line in the message (a panic here would only show as a timeout).
                let json = serde_json::from_str(&line).unwrap_or(Value::String(line));
                if tx
                    .send(Line {
                        node: i,
                        json,
                        at: Instant::now(),
                    })
                    .is_err()
                {
                    return;
                }
            }
        });
        self.children[i] = Some(child);
    }

    /// Waits until every node of `watchers` has printed `event` about every one of
    /// `members` (other than itself) at or after `since`, with `accept` holding for the
    /// line; returns how long after `since` each did, in the order watchers x members.
    fn wait_all(
        &mut self,
        watchers: &[usize],
        event: &str,
        members: &[&str],
        since: Instant,
        accept: impl Fn(&Value) -> bool,
    ) -> Vec<Duration> {
        let deadline = Instant::now() + BOUND;
        loop {
            let mut missing = Vec::new();
            let mut found = Vec::new();
            for &w in watchers {
                for &m in members.iter().filter(|m| **m != format!("n{w}")) {
                    let hit = self.log.iter().find(|l| {
                        l.node == w
                            && l.at >= since
                            && l.json["event"] == event
                            && l.json["member"] == m
                            && accept(&l.json)
                    });
                    match hit {
                        Some(l) => found.push(l.at - since),
                        None => missing.push((w, m)),
                    }
                }
            }
            if missing.is_empty() {
                return found;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.rx.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "within {BOUND:?} these (node, member) never printed {event}: {missing:?} (node logs: {})",
                    std::env::temp_dir().join("gossip_node_test_n*.log").display()
                )
            });
            // Every line is a JSON object with the fields the issue names.
            assert!(
                line.json.is_object(),
                "n{} printed {}",
                line.node,
                line.json
            );
            for field in ["event", "member", "incarnation", "at_ms"] {
                assert!(
                    !line.json[field].is_null(),
                    "n{} printed {} without {field}",
                    line.node,
                    line.json
                );
            }
            self.log.push(line);
        }
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn ms(ds: &[Duration]) -> Vec<u128> {
    ds.iter().map(Duration::as_millis).collect()
}

#[test]
fn five_processes_detect_a_kill_welcome_a_restart_and_see_a_sigterm_leave() {
    binary();
    let (tx, rx) = mpsc::channel();
    let mut nodes = Nodes {
        addrs: free_ports(5)
            .into_iter()
            .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
            .collect(),
        children: (0..5).map(|_| None).collect(),
        tx,
        rx,
        log: Vec::new(),
    };
    let t0 = Instant::now();
    for i in 0..5 {
        nodes.spawn(i);
    }
    let all = ["n0", "n1", "n2", "n3", "n4"];
    nodes.wait_all(&[0, 1, 2, 3, 4], "alive", &all, t0, |_| true);
    eprintln!(
        "5 processes converged after {} ms",
        t0.elapsed().as_millis()
    );

    // kill -9 n4: the other four print it dead.
    let mut n4 = nodes.children[4].take().unwrap();
    let killed = Instant::now();
    n4.kill().unwrap();
    n4.wait().unwrap();
    let watchers = [0, 1, 2, 3];
    let detected = nodes.wait_all(&watchers, "dead", &["n4"], killed, |_| true);
    let generation = |j: &Value| j["incarnation"]["generation"].as_u64().unwrap_or(0);
    let old = nodes
        .log
        .iter()
        .filter(|l| l.json["member"] == "n4")
        .map(|l| generation(&l.json))
        .max()
        .unwrap();
    eprintln!("kill -9 n4: dead at n0..n3 after {:?} ms", ms(&detected));

    // Restart n4 on the same address: the four print it alive, with a new generation.
    let restarted = Instant::now();
    nodes.spawn(4);
    let rejoined = nodes.wait_all(&watchers, "alive", &["n4"], restarted, |j| {
        generation(j) > old
    });
    eprintln!("restart n4: alive at n0..n3 after {:?} ms", ms(&rejoined));

    // SIGTERM n3: it leaves gracefully and exits 0; the other three print it left.
    let mut n3 = nodes.children[3].take().unwrap();
    let termed = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &n3.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let left = nodes.wait_all(&[0, 1, 2, 4], "left", &["n3"], termed, |_| true);
    let deadline = Instant::now() + BOUND;
    let exit = loop {
        if let Some(s) = n3.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "n3 did not exit after SIGTERM");
        thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "n3 exited with {exit}");
    eprintln!(
        "SIGTERM n3: left at n0,n1,n2,n4 after {:?} ms; exit {exit}",
        ms(&left)
    );
}
