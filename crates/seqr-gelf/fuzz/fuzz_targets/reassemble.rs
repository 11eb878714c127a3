//! Feeds arbitrary datagrams (the first byte picks limits and clock steps, then each datagram
//! follows a 2-byte length) through the chunk reassembler and decodes what comes out whole:
//! nothing may panic and held bytes and messages never exceed the limits. The same checks
//! replay this target's corpus in `cargo test` (tests/fuzz_corpus.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/mod.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if data.len() > 64 * 1024 {
        return;
    }
    let _ = common::check_reassemble(data);
});
