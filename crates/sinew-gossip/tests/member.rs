//! One member driven by hand with crafted datagrams: the state rules, Lifeguard, and bad input.
// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use sinew_gossip::wire::{self, Message};
use sinew_gossip::{Config, Event, Incarnation, Member, PacketError, State};

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i], 7946))
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

const A: u8 = 1;

fn member() -> Member {
    Member::new(Config::lan(), addr(A), 1, Duration::ZERO, 99).unwrap()
}

/// Sends `msgs` to `m` as a datagram from member `from`.
fn deliver(m: &mut Member, now: Duration, from: u8, msgs: &[Message]) {
    let bytes = wire::encode(b"", &addr(from), msgs);
    m.handle_packet(now, addr(from), &bytes).unwrap();
}

fn alive(i: u8, n: u32) -> Message {
    Message::Alive {
        addr: addr(i),
        incarnation: Incarnation::new(1, n),
        metadata: Bytes::new(),
    }
}

/// `m` learns of members 2..=last, alive at incarnation (1, 0).
fn populate(m: &mut Member, last: u8) {
    let msgs: Vec<Message> = (2..=last).map(|i| alive(i, 0)).collect();
    deliver(m, Duration::ZERO, 2, &msgs);
    while m.poll_event().is_some() {}
}

fn drain(m: &mut Member) -> Vec<(SocketAddr, Vec<Message>)> {
    let mut out = Vec::new();
    while let Some(t) = m.poll_transmit() {
        assert!(t.bytes.len() <= m.config().mtu);
        out.push((t.to, wire::decode(&t.bytes).unwrap().messages));
    }
    out
}

#[test]
fn ping_is_acked_to_the_transport_source() {
    let mut m = member();
    let bytes = wire::encode(b"", &addr(2), &[Message::Ping { seq: 77 }]);
    let nat: SocketAddr = "192.168.1.9:40000".parse().unwrap();
    m.handle_packet(ms(1), nat, &bytes).unwrap();
    let out = drain(&mut m);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, nat);
    assert!(out[0].1.contains(&Message::Ack { seq: 77 }));
}

#[test]
fn bad_datagrams_are_refused_and_change_nothing() {
    let mut m = member();
    assert!(matches!(
        m.handle_packet(ms(1), addr(2), &[1, 2, 3]),
        Err(PacketError::Decode(_))
    ));
    let other_cluster = wire::encode(b"other", &addr(2), &[alive(3, 0)]);
    assert_eq!(
        m.handle_packet(ms(1), addr(2), &other_cluster),
        Err(PacketError::WrongCluster)
    );
    assert_eq!(m.num_alive(), 1);
    assert!(m.poll_event().is_none());
    assert!(m.poll_transmit().is_none());
}

#[test]
fn dead_member_is_not_resurrected_by_third_parties() {
    let mut m = member();
    populate(&mut m, 5);
    let dead = Message::Dead {
        addr: addr(3),
        incarnation: Incarnation::new(1, 0),
        from: addr(2),
    };
    deliver(&mut m, ms(10), 2, &[dead]);
    assert_eq!(
        m.poll_event(),
        Some(Event::Dead {
            addr: addr(3),
            incarnation: Incarnation::new(1, 0)
        })
    );
    // Third parties repeat old news of it being alive, directly and through anti-entropy.
    deliver(&mut m, ms(20), 4, &[alive(3, 0)]);
    deliver(
        &mut m,
        ms(30),
        5,
        &[Message::SyncState {
            addr: addr(3),
            incarnation: Incarnation::new(1, 0),
            state: State::Alive,
            metadata: Bytes::new(),
        }],
    );
    assert_eq!(m.member(addr(3)).unwrap().state, State::Dead);
    assert!(m.poll_event().is_none());
    // Only a newer incarnation (which only member 3 itself creates) brings it back.
    deliver(&mut m, ms(40), 4, &[alive(3, 1)]);
    assert_eq!(m.member(addr(3)).unwrap().state, State::Alive);
    assert!(matches!(m.poll_event(), Some(Event::Joined { .. })));
}

#[test]
fn accusation_is_refuted_with_a_higher_incarnation() {
    let mut m = member();
    populate(&mut m, 4);
    let before = m.incarnation();
    let suspect = Message::Suspect {
        addr: addr(A),
        incarnation: before,
        from: addr(2),
        age_ms: 0,
    };
    deliver(&mut m, ms(5), 2, &[suspect, Message::Ping { seq: 1 }]);
    assert_eq!(m.incarnation(), Incarnation::new(1, 1));
    assert_eq!(m.health(), 1, "being accused raises the health multiplier");
    // The refutation rides on the ack.
    let out = drain(&mut m);
    assert!(out[0].1.contains(&alive(A, 1)), "{:?}", out);
    // A stale accusation does not bump again.
    deliver(
        &mut m,
        ms(6),
        3,
        &[Message::Dead {
            addr: addr(A),
            incarnation: before,
            from: addr(3),
        }],
    );
    assert_eq!(m.incarnation(), Incarnation::new(1, 1));
}

