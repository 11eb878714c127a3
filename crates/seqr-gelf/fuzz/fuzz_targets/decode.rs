//! Decodes arbitrary bytes as one GELF message (plain, gzip or zlib) with a small size limit,
//! and as a TCP stream of NUL-terminated frames: nothing may panic, refusals carry a message,
//! events are well formed, and the framer agrees with a plain split. The same checks replay
//! this target's corpus in `cargo test` (tests/fuzz_corpus.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/mod.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    // Bigger inputs only repeat what smaller ones find, more slowly.
    if data.len() > 64 * 1024 {
        return;
    }
    let _ = common::check_decode(data);
});
