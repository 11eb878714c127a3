//! Integration tests of the `seqr` binary: each test starts the real server
//! (`CARGO_BIN_EXE_seqr`) on its own temp storage and an ephemeral port and talks HTTP to it.

mod airgap;
mod backup;
mod cli;
mod crash;
mod disk_full;
mod fixtures;
mod https_cli;
mod ingest_http;
mod input_fixtures;
mod input_flood;
mod otlp_fixtures;
mod outbound_scan;
mod packaging;
mod secret_rotate;
mod secure_defaults;
mod self_log;
mod support;
