//! The metadata database: one SQLite file, `meta.db`, in the data directory.
//!
//! WAL mode with `synchronous=FULL` (a metadata change acknowledged to an administrator must
//! survive a power cut), foreign keys enforced, and a busy timeout so a second process (such as
//! `seqr audit verify` or `seqr user reset-password` on a stopped server) waits instead of failing.
//! There is one connection, behind a mutex: it is the single writer, and reads share it for now
//! (metadata traffic is tiny next to event traffic).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

use crate::error::{DbError, OpenError};
use crate::migrations;

/// How long a statement waits for another process's lock before failing with `SQLITE_BUSY`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The file name of the metadata database inside the data directory.
pub const FILE_NAME: &str = "meta.db";

/// An open, migrated metadata database.
#[derive(Debug)]
pub struct MetaDb {
    conn: Mutex<Connection>,
    path: Option<PathBuf>,
}

impl MetaDb {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    ///
    /// Callers normally pass `<data dir>/meta.db` ([`FILE_NAME`]). Refuses a database written by
    /// a newer seqr ([`OpenError::TooNew`]).
    pub fn open(path: &Path) -> Result<MetaDb, OpenError> {
        let owned = Some(path.to_path_buf());
        let conn = Connection::open(path).map_err(|source| OpenError::Open {
            path: owned.clone(),
            source,
        })?;
        MetaDb::configure(conn, owned)
    }

    /// A private in-memory database with the full schema, for tests.
    pub fn open_in_memory() -> Result<MetaDb, OpenError> {
        let conn = Connection::open_in_memory()
            .map_err(|source| OpenError::Open { path: None, source })?;
        MetaDb::configure(conn, None)
    }

    fn configure(mut conn: Connection, path: Option<PathBuf>) -> Result<MetaDb, OpenError> {
        let pragmas = |conn: &Connection| -> rusqlite::Result<()> {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            // `journal_mode` answers with the resulting mode; in-memory databases stay `memory`.
            let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", true)?;
            Ok(())
        };
        pragmas(&conn).map_err(|source| OpenError::Open {
            path: path.clone(),
            source,
        })?;
        migrations::migrate(&mut conn, path.as_deref())?;
        Ok(MetaDb {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// The database file (`None` when in memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version of the open database (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32, DbError> {
        self.read(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))
    }

    /// Writes a consistent copy of the whole database to `dest` (which must not exist) with
    /// `VACUUM INTO`, for backups: SQLite reads it in one transaction, so changes made
    /// meanwhile are either wholly in the copy or not at all, and the server keeps running.
    pub fn snapshot_to(&self, dest: &Path) -> Result<(), DbError> {
        let dest = dest.to_string_lossy().into_owned();
        self.read(|c| c.execute("VACUUM INTO ?1", [dest]).map(|_| ()))
    }

    /// `PRAGMA integrity_check` (a restore runs it before using a database): `Ok` when SQLite
    /// reports `ok`, else its first complaint.
    pub fn integrity_check(&self) -> Result<Result<(), String>, DbError> {
        let answer: String =
            self.read(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get(0)))?;
        Ok(if answer == "ok" { Ok(()) } else { Err(answer) })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-done change behind: every change runs
        // in a transaction that rolls back when dropped. So a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with the connection (for reads and single-statement writes).
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        let conn = self.lock();
        f(&conn).map_err(DbError::from)
    }

    /// Runs `f` inside an immediate transaction, committing when it returns `Ok`.
    pub(crate) fn write<T, E>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError>,
    {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(DbError::from)?;
        let value = f(&tx)?;
        tx.commit().map_err(DbError::from)?;
        Ok(value)
    }
}

/// `n` random bytes as lower-case hex, for entity ids.
pub(crate) fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    let mut out = String::with_capacity(n * 2);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}
