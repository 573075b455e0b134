//! The simulators' random numbers (`retry_sim`, `overload_sim`): SplitMix64 from a seed, so a
//! run is a function of its options.

/// A SplitMix64 stream.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A stream from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An exponential variate with this mean, rounded down to whole units.
    // The value is finite and non-negative, and `as` saturates: the cast loses only the
    // fraction.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub fn exponential(&mut self, mean: f64) -> u64 {
        // 1 - unit() is in (0, 1], so the logarithm is finite.
        let x = -mean * (1.0 - self.unit()).ln();
        x as u64
    }
}
