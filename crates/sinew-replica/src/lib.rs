//! Dynamo-style replication as a library (work in progress on issue 16).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod version;
