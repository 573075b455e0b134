//! The simulator on a few seeds with small operation counts (seconds in a debug build): the
//! checker's invariants hold under loss, skew, a partition and a crash.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use sinew_replica::Policy;
use sinew_replica::sim::{ReportCard, SimOptions};

fn small(seed: u64) -> SimOptions {
    let mut o = SimOptions::default();
    o.seed = seed;
    o.ops = 6_000;
    o.keys = 200;
    o.fault_duration = Duration::from_secs(2);
    o
}

fn assert_safe(card: &ReportCard) {
    assert_eq!(card.lost_acknowledged_writes, 0, "{card}");
    assert_eq!(card.stale_reads, 0, "{card}");
    assert!(card.converged, "{card}");
    assert!(card.acknowledged_writes > 1000, "{card}");
}

#[test]
fn dvv_with_a_partition_and_a_crash_loses_nothing() {
    for seed in 1..=3 {
        let card = ReportCard::run(&small(seed)).unwrap();
        assert_safe(&card);
        assert_eq!(card.lost_concurrent_updates, 0, "{card}");
        assert!(card.convergence_rounds.unwrap() <= 2, "{card}");
    }
}

#[test]
fn a_crash_alone_hands_every_hint_off() {
    for seed in 1..=2 {
        let mut o = small(seed);
        o.partition = false;
        let card = ReportCard::run(&o).unwrap();
        assert_safe(&card);
        assert!(card.hints_stored > 0, "{card}");
        assert_eq!(card.hints_dropped, 0, "{card}");
        assert_eq!(card.hints_pending, 0, "{card}");
        assert_eq!(
            card.hints_delivered + card.hints_lost,
            card.hints_stored,
            "{card}"
        );
    }
}

#[test]
fn lww_keeps_acknowledged_writes_but_may_lose_concurrent_ones() {
    let mut o = small(4);
    o.policy = Policy::Lww;
    let card = ReportCard::run(&o).unwrap();
    assert_safe(&card);
    assert!(card.siblings_max <= 1, "{card}");
}

#[test]
fn the_same_seed_replays_the_same_run() {
    let mut o = small(7);
    o.ops = 2_000;
    let a = ReportCard::run(&o).unwrap().to_json();
    assert_eq!(a, ReportCard::run(&o).unwrap().to_json());
    o.seed = 8;
    assert_ne!(a, ReportCard::run(&o).unwrap().to_json());
}

#[test]
fn without_faults_everything_is_available_but_loss() {
    let mut o = small(5);
    (o.partition, o.crash, o.loss) = (false, false, 0.0);
    let card = ReportCard::run(&o).unwrap();
    assert_safe(&card);
    assert_eq!(card.availability, 1.0, "{card}");
    assert_eq!(card.hints_stored, 0, "{card}");
}

#[test]
fn bad_options_are_refused() {
    let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    for bad in [
        "--nodes 0",
        "--n 6",
        "--r 4",
        "--w 0",
        "--ops 0",
        "--loss 1",
        "--loss -0.1",
        "--policy crdt",
        "--nodes x",
        "--seed",
        "--frobnicate 1",
        "--clients 0",
        "--keys 0",
    ] {
        assert!(SimOptions::from_args(args(bad)).is_err(), "{bad}");
    }
    let o = SimOptions::from_args(args(
        "--nodes 7 --n 5 --r 3 --w 3 --ops 10 --loss 0.1 --skew-ms 20 --policy lww --seed 9 --json --no-faults",
    ))
    .unwrap();
    assert_eq!((o.nodes, o.n, o.r, o.w, o.ops, o.seed), (7, 5, 3, 3, 10, 9));
    assert_eq!(
        (o.policy, o.partition, o.crash),
        (Policy::Lww, false, false)
    );
    assert_eq!(o.skew, Duration::from_millis(20));
}
