//! seqr-ingest integration tests (one binary).

mod common;
mod fixtures;
mod robustness;
