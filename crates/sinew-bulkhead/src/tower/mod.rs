//! Tower middleware: [`AdaptiveLimitLayer`] sheds load beyond an adaptive concurrency limit.

mod adaptive;
pub use adaptive::*;