#[test]
fn failed_probe_goes_indirect_then_suspects_and_raises_health() {
    let mut m = member();
    populate(&mut m, 6);
    // Run until the first probe goes out.
    let mut now = Duration::ZERO;
    let (target, seq) = loop {
        now += ms(10);
        m.handle_timeout(now);
        if let Some((to, msgs)) = drain(&mut m)
            .into_iter()
            .find(|(_, msgs)| msgs.iter().any(|x| matches!(x, Message::Ping { .. })))
        {
            let seq = msgs
                .iter()
                .find_map(|x| match x {
                    Message::Ping { seq } => Some(*seq),
                    _ => None,
                })
                .unwrap();
            break (to, seq);
        }
    };
    // No ack: after the probe timeout (500 ms), ping-reqs go to 3 other members.
    m.handle_timeout(now + ms(500));
    let reqs: Vec<_> = drain(&mut m)
        .into_iter()
        .filter(|(_, msgs)| msgs.contains(&Message::PingReq { seq, target }))
        .collect();
    assert_eq!(reqs.len(), 3);
    assert!(reqs.iter().all(|(to, _)| *to != target));
    // One relay nacks; two stay silent (missed nacks count against our own health).
    let relay = reqs[0].0.ip().to_string();
    let relay_id: u8 = relay.rsplit('.').next().unwrap().parse().unwrap();
    deliver(&mut m, now + ms(700), relay_id, &[Message::Nack { seq }]);
    m.handle_timeout(now + ms(1000));
    assert_eq!(m.member(target).unwrap().state, State::Suspect);
    assert_eq!(m.health(), 2, "two missed nacks");
    assert!(matches!(m.poll_event(), Some(Event::Suspected { addr, .. }) if addr == target));
}

/// Runs `m` until its first probe goes out: when, to whom, with which sequence number.
fn first_probe(m: &mut Member) -> (Duration, SocketAddr, u32) {
    let mut now = Duration::ZERO;
    loop {
        now += ms(10);
        m.handle_timeout(now);
        let ping = drain(m).into_iter().find_map(|(to, msgs)| {
            msgs.iter().find_map(|x| match x {
                Message::Ping { seq } => Some((to, *seq)),
                _ => None,
            })
        });
        if let Some((to, seq)) = ping {
            return (now, to, seq);
        }
    }
}

#[test]
fn acks_count_only_from_the_member_they_answer_for() {
    for from_target in [false, true] {
        let mut m = member();
        populate(&mut m, 6);
        let (now, target, seq) = first_probe(&mut m);
        // The right number from anyone else (a replay from another conversation, a guess)
        // does not count, nor does a nack from a member that was never asked to relay.
        let target_id = (2..=6).find(|&i| addr(i) == target).unwrap();
        let other = (2..=6).find(|&i| addr(i) != target).unwrap();
        let from = if from_target { target_id } else { other };
        deliver(
            &mut m,
            now + ms(100),
            from,
            &[Message::Ack { seq }, Message::Nack { seq }],
        );
        m.handle_timeout(now + ms(1000));
        let expected = if from_target {
            State::Alive
        } else {
            State::Suspect
        };
        assert_eq!(
            m.member(target).unwrap().state,
            expected,
            "ack from the target: {from_target}"
        );
        if !from_target {
            assert_eq!(
                m.health(),
                3,
                "no nack counted: all three relays missed theirs"
            );
        }
    }
}

#[test]
fn probe_of_a_suspect_tells_it_so() {
    let mut m = member();
    populate(&mut m, 2);
    deliver(
        &mut m,
        ms(1),
        2,
        &[Message::Suspect {
            addr: addr(2),
            incarnation: Incarnation::new(1, 0),
            from: addr(9),
            age_ms: 0,
        }],
    );
    // The only member to probe is the suspect; its ping carries the suspicion (buddy rule).
    let mut now = ms(1);
    loop {
        now += ms(50);
        m.handle_timeout(now);
        let out = drain(&mut m);
        if let Some((_, msgs)) = out
            .iter()
            .find(|(_, msgs)| msgs.iter().any(|x| matches!(x, Message::Ping { .. })))
        {
            assert!(matches!(
                msgs[0],
                Message::Suspect { addr: a, from, .. } if a == addr(2) && from == addr(A)
            ));
            break;
        }
        assert!(now < Duration::from_secs(3));
    }
}

