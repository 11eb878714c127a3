//! Feeds arbitrary bytes to `seqr_store::fuzzing::wal` (replay as the last generation, decode
//! every row), as they are and with the header and record checksums recomputed.
//! The same check replays this target's corpus in `cargo test` (tests/it/fuzz_corpus.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../common/mod.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::check_wal(data);
});
