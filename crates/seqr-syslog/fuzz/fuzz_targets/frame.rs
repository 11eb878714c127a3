//! Frames arbitrary bytes as a TCP syslog stream (the first two bytes pick the frame limit and
//! how the stream is cut into pushes) and decodes every frame: nothing may panic, the buffer
//! stays bounded by the limit, and a stream without NULs frames the same however it is cut.
//! The same checks replay this target's corpus in `cargo test` (tests/fuzz_corpus.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/mod.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if data.len() > 64 * 1024 {
        return;
    }
    common::check_frame(data);
});
