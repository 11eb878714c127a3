//! seqr's event store: write-ahead log with group commit, memtable, immutable columnar parts
//! in per-day partitions, search.
//!
//! Data path: [`Store::append`] encodes the events on the caller's thread and queues them; one
//! writer thread takes every waiting batch, writes one checksummed WAL record for the group,
//! `fdatasync`s once, inserts the events into the memtable (visible to search from then on) and
//! only then calls each batch's `done`. When the memtable passes [`StoreOptions::flush_events`]
//! or [`StoreOptions::flush_bytes`] the writer starts a new WAL generation and freezes the
//! memtable; a flusher thread writes it to columnar parts, one per UTC day (temp file, sync,
//! rename, sync the directory), publishes them in a new manifest (the atomic step), and then
//! deletes the WAL generations they cover.
//!
//! [`Store::shutdown`] acknowledges what is queued, then writes the remaining memtables to
//! parts, so a cleanly stopped store holds parts and an empty WAL file; a crash leaves the WAL,
//! which open replays. A store written by an older seqr (format-1 segments) is migrated to
//! parts on open.
//!
//! All file I/O goes through [`dir::Dir`], so tests can run the store in memory and simulate
//! I/O errors and power loss. On-disk format and recovery rules: `docs/FORMAT.md`. Plain
//! threads, no async, no network.
//!
//! Modules: `dir` (file-system abstraction), `wal` (log files, replay), `writer` (the
//! group-commit writer thread, WAL rotation), `memtable`, `flusher` (memtable -> parts),
//! `part` (the columnar format), `sink` (events -> day parts), `manifest` (the live set),
//! `cache` (decoded blocks), `latency` (fsync and flush timings), `recovery` (what `open`
//! does), `legacy` (format-1 segments, for migration), `search`, `codec` (row encoding of WAL
//! records), `snapshot` (consistent copies for backups), `options`, `stats`.

mod cache;
mod codec;
mod count;
pub mod dir;
mod error;
mod flusher;
#[doc(hidden)]
pub mod fuzzing;
mod latency;
mod legacy;
mod maintenance;
mod manifest;
mod memtable;
mod merge;
mod options;
mod part;
mod prune;
mod recovery;
mod search;
mod sink;
mod snapshot;
mod stats;
mod text_block;
mod text_search;
mod wal;
mod writer;

use std::collections::BTreeMap;
use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Instant;

pub use count::{CountError, CountReport, CountRequest, GroupCount};
pub use error::{AppendError, CloseError, OpenError, ReadError};
pub use latency::{BUCKET_BOUNDS_MICROS, Latency, LatencySnapshot};
pub use maintenance::{DayUsage, DeleteReport, DeleteRequest, MaintenanceError};
pub use options::{FaultInjector, StoreOptions};
pub use seqr_query::pushdown::Predicate;
pub use seqr_types::{Event, EventId, StoredEvent, Timestamp};
pub use snapshot::{
    MANIFEST_FILE, Snapshot, SnapshotError, SnapshotFile, SnapshotReport, verify_copy,
};
pub use stats::{OpenReport, Quarantined, StoreStats, TierUsage};

use cache::BlockCache;
use dir::{Dir, FsDir};
use flusher::FlushCtl;
use manifest::Manifest;
pub(crate) use memtable::{Enc, Memtable, State};
use part::{Part, PartError};
use recovery::io_err;
use writer::{Pending, Queue};

/// Largest encoded batch accepted by one append.
const MAX_BATCH_BYTES: usize = 1 << 30;
/// Lock file name inside the data directory.
pub const LOCK_FILE: &str = "LOCK";
/// Subdirectory that damaged parts (and format-1 segments) are moved to.
pub const QUARANTINE_DIR: &str = "quarantine";

