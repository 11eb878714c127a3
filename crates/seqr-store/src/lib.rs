//! seqr's event store: write-ahead log with group commit, memtable, immutable segments, search.
//!
//! Data path: [`Store::append`] encodes the events on the caller's thread and queues them; one
//! writer thread takes every waiting batch, writes one checksummed WAL record for the group,
//! `fdatasync`s once, inserts the events into the memtable (visible to search from then on) and
//! only then calls each batch's `done`. When the memtable passes [`StoreOptions::flush_events`]
//! or [`StoreOptions::flush_bytes`] the writer starts a new WAL generation and freezes the
//! memtable; a flusher thread writes it to an immutable segment (temp file, fsync, rename, fsync
//! the directory) and then deletes the WAL generations the segment covers.
//!
//! On-disk format and recovery rules: `docs/FORMAT.md`. Plain threads, no async, no network.

mod codec;
mod error;
mod search;
mod segment;
mod wal;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

pub use error::{AppendError, CloseError, OpenError, ReadError};
pub use seqr_types::{Event, EventId, StoredEvent, Timestamp};

use segment::{BlockCache, Segment, SegmentOpenError};
use wal::WalWriter;

/// Largest encoded batch accepted by one append.
const MAX_BATCH_BYTES: usize = 1 << 30;
/// Lock file name inside the data directory.
pub const LOCK_FILE: &str = "LOCK";
/// Subdirectory that damaged segments are moved to.
pub const QUARANTINE_DIR: &str = "quarantine";

/// Tuning knobs. Build with `StoreOptions { flush_events: 1000, ..Default::default() }`.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Freeze the memtable and write a segment once it holds this many events.
    pub flush_events: usize,
    /// ... or this many encoded bytes.
    pub flush_bytes: usize,
    /// Events per segment block (at most).
    pub block_events: usize,
    /// Uncompressed row bytes per segment block (about, at most).
    pub block_bytes: usize,
    /// zstd level for segment blocks.
    pub zstd_level: i32,
    /// Check every block checksum of every segment on open (reads all segment data once);
    /// footers and indexes are always checked.
    pub verify_segments_on_open: bool,
    /// Decompressed blocks kept in memory for searches.
    pub block_cache_blocks: usize,
    /// Upper bound on one group commit's record (more waiting appends go in the next group).
    pub max_group_bytes: usize,
    /// Test hook: inject WAL write / fsync failures.
    #[doc(hidden)]
    pub fault: Option<Arc<FaultInjector>>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            flush_events: 200_000,
            flush_bytes: 64 << 20,
            block_events: 2048,
            block_bytes: 1 << 20,
            zstd_level: 1,
            verify_segments_on_open: true,
            block_cache_blocks: 32,
            max_group_bytes: 16 << 20,
            fault: None,
        }
    }
}

/// Test hook: makes the WAL's writes or fsyncs fail while a flag is set.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct FaultInjector {
    /// Fail every WAL write.
    pub fail_write: AtomicBool,
    /// Fail every WAL fsync.
    pub fail_sync: AtomicBool,
}

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

/// A reference to one encoded row inside a shared buffer (a WAL record, a replayed WAL file
/// or a decompressed segment block).
#[derive(Clone)]
pub(crate) struct Enc {
    buf: Arc<Vec<u8>>,
    start: u32,
    len: u32,
}

impl Enc {
    fn bytes(&self) -> &[u8] {
        &self.buf[self.start as usize..(self.start + self.len) as usize]
    }
}

#[derive(Default)]
pub(crate) struct MemInner {
    map: BTreeMap<EventId, Enc>,
    bytes: usize,
}

/// A memtable: the active one takes inserts; frozen ones wait for their segment.
#[derive(Default)]
pub(crate) struct Memtable {
    inner: RwLock<MemInner>,
    /// Set when frozen: the last WAL generation whose events it holds.
    frozen_gen: OnceLock<u64>,
}

pub(crate) struct State {
    /// Oldest first; the last is the active one.
    memtables: Vec<Arc<Memtable>>,
    segments: Vec<Arc<Segment>>,
}

struct Pending {
    ticks: Vec<i64>,
    /// `len u32, row` per event.
    enc: Vec<u8>,
    done: AppendDone,
}

