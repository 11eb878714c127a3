//! Feeds arbitrary bytes to `seqr_store::fuzzing::row` (decode and view one WAL row, build a
//! one-row block from it).
//! The same check replays this target's corpus in `cargo test` (tests/it/fuzz_corpus.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../common/mod.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::check_row(data);
});
