//! The preference list of a key and the nodes an operation uses.

use sinew_ring::ConsistentHash;

/// A node an operation talks to.
#[derive(Debug, Clone)]
pub(crate) struct Target<N> {
    pub(crate) node: N,
    /// One of the key's first `n` nodes (not a stand-in).
    pub(crate) home: bool,
    /// The home node this one stands in for (sloppy quorum).
    pub(crate) hint: Option<N>,
    /// A read reply or a write acknowledgement came.
    pub(crate) replied: bool,
    /// It holds the object the operation settled on (a read repair was acknowledged).
    pub(crate) current: bool,
    /// Reads: a repair was sent and not yet acknowledged.
    pub(crate) repairing: bool,
}

/// Fills `targets` with the nodes for a key with this hash: its first `n` distinct nodes on
/// the ring (the preference list), those `is_alive` rejects replaced, when `sloppy`, by the
/// next alive nodes on the ring in order, each standing in for one down home node (Dynamo's
/// sloppy quorum). Allocates nothing once `targets` has grown to `n`.
pub(crate) fn plan<N: Clone, R: ConsistentHash<Node = N>>(
    router: &R,
    hash: u64,
    n: usize,
    sloppy: bool,
    is_alive: impl Fn(&N) -> bool,
    targets: &mut Vec<Target<N>>,
) {
    targets.clear();
    let mut down = 0usize;
    for (position, index) in router.replica_indices(hash, router.len()).enumerate() {
        let Some(node) = router.node(index) else {
            continue;
        };
        let alive = is_alive(node);
        if position < n {
            if alive {
                targets.push(target(node.clone(), true, None));
            } else {
                down += 1;
            }
            continue;
        }
        if !sloppy || down == 0 {
            break;
        }
        if alive {
            // Stand in for the first home node not yet covered.
            let covered = targets.iter().filter(|t| t.hint.is_some()).count();
            let owner = router
                .replica_indices(hash, n)
                .filter_map(|i| router.node(i))
                .filter(|home| !is_alive(home))
                .nth(covered);
            targets.push(target(node.clone(), false, owner.cloned()));
            down -= 1;
        }
    }
}

fn target<N>(node: N, home: bool, hint: Option<N>) -> Target<N> {
    Target {
        node,
        home,
        hint,
        replied: false,
        current: false,
        repairing: false,
    }
}
