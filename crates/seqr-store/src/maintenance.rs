//! Deleting events and reporting storage use.
//!
//! A delete first flushes the memtables (so every event is in a part: a deleted event must not
//! come back from the WAL after a crash), then, part by part: a part wholly inside the range of
//! an unfiltered delete is dropped; a part with some matching events is rewritten without them
//! (new parts through the usual sink); the manifest swap makes the change atomic, and the old
//! files are deleted only after it. Retention (whole days) and `DELETE api/events/signal`
//! (a filter) are both this.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use seqr_types::{EventId, StoredEvent, Timestamp};

use crate::cache::Decoded;
use crate::part::{self, Part, PartError};
use crate::prune;
use crate::sink::{self, PartSink};
use crate::{Predicate, Shared, lock, read, write};

/// Which events a delete removes: those in `[from, to)` for which `filter` (if any) is true.
#[derive(Clone, Copy, Default)]
pub struct DeleteRequest<'a> {
    /// Inclusive lower timestamp bound.
    pub from: Option<Timestamp>,
    /// Exclusive upper timestamp bound.
    pub to: Option<Timestamp>,
    /// Only events for which this returns true are deleted.
    pub filter: Option<&'a (dyn Fn(&StoredEvent) -> bool + Sync)>,
    /// Conditions implied by `filter`: blocks that cannot satisfy them are not read.
    pub predicates: &'a [Predicate],
}

/// What a delete did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeleteReport {
    /// Events removed.
    pub events: u64,
    /// Parts dropped whole.
    pub parts_dropped: usize,
    /// Parts rewritten without the deleted events.
    pub parts_rewritten: usize,
}

/// Storage used by one day partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayUsage {
    /// Midnight UTC starting the day.
    pub day: Timestamp,
    pub parts: usize,
    pub events: u64,
    pub bytes: u64,
}

/// Why a delete or flush failed; nothing acknowledged is lost either way (a failed rewrite
/// leaves the old parts in service).
#[derive(Debug)]
#[non_exhaustive]
pub enum MaintenanceError {
    /// Reading a part or writing its replacement failed.
    Io(String),
    /// The memtables could not be flushed in time (the flusher is failing or far behind).
    FlushTimeout,
    /// The store is shutting down or poisoned.
    Closed,
}

impl std::fmt::Display for MaintenanceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MaintenanceError::Io(d) => write!(f, "store: {d}"),
            MaintenanceError::FlushTimeout => {
                f.write_str("store: the memtables could not be flushed to parts in time")
            }
            MaintenanceError::Closed => f.write_str("store: closed"),
        }
    }
}

impl std::error::Error for MaintenanceError {}

fn io(what: &str) -> impl FnOnce(io::Error) -> MaintenanceError + '_ {
    move |e| MaintenanceError::Io(format!("{what}: {e}"))
}

fn part_err(part: &Part) -> impl FnOnce(PartError) -> MaintenanceError + '_ {
    move |e| MaintenanceError::Io(format!("reading {}: {e}", part.name))
}

