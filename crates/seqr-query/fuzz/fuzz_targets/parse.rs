//! Parses arbitrary text as an expression and as a query; whatever parses must print back to
//! the same tree and compile and evaluate against a few fixed events without panicking.
//! The same checks replay this target's corpus in `cargo test` (tests/fuzz_corpus.rs).

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use seqr_types::StoredEvent;

#[path = "../../tests/common/mod.rs"]
mod common;

static EVENTS: LazyLock<Vec<StoredEvent>> = LazyLock::new(common::sample_events);

fuzz_target!(|data: &[u8]| {
    // Longer inputs only repeat what shorter ones find, more slowly.
    if data.len() > 4096 {
        return;
    }
    if let Ok(src) = std::str::from_utf8(data) {
        common::check_input(src, &EVENTS);
    }
});
