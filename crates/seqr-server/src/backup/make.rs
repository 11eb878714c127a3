//! Making a backup file from a running (or stopped) instance: a consistent copy of the
//! metadata (`VACUUM INTO`), then a store snapshot, streamed into one file written under a
//! temporary name and renamed into place once complete and synced.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use seqr_meta::MetaDb;
use seqr_meta::secret::{CHECK_VALUE_KEY, SecretKey};
use seqr_store::Store;
use serde_json::json;

use super::format::{BodyWriter, FORMAT_VERSION, header_bytes};
use super::{BackupInfo, META_ENTRY, STORE_PREFIX, file_name};

/// How long the store may take to write its memtables out before the snapshot.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a backup could not be made (nothing is left in the backup location then).
#[derive(Debug)]
pub enum BackupError {
    /// The backup location or a file in it could not be written.
    Io { path: PathBuf, source: io::Error },
    /// The metadata could not be copied.
    Metadata(seqr_meta::DbError),
    /// The metadata has no key-check value (it was never opened by `seqr serve`).
    NoKeyCheck,
    /// The store could not be snapshotted (a damaged part is named).
    Store(seqr_store::SnapshotError),
}

impl fmt::Display for BackupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackupError::Io { path, source } => {
                write!(f, "cannot write the backup at {}: {source}", path.display())
            }
            BackupError::Metadata(e) => write!(f, "cannot copy the metadata database: {e}"),
            BackupError::NoKeyCheck => f.write_str(
                "the metadata has no secret key check value; start `seqr serve` on this data \
                 directory once before backing it up",
            ),
            BackupError::Store(e) => write!(f, "cannot copy the events: {e}"),
        }
    }
}

impl std::error::Error for BackupError {}

/// What to back up and how.
pub struct BackupSource<'a> {
    pub store: &'a Store,
    pub meta: &'a MetaDb,
    /// Seals the frames; `None` writes a plain (checksummed only) backup.
    pub encrypt_with: Option<&'a SecretKey>,
}

/// Writes a new backup into `location` (created, owner-only, if missing).
pub fn create(source: &BackupSource<'_>, location: &Path) -> Result<BackupInfo, BackupError> {
    let started = Instant::now();
    let io_at = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Io { path, source }
    };
    create_private_dir(location).map_err(io_at(location))?;
    let created_at = seqr_types::Timestamp::now();
    let name = file_name(created_at);
    let final_path = location.join(&name);
    let tmp_path = location.join(format!(".{name}.tmp"));
    let meta_copy = location.join(format!(".{name}.meta.tmp"));
    let result = write_file(source, created_at, &tmp_path, &meta_copy);
    let _ = std::fs::remove_file(&meta_copy);
    let (size, events, parts) = match result {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp_path);
            return Err(e);
        }
    };
    std::fs::rename(&tmp_path, &final_path).map_err(io_at(&final_path))?;
    File::open(location)
        .and_then(|d| d.sync_all())
        .map_err(io_at(location))?;
    tracing::info!(
        file = %final_path.display(),
        bytes = size,
        events,
        parts,
        encrypted = source.encrypt_with.is_some(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "backup written"
    );
    Ok(BackupInfo {
        filename: name,
        path: final_path,
        size,
        created_at,
    })
}

fn write_file(
    source: &BackupSource<'_>,
    created_at: seqr_types::Timestamp,
    tmp_path: &Path,
    meta_copy: &Path,
) -> Result<(u64, u64, usize), BackupError> {
    let io_at = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Io { path, source }
    };
    let key_check = seqr_meta::settings::get_internal(source.meta, CHECK_VALUE_KEY)
        .map_err(BackupError::Metadata)?
        .ok_or(BackupError::NoKeyCheck)?;
    source
        .meta
        .snapshot_to(meta_copy)
        .map_err(BackupError::Metadata)?;
    let snapshot = source
        .store
        .snapshot(FLUSH_TIMEOUT)
        .map_err(BackupError::Store)?;
    let report = snapshot.report();
    use base64::Engine as _;
    let header = header_bytes(&json!({
        "Format": FORMAT_VERSION,
        "CreatedAt": created_at.to_iso(),
        "SeqrVersion": env!("CARGO_PKG_VERSION"),
        "Encrypted": source.encrypt_with.is_some(),
        "KeyCheck": base64::engine::general_purpose::STANDARD.encode(&key_check),
        "Events": report.events,
        "Parts": report.parts,
    }));
    let file = private_file(tmp_path).map_err(io_at(tmp_path))?;
    let mut body = BodyWriter::new(BufWriter::new(file), header, source.encrypt_with)
        .map_err(io_at(tmp_path))?;
    let mut meta = File::open(meta_copy).map_err(io_at(meta_copy))?;
    let meta_len = meta.metadata().map_err(io_at(meta_copy))?.len();
    body.entry(META_ENTRY, meta_len).map_err(io_at(tmp_path))?;
    let copied = io::copy(&mut meta, &mut body).map_err(io_at(tmp_path))?;
    if copied != meta_len {
        return Err(BackupError::Io {
            path: meta_copy.to_owned(),
            source: io::Error::other("the metadata copy changed size while being read"),
        });
    }
    for (i, f) in snapshot.files().iter().enumerate() {
        body.entry(&format!("{STORE_PREFIX}{}", f.name), f.len)
            .map_err(io_at(tmp_path))?;
        snapshot
            .copy_file(i, &mut body)
            .map_err(BackupError::Store)?;
    }
    let out = body.finish().map_err(io_at(tmp_path))?;
    let file = out.into_inner().map_err(|e| BackupError::Io {
        path: tmp_path.to_owned(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io_at(tmp_path))?;
    let size = file.metadata().map_err(io_at(tmp_path))?.len();
    Ok((size, report.events, report.parts))
}

/// A directory only the owner may enter: backups hold password hashes and key digests.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

/// A new file readable by its owner only.
pub fn private_file(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}
