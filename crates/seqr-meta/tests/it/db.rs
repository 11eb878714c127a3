use seqr_meta::migrations::SCHEMA_VERSION;
use seqr_meta::{MetaDb, OpenError};

use crate::support::temp_db;

#[test]
fn opens_a_real_file_in_wal_mode_with_full_sync_and_foreign_keys() {
    let (_dir, path, db) = temp_db();
    assert!(path.exists());
    assert_eq!(db.path(), Some(path.as_path()));
    assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
    drop(db);
    // Journal mode is persistent in the file; check it from an independent connection.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn reopening_keeps_data_and_does_not_rerun_migrations() {
    let (_dir, path, db) = temp_db();
    seqr_meta::users::create(
        &db,
        &seqr_meta::users::NewUser {
            username: "alice".into(),
            ..Default::default()
        },
        1,
    )
    .unwrap();
    drop(db);
    let db = MetaDb::open(&path).unwrap();
    assert_eq!(seqr_meta::users::count(&db).unwrap(), 1);
    // The default key was seeded once, not twice.
    assert_eq!(seqr_meta::apikeys::list(&db).unwrap().len(), 1);
}

#[test]
fn a_database_from_a_newer_seqr_is_refused() {
    let (_dir, path, db) = temp_db();
    drop(db);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 3)
        .unwrap();
    drop(conn);
    let err = MetaDb::open(&path).unwrap_err();
    match &err {
        OpenError::TooNew {
            found, supported, ..
        } => {
            assert_eq!(*found, SCHEMA_VERSION + 3);
            assert_eq!(*supported, SCHEMA_VERSION);
        }
        other => panic!("expected TooNew, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("meta.db") && msg.contains("newer seqr"),
        "{msg}"
    );
}

#[test]
fn unopenable_path_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = MetaDb::open(&dir.path().join("missing/dir/meta.db")).unwrap_err();
    assert!(matches!(err, OpenError::Open { .. }));
    assert!(
        err.to_string()
            .contains("cannot open the metadata database")
    );
}

#[test]
fn in_memory_database_has_the_schema() {
    let db = MetaDb::open_in_memory().unwrap();
    assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(db.path(), None);
}
