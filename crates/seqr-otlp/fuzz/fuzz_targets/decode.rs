//! Decodes arbitrary bytes as OTLP logs or traces (protobuf or JSON, chosen by the first
//! byte): nothing may panic, no record may be lost, and the answer must encode. The same checks
//! replay this target's corpus in `cargo test` (tests/fuzz_corpus.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/mod.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    // Bigger bodies only repeat what smaller ones find, more slowly.
    if data.len() > 64 * 1024 {
        return;
    }
    common::check_input(data);
});
