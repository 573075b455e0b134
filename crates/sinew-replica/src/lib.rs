//! Dynamo-style replication as a library (work in progress on issue 16).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub(crate) mod codec;
pub mod error;
pub mod version;
