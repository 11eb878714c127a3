//! Backups: one file holding a consistent copy of the metadata and the events, normally
//! encrypted with the instance secret key (never containing it). See `docs/BACKUPS.md`.
//!
//! `format` is the container, `make` writes one, `restore` brings one back into a new data
//! directory, `api` serves `api/backups` and `schedule` makes the daily ones and keeps
//! `BackupsToKeep` of them.

pub(crate) mod api;
mod format;
mod make;
mod restore;
pub(crate) mod schedule;

use std::path::{Path, PathBuf};

use seqr_meta::MetaDb;
use seqr_meta::settings::{self, SettingName, SettingValue};
use seqr_types::Timestamp;

pub use make::{BackupError, BackupSource, create, create_private_dir, private_file};
pub use restore::{RestoreError, RestoreReport, restore};

/// The metadata database's entry name (and file name in a data directory).
pub(crate) const META_ENTRY: &str = crate::metadata::META_DB_FILE;
/// The store's directory inside a data directory.
pub const STORE_DIR: &str = "events";
pub(crate) const STORE_PREFIX: &str = "events/";
/// The default backup location, inside the data directory.
pub const DEFAULT_LOCATION_DIR: &str = "Backups";
const PREFIX: &str = "seqr-backup-";
const SUFFIX: &str = ".seqrbak";
/// Kept when `BackupsToKeep` is not set.
pub const DEFAULT_BACKUPS_TO_KEEP: u64 = 7;

/// One backup file.
#[derive(Clone, Debug)]
pub struct BackupInfo {
    pub filename: String,
    pub path: PathBuf,
    pub size: u64,
    pub created_at: Timestamp,
}

/// `seqr-backup-20261203T161500123Z.seqrbak`: UTC, to the millisecond, so names sort by time.
fn file_name(at: Timestamp) -> String {
    let iso = at.to_iso();
    // 2026-12-03T16:15:00.1234567Z
    let digits: String = iso
        .chars()
        .take(23)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    format!("{PREFIX}{digits}Z{SUFFIX}")
}

/// The time in a backup file name, or `None` for any other name (which is never served).
fn parse_name(name: &str) -> Option<Timestamp> {
    let stamp = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let b = stamp.as_bytes();
    if b.len() != 19
        || b[8] != b'T'
        || b[18] != b'Z'
        || !b[..8].iter().chain(&b[9..18]).all(u8::is_ascii_digit)
    {
        return None;
    }
    let iso = format!(
        "{}-{}-{}T{}:{}:{}.{}Z",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13],
        &stamp[13..15],
        &stamp[15..18]
    );
    Timestamp::parse(&iso).ok()
}

/// The backups in `location`, newest first (files with other names are ignored).
pub fn list(location: &Path) -> std::io::Result<Vec<BackupInfo>> {
    let entries = match std::fs::read_dir(location) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(created_at) = parse_name(&name) else {
            continue;
        };
        let meta = e.metadata()?;
        if !meta.is_file() {
            continue;
        }
        out.push(BackupInfo {
            filename: name,
            path: e.path(),
            size: meta.len(),
            created_at,
        });
    }
    out.sort_by(|a, b| b.filename.cmp(&a.filename));
    Ok(out)
}

/// The backup named `filename` in `location`, if the name is a backup's and it exists.
pub(crate) fn find(location: &Path, filename: &str) -> std::io::Result<Option<BackupInfo>> {
    if parse_name(filename).is_none() {
        return Ok(None);
    }
    Ok(list(location)?.into_iter().find(|b| b.filename == filename))
}

/// Whether `name` is a backup file's name (`seqr-backup-<UTC time>.seqrbak`, nothing else).
pub fn is_backup_file_name(name: &str) -> bool {
    parse_name(name).is_some()
}

/// Deletes all but the newest `keep` backups; returns how many were deleted.
pub fn prune(location: &Path, keep: u64) -> std::io::Result<usize> {
    let mut removed = 0;
    for old in list(location)?.into_iter().skip(keep as usize) {
        std::fs::remove_file(&old.path)?;
        removed += 1;
    }
    Ok(removed)
}

fn text_setting(db: &MetaDb, name: SettingName) -> Option<String> {
    match settings::get(db, name).ok().flatten()?.value {
        SettingValue::Json(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s),
        _ => None,
    }
}

/// `BackupLocation`, else `<data dir>/Backups`; a relative setting is under the data directory.
pub(crate) fn location(db: &MetaDb, data_dir: &Path) -> PathBuf {
    match text_setting(db, SettingName::BackupLocation) {
        Some(p) if Path::new(&p).is_absolute() => PathBuf::from(p),
        Some(p) => data_dir.join(p),
        None => data_dir.join(DEFAULT_LOCATION_DIR),
    }
}

/// `BackupsToKeep` (0 turns scheduled backups off), else [`DEFAULT_BACKUPS_TO_KEEP`].
pub(crate) fn backups_to_keep(db: &MetaDb) -> u64 {
    match settings::get(db, SettingName::BackupsToKeep).ok().flatten() {
        Some(s) => match s.value {
            SettingValue::Json(v) => v.as_u64().unwrap_or(DEFAULT_BACKUPS_TO_KEEP),
            SettingValue::Sealed(_) => DEFAULT_BACKUPS_TO_KEEP,
        },
        None => DEFAULT_BACKUPS_TO_KEEP,
    }
}

/// What the server needs to make backups: its data directory, and a gate so one runs at a time.
pub(crate) struct Backups {
    pub(crate) data_dir: PathBuf,
    pub(crate) running: tokio::sync::Mutex<()>,
}

impl Backups {
    pub(crate) fn new(data_dir: PathBuf) -> Backups {
        Backups {
            data_dir,
            running: tokio::sync::Mutex::new(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_nothing_else_is_a_backup() {
        let at = Timestamp::parse("2026-12-03T16:15:00.1234567Z").unwrap();
        let name = file_name(at);
        assert_eq!(name, "seqr-backup-20261203T161500123Z.seqrbak");
        assert_eq!(
            parse_name(&name).unwrap().to_iso(),
            "2026-12-03T16:15:00.1230000Z"
        );
        for bad in [
            "../seqr-backup-20261203T161500123Z.seqrbak",
            "seqr-backup-20261203T161500123Z.seqrbak/..",
            "seqr-backup-2026120316150012Z.seqrbak",
            "seqr-backup-20261203T16150012xZ.seqrbak",
            "meta.db",
            "",
        ] {
            assert!(parse_name(bad).is_none(), "{bad}");
        }
    }
}
