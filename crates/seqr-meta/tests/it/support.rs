//! Shared test helpers.

use std::path::PathBuf;

use seqr_meta::MetaDb;

/// A database file in a fresh temporary directory (kept alive by the returned guard).
pub fn temp_db() -> (tempfile::TempDir, PathBuf, MetaDb) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    let db = MetaDb::open(&path).unwrap();
    (dir, path, db)
}
