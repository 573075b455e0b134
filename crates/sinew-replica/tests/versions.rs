//! Property tests of the version types: the lattice laws of merge, the partial order of
//! version vectors, encoding round trips, total decoders, and "siblings never lose a write"
//! over random histories of writes and replication.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::cmp::Ordering;
use std::collections::BTreeMap;

use proptest::prelude::*;
use sinew_replica::version::{Dot, HlcTimestamp, Policy, Siblings, VersionVector};

// ---------------------------------------------------------------------------------------
// Version vectors

/// Small actor and counter ranges, so that equal, ordered and concurrent pairs all occur.
fn vv() -> impl Strategy<Value = VersionVector> {
    proptest::collection::vec((0u64..6, 1u64..6), 0..6)
        .prop_map(|dots| dots.into_iter().map(|(a, c)| Dot::new(a, c)).collect())
}

fn merged(a: &VersionVector, b: &VersionVector) -> VersionVector {
    let mut m = a.clone();
    m.merge(b);
    m
}

fn model(v: &VersionVector) -> BTreeMap<u64, u64> {
    v.iter().map(|d| (d.actor, d.counter)).collect()
}

fn encode_vv(v: &VersionVector) -> Vec<u8> {
    let mut out = Vec::new();
    v.encode(&mut out);
    out
}

