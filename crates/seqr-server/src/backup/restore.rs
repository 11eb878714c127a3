//! Restoring a backup into a new data directory, offline.
//!
//! Everything is written into a temporary directory beside the target and checked there: the
//! key opens the backup's key-check value (before any data is read), every frame's checksum or
//! authentication tag, every part's checksums ([`seqr_store::verify_copy`]), SQLite's
//! integrity check and the key check stored in the restored metadata. Only then is the
//! directory renamed to the target, so a failed restore leaves nothing behind.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use seqr_meta::secret::{CHECK_VALUE_KEY, SecretKey};

use super::format::{BodyReader, FORMAT_VERSION, read_header};
use super::make::{create_private_dir, private_file};
use super::{META_ENTRY, STORE_DIR, STORE_PREFIX};

/// Why a restore failed; the target was not created.
#[derive(Debug)]
pub enum RestoreError {
    /// The target exists and is not an empty directory.
    TargetNotEmpty(PathBuf),
    /// The backup file is damaged, truncated or not a backup.
    Damaged { file: PathBuf, detail: String },
    /// The secret key does not open this backup.
    WrongKey,
    /// A file could not be read or written.
    Io { path: PathBuf, source: io::Error },
    /// Made by a newer seqr.
    UnknownFormat(u64),
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestoreError::TargetNotEmpty(p) => write!(
                f,
                "{} exists and is not empty; restore into a new (or empty) directory",
                p.display()
            ),
            RestoreError::Damaged { file, detail } => {
                write!(
                    f,
                    "the backup {} cannot be restored: {detail}",
                    file.display()
                )
            }
            RestoreError::WrongKey => f.write_str(
                "the secret key is not the one this backup was made with (it does not open the \
                 backup's key-check value); give the original instance's key with SEQR_SECRET_KEY, \
                 --secret-key-file or --secret-key-provider. Nothing was restored",
            ),
            RestoreError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            RestoreError::UnknownFormat(v) => write!(
                f,
                "the backup has format version {v}, newer than this seqr understands ({FORMAT_VERSION}); \
                 restore it with a newer seqr"
            ),
        }
    }
}

impl std::error::Error for RestoreError {}

/// What a restore brought back.
#[derive(Clone, Debug)]
pub struct RestoreReport {
    pub created_at: String,
    pub events: u64,
    pub parts: usize,
    pub encrypted: bool,
}

/// Restores `from` into the data directory `target` (which must not exist, or be empty).
pub fn restore(from: &Path, target: &Path, key: &SecretKey) -> Result<RestoreReport, RestoreError> {
    if target.exists() {
        let empty = std::fs::read_dir(target)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            return Err(RestoreError::TargetNotEmpty(target.to_owned()));
        }
    }
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "seqr-data".into());
    let staging = parent.join(format!(".{name}.restoring-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let result = restore_into(from, &staging, key);
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let io_at = |path: &Path| {
        let path = path.to_owned();
        move |source| RestoreError::Io { path, source }
    };
    if target.exists() {
        std::fs::remove_dir(target).map_err(io_at(target))?;
    }
    if let Err(source) = std::fs::rename(&staging, target) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(RestoreError::Io {
            path: target.to_owned(),
            source,
        });
    }
    File::open(&parent)
        .and_then(|d| d.sync_all())
        .map_err(io_at(&parent))?;
    Ok(report)
}

fn damaged(from: &Path) -> impl Fn(io::Error) -> RestoreError + '_ {
    move |e| match e.kind() {
        io::ErrorKind::InvalidData => RestoreError::Damaged {
            file: from.to_owned(),
            detail: e.to_string(),
        },
        _ => RestoreError::Io {
            path: from.to_owned(),
            source: e,
        },
    }
}

