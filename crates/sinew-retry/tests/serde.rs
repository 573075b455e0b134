//! `Backoff` and `Jitter` through serde: round trips, seconds for durations, the builder's
//! checks on the way in.
#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sinew_retry::{Backoff, Jitter};

#[test]
fn round_trips() {
    for jitter in [
        Jitter::None,
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
    ] {
        let j: Jitter = serde_json::from_str(&serde_json::to_string(&jitter).unwrap()).unwrap();
        assert_eq!(j, jitter);
        let b = Backoff::exponential(Duration::from_millis(250))
            .factor(1.5)
            .cap(Duration::from_secs(3))
            .jitter(jitter)
            .max_retries(7)
            .max_elapsed(Duration::from_secs(20))
            .seed(42)
            .build()
            .unwrap();
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::from_str::<Backoff>(&json).unwrap(), b);
    }
    assert_eq!(
        serde_json::to_string(&Jitter::Decorrelated).unwrap(),
        "\"decorrelated\""
    );
}

#[test]
fn seconds_defaults_and_checks() {
    let b: Backoff = serde_json::from_str(r#"{"base": 0.05, "jitter": "equal"}"#).unwrap();
    let same = Backoff::exponential(Duration::from_millis(50))
        .jitter(Jitter::Equal)
        .build()
        .unwrap();
    assert_eq!(b, same);
    let v: serde_json::Value = serde_json::to_value(Backoff::default()).unwrap();
    assert_eq!(v["base"], 0.1);
    assert_eq!(v["cap"], 10.0);
    assert!(v["max_elapsed"].is_null());
    // The builder's checks, and unknown keys, are errors.
    assert!(serde_json::from_str::<Backoff>(r#"{"factor": 0.5}"#).is_err());
    assert!(serde_json::from_str::<Backoff>(r#"{"base": 20, "cap": 10}"#).is_err());
    assert!(serde_json::from_str::<Backoff>(r#"{"retries": 3}"#).is_err());
}
