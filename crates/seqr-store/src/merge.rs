//! Background merges: parts of one day and tier are combined into one part of the next tier,
//! so a day that received many flushes (or rewrites) ends up as a few big parts, written with
//! a stronger zstd level.
//!
//! A merge streams: each input part is read one block at a time, a bounded chunk of events
//! rebuilt from it, the chunks merged by id and written through the usual sink. It becomes
//! visible in one manifest swap under the maintenance lock (the inputs leave and the outputs
//! arrive together; abandoned if a delete replaced an input meanwhile), and removes the
//! inputs only after that; a crash at any point leaves either the old parts or the new ones
//! in the manifest, and open deletes the files the manifest does not name. Merges run on
//! their own thread, once ingestion is quiet and paced, so they never hold up flushes.

use std::collections::{BinaryHeap, VecDeque};
use std::io;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use seqr_types::{Event, EventId};

use crate::cache::Decoded;
use crate::maintenance;
use crate::part::{Part, PartError, WriteParams};
use crate::sink::{self, PartSink};
use crate::{Shared, lock, read};

/// Tiers beyond this are not merged again: parts stop growing there.
pub(crate) const MAX_TIER: u32 = 2;

/// Events rebuilt per input part at a time.
const CHUNK: usize = 256;

/// Why a merge did not complete. Either way the inputs stay in service.
#[derive(Debug)]
pub(crate) enum MergeError {
    Io(io::Error),
    /// An input could not be read (damage quarantines it, as a search would).
    Read(String),
    /// The store is stopping, or an input left service meanwhile.
    Abandoned,
}

impl std::fmt::Display for MergeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MergeError::Io(e) => write!(f, "writing a merged part: {e}"),
            MergeError::Read(e) => write!(f, "reading a part to merge: {e}"),
            MergeError::Abandoned => f.write_str("abandoned"),
        }
    }
}

fn stopping(shared: &Shared) -> bool {
    lock(&shared.flush).stop
}

/// Seconds without a flush after which merging starts: merges wait for ingestion to go quiet
/// so they do not compete with it for the cores...
const QUIET: Duration = Duration::from_secs(5);
/// ... unless some day and tier holds this many times `merge_parts` parts.
const BACKLOG_FACTOR: usize = 4;

/// The merger thread: once ingestion has been quiet for a while (or parts pile up), merges
/// while some day and tier has enough parts, paced to about half of one core.
pub(crate) fn merger_loop(shared: Arc<Shared>) {
    if shared.options.merge_parts < 2 || !shared.options.background_merges {
        return;
    }
    loop {
        let quiet = {
            let f = lock(&shared.flush);
            if f.stop {
                return;
            }
            let (f, wait) = shared
                .flushed_cv
                .wait_timeout(f, QUIET)
                .unwrap_or_else(PoisonError::into_inner);
            if f.stop {
                return;
            }
            wait.timed_out()
        };
        let backlog = shared.options.merge_parts * BACKLOG_FACTOR;
        while let Some(inputs) = candidate(&shared, if quiet { 0 } else { backlog }) {
            match merge(&shared, &inputs, true) {
                Ok(()) | Err(MergeError::Abandoned) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "merge failed; the parts stay as they are");
                    // Back off: the same failure (a full disk, damage) would repeat at once.
                    let f = lock(&shared.flush);
                    let _ = shared
                        .flush_cv
                        .wait_timeout(f, Duration::from_secs(10))
                        .unwrap_or_else(PoisonError::into_inner);
                    break;
                }
            }
            if stopping(&shared) {
                return;
            }
        }
    }
}

