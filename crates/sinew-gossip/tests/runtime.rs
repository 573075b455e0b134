//! The tokio runtime over real sockets on 127.0.0.1: convergence, crash detection, restart,
//! graceful leave, keys, garbage, replays and partitions.
//!
//! Every wait is bounded: a test fails (never hangs) when its bound passes. The timing is
//! `Config::lan().scaled(0.2)`: probe every 200 ms, probe timeout 100 ms, suspicion
//! multiplier 4, retransmit multiplier 4. With 5 members the suspicion timeout is
//! 4 x 1 x 200 ms = 0.8 s at least and 6 x that = 4.8 s at most (Lifeguard), and a crashed member is first probed within one
//! round of 4 probes (0.8 s) plus probe timeouts stretched by health, so detection takes
//! under 6 s; the bounds below are 30 s, room for a loaded 2-core machine.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::net::SocketAddr;
use std::time::Duration;

use sinew_gossip::keyring::{Keyring, Sealer};
use sinew_gossip::runtime::{Cluster, ClusterConfig, EventKind, Faults, MemberEvent};
use sinew_gossip::{Config, State};
use tokio::sync::broadcast;
use tokio::time::{Instant, sleep};

const BOUND: Duration = Duration::from_secs(30);

fn fast() -> Config {
    Config::lan().scaled(0.2)
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn start(
    name: &str,
    seed: Option<SocketAddr>,
    f: impl FnOnce(ClusterConfigBuilder) -> ClusterConfigBuilder,
) -> Cluster {
    start_at(name, loopback(), seed, f).await
}

use sinew_gossip::runtime::ClusterConfigBuilder;

async fn start_at(
    name: &str,
    bind: SocketAddr,
    seed: Option<SocketAddr>,
    f: impl FnOnce(ClusterConfigBuilder) -> ClusterConfigBuilder,
) -> Cluster {
    let mut b = ClusterConfig::builder(name, bind).gossip(fast());
    if let Some(seed) = seed {
        b = b.seed(seed.to_string());
    }
    let config = f(b).build().unwrap();
    // A member shut down a moment ago may still hold its port while tokio drops its task.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match Cluster::start(config.clone()).await {
            Ok(c) => return c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("{name} cannot start: {e}"),
        }
    }
}

/// Polls `cond` every 20 ms until it holds; panics with `what` after [`BOUND`].
async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < BOUND, "not within {BOUND:?}: {what}");
        sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

fn state_of(c: &Cluster, addr: SocketAddr) -> Option<State> {
    c.members().iter().find(|m| m.addr == addr).map(|m| m.state)
}

fn alive_count(c: &Cluster) -> usize {
    c.members()
        .iter()
        .filter(|m| m.state == State::Alive)
        .count()
}

/// The next event of `kind` about `name`, skipping others; panics after [`BOUND`].
async fn next_event(
    rx: &mut broadcast::Receiver<MemberEvent>,
    kind: EventKind,
    name: &str,
) -> MemberEvent {
    let deadline = Instant::now() + BOUND;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Ok(e)) if e.kind == kind && e.name == name => return e,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("event stream: {e}"),
            Err(_) => panic!("no {kind:?} event for {name} within {BOUND:?}"),
        }
    }
}

