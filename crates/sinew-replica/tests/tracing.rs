//! With the `tracing` feature: events for an unavailable operation, a timed-out one, and a
//! hint dropped from a full hint store.
#![cfg(feature = "tracing")]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bytes::Bytes;
use sinew_clock::{HybridClock, ManualClock};
use sinew_replica::{Coordinator, HintStore, Options, Policy, Siblings, VersionVector};
use sinew_ring::HashRing;
use sinew_testkit::capture_events;

#[test]
fn unavailable_timeout_and_dropped_hint_are_events() {
    let seen = capture_events("sinew_replica", || {
        let ring: HashRing<u64> = (0..5).collect();
        let now = Duration::from_secs(1);
        let mut c = Coordinator::new(
            0u64,
            0,
            Policy::Dvv,
            HybridClock::new(ManualClock::new(now)),
        );
        let strict = Options::QUORUM.with_sloppy(false);
        assert!(
            c.get(Bytes::from_static(b"k"), &ring, |_| false, strict, now)
                .is_err()
        );
        c.put(
            Bytes::from_static(b"k"),
            Bytes::new(),
            VersionVector::new(),
            &ring,
            |_| true,
            strict,
            now,
        )
        .unwrap();
        c.handle_timeout(now + strict.timeout);
        let mut hints = HintStore::new(1, usize::MAX).unwrap();
        for key in [&b"a"[..], b"b"] {
            hints.insert(
                7u64,
                Bytes::copy_from_slice(key),
                Siblings::new(),
                Policy::Dvv,
            );
        }
    });
    let fields: Vec<(Option<&str>, Option<&str>)> = seen
        .iter()
        .map(|e| (e.field("kind"), e.field("dropped")))
        .collect();
    assert_eq!(
        fields,
        [(Some("get"), None), (Some("put"), None), (None, Some("1"))]
    );
}
