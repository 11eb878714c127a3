//! The group-commit writer thread: one WAL record and one fsync per group of waiting appends,
//! then memtable insert, then acknowledgement; and WAL rotation (memtable freeze).

use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::memtable::{Enc, Memtable};
use crate::wal::{self, WalWriter};
use crate::{AppendDone, AppendError, EventId, Shared, call_done, lock, read, write};

/// `errno` for "no space left on device".
const ENOSPC: i32 = 28;

pub(crate) struct Pending {
    pub(crate) ticks: Vec<i64>,
    /// `len u32, row` per event.
    pub(crate) enc: Vec<u8>,
    pub(crate) done: AppendDone,
}

pub(crate) struct Queue {
    pub(crate) pending: Vec<Pending>,
    pub(crate) pending_bytes: usize,
    pub(crate) accepting: bool,
    pub(crate) writer_alive: bool,
    /// [`crate::Store::flush`] asks the writer to freeze the active memtable now.
    pub(crate) rotate_requested: bool,
}

/// On writer exit (normal or panic): refuse further appends and fail whatever is queued.
pub(crate) struct WriterGuard(Arc<Shared>);

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

/// Runs until the queue is closed and drained; then returns the open WAL and the next arrival
/// number (for the shutdown flush).
pub(crate) fn writer_loop(
    shared: Arc<Shared>,
    mut wal: WalWriter,
    mut next_arrival: u64,
) -> (WalWriter, u64) {
    let _guard = WriterGuard(Arc::clone(&shared));
    let mut last_rotate_failure: Option<Instant> = None;
    let max_group = shared.options.max_group_bytes.max(1);
    loop {
        wait_for_flusher(&shared, &mut wal, next_arrival);
        let group: Vec<Pending> = {
            let mut q = lock(&shared.queue);
            let mut idle = false;
            while q.pending.is_empty() && q.accepting && !q.rotate_requested {
                match shared.options.idle_flush {
                    Some(after) if !idle => {
                        let (guard, waited) = shared
                            .queue_cv
                            .wait_timeout(q, after)
                            .unwrap_or_else(PoisonError::into_inner);
                        q = guard;
                        if waited.timed_out() && q.pending.is_empty() {
                            // The state lock is never taken under the queue lock (a flush
                            // request takes them the other way round).
                            drop(q);
                            let worth = idle_worth_flushing(&shared);
                            q = lock(&shared.queue);
                            q.rotate_requested |= worth && q.pending.is_empty();
                        }
                        // One idle flush per pause: wait without a timeout until the next append.
                        idle = waited.timed_out();
                    }
                    _ => {
                        q = shared
                            .queue_cv
                            .wait(q)
                            .unwrap_or_else(PoisonError::into_inner);
                    }
                }
            }
            if std::mem::take(&mut q.rotate_requested) {
                drop(q);
                if let Err(e) = rotate(&shared, &mut wal, next_arrival, true) {
                    *lock(&shared.flush_error) = Some(format!("starting a new WAL file: {e}"));
                }
                shared.flushed_cv.notify_all();
                continue;
            }
            if q.pending.is_empty() {
                return (wal, next_arrival);
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
        let before = wal.len();
        let written = wal.write(&buf);
        if let Err(e) = &written
            && e.raw_os_error() == Some(ENOSPC)
            && wal.cut_back(&*shared.dir, before).is_ok()
        {
            // Out of space mid-record: the partial record is gone and nothing else was
            // touched, so this group is refused without poisoning the store.
            let err = shared.space_error().unwrap_or(AppendError::DiskFull {
                free: 0,
                minimum: 0,
            });
            for p in group {
                call_done(p.done, Err(err.clone()));
            }
            continue;
        }
        let synced = written.and_then(|()| {
            let started = Instant::now();
            let synced = wal.sync();
            shared.wal_sync.record(started.elapsed());
            synced
        });
        if let Err(e) = synced {
            shared.set_poison(format!("{}: {e}", shared.root.join(&wal.name).display()));
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
        // Acknowledge before a rotation: creating the next WAL file costs three fsyncs, and
        // this group is already durable and visible.
        for (p, ids) in group.into_iter().zip(results) {
            call_done(p.done, Ok(ids));
        }
        if last_rotate_failure.is_none_or(|t| t.elapsed() > Duration::from_secs(1)) {
            last_rotate_failure = match maybe_rotate(&shared, &mut wal, next_arrival) {
                Ok(()) => None,
                Err(e) => {
                    *lock(&shared.flush_error) = Some(format!("starting a new WAL file: {e}"));
                    Some(Instant::now())
                }
            };
        }
    }
}

/// Whether the active memtable holds enough events for an idle flush
/// ([`crate::StoreOptions::idle_flush`]), and nothing else is waiting for the flusher.
fn idle_worth_flushing(shared: &Shared) -> bool {
    let st = read(&shared.state);
    let m = read(&st.memtables.last().expect("an active memtable").inner);
    shared.poisoned().is_none()
        && st.memtables.len() == 1
        && m.map.len() >= shared.options.idle_flush_events.max(1)
}

/// Whether the active memtable is over the flush thresholds.
fn active_full(shared: &Shared) -> bool {
    let st = read(&shared.state);
    let m = read(&st.memtables.last().expect("an active memtable").inner);
    m.map.len() >= shared.options.flush_events || m.bytes >= shared.options.flush_bytes
}

/// Back-pressure: while the active memtable is full and [`StoreOptions::max_frozen_memtables`]
/// wait for the flusher, take no new appends (rotating as soon as one is flushed), so memory
/// stays bounded. Gives up when the store is stopping.
///
/// [`StoreOptions::max_frozen_memtables`]: crate::StoreOptions::max_frozen_memtables
fn wait_for_flusher(shared: &Shared, wal: &mut WalWriter, next_arrival: u64) {
    let max = shared.options.max_frozen_memtables.max(1);
    loop {
        let frozen = read(&shared.state).memtables.len() - 1;
        if frozen < max || !active_full(shared) {
            return;
        }
        let f = lock(&shared.flush);
        if f.stop {
            return;
        }
        let _ = shared
            .flushed_cv
            .wait_timeout(f, Duration::from_millis(50))
            .unwrap_or_else(PoisonError::into_inner);
        if read(&shared.state).memtables.len() - 1 < max {
            let _ = maybe_rotate(shared, wal, next_arrival);
        }
    }
}

/// Freezes the active memtable behind a new WAL generation when it is over the thresholds.
pub(crate) fn maybe_rotate(
    shared: &Shared,
    wal: &mut WalWriter,
    next_arrival: u64,
) -> io::Result<()> {
    rotate(shared, wal, next_arrival, false)
}

/// Freezes the active memtable behind a new WAL generation: when `force`, whenever it holds
/// any event; otherwise only when it is over the thresholds.
pub(crate) fn rotate(
    shared: &Shared,
    wal: &mut WalWriter,
    next_arrival: u64,
    force: bool,
) -> io::Result<()> {
    {
        let st = read(&shared.state);
        let m = read(&st.memtables.last().expect("an active memtable").inner);
        if m.map.is_empty()
            || (!force
                && m.map.len() < shared.options.flush_events
                && m.bytes < shared.options.flush_bytes)
        {
            return Ok(());
        }
        // Back-pressure instead of an unbounded pile of frozen memtables.
        if !force && st.memtables.len() > shared.options.max_frozen_memtables.max(1) {
            return Ok(());
        }
    }
    let new = WalWriter::create(
        &*shared.dir,
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