struct Queue {
    pending: Vec<Pending>,
    pending_bytes: usize,
    accepting: bool,
    writer_alive: bool,
}

#[derive(Default)]
struct FlushCtl {
    wake: bool,
    stop: bool,
}

pub(crate) struct Shared {
    dir: PathBuf,
    options: StoreOptions,
    queue: Mutex<Queue>,
    queue_cv: Condvar,
    state: RwLock<State>,
    flush: Mutex<FlushCtl>,
    flush_cv: Condvar,
    poison: OnceLock<String>,
    events: AtomicU64,
    cache: BlockCache,
    report: OpenReport,
    flush_error: Mutex<Option<String>>,
    next_segment_id: AtomicU64,
    /// Bytes of each live WAL generation (kept here so `stats` never touches the directory).
    wal_sizes: Mutex<BTreeMap<u64, u64>>,
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

    pub(crate) fn snapshot(&self) -> (Vec<Arc<Memtable>>, Vec<Arc<Segment>>) {
        let st = read(&self.state);
        (st.memtables.clone(), st.segments.clone())
    }

    fn wake_flusher(&self) {
        lock(&self.flush).wake = true;
        self.flush_cv.notify_all();
    }
}

struct Threads {
    writer: JoinHandle<()>,
    flusher: JoinHandle<()>,
    ids: [ThreadId; 2],
}

struct Close {
    threads: Option<Threads>,
    result: Option<Result<(), CloseError>>,
}

struct Inner {
    shared: Arc<Shared>,
    close: Mutex<Close>,
    _lock_file: File,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = shutdown(&self.shared, &self.close);
    }
}

/// A handle to an open store; cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Row bytes start with `flags u16, ticks i64`.
fn row_ticks(row: &[u8]) -> Option<i64> {
    row.get(2..10)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
}

