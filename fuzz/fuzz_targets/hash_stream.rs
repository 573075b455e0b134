//! Differential target: arbitrary bytes written to `Xxh3Hasher` in arbitrary pieces (across
//! the 128-byte inline buffer and into the streaming state), under an arbitrary seed, must hash
//! exactly as the one-shot XXH3 of all the bytes (`hash_bytes`) and as twox-hash's own
//! streaming hasher; integers written through `write_*` must hash as their little-endian bytes.
#![no_main]

use std::hash::Hasher;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sinew_hash::{LittleEndian, Xxh3Hasher, hash_bytes};

#[derive(Arbitrary, Debug)]
enum Write {
    Bytes(Vec<u8>),
    U16(u16),
    U64(u64),
    Usize(usize),
    I128(i128),
}

#[derive(Arbitrary, Debug)]
struct Input {
    seed: u64,
    writes: Vec<Write>,
}

fuzz_target!(|input: Input| {
    let mut ours = Xxh3Hasher::with_seed(input.seed);
    let mut reference = LittleEndian(twox_hash::XxHash3_64::with_seed(input.seed));
    let mut all = Vec::new();
    for w in input.writes.iter().take(64) {
        match w {
            Write::Bytes(b) => {
                ours.write(b);
                reference.write(b);
                all.extend_from_slice(b);
            }
            Write::U16(x) => {
                ours.write_u16(*x);
                reference.write_u16(*x);
                all.extend_from_slice(&x.to_le_bytes());
            }
            Write::U64(x) => {
                ours.write_u64(*x);
                reference.write_u64(*x);
                all.extend_from_slice(&x.to_le_bytes());
            }
            Write::Usize(x) => {
                ours.write_usize(*x);
                reference.write_usize(*x);
                all.extend_from_slice(&(*x as u64).to_le_bytes());
            }
            Write::I128(x) => {
                ours.write_i128(*x);
                reference.write_i128(*x);
                all.extend_from_slice(&x.to_le_bytes());
            }
        }
    }
    let got = ours.finish();
    assert_eq!(
        got,
        hash_bytes(input.seed, &all),
        "inline/streaming vs one-shot"
    );
    assert_eq!(got, reference.finish(), "vs twox-hash's streaming hasher");
});