/// Member with 10 alive members (itself included): min suspicion timeout = 4 x log10(10) x
/// 1 s = 4 s, max = 6 x 4 s = 24 s, k = 4 - 2 = 2 confirmations expected. Lifeguard's timeout
/// after c confirmations is max(min, max - (max - min) x ln(c + 1) / ln(k + 1)):
/// c = 0 -> 24 s, c = 1 -> 24 - 20 x ln 2 / ln 3 = 11.381 s, c = 2 -> 4 s.
fn suspicion_deadline(confirmations: u8) -> (bool, bool, Duration) {
    let expected = match confirmations {
        0 => ms(24_000),
        1 => ms(11_381),
        _ => ms(4_000),
    };
    let mut m = member();
    populate(&mut m, 10);
    let inc = Incarnation::new(1, 0);
    for from in 0..=confirmations {
        deliver(
            &mut m,
            Duration::ZERO,
            11 + from,
            &[Message::Suspect {
                addr: addr(2),
                incarnation: inc,
                from: addr(11 + from),
                age_ms: 0,
            }],
        );
    }
    m.handle_timeout(expected - ms(5));
    let before = m.member(addr(2)).unwrap().state == State::Suspect;
    m.handle_timeout(expected + ms(5));
    let after = m.member(addr(2)).unwrap().state == State::Dead;
    (before, after, expected)
}

#[test]
fn suspicion_timeout_shrinks_with_independent_confirmations() {
    for c in 0..3 {
        let (before, after, at) = suspicion_deadline(c);
        assert!(before, "{c} confirmations: dead before {at:?}");
        assert!(after, "{c} confirmations: not dead at {at:?}");
    }
}

/// The accuser's own rumour coming back (relayed by others, or from anti-entropy) is not an
/// independent confirmation: the timeout stays at the 24 s maximum of the case above.
#[test]
fn accusers_repeats_do_not_confirm_a_suspicion() {
    let mut m = member();
    populate(&mut m, 10);
    let suspect = Message::Suspect {
        addr: addr(2),
        incarnation: Incarnation::new(1, 0),
        from: addr(11),
        age_ms: 0,
    };
    deliver(&mut m, Duration::ZERO, 11, std::slice::from_ref(&suspect));
    for relay in 3..=6 {
        deliver(&mut m, ms(100), relay, std::slice::from_ref(&suspect));
    }
    m.handle_timeout(ms(23_995));
    assert_eq!(m.member(addr(2)).unwrap().state, State::Suspect);
    m.handle_timeout(ms(24_005));
    assert_eq!(m.member(addr(2)).unwrap().state, State::Dead);
}

/// A suspicion that arrives with an age counts its timeout from the accusation: with two
/// confirmations (min timeout 4 s, as above) and the first rumour 1.5 s old on arrival at
/// t = 10 s, the member declares dead at 10 + 4 - 1.5 = 12.5 s. An age beyond `min` (a stale
/// or forged one) is capped at `min`: declared dead at once, never before the rumour arrived.
#[test]
fn a_suspicions_age_travels_with_it() {
    for (age_ms, dead_at) in [(1_500, ms(12_500)), (60_000, ms(10_000))] {
        let mut m = member();
        populate(&mut m, 10);
        let t = ms(10_000);
        for from in 0..3 {
            deliver(
                &mut m,
                t,
                11 + from,
                &[Message::Suspect {
                    addr: addr(2),
                    incarnation: Incarnation::new(1, 0),
                    from: addr(11 + from),
                    age_ms: if from == 0 { age_ms } else { 0 },
                }],
            );
        }
        assert_eq!(m.member(addr(2)).unwrap().state, State::Suspect);
        m.handle_timeout(dead_at.saturating_sub(ms(5)).max(t));
        let before = m.member(addr(2)).unwrap().state;
        m.handle_timeout(dead_at + ms(5));
        assert_eq!(
            m.member(addr(2)).unwrap().state,
            State::Dead,
            "age {age_ms}"
        );
        if dead_at > t {
            assert_eq!(before, State::Suspect, "age {age_ms}");
        }
    }
}

