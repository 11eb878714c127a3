//! Feeds arbitrary bytes to `seqr_store::fuzzing::part` (open with full verification, rebuild
//! every event), as they are and with every checksum recomputed (see `common/mod.rs`).
//! The same check replays this target's corpus in `cargo test` (tests/it/fuzz_corpus.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../common/mod.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::check_part(data);
});
