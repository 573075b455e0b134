//! Weighted rendezvous (highest random weight) hashing.

use std::hash::Hash;

use crate::{ConsistentHash, MembershipError, hash::mix64, members::Members};

/// Weighted rendezvous hashing (Thaler and Ravishankar's highest random weight, with the
/// logarithmic method of Schindelhauer and Schomaker for weights).
///
/// Each node scores each key; the highest score owns the key, and the replicas are the next
/// highest, so replica lists are exactly "the top k". The score of node `n` (identity
/// `id`, weight `w`) for a key hash `k` is:
///
/// - `h = mix64(k ^ id)` ([`mix64`](crate::hash::mix64), SplitMix64's bijective finalizer);
/// - if every member has the same weight: `h` itself (ties broken by the larger `id`);
/// - otherwise `w / -ln(u)` with `u = ((h >> 12) + 0.5) / 2⁵²`, strictly inside (0, 1) (exact
///   in an `f64`, so never 0 or 1), which gives node `n`
///   the share `w / Σw` of the keys. The logarithm is computed with IEEE-754 `+ − × ÷` only
///   (no platform `libm`), so every machine gets the same bits.
///
/// Adding a node moves only the keys it now wins; removing one moves only its keys. `route`
/// is O(n) (one score per node), `replicas(k)` O(n·k) without allocating: use it for up to a
/// few hundred nodes, or when replica lists must be perfectly stable. `add` and `remove` are
/// O(1) expected (a hash-map lookup by identity, plus O(log n) weight bookkeeping).
///
/// ```
/// use sinew_ring::Rendezvous;
///
/// let mut r = Rendezvous::new();
/// r.add("a")?;
/// r.add("b")?;
/// r.add_weighted("c", 2)?; // twice the share of a or b
/// let top2: Vec<_> = r.replicas("photo-1234", 2).collect();
/// assert_eq!(top2.len(), 2);
/// assert_eq!(Some(top2[0]), r.route("photo-1234"));
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Rendezvous<N> {
    members: Members<N>,
    /// Whether every member has the same weight (then scores are the raw hashes).
    uniform: bool,
}

/// Concise: the node count, not the members.
impl<N> std::fmt::Debug for Rendezvous<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendezvous")
            .field("nodes", &self.members.len())
            .field("weighted", &!self.uniform)
            .finish_non_exhaustive()
    }
}

impl<N> Default for Rendezvous<N> {
    fn default() -> Self {
        Self {
            members: Members::default(),
            uniform: true,
        }
    }
}

impl<N> Rendezvous<N> {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// The membership, for serde.
    #[cfg(feature = "serde")]
    pub(crate) fn members(&self) -> &Members<N> {
        &self.members
    }

    /// The members and their weights, in no particular order.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = (&N, u32)> + '_ {
        self.members.iter()
    }

    /// Caches whether all weights are equal (O(1): the membership counts weights).
    fn refresh(&mut self) {
        self.uniform = self.members.uniform();
    }

    /// The ordering key of member `i` for key hash `k`: larger wins.
    #[inline]
    fn score(&self, k: u64, i: usize) -> (u64, u64) {
        let id = self.members.id(i);
        let h = mix64(k ^ id);
        if self.uniform {
            return (h, id);
        }
        let w = f64::from(self.members.weight(i));
        // u in (0, 1), so -ln(u) > 0 and the score is positive and finite; the bits of a
        // positive f64 order as the value does.
        ((w / -portable_ln(unit_open(h))).to_bits(), id)
    }

    /// The member with the largest score below `below` (all if `None`).
    fn best_below(&self, k: u64, below: Option<(u64, u64)>) -> Option<(usize, (u64, u64))> {
        let mut best: Option<(usize, (u64, u64))> = None;
        for i in 0..self.members.len() {
            let s = self.score(k, i);
            if below.is_some_and(|b| s >= b) {
                continue;
            }
            if best.is_none_or(|(_, bs)| s > bs) {
                best = Some((i, s));
            }
        }
        best
    }
}

/// The uniform variate of a score: `u = ((h >> 12) + 0.5) · 2⁻⁵²`, strictly inside (0, 1).
///
/// `h >> 12 < 2⁵²`, so `(h >> 12) + 0.5` needs at most 53 significant bits and is exact in an
/// `f64`, and the scaling by a power of two is exact too: the largest value is
/// `1 − 2⁻⁵³ < 1` and the smallest `2⁻⁵³ > 0`. (Keeping 53 bits, `(h >> 11) + 0.5`, is not
/// exact at the top: `2⁵³ − 0.5` rounds to `2⁵³`, giving `u = 1`, `ln u = 0` and an infinite
/// score.)
#[inline]
fn unit_open(h: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)] // h >> 12 < 2^52 is exact
    let top = (h >> 12) as f64;
    (top + 0.5) * (1.0 / 4_503_599_627_370_496.0)
}

