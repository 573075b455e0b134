//! A `Bulkhead` driven by arbitrary admissions, releases and resizes against a reference
//! model (a count and a limit): every admission the model allows succeeds and every other is
//! refused, `in_flight` and the metrics agree with the model, and no sequence panics.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sinew_bulkhead::{Bulkhead, OwnedPermit};

#[derive(Arbitrary, Debug)]
enum Op {
    Acquire,
    /// Release the permit at this index (modulo those held).
    Release(u8),
    Resize(u8),
}

fuzz_target!(|input: (u8, Vec<Op>)| {
    let (max, ops) = input;
    let mut limit = u32::from(max % 16);
    let b = Bulkhead::new(limit);
    let mut held: Vec<OwnedPermit> = Vec::new();
    let (mut admitted, mut rejected) = (0u64, 0u64);
    for op in ops.iter().take(1_000) {
        match op {
            Op::Acquire => {
                let fits = (held.len() as u32) < limit;
                match b.try_acquire_owned() {
                    Ok(p) => {
                        assert!(
                            fits,
                            "admitted past the limit {limit} with {} held",
                            held.len()
                        );
                        held.push(p);
                        admitted += 1;
                    }
                    Err(_) => {
                        assert!(
                            !fits,
                            "refused under the limit {limit} with {} held",
                            held.len()
                        );
                        rejected += 1;
                    }
                }
            }
            Op::Release(i) => {
                if !held.is_empty() {
                    let i = usize::from(*i) % held.len();
                    drop(held.swap_remove(i));
                }
            }
            Op::Resize(n) => {
                limit = u32::from(n % 16);
                b.set_max_concurrent(limit);
            }
        }
        assert_eq!(b.in_flight(), held.len() as u32);
        assert_eq!(b.max_concurrent(), limit);
        let m = b.metrics();
        assert_eq!((m.admitted, m.rejected), (admitted, rejected));
    }
    drop(held);
    assert_eq!(b.in_flight(), 0);
});
