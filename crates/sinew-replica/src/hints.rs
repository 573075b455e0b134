//! Hinted handoff: writes kept for a replica that was down, replayed when it is back.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::time::Duration;

use bytes::Bytes;

use crate::error::ConfigError;
use crate::version::{Policy, Siblings};

/// One write held for a replica that was down when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint<N> {
    /// The replica the write belongs to.
    pub owner: N,
    /// The key.
    pub key: Bytes,
    /// The object to hand over (repeated hints for one key are merged into one).
    pub object: Siblings,
    /// When it was last sent to the owner, if it was.
    sent_at: Option<Duration>,
    bytes: usize,
}

/// A bounded store of hints, as Dynamo's and Cassandra's hinted handoff keep them: at most
/// `max_hints` hints and `max_bytes` bytes (key plus encoded object); when full, the oldest
/// hint is dropped and counted, and anti-entropy is what repairs that key later. A hint is
/// deleted only once its owner acknowledged it, so a lost replay is sent again.
///
/// ```
/// use sinew_replica::HintStore;
///
/// let hints = HintStore::<u32>::new(10_000, 1 << 20)?;
/// assert_eq!((hints.len(), hints.dropped()), (0, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct HintStore<N> {
    max_hints: usize,
    max_bytes: usize,
    /// By id: ids grow, so the first entry is the oldest.
    hints: BTreeMap<u64, Hint<N>>,
    by_key: HashMap<(N, Bytes), u64>,
    next_id: u64,
    bytes: usize,
    stored: u64,
    delivered: u64,
    dropped: u64,
}

/// The default bounds of [`HintStore::default`]: 100,000 hints, 64 MiB.
pub const DEFAULT_MAX_HINTS: usize = 100_000;
/// See [`DEFAULT_MAX_HINTS`].
pub const DEFAULT_MAX_HINT_BYTES: usize = 64 << 20;

impl<N: Clone + Eq + Hash> Default for HintStore<N> {
    fn default() -> Self {
        Self::unchecked(DEFAULT_MAX_HINTS, DEFAULT_MAX_HINT_BYTES)
    }
}

impl<N: Clone + Eq + Hash> HintStore<N> {
    /// A store of at most `max_hints` hints and `max_bytes` bytes.
    ///
    /// # Errors
    ///
    /// [`ConfigError::HintLimits`] if either bound is zero.
    pub fn new(max_hints: usize, max_bytes: usize) -> Result<Self, ConfigError> {
        if max_hints == 0 || max_bytes == 0 {
            return Err(ConfigError::HintLimits);
        }
        Ok(Self::unchecked(max_hints, max_bytes))
    }

    fn unchecked(max_hints: usize, max_bytes: usize) -> Self {
        Self {
            max_hints,
            max_bytes,
            hints: BTreeMap::new(),
            by_key: HashMap::new(),
            next_id: 1,
            bytes: 0,
            stored: 0,
            delivered: 0,
            dropped: 0,
        }
    }

    /// Keeps `object` for `owner`, merged (under `policy`) with a hint already held for the
    /// same owner and key. The merged hint gets a new id, so an acknowledgement of the older
    /// replay cannot delete it. Drops the oldest hints while over a bound.
    pub fn insert(&mut self, owner: N, key: Bytes, object: Siblings, policy: Policy) {
        let mut object = object;
        let index = (owner, key);
        if let Some(old) = self
            .by_key
            .remove(&index)
            .and_then(|id| self.hints.remove(&id))
        {
            self.bytes -= old.bytes;
            let mut merged = old.object;
            policy.merge(&mut merged, &object);
            object = merged;
        } else {
            self.stored += 1;
        }
        let (owner, key) = index;
        let bytes = key.len() + object.encoded_len();
        let id = self.next_id;
        self.next_id += 1;
        self.by_key.insert((owner.clone(), key.clone()), id);
        self.hints.insert(
            id,
            Hint {
                owner,
                key,
                object,
                sent_at: None,
                bytes,
            },
        );
        self.bytes += bytes;
        while self.hints.len() > self.max_hints || self.bytes > self.max_bytes {
            let Some((_, oldest)) = self.hints.pop_first() else {
                break;
            };
            self.forget(&oldest);
            self.dropped += 1;
            event!(
                WARN,
                dropped = self.dropped,
                "hint store full: the oldest hint was dropped (anti-entropy will repair its key)"
            );
        }
    }

    fn forget(&mut self, hint: &Hint<N>) {
        self.bytes -= hint.bytes;
        self.by_key.remove(&(hint.owner.clone(), hint.key.clone()));
    }

    /// Deletes hint `id` because its owner acknowledged it; `false` if it is not held (already
    /// delivered, dropped, or replaced by a newer merge).
    pub fn acknowledge(&mut self, id: u64) -> bool {
        match self.hints.remove(&id) {
            Some(hint) => {
                self.forget(&hint);
                self.delivered += 1;
                event!(DEBUG, id, "hint delivered");
                true
            }
            None => false,
        }
    }

    /// Hints to send now: those whose owner `is_alive` says is up and that were never sent or
    /// were sent more than `retry` ago, oldest first, at most `max` of them (the throttle).
    /// Each is marked sent at `now`.
    pub(crate) fn due(
        &mut self,
        is_alive: impl Fn(&N) -> bool,
        now: Duration,
        retry: Duration,
        max: usize,
    ) -> Vec<(u64, N, Bytes, Siblings)> {
        let mut out = Vec::new();
        for (&id, hint) in &mut self.hints {
            if out.len() >= max {
                break;
            }
            let waiting = hint
                .sent_at
                .is_some_and(|at| now.saturating_sub(at) < retry);
            if waiting || !is_alive(&hint.owner) {
                continue;
            }
            hint.sent_at = Some(now);
            out.push((
                id,
                hint.owner.clone(),
                hint.key.clone(),
                hint.object.clone(),
            ));
        }
        out
    }