/// Writes every memtable holding events to parts, waiting up to `timeout`.
pub(crate) fn flush(shared: &Shared, timeout: Duration) -> Result<(), MaintenanceError> {
    let target = read(&shared.state)
        .memtables
        .last()
        .cloned()
        .expect("an active memtable");
    {
        let mut q = lock(&shared.queue);
        if !q.accepting || !q.writer_alive {
            return Err(MaintenanceError::Closed);
        }
        q.rotate_requested = true;
    }
    shared.queue_cv.notify_all();
    let deadline = Instant::now() + timeout;
    loop {
        {
            let st = read(&shared.state);
            // Done when every memtable older than (or equal to) the target is flushed; the
            // target itself may have been empty and still be the active one.
            let pending = st.memtables.iter().position(|m| Arc::ptr_eq(m, &target));
            let empty_active = pending == Some(st.memtables.len() - 1)
                && read(&target.inner).map.is_empty()
                && st.memtables.len() == 1;
            if pending.is_none() || empty_active {
                return Ok(());
            }
            // Events arrived in the target after the writer found it empty: ask again.
            if pending == Some(st.memtables.len() - 1) && !read(&target.inner).map.is_empty() {
                lock(&shared.queue).rotate_requested = true;
                shared.queue_cv.notify_all();
            }
        }
        if shared.poison.get().is_some() {
            return Err(MaintenanceError::Closed);
        }
        // The flusher tried and failed (it retries on its own): report rather than wait.
        if let Some(e) = lock(&shared.flush_error).clone() {
            return Err(MaintenanceError::Io(e));
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(MaintenanceError::FlushTimeout);
        }
        let f = lock(&shared.flush);
        let _ = shared
            .flushed_cv
            .wait_timeout(f, (deadline - now).min(Duration::from_millis(20)));
    }
}

/// Which rows of a part a delete removes: `None` when none.
fn doomed_rows(
    part: &Part,
    req: &DeleteRequest<'_>,
    lower: Option<EventId>,
    upper: Option<EventId>,
) -> Result<Option<Vec<Vec<bool>>>, MaintenanceError> {
    let mut any = false;
    let mut out = Vec::with_capacity(part.blocks.len());
    for (b, m) in part.blocks.iter().enumerate() {
        let outside = upper.is_some_and(|u| m.min >= u) || lower.is_some_and(|l| m.max < l);
        let h = if outside {
            None
        } else {
            Some(part.header(b).map_err(part_err(part))?)
        };
        let candidate = match &h {
            None => false,
            Some(h) => {
                // Deletes are rare: nothing of theirs is worth caching.
                let no_cache = crate::cache::ColumnCache::new(0, 0);
                prune::may_match(part, b, h, req.predicates, &no_cache).map_err(part_err(part))?
            }
        };
        if !candidate {
            out.push(Vec::new());
            continue;
        }
        let d = Decoded::load(part, b, h.expect("read")).map_err(part_err(part))?;
        let events = d
            .events(part, 0..d.rows.ids.len())
            .map_err(part_err(part))?;
        let mut doomed = Vec::with_capacity(events.len());
        for (id, event) in events {
            let in_range = lower.is_none_or(|l| id >= l) && upper.is_none_or(|u| id < u);
            let hit = in_range && req.filter.is_none_or(|f| f(&StoredEvent { id, event }));
            any |= hit;
            doomed.push(hit);
        }
        out.push(doomed);
    }
    Ok(any.then_some(out))
}

