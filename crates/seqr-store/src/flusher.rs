//! The flusher thread: writes frozen memtables to segments, then deletes the WAL they cover.

use std::fs;
use std::io;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use crate::EventId;
use crate::memtable::{Enc, Memtable};
use crate::segment::{self, Segment, SegmentOpenError};
use crate::wal::{self, WalWriter};
use crate::{Shared, lock, read, write, writer};

#[derive(Default)]
pub(crate) struct FlushCtl {
    pub(crate) wake: bool,
    pub(crate) stop: bool,
}

fn write_params(shared: &Shared) -> segment::WriteParams {
    segment::WriteParams {
        block_events: shared.options.block_events.max(1),
        block_bytes: shared.options.block_bytes.max(1),
        zstd_level: shared.options.zstd_level,
    }
}

/// The oldest memtable, if it is frozen (memtables are flushed oldest first).
fn oldest_frozen(shared: &Shared) -> Option<Arc<Memtable>> {
    let st = read(&shared.state);
    st.memtables
        .first()
        .filter(|m| m.frozen_gen.get().is_some())
        .cloned()
}

/// Graceful shutdown, after the writer has acknowledged everything and both threads have
/// stopped: freezes the active memtable behind a new (empty) WAL generation and writes every
/// frozen memtable to a segment, deleting the WAL it covers, so a cleanly stopped store holds
/// compressed segments rather than raw WAL. Any failure stops here and leaves the WAL in place
/// (it is replayed on open, exactly as after a crash); it is reported in `flush_error`.
pub(crate) fn flush_on_shutdown(shared: &Shared, mut wal: WalWriter, next_arrival: u64) {
    if shared.poison.get().is_some() {
        return;
    }
    if let Err(e) = writer::rotate(shared, &mut wal, next_arrival, true) {
        *lock(&shared.flush_error) = Some(format!("shutdown: starting a new WAL file: {e}"));
        return;
    }
    drop(wal);
    let params = write_params(shared);
    while let Some(target) = oldest_frozen(shared) {
        let generation = *target.frozen_gen.get().expect("frozen");
        if let Err(e) = flush_one(shared, &target, generation, &params) {
            *lock(&shared.flush_error) = Some(format!("shutdown: writing a segment: {e}"));
            return;
        }
    }
    *lock(&shared.flush_error) = None;
}

pub(crate) fn flusher_loop(shared: Arc<Shared>) {
    let params = write_params(&shared);
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
            let Some(target) = oldest_frozen(&shared) else {
                break;
            };
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
    // A frozen memtable is never written again, but its lock is still not held across the
    // compression and the I/O: copy out the row references (cheap clones) and let go.
    let rows: Vec<(EventId, Enc)> = {
        let m = read(&target.inner);
        m.map.iter().map(|(id, e)| (*id, e.clone())).collect()
    };
    let seg = {
        if rows.is_empty() {
            None
        } else {
            let path = segment::write(
                &shared.dir,
                generation,
                rows.iter().map(|(id, e)| (*id, e.bytes())),
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
        remove_gently(&shared.dir.join(wal::file_name(*g)))?;
    }
    lock(&shared.wal_sizes).retain(|&g, _| g > generation);
    if !covered.is_empty() {
        wal::sync_dir(&shared.dir)?;
    }
    Ok(())
}

/// Bytes cut from a covered WAL file per step before it is deleted.
const SHRINK_STEP: u64 = 8 << 20;

/// Deletes a WAL file that a durable segment covers. Unlinking a large file in one go frees
/// all its extents in one filesystem journal transaction, which stalls the writer's next
/// `fdatasync` by several milliseconds; cutting it down in steps first spreads that work out.
/// (A crash part-way leaves a shortened covered file, which open deletes unread.)
fn remove_gently(path: &Path) -> io::Result<()> {
    if let Ok(f) = fs::OpenOptions::new().write(true).open(path) {
        let mut len = f.metadata()?.len();
        while len > SHRINK_STEP {
            len -= SHRINK_STEP;
            f.set_len(len)?;
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    fs::remove_file(path)
}
