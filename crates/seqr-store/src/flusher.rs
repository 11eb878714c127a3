//! The flusher thread: writes frozen memtables to parts (one per day), publishes them in the
//! manifest, then deletes the WAL they cover.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use crate::dir::Dir;
use crate::memtable::{Enc, Memtable};
use crate::part::{PartError, WriteParams};
use crate::sink::{self, PartSink};
use crate::wal::{self, WalWriter};
use crate::{EventId, Shared, lock, read, write, writer};

#[derive(Default)]
pub(crate) struct FlushCtl {
    pub(crate) wake: bool,
    pub(crate) stop: bool,
}

pub(crate) fn write_params(shared: &Shared) -> WriteParams {
    WriteParams {
        block_events: shared
            .options
            .block_events
            .clamp(1, crate::part::block::MAX_BLOCK_ROWS as usize),
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
/// frozen memtable to parts, deleting the WAL it covers, so a cleanly stopped store holds
/// compressed parts rather than raw WAL. Any failure stops here and leaves the WAL in place
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
            *lock(&shared.flush_error) = Some(format!("shutdown: writing parts: {e}"));
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
            let started = std::time::Instant::now();
            let flushed = flush_one(&shared, &target, generation, &params);
            shared.flush_time.record(started.elapsed());
            match flushed {
                Ok(()) => {
                    *lock(&shared.flush_error) = None;
                    shared.flushed_cv.notify_all();
                }
                Err(e) => {
                    *lock(&shared.flush_error) = Some(format!("writing parts: {e}"));
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
    params: &WriteParams,
) -> io::Result<()> {
    // A frozen memtable is never written again, but its lock is still not held across the
    // compression and the I/O: copy out the row references (cheap clones) and let go.
    let rows: Vec<(EventId, Enc)> = {
        let m = read(&target.inner);
        m.map.iter().map(|(id, e)| (*id, e.clone())).collect()
    };
    let dir: &dyn Dir = &*shared.dir;
    let mut sink = PartSink::new(dir, *params, 0, &shared.next_part_id);
    for (id, enc) in &rows {
        sink.push_row(*id, enc.bytes())?;
    }
    drop(rows);
    let written = sink.finish()?;
    let parts = sink::open_written(dir, &written).map_err(|(name, e)| match e {
        PartError::Io(e) => e,
        PartError::Corrupt(d) => io::Error::other(format!("part {name} just written is bad: {d}")),
    })?;
    {
        let mut man = lock(&shared.manifest);
        let mut next = man.clone();
        next.parts.extend(written.iter().map(|(n, _)| n.clone()));
        next.covered_wal = generation;
        next.next_part_id = shared.next_part_id.load(Ordering::Relaxed);
        if let Err(e) = next.write(dir) {
            for (n, _) in &written {
                let _ = dir.remove(n);
            }
            return Err(e);
        }
        *man = next;
        // Visible to search in the same step as the memtable leaves it.
        let mut st = write(&shared.state);
        st.parts.extend(parts);
        st.memtables.retain(|m| !Arc::ptr_eq(m, target));
    }
    // The parts are durable and published: the WAL generations they cover are not needed.
    // Oldest first, so that a crash part-way leaves a contiguous run of generations.
    let mut covered: Vec<u64> = dir
        .list("")?
        .into_iter()
        .filter_map(|e| wal::parse_name(&e.name))
        .filter(|&g| g <= generation)
        .collect();
    covered.sort_unstable();
    for g in &covered {
        remove_gently(dir, &wal::file_name(*g))?;
    }
    lock(&shared.wal_sizes).retain(|&g, _| g > generation);
    if !covered.is_empty() {
        dir.sync_dir("")?;
    }
    Ok(())
}

/// Bytes cut from a covered WAL file per step before it is deleted.
const SHRINK_STEP: u64 = 8 << 20;

/// Deletes a WAL file that durable parts cover. Unlinking a large file in one go frees
/// all its extents in one filesystem journal transaction, which stalls the writer's next
/// `fdatasync` by several milliseconds; cutting it down in steps first spreads that work out.
/// (A crash part-way leaves a shortened covered file, which open deletes unread.)
fn remove_gently(dir: &dyn Dir, name: &str) -> io::Result<()> {
    if let Ok(f) = dir.open_read(name) {
        let mut len = f.len();
        while len > SHRINK_STEP {
            len -= SHRINK_STEP;
            dir.truncate(name, len)?;
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    dir.remove(name)
}