impl Store {
    /// Opens (creating if missing) the store in `dir`: takes the lock file, checks segments
    /// (quarantining damaged ones), replays the WAL (cutting off a torn tail) and starts the
    /// writer and flusher threads.
    pub fn open(dir: &Path, options: StoreOptions) -> Result<Store, OpenError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        match lock_file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(OpenError::Locked { path: lock_path }),
            Err(fs::TryLockError::Error(e)) => return Err(io_err(&lock_path)(e)),
        }

        let mut report = OpenReport::default();
        let mut wal_gens = Vec::new();
        let mut seg_gens = Vec::new();
        for entry in fs::read_dir(dir).map_err(io_err(dir))? {
            let entry = entry.map_err(io_err(dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(g) = wal::parse_name(name) {
                wal_gens.push(g);
            } else if let Some(g) = segment::parse_name(name) {
                seg_gens.push(g);
            } else if name.starts_with("seg-") && name.ends_with(".tmp") {
                // An unfinished segment write: its WAL generations are still on disk.
                let p = entry.path();
                fs::remove_file(&p).map_err(io_err(&p))?;
            }
        }
        wal_gens.sort_unstable();
        seg_gens.sort_unstable();

        // Segments.
        let cache = BlockCache::new(options.block_cache_blocks);
        let mut next_segment_id = 0u64;
        let mut segments = Vec::new();
        let mut covered = 0u64;
        let mut next_arrival = 1u64;
        let mut events = 0u64;
        for g in seg_gens {
            let path = dir.join(segment::file_name(g));
            next_segment_id += 1;
            match Segment::open(&path, next_segment_id, options.verify_segments_on_open) {
                Ok(seg) => {
                    covered = covered.max(seg.wal_generation);
                    next_arrival = next_arrival.max(seg.max_arrival + 1);
                    events += seg.event_count;
                    segments.push(Arc::new(seg));
                }
                Err(SegmentOpenError::Io(e)) => return Err(io_err(&path)(e)),
                Err(SegmentOpenError::Corrupt(detail)) => {
                    let qdir = dir.join(QUARANTINE_DIR);
                    fs::create_dir_all(&qdir).map_err(io_err(&qdir))?;
                    let target = qdir.join(segment::file_name(g));
                    fs::rename(&path, &target).map_err(io_err(&path))?;
                    wal::sync_dir(&qdir).map_err(io_err(&qdir))?;
                    wal::sync_dir(dir).map_err(io_err(dir))?;
                    report.quarantined.push(Quarantined {
                        file: target,
                        detail,
                    });
                }
            }
        }
        report.segments = segments.len();

        // WAL: generations covered by a segment are deleted; the rest are replayed.
        let active = Memtable::default();
        let mut last_wal: Option<(PathBuf, u64)> = None;
        let mut wal_sizes = BTreeMap::new();
        let mut prev_gen: Option<u64> = None;
        let live: Vec<u64> = wal_gens.iter().copied().filter(|&g| g > covered).collect();
        for &g in wal_gens.iter().filter(|&&g| g <= covered) {
            let p = dir.join(wal::file_name(g));
            fs::remove_file(&p).map_err(io_err(&p))?;
        }
        for (i, &g) in live.iter().enumerate() {
            let path = dir.join(wal::file_name(g));
            if let Some(p) = prev_gen
                && g != p + 1
            {
                return Err(OpenError::CorruptWal {
                    file: dir.join(wal::file_name(p + 1)),
                    offset: 0,
                    detail: format!("log generation {} is missing", p + 1),
                });
            }
            prev_gen = Some(g);
            let is_last = i + 1 == live.len();
            let data = fs::read(&path).map_err(io_err(&path))?;
            let data_len = data.len() as u64;
            let replayed = match wal::replay(data, g, is_last) {
                Ok(r) => r,
                Err(wal::ReplayError::BadHeader(_))
                    if is_last && data_len <= wal::HEADER_LEN as u64 =>
                {
                    // Crash while creating the file: its header was never synced, so nothing
                    // was ever written to it.
                    fs::remove_file(&path).map_err(io_err(&path))?;
                    wal::sync_dir(dir).map_err(io_err(dir))?;
                    continue;
                }
                Err(wal::ReplayError::BadHeader(detail)) => {
                    return Err(OpenError::CorruptWal {
                        file: path,
                        offset: 0,
                        detail,
                    });
                }
                Err(wal::ReplayError::Corrupt(offset, detail)) => {
                    return Err(OpenError::CorruptWal {
                        file: path,
                        offset,
                        detail,
                    });
                }
            };
            if replayed.good_len < data_len {
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(io_err(&path))?;
                f.set_len(replayed.good_len).map_err(io_err(&path))?;
                f.sync_all().map_err(io_err(&path))?;
                report.truncated_tail_bytes += data_len - replayed.good_len;
            }
            next_arrival = next_arrival.max(replayed.next_arrival_floor);
            let mut m = write(&active.inner);
            for rec in &replayed.records {
                for (k, &(start, len)) in rec.rows.iter().enumerate() {
                    let row = &replayed.data[start as usize..(start + len) as usize];
                    let ticks = row_ticks(row).ok_or_else(|| OpenError::CorruptWal {
                        file: path.clone(),
                        offset: u64::from(start),
                        detail: "row too short".into(),
                    })?;
                    let id = EventId {
                        ticks,
                        arrival: rec.first_arrival + k as u64,
                    };
                    m.map.insert(
                        id,
                        Enc {
                            buf: Arc::clone(&replayed.data),
                            start,
                            len,
                        },
                    );
                }
                report.replayed_events += rec.rows.len() as u64;
                next_arrival = next_arrival.max(rec.first_arrival + rec.rows.len() as u64);
            }
            m.bytes += replayed.data.len();
            report.wal_files += 1;
            wal_sizes.insert(g, replayed.good_len);
            last_wal = Some((path, g));
        }
        events += report.replayed_events;

        let fault = options.fault.clone();
        let mut wal = match last_wal {
            Some((path, g)) => WalWriter::reopen(path.clone(), g, fault).map_err(io_err(&path))?,
            None => {
                let g = covered.max(wal_gens.last().copied().unwrap_or(0)) + 1;
                let w = WalWriter::create(dir, g, next_arrival, fault)
                    .map_err(io_err(&dir.join(wal::file_name(g))))?;
                wal_sizes.insert(g, wal::HEADER_LEN as u64);
                w
            }
        };

        let shared = Arc::new(Shared {
            dir: dir.to_owned(),
            queue: Mutex::new(Queue {
                pending: Vec::new(),
                pending_bytes: 0,
                accepting: true,
                writer_alive: true,
            }),
            queue_cv: Condvar::new(),
            state: RwLock::new(State {
                memtables: vec![Arc::new(active)],
                segments,
            }),
            flush: Mutex::new(FlushCtl::default()),
            flush_cv: Condvar::new(),
            poison: OnceLock::new(),
            events: AtomicU64::new(events),
            cache,
            report,
            flush_error: Mutex::new(None),
            next_segment_id: AtomicU64::new(next_segment_id + 1),
            wal_sizes: Mutex::new(wal_sizes),
            options,
        });
        // A large replay is frozen at once so the flusher writes it out.
        let _ = maybe_rotate(&shared, &mut wal, next_arrival);

        let s = Arc::clone(&shared);
        let writer = thread::Builder::new()
            .name("seqr-store-writer".into())
            .spawn(move || writer_loop(s, wal, next_arrival))
            .map_err(io_err(dir))?;
        let s = Arc::clone(&shared);
        let flusher = match thread::Builder::new()
            .name("seqr-store-flusher".into())
            .spawn(move || flusher_loop(s))
        {
            Ok(h) => h,
            Err(e) => {
                lock(&shared.queue).accepting = false;
                shared.queue_cv.notify_all();
                let _ = writer.join();
                return Err(io_err(dir)(e));
            }
        };
        let ids = [writer.thread().id(), flusher.thread().id()];
        Ok(Store {
            inner: Arc::new(Inner {
                shared,
                close: Mutex::new(Close {
                    threads: Some(Threads {
                        writer,
                        flusher,
                        ids,
                    }),
                    result: None,
                }),
                _lock_file: lock_file,
            }),
        })
    }

    /// What open found: replayed events, a cut torn tail, quarantined segments.
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

    /// One event by id.
    pub fn get(&self, id: EventId) -> Result<Option<StoredEvent>, ReadError> {
        search::get(&self.inner.shared, id)
    }

    /// Sizes and health.
    pub fn stats(&self) -> StoreStats {
        let shared = &self.inner.shared;
        let (memtables, segments) = shared.snapshot();
        let memtable_events = memtables
            .iter()
            .map(|m| read(&m.inner).map.len() as u64)
            .sum();
        let segment_bytes: u64 = segments.iter().map(|s| s.file_len).sum();
        let wal_bytes = lock(&shared.wal_sizes).values().sum();
        StoreStats {
            events: shared.events.load(Ordering::Relaxed),
            bytes_on_disk: wal_bytes + segment_bytes,
            wal_bytes,
            segment_bytes,
            segments: segments.len(),
            memtable_events,
            quarantined: shared.report.quarantined.len(),
            poisoned: shared.poison.get().cloned(),
            flush_error: lock(&shared.flush_error).clone(),
        }
    }

    /// Stops accepting appends, finishes and acknowledges the queued ones, and stops the
    /// threads. Idempotent. Skipping it (a crash) loses nothing acknowledged.
    pub fn shutdown(&self) -> Result<(), CloseError> {
        shutdown(&self.inner.shared, &self.inner.close)
    }
}