pub(crate) fn delete(
    shared: &Shared,
    req: &DeleteRequest<'_>,
) -> Result<DeleteReport, MaintenanceError> {
    let _one_at_a_time = lock(&shared.maintenance);
    flush(shared, Duration::from_secs(60))?;
    let lower = req.from.map(EventId::first_at);
    let upper = req.to.map(EventId::first_at);
    let parts = read(&shared.state).parts.clone();
    let dir = &*shared.dir;
    let params = crate::flusher::write_params(shared);
    let mut report = DeleteReport::default();
    let mut removed: Vec<Arc<Part>> = Vec::new();
    let mut added: Vec<Arc<Part>> = Vec::new();
    for part in parts {
        if upper.is_some_and(|u| part.info.min >= u) || lower.is_some_and(|l| part.info.max < l) {
            continue;
        }
        let inside =
            lower.is_none_or(|l| part.info.min >= l) && upper.is_none_or(|u| part.info.max < u);
        if inside && req.filter.is_none() {
            report.events += part.info.events;
            report.parts_dropped += 1;
            removed.push(part);
            continue;
        }
        let Some(doomed) = doomed_rows(&part, req, lower, upper)? else {
            continue;
        };
        let mut sink = PartSink::new(dir, params, part.info.tier, &shared.next_part_id);
        let mut kept = 0u64;
        for (b, flags) in doomed.iter().enumerate() {
            let d = Decoded::load(&part, b, part.header(b).map_err(part_err(&part))?)
                .map_err(part_err(&part))?;
            let rows: Vec<usize> = (0..d.rows.ids.len())
                .filter(|&r| !flags.get(r).copied().unwrap_or(false))
                .collect();
            report.events += (d.rows.ids.len() - rows.len()) as u64;
            for (id, e) in d.events(&part, rows).map_err(part_err(&part))? {
                sink.push(id, &e).map_err(io("writing a rewritten part"))?;
                kept += 1;
            }
        }
        let written = sink.finish().map_err(io("writing a rewritten part"))?;
        added.extend(
            sink::open_written(dir, &written)
                .map_err(|(name, e)| MaintenanceError::Io(format!("{name}: {e}")))?,
        );
        if kept == 0 {
            report.parts_dropped += 1;
        } else {
            report.parts_rewritten += 1;
        }
        removed.push(part);
    }
    if removed.is_empty() {
        return Ok(report);
    }
    swap_parts(shared, &removed, added, false)
        .map_err(|e| MaintenanceError::Io(format!("writing the manifest: {e}")))?;
    shared.events.fetch_sub(report.events, Ordering::Relaxed);
    Ok(report)
}

/// Replaces `removed` by `added` in the manifest and in service in one step, then deletes
/// the removed files (and partitions left empty). With `require_live`, does nothing and
/// answers false when some removed part has left the manifest meanwhile (a delete or a
/// quarantine got there first). On failure the added files are removed and nothing changes.
pub(crate) fn swap_parts(
    shared: &Shared,
    removed: &[Arc<Part>],
    added: Vec<Arc<Part>>,
    require_live: bool,
) -> io::Result<bool> {
    let dir = &*shared.dir;
    let discard = |added: &[Arc<Part>]| {
        for p in added {
            let _ = dir.remove(&p.name);
        }
    };
    {
        let mut man = lock(&shared.manifest);
        if require_live && !removed.iter().all(|p| man.parts.contains(&p.name)) {
            discard(&added);
            return Ok(false);
        }
        let mut next = man.clone();
        next.parts.retain(|n| !removed.iter().any(|p| &p.name == n));
        next.parts.extend(added.iter().map(|p| p.name.clone()));
        next.next_part_id = shared.next_part_id.load(Ordering::Relaxed);
        if let Err(e) = next.write(dir) {
            discard(&added);
            return Err(e);
        }
        *man = next;
        let mut st = write(&shared.state);
        st.parts
            .retain(|p| !removed.iter().any(|r| Arc::ptr_eq(p, r)));
        st.parts.extend(added);
    }
    // The new manifest is durable: the old files are garbage now (searches holding them keep
    // their open files until they finish).
    let mut dirs = Vec::new();
    for p in removed {
        let _ = dir.remove(&p.name);
        let d = part::day_dir(p.info.day);
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    for d in dirs {
        let _ = dir.sync_dir(&d);
        if dir.list(&d).is_ok_and(|e| e.is_empty()) {
            let _ = dir.remove_dir(&d);
        }
    }
    let _ = dir.sync_dir("");
    Ok(true)
}

/// Parts, events and bytes per day partition, oldest first.
pub(crate) fn usage(shared: &Shared) -> Vec<DayUsage> {
    let mut days: BTreeMap<u32, DayUsage> = BTreeMap::new();
    for p in read(&shared.state).parts.iter() {
        let u = days.entry(p.info.day).or_insert(DayUsage {
            day: Timestamp::from_ticks(i64::from(p.info.day) * part::TICKS_PER_DAY),
            parts: 0,
            events: 0,
            bytes: 0,
        });
        u.parts += 1;
        u.events += p.info.events;
        u.bytes += p.file_len;
    }
    days.into_values().collect()
}
