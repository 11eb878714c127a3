//! `Store::open`'s recovery: lock, segment checks and quarantine, WAL replay (torn tail cut).
//! The rules are in `docs/FORMAT.md`, "Recovery rules".

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::memtable::{Enc, Memtable};
use crate::segment::{self, BlockCache, Segment, SegmentOpenError};
use crate::wal::{self, WalWriter};
use crate::{
    EventId, LOCK_FILE, OpenError, OpenReport, QUARANTINE_DIR, Quarantined, StoreOptions, write,
};

/// Everything open needs to start the threads.
pub(crate) struct Recovered {
    pub(crate) lock_file: File,
    pub(crate) report: OpenReport,
    pub(crate) cache: BlockCache,
    pub(crate) segments: Vec<Arc<Segment>>,
    /// Segment ids handed out so far.
    pub(crate) next_segment_id: u64,
    pub(crate) active: Memtable,
    pub(crate) wal_sizes: BTreeMap<u64, u64>,
    pub(crate) wal: WalWriter,
    pub(crate) next_arrival: u64,
    pub(crate) events: u64,
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OpenError + '_ {
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

/// Takes the lock, checks segments, replays the WAL and opens the WAL file to append to.
pub(crate) fn recover(dir: &Path, options: &StoreOptions) -> Result<Recovered, OpenError> {
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
    let wal = match last_wal {
        Some((path, g)) => WalWriter::reopen(path.clone(), g, fault).map_err(io_err(&path))?,
        None => {
            let g = covered.max(wal_gens.last().copied().unwrap_or(0)) + 1;
            let w = WalWriter::create(dir, g, next_arrival, fault)
                .map_err(io_err(&dir.join(wal::file_name(g))))?;
            wal_sizes.insert(g, wal::HEADER_LEN as u64);
            w
        }
    };
    Ok(Recovered {
        lock_file,
        report,
        cache,
        segments,
        next_segment_id,
        active,
        wal_sizes,
        wal,
        next_arrival,
        events,
    })
}