/// One search request; see the crate docs of [`SearchResult`] for the paging contract.
#[derive(Clone, Copy, Default)]
pub struct SearchRequest<'a> {
    /// Maximum events to return.
    pub count: usize,
    /// Only events strictly older: `id < after_id`.
    pub after_id: Option<EventId>,
    /// Only events with `id <= start_at_id`.
    pub start_at_id: Option<EventId>,
    /// Inclusive lower timestamp bound.
    pub from: Option<Timestamp>,
    /// Exclusive upper timestamp bound.
    pub to: Option<Timestamp>,
    /// Maximum events examined before returning [`SearchStatus::Partial`] (Seq's
    /// `shortCircuitAfter`). At least one event is always examined.
    pub scan_limit: Option<usize>,
    /// Return [`SearchStatus::Partial`] once passed (checked after at least one event).
    pub deadline: Option<Instant>,
    /// Only events for which this returns true are returned (every examined event counts
    /// towards `scan_limit`).
    pub filter: Option<&'a (dyn Fn(&StoredEvent) -> bool + Sync)>,
    /// Conditions implied by `filter` ([`seqr_query::pushdown::predicates`]): blocks that
    /// cannot satisfy them are skipped unread (their events are not examined).
    pub predicates: &'a [Predicate],
}

/// How a search ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchStatus {
    /// `count` events were collected; `last_read` is the last one returned.
    Full,
    /// Nothing older in range remains; `last_read` is the last event examined, if any.
    Complete,
    /// `scan_limit` or `deadline` stopped the search; `last_read` is the last event examined.
    Partial,
}

/// Search results, newest first. Re-issuing the request with `after_id = last_read` continues
/// without gaps or repeats.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchResult {
    /// Matching events, newest (largest id) first.
    pub events: Vec<StoredEvent>,
    /// Why the search stopped.
    pub status: SearchStatus,
    /// Where to continue from.
    pub last_read: Option<EventId>,
}

/// The callback of [`Store::append`].
pub type AppendDone = Box<dyn FnOnce(Result<Vec<EventId>, AppendError>) + Send>;
pub(crate) struct Shared {
    dir: Arc<dyn Dir>,
    /// The directory's path, for messages.
    root: PathBuf,
    options: StoreOptions,
    queue: Mutex<Queue>,
    queue_cv: Condvar,
    state: RwLock<State>,
    flush: Mutex<FlushCtl>,
    flush_cv: Condvar,
    /// Notified after each flush (the writer waits on it when memtables are full).
    flushed_cv: Condvar,
    poison: OnceLock<String>,
    events: AtomicU64,
    cache: BlockCache,
    columns: cache::ColumnCache,
    report: OpenReport,
    /// Parts quarantined since open (read-time checksum failures).
    quarantined: Mutex<Vec<Quarantined>>,
    flush_error: Mutex<Option<String>>,
    /// The manifest as last written; held while writing a new one.
    manifest: Mutex<Manifest>,
    /// Held by a delete for its whole run: one at a time.
    maintenance: Mutex<()>,
    /// [`StoreOptions::min_free_bytes`], changeable at runtime (`u64::MAX`: the default rule).
    min_free: AtomicU64,
    next_part_id: AtomicU64,
    /// Part blocks decoded for searches, and skipped by their headers and filters.
    pub(crate) blocks_read: AtomicU64,
    pub(crate) blocks_skipped: AtomicU64,
    /// Bytes of each live WAL generation (kept here so `stats` never touches the directory).
    wal_sizes: Mutex<BTreeMap<u64, u64>>,
    /// How long each WAL fsync took (timed on the writer thread, atomics only).
    pub(crate) wal_sync: latency::Latency,
    /// How long each memtable flush to parts took.
    pub(crate) flush_time: latency::Latency,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

fn call_done(done: AppendDone, result: Result<Vec<EventId>, AppendError>) {
    // A panicking callback must not take the writer down with it.
    let _ = catch_unwind(AssertUnwindSafe(move || done(result)));
}

impl Shared {
    fn poisoned(&self) -> Option<AppendError> {
        self.poison
            .get()
            .map(|d| AppendError::Poisoned { detail: d.clone() })
    }

    fn set_poison(&self, detail: String) {
        let _ = self.poison.set(detail);
    }

    /// The free space to keep on a volume of `total` bytes.
    fn minimum_free(&self, total: u64) -> u64 {
        match self.min_free.load(Ordering::Relaxed) {
            u64::MAX => (1u64 << 30).min(total / 50),
            n => n,
        }
    }

    /// `DiskFull` when the volume is below the minimum free space. A volume whose space
    /// cannot be read is not refused (the WAL write would still report a full disk).
    pub(crate) fn space_error(&self) -> Option<AppendError> {
        let space = self.dir.space().ok()?;
        let minimum = self.minimum_free(space.total);
        (space.free < minimum).then_some(AppendError::DiskFull {
            free: space.free,
            minimum,
        })
    }

