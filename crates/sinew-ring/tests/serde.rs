//! Membership round trips through serde; tables are rebuilt and route identically.
#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use sinew_ring::{ConsistentHash, HashRing, Jump, Maglev, Rendezvous, sample_hash};

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
