//! Key-level anti-entropy: after a Merkle reconciliation (sinew-merkle) has found the bucket
//! ranges where two replicas differ, exchange the objects in those ranges and merge them on
//! both sides.

use std::collections::HashMap;
use std::hash::Hash;

use bytes::Bytes;
use sinew_merkle::antientropy::{AntiEntropyTree, BucketRange, bucket_of, ranges_contain};

use super::Replica;
use crate::message::{Message, Transmit};
use crate::store::Store;
use crate::version::Siblings;

impl<N: Clone + Eq + Hash, S: Store> Replica<N, S> {
    /// A Merkle tree of `2^depth` buckets over the keys `shared` accepts (those this node and
    /// the peer are both replicas of), each entered with its object's
    /// [`fingerprint`](Siblings::fingerprint). Built by one scan of the store, on demand, as
    /// Cassandra builds its repair trees; reconcile it with the peer's through
    /// `sinew_merkle::antientropy::{Reconciler, Responder}`.
    ///
    /// # Errors
    ///
    /// sinew-merkle's `ConfigError::Depth` unless `1 <= depth <= 24`.
    pub fn merkle_tree(
        &self,
        depth: u8,
        shared: impl Fn(&[u8]) -> bool,
    ) -> Result<AntiEntropyTree, sinew_merkle::ConfigError> {
        let tree = AntiEntropyTree::new(depth)?;
        self.store.scan(&mut |key, object| {
            if shared(key) {
                tree.insert(key, object.fingerprint());
            }
        });
        Ok(tree)
    }

    /// The objects under shared keys in `ranges` of `tree`'s buckets.
    fn objects_in(
        &self,
        depth: u8,
        seed: u64,
        ranges: &[BucketRange],
        shared: &dyn Fn(&[u8]) -> bool,
    ) -> Vec<(Bytes, Siblings)> {
        let mut out = Vec::new();
        self.store.scan(&mut |key, object| {
            if shared(key) && ranges_contain(ranges, bucket_of(depth, seed, key)) {
                out.push((key.clone(), object.clone()));
            }
        });
        out
    }

    /// The `Sync` to send to `to` once a reconciliation of `tree` reported `ranges` different:
    /// this replica's objects in them. The peer merges them and answers with its own.
    pub fn sync_request(
        &mut self,
        to: N,
        tree: &AntiEntropyTree,
        ranges: &[BucketRange],
        shared: impl Fn(&[u8]) -> bool,
    ) -> Transmit<N> {
        let (depth, seed) = (tree.depth(), tree.seed());
        let objects = self.objects_in(depth, seed, ranges, &shared);
        self.metrics.sync_objects_sent += objects.len() as u64;
        Transmit {
            to,
            message: Message::Sync {
                depth,
                seed,
                ranges: ranges.to_vec(),
                objects,
            },
        }
    }

    /// Handles a `Sync` from `from`: merges the objects it carries (under keys `shared`
    /// accepts: a peer cannot plant keys this node does not replicate) and answers, through
    /// [`poll_transmit`](Self::poll_transmit), with this replica's objects in the same ranges
    /// that the peer lacks or holds older. Any other message is handed to
    /// [`handle`](Self::handle).
    pub fn handle_sync(
        &mut self,
        from: N,
        message: Message<N>,
        shared: impl Fn(&[u8]) -> bool,
        now: std::time::Duration,
    ) {
        let Message::Sync {
            depth,
            seed,
            ranges,
            objects,
        } = message
        else {
            return self.handle(from, message, now);
        };
        self.metrics.sync_objects_received += objects.len() as u64;
        let mut theirs = HashMap::with_capacity(objects.len());
        for (key, object) in objects {
            if shared(&key) && ranges_contain(&ranges, bucket_of(depth, seed, &key)) {
                self.merge(key.clone(), &object);
                theirs.insert(key, object);
            }
        }
        let mut reply = self.objects_in(depth, seed, &ranges, &shared);
        reply.retain(|(key, mine)| theirs.get(key) != Some(mine));
        self.metrics.sync_objects_sent += reply.len() as u64;
        self.send(from, Message::SyncReply { objects: reply });
    }
}
