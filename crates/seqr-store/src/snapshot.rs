//! Consistent copies of a running store, for backups.
//!
//! [`Store::snapshot`](crate::Store::snapshot) flushes the memtables (so every event
//! acknowledged before the call is in a part), then takes the live part set and the manifest
//! under the manifest lock, the same lock every flush, merge, delete and quarantine holds while
//! it changes the set, so the two agree. Each part is held by the [`Part`] handle opened with
//! it: a merge or retention delete that runs meanwhile unlinks the file, but the open
//! descriptor keeps its bytes readable until the snapshot is dropped. Parts are immutable, so
//! nothing else needs pinning and ingestion never waits for a backup.
//!
//! The copy is a manifest naming exactly the snapshot's parts (no WAL: everything is in
//! parts) plus the part files byte for byte. Every part is fully checked (every checksum,
//! every block decoded) before its bytes are handed out, so a backup never carries damage the
//! store would have refused to serve; [`verify_copy`] checks a restored directory the same way.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::dir::FsDir;
use crate::manifest::{self, Manifest};
use crate::part::{Part, PartError};
use crate::{MaintenanceError, Shared, lock, read};

/// The manifest's file name inside the store directory.
pub const MANIFEST_FILE: &str = manifest::FILE;

/// Bytes copied per read.
const COPY_CHUNK: usize = 1 << 20;

/// Why a snapshot or the check of a copy failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The memtables could not be written to parts first (the store is closing, or its
    /// flusher is failing).
    Flush(MaintenanceError),
    /// A file could not be read or written.
    Io { file: PathBuf, source: io::Error },
    /// A part or the manifest fails its checksums.
    Corrupt { file: PathBuf, detail: String },
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::Flush(e) => write!(f, "store: could not flush before the snapshot: {e}"),
            SnapshotError::Io { file, source } => {
                write!(f, "store: I/O error on {}: {source}", file.display())
            }
            SnapshotError::Corrupt { file, detail } => {
                write!(f, "store: {} is damaged: {detail}", file.display())
            }
        }
    }
}

impl std::error::Error for SnapshotError {}

/// One file of a snapshot: its path inside the store directory and its length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotFile {
    pub name: String,
    pub len: u64,
}

/// A consistent, pinned view of the store's parts; see the module docs.
pub struct Snapshot {
    root: PathBuf,
    parts: Vec<Arc<Part>>,
    manifest: Vec<u8>,
    events: u64,
}

/// What a snapshot or a checked copy holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SnapshotReport {
    pub parts: usize,
    pub events: u64,
    /// Bytes of the parts and the manifest.
    pub bytes: u64,
}

pub(crate) fn take(shared: &Shared, flush_timeout: Duration) -> Result<Snapshot, SnapshotError> {
    crate::maintenance::flush(shared, flush_timeout).map_err(SnapshotError::Flush)?;
    let man = lock(&shared.manifest);
    let live = read(&shared.state).parts.clone();
    let mut parts = Vec::with_capacity(man.parts.len());
    for name in &man.parts {
        let part = live.iter().find(|p| &p.name == name).ok_or_else(|| {
            // The manifest and the live set change together under this lock.
            SnapshotError::Corrupt {
                file: shared.root.join(name),
                detail: "listed in the manifest but not in service".into(),
            }
        })?;
        parts.push(Arc::clone(part));
    }
    let copy = Manifest {
        sequence: 0,
        covered_wal: man.covered_wal,
        next_part_id: man.next_part_id,
        parts: man.parts.clone(),
    };
    drop(man);
    let events = parts.iter().map(|p| p.info.events).sum();
    Ok(Snapshot {
        root: shared.root.clone(),
        parts,
        manifest: copy.encode(),
        events,
    })
}

impl Snapshot {
    /// The files to copy, parts first and the manifest last (so a reader that stops early
    /// never has a manifest naming parts it lacks).
    pub fn files(&self) -> Vec<SnapshotFile> {
        let mut files: Vec<SnapshotFile> = self
            .parts
            .iter()
            .map(|p| SnapshotFile {
                name: p.name.clone(),
                len: p.file_len,
            })
            .collect();
        files.push(SnapshotFile {
            name: MANIFEST_FILE.to_owned(),
            len: self.manifest.len() as u64,
        });
        files
    }

    /// Parts, events and bytes in the snapshot.
    pub fn report(&self) -> SnapshotReport {
        SnapshotReport {
            parts: self.parts.len(),
            events: self.events,
            bytes: self.files().iter().map(|f| f.len).sum(),
        }
    }

    /// Checks file `index` of [`Snapshot::files`] completely, then writes its bytes to `out`.
    pub fn copy_file(&self, index: usize, out: &mut dyn Write) -> Result<u64, SnapshotError> {
        let Some(part) = self.parts.get(index) else {
            out.write_all(&self.manifest)
                .map_err(|source| self.io(MANIFEST_FILE, source))?;
            return Ok(self.manifest.len() as u64);
        };
        part.verify_blocks()
            .map_err(|e| self.part_error(&part.name, e))?;
        let mut buf = vec![0u8; COPY_CHUNK];
        let mut offset = 0u64;
        while offset < part.file_len {
            let n = (part.file_len - offset).min(COPY_CHUNK as u64) as usize;
            part.read_raw(&mut buf[..n], offset)
                .map_err(|source| self.io(&part.name, source))?;
            out.write_all(&buf[..n])
                .map_err(|source| self.io(&part.name, source))?;
            offset += n as u64;
        }
        Ok(offset)
    }

    fn io(&self, name: &str, source: io::Error) -> SnapshotError {
        SnapshotError::Io {
            file: self.root.join(name),
            source,
        }
    }

    fn part_error(&self, name: &str, e: PartError) -> SnapshotError {
        match e {
            PartError::Io(source) => self.io(name, source),
            PartError::Corrupt(detail) => SnapshotError::Corrupt {
                file: self.root.join(name),
                detail,
            },
        }
    }
}

/// Checks a store directory written from a snapshot (by a restore) before it is used: the
/// manifest decodes, and every part it names is present and passes every checksum.
pub fn verify_copy(dir: &Path) -> Result<SnapshotReport, SnapshotError> {
    let d = FsDir::new(dir.to_owned());
    let at = |name: &str| dir.join(name);
    let bytes = crate::dir::read_all(&d, MANIFEST_FILE).map_err(|source| SnapshotError::Io {
        file: at(MANIFEST_FILE),
        source,
    })?;
    let man = Manifest::decode(&bytes).map_err(|c| SnapshotError::Corrupt {
        file: at(MANIFEST_FILE),
        detail: c.0,
    })?;
    let mut report = SnapshotReport {
        bytes: bytes.len() as u64,
        ..SnapshotReport::default()
    };
    for name in &man.parts {
        let part = Part::open(&d, name, true).map_err(|e| match e {
            PartError::Io(source) => SnapshotError::Io {
                file: at(name),
                source,
            },
            PartError::Corrupt(detail) => SnapshotError::Corrupt {
                file: at(name),
                detail,
            },
        })?;
        report.parts += 1;
        report.events += part.info.events;
        report.bytes += part.file_len;
    }
    Ok(report)
}
