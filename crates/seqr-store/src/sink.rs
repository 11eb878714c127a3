//! Writing events (ascending ids) into new parts, one per UTC day: a flush, a merge and the
//! format-1 migration all stream through this, holding one block of decoded events at a time.
//!
//! Parts are written under temporary names; [`PartSink::finish`] renames them and syncs the
//! partition directories, after which the caller publishes them in a new manifest. Until
//! then they are invisible, and open deletes them as leftovers.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use seqr_types::{Event, EventId};

use crate::codec;
use crate::dir::Dir;
use crate::part::{self, Part, PartError, PartInfo, PartWriter, WriteParams};

pub(crate) fn part_name(day: u32, id: u64) -> String {
    format!("{}/part-{id:016x}.part", part::day_dir(day))
}

pub(crate) const TMP_SUFFIX: &str = ".tmp";

/// Opens the parts [`PartSink::finish`] wrote, to publish them. If one cannot be opened, all
/// are removed (nothing refers to them yet) and the error names that one.
pub(crate) fn open_written(
    dir: &dyn Dir,
    written: &[(String, PartInfo)],
) -> Result<Vec<Arc<Part>>, (String, PartError)> {
    let mut parts = Vec::with_capacity(written.len());
    for (name, _) in written {
        match Part::open(dir, name, false) {
            Ok(p) => parts.push(Arc::new(p)),
            Err(e) => {
                for (n, _) in written {
                    let _ = dir.remove(n);
                }
                return Err((name.clone(), e));
            }
        }
    }
    Ok(parts)
}

struct Open {
    day: u32,
    name: String,
    writer: PartWriter,
}

pub(crate) struct PartSink<'d> {
    dir: &'d dyn Dir,
    params: WriteParams,
    tier: u32,
    next_id: &'d AtomicU64,
    open: Option<Open>,
    ids: Vec<EventId>,
    /// Encoded rows of the block being gathered, end to end, and where each ends.
    rows: Vec<u8>,
    ends: Vec<usize>,
    written: Vec<(String, PartInfo)>,
}

impl<'d> PartSink<'d> {
    /// Parts take their ids from `next_id` (shared by everything that writes parts).
    pub(crate) fn new(
        dir: &'d dyn Dir,
        params: WriteParams,
        tier: u32,
        next_id: &'d AtomicU64,
    ) -> Self {
        PartSink {
            dir,
            params,
            tier,
            next_id,
            open: None,
            ids: Vec::new(),
            rows: Vec::new(),
            ends: Vec::new(),
            written: Vec::new(),
        }
    }

    /// Adds an event (ids ascending).
    pub(crate) fn push(&mut self, id: EventId, event: &Event) -> io::Result<()> {
        let mut row = Vec::new();
        codec::encode_event(&mut row, event);
        self.push_row(id, &row)
    }

    /// Adds an event in the row encoding of WAL records (ids ascending).
    pub(crate) fn push_row(&mut self, id: EventId, row: &[u8]) -> io::Result<()> {
        let day = part::day_of(id.ticks);
        if self.open.as_ref().is_some_and(|o| o.day != day) {
            self.close()?;
        }
        if self.open.is_none() {
            let pid = self.next_id.fetch_add(1, Ordering::Relaxed);
            let name = part_name(day, pid);
            self.dir.create_dir(&part::day_dir(day))?;
            let file = self.dir.create(&format!("{name}{TMP_SUFFIX}"))?;
            let writer = PartWriter::new(file, pid, self.tier, day, self.params)?;
            self.open = Some(Open { day, name, writer });
        }
        self.ids.push(id);
        self.rows.extend_from_slice(row);
        self.ends.push(self.rows.len());
        if self.ids.len() >= self.params.block_events.max(1) {
            self.write_block()?;
        }
        Ok(())
    }

    fn write_block(&mut self) -> io::Result<()> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let o = self.open.as_mut().expect("a part is open");
        let mut views = Vec::with_capacity(self.ends.len());
        let mut start = 0;
        for &end in &self.ends {
            let v = codec::view_event(&self.rows[start..end])
                .map_err(|d| io::Error::other(format!("a stored event is malformed: {d}")))?;
            views.push(v);
            start = end;
        }
        o.writer.add_block(&self.ids, &views)?;
        self.ids.clear();
        self.rows.clear();
        self.ends.clear();
        Ok(())
    }

    fn close(&mut self) -> io::Result<()> {
        self.write_block()?;
        if let Some(o) = self.open.take() {
            let info = o.writer.finish()?;
            self.written.push((o.name, info));
        }
        Ok(())
    }

    /// Finishes the last part, renames every part to its final name and syncs the partition
    /// directories (and the root, which may have new partitions). Returns the parts written.
    pub(crate) fn finish(mut self) -> io::Result<Vec<(String, PartInfo)>> {
        self.close()?;
        let mut dirs = Vec::new();
        for (name, info) in &self.written {
            // Renamed ones are final files, no longer removed by drop.
            self.dir.rename(&format!("{name}{TMP_SUFFIX}"), name)?;
            if !dirs.contains(&info.day) {
                dirs.push(info.day);
            }
        }
        for day in dirs {
            self.dir.sync_dir(&part::day_dir(day))?;
        }
        if !self.written.is_empty() {
            self.dir.sync_dir("")?;
        }
        Ok(std::mem::take(&mut self.written))
    }
}

impl Drop for PartSink<'_> {
    /// A sink dropped before `finish` (a failed flush or merge) removes its temporary files,
    /// so retries do not pile them up on a full disk.
    fn drop(&mut self) {
        let mut names: Vec<String> = self.written.drain(..).map(|(n, _)| n).collect();
        if let Some(o) = self.open.take() {
            names.push(o.name);
        }
        for n in names {
            let _ = self.dir.remove(&format!("{n}{TMP_SUFFIX}"));
        }
    }
}
