//! What `Store::stats` and `Store::open_report` return.

use std::path::PathBuf;

/// A snapshot of the store's size and health.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreStats {
    /// Events stored (memtables + parts).
    pub events: u64,
    /// WAL + part bytes.
    pub bytes_on_disk: u64,
    /// WAL bytes.
    pub wal_bytes: u64,
    /// Part bytes.
    pub part_bytes: u64,
    /// Parts in service.
    pub parts: usize,
    /// Events held in memtables (not yet in parts).
    pub memtable_events: u64,
    /// Encoded bytes held in memtables (the WAL records they came from).
    pub memtable_bytes: u64,
    /// Parts in service by merge tier (0: flushed, higher: merged), lowest tier first.
    pub tiers: Vec<TierUsage>,
    /// Bytes of decoded headers, filters and columns held by the read cache.
    pub cache_bytes: u64,
    /// Decoded blocks held by the block cache (bounded by count, not bytes).
    pub cached_blocks: usize,
    /// WAL fsync durations since open.
    pub wal_sync: crate::LatencySnapshot,
    /// Memtable flush (memtable to parts) durations since open.
    pub flush_time: crate::LatencySnapshot,
    /// Files moved to `quarantine/` since this store was opened (on open or when a read
    /// found damage).
    pub quarantined: usize,
    /// Part blocks decoded by searches since open.
    pub blocks_read: u64,
    /// Part blocks that searches skipped unread (header, min/max or filter ruled them out).
    pub blocks_skipped: u64,
    /// Set once a WAL write or fsync failed: appends are refused until reopen.
    pub poisoned: Option<String>,
    /// The last flush failure, if the latest attempt failed (it is retried).
    pub flush_error: Option<String>,
}

/// The parts of one merge tier.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TierUsage {
    /// 0 for flushed parts; each merge writes its inputs' tier + 1.
    pub tier: u32,
    pub parts: usize,
    pub bytes: u64,
    pub events: u64,
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
    /// Parts (or format-1 segments) that failed their checks, moved to `quarantine/`, never
    /// served.
    pub quarantined: Vec<Quarantined>,
    /// Parts in service.
    pub parts: usize,
    /// Format-1 segments rewritten as parts.
    pub migrated_segments: usize,
}
