//! Decodes arbitrary bytes as one syslog message: nothing may panic, a peer address may only
//! fill in a missing hostname, and every event must be well formed. The same checks replay this
//! target's corpus in `cargo test` (tests/fuzz_corpus.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/mod.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    // Syslog messages are small; bigger inputs only repeat what smaller ones find, more slowly.
    if data.len() > 16 * 1024 {
        return;
    }
    common::check_decode(data);
});
