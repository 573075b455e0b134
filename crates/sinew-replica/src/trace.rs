//! `tracing` events behind the `tracing` feature; without it the calls compile to nothing.

/// `event!(LEVEL, fields.., "message")` with target `sinew_replica`, when the feature is on.
macro_rules! event {
    ($level:ident, $($rest:tt)+) => {
        #[cfg(feature = "tracing")]
        tracing::event!(target: "sinew_replica", tracing::Level::$level, $($rest)+);
    };
}
