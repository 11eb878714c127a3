//! Numbered schema migrations, tracked by `PRAGMA user_version`.
//!
//! Migration *n* (1-based) is `MIGRATIONS[n - 1]`; a database at `user_version = n` has had
//! migrations 1..=n applied. Each pending migration runs in its own transaction together with the
//! `user_version` bump, so a failure leaves the database at the previous version. Migrations are
//! append-only: never edit a released one, add the next number instead.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::error::OpenError;

/// The migrations, in order. Index 0 is schema version 1.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_retention_policies.sql"),
];

/// The newest schema version this binary knows.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings `conn` to [`SCHEMA_VERSION`], refusing a database newer than that.
pub(crate) fn migrate(conn: &mut Connection, path: Option<&Path>) -> Result<(), OpenError> {
    migrate_with(conn, path, MIGRATIONS)
}

fn migrate_with(
    conn: &mut Connection,
    path: Option<&Path>,
    migrations: &[&str],
) -> Result<(), OpenError> {
    let newest = migrations.len() as u32;
    let path_buf = || path.map(PathBuf::from);
    let found: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|source| OpenError::Open {
            path: path_buf(),
            source,
        })?;
    if found > newest {
        return Err(OpenError::TooNew {
            path: path_buf(),
            found,
            supported: newest,
        });
    }
    for version in (found + 1)..=newest {
        let sql = migrations[(version - 1) as usize];
        let apply = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()
        };
        apply(conn).map_err(|source| OpenError::Migration {
            path: path_buf(),
            version,
            source,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_database_reaches_the_newest_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, None).unwrap();
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        // Idempotent.
        migrate(&mut conn, None).unwrap();
    }

    #[test]
    fn a_failing_migration_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        let steps = [
            "CREATE TABLE a (x INTEGER);",
            "CREATE TABLE b (x INTEGER); INSERT INTO a VALUES (1); SELECT no_such_function();",
        ];
        let err = migrate_with(&mut conn, None, &steps).unwrap_err();
        assert!(
            matches!(err, OpenError::Migration { version: 2, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("schema version 2"), "{err}");
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 1);
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'b'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0);
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM a", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0);
    }

    #[test]
    fn newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn, None).unwrap_err();
        assert!(matches!(err, OpenError::TooNew { found, .. } if found == SCHEMA_VERSION + 1));
        assert!(err.to_string().contains("newer seqr"), "{err}");
    }
}