/// Merges until no day and tier has enough parts; returns the merges done.
pub(crate) fn merge_due(shared: &Shared) -> Result<usize, MergeError> {
    let mut done = 0;
    if shared.options.merge_parts < 2 {
        return Ok(0);
    }
    let mut retries = 0;
    while let Some(inputs) = candidate(shared, 0) {
        match merge(shared, &inputs, false) {
            Ok(()) => {
                done += 1;
                retries = 0;
            }
            // A delete, a quarantine or the background merger changed the parts meanwhile:
            // pick again (the parts are in service either way, so giving up is no failure).
            Err(MergeError::Abandoned) if !stopping(shared) && retries < 3 => retries += 1,
            Err(MergeError::Abandoned) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// The oldest `merge_parts` parts of the first day and tier holding at least that many, and
/// at least `min_run` (below [`MAX_TIER`], and within `merge_max_events` together).
fn candidate(shared: &Shared, min_run: usize) -> Option<Vec<Arc<Part>>> {
    let want = shared.options.merge_parts;
    let mut parts = read(&shared.state).parts.clone();
    parts.sort_by_key(|p| (p.info.day, p.info.tier, p.info.id));
    parts
        .chunk_by(|a, b| a.info.day == b.info.day && a.info.tier == b.info.tier)
        .filter(|run| run.len() >= want.max(min_run) && run[0].info.tier < MAX_TIER)
        .find_map(|run| {
            let inputs: Vec<Arc<Part>> = run[..want].to_vec();
            let events: u64 = inputs.iter().map(|p| p.info.events).sum();
            (events <= shared.options.merge_max_events).then_some(inputs)
        })
}

/// One input: its next events in id order, read a block (and a chunk) at a time.
struct Input {
    part: Arc<Part>,
    next_block: usize,
    block: Option<(Arc<Decoded>, usize)>,
    buf: VecDeque<(EventId, Event)>,
}

impl Input {
    fn next(&mut self) -> Result<Option<(EventId, Event)>, PartError> {
        loop {
            if let Some(e) = self.buf.pop_front() {
                return Ok(Some(e));
            }
            if let Some((d, row)) = &mut self.block {
                let n = d.rows.ids.len();
                if *row < n {
                    let end = (*row + CHUNK).min(n);
                    self.buf.extend(d.events(&self.part, *row..end)?);
                    *row = end;
                    continue;
                }
                self.block = None;
            }
            if self.next_block == self.part.blocks.len() {
                return Ok(None);
            }
            let b = self.next_block;
            self.next_block += 1;
            let d = Decoded::load(&self.part, b, self.part.header(b)?)?;
            self.block = Some((Arc::new(d), 0));
        }
    }
}

/// Merges `inputs` into parts of the next tier; `paced` sleeps as long as it works, so a
/// background merge takes at most about half of one core.
fn merge(shared: &Shared, inputs: &[Arc<Part>], paced: bool) -> Result<(), MergeError> {
    // An input may have left service (a delete, a quarantine) since it was picked.
    if !inputs
        .iter()
        .all(|p| read(&shared.state).parts.iter().any(|q| Arc::ptr_eq(p, q)))
    {
        return Err(MergeError::Abandoned);
    }
    let dir = &*shared.dir;
    let params = WriteParams {
        zstd_level: shared.options.merge_zstd_level,
        ..crate::flusher::write_params(shared)
    };
    let tier = inputs[0].info.tier + 1;
    let mut sink = PartSink::new(dir, params, tier, &shared.next_part_id);
    let mut cursors: Vec<Input> = inputs
        .iter()
        .map(|p| Input {
            part: Arc::clone(p),
            next_block: 0,
            block: None,
            buf: VecDeque::new(),
        })
        .collect();
    let read_err =
        |c: &Input, e: PartError| MergeError::Read(shared.part_read_error(&c.part, e).to_string());
    let mut heads: Vec<Option<Event>> = Vec::with_capacity(cursors.len());
    let mut heap = BinaryHeap::new();
    for (i, c) in cursors.iter_mut().enumerate() {
        match c.next() {
            Ok(Some((id, e))) => {
                heap.push(std::cmp::Reverse((id, i)));
                heads.push(Some(e));
            }
            Ok(None) => heads.push(None),
            Err(e) => return Err(read_err(c, e)),
        }
    }
    let mut written = 0u64;
    let mut chunk_started = Instant::now();
    while let Some(std::cmp::Reverse((id, i))) = heap.pop() {
        let event = heads[i].take().expect("a head for every heap entry");
        sink.push(id, &event).map_err(MergeError::Io)?;
        written += 1;
        match cursors[i].next() {
            Ok(Some((nid, e))) => {
                heap.push(std::cmp::Reverse((nid, i)));
                heads[i] = Some(e);
            }
            Ok(None) => {}
            Err(e) => return Err(read_err(&cursors[i], e)),
        }
        if written.is_multiple_of(CHUNK as u64) {
            if stopping(shared) {
                return Err(MergeError::Abandoned);
            }
            if paced {
                std::thread::sleep(chunk_started.elapsed());
                chunk_started = Instant::now();
            }
        }
    }
    let outputs = sink.finish().map_err(MergeError::Io)?;
    let added = sink::open_written(dir, &outputs).map_err(|(name, e)| {
        MergeError::Io(io::Error::other(format!(
            "merged part {name} is unreadable: {e}"
        )))
    })?;
    // Deletes hold this from their snapshot of the parts to their manifest swap: a merge
    // publishes before one starts (it then sees the merged part) or after it ends (an input
    // it rewrote is then gone, and the merge is abandoned, so deleted events stay deleted).
    let _one_at_a_time = lock(&shared.maintenance);
    if !maintenance::swap_parts(shared, inputs, added, true).map_err(MergeError::Io)? {
        return Err(MergeError::Abandoned);
    }
    tracing::debug!(parts = inputs.len(), events = written, tier, "merged parts");
    Ok(())
}
