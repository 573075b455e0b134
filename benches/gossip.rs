//! sinew-gossip's hot paths: the wire codec, `Member::handle_packet`, and the simulator.
//!
//! Run with `cargo bench -p sinew-benches --bench gossip`.
//!
//! # Groups
//!
//! Ids are `BenchmarkId::new(implementation, configuration)`: `sinew` (`default`: plain
//! datagrams, `Config::lan()`; `sealed`: with the keyring), `foca` (`postcard codec`, the
//! codec foca ships), and `baseline` for the bare AEAD; the report tool (`bench_report`)
//! pairs each with sinew's row of the same configuration, else sinew's `default`.
//!
//! - `gossip_wire_encode` / `gossip_wire_decode`: a typical piggybacked datagram (an ack plus
//!   ten `Alive` rumours with 16-byte metadata, 290 bytes), per datagram.
//! - `gossip_handle_packet_ping` / `gossip_handle_packet_10_known_rumours`: a member that knows
//!   1000 others handles (a) a ping, answering with an ack, and (b) a datagram of ten rumours
//!   it already knows (the common case of gossip: everything is a duplicate), per datagram.
//! - `gossip_end_to_end_ping_ack` / `gossip_end_to_end_10_known_rumours`: one datagram as the
//!   runtime carries it, the ping and the ten rumours above, plain (`default`) and `sealed`
//!   (AES-256-GCM): seal, `send_to` on a UDP socket, `recv_from` on another (loopback), open
//!   (with the replay check), `handle_packet` on the member that knows 1000 others, and take
//!   its answer. One thread does both ends, so the figure is the CPU cost per datagram of both
//!   sides together, kernel included; no peer (foca has no transport).
//! - `gossip_simulator_1000_members`: a converged 1000-member cluster on the memberlist LAN
//!   timing with no loss, advanced 100 ms of virtual time per iteration; the throughput figure
//!   is simulated member-seconds per wall second (100 member-seconds per iteration).
//! - `gossip_seal_open_200B` / `gossip_seal_open_1400B`: the `keyring` module sealing a
//!   200-byte (a typical probe with piggybacked rumours) and a 1400-byte (a full datagram)
//!   plaintext and opening it again through the replay window, per datagram. Its baseline is
//!   the bare AEAD it is built on (`aes-gcm`'s AES-256-GCM with the same associated data:
//!   detached in-place encrypt of a fresh copy of the plaintext, then decrypt of a copy, with
//!   a fixed key and nonce): the difference is the framing, the nonce counter, the allocations
//!   and the replay window (session keys are derived once per session, outside the loop).
//!   (memberlist, the reference with encryption, is Go and has no replay window; no Rust SWIM
//!   crate seals its packets.)
//!
//! The peer is foca 2.0 (sans-io SWIM, no Lifeguard) with its postcard codec, given the same
//! work: its identity is an address, a generation and the same 16 bytes of metadata (foca
//! carries metadata in the identity), so its datagram holds an ack header and ten alive
//! members; its `handle_data` runs on a member that knows the same 1000 others, with its
//! update backlog drained first, as sinew's is. Its `Config::new_lan(1000)` is used unchanged
//! (timing does not enter these per-datagram costs). The simulator group has no peer: foca is
//! driven through sinew's simulator by the `gossip_compare` program (`src/bin/`) instead.
// Setup failures should stop the bench loudly.
#![allow(clippy::unwrap_used, clippy::print_stderr)] // and the datagram sizes go to stderr

use std::hint::black_box;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use std::num::NonZeroU32;

use bytes::{BufMut, Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use foca::{AccumulatingRuntime, Codec, Foca, PostcardCodec};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};
use sinew_gossip::keyring::{Keyring, Opener, Sealer};
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

/// foca's identity for these benches: what sinew's rumours carry (address, generation,
/// 16 bytes of metadata).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct FocaId {
    addr: SocketAddr,
    generation: u64,
    meta: [u8; 16],
}

impl foca::Identity for FocaId {
    type Addr = SocketAddr;
    fn renew(&self) -> Option<Self> {
        Some(Self {
            generation: self.generation + 1,
            ..self.clone()
        })
    }
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn win_addr_conflict(&self, other: &Self) -> bool {
        self.generation > other.generation
    }
}

fn foca_id(i: u32) -> FocaId {
    FocaId {
        addr: addr(i),
        generation: 1_700_000_000_000,
        meta: *b"zone=a;role=web!",
    }
}

