//! `Config` through serde_json: round trips, the documented form, defaults, and refusals with
//! `validate`'s errors.
#![cfg(feature = "serde")]

use std::time::Duration;

use sinew_gossip::{Config, ConfigError};

type Result = std::result::Result<(), Box<dyn std::error::Error>>;

fn round_trip(config: &Config) -> std::result::Result<Config, serde_json::Error> {
    serde_json::from_str(&serde_json::to_string(config)?)
}

#[test]
fn presets_and_labels_round_trip() -> Result {
    for config in [
        Config::lan(),
        Config::wan(),
        Config::local().scaled(0.1),
        Config::lan().with_label("prod-eu"),
        Config::lan().with_label(vec![0xff, 0x00, 0x80]),
    ] {
        assert_eq!(round_trip(&config)?, config);
    }
    Ok(())
}

#[test]
fn the_documented_form() -> Result {
    assert_eq!(
        serde_json::to_value(Config::lan().with_label("prod"))?,
        serde_json::json!({
            "cluster_label": "prod",
            "mtu": 1400,
            "max_metadata": 512,
            "probe_interval": 1.0,
            "probe_timeout": 0.5,
            "indirect_probes": 3,
            "gossip_interval": 0.2,
            "gossip_fanout": 3,
            "gossip_to_dead": 30.0,
            "retransmit_mult": 4,
            "suspicion_mult": 4,
            "suspicion_max_mult": 6,
            "awareness_max": 8,
            "push_pull_interval": 30.0,
            "reconnect_interval": 1.0,
            "tombstone_ttl": 3600.0,
            "sync_max_datagrams": 16
        })
    );
    // A label that is not UTF-8 is written as bytes, and read back from them.
    let binary: Config = serde_json::from_str(r#"{"cluster_label": [255, 0]}"#)?;
    assert_eq!(&binary.cluster_label[..], [255, 0]);
    Ok(())
}

#[test]
fn absent_fields_take_the_lan_preset() -> Result {
    assert_eq!(serde_json::from_str::<Config>("{}")?, Config::lan());
    let wan_timing: Config = serde_json::from_str(
        r#"{"probe_interval": 5, "probe_timeout": 3, "gossip_interval": 0.5,
            "gossip_fanout": 4, "gossip_to_dead": 60, "suspicion_mult": 6,
            "push_pull_interval": 60, "reconnect_interval": 5}"#,
    )?;
    assert_eq!(wan_timing, Config::wan());
    Ok(())
}

#[test]
fn bad_configs_are_refused_with_validates_error() {
    let long_label = format!(r#"{{"cluster_label": "{}"}}"#, "x".repeat(256));
    let cases = [
        (
            r#"{"probe_timeout": 1.5}"#.to_owned(),
            ConfigError::ProbeTimeoutTooLong,
        ),
        (
            r#"{"gossip_fanout": 0}"#.to_owned(),
            ConfigError::Zero("gossip_fanout"),
        ),
        (
            r#"{"probe_interval": 0, "probe_timeout": 0}"#.to_owned(),
            ConfigError::Zero("probe_interval"),
        ),
        (long_label, ConfigError::LabelTooLong(256)),
    ];
    for (json, want) in cases {
        let err = serde_json::from_str::<Config>(&json).expect_err(&json);
        assert_eq!(err.to_string(), want.to_string(), "{json}");
    }
    for json in [
        r#"{"mtu": 300}"#,
        r#"{"probe_interval": -1}"#,
        r#"{"probe_interval": "1s"}"#,
        r#"{"probe_intreval": 1}"#,
        r#"{"cluster_label": 7}"#,
        r#"{"cluster_label": [256]}"#,
    ] {
        assert!(serde_json::from_str::<Config>(json).is_err(), "{json}");
    }
    // Durations come back to the nanosecond.
    let mut precise = Config::lan();
    precise.gossip_interval = Duration::from_nanos(123_456_789);
    assert_eq!(round_trip(&precise).ok(), Some(precise));
}
