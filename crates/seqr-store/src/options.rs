//! Tuning knobs and the fault-injection test hook.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Tuning knobs. Build with `StoreOptions { flush_events: 1000, ..Default::default() }`.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Freeze the memtable and write it to parts once it holds this many events.
    pub flush_events: usize,
    /// ... or this many encoded bytes.
    pub flush_bytes: usize,
    /// When no append has arrived for this long, freeze and flush the memtable if it holds
    /// at least `idle_flush_events` events (`None` disables): a memtable's rows are searched
    /// row by row, a part's from its columns, so a pause in ingestion is used to move them.
    pub idle_flush: Option<std::time::Duration>,
    /// Smallest memtable worth an idle flush (a trickle of events stays in memory rather
    /// than becoming a part per event).
    pub idle_flush_events: usize,
    /// Events per part block (at most).
    pub block_events: usize,
    /// zstd level for the columns of flushed parts.
    pub zstd_level: i32,
    /// Check every block of every part on open (reads and decodes all part data once);
    /// footers, names and indexes are always checked.
    pub verify_parts_on_open: bool,
    /// Decompressed blocks kept in memory for searches.
    pub block_cache_blocks: usize,
    /// Bytes of decoded single columns kept in memory for counting and selecting rows (0
    /// disables the cache).
    pub column_cache_bytes: usize,
    /// Bytes of decoded block headers and token filters kept in memory for pruning (0
    /// disables the cache).
    pub metadata_cache_bytes: usize,
    /// Merge this many parts of one day and tier into one part of the next tier (tiers 0, 1
    /// and 2; 0 or 1 disables merging).
    pub merge_parts: usize,
    /// Run merges on a background thread as parts accumulate (otherwise only
    /// `Store::merge` merges, which tests use to place merges exactly).
    pub background_merges: bool,
    /// zstd level for merged parts (bigger and colder than flushed ones).
    pub merge_zstd_level: i32,
    /// Parts whose events together exceed this are not merged (bounds a part's size).
    pub merge_max_events: u64,
    /// Frozen memtables waiting for the flusher before the writer stops taking appends (they
    /// wait in the queue, and the server's in-flight limit then pushes back on clients):
    /// memory stays bounded when ingestion outpaces flushing.
    pub max_frozen_memtables: usize,
    /// Free space the store keeps on its volume: appends are refused (`DiskFull`) below it,
    /// and accepted again as soon as space is freed. `None`: the smaller of 1 GiB and 2% of
    /// the volume (Seq's `MinimumFreeStorageSpace` default), so a small volume still fills
    /// before it refuses. Changeable at runtime with `Store::set_min_free_bytes`.
    pub min_free_bytes: Option<u64>,
    /// Upper bound on one group commit's record (more waiting appends go in the next group).
    pub max_group_bytes: usize,
    /// Test hook: inject WAL write / fsync failures.
    #[doc(hidden)]
    pub fault: Option<Arc<FaultInjector>>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            flush_events: 100_000,
            flush_bytes: 32 << 20,
            idle_flush: Some(std::time::Duration::from_secs(3)),
            idle_flush_events: 1024,
            block_events: 4096,
            zstd_level: 1,
            verify_parts_on_open: true,
            block_cache_blocks: 32,
            column_cache_bytes: 64 << 20,
            metadata_cache_bytes: 64 << 20,
            merge_parts: 8,
            background_merges: true,
            merge_zstd_level: 3,
            merge_max_events: 8_000_000,
            max_group_bytes: 16 << 20,
            max_frozen_memtables: 1,
            min_free_bytes: None,
            fault: None,
        }
    }
}

/// Test hook: makes the WAL's writes or fsyncs fail while a flag is set, or fsyncs slow (a
/// saturated disk, for back-pressure tests).
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct FaultInjector {
    /// Fail every WAL write.
    pub fail_write: AtomicBool,
    /// Fail every WAL fsync.
    pub fail_sync: AtomicBool,
    /// Milliseconds every WAL fsync takes at least.
    pub slow_sync_ms: std::sync::atomic::AtomicU64,
}