    pub(crate) fn snapshot(&self) -> (Vec<Arc<Memtable>>, Vec<Arc<Part>>) {
        let st = read(&self.state);
        (st.memtables.clone(), st.parts.clone())
    }

    /// A read failure in `part` as the caller sees it. Damage also quarantines the part:
    /// it leaves the manifest and the live set, moves to `quarantine/`, and is reported in
    /// stats and the log; everything else keeps serving.
    pub(crate) fn part_read_error(&self, part: &Arc<Part>, e: PartError) -> ReadError {
        let file = self.root.join(&part.name);
        match e {
            PartError::Io(source) => ReadError::Io { file, source },
            PartError::Corrupt(detail) => {
                self.quarantine_part(part, &detail);
                ReadError::Corrupt { file, detail }
            }
        }
    }

    fn quarantine_part(&self, part: &Arc<Part>, detail: &str) {
        let mut man = lock(&self.manifest);
        if !man.parts.contains(&part.name) {
            return;
        }
        let mut next = man.clone();
        next.parts.retain(|p| p != &part.name);
        if let Err(e) = next.write(&*self.dir) {
            // Still never served: reads keep failing their checksum.
            tracing::error!(
                file = %self.root.join(&part.name).display(),
                error = %e,
                "store: could not quarantine a damaged part"
            );
            return;
        }
        *man = next;
        write(&self.state).parts.retain(|p| !Arc::ptr_eq(p, part));
        self.events.fetch_sub(part.info.events, Ordering::Relaxed);
        let target = format!("{QUARANTINE_DIR}/{}", part.name.replace('/', "-"));
        let moved = self
            .dir
            .create_dir(QUARANTINE_DIR)
            .and_then(|()| self.dir.rename(&part.name, &target))
            .and_then(|()| self.dir.sync_dir(QUARANTINE_DIR));
        let file = match moved {
            Ok(()) => self.root.join(&target),
            Err(_) => self.root.join(&part.name),
        };
        tracing::error!(
            file = %file.display(),
            detail,
            "store: a part is damaged; quarantined, the rest of the store keeps serving"
        );
        lock(&self.quarantined).push(Quarantined {
            file,
            detail: detail.to_owned(),
        });
    }

    fn wake_flusher(&self) {
        lock(&self.flush).wake = true;
        self.flush_cv.notify_all();
    }
}

struct Threads {
    writer: JoinHandle<(wal::WalWriter, u64)>,
    flusher: JoinHandle<()>,
    merger: JoinHandle<()>,
    ids: [ThreadId; 3],
}

struct Close {
    threads: Option<Threads>,
    result: Option<Result<(), CloseError>>,
}

struct Inner {
    shared: Arc<Shared>,
    close: Mutex<Close>,
    /// Held while open (real directories only).
    _lock_file: Option<File>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Not a graceful stop: nothing is flushed (the WAL is replayed on open).
        let _ = shutdown(&self.shared, &self.close, false);
    }
}

