//! Differential target: random writes, reads and merges across three replicas of one key
//! (dotted version vectors) against a reference model of write sets. After every step each
//! replica holds exactly the model's live writes and has seen exactly the model's seen
//! writes; no write is gone unless a writer's context covered it; merge gives the same result
//! in either order; and a full sync in two different orders converges to the same object.
#![no_main]

use std::collections::BTreeSet;

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sinew_replica::version::{Dot, HlcTimestamp, Siblings, VersionVector};

const REPLICAS: usize = 3;

#[derive(Arbitrary, Debug)]
enum Op {
    /// A client reads replica `r`: its context (and the model's seen set) can be carried.
    Read(u8),
    /// A client writes through replica `r` with read number `ctx` (0: blind).
    Write { r: u8, ctx: u8, ts: u16 },
    /// Replica `to` merges replica `from`.
    Merge { from: u8, to: u8 },
    /// Replica `r`'s object goes through its encoding (as it does on the wire).
    Encode(u8),
}

/// What the model knows of a replica: the writes it has seen, and those it still holds.
#[derive(Clone, Default, Debug)]
struct Model {
    seen: BTreeSet<usize>,
    live: BTreeSet<usize>,
}

struct Write {
    dot: Dot,
    /// The writes its client had seen (the context it carried).
    saw: BTreeSet<usize>,
}

fn value_of(id: usize) -> Bytes {
    Bytes::copy_from_slice(&(id as u32).to_le_bytes())
}

fn id_of(v: &Bytes) -> usize {
    let mut b = [0u8; 4];
    b.copy_from_slice(v);
    u32::from_le_bytes(b) as usize
}

fn check(real: &Siblings, model: &Model, writes: &[Write]) {
    let held: BTreeSet<usize> = real.values().map(id_of).collect();
    assert_eq!(held, model.live, "held writes differ from the model");
    assert_eq!(held.len(), real.len());
    for (id, w) in writes.iter().enumerate() {
        assert_eq!(real.covers(w.dot), model.seen.contains(&id), "seen {id}");
        // Gone only if a writer who had seen it wrote over it, and that write reached here.
        if model.seen.contains(&id) && !model.live.contains(&id) {
            assert!(
                writes
                    .iter()
                    .enumerate()
                    .any(|(o, other)| other.saw.contains(&id) && model.seen.contains(&o)),
                "write {id} lost"
            );
        }
    }
    for s in real.iter() {
        assert_eq!(writes[id_of(&s.value)].dot, s.dot);
    }
}

fn merge_model(into: &Model, from: &Model) -> Model {
    // A write stays live if one side holds it and the other side has not overwritten it.
    let keep = |x: &usize, other: &Model| other.live.contains(x) || !other.seen.contains(x);
    let live = into
        .live
        .iter()
        .filter(|x| keep(x, from))
        .chain(from.live.iter().filter(|x| keep(x, into)))
        .copied()
        .collect();
    Model {
        seen: into.seen.union(&from.seen).copied().collect(),
        live,
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let mut real: Vec<Siblings> = vec![Siblings::new(); REPLICAS];
    let mut model: Vec<Model> = vec![Model::default(); REPLICAS];
    let mut reads: Vec<(VersionVector, BTreeSet<usize>)> = vec![Default::default()];
    let mut writes: Vec<Write> = Vec::new();

    for op in ops.into_iter().take(200) {
        match op {
            Op::Read(r) => {
                let r = usize::from(r) % REPLICAS;
                reads.push((real[r].context().clone(), model[r].seen.clone()));
            }
            Op::Write { r, ctx, ts } => {
                let r = usize::from(r) % REPLICAS;
                let (context, saw) = &reads[usize::from(ctx) % reads.len()];
                let id = writes.len();
                let dot = real[r].write(
                    r as u64,
                    context,
                    HlcTimestamp::from_u64(u64::from(ts)),
                    value_of(id),
                );
                let m = &mut model[r];
                m.live.retain(|x| !saw.contains(x));
                m.live.insert(id);
                m.seen.extend(saw.iter().copied());
                m.seen.insert(id);
                writes.push(Write {
                    dot,
                    saw: saw.clone(),
                });
            }
            Op::Merge { from, to } => {
                let (from, to) = (usize::from(from) % REPLICAS, usize::from(to) % REPLICAS);
                let source = real[from].clone();
                let mut other_way = source.clone();
                other_way.merge(&real[to]);
                real[to].merge(&source);
                assert_eq!(real[to], other_way, "merge is not commutative");
                model[to] = merge_model(&model[to], &model[from]);
            }
            Op::Encode(r) => {
                let r = usize::from(r) % REPLICAS;
                let mut out = Vec::new();
                real[r].encode(&mut out);
                let decoded = Siblings::from_bytes(&out);
                assert_eq!(decoded.as_ref(), Ok(&real[r]));
            }
        }
        for (r, m) in real.iter().zip(&model) {
            check(r, m, &writes);
        }
    }

    // Full sync in two orders: the same object, the model's, holding every write not
    // overwritten by a client that had seen it.
    let fold = |order: &[usize]| {
        let mut acc = Siblings::new();
        for &r in order {
            acc.merge(&real[r]);
        }
        acc
    };
    let forward = fold(&[0, 1, 2]);
    assert_eq!(forward, fold(&[2, 0, 1]));
    assert_eq!(forward.fingerprint(), fold(&[1, 2, 0]).fingerprint());
    let all = model
        .iter()
        .fold(Model::default(), |acc, m| merge_model(&acc, m));
    check(&forward, &all, &writes);
    assert_eq!(all.seen.len(), writes.len());
});
