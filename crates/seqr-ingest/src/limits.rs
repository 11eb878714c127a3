//! Size limits, mirroring Seq's `RawEventMaximumContentLength`/`RawPayloadMaximumContentLength`.

/// Per-event and per-request size limits, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest event: a CLEF line, or a legacy event's JSON text. Seq and its clients use 256 KiB.
    pub max_event_bytes: usize,
    /// Largest (decompressed) request body. Seq's default is 10 MiB.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_event_bytes: 256 * 1024,
            max_body_bytes: 10 * 1024 * 1024,
        }
    }
}