#[test]
fn leaving_stops_answering_and_goes_quiet() {
    let mut m = member();
    populate(&mut m, 5);
    m.leave();
    assert!(m.has_left());
    // Every live member is told directly.
    let mut told: Vec<SocketAddr> = drain(&mut m)
        .into_iter()
        .filter(|(_, msgs)| msgs.iter().any(|x| matches!(x, Message::Left { .. })))
        .map(|(to, _)| to)
        .collect();
    told.sort();
    let mut expected: Vec<SocketAddr> = (2..=5).map(addr).collect();
    expected.sort();
    assert_eq!(told, expected);
    deliver(&mut m, ms(1), 2, &[Message::Ping { seq: 3 }]);
    assert!(drain(&mut m).is_empty(), "a left member does not answer");
    // It gossips its departure until the retransmit limit, then needs no more timers.
    let mut now = ms(1);
    let mut saw_left = false;
    while let Some(t) = m.poll_timeout() {
        now = now.max(t);
        m.handle_timeout(now);
        for (_, msgs) in drain(&mut m) {
            saw_left |= msgs.iter().any(|x| matches!(x, Message::Left { .. }));
        }
        assert!(now < Duration::from_secs(30));
    }
    assert!(saw_left);
}

#[test]
fn unanswered_join_is_retried_without_help() {
    let mut m = member();
    m.join(&[addr(2), addr(A)]);
    let first = drain(&mut m);
    assert_eq!(first.len(), 1, "own address is skipped");
    assert_eq!(first[0].0, addr(2));
    assert!(
        first[0]
            .1
            .iter()
            .any(|x| matches!(x, Message::SyncDigest { reply: false, .. }))
    );
    // Nobody answers; within a reconnect interval (1 s) the seed is pinged again...
    let mut now = Duration::ZERO;
    let mut ping = None;
    while now < Duration::from_millis(1_100) && ping.is_none() {
        now = m.poll_timeout().unwrap().max(now);
        m.handle_timeout(now);
        ping = drain(&mut m)
            .into_iter()
            .filter(|(to, _)| *to == addr(2))
            .find_map(|(_, msgs)| {
                msgs.iter().find_map(|x| match x {
                    Message::Ping { seq } => Some(*seq),
                    _ => None,
                })
            });
    }
    let seq = ping.expect("the seed is retried within a reconnect interval");
    // ...and its ack starts the anti-entropy exchange (the join proper).
    deliver(&mut m, now, 2, &[Message::Ack { seq }]);
    let out = drain(&mut m);
    assert!(out.iter().any(|(to, msgs)| {
        *to == addr(2)
            && msgs
                .iter()
                .any(|x| matches!(x, Message::SyncDigest { reply: false, .. }))
    }));
}

/// Reconnects (partition healing) go round robin over the members believed dead, least
/// recently tried first, so a wrongly dead member among truly dead ones is re-checked within
/// one round. (At random, three picks cover three dead members with probability 2/9.)
#[test]
fn reconnects_go_round_robin_over_the_dead() {
    let mut m = member();
    let dead: Vec<Message> = (3..=5)
        .flat_map(|i| {
            [
                alive(i, 0),
                Message::Dead {
                    addr: addr(i),
                    incarnation: Incarnation::new(1, 0),
                    from: addr(2),
                },
            ]
        })
        .collect();
    deliver(&mut m, Duration::ZERO, 2, &dead);
    assert_eq!(m.num_alive(), 1);
    let mut order: Vec<SocketAddr> = Vec::new();
    let mut now = Duration::ZERO;
    while order.len() < 9 && now < Duration::from_secs(60) {
        now = m.poll_timeout().unwrap().max(now);
        m.handle_timeout(now);
        for (to, msgs) in drain(&mut m) {
            // A reconnect is a ping carrying the peer's death notice (so a live one refutes).
            if msgs.iter().any(|x| matches!(x, Message::Ping { .. })) {
                assert!(
                    msgs.iter()
                        .any(|x| matches!(x, Message::Dead { addr: a, .. } if *a == to))
                );
                order.push(to);
            }
        }
    }
    assert_eq!(order.len(), 9, "{order:?}");
    for round in order.chunks(3) {
        let mut round = round.to_vec();
        round.sort();
        assert_eq!(round, vec![addr(3), addr(4), addr(5)], "{order:?}");
    }
}

#[test]
fn metadata_update_bumps_incarnation_and_is_validated() {
    let mut m = member();
    m.set_metadata(&b"v1"[..]).unwrap();
    assert_eq!(m.incarnation(), Incarnation::new(1, 1));
    assert_eq!(&m.metadata()[..], b"v1");
    assert!(m.set_metadata(vec![0u8; 10_000]).is_err());
    assert_eq!(&m.metadata()[..], b"v1");
}

