//! `Config` through serde_json: round trips, the documented form, defaults, and refusals
//! with the builder's own errors.
#![cfg(feature = "serde")]

use std::time::Duration;

use sinew_breaker::{CircuitBreaker, Config, ConfigError, ManualClock, State};

type Result = std::result::Result<(), Box<dyn std::error::Error>>;

fn round_trip(config: &Config) -> std::result::Result<Config, serde_json::Error> {
    serde_json::from_str(&serde_json::to_string(config)?)
}

#[test]
fn every_setting_round_trips() -> Result {
    let full = CircuitBreaker::builder()
        .failure_rate_threshold(0.25)
        .slow_call(Duration::from_millis(1500), 0.75)
        .minimum_calls(7)
        .time_window(Duration::from_secs(30))
        .time_window_buckets(6)
        .consecutive_failures(4)
        .wait_in_open(Duration::from_millis(2500))
        .open_backoff(1.5, Duration::from_secs(90))
        .open_jitter(0.2, u64::MAX)
        .half_open_permits(3)
        .max_wait_in_half_open(Duration::from_secs(20))
        .build()?;
    assert_eq!(&round_trip(full.config())?, full.config());
    let plain = CircuitBreaker::builder().count_window(50).build()?;
    assert_eq!(&round_trip(plain.config())?, plain.config());
    assert_eq!(round_trip(&Config::default())?, Config::default());
    Ok(())
}

#[test]
fn the_documented_form() -> Result {
    let breaker = CircuitBreaker::builder()
        .slow_call(Duration::from_secs(2), 0.8)
        .minimum_calls(20)
        .wait_in_open(Duration::from_millis(10_500))
        .open_backoff(2.0, Duration::from_secs(120))
        .half_open_permits(5)
        .build()?;
    assert_eq!(
        serde_json::to_value(breaker.config())?,
        serde_json::json!({
            "failure_rate_threshold": 0.5,
            "slow_call": { "duration": 2.0, "rate_threshold": 0.8 },
            "minimum_calls": 20,
            "window": { "count": 100 },
            "consecutive_failures": null,
            "wait_in_open": 10.5,
            "open_backoff": { "multiplier": 2.0, "max": 120.0 },
            "open_jitter": { "fraction": 0.0, "seed": 0x5eed_b4ea_4e45_0001_u64 },
            "half_open_permits": 5,
            "max_wait_in_half_open": null
        })
    );
    let time: Config = serde_json::from_str(r#"{"window": {"time": {"window": 0.5}}}"#)?;
    let built = CircuitBreaker::builder()
        .time_window(Duration::from_millis(500))
        .build()?;
    assert_eq!(&time, built.config());
    Ok(())
}

#[test]
fn absent_keys_take_the_builder_defaults() -> Result {
    let empty: Config = serde_json::from_str("{}")?;
    assert_eq!(&empty, CircuitBreaker::builder().build()?.config());
    // The default minimum follows a smaller count window, as with the builder.
    let small: Config = serde_json::from_str(r#"{"window": {"count": 20}}"#)?;
    assert_eq!(
        small,
        *CircuitBreaker::builder().count_window(20).build()?.config()
    );
    Ok(())
}

#[test]
fn a_deserialized_config_builds_a_working_breaker() -> Result {
    let config: Config = serde_json::from_str(r#"{"consecutive_failures": 2, "wait_in_open": 1}"#)?;
    let clock = ManualClock::new(Duration::from_secs(1_000));
    let breaker = CircuitBreaker::builder()
        .config(config)
        .clock(clock.clone())
        .build()?;
    breaker.try_acquire()?.failure();
    breaker.try_acquire()?.failure();
    assert_eq!(breaker.state(), State::Open);
    clock.advance(Duration::from_secs(1));
    assert!(breaker.try_acquire().is_ok());
    Ok(())
}

#[test]
fn bad_configs_are_refused_with_the_builders_error() {
    let cases = [
        (
            r#"{"failure_rate_threshold": 1.5}"#,
            ConfigError::FailureRateThreshold(1.5),
        ),
        (
            r#"{"minimum_calls": 30, "window": {"count": 20}}"#,
            ConfigError::MinimumCallsExceedWindow {
                minimum_calls: 30,
                window: 20,
            },
        ),
        (
            r#"{"wait_in_open": 0}"#,
            ConfigError::WaitInOpen(Duration::ZERO),
        ),
        (
            r#"{"half_open_permits": 0}"#,
            ConfigError::HalfOpenPermits(0),
        ),
        (
            r#"{"open_jitter": {"fraction": 1.0}}"#,
            ConfigError::OpenJitter(1.0),
        ),
        (
            r#"{"slow_call": {"duration": 0, "rate_threshold": 0.5}}"#,
            ConfigError::SlowCallDuration,
        ),
    ];
    for (json, want) in cases {
        let err = serde_json::from_str::<Config>(json).expect_err(json);
        assert_eq!(err.to_string(), want.to_string(), "{json}");
    }
    for json in [
        r#"{"wait_in_open": -1}"#,
        r#"{"window": {"count": 20}, "failure_rate": 0.5}"#,
        r#"{"window": "count"}"#,
        r#"{"slow_call": {"duration": 1}}"#,
        r#"{"half_open_permits": -3}"#,
    ] {
        assert!(serde_json::from_str::<Config>(json).is_err(), "{json}");
    }
}
