//! A subscriber that records `tracing` events, so a crate's `tracing` feature is tested by
//! what it emits.

use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One recorded event: its level, its message and its other fields in the order they were
/// written, every value as text (`Debug` for values recorded that way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenEvent {
    /// The event's level.
    pub level: Level,
    /// The event's message, if it has one.
    pub message: Option<String>,
    /// `(name, value)` for every field but the message.
    pub fields: Vec<(String, String)>,
}

impl SeenEvent {
    /// The value of field `name`, if the event has it.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Runs `f` with a subscriber that records every event whose target is `target` (events of
/// other targets are disabled), and returns them in order. The subscriber is the thread's
/// default only while `f` runs.
pub fn capture_events(target: &'static str, f: impl FnOnce()) -> Vec<SeenEvent> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let collector = Collect {
        target,
        seen: Arc::clone(&seen),
    };
    tracing::subscriber::with_default(collector, f);
    let events = seen.lock().unwrap_or_else(PoisonError::into_inner);
    events.clone()
}

struct Collect {
    target: &'static str,
    seen: Arc<Mutex<Vec<SeenEvent>>>,
}

#[derive(Default)]
struct Fields {
    message: Option<String>,
    fields: Vec<(String, String)>,
}

impl Fields {
    fn push(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.message = Some(value);
        } else {
            self.fields.push((field.name().to_owned(), value));
        }
    }
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, value.to_string());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, value.to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, value.to_string());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, value.to_string());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.push(field, format!("{value:?}"));
    }
}

impl Subscriber for Collect {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == self.target
    }
    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _span: &Id, _values: &Record<'_>) {}
    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let seen = SeenEvent {
            level: *event.metadata().level(),
            message: fields.message,
            fields: fields.fields,
        };
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(seen);
    }
    fn enter(&self, _span: &Id) {}
    fn exit(&self, _span: &Id) {}
}