/// A handle to an open store; cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl Store {
    /// Opens (creating if missing) the store in `dir`: takes the lock file, checks parts
    /// (quarantining damaged ones), migrates an older format, replays the WAL (cutting off a
    /// torn tail) and starts the writer and flusher threads.
    pub fn open(dir: &Path, options: StoreOptions) -> Result<Store, OpenError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let lock_file = take_lock(dir)?;
        Store::open_in(
            Arc::new(FsDir::new(dir.to_owned())),
            dir,
            options,
            Some(lock_file),
        )
    }

    /// Opens a store in any [`Dir`] (an in-memory or fault-injecting one in tests). The
    /// caller ensures no one else uses it; `root` names it in messages.
    #[doc(hidden)]
    pub fn open_dir(dir: Arc<dyn Dir>, options: StoreOptions) -> Result<Store, OpenError> {
        Store::open_in(dir, Path::new("store"), options, None)
    }

    fn open_in(
        dir: Arc<dyn Dir>,
        root: &Path,
        options: StoreOptions,
        lock_file: Option<File>,
    ) -> Result<Store, OpenError> {
        let r = recovery::recover(&*dir, root, &options)?;
        let (mut wal, next_arrival) = (r.wal, r.next_arrival);

        let shared = Arc::new(Shared {
            next_part_id: AtomicU64::new(r.manifest.next_part_id),
            blocks_read: AtomicU64::new(0),
            blocks_skipped: AtomicU64::new(0),
            manifest: Mutex::new(r.manifest),
            maintenance: Mutex::new(()),
            min_free: AtomicU64::new(options.min_free_bytes.unwrap_or(u64::MAX)),
            quarantined: Mutex::new(Vec::new()),
            cache: BlockCache::new(options.block_cache_blocks),
            columns: cache::ColumnCache::new(
                options.metadata_cache_bytes,
                options.column_cache_bytes,
            ),
            root: root.to_owned(),
            dir,
            queue: Mutex::new(Queue {
                pending: Vec::new(),
                pending_bytes: 0,
                accepting: true,
                writer_alive: true,
                rotate_requested: false,
            }),
            queue_cv: Condvar::new(),
            state: RwLock::new(State {
                memtables: vec![Arc::new(r.active)],
                parts: r.parts,
            }),
            flush: Mutex::new(FlushCtl::default()),
            flush_cv: Condvar::new(),
            flushed_cv: Condvar::new(),
            poison: OnceLock::new(),
            events: AtomicU64::new(r.events),
            report: r.report,
            flush_error: Mutex::new(None),
            wal_sizes: Mutex::new(r.wal_sizes),
            wal_sync: latency::Latency::default(),
            flush_time: latency::Latency::default(),
            options,
        });
        // A large replay is frozen at once so the flusher writes it out.
        let _ = writer::maybe_rotate(&shared, &mut wal, next_arrival);

        let s = Arc::clone(&shared);
        let writer = thread::Builder::new()
            .name("seqr-store-writer".into())
            .spawn(move || writer::writer_loop(s, wal, next_arrival))
            .map_err(io_err(root))?;
        let s = Arc::clone(&shared);
        let flusher = match thread::Builder::new()
            .name("seqr-store-flusher".into())
            .spawn(move || flusher::flusher_loop(s))
        {
            Ok(h) => h,
            Err(e) => {
                lock(&shared.queue).accepting = false;
                shared.queue_cv.notify_all();
                let _ = writer.join();
                return Err(io_err(root)(e));
            }
        };
        let s = Arc::clone(&shared);
        let merger = match thread::Builder::new()
            .name("seqr-store-merger".into())
            .spawn(move || merge::merger_loop(s))
        {
            Ok(h) => h,
            Err(e) => {
                lock(&shared.queue).accepting = false;
                shared.queue_cv.notify_all();
                lock(&shared.flush).stop = true;
                shared.flush_cv.notify_all();
                let _ = writer.join();
                let _ = flusher.join();
                return Err(io_err(root)(e));
            }
        };
        let ids = [
            writer.thread().id(),
            flusher.thread().id(),
            merger.thread().id(),
        ];
        Ok(Store {
            inner: Arc::new(Inner {
                shared,
                close: Mutex::new(Close {
                    threads: Some(Threads {
                        writer,
                        flusher,
                        merger,
                        ids,
                    }),
                    result: None,
                }),
                _lock_file: lock_file,
            }),
        })
    }

    /// What open found: replayed events, a cut torn tail, quarantined parts.
    pub fn open_report(&self) -> OpenReport {
        self.inner.shared.report.clone()
    }

    /// Queues `events` and returns at once. `done` runs (on the writer thread; keep it short)
    /// after the fsync that covers these events and after they are visible to search and get,
    /// with their ids in input order; or with the reason they were not stored.
    pub fn append(&self, events: Vec<Event>, done: AppendDone) {
        let shared = &self.inner.shared;
        if let Some(e) = shared.poisoned() {
            return call_done(done, Err(e));
        }
        if let Some(e) = shared.space_error() {
            return call_done(done, Err(e));
        }
        let mut enc = Vec::with_capacity(events.len() * 320);
        let mut ticks = Vec::with_capacity(events.len());
        for e in &events {
            let at = enc.len();
            enc.extend_from_slice(&[0; 4]);
            codec::encode_event(&mut enc, e);
            let len = (enc.len() - at - 4) as u32;
            enc[at..at + 4].copy_from_slice(&len.to_le_bytes());
            ticks.push(e.timestamp.ticks());
        }
        drop(events);
        if enc.len() > MAX_BATCH_BYTES {
            return call_done(done, Err(AppendError::TooLarge { bytes: enc.len() }));
        }
        let mut q = lock(&shared.queue);
        if !q.writer_alive {
            drop(q);
            let e = shared.poisoned().unwrap_or(AppendError::ShuttingDown);
            return call_done(done, Err(e));
        }
        if !q.accepting {
            drop(q);
            return call_done(done, Err(AppendError::ShuttingDown));
        }
        q.pending_bytes += enc.len();
        q.pending.push(Pending { ticks, enc, done });
        drop(q);
        shared.queue_cv.notify_one();
    }

    /// [`Store::append`], waiting for the result.
    pub fn append_blocking(&self, events: Vec<Event>) -> Result<Vec<EventId>, AppendError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.append(
            events,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        rx.recv().unwrap_or(Err(AppendError::ShuttingDown))
    }

    /// Events newest first; see [`SearchResult`] for the paging contract.
    pub fn search(&self, request: &SearchRequest<'_>) -> Result<SearchResult, ReadError> {
        search::search(&self.inner.shared, request)
    }

    /// Counts the events matching an exact filter per group, from columns where they can
    /// decide; the events they cannot decide are handed to `undecided` (which may break
    /// off), so the caller evaluates its filter on those. See [`CountRequest`].
    pub fn count(
        &self,
        request: &CountRequest<'_>,
        undecided: &mut dyn FnMut(StoredEvent) -> std::ops::ControlFlow<()>,
    ) -> Result<CountReport, CountError> {
        count::count(&self.inner.shared, request, undecided)
    }

    /// One event by id.
    pub fn get(&self, id: EventId) -> Result<Option<StoredEvent>, ReadError> {
        search::get(&self.inner.shared, id)
    }

    /// Deletes the events a request selects (see [`DeleteRequest`]): flushes the memtables,
    /// then drops or rewrites the parts that hold them. Blocks the caller for the duration.
    pub fn delete(&self, request: &DeleteRequest<'_>) -> Result<DeleteReport, MaintenanceError> {
        maintenance::delete(&self.inner.shared, request)
    }

    /// Sets the free space to keep on the volume (`None`: the default rule of
    /// [`StoreOptions::min_free_bytes`]); takes effect for the next append.
    pub fn set_min_free_bytes(&self, bytes: Option<u64>) {
        let v = bytes.map_or(u64::MAX, |b| b.min(u64::MAX - 1));
        self.inner.shared.min_free.store(v, Ordering::Relaxed);
    }

    /// Free and total bytes of the store's volume (`None` when they cannot be read).
    pub fn space(&self) -> Option<dir::Space> {
        self.inner.shared.dir.space().ok()
    }

    /// `Err(DiskFull)` while the volume is below the minimum free space (appends would be
    /// refused), so a caller can refuse before doing any work.
    pub fn check_space(&self) -> Result<(), AppendError> {
        self.inner.shared.space_error().map_or(Ok(()), Err)
    }

    /// Writes every memtable holding events to parts (waiting up to `timeout`).
    pub fn flush(&self, timeout: std::time::Duration) -> Result<(), MaintenanceError> {
        maintenance::flush(&self.inner.shared, timeout)
    }

    /// A consistent copy of the store as of now, for a backup: flushes the memtables (waiting
    /// up to `flush_timeout`) so every event acknowledged before the call is in it, then pins
    /// the live parts. Ingestion, merges and retention carry on meanwhile; see [`Snapshot`].
    pub fn snapshot(&self, flush_timeout: std::time::Duration) -> Result<Snapshot, SnapshotError> {
        snapshot::take(&self.inner.shared, flush_timeout)
    }

    /// Runs every merge that is due now (the background merger does the same as parts
    /// accumulate); returns how many merges ran.
    pub fn merge(&self) -> Result<usize, MaintenanceError> {
        merge::merge_due(&self.inner.shared).map_err(|e| MaintenanceError::Io(e.to_string()))
    }

    /// Storage by day partition, oldest first (events still in memtables are not counted).
    pub fn usage(&self) -> Vec<DayUsage> {
        maintenance::usage(&self.inner.shared)
    }

    /// Sizes and health.
    pub fn stats(&self) -> StoreStats {
        let shared = &self.inner.shared;
        let (memtables, parts) = shared.snapshot();
        let memtable_events = memtables
            .iter()
            .map(|m| read(&m.inner).map.len() as u64)
            .sum();
        let memtable_bytes = memtables.iter().map(|m| read(&m.inner).bytes as u64).sum();
        let part_bytes: u64 = parts.iter().map(|p| p.file_len).sum();
        let mut tiers: Vec<TierUsage> = Vec::new();
        for p in &parts {
            let tier = p.info.tier;
            match tiers.iter_mut().find(|t| t.tier == tier) {
                Some(t) => {
                    t.parts += 1;
                    t.bytes += p.file_len;
                    t.events += p.info.events;
                }
                None => tiers.push(TierUsage {
                    tier,
                    parts: 1,
                    bytes: p.file_len,
                    events: p.info.events,
                }),
            }
        }
        tiers.sort_by_key(|t| t.tier);
        let wal_bytes = lock(&shared.wal_sizes).values().sum();
        StoreStats {
            events: shared.events.load(Ordering::Relaxed),
            bytes_on_disk: wal_bytes + part_bytes,
            wal_bytes,
            part_bytes,
            parts: parts.len(),
            memtable_events,
            memtable_bytes,
            tiers,
            cache_bytes: shared.columns.bytes(),
            cached_blocks: shared.cache.len(),
            wal_sync: shared.wal_sync.snapshot(),
            flush_time: shared.flush_time.snapshot(),
            quarantined: shared.report.quarantined.len() + lock(&shared.quarantined).len(),
            blocks_read: shared.blocks_read.load(Ordering::Relaxed),
            blocks_skipped: shared.blocks_skipped.load(Ordering::Relaxed),
            poisoned: shared.poison.get().cloned(),
            flush_error: lock(&shared.flush_error).clone(),
        }
    }

    /// Stops accepting appends, finishes and acknowledges the queued ones, and stops the
    /// threads; then writes the remaining memtables to parts and deletes the WAL they cover
    /// (on failure the WAL stays and is replayed on the next open; see
    /// [`StoreStats::flush_error`]). Idempotent. Skipping it (a crash, or dropping the last
    /// handle) loses nothing acknowledged.
    pub fn shutdown(&self) -> Result<(), CloseError> {
        shutdown(&self.inner.shared, &self.inner.close, true)
    }
}

