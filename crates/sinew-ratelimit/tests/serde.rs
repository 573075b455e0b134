//! With the `serde` feature: `Quota` (and `OnLimit`) through serde_json, and bad quotas
//! refused on the way in.
#![cfg(all(feature = "serde", not(sinew_loom)))]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use proptest::prelude::*;
use sinew_ratelimit::{MAX_REFILL, Quota};

#[test]
fn quota_is_two_named_numbers() {
    let q = Quota::per_second(10).unwrap().burst(5).unwrap();
    let json = serde_json::to_string(&q).unwrap();
    assert_eq!(json, r#"{"interval_ns":100000000,"burst":5}"#);
    assert_eq!(serde_json::from_str::<Quota>(&json).unwrap(), q);
    // Rounded intervals keep their exact nanoseconds.
    let third = Quota::per_second(3).unwrap();
    let back: Quota = serde_json::from_str(&serde_json::to_string(&third).unwrap()).unwrap();
    assert_eq!(back, third);
    assert_eq!(back.interval().as_nanos(), 333_333_334);
}

#[test]
fn bad_quotas_are_errors() {
    for (json, why) in [
        (r#"{"interval_ns":0,"burst":5}"#, "period"),
        (r#"{"interval_ns":100,"burst":0}"#, "burst"),
        (r#"{"interval_ns":100}"#, "burst"),
        (r#"{"interval_ns":100,"burst":5,"rate":7}"#, "rate"),
        (r#"{"interval_ns":-1,"burst":5}"#, "-1"),
        (r#"{"interval_ns":100,"burst":4294967296}"#, "4294967296"),
        // The sequence form (for compact formats) is checked the same way.
        (r#"[0,5]"#, "period"),
        (r#"[100,5,6]"#, "trailing"),
        (r#""10/s""#, "10/s"),
    ] {
        let err = serde_json::from_str::<Quota>(json).unwrap_err().to_string();
        assert!(err.contains(why), "{json}: {err}");
    }
}

/// As `Quota::with_period` does: an interval past the refill bound is cut to it.
#[test]
fn huge_intervals_are_cut_as_the_constructor_cuts_them() {
    let q: Quota =
        serde_json::from_str(&format!(r#"{{"interval_ns":{},"burst":3}}"#, u64::MAX)).unwrap();
    assert_eq!(q.interval(), MAX_REFILL);
    assert_eq!(q.burst_size(), 3);
    assert_eq!(
        q,
        Quota::with_period(Duration::MAX).unwrap().burst(3).unwrap()
    );
}

#[cfg(feature = "tower")]
#[test]
fn on_limit_is_a_word() {
    use sinew_ratelimit::tower::OnLimit;
    assert_eq!(serde_json::to_string(&OnLimit::Wait).unwrap(), r#""wait""#);
    assert_eq!(
        serde_json::from_str::<OnLimit>(r#""reject""#).unwrap(),
        OnLimit::Reject
    );
    assert!(serde_json::from_str::<OnLimit>(r#""block""#).is_err());
}

proptest! {
    /// Every quota the constructors make comes back equal from JSON.
    #[test]
    fn every_quota_round_trips(period in 1u64.., burst in 1u32.., per_second in any::<bool>(), n in 1u32..) {
        let q = if per_second {
            Quota::per_second(n).unwrap()
        } else {
            Quota::with_period(Duration::from_nanos(period)).unwrap()
        };
        let q = q.burst(burst).unwrap();
        let back: Quota = serde_json::from_str(&serde_json::to_string(&q).unwrap()).unwrap();
        prop_assert_eq!(back, q);
    }
}