proptest! {
    #[test]
    fn vv_merge_is_a_join(a in vv(), b in vv(), c in vv()) {
        prop_assert_eq!(merged(&a, &b), merged(&b, &a));
        prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
        prop_assert_eq!(merged(&a, &a), a.clone());
        // The pointwise maximum of the model.
        let mut expect = model(&a);
        for (actor, counter) in model(&b) {
            let e = expect.entry(actor).or_default();
            *e = (*e).max(counter);
        }
        let m = merged(&a, &b);
        prop_assert_eq!(model(&m), expect);
        // The least upper bound: descends both, and anything that descends both descends it.
        prop_assert!(m.descends(&a) && m.descends(&b));
        if c.descends(&a) && c.descends(&b) {
            prop_assert!(c.descends(&m));
        }
    }

    #[test]
    fn vv_descends_is_a_partial_order(a in vv(), b in vv(), c in vv()) {
        prop_assert!(a.descends(&a));
        if a.descends(&b) && b.descends(&a) {
            prop_assert_eq!(&a, &b);
        }
        if a.descends(&b) && b.descends(&c) {
            prop_assert!(a.descends(&c));
        }
    }

    #[test]
    fn vv_comparisons_agree(a in vv(), b in vv()) {
        let ma = model(&a);
        let mb = model(&b);
        let geq = mb.iter().all(|(k, v)| ma.get(k).copied().unwrap_or(0) >= *v);
        prop_assert_eq!(a.descends(&b), geq);
        prop_assert_eq!(a.concurrent(&b), !a.descends(&b) && !b.descends(&a));
        let expect = match (a.descends(&b), b.descends(&a)) {
            (true, true) => Some(Ordering::Equal),
            (true, false) => Some(Ordering::Greater),
            (false, true) => Some(Ordering::Less),
            (false, false) => None,
        };
        prop_assert_eq!(a.partial_cmp(&b), expect);
        prop_assert_eq!(b.partial_cmp(&a), expect.map(Ordering::reverse));
        for actor in 0..7 {
            prop_assert_eq!(a.get(actor), ma.get(&actor).copied().unwrap_or(0));
        }
    }

    #[test]
    fn vv_increment_and_witness(a in vv(), actor in 0u64..8, counter in 0u64..9) {
        let mut b = a.clone();
        let dot = b.increment(actor);
        prop_assert_eq!(dot, Dot::new(actor, a.get(actor) + 1));
        prop_assert!(b.contains(dot) && !a.contains(dot));
        prop_assert_eq!(b.partial_cmp(&a), Some(Ordering::Greater));
        let mut w = a.clone();
        w.witness(Dot::new(actor, counter));
        prop_assert_eq!(w.get(actor), a.get(actor).max(counter));
    }

    #[test]
    fn vv_encoding_round_trips(a in vv(), tail in proptest::collection::vec(any::<u8>(), 0..3)) {
        let mut bytes = encode_vv(&a);
        prop_assert_eq!(bytes.len(), a.encoded_len());
        let len = bytes.len();
        bytes.extend_from_slice(&tail);
        prop_assert_eq!(VersionVector::decode(&bytes), Ok((a, len)));
    }

    #[test]
    fn vv_decoder_is_total_and_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok((v, used)) = VersionVector::decode(&bytes) {
            // The encoding is canonical: what decodes is exactly the encoding of its value.
            prop_assert_eq!(&encode_vv(&v)[..], &bytes[..used]);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Siblings: random histories

/// One step of a history over three replicas (replica `r` coordinates as actor `r`).
#[derive(Clone, Debug)]
enum Op {
    /// A client read replica `r`: its context becomes available to later writes.
    Read(usize),
    /// A client writes through replica `r` with the `ctx`-th context read so far
    /// (modulo their number; context 0 is the empty one, a blind write).
    Write { r: usize, ctx: usize, ts: u64 },
    /// Replica `to` merges replica `from`'s object (replication, read repair,
    /// anti-entropy: all are merges).
    Merge { from: usize, to: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..3).prop_map(Op::Read),
        (0usize..3, any::<usize>(), 0u64..50).prop_map(|(r, ctx, ts)| Op::Write { r, ctx, ts }),
        (0usize..3, 0usize..3).prop_map(|(from, to)| Op::Merge { from, to }),
    ]
}

/// A write: its dot, the context its client carried, and its value (its index).
#[derive(Clone, Debug)]
struct Write {
    dot: Dot,
    context: VersionVector,
}

#[derive(Debug)]
struct History {
    replicas: Vec<Siblings<u32>>,
    reads: Vec<VersionVector>,
    writes: Vec<Write>,
    /// Every state any replica went through, for the lattice laws.
    states: Vec<Siblings<u32>>,
}

impl History {
    fn run(ops: &[Op]) -> Result<History, TestCaseError> {
        let mut h = History {
            replicas: vec![Siblings::new(); 3],
            reads: vec![VersionVector::new()],
            writes: Vec::new(),
            states: vec![Siblings::new()],
        };
        for op in ops {
            match *op {
                Op::Read(r) => h.reads.push(h.replicas[r].context().clone()),
                Op::Write { r, ctx, ts } => {
                    let context = h.reads[ctx % h.reads.len()].clone();
                    let value = h.writes.len() as u32;
                    let dot =
                        h.replicas[r].write(r as u64, &context, HlcTimestamp::from_u64(ts), value);
                    h.writes.push(Write { dot, context });
                    h.states.push(h.replicas[r].clone());
                }
                Op::Merge { from, to } => {
                    let source = h.replicas[from].clone();
                    h.replicas[to].merge(&source);
                    h.states.push(h.replicas[to].clone());
                }
            }
            for r in &h.replicas {
                h.check(r)?;
            }
        }
        Ok(h)
    }

    /// Siblings never lose a write: each write a replica has seen is either still held (with
    /// its own value), or was overwritten by a write whose client had seen it and which the
    /// replica has seen too; and nothing overwritten lingers.
    fn check(&self, replica: &Siblings<u32>) -> Result<(), TestCaseError> {
        for s in replica.iter() {
            let w = self.writes.get(s.value as usize);
            prop_assert_eq!(
                w.map(|w| w.dot),
                Some(s.dot),
                "a value under another write's dot"
            );
        }
        for (i, w) in self.writes.iter().enumerate() {
            let held = replica.iter().any(|s| s.dot == w.dot);
            let overwritten = self
                .writes
                .iter()
                .any(|later| later.context.contains(w.dot) && replica.covers(later.dot));
            if replica.covers(w.dot) {
                prop_assert_eq!(held, !overwritten, "write {} ({}) held: {}", i, w.dot, held);
            } else {
                prop_assert!(!held);
            }
        }
        Ok(())
    }

    /// Every replica merges every other until all are equal (two rounds through replica 0).
    fn sync(&mut self) {
        for _ in 0..2 {
            for r in 1..3 {
                let (head, tail) = self.replicas.split_at_mut(r);
                head[0].merge(&tail[0]);
                tail[0].merge(&head[0]);
            }
        }
    }
}

fn merged_s(a: &Siblings<u32>, b: &Siblings<u32>) -> Siblings<u32> {
    let mut m = a.clone();
    m.merge(b);
    m
}

proptest! {
    #[test]
    fn siblings_never_lose_a_write(ops in proptest::collection::vec(op(), 0..60)) {
        let mut h = History::run(&ops)?;
        h.sync();
        for r in &h.replicas {
            h.check(r)?;
            prop_assert_eq!(r, &h.replicas[0]);
            prop_assert_eq!(r.fingerprint(), h.replicas[0].fingerprint());
        }
        // After a full sync every write is seen everywhere: held or overwritten by a client
        // that had seen it, never silently dropped.
        for w in &h.writes {
            prop_assert!(h.replicas[0].covers(w.dot));
        }
    }

    #[test]
    fn siblings_merge_is_a_join(
        ops in proptest::collection::vec(op(), 0..40),
        picks in (any::<usize>(), any::<usize>(), any::<usize>()),
    ) {
        let h = History::run(&ops)?;
        let n = h.states.len();
        let (a, b, c) = (&h.states[picks.0 % n], &h.states[picks.1 % n], &h.states[picks.2 % n]);
        prop_assert_eq!(merged_s(a, b), merged_s(b, a));
        prop_assert_eq!(merged_s(&merged_s(a, b), c), merged_s(a, &merged_s(b, c)));
        prop_assert_eq!(merged_s(a, a), a.clone());
        // Merging what one already descends from changes nothing.
        let ab = merged_s(a, b);
        prop_assert!(ab.descends(a) && ab.descends(b));
        prop_assert_eq!(merged_s(&ab, a), ab.clone());
        // Lww: the merge of the resolved objects is the resolution of the merge.
        let lww = |x: &Siblings<u32>| { let mut y = x.clone(); y.keep_newest(); y };
        let mut l = lww(a);
        Policy::Lww.merge(&mut l, &lww(b));
        let mut r = lww(b);
        Policy::Lww.merge(&mut r, &lww(a));
        prop_assert_eq!(&l, &r);
        prop_assert!(l.len() <= 1);
    }

    #[test]
    fn siblings_encoding_round_trips(ops in proptest::collection::vec(op(), 0..40)) {
        let h = History::run(&ops)?;
        for s in &h.states {
            let bytes_form = bytes_of(s);
            let mut out = Vec::new();
            bytes_form.encode(&mut out);
            prop_assert_eq!(out.len(), bytes_form.encoded_len());
            prop_assert_eq!(Siblings::decode(&out), Ok((bytes_form.clone(), out.len())));
            let shared = bytes::Bytes::from(out.clone());
            prop_assert_eq!(Siblings::decode_bytes(&shared), Ok((bytes_form, out.len())));
        }
    }

    #[test]
    fn siblings_decoder_is_total_and_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        check_siblings_decoder(&bytes)?;
    }

    #[test]
    fn siblings_decoder_survives_corruption(
        ops in proptest::collection::vec(op(), 0..20),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
    ) {
        // Corrupt valid encodings, which reaches deeper into the decoder than noise does.
        let h = History::run(&ops)?;
        let mut out = Vec::new();
        bytes_of(&h.replicas[0]).encode(&mut out);
        for (at, byte) in flips {
            let n = out.len();
            out[at % n] = byte;
        }
        check_siblings_decoder(&out)?;
    }

    #[test]
    fn lww_keeps_the_newest_write(
        ops in proptest::collection::vec((0usize..3, 0u64..20, 0u64..3, 0usize..3), 0..60),
    ) {
        // Each actor numbers its writes and stamps them in the same order (one coordinator's
        // counter and HLC both move forward); `gap` skips counters, as writes to other keys do.
        let mut replicas: Vec<Siblings<u32>> = vec![Siblings::new(); 3];
        let mut counters = [0u64; 3];
        let mut clocks = [0u64; 3];
        let mut writes: Vec<(HlcTimestamp, Dot)> = Vec::new();
        for (r, advance, gap, merge_from) in ops {
            if advance % 4 == 0 {
                let source = replicas[merge_from].clone();
                Policy::Lww.merge(&mut replicas[r], &source);
            } else {
                counters[r] += 1 + gap;
                clocks[r] += advance;
                let dot = Dot::new(r as u64, counters[r]);
                let ts = HlcTimestamp::from_u64(clocks[r]);
                replicas[r].write_lww(dot, ts, writes.len() as u32);
                writes.push((ts, dot));
            }
            for rep in &replicas {
                // Each replica holds the newest of the writes it has seen.
                let newest = writes.iter().filter(|(_, d)| rep.covers(*d)).max();
                prop_assert_eq!(rep.newest().map(|s| (s.timestamp, s.dot)), newest.copied());
                prop_assert!(rep.len() <= 1);
            }
        }
        for _ in 0..2 {
            for r in 0..3 {
                let source = replicas[r].clone();
                for rep in replicas.iter_mut() {
                    Policy::Lww.merge(rep, &source);
                }
            }
        }
        let newest = writes.iter().max().copied();
        for rep in &replicas {
            prop_assert_eq!(rep.newest().map(|s| (s.timestamp, s.dot)), newest);
        }
    }
}

fn bytes_of(s: &Siblings<u32>) -> Siblings {
    let (context, entries) = s.clone().into_parts();
    let entries = entries
        .into_iter()
        .map(|e| sinew_replica::version::Sibling {
            dot: e.dot,
            timestamp: e.timestamp,
            value: bytes::Bytes::from(e.value.to_string()),
        })
        .collect();
    Siblings::from_parts(context, entries).unwrap()
}

fn check_siblings_decoder(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok((s, used)) = Siblings::decode(bytes) {
        let mut out = Vec::new();
        s.encode(&mut out);
        prop_assert_eq!(&out[..], &bytes[..used]);
        // What decodes holds the type's invariants.
        let (context, entries) = s.into_parts();
        prop_assert!(Siblings::from_parts(context, entries).is_ok());
    }
    Ok(())
}