/// `ln(x)` for `x > 0` from IEEE-754 basic operations only, so it is bit-identical on every
/// platform: `x = m · 2^e` with `m` in [√½, √2), then `ln m = 2·atanh(s)`, `s = (m−1)/(m+1)`,
/// by its series to `s¹⁹` (|s| < 0.172, error below 10⁻¹⁵).
fn portable_ln(x: f64) -> f64 {
    const LN2: f64 = std::f64::consts::LN_2;
    let bits = x.to_bits();
    #[allow(clippy::cast_possible_truncation)] // an 11-bit field
    let mut e = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let mut m = f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52));
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    // Horner: s·(2 + s²·(2/3 + s²·(2/5 + …)))
    let mut acc = 2.0 / 19.0;
    for d in [17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0, 1.0] {
        acc = 2.0 / d + s2 * acc;
    }
    f64::from(e) * LN2 + s * acc
}

impl<N: Hash + Eq> Rendezvous<N> {
    /// Adds `node` with weight 1, or sets an existing member's weight back to 1.
    ///
    /// # Errors
    ///
    /// [`MembershipError::IdentityCollision`] if a different member has the same identity hash.
    pub fn add(&mut self, node: N) -> Result<(), MembershipError> {
        self.add_weighted(node, 1)
    }

    /// Adds `node` with `weight` (its share of keys is `weight / total weight`), or changes an
    /// existing member's weight.
    ///
    /// # Errors
    ///
    /// [`MembershipError::ZeroWeight`] for weight 0 and [`MembershipError::IdentityCollision`] if a different
    /// member has the same identity hash. On error nothing changes.
    pub fn add_weighted(&mut self, node: N, weight: u32) -> Result<(), MembershipError> {
        self.members.upsert(node, weight)?;
        self.refresh();
        Ok(())
    }

    /// Removes `node`; returns whether it was a member. Only its keys move.
    pub fn remove(&mut self, node: &N) -> bool {
        let removed = self.members.remove(node).is_some();
        self.refresh();
        removed
    }

    /// Whether `node` is a member.
    pub fn contains(&self, node: &N) -> bool {
        matches!(self.members.find(node), Ok(Some(_)))
    }
}

impl<N: Hash + Eq> FromIterator<N> for Rendezvous<N> {
    /// Nodes of weight 1; duplicates and identity collisions are left out.
    fn from_iter<I: IntoIterator<Item = N>>(iter: I) -> Self {
        let mut r = Self::new();
        for node in iter {
            let _ = r.members.upsert(node, 1);
        }
        r.refresh();
        r
    }
}

impl<N> ConsistentHash for Rendezvous<N> {
    crate::members::member_access!();

    #[inline]
    fn route_index(&self, hash: u64) -> Option<usize> {
        self.best_below(hash, None).map(|(i, _)| i)
    }

    fn replica_indices(&self, hash: u64, n: usize) -> impl Iterator<Item = usize> + '_ {
        let mut below = None;
        let mut left = n.min(self.members.len());
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let (i, s) = self.best_below(hash, below)?;
            below = Some(s);
            Some(i)
        })
    }
}

crate::inherent_router_methods!(Rendezvous);

#[cfg(test)]
mod tests {
    use super::{portable_ln, unit_open};

    /// The variate stays strictly inside (0, 1) at both ends of the hash range, so the score
    /// `w / -ln(u)` is always positive and finite.
    #[test]
    fn unit_variate_never_reaches_zero_or_one() {
        for h in [0, 1, 4095, 4096, u64::MAX - 4096, u64::MAX - 1, u64::MAX] {
            let u = unit_open(h);
            assert!(u > 0.0 && u < 1.0, "h {h:#x}: u = {u}");
            let score = 1.0 / -portable_ln(u);
            assert!(score.is_finite() && score > 0.0, "h {h:#x}: score {score}");
        }
        assert_eq!(unit_open(u64::MAX), 1.0 - 2f64.powi(-53));
        assert_eq!(unit_open(0), 2f64.powi(-53));
        // Monotone in h (ties only within the 12 dropped bits).
        assert!(unit_open(1 << 12) > unit_open(0));
        assert_eq!(unit_open(4095), unit_open(0));
    }

    #[test]
    fn portable_ln_matches_std() {
        let mut x = 1e-300;
        while x < 1e300 {
            let (a, b) = (portable_ln(x), x.ln());
            assert!((a - b).abs() <= 1e-13 * b.abs().max(1.0), "{x}: {a} vs {b}");
            x *= 1.37;
        }
        for x in [0.5, 0.999_999, 1.0 / 9_007_199_254_740_992.0, 1.0 - 1e-16] {
            let (a, b) = (portable_ln(x), x.ln());
            assert!(
                (a - b).abs() <= 1e-13 * b.abs().max(1e-16),
                "{x}: {a} vs {b}"
            );
        }
    }
}
