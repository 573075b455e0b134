//! sinew-gossip's hot paths: the wire codec, `Member::handle_packet`, and the simulator.
//!
//! Run with `cargo bench -p sinew-benches --bench gossip`.
//!
//! # Groups
//!
//! - `wire_encode` / `wire_decode`: a typical piggybacked datagram (an ack plus ten `Alive`
//!   rumours with 16-byte metadata, 290 bytes), per datagram.
//! - `handle_packet`: a member that knows 1000 others handles (a) a ping, answering with an ack,
//!   and (b) a datagram of ten rumours it already knows (the common case of gossip: everything
//!   is a duplicate), per datagram.
//! - `simulator`: a converged 1000-member cluster on the memberlist LAN timing with no loss,
//!   advanced 100 ms of virtual time per iteration; the throughput figure is simulated
//!   member-seconds per wall second (100 member-seconds per iteration).
//!
//! No peer crate is benchmarked here yet: the foca comparison (issue 8's last step) is not
//! done, so these are sinew's own figures.
// Setup failures should stop the bench loudly.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sinew_gossip::sim::{NetConfig, Simulation};
use sinew_gossip::wire::{self, Message};
use sinew_gossip::{Config, Incarnation, Member};

fn addr(i: u32) -> SocketAddr {
    let [_, a, b, c] = (i + 1).to_be_bytes();
    SocketAddr::from(([10, a, b, c], 7946))
}

fn rumours(base: u32) -> Vec<Message> {
    (0..10)
        .map(|i| Message::Alive {
            addr: addr(base + i),
            incarnation: Incarnation::new(1_700_000_000_000, 3),
            metadata: Bytes::from_static(b"zone=a;role=web!"),
        })
        .collect()
}

fn wire_benches(c: &mut Criterion) {
    let mut msgs = vec![Message::Ack { seq: 12_345 }];
    msgs.extend(rumours(100));
    let encoded = wire::encode(b"prod", &addr(1), &msgs);
    assert_eq!(wire::decode(&encoded).map(|d| d.messages), Ok(msgs.clone()));

    let mut group = c.benchmark_group("wire_encode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sinew", |b| {
        b.iter(|| wire::encode(black_box(b"prod"), black_box(&addr(1)), black_box(&msgs)));
    });
    group.finish();

    let mut group = c.benchmark_group("wire_decode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sinew", |b| b.iter(|| wire::decode(black_box(&encoded))));
    group.finish();
}

fn handle_packet_benches(c: &mut Criterion) {
    let mut m = Member::new(Config::lan(), addr(0), 1, Duration::ZERO, 1).unwrap();
    for chunk in 0..100 {
        let d = wire::encode(b"", &addr(1), &rumours(1 + chunk * 10));
        m.handle_packet(Duration::ZERO, addr(1), &d).unwrap();
    }
    assert_eq!(m.num_alive(), 1001);
    while m.poll_event().is_some() {}
    // Let the join rumours run out so acks carry no piggyback.
    let mut now = Duration::ZERO;
    while m.pending_broadcasts() > 0 {
        now += Duration::from_millis(200);
        m.handle_timeout(now);
        while m.poll_transmit().is_some() {}
    }
    let ping = wire::encode(b"", &addr(5), &[Message::Ping { seq: 9 }]);
    let known = wire::encode(b"", &addr(5), &rumours(500));

    let mut group = c.benchmark_group("handle_packet");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sinew ping -> ack", |b| {
        b.iter(|| {
            m.handle_packet(now, addr(5), black_box(&ping)).unwrap();
            black_box(m.poll_transmit())
        });
    });
    group.bench_function("sinew 10 known rumours", |b| {
        b.iter(|| m.handle_packet(now, addr(5), black_box(&known)).unwrap());
    });
    group.finish();
}

fn simulator_benches(c: &mut Criterion) {
    let n = 1000;
    let mut sim = Simulation::new(Config::lan(), NetConfig::default(), 1).unwrap();
    for _ in 0..n {
        sim.add_member();
    }
    for id in 1..n {
        sim.join(id, &[0]);
        sim.run_for(Duration::from_millis(10));
    }
    while !sim.converged() {
        sim.run_for(Duration::from_secs(1));
    }
    sim.run_for(Duration::from_secs(30));

    let mut group = c.benchmark_group("simulator");
    group.sample_size(10);
    // 1000 members x 0.1 s = 100 member-seconds per iteration.
    group.throughput(Throughput::Elements(100));
    group.bench_function("sinew 1000 members, 100 ms", |b| {
        b.iter(|| sim.run_for(Duration::from_millis(100)));
    });
    group.finish();
}

criterion_group!(
    benches,
    wire_benches,
    handle_packet_benches,
    simulator_benches
);
criterion_main!(benches);