fn shutdown(shared: &Shared, close: &Mutex<Close>) -> Result<(), CloseError> {
    let mut c = lock(close);
    if let Some(t) = c.threads.take() {
        lock(&shared.queue).accepting = false;
        shared.queue_cv.notify_all();
        {
            let mut f = lock(&shared.flush);
            f.stop = true;
        }
        shared.flush_cv.notify_all();
        let mut result = Ok(());
        // The last handle may be dropped inside a `done` callback on the writer thread:
        // a thread cannot join itself, so it just lets the loops end.
        if !t.ids.contains(&thread::current().id()) {
            if t.writer.join().is_err() {
                result = Err(CloseError::ThreadPanicked { thread: "writer" });
            }
            if t.flusher.join().is_err() && result.is_ok() {
                result = Err(CloseError::ThreadPanicked { thread: "flusher" });
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

/// On writer exit (normal or panic): refuse further appends and fail whatever is queued.
struct WriterGuard(Arc<Shared>);

impl Drop for WriterGuard {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.set_poison("the store writer thread panicked".into());
        }
        let pending = {
            let mut q = lock(&self.0.queue);
            q.writer_alive = false;
            q.pending_bytes = 0;
            std::mem::take(&mut q.pending)
        };
        let err = self.0.poisoned().unwrap_or(AppendError::ShuttingDown);
        for p in pending {
            call_done(p.done, Err(err.clone()));
        }
    }
}

fn writer_loop(shared: Arc<Shared>, mut wal: WalWriter, mut next_arrival: u64) {
    let _guard = WriterGuard(Arc::clone(&shared));
    let mut last_rotate_failure: Option<Instant> = None;
    let max_group = shared.options.max_group_bytes.max(1);
    loop {
        let group: Vec<Pending> = {
            let mut q = lock(&shared.queue);
            while q.pending.is_empty() && q.accepting {
                q = shared
                    .queue_cv
                    .wait(q)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if q.pending.is_empty() {
                return;
            }
            if q.pending_bytes <= max_group {
                q.pending_bytes = 0;
                std::mem::take(&mut q.pending)
            } else {
                let mut bytes = 0;
                let n = q
                    .pending
                    .iter()
                    .position(|p| {
                        bytes += p.enc.len();
                        bytes > max_group
                    })
                    .unwrap_or(q.pending.len())
                    .max(1);
                let rest = q.pending.split_off(n);
                let group = std::mem::replace(&mut q.pending, rest);
                q.pending_bytes -= group.iter().map(|p| p.enc.len()).sum::<usize>();
                group
            }
        };
        if let Some(e) = shared.poisoned() {
            for p in group {
                call_done(p.done, Err(e.clone()));
            }
            continue;
        }
        let count: usize = group.iter().map(|p| p.ticks.len()).sum();
        if count == 0 {
            for p in group {
                call_done(p.done, Ok(Vec::new()));
            }
            continue;
        }
        let payload: usize = group.iter().map(|p| p.enc.len()).sum();
        let mut buf =
            Vec::with_capacity(wal::RECORD_HEADER_LEN + wal::PAYLOAD_HEADER_LEN + payload);
        buf.extend_from_slice(&[0; wal::RECORD_HEADER_LEN]);
        buf.extend_from_slice(&next_arrival.to_le_bytes());
        buf.extend_from_slice(&(count as u32).to_le_bytes());
        let mut bases = Vec::with_capacity(group.len());
        for p in &group {
            bases.push(buf.len());
            buf.extend_from_slice(&p.enc);
        }
        wal::seal_record(&mut buf);
        if let Err(e) = wal.write(&buf).and_then(|()| wal.sync()) {
            shared.set_poison(format!("{}: {e}", wal.path.display()));
            let err = shared.poisoned().expect("just poisoned");
            for p in group {
                call_done(p.done, Err(err.clone()));
            }
            continue;
        }
        *lock(&shared.wal_sizes).entry(wal.generation).or_default() += buf.len() as u64;
        let buf = Arc::new(buf);
        let mut results = Vec::with_capacity(group.len());
        {
            let st = read(&shared.state);
            let active = st.memtables.last().expect("an active memtable");
            let mut m = write(&active.inner);
            let mut arrival = next_arrival;
            for (p, &base) in group.iter().zip(&bases) {
                let mut ids = Vec::with_capacity(p.ticks.len());
                let mut pos = base;
                for &ticks in &p.ticks {
                    let len = u32::from_le_bytes(buf[pos..pos + 4].try_into().unwrap());
                    let id = EventId { ticks, arrival };
                    m.map.insert(
                        id,
                        Enc {
                            buf: Arc::clone(&buf),
                            start: (pos + 4) as u32,
                            len,
                        },
                    );
                    pos += 4 + len as usize;
                    arrival += 1;
                    ids.push(id);
                }
                results.push(ids);
            }
            m.bytes += buf.len();
        }
        next_arrival += count as u64;
        shared.events.fetch_add(count as u64, Ordering::Relaxed);
        if last_rotate_failure.is_none_or(|t| t.elapsed() > Duration::from_secs(1)) {
            last_rotate_failure = match maybe_rotate(&shared, &mut wal, next_arrival) {
                Ok(()) => None,
                Err(e) => {
                    *lock(&shared.flush_error) = Some(format!("starting a new WAL file: {e}"));
                    Some(Instant::now())
                }
            };
        }
        for (p, ids) in group.into_iter().zip(results) {
            call_done(p.done, Ok(ids));
        }
    }
}

/// Freezes the active memtable behind a new WAL generation when it is over the thresholds.
fn maybe_rotate(shared: &Shared, wal: &mut WalWriter, next_arrival: u64) -> io::Result<()> {
    {
        let st = read(&shared.state);
        let m = read(&st.memtables.last().expect("an active memtable").inner);
        if m.map.is_empty()
            || (m.map.len() < shared.options.flush_events && m.bytes < shared.options.flush_bytes)
        {
            return Ok(());
        }
    }
    let new = WalWriter::create(
        &shared.dir,
        wal.generation + 1,
        next_arrival,
        shared.options.fault.clone(),
    )?;
    let old = std::mem::replace(wal, new);
    lock(&shared.wal_sizes).insert(wal.generation, wal::HEADER_LEN as u64);
    {
        let mut st = write(&shared.state);
        let active = st.memtables.last().expect("an active memtable");
        let _ = active.frozen_gen.set(old.generation);
        st.memtables.push(Arc::new(Memtable::default()));
    }
    shared.wake_flusher();
    Ok(())
}

fn flusher_loop(shared: Arc<Shared>) {
    let params = segment::WriteParams {
        block_events: shared.options.block_events.max(1),
        block_bytes: shared.options.block_bytes.max(1),
        zstd_level: shared.options.zstd_level,
    };
    loop {
        {
            let mut f = lock(&shared.flush);
            while !f.wake && !f.stop {
                f = shared
                    .flush_cv
                    .wait(f)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if f.stop {
                return;
            }
            f.wake = false;
        }
        loop {
            let target = {
                let st = read(&shared.state);
                st.memtables
                    .first()
                    .filter(|m| m.frozen_gen.get().is_some())
                    .cloned()
            };
            let Some(target) = target else { break };
            let generation = *target.frozen_gen.get().expect("frozen");
            match flush_one(&shared, &target, generation, &params) {
                Ok(()) => *lock(&shared.flush_error) = None,
                Err(e) => {
                    *lock(&shared.flush_error) = Some(format!("writing a segment: {e}"));
                    let f = lock(&shared.flush);
                    let (f, _) = shared
                        .flush_cv
                        .wait_timeout(f, Duration::from_secs(1))
                        .unwrap_or_else(PoisonError::into_inner);
                    if f.stop {
                        return;
                    }
                }
            }
            if lock(&shared.flush).stop {
                return;
            }
        }
    }
}

fn flush_one(
    shared: &Shared,
    target: &Arc<Memtable>,
    generation: u64,
    params: &segment::WriteParams,
) -> io::Result<()> {
    let seg = {
        let m = read(&target.inner);
        if m.map.is_empty() {
            None
        } else {
            let path = segment::write(
                &shared.dir,
                generation,
                m.map.iter().map(|(id, e)| (*id, e.bytes())),
                params,
            )?;
            let id = shared.next_segment_id.fetch_add(1, Ordering::Relaxed);
            match Segment::open(&path, id, false) {
                Ok(s) => Some(Arc::new(s)),
                Err(SegmentOpenError::Io(e)) => return Err(e),
                Err(SegmentOpenError::Corrupt(d)) => {
                    let _ = fs::remove_file(&path);
                    return Err(io::Error::other(format!(
                        "segment just written is bad: {d}"
                    )));
                }
            }
        }
    };
    {
        let mut st = write(&shared.state);
        if let Some(seg) = seg {
            st.segments.push(seg);
        }
        st.memtables.retain(|m| !Arc::ptr_eq(m, target));
    }
    // The segment is durable: the WAL generations it covers are no longer needed.
    // Oldest first, so that a crash part-way leaves a contiguous run of generations.
    let mut covered: Vec<u64> = fs::read_dir(&shared.dir)?
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(wal::parse_name))
        .filter(|&g| g <= generation)
        .collect();
    covered.sort_unstable();
    for g in &covered {
        fs::remove_file(shared.dir.join(wal::file_name(*g)))?;
    }
    lock(&shared.wal_sizes).retain(|&g, _| g > generation);
    if !covered.is_empty() {
        wal::sync_dir(&shared.dir)?;
    }
    Ok(())
}
