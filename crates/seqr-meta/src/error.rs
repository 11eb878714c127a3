//! Errors shared by the metadata repositories.
//!
//! Each operation whose caller must tell failures apart has its own enum (for example
//! [`crate::users::CreateUserError`]); everything else returns [`DbError`], which means "the
//! database itself failed" and maps to a 500/503 at the API.

use std::fmt;
use std::path::PathBuf;

/// The metadata database failed (I/O, corruption, a constraint the repositories did not expect).
#[derive(Debug)]
pub struct DbError {
    source: rusqlite::Error,
}

impl DbError {
    /// The underlying SQLite error.
    pub fn sqlite(&self) -> &rusqlite::Error {
        &self.source
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(source: rusqlite::Error) -> DbError {
        DbError { source }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "metadata database error: {}", self.source)
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Opening (and migrating) the metadata database failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// SQLite could not open or configure the file.
    Open {
        /// The database file (`None` for an in-memory database).
        path: Option<PathBuf>,
        /// Why.
        source: rusqlite::Error,
    },
    /// The database was written by a newer seqr: its schema version is above what this binary knows.
    TooNew {
        /// The database file.
        path: Option<PathBuf>,
        /// Schema version found in the file (`PRAGMA user_version`).
        found: u32,
        /// Newest schema version this binary can use.
        supported: u32,
    },
    /// A migration failed; the database was left at the previous version.
    Migration {
        /// The database file.
        path: Option<PathBuf>,
        /// The migration that failed.
        version: u32,
        /// Why.
        source: rusqlite::Error,
    },
}

fn show_path(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => p.display().to_string(),
        None => "(in memory)".to_owned(),
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Open { path, source } => write!(
                f,
                "cannot open the metadata database {}: {source}",
                show_path(path)
            ),
            OpenError::TooNew {
                path,
                found,
                supported,
            } => write!(
                f,
                "the metadata database {} has schema version {found}, but this seqr only knows versions up to {supported}; it was written by a newer seqr: run that version (or restore a backup made by this one)",
                show_path(path)
            ),
            OpenError::Migration {
                path,
                version,
                source,
            } => write!(
                f,
                "migrating the metadata database {} to schema version {version} failed (nothing was changed): {source}",
                show_path(path)
            ),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Open { source, .. } | OpenError::Migration { source, .. } => Some(source),
            OpenError::TooNew { .. } => None,
        }
    }
}

/// Whether a SQLite error is a UNIQUE or PRIMARY KEY constraint violation.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(err, _)
            if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// Whether a SQLite error is a FOREIGN KEY constraint violation.
pub(crate) fn is_foreign_key_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(err, _)
            if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY
    )
}