#[test]
fn extreme_times_do_not_panic() {
    let mut m = member();
    populate(&mut m, 6);
    deliver(&mut m, Duration::MAX, 2, &[Message::Ping { seq: 1 }]);
    m.handle_timeout(Duration::MAX);
    m.handle_timeout(Duration::MAX);
    let _ = drain(&mut m);
    // Time going backwards is treated as no time passing.
    m.handle_timeout(Duration::ZERO);
    assert!(m.poll_timeout().is_some());
}

/// A digest is one datagram anyone can send with a forged sender. Answered in full, one
/// naming every bucket different would make this member send its whole view (4000 members:
/// about 56 KB) to the forged address. The answer is capped at `sync_max_datagrams`
/// datagrams, and a real peer that keeps exchanging digests still learns everyone, because
/// each answer starts at a random bucket.
#[test]
fn digest_answers_are_capped_and_still_converge() {
    let many = |i: u16| SocketAddr::from(([10, 1, (i >> 8) as u8, i as u8], 7946));
    let mut m = member();
    let msgs: Vec<Message> = (0..4000u16)
        .map(|i| Message::Alive {
            addr: many(i),
            incarnation: Incarnation::new(1, 0),
            metadata: Bytes::new(),
        })
        .collect();
    for chunk in msgs.chunks(50) {
        deliver(&mut m, Duration::ZERO, 2, chunk);
    }
    while m.poll_event().is_some() {}
    drain(&mut m);

    let peer: SocketAddr = "192.0.2.7:7946".parse().unwrap();
    let forged = Message::SyncDigest {
        reply: false,
        buckets: vec![0; wire::DIGEST_BUCKETS],
    };
    let request = wire::encode(b"", &peer, &[forged]);
    m.handle_packet(ms(1), peer, &request).unwrap();
    let out = drain(&mut m);
    let cap = m.config().sync_max_datagrams;
    assert_eq!(out.len(), cap, "the answer fills the cap exactly");
    assert!(out.iter().all(|(to, _)| *to == peer));

    // A real peer joining through m: each exchange (its digest, m's capped answer) teaches
    // it more; all 4000 + m + itself within 20 exchanges (4000 states take at least 3 answers).
    let mut b = Member::new(Config::lan(), peer, 1, Duration::ZERO, 7).unwrap();
    let mut exchanges = 0;
    while b.num_alive() < 4002 {
        exchanges += 1;
        assert!(
            exchanges <= 20,
            "b knows {} after 20 exchanges",
            b.num_alive()
        );
        b.join(&[addr(A)]);
        let now = ms(10 * exchanges);
        loop {
            let mut moved = false;
            while let Some(t) = b.poll_transmit() {
                if t.to == addr(A) {
                    m.handle_packet(now, peer, &t.bytes).unwrap();
                }
                moved = true;
            }
            while let Some(t) = m.poll_transmit() {
                if t.to == peer {
                    b.handle_packet(now, addr(A), &t.bytes).unwrap();
                }
                moved = true;
            }
            if !moved {
                break;
            }
        }
    }
    assert!(
        exchanges >= 3,
        "capped answers cannot carry 4000 states in two"
    );
}

/// The accuser re-probes its suspect every other probe, the ping carrying the suspicion:
/// a live suspect hears of it even if every rumour of it was lost. Here the first target
/// is never answered (so it becomes suspect at the end of its probe); everyone else acks.
/// With 50 members a plain round robin would not come back to it for 49 probes.
#[test]
fn the_accuser_reprobes_its_suspect_with_the_suspicion() {
    let mut m = member();
    populate(&mut m, 50);
    let mut now = Duration::ZERO;
    let mut target = None;
    let mut pings_to_target = 0;
    while now < Duration::from_secs(6) {
        now += ms(10);
        m.handle_timeout(now);
        for (to, msgs) in drain(&mut m) {
            let Some(seq) = msgs.iter().find_map(|x| match x {
                Message::Ping { seq } => Some(*seq),
                _ => None,
            }) else {
                continue;
            };
            let t = *target.get_or_insert(to);
            if to != t {
                let id = to
                    .ip()
                    .to_string()
                    .rsplit('.')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                deliver(&mut m, now, id, &[Message::Ack { seq }]);
                continue;
            }
            pings_to_target += 1;
            if m.member(t).unwrap().state == State::Suspect {
                // A re-probe: it tells the suspect it is suspected.
                assert!(matches!(
                    msgs[0],
                    Message::Suspect { addr: a, from, .. } if a == t && from == addr(A)
                ));
                return;
            }
        }
    }
    panic!("no re-probe of the suspect within 6 s ({pings_to_target} pings to it)");
}