fn restore_into(
    from: &Path,
    staging: &Path,
    key: &SecretKey,
) -> Result<RestoreReport, RestoreError> {
    let io_at = |path: &Path| {
        let path = path.to_owned();
        move |source| RestoreError::Io { path, source }
    };
    let file = File::open(from).map_err(io_at(from))?;
    let mut input = BufReader::with_capacity(1 << 20, file);
    let (header, raw) = read_header(&mut input).map_err(damaged(from))?;
    let bad_header = |what: &str| RestoreError::Damaged {
        file: from.to_owned(),
        detail: format!("its header lacks {what}"),
    };
    let format = header["Format"]
        .as_u64()
        .ok_or_else(|| bad_header("Format"))?;
    if format > FORMAT_VERSION {
        return Err(RestoreError::UnknownFormat(format));
    }
    let encrypted = header["Encrypted"]
        .as_bool()
        .ok_or_else(|| bad_header("Encrypted"))?;
    use base64::Engine as _;
    let check = header["KeyCheck"]
        .as_str()
        .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
        .ok_or_else(|| bad_header("KeyCheck"))?;
    // Before reading any data: the restored instance needs this key for its sealed settings.
    key.verify_check_value(&check)
        .map_err(|_| RestoreError::WrongKey)?;

    create_private_dir(staging).map_err(io_at(staging))?;
    let mut body = BodyReader::new(input, raw, encrypted.then_some(key));
    let mut seen_meta = false;
    let mut seen = std::collections::HashSet::new();
    // Every directory written into, synced at the end so the files' entries are durable too.
    let mut dirs = std::collections::BTreeSet::from([staging.to_owned()]);
    while let Some((name, len)) = body.entry().map_err(damaged(from))? {
        let rel = checked_name(&name).ok_or_else(|| RestoreError::Damaged {
            file: from.to_owned(),
            detail: format!("it holds an unexpected entry `{}`", name.escape_debug()),
        })?;
        if !seen.insert(name.clone()) {
            return Err(RestoreError::Damaged {
                file: from.to_owned(),
                detail: format!("it holds `{name}` twice"),
            });
        }
        seen_meta |= name == META_ENTRY;
        let path = staging.join(rel);
        if let Some(dir) = path.parent()
            && dirs.insert(dir.to_owned())
        {
            create_private_dir(dir).map_err(io_at(dir))?;
        }
        let mut out = private_file(&path).map_err(io_at(&path))?;
        let copied = io::copy(&mut (&mut body).take(len), &mut out).map_err(damaged(from))?;
        if copied != len {
            return Err(RestoreError::Damaged {
                file: from.to_owned(),
                detail: "it ends inside an entry".into(),
            });
        }
        out.flush()
            .and_then(|()| out.sync_all())
            .map_err(io_at(&path))?;
    }
    body.finish().map_err(damaged(from))?;
    if !seen_meta {
        return Err(RestoreError::Damaged {
            file: from.to_owned(),
            detail: "it holds no metadata database".into(),
        });
    }
    let events_dir = staging.join(STORE_DIR);
    create_private_dir(&events_dir).map_err(io_at(&events_dir))?;
    let store = if events_dir.join(seqr_store::MANIFEST_FILE).exists() {
        seqr_store::verify_copy(&events_dir).map_err(|e| RestoreError::Damaged {
            file: from.to_owned(),
            detail: format!("a restored event file fails its checks: {e}"),
        })?
    } else {
        seqr_store::SnapshotReport::default()
    };
    let meta_path = staging.join(META_ENTRY);
    let db = seqr_meta::MetaDb::open(&meta_path).map_err(|e| RestoreError::Damaged {
        file: from.to_owned(),
        detail: format!("the restored metadata database does not open: {e}"),
    })?;
    let integrity = db.integrity_check().map_err(|e| RestoreError::Damaged {
        file: from.to_owned(),
        detail: format!("the restored metadata database cannot be checked: {e}"),
    })?;
    if let Err(problem) = integrity {
        return Err(RestoreError::Damaged {
            file: from.to_owned(),
            detail: format!("the restored metadata database is damaged: {problem}"),
        });
    }
    let stored = seqr_meta::settings::get_internal(&db, CHECK_VALUE_KEY)
        .ok()
        .flatten()
        .unwrap_or_default();
    key.verify_check_value(&stored)
        .map_err(|_| RestoreError::WrongKey)?;
    drop(db);
    dirs.insert(events_dir);
    for dir in dirs.iter().rev() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_at(dir))?;
    }
    Ok(RestoreReport {
        created_at: header["CreatedAt"].as_str().unwrap_or_default().to_owned(),
        events: store.events,
        parts: store.parts,
        encrypted,
    })
}

/// The relative path an entry may be restored to: `meta.db`, `events/MANIFEST` or
/// `events/p-<8 digits>/part-<16 hex>.part`; nothing else (no `..`, no absolute path, never
/// `secret.key`).
fn checked_name(name: &str) -> Option<&str> {
    if name == META_ENTRY {
        return Some(name);
    }
    let rest = name.strip_prefix(STORE_PREFIX)?;
    if rest == seqr_store::MANIFEST_FILE {
        return Some(name);
    }
    let (day, file) = rest.split_once('/')?;
    let digits = day.strip_prefix("p-")?;
    let hex = file.strip_prefix("part-")?.strip_suffix(".part")?;
    let ok = digits.len() == 8
        && digits.bytes().all(|b| b.is_ascii_digit())
        && hex.len() == 16
        && hex.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::checked_name;

    #[test]
    fn only_known_entry_names_are_restored() {
        for good in [
            "meta.db",
            "events/MANIFEST",
            "events/p-20260101/part-00000000000000a1.part",
        ] {
            assert_eq!(checked_name(good), Some(good));
        }
        for bad in [
            "secret.key",
            "../meta.db",
            "/etc/passwd",
            "events/../meta.db",
            "events/p-2026010/part-00000000000000a1.part",
            "events/p-20260101/../../x.part",
            "events/p-20260101/part-00000000000000a1.part/x",
            "events/wal-0000000000000001.log",
        ] {
            assert_eq!(checked_name(bad), None, "{bad}");
        }
    }
}