async fn cluster_of(
    n: usize,
    f: impl Fn(usize, ClusterConfigBuilder) -> ClusterConfigBuilder,
) -> Vec<Cluster> {
    let first = start("n0", None, |b| f(0, b)).await;
    let seed = first.local_addr();
    let mut all = vec![first];
    for i in 1..n {
        all.push(start(&format!("n{i}"), Some(seed), |b| f(i, b)).await);
    }
    let n_ = n;
    wait_for("the cluster converges", || {
        all.iter().all(|c| alive_count(c) == n_)
    })
    .await;
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_members_converge_detect_a_crash_take_a_restart_and_see_a_leave() {
    let mut nodes = cluster_of(5, |i, b| b.generation(if i == 4 { 1 } else { 10 })).await;
    let mut events = nodes[0].subscribe();
    // Joining is anti-entropy, which travels by TCP; probes travel by UDP.
    let m = nodes[0].metrics();
    assert!(m.streams_in >= 4, "{m:?}");
    for c in &nodes {
        let mut names: Vec<_> = c.members().iter().map(|m| m.name.clone()).collect();
        names.sort();
        assert_eq!(names, ["n0", "n1", "n2", "n3", "n4"]);
    }

    // Crash n4: its task is aborted, nothing is said.
    let n4 = nodes.pop().unwrap();
    let addr4 = n4.local_addr();
    n4.shutdown();
    let took = wait_for("everyone marks the crashed n4 dead", || {
        nodes
            .iter()
            .all(|c| state_of(c, addr4) == Some(State::Dead))
    })
    .await;
    let dead = next_event(&mut events, EventKind::Dead, "n4").await;
    assert_eq!(dead.addr, addr4);
    eprintln!("crash detected everywhere after {took:?}");
    let m = nodes[0].metrics();
    assert!(m.probes > 0 && m.failed_probes + m.suspicions > 0, "{m:?}");

    // Restart it on the same address with a larger generation: alive again everywhere.
    let n4 = start_at("n4", addr4, Some(nodes[0].local_addr()), |b| {
        b.generation(2)
    })
    .await;
    wait_for("everyone sees n4 back with generation 2", || {
        nodes.iter().all(|c| {
            c.members().iter().any(|m| {
                m.addr == addr4 && m.state == State::Alive && m.incarnation.generation == 2
            })
        })
    })
    .await;
    let back = next_event(&mut events, EventKind::Alive, "n4").await;
    assert!(back.incarnation > dead.incarnation);
    nodes.push(n4);

    // n3 leaves gracefully: "left" everywhere, not "dead".
    let n3 = nodes.remove(3);
    let addr3 = n3.local_addr();
    n3.leave().await.unwrap();
    wait_for("everyone sees n3 left", || {
        nodes
            .iter()
            .all(|c| state_of(c, addr3) == Some(State::Left))
    })
    .await;
    next_event(&mut events, EventKind::Left, "n3").await;
    // Nobody else is lost on the way (a loaded machine may raise a suspicion, never a death).
    for c in &nodes {
        let live = c
            .members()
            .iter()
            .filter(|m| matches!(m.state, State::Alive | State::Suspect))
            .count();
        assert_eq!(live, 4, "{}: {:?}", c.name(), c.members());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_updates_reach_everyone() {
    let nodes = cluster_of(3, |_, b| b.metadata(&b"v1"[..])).await;
    let mut events = nodes[1].subscribe();
    nodes[0].set_metadata(&b"v2"[..]).unwrap();
    let e = next_event(&mut events, EventKind::Updated, "n0").await;
    assert_eq!(&e.metadata[..], b"v2");
    let a0 = nodes[0].local_addr();
    wait_for("n2 sees the new metadata", || {
        nodes[2]
            .members()
            .iter()
            .any(|m| m.addr == a0 && &m.metadata[..] == b"v2")
    })
    .await;
    // Too large beside the name: refused, nothing sent.
    let max = fast().max_metadata;
    assert!(matches!(
        nodes[0].set_metadata(vec![0u8; max]),
        Err(sinew_gossip::runtime::SetMetadataError::TooLarge { len, .. }) if len == max
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_with_the_wrong_key_no_key_or_another_label_cannot_join_nor_disturb() {
    let key = [7u8; 32];
    let nodes = cluster_of(3, |_, b| b.keyring(Keyring::new(key))).await;
    let seed = nodes[0].local_addr();
    let intruder = start("intruder", Some(seed), |b| {
        b.keyring(Keyring::new([8u8; 32]))
    })
    .await;
    let plain = start("plain", Some(seed), |b| b).await;
    // The right key but another cluster's label: opens, then is refused as foreign.
    let foreign = start("foreign", Some(seed), |b| {
        b.keyring(Keyring::new(key))
            .gossip(fast().with_label("other"))
    })
    .await;
    // Both retry their seed every reconnect interval (200 ms) for 3 s.
    sleep(Duration::from_secs(3)).await;
    for c in &nodes {
        let members = c.members();
        assert_eq!(members.len(), 3, "{} let someone in: {members:?}", c.name());
        assert!(
            members.iter().all(|m| m.state == State::Alive),
            "{members:?}"
        );
    }
    assert_eq!(intruder.members().len(), 1);
    assert_eq!(plain.members().len(), 1);
    assert_eq!(foreign.members().len(), 1);
    let m = nodes[0].metrics();
    assert!(m.dropped_unauthenticated >= 2, "{m:?}");
    assert!(m.dropped_wrong_cluster >= 1, "{m:?}");
    assert_eq!(m.dropped_malformed, 0, "{m:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_packets_are_dropped_and_counted() {
    let key = [3u8; 32];
    let nodes = cluster_of(2, |_, b| b.keyring(Keyring::new(key))).await;
    let target = nodes[0].local_addr();
    let before = nodes[0].metrics();
    // An attacker who recorded one genuine packet sends it again and again.
    let keyring = Keyring::new(key);
    let mut sealer = Sealer::with_session([9u8; 16]);
    let packet = sealer.seal(&keyring, b"not a datagram").unwrap();
    let socket = tokio::net::UdpSocket::bind(loopback()).await.unwrap();
    for _ in 0..5 {
        socket.send_to(&packet, target).await.unwrap();
    }
    wait_for("the copies are counted as replays", || {
        nodes[0].metrics().dropped_replayed - before.dropped_replayed == 4
    })
    .await;
    let m = nodes[0].metrics();
    // The first copy opened (it is genuine) and then failed to decode.
    assert_eq!(m.dropped_malformed - before.dropped_malformed, 1, "{m:?}");
    assert_eq!(alive_count(&nodes[0]), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_flood_neither_crashes_a_member_nor_costs_it_the_cluster() {
    let nodes = cluster_of(3, |_, b| b).await;
    let target = nodes[0].local_addr();
    let mut events = nodes[1].subscribe();
    let socket = tokio::net::UdpSocket::bind(loopback()).await.unwrap();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    const FLOOD: usize = 20_000;
    for i in 0..FLOOD {
        let len = (next() % 1500) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Every other datagram starts like a real one (version 1, empty label), so the
        // flood reaches past the first checks of the decoder.
        if i % 2 == 0 && len >= 2 {
            bytes[0] = 1;
            bytes[1] = 0;
        }
        let _ = socket.send_to(&bytes, target).await;
        // Paced, so most of the flood reaches the member rather than the kernel's full
        // receive buffer (about 20,000 datagrams a second).
        if i % 100 == 0 {
            sleep(Duration::from_millis(5)).await;
        }
    }
    // Garbage on the stream port too: an oversized frame, a truncated one, idle connections.
    for frame in [
        &[0xFFu8, 0xFF, 0xFF, 0xFF][..],
        &[0, 0, 0, 10, 1, 2][..],
        &[][..],
    ] {
        let mut s = tokio::net::TcpStream::connect(target).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut s, frame)
            .await
            .unwrap();
    }
    // At least a quarter must reach the member (a loaded kernel may drop more of the rest),
    // and every one that does is dropped.
    wait_for("the flood is drained", || {
        nodes[0].metrics().dropped() as usize >= FLOOD / 4
    })
    .await;
    sleep(Duration::from_secs(1)).await;
    assert!(!nodes[0].is_stopped());
    for c in &nodes {
        assert_eq!(
            alive_count(c),
            3,
            "{} lost the cluster: {:?}",
            c.name(),
            c.members()
        );
    }
    while let Ok(e) = events.try_recv() {
        assert_ne!(e.kind, EventKind::Dead, "{e:?}");
    }
    let m = nodes[0].metrics();
    assert!(m.dropped_malformed > 0 && m.dropped_oversized > 0, "{m:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_made_with_the_fault_injector_heals_by_itself() {
    let faults: Vec<Faults> = (0..4).map(|i| Faults::new(i as u64)).collect();
    let f = faults.clone();
    let nodes = cluster_of(4, move |i, b| b.faults(f[i].clone())).await;
    let addr: Vec<SocketAddr> = nodes.iter().map(Cluster::local_addr).collect();
    // {n0, n1} | {n2, n3}, cut on both sides.
    for (side, other) in [([0, 1], [2, 3]), ([2, 3], [0, 1])] {
        for i in side {
            for j in other {
                faults[i].cut_off(addr[j]);
            }
        }
    }
    wait_for("each side declares the other dead", || {
        [0, 1].iter().all(|&i| {
            [2, 3]
                .iter()
                .all(|&j| state_of(&nodes[i], addr[j]) == Some(State::Dead))
        }) && [2, 3].iter().all(|&i| {
            [0, 1]
                .iter()
                .all(|&j| state_of(&nodes[i], addr[j]) == Some(State::Dead))
        })
    })
    .await;
    for f in &faults {
        f.heal();
    }
    let took = wait_for("the healed cluster is whole again", || {
        nodes.iter().all(|c| alive_count(c) == 4)
    })
    .await;
    eprintln!("partition healed in {took:?}");
    assert!(nodes[0].metrics().dropped_injected > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_all_interfaces_advertise_one_and_join_a_seed_by_host_name_that_comes_up_late() {
    // A bound to 0.0.0.0 advertises 127.0.0.1 (its port is the bound one).
    let a_config = ClusterConfig::builder("a", "0.0.0.0:0".parse().unwrap())
        .gossip(fast())
        .advertise("127.0.0.1:0".parse().unwrap())
        .build()
        .unwrap();
    let a = Cluster::start(a_config).await.unwrap();
    assert!(a.bound_addr().ip().is_unspecified());
    assert_eq!(
        a.local_addr(),
        SocketAddr::from(([127, 0, 0, 1], a.bound_addr().port()))
    );
    // Binding 0.0.0.0 without an advertise address is refused up front.
    assert!(matches!(
        ClusterConfig::builder("x", "0.0.0.0:0".parse().unwrap()).build(),
        Err(sinew_gossip::ConfigError::AdvertiseRequired)
    ));

    // B's seed is a host name whose member is not up yet: B keeps trying on its own.
    let port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let b = start("b", None, |c| {
        c.seed(format!("localhost:{port}"))
            .seed(a.local_addr().to_string())
    })
    .await;
    wait_for("b joins a", || alive_count(&b) == 2).await;
    sleep(Duration::from_millis(500)).await;
    let c = start_at("c", SocketAddr::from(([127, 0, 0, 1], port)), None, |c| c).await;
    wait_for("b finds its late seed c, and a hears of it", || {
        alive_count(&b) == 3 && alive_count(&a) == 3 && alive_count(&c) == 3
    })
    .await;
    assert!(
        a.members()
            .iter()
            .any(|m| m.name == "a" && m.addr == a.local_addr())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_from_one_host_cannot_stop_a_join() {
    let nodes = cluster_of(2, |_, b| b).await;
    let target = nodes[0].local_addr();
    // Eight idle connections from this host, held open: at most four are served, the rest
    // refused; the member's own peers (also on this host) find the stream full too, and
    // fall back to UDP.
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(tokio::net::TcpStream::connect(target).await.unwrap());
    }
    let n2 = start("n2", Some(target), |b| b).await;
    wait_for("n2 joins despite the idle connections", || {
        alive_count(&n2) == 3 && nodes.iter().all(|c| alive_count(c) == 3)
    })
    .await;
    let m = nodes[0].metrics();
    assert!(m.dropped_overloaded >= 4, "{m:?}");
    drop(idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyring_changes_apply_whole_or_not_at_all() {
    use sinew_gossip::keyring::KeyError;
    use sinew_gossip::runtime::UpdateKeyringError;
    let (old, new, unknown) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    let c = start("k", None, |b| b.keyring(Keyring::new(old))).await;
    // Installs `new`, then fails: nothing of it stays.
    let r = c
        .update_keyring(move |k| {
            k.install(new);
            k.use_key(&unknown)
        })
        .await;
    assert!(
        matches!(r, Err(UpdateKeyringError::Key(KeyError::NotInstalled))),
        "{r:?}"
    );
    let has_new = move |k: &mut Keyring| {
        if k.contains(&new) {
            Ok(())
        } else {
            Err(KeyError::NotInstalled)
        }
    };
    assert!(
        c.update_keyring(has_new).await.is_err(),
        "the failed change was undone"
    );
    // A whole rotation step applies.
    c.update_keyring(move |k| {
        k.install(new);
        k.use_key(&new)
    })
    .await
    .unwrap();
    c.update_keyring(has_new).await.unwrap();
    c.update_keyring(move |k| k.remove(&old)).await.unwrap();
    // Without a keyring there is nothing to change.
    let plain = start("p", None, |b| b).await;
    assert!(matches!(
        plain.update_keyring(|_| Ok(())).await,
        Err(UpdateKeyringError::NotEncrypted)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_has_everything_from_the_start_and_closes_when_the_member_stops() {
    let a = start("a", None, |b| b).await;
    let b = start("b", Some(a.local_addr()), |b| b).await;
    wait_for("b joins", || alive_count(&a) == 2).await;
    // Subscribed only now, the first subscription still has b's arrival.
    let mut first = a.subscribe();
    let e = first.try_recv().unwrap();
    assert_eq!((e.kind, e.name.as_str()), (EventKind::Alive, "b"));
    drop(b);
    a.shutdown();
    let closed = tokio::time::timeout(BOUND, async {
        loop {
            match first.recv().await {
                Err(broadcast::error::RecvError::Closed) => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the stream did not close");
}
