//! With the `tracing` feature: one event per transition, with its states as fields.
#![cfg(feature = "tracing")]
#![allow(clippy::unwrap_used)]

use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sinew_breaker::{CircuitBreaker, ManualClock, State};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Collects the `from`/`to` fields of every event with target `sinew_breaker`.
#[derive(Default)]
struct Collect(Arc<Mutex<Vec<(String, String)>>>);

#[derive(Default)]
struct Fields {
    from: String,
    to: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "from" => self.from = value.to_owned(),
            "to" => self.to = value.to_owned(),
            _ => {}
        }
    }
    fn record_debug(&mut self, _field: &Field, _value: &dyn Debug) {}
}

impl Subscriber for Collect {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "sinew_breaker"
    }
    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _span: &Id, _values: &Record<'_>) {}
    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.0.lock().unwrap().push((fields.from, fields.to));
    }
    fn enter(&self, _span: &Id) {}
    fn exit(&self, _span: &Id) {}
}

#[test]
fn one_event_per_transition() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let subscriber = Collect(Arc::clone(&seen));
    tracing::subscriber::with_default(subscriber, || {
        let clock = ManualClock::new(Duration::from_secs(100));
        let b = CircuitBreaker::builder()
            .consecutive_failures(2)
            .wait_in_open(Duration::from_secs(1))
            .half_open_permits(1)
            .clock(clock.clone())
            .build()
            .unwrap();
        b.try_acquire().unwrap().failure();
        b.try_acquire().unwrap().failure();
        assert!(b.try_acquire().is_err()); // rejections are not events
        clock.advance(Duration::from_secs(1));
        b.try_acquire().unwrap().success();
        assert_eq!(b.state(), State::Closed);
        b.reset(); // closed -> closed: no transition, no event
    });
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    assert_eq!(
        *seen.lock().unwrap(),
        pairs(&[
            ("closed", "open"),
            ("open", "half-open"),
            ("half-open", "closed")
        ])
    );
}