/// A foca datagram as foca lays it out: header, `u16` update count, updates.
fn foca_datagram(src: u32, dst: u32, message: foca::Message<FocaId>, updates: &[u32]) -> Bytes {
    let mut codec = PostcardCodec;
    let mut buf = BytesMut::new();
    let header = foca::Header {
        src: foca_id(src),
        src_incarnation: 0,
        dst: foca_id(dst),
        message,
    };
    codec.encode_header(&header, &mut buf).unwrap();
    if !updates.is_empty() {
        buf.put_u16(u16::try_from(updates.len()).unwrap());
        for &u in updates {
            let m = foca::Member::new(foca_id(u), 3, foca::State::Alive);
            codec.encode_member(&m, &mut buf).unwrap();
        }
    }
    buf.freeze()
}

fn wire_benches(c: &mut Criterion) {
    let mut msgs = vec![Message::Ack { seq: 12_345 }];
    msgs.extend(rumours(100));
    let encoded = wire::encode(b"prod", &addr(1), &msgs);
    assert_eq!(wire::decode(&encoded).map(|d| d.messages), Ok(msgs.clone()));

    let mut group = c.benchmark_group("gossip_wire_encode");
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| wire::encode(black_box(b"prod"), black_box(&addr(1)), black_box(&msgs)));
    });
    let header = foca::Header {
        src: foca_id(1),
        src_incarnation: 0,
        dst: foca_id(2),
        message: foca::Message::Ack(123),
    };
    let members: Vec<foca::Member<FocaId>> = (100..110)
        .map(|i| foca::Member::new(foca_id(i), 3, foca::State::Alive))
        .collect();
    group.bench_function(BenchmarkId::new("foca", "postcard codec"), |b| {
        b.iter(|| {
            let mut codec = PostcardCodec;
            let mut buf = BytesMut::with_capacity(1400);
            codec.encode_header(black_box(&header), &mut buf).unwrap();
            buf.put_u16(10);
            for m in black_box(&members) {
                codec.encode_member(m, &mut buf).unwrap();
            }
            buf.freeze()
        });
    });
    group.finish();

    let foca_encoded = foca_datagram(
        1,
        2,
        foca::Message::Ack(123),
        &(100..110).collect::<Vec<_>>(),
    );
    let mut group = c.benchmark_group("gossip_wire_decode");
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| wire::decode(black_box(&encoded)));
    });
    group.bench_function(BenchmarkId::new("foca", "postcard codec"), |b| {
        b.iter(|| {
            let mut codec = PostcardCodec;
            let mut data: &[u8] = black_box(&foca_encoded);
            let header: foca::Header<FocaId> = codec.decode_header(&mut data).unwrap();
            let n = bytes::Buf::get_u16(&mut data);
            let members: Vec<foca::Member<FocaId>> = (0..n)
                .map(|_| codec.decode_member(&mut data).unwrap())
                .collect();
            (header, members)
        });
    });
    group.finish();
    eprintln!(
        "gossip wire: sinew datagram {} bytes, foca datagram {} bytes",
        encoded.len(),
        foca_encoded.len()
    );
}

/// A member that knows 1000 others, its join rumours run out (so acks carry no piggyback),
/// and the virtual time it has reached.
fn member_knowing_1000() -> (Member, Duration) {
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
    (m, now)
}

fn handle_packet_benches(c: &mut Criterion) {
    let (mut m, now) = member_knowing_1000();
    let ping = wire::encode(b"", &addr(5), &[Message::Ping { seq: 9 }]);
    let known = wire::encode(b"", &addr(5), &rumours(500));

    // Both answer a ping with one ack to the pinger.
    m.handle_packet(now, addr(5), &ping).unwrap();
    let ack = m.poll_transmit().unwrap();
    assert_eq!(ack.to, addr(5));
    assert!(m.poll_transmit().is_none());

    // foca: the same member (identity 0) knowing the same 1000 others, backlog drained.
    let mut f = Foca::new(
        foca_id(0),
        foca::Config::new_lan(NonZeroU32::new(1001).unwrap()),
        Xoshiro256PlusPlus::seed_from_u64(1),
        PostcardCodec,
    );
    let mut rt = AccumulatingRuntime::new();
    f.apply_many(
        (1..=1000).map(|i| foca::Member::alive(foca_id(i))),
        true,
        &mut rt,
    )
    .unwrap();
    assert_eq!(f.num_members(), 1000);
    let drain = |rt: &mut AccumulatingRuntime<FocaId>| {
        while rt.to_send().is_some() {}
        while rt.to_notify().is_some() {}
        while rt.to_schedule().is_some() {}
    };
    while f.updates_backlog() > 0 {
        f.gossip(&mut rt).unwrap();
        drain(&mut rt);
    }
    let foca_ping = foca_datagram(5, 0, foca::Message::Ping(9), &[]);
    let foca_known = foca_datagram(5, 0, foca::Message::Gossip, &(500..510).collect::<Vec<_>>());
    f.handle_data(&foca_ping, &mut rt).unwrap();
    assert_eq!(rt.to_send().map(|(to, _)| to), Some(foca_id(5)));
    drain(&mut rt);

    let mut group = c.benchmark_group("gossip_handle_packet_ping");
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| {
            m.handle_packet(now, addr(5), black_box(&ping)).unwrap();
            black_box(m.poll_transmit())
        });
    });
    group.bench_function(BenchmarkId::new("foca", "postcard codec"), |b| {
        b.iter(|| {
            f.handle_data(black_box(&foca_ping), &mut rt).unwrap();
            black_box(rt.to_send())
        });
    });
    group.finish();

    let mut group = c.benchmark_group("gossip_handle_packet_10_known_rumours");
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| m.handle_packet(now, addr(5), black_box(&known)).unwrap());
    });
    group.bench_function(BenchmarkId::new("foca", "postcard codec"), |b| {
        b.iter(|| {
            f.handle_data(black_box(&foca_known), &mut rt).unwrap();
            drain(&mut rt);
        });
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

    let mut group = c.benchmark_group("gossip_simulator_1000_members");
    group.sample_size(10);
    // 1000 members x 0.1 s = 100 member-seconds per iteration.
    group.throughput(Throughput::Elements(100));
    group.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| sim.run_for(Duration::from_millis(100)));
    });
    group.finish();
}

