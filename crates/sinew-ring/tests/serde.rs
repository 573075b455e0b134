//! Membership round trips through serde; tables are rebuilt and route identically.
#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use sinew_ring::hash::sample_hash;
use sinew_ring::{ConsistentHash, HashRing, Jump, Maglev, Rendezvous};

fn same_routes<R: ConsistentHash<Node = String>>(a: &R, b: &R) {
    for i in 0..5_000 {
        let h = sample_hash(i);
        assert_eq!(a.route_hash(h), b.route_hash(h));
        assert!(a.replicas_hash(h, 3).eq(b.replicas_hash(h, 3)));
    }
}

#[test]
fn routers_round_trip() {
    let mut ring = HashRing::with_vnodes(20);
    let mut ren = Rendezvous::new();
    for i in 0..10u32 {
        ring.add_weighted(format!("n{i}"), 1 + i % 3).unwrap();
        ren.add_weighted(format!("n{i}"), 1 + i % 3).unwrap();
    }
    let maglev: Maglev<String> = (0..10).map(|i| format!("n{i}")).collect();
    let jump: Jump<String> = (0..10).map(|i| format!("n{i}")).collect();

    let json = serde_json::to_string(&ring).unwrap();
    assert!(json.starts_with(r#"{"vnodes":20,"nodes":[["#), "{json}");
    let back: HashRing<String> = serde_json::from_str(&json).unwrap();
    same_routes(&ring, &back);
    assert_eq!(
        serde_json::to_string(&back).unwrap(),
        json,
        "canonical form"
    );

    let back: Rendezvous<String> =
        serde_json::from_str(&serde_json::to_string(&ren).unwrap()).unwrap();
    same_routes(&ren, &back);
    let back: Maglev<String> =
        serde_json::from_str(&serde_json::to_string(&maglev).unwrap()).unwrap();
    same_routes(&maglev, &back);
    let json = serde_json::to_string(&jump).unwrap();
    assert_eq!(
        json,
        r#"["n0","n1","n2","n3","n4","n5","n6","n7","n8","n9"]"#
    );
    let back: Jump<String> = serde_json::from_str(&json).unwrap();
    same_routes(&jump, &back);
}

#[test]
fn bad_membership_is_rejected() {
    for bad in [
        r#"{"vnodes":4,"nodes":[["a",0]]}"#,
        r#"{"vnodes":4,"nodes":[["a",1],["a",2]]}"#,
        r#"{"vnodes":4294967295,"nodes":[["a",4294967295]]}"#,
    ] {
        assert!(
            serde_json::from_str::<HashRing<String>>(bad).is_err(),
            "{bad}"
        );
    }
    assert!(serde_json::from_str::<Rendezvous<String>>(r#"{"nodes":[["a",0]]}"#).is_err());
    assert!(serde_json::from_str::<Rendezvous<String>>(r#"{"nodes":[["a",1],["a",1]]}"#).is_err());
    assert!(serde_json::from_str::<Maglev<String>>(r#"{"table_size":100,"nodes":["a"]}"#).is_err());
    assert!(
        serde_json::from_str::<Maglev<String>>(r#"{"table_size":3,"nodes":["a","b","c","d"]}"#)
            .is_err()
    );
    assert!(
        serde_json::from_str::<Maglev<String>>(r#"{"table_size":7,"nodes":["a","a"]}"#).is_err()
    );
    assert!(serde_json::from_str::<Jump<String>>(r#"["a","b","a"]"#).is_err());
}

/// Hostile membership that would allocate far more than its few bytes justify is refused
/// before anything is built, with a typed error.
#[test]
fn decoding_is_bounded_by_the_input() {
    use sinew_ring::{ConfigError, MembershipError};
    // 2^24 points from one node (about 0.8 GiB before the bound).
    let bad = r#"{"vnodes":16777216,"nodes":[["a",1]]}"#;
    let err = serde_json::from_str::<HashRing<String>>(bad).unwrap_err();
    let want = MembershipError::TooManyPoints {
        requested: 1 << 24,
        max: HashRing::<String>::MAX_DECODED_POINTS_PER_NODE,
    };
    assert_eq!(err.to_string(), want.to_string());
    // vnodes × weight just over the per-node budget, and just at it.
    let over = r#"{"vnodes":4097,"nodes":[["a",1]]}"#;
    assert!(serde_json::from_str::<HashRing<String>>(over).is_err());
    let at = r#"{"vnodes":2048,"nodes":[["a",1],["b",1]]}"#;
    let ring = serde_json::from_str::<HashRing<String>>(at).unwrap();
    assert_eq!(ring.points(), 4096);
    // Weights count too.
    let heavy = r#"{"vnodes":160,"nodes":[["a",4294967295]]}"#;
    assert!(serde_json::from_str::<HashRing<String>>(heavy).is_err());

    // A 16 777 213-slot table (prime) for one node: refused, and the constructor refuses it too.
    let bad = r#"{"table_size":16777213,"nodes":["a"]}"#;
    assert!(serde_json::from_str::<Maglev<String>>(bad).is_err());
    assert!(Maglev::<String>::with_table_size(16_777_213).is_err());
    // 1 048 573 (prime, at MAX_TABLE_SIZE) needs 1024 listed nodes.
    let bad = r#"{"table_size":1048573,"nodes":["a","b"]}"#;
    let err = serde_json::from_str::<Maglev<String>>(bad).unwrap_err();
    let want = ConfigError::TableTooLarge {
        size: 1_048_573,
        max: 65_537,
    };
    assert_eq!(err.to_string(), want.to_string());
    let ok = r#"{"table_size":65537,"nodes":["a"]}"#;
    assert!(serde_json::from_str::<Maglev<String>>(ok).is_ok());
    // Constructors check the global caps before building.
    let mut ring = HashRing::with_vnodes(u32::MAX);
    assert!(matches!(
        ring.add("a".to_string()),
        Err(MembershipError::TooManyPoints { .. })
    ));
    assert_eq!(ring.points(), 0);
}
