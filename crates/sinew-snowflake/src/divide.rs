//! [`Divisor`]: division by a fixed `u64` as a multiply and two shifts.
//!
//! A generator divides every clock reading by the layout's tick. A hardware `u64` division
//! takes tens of cycles; this takes a multiply, a subtraction, an addition and two shifts,
//! and is exact for every dividend (Granlund and Montgomery, "Division by invariant integers
//! using multiplication", 1994, figure 4.1; the form compilers use for a constant divisor).

/// A precomputed reciprocal of a divisor `d >= 1`: [`divide`](Self::divide)`(n)` is
/// `n / d` for every `u64` `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Divisor {
    /// `floor(2^64 * (2^l - d) / d) + 1`, where `l = ceil(log2 d)`; below `2^64` because
    /// `2^l - d < d`.
    magic: u64,
    /// `min(l, 1)`.
    shift1: u32,
    /// `max(l - 1, 0)`.
    shift2: u32,
}

impl Divisor {
    /// The reciprocal of `d` (a `d` of 0 is taken as 1; layouts never have one).
    pub(crate) const fn new(d: u64) -> Self {
        let d = if d == 0 { 1 } else { d };
        // ceil(log2 d): 0 for 1, 64 for anything above 2^63.
        let l = if d == 1 {
            0
        } else {
            u64::BITS - (d - 1).leading_zeros()
        };
        // (2^l - d) < 2^64, so the shifted product fits in u128.
        let magic = ((((1u128 << l) - d as u128) << 64) / d as u128) + 1;
        // Below 2^64 (see the field), so the cast loses nothing; `try_from` is not const.
        #[allow(clippy::cast_possible_truncation)]
        let magic = magic as u64;
        Divisor {
            magic,
            shift1: if l == 0 { 0 } else { 1 },
            shift2: l.saturating_sub(1),
        }
    }

    /// `n / d`.
    #[inline]
    pub(crate) const fn divide(&self, n: u64) -> u64 {
        // t <= n: the magic is below 2^64.
        let t = ((n as u128 * self.magic as u128) >> 64) as u64;
        (t + ((n - t) >> self.shift1)) >> self.shift2
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    use super::Divisor;
    use proptest::prelude::*;

    /// Divisors at the edges of the method: 1, powers of two and their neighbours, the ticks
    /// of the presets, and the largest values.
    fn edge_divisors() -> Vec<u64> {
        let mut ds = vec![
            1,
            3,
            5,
            6,
            7,
            10,
            1_000,
            1_000_000,
            10_000_000,
            1_000_000_000,
        ];
        for k in 1..64 {
            let p = 1u64 << k;
            ds.extend([p - 1, p, p + 1]);
        }
        ds.extend([u64::MAX, u64::MAX - 1, u64::MAX / 3, (1 << 63) + 1]);
        ds
    }

    /// Dividends at the edges for `d`: around 0, around multiples of `d`, around the top.
    fn edge_dividends(d: u64) -> Vec<u64> {
        let mut ns = vec![0, 1, 2, u64::MAX, u64::MAX - 1, u64::MAX / 2, 1 << 63];
        for k in [1, 2, 3, 1_000, u64::MAX / d] {
            if let Some(m) = d.checked_mul(k) {
                ns.extend([m - 1, m, m.saturating_add(1)]);
            }
        }
        ns
    }

    #[test]
    fn exact_at_the_edges() {
        for d in edge_divisors() {
            let div = Divisor::new(d);
            for n in edge_dividends(d) {
                assert_eq!(div.divide(n), n / d, "{n} / {d}");
            }
        }
    }

    #[test]
    fn zero_is_taken_as_one() {
        assert_eq!(Divisor::new(0), Divisor::new(1));
        assert_eq!(Divisor::new(0).divide(u64::MAX), u64::MAX);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn equals_division(d in 1u64.., n in any::<u64>()) {
            prop_assert_eq!(Divisor::new(d).divide(n), n / d);
        }

        /// Small divisors and ticks of real layouts, where the dividends are clock readings.
        #[test]
        fn equals_division_small(d in 1u64..=100_000_000_000, n in any::<u64>()) {
            prop_assert_eq!(Divisor::new(d).divide(n), n / d);
        }
    }
}