/// One datagram end to end, as the runtime carries it: seal (when encrypted), send on a UDP
/// socket, receive on another, open, and hand to a member that knows 1000 others.
fn end_to_end_benches(c: &mut Criterion) {
    let (mut m, now) = member_knowing_1000();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    let from = addr(5);
    let keyring = Keyring::new([7; 32]);
    let mut sealer = Sealer::with_session([1; 16]);
    let mut opener = Opener::new(16);
    let mut buf = vec![0u8; 65_536];
    let payloads = [
        (
            "ping_ack",
            wire::encode(b"", &from, &[Message::Ping { seq: 9 }]),
        ),
        ("10_known_rumours", wire::encode(b"", &from, &rumours(500))),
    ];
    for (what, datagram) in &payloads {
        let mut group = c.benchmark_group(format!("gossip_end_to_end_{what}"));
        group.throughput(Throughput::Elements(1));
        for encrypted in [false, true] {
            let config = if encrypted { "sealed" } else { "default" };
            group.bench_function(BenchmarkId::new("sinew", config), |b| {
                b.iter(|| {
                    let wire = if encrypted {
                        sealer.seal(&keyring, datagram).unwrap()
                    } else {
                        datagram.clone()
                    };
                    tx.send_to(&wire, to).unwrap();
                    let (n, _) = rx.recv_from(&mut buf).unwrap();
                    let received = buf.get(..n).unwrap();
                    if encrypted {
                        let plain = opener.open(&keyring, received).unwrap();
                        m.handle_packet(now, from, &plain).unwrap();
                    } else {
                        m.handle_packet(now, from, received).unwrap();
                    }
                    black_box(m.poll_transmit())
                });
            });
        }
        group.finish();
    }
}

fn seal_open_benches(c: &mut Criterion) {
    use aes_gcm::aead::AeadInPlace;
    use aes_gcm::{Aes256Gcm, KeyInit, Nonce};

    let key = [0x42; 32];
    let keyring = Keyring::new(key);
    let aead = Aes256Gcm::new(&key.into());
    let nonce = Nonce::from([7; 12]);
    for len in [200usize, 1400] {
        let mut group = c.benchmark_group(format!("gossip_seal_open_{len}B"));
        let plaintext = vec![0xA5; len];
        group.throughput(Throughput::Bytes(len as u64));
        let mut sealer = Sealer::with_session([1; 16]);
        let mut opener = Opener::new(1024);
        group.bench_function(BenchmarkId::new("sinew", "default"), |b| {
            b.iter(|| {
                let sealed = sealer.seal(&keyring, black_box(&plaintext)).unwrap();
                opener.open(&keyring, black_box(&sealed)).unwrap()
            });
        });
        group.bench_function(BenchmarkId::new("baseline", "bare AES-256-GCM"), |b| {
            b.iter(|| {
                let mut buf = black_box(&plaintext).clone();
                let tag = aead
                    .encrypt_in_place_detached(&nonce, &[1], &mut buf)
                    .unwrap();
                let mut copy = black_box(&buf).clone();
                aead.decrypt_in_place_detached(&nonce, &[1], &mut copy, &tag)
                    .unwrap();
                copy
            });
        });
        group.finish();
    }
}

criterion_group!(
    benches,
    wire_benches,
    handle_packet_benches,
    seal_open_benches,
    end_to_end_benches,
    simulator_benches
);
criterion_main!(benches);
