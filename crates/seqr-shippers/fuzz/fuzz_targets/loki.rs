//! Decodes arbitrary bytes as a Loki push (protobuf+snappy or JSON, chosen by the first byte):
//! nothing may panic and no protobuf entry may be lost. The same checks replay this target's
//! corpus in `cargo test` (tests/fuzz_corpus.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

// Each target uses one of the shared checks.
#[allow(dead_code)]
#[path = "../../tests/common/mod.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    // Bigger bodies only repeat what smaller ones find, more slowly.
    if data.len() > 64 * 1024 {
        return;
    }
    common::check_loki(data);
});
