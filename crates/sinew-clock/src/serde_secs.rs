//! A [`Duration`] as a number of seconds in serde formats (`1.5` is 1.5 s, `0.25` is 250 ms),
//! for `#[serde(with = "sinew_clock::serde_secs")]` on a field; [`option`] does the same for
//! an `Option<Duration>` (`null` is `None`).
//!
//! The sinew crates write the durations of their configurations this way, so a configuration
//! file reads as people write timings. Serializing gives [`Duration::as_secs_f64`];
//! deserializing accepts any number (integer or not) that is finite, not negative and at most
//! [`u64::MAX`] seconds, rounded to the nanosecond, and refuses the rest with an error naming
//! the value.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//!
//! #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
//! struct Timing {
//!     #[serde(with = "sinew_clock::serde_secs")]
//!     interval: Duration,
//!     #[serde(with = "sinew_clock::serde_secs::option")]
//!     timeout: Option<Duration>,
//! }
//!
//! let t: Timing = serde_json::from_str(r#"{"interval": 1.5, "timeout": null}"#)?;
//! assert_eq!(t, Timing { interval: Duration::from_millis(1500), timeout: None });
//! assert_eq!(serde_json::to_string(&t)?, r#"{"interval":1.5,"timeout":null}"#);
//! assert!(serde_json::from_str::<Timing>(r#"{"interval": -1, "timeout": 2}"#).is_err());
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// Writes `duration` as seconds.
///
/// # Errors
///
/// Whatever the serializer returns.
pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

/// Reads seconds as a [`Duration`].
///
/// # Errors
///
/// The deserializer's error, or a custom one for a number that is negative, not finite, or
/// too large for a `Duration`.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    from_secs(f64::deserialize(deserializer)?)
}

fn from_secs<E: serde::de::Error>(secs: f64) -> Result<Duration, E> {
    Duration::try_from_secs_f64(secs).map_err(|_| {
        E::custom(format_args!(
            "{secs} is not a duration in seconds (finite, not negative, at most 2^64 s)"
        ))
    })
}

/// An `Option<Duration>` as seconds or `null`:
/// `#[serde(with = "sinew_clock::serde_secs::option")]`.
pub mod option {
    use super::*;

    /// Writes `Some(duration)` as seconds, `None` as nothing (`null` in JSON).
    ///
    /// # Errors
    ///
    /// Whatever the serializer returns.
    pub fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(d) => serializer.serialize_some(&d.as_secs_f64()),
            None => serializer.serialize_none(),
        }
    }

    /// Reads seconds, or nothing, as an `Option<Duration>`.
    ///
    /// # Errors
    ///
    /// As [`deserialize`](super::deserialize) for a number that is not a duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(deserializer)?
            .map(from_secs)
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct T {
        #[serde(with = "crate::serde_secs")]
        d: Duration,
        #[serde(with = "crate::serde_secs::option", default)]
        o: Option<Duration>,
    }

    fn parse(json: &str) -> Result<T, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn round_trips_and_reads_integers() -> Result<(), serde_json::Error> {
        for d in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_millis(250),
            Duration::from_secs(3600),
        ] {
            let t = T { d, o: Some(d) };
            assert_eq!(parse(&serde_json::to_string(&t)?)?, t);
        }
        assert_eq!(parse(r#"{"d": 60}"#)?.d, Duration::from_secs(60));
        assert_eq!(parse(r#"{"d": 0.001, "o": null}"#)?.o, None);
        Ok(())
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for bad in [
            r#"{"d": -0.5}"#,
            r#"{"d": 1e30}"#,
            r#"{"d": "1s"}"#,
            r#"{"d": 1, "o": -1}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