/// Stops the threads; with `flush`, then writes the memtables to parts.
fn shutdown(shared: &Shared, close: &Mutex<Close>, flush: bool) -> Result<(), CloseError> {
    let mut c = lock(close);
    if let Some(t) = c.threads.take() {
        lock(&shared.queue).accepting = false;
        shared.queue_cv.notify_all();
        {
            let mut f = lock(&shared.flush);
            f.stop = true;
        }
        shared.flush_cv.notify_all();
        shared.flushed_cv.notify_all();
        let mut result = Ok(());
        // The last handle may be dropped inside a `done` callback on the writer thread:
        // a thread cannot join itself, so it just lets the loops end.
        if !t.ids.contains(&thread::current().id()) {
            let writer = t.writer.join();
            if writer.is_err() {
                result = Err(CloseError::ThreadPanicked { thread: "writer" });
            }
            if t.flusher.join().is_err() && result.is_ok() {
                result = Err(CloseError::ThreadPanicked { thread: "flusher" });
            }
            if t.merger.join().is_err() && result.is_ok() {
                result = Err(CloseError::ThreadPanicked { thread: "merger" });
            }
            if let (true, Ok((wal, next_arrival)), Ok(())) = (flush, writer, &result) {
                flusher::flush_on_shutdown(shared, wal, next_arrival);
            }
        }
        if let (Ok(()), Some(detail)) = (&result, shared.poison.get()) {
            result = Err(CloseError::Poisoned {
                detail: detail.clone(),
            });
        }
        c.result = Some(result);
    }
    c.result.clone().unwrap_or(Ok(()))
}

/// Takes the directory's lock file (an advisory `flock`, released when the store closes).
fn take_lock(dir: &Path) -> Result<File, OpenError> {
    let lock_path = dir.join(LOCK_FILE);
    let lock_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_err(&lock_path))?;
    match lock_file.try_lock() {
        Ok(()) => Ok(lock_file),
        Err(std::fs::TryLockError::WouldBlock) => Err(OpenError::Locked { path: lock_path }),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err(&lock_path)(e)),
    }
}
