//! The keyring's opener against hostile input, in two parts.
//!
//! 1. The raw input as a sealed packet, through `Opener::open` with a fixed keyring: it must
//!    return an error (never panic, never open: nobody without the key can forge a tag) and
//!    record no session.
//! 2. The input as a sequence of operations on two senders and one receiver sharing a keyring:
//!    seal, deliver a sealed packet (again and again, in any order), deliver it with a bit
//!    flipped or cut short, and rotate keys (install, use, remove). Against a model: a genuine
//!    packet opens exactly once, to its plaintext, while its key is installed and it is within
//!    its sender's replay window; a tampered or truncated one never opens.
#![no_main]

use std::collections::HashSet;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use sinew_gossip::keyring::{Keyring, OpenError, Opener, REPLAY_WINDOW, Sealer};

#[derive(Arbitrary, Debug)]
enum Op {
    Seal {
        sender: bool,
        len: u16,
        fill: u8,
    },
    /// Seals many packets at once (to move past the replay window).
    Burst {
        sender: bool,
        count: u16,
    },
    Deliver {
        packet: u16,
    },
    Tamper {
        packet: u16,
        bit: u16,
    },
    Truncate {
        packet: u16,
        len: u16,
    },
    Install {
        key: u8,
    },
    Use {
        key: u8,
    },
    Remove {
        key: u8,
    },
}

struct Packet {
    bytes: bytes::Bytes,
    sender: usize,
    counter: u64,
    key: u8,
    plaintext: Vec<u8>,
}

fn key(k: u8) -> [u8; 32] {
    [k % 4; 32]
}

fuzz_target!(|data: &[u8]| {
    let fixed = Keyring::new([0x5a; 32]);
    let mut opener = Opener::new(4);
    assert!(opener.open(&fixed, data).is_err());
    assert_eq!(opener.sessions(), 0);

    let mut u = Unstructured::new(data);
    let mut ring = Keyring::new(key(0));
    let mut installed: HashSet<u8> = HashSet::from([0]);
    let mut primary = 0u8;
    let mut sealers = [Sealer::with_session([1; 16]), Sealer::with_session([2; 16])];
    let mut sent = [0u64; 2];
    // Per sender: the highest counter opened and every counter opened.
    let mut top = [0u64; 2];
    let mut opened: [HashSet<u64>; 2] = Default::default();
    let mut packets: Vec<Packet> = Vec::new();
    let mut opener = Opener::new(2);

    for _ in 0..256 {
        let Ok(op) = Op::arbitrary(&mut u) else { break };
        match op {
            Op::Seal { sender, len, fill } => {
                let s = usize::from(sender);
                let plaintext = vec![fill; usize::from(len % 1500)];
                let bytes = sealers[s].seal(&ring, &plaintext).unwrap();
                assert_eq!(
                    bytes.len(),
                    plaintext.len() + sinew_gossip::keyring::OVERHEAD
                );
                packets.push(Packet {
                    bytes,
                    sender: s,
                    counter: sent[s],
                    key: primary,
                    plaintext,
                });
                sent[s] += 1;
            }
            Op::Burst { sender, count } => {
                let s = usize::from(sender);
                for _ in 0..count % 1200 {
                    let bytes = sealers[s].seal(&ring, b"burst").unwrap();
                    let counter = sent[s];
                    sent[s] += 1;
                    // Keep at most 4096 packets, to bound memory.
                    if packets.len() < 4096 {
                        packets.push(Packet {
                            bytes,
                            sender: s,
                            counter,
                            key: primary,
                            plaintext: b"burst".to_vec(),
                        });
                    }
                }
            }
            Op::Deliver { packet } => {
                let Some(p) = packets.get(usize::from(packet) % packets.len().max(1)) else {
                    continue;
                };
                let got = opener.open(&ring, &p.bytes);
                let s = p.sender;
                let c = p.counter;
                if !installed.contains(&p.key) {
                    assert_eq!(got, Err(OpenError::Unauthenticated));
                } else if !opened[s].contains(&c) && (c > top[s] || top[s] - c < REPLAY_WINDOW) {
                    assert_eq!(
                        got.as_deref(),
                        Ok(&p.plaintext[..]),
                        "genuine packet {c} of {s}"
                    );
                    opened[s].insert(c);
                    top[s] = top[s].max(c);
                } else {
                    assert_eq!(got, Err(OpenError::Replayed), "packet {c} of {s}");
                }
            }
            Op::Tamper { packet, bit } => {
                let Some(p) = packets.get(usize::from(packet) % packets.len().max(1)) else {
                    continue;
                };
                let mut bad = p.bytes.to_vec();
                let bit = usize::from(bit) % (bad.len() * 8);
                bad[bit / 8] ^= 1 << (bit % 8);
                assert!(opener.open(&ring, &bad).is_err(), "tampered packet opened");
            }
            Op::Truncate { packet, len } => {
                let Some(p) = packets.get(usize::from(packet) % packets.len().max(1)) else {
                    continue;
                };
                let len = usize::from(len) % p.bytes.len();
                assert!(
                    opener.open(&ring, &p.bytes[..len]).is_err(),
                    "truncated packet opened"
                );
            }
            Op::Install { key: k } => {
                ring.install(key(k));
                installed.insert(k % 4);
            }
            Op::Use { key: k } => {
                let r = ring.use_key(&key(k));
                assert_eq!(r.is_ok(), installed.contains(&(k % 4)));
                if r.is_ok() {
                    primary = k % 4;
                }
            }
            Op::Remove { key: k } => {
                let r = ring.remove(&key(k));
                let k = k % 4;
                assert_eq!(r.is_ok(), installed.contains(&k) && k != primary);
                if r.is_ok() {
                    installed.remove(&k);
                }
            }
        }
        assert_eq!(ring.primary(), &key(primary));
        assert_eq!(ring.keys().len(), installed.len());
    }
});
