//! Feeds arbitrary bytes to `seqr_store::fuzzing::manifest`, as they are and with the checksum
//! recomputed.
//! The same check replays this target's corpus in `cargo test` (tests/it/fuzz_corpus.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../common/mod.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::check_manifest(data);
});
