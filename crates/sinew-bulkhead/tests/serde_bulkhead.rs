//! `BulkheadBuilder` as a configuration file form (feature `serde`).
#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sinew_bulkhead::{Bulkhead, BulkheadBuilder, ConfigError};

#[test]
fn builder_round_trips_with_durations_in_seconds() {
    let b = Bulkhead::builder()
        .max_concurrent(8)
        .queue(32)
        .max_wait(Duration::from_millis(250));
    let json = serde_json::to_string(&b).unwrap();
    assert_eq!(
        json,
        r#"{"max_concurrent":8,"max_waiting":32,"max_wait":0.25}"#
    );
    let back: BulkheadBuilder = serde_json::from_str(&json).unwrap();
    assert_eq!(back, b);
    let built = back.build().unwrap();
    assert_eq!(built.max_wait(), Some(Duration::from_millis(250)));
}

#[test]
fn missing_fields_take_defaults_and_bad_values_fail_in_build() {
    let b: BulkheadBuilder = serde_json::from_str(r#"{"max_concurrent":4}"#).unwrap();
    assert_eq!(b.clone().build().unwrap().max_waiting(), 0);
    let bad: BulkheadBuilder = serde_json::from_str(r#"{"max_concurrent":0}"#).unwrap();
    assert_eq!(bad.build().unwrap_err(), ConfigError::MaxConcurrent(0));
    assert!(serde_json::from_str::<BulkheadBuilder>(r#"{"max_concurent":4}"#).is_err());
    assert!(serde_json::from_str::<BulkheadBuilder>(r#"{"max_wait":-1}"#).is_err());
}
