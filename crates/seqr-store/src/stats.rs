//! What `Store::stats` and `Store::open_report` return.

use std::path::PathBuf;

/// A snapshot of the store's size and health.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreStats {
    /// Events stored (memtables + segments).
    pub events: u64,
    /// WAL + segment bytes.
    pub bytes_on_disk: u64,
    /// WAL bytes.
    pub wal_bytes: u64,
    /// Segment bytes.
    pub segment_bytes: u64,
    /// Segment files in service.
    pub segments: usize,
    /// Events held in memtables (not yet in segments).
    pub memtable_events: u64,
    /// Segments moved to `quarantine/` when this store was opened.
    pub quarantined: usize,
    /// Set once a WAL write or fsync failed: appends are refused until reopen.
    pub poisoned: Option<String>,
    /// The last segment flush failure, if the latest attempt failed (it is retried).
    pub flush_error: Option<String>,
}

/// A damaged file found on open and moved aside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quarantined {
    /// Where the file is now.
    pub file: PathBuf,
    /// What was wrong.
    pub detail: String,
}

/// What [`Store::open`] found and repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenReport {
    /// Events read back from the WAL into the memtable.
    pub replayed_events: u64,
    /// WAL files replayed.
    pub wal_files: usize,
    /// Bytes cut from the end of the last WAL file (a torn, never-acknowledged group commit).
    pub truncated_tail_bytes: u64,
    /// Segments that failed their checks, moved to `quarantine/`, never served.
    pub quarantined: Vec<Quarantined>,
    /// Segments in service.
    pub segments: usize,
}