    /// The hints held, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Hint<N>> + '_ {
        self.hints.values()
    }

    /// The number of hints held.
    pub fn len(&self) -> usize {
        self.hints.len()
    }

    /// Whether no hint is held.
    pub fn is_empty(&self) -> bool {
        self.hints.is_empty()
    }

    /// Bytes held (keys plus encoded objects).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Hints stored so far (a write merged into a held hint is not counted again).
    pub fn stored(&self) -> u64 {
        self.stored
    }

    /// Hints delivered: acknowledged by their owner and deleted.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Hints dropped because the store was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::version::VersionVector;
    use sinew_clock::HlcTimestamp;

    fn object(value: &'static [u8], actor: u64) -> Siblings {
        let mut o = Siblings::new();
        o.write(
            actor,
            &VersionVector::new(),
            HlcTimestamp::from_u64(1),
            Bytes::from_static(value),
        );
        o
    }

    fn key(i: u32) -> Bytes {
        Bytes::from(i.to_be_bytes().to_vec())
    }

    #[test]
    fn bounded_by_count_oldest_dropped_first_and_counted() {
        let mut h = HintStore::new(3, usize::MAX).unwrap();
        for i in 0..5 {
            h.insert(1u8, key(i), object(b"v", 1), Policy::Dvv);
        }
        assert_eq!((h.len(), h.stored(), h.dropped()), (3, 5, 2));
        let kept: Vec<Bytes> = h.iter().map(|x| x.key.clone()).collect();
        assert_eq!(kept, [key(2), key(3), key(4)], "the two oldest went");
        assert_eq!(
            h.bytes(),
            h.iter()
                .map(|x| x.key.len() + x.object.encoded_len())
                .sum::<usize>()
        );
    }

    #[test]
    fn bounded_by_bytes() {
        let one = 4 + object(b"0123456789", 1).encoded_len();
        let mut h = HintStore::new(1000, 2 * one).unwrap();
        for i in 0..4 {
            h.insert(1u8, key(i), object(b"0123456789", 1), Policy::Dvv);
            assert!(h.bytes() <= 2 * one);
        }
        assert_eq!((h.len(), h.dropped()), (2, 2));
        // A hint bigger than the whole store is dropped at once rather than kept over the bound.
        let mut tiny = HintStore::new(10, 4).unwrap();
        tiny.insert(1u8, key(0), object(b"0123456789", 1), Policy::Dvv);
        assert_eq!((tiny.len(), tiny.bytes(), tiny.dropped()), (0, 0, 1));
    }

    #[test]
    fn repeated_hints_for_a_key_merge_and_an_old_ack_cannot_delete_the_merge() {
        let mut h = HintStore::new(10, usize::MAX).unwrap();
        h.insert(1u8, key(0), object(b"a", 1), Policy::Dvv);
        let sent = h.due(|_| true, Duration::ZERO, Duration::from_secs(1), 10);
        assert_eq!(sent.len(), 1);
        let (old_id, ..) = sent[0].clone();
        h.insert(1u8, key(0), object(b"b", 2), Policy::Dvv);
        assert_eq!((h.len(), h.stored()), (1, 1), "merged into one hint");
        assert!(
            !h.acknowledge(old_id),
            "the ack of the older replay deletes nothing"
        );
        let merged = h.iter().next().unwrap();
        assert_eq!(
            merged.object.len(),
            2,
            "both concurrent writes are in the hint"
        );
        let (id, ..) = h.due(|_| true, Duration::ZERO, Duration::from_secs(1), 10)[0].clone();
        assert!(h.acknowledge(id));
        assert_eq!((h.len(), h.bytes(), h.delivered()), (0, 0, 1));
    }

    #[test]
    fn replay_waits_for_the_owner_throttles_and_resends_after_the_retry_interval() {
        let mut h = HintStore::new(100, usize::MAX).unwrap();
        for i in 0..10 {
            h.insert(
                u8::try_from(i % 2).unwrap(),
                key(i),
                object(b"v", 1),
                Policy::Dvv,
            );
        }
        let retry = Duration::from_secs(1);
        assert!(
            h.due(|_| false, Duration::ZERO, retry, 100).is_empty(),
            "owners down"
        );
        let first = h.due(|&o| o == 0, Duration::ZERO, retry, 3);
        assert_eq!(first.len(), 3, "throttled");
        assert!(first.iter().all(|(_, owner, ..)| *owner == 0));
        let rest = h.due(|&o| o == 0, Duration::from_millis(10), retry, 100);
        assert_eq!(
            rest.len(),
            2,
            "the three in flight wait for their retry interval"
        );
        let again = h.due(|&o| o == 0, retry + Duration::from_millis(10), retry, 100);
        assert_eq!(again.len(), 5, "unacknowledged hints are sent again");
    }

    #[test]
    fn zero_bounds_are_refused() {
        assert_eq!(
            HintStore::<u8>::new(0, 10).err(),
            Some(ConfigError::HintLimits)
        );
        assert_eq!(
            HintStore::<u8>::new(10, 0).err(),
            Some(ConfigError::HintLimits)
        );
    }
}
