//! `Store::open`'s recovery: manifest, part checks and quarantine, migration of format-1
//! segments, WAL replay (torn tail cut). The rules are in `docs/FORMAT.md`, "Recovery rules".

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::dir::{self, Dir};
use crate::legacy;
use crate::manifest::Manifest;
use crate::memtable::{Enc, Memtable};
use crate::part::{Part, PartError};
use crate::sink::PartSink;
use crate::wal::{self, WalWriter};
use crate::{EventId, OpenError, OpenReport, QUARANTINE_DIR, Quarantined, StoreOptions, write};

/// Everything open needs to start the threads.
pub(crate) struct Recovered {
    pub(crate) report: OpenReport,
    pub(crate) manifest: Manifest,
    pub(crate) parts: Vec<Arc<Part>>,
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

/// Moves a damaged file into `quarantine/` (flattening its path) and syncs both directories.
fn quarantine(d: &dyn Dir, name: &str) -> io::Result<String> {
    d.create_dir(QUARANTINE_DIR)?;
    let target = format!("{QUARANTINE_DIR}/{}", name.replace('/', "-"));
    d.rename(name, &target)?;
    d.sync_dir(QUARANTINE_DIR)?;
    if let Some((parent, _)) = name.rsplit_once('/') {
        d.sync_dir(parent)?;
    }
    d.sync_dir("")?;
    Ok(target)
}

/// Checks the manifest's parts, migrates format-1 segments, replays the WAL and opens the WAL
/// file to append to. `root` is only for messages.
pub(crate) fn recover(
    d: &dyn Dir,
    root: &Path,
    options: &StoreOptions,
) -> Result<Recovered, OpenError> {
    let at = |name: &str| root.join(name);
    let mut report = OpenReport::default();
    let mut manifest = match Manifest::read(d).map_err(io_err(root))? {
        None => Manifest {
            next_part_id: 1,
            ..Manifest::default()
        },
        Some(Ok(m)) => m,
        Some(Err(c)) => {
            return Err(OpenError::CorruptManifest {
                file: at(crate::manifest::FILE),
                detail: c.0,
            });
        }
    };
    let mut manifest_changed = false;

    let mut wal_gens = Vec::new();
    let mut seg_gens = Vec::new();
    let mut partitions = Vec::new();
    for e in d.list("").map_err(io_err(root))? {
        if let Some(g) = wal::parse_name(&e.name) {
            wal_gens.push(g);
        } else if let Some(g) = legacy::parse_name(&e.name) {
            seg_gens.push(g);
        } else if e.name.starts_with("seg-") && e.name.ends_with(".tmp") {
            d.remove(&e.name).map_err(io_err(&at(&e.name)))?;
        } else if e.is_dir && e.name.starts_with("p-") {
            partitions.push(e.name);
        }
    }
    wal_gens.sort_unstable();
    seg_gens.sort_unstable();

    // Leftovers of an unfinished flush or merge: in a partition but not in the manifest.
    let live: HashSet<&str> = manifest.parts.iter().map(String::as_str).collect();
    for p in &partitions {
        let entries = d.list(p).map_err(io_err(&at(p)))?;
        let mut kept = 0;
        for e in entries {
            let name = format!("{p}/{}", e.name);
            if live.contains(name.as_str()) {
                kept += 1;
            } else if !e.is_dir {
                d.remove(&name).map_err(io_err(&at(&name)))?;
            }
        }
        if kept == 0 {
            let _ = d.remove_dir(p);
        }
    }

    // Parts.
    let mut parts = Vec::new();
    let mut next_arrival = 1u64;
    let mut events = 0u64;
    let mut dropped = Vec::new();
    for name in &manifest.parts {
        match Part::open(d, name, options.verify_parts_on_open) {
            Ok(p) => {
                next_arrival = next_arrival.max(p.info.max_arrival + 1);
                events += p.info.events;
                parts.push(Arc::new(p));
            }
            Err(PartError::Io(e)) if e.kind() == io::ErrorKind::NotFound => {
                report.quarantined.push(Quarantined {
                    file: at(name),
                    detail: "listed in the manifest but missing".into(),
                });
                dropped.push(name.clone());
            }
            Err(PartError::Io(e)) => return Err(io_err(&at(name))(e)),
            Err(PartError::Corrupt(detail)) => {
                let target = quarantine(d, name).map_err(io_err(&at(name)))?;
                report.quarantined.push(Quarantined {
                    file: at(&target),
                    detail,
                });
                dropped.push(name.clone());
            }
        }
    }
    if !dropped.is_empty() {
        manifest.parts.retain(|p| !dropped.contains(p));
        manifest_changed = true;
    }

    // Format-1 segments not yet migrated become parts; ones a manifest already covers are
    // leftovers of a finished migration.
    let next_part_id = AtomicU64::new(manifest.next_part_id.max(1));
    let mut migrated = Vec::new();
    let mut migrated_covered = manifest.covered_wal;
    let params = crate::part::WriteParams {
        block_events: options
            .block_events
            .clamp(1, crate::part::block::MAX_BLOCK_ROWS as usize),
        zstd_level: options.zstd_level,
    };
    let mut written = Vec::new();
    for &g in &seg_gens {
        let name = format!("seg-{g:016x}.seg");
        if g <= manifest.covered_wal {
            continue;
        }
        let bytes = dir::read_all(d, &name).map_err(io_err(&at(&name)))?;
        // Each segment is sorted on its own (segments overlap in time), so each gets its own
        // parts; a damaged block quarantines the file after the blocks before it migrated.
        let mut sink = PartSink::new(d, params, 0, &next_part_id);
        let damage = match legacy::Segment::parse(&bytes) {
            Err(c) => Some(c),
            Ok(seg) => {
                next_arrival = next_arrival.max(seg.max_arrival + 1);
                migrated_covered = migrated_covered.max(seg.wal_generation);
                let mut damage = None;
                for b in 0..seg.block_count() {
                    match seg.block(b) {
                        Ok(evs) => {
                            for (id, e) in evs {
                                next_arrival = next_arrival.max(id.arrival + 1);
                                sink.push(id, &e).map_err(io_err(&at(&name)))?;
                            }
                        }
                        Err(c) => {
                            damage = Some(c);
                            break;
                        }
                    }
                }
                damage
            }
        };
        written.extend(sink.finish().map_err(io_err(root))?);
        match damage {
            None => migrated.push(name),
            Some(c) => {
                let target = quarantine(d, &name).map_err(io_err(&at(&name)))?;
                report.quarantined.push(Quarantined {
                    file: at(&target),
                    detail: c.0,
                });
            }
        }
    }
    for (name, _) in &written {
        let p = Part::open(d, name, false).map_err(|e| match e {
            PartError::Io(e) => io_err(&at(name))(e),
            PartError::Corrupt(detail) => OpenError::Io {
                path: at(name),
                source: io::Error::other(format!("a part just written is bad: {detail}")),
            },
        })?;
        next_arrival = next_arrival.max(p.info.max_arrival + 1);
        events += p.info.events;
        parts.push(Arc::new(p));
        manifest.parts.push(name.clone());
        manifest_changed = true;
    }
    if migrated_covered > manifest.covered_wal {
        manifest.covered_wal = migrated_covered;
        manifest_changed = true;
    }
    manifest.next_part_id = next_part_id.into_inner();
    if manifest_changed {
        manifest
            .write(d)
            .map_err(io_err(&at(crate::manifest::FILE)))?;
    }
    // Segments are deleted only once the manifest holding their events is durable.
    for &g in &seg_gens {
        let name = format!("seg-{g:016x}.seg");
        if d.exists(&name) {
            d.remove(&name).map_err(io_err(&at(&name)))?;
        }
    }
    if !seg_gens.is_empty() {
        d.sync_dir("").map_err(io_err(root))?;
    }
    report.migrated_segments = migrated.len();
    report.parts = parts.len();
    let covered = manifest.covered_wal;

    // WAL: generations covered by parts are deleted; the rest are replayed.
    let active = Memtable::default();
    let mut last_wal: Option<u64> = None;
    let mut wal_sizes = BTreeMap::new();
    let mut prev_gen: Option<u64> = None;
    let live_gens: Vec<u64> = wal_gens.iter().copied().filter(|&g| g > covered).collect();
    for &g in wal_gens.iter().filter(|&&g| g <= covered) {
        let name = wal::file_name(g);
        d.remove(&name).map_err(io_err(&at(&name)))?;
    }
    for (i, &g) in live_gens.iter().enumerate() {
        let name = wal::file_name(g);
        let path = at(&name);
        if let Some(p) = prev_gen
            && g != p + 1
        {
            return Err(OpenError::CorruptWal {
                file: at(&wal::file_name(p + 1)),
                offset: 0,
                detail: format!("log generation {} is missing", p + 1),
            });
        }
        prev_gen = Some(g);
        let is_last = i + 1 == live_gens.len();
        let data = dir::read_all(d, &name).map_err(io_err(&path))?;
        let data_len = data.len() as u64;
        let replayed = match wal::replay(data, g, is_last) {
            Ok(r) => r,
            Err(wal::ReplayError::BadHeader(_))
                if is_last && data_len <= wal::HEADER_LEN as u64 =>
            {
                // Crash while creating the file: its header was never synced, so nothing
                // was ever written to it.
                d.remove(&name).map_err(io_err(&path))?;
                d.sync_dir("").map_err(io_err(root))?;
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
            d.truncate(&name, replayed.good_len)
                .map_err(io_err(&path))?;
            d.open_append(&name)
                .and_then(|mut f| f.sync())
                .map_err(io_err(&path))?;
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
        last_wal = Some(g);
    }
    events += report.replayed_events;

    let fault = options.fault.clone();
    let wal = match last_wal {
        Some(g) => WalWriter::reopen(d, g, fault).map_err(io_err(&at(&wal::file_name(g))))?,
        None => {
            let g = covered.max(wal_gens.last().copied().unwrap_or(0)) + 1;
            let w = WalWriter::create(d, g, next_arrival, fault)
                .map_err(io_err(&at(&wal::file_name(g))))?;
            wal_sizes.insert(g, wal::HEADER_LEN as u64);
            w
        }
    };
    let _: Option<PathBuf> = None;
    Ok(Recovered {
        report,
        manifest,
        parts,
        active,
        wal_sizes,
        wal,
        next_arrival,
        events,
    })
}
