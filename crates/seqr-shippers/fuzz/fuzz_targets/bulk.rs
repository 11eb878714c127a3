//! Decodes arbitrary bytes as an Elasticsearch `_bulk` body (with or without an index from the
//! path, chosen by the first byte): nothing may panic, every item must be stored or refused
//! and counted, and the answer must be JSON with one item per action. The same checks replay
//! this target's corpus in `cargo test` (tests/fuzz_corpus.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

// Each target uses one of the shared checks.
#[allow(dead_code)]
#[path = "../../tests/common/mod.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if data.len() > 64 * 1024 {
        return;
    }
    common::check_bulk(data);
});
