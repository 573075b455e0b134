//! Arbitrary datagrams into the decoder and into `handle_packet` of a live member: no panic,
//! and the member's invariants hold afterwards (its live count matches its table, every
//! datagram it sends fits the MTU and decodes, it always has a next deadline).
#![no_main]

use std::net::SocketAddr;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sinew_gossip::wire::{self, Message};
use sinew_gossip::{Config, Incarnation, Member, State};

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i], 7946))
}

fuzz_target!(|data: &[u8]| {
    // The decoder alone: total, and whatever decodes re-encodes to the same.
    if let Ok(d) = wire::decode(data) {
        let again = wire::encode(&d.label, &d.sender, &d.messages);
        assert_eq!(wire::decode(&again).as_ref(), Ok(&d));
    }

    // A member that knows a few others, fed the input as a sequence of datagrams: each chunk
    // is `len:u8` then `len` bytes; a zero length advances time by 100 ms instead.
    let Ok(mut m) = Member::new(Config::lan(), addr(1), 1, Duration::ZERO, 7) else {
        return;
    };
    let known: Vec<Message> = (2..6)
        .map(|i| Message::Alive {
            addr: addr(i),
            incarnation: Incarnation::new(1, 0),
            metadata: Default::default(),
        })
        .collect();
    let _ = m.handle_packet(
        Duration::ZERO,
        addr(2),
        &wire::encode(b"", &addr(2), &known),
    );
    let mut now = Duration::ZERO;
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        if len == 0 {
            now += Duration::from_millis(100);
            m.handle_timeout(now);
            rest = tail;
            continue;
        }
        let n = usize::from(len).min(tail.len());
        let (packet, tail) = tail.split_at(n);
        // Also as a well-formed header around the noise, to reach the message handlers.
        let mut framed = wire::encode(b"", &addr(3), &[]).to_vec();
        framed.extend_from_slice(packet);
        let _ = m.handle_packet(now, addr(3), packet);
        let _ = m.handle_packet(now, addr(3), &framed);
        rest = tail;

        let live = m
            .members()
            .filter(|i| matches!(i.state, State::Alive | State::Suspect))
            .count();
        assert_eq!(m.num_alive(), live + usize::from(!m.has_left()));
        while let Some(t) = m.poll_transmit() {
            assert!(t.bytes.len() <= m.config().mtu);
            assert!(wire::decode(&t.bytes).is_ok());
        }
        while m.poll_event().is_some() {}
        assert!(m.has_left() || m.poll_timeout().is_some());
    }
});
