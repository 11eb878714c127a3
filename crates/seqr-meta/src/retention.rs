//! Retention policies (`RetentionPolicyEntity`, seq-compat 3.6): delete events older than an age,
//! optionally only those matching a filter.
//!
//! Ids are `retentionpolicy-<n>` with `n` from an AUTOINCREMENT column, so a number is never
//! given to a second policy. The retention time is kept in ticks (100 ns, as .NET's `TimeSpan`);
//! the filter is strict expression text the caller validated with the query parser.

use std::fmt;

use rusqlite::{OptionalExtension, Row, params};

use crate::db::MetaDb;
use crate::error::DbError;

/// Every policy id starts with this.
pub const ID_PREFIX: &str = "retentionpolicy-";

/// A stored policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// `Id`: `retentionpolicy-<n>`.
    pub id: String,
    /// `RetentionTime` in ticks (100 ns); always positive.
    pub retention_ticks: i64,
    /// Only events matching this strict expression are deleted (`None`: every event).
    pub filter: Option<String>,
    /// Creation time (unix seconds).
    pub created_at: i64,
    /// Last change (unix seconds).
    pub updated_at: i64,
    /// Who made the last change (a user or API key id; `None` when unknown).
    pub updated_by: Option<String>,
}

/// A policy's settings, as created or replaced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicySettings {
    /// `RetentionTime` in ticks; must be positive.
    pub retention_ticks: i64,
    /// The filter, if any.
    pub filter: Option<String>,
}

/// Why a policy could not be stored.
#[derive(Debug)]
#[non_exhaustive]
pub enum RetentionPolicyError {
    /// No policy has this id.
    NotFound,
    /// The retention time is zero or negative.
    NotPositive,
    /// The database failed.
    Db(DbError),
}

impl From<DbError> for RetentionPolicyError {
    fn from(e: DbError) -> Self {
        RetentionPolicyError::Db(e)
    }
}

impl fmt::Display for RetentionPolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetentionPolicyError::NotFound => f.write_str("no such retention policy"),
            RetentionPolicyError::NotPositive => {
                f.write_str("a retention policy's retention time must be positive")
            }
            RetentionPolicyError::Db(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RetentionPolicyError {}

/// The row number an id names, when it is a well-formed policy id.
fn number(id: &str) -> Option<i64> {
    let digits = id.strip_prefix(ID_PREFIX)?;
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n > 0)
}

const COLUMNS: &str = "id, retention_ticks, filter, created_at, updated_at, updated_by";

fn from_row(row: &Row<'_>) -> rusqlite::Result<RetentionPolicy> {
    let n: i64 = row.get(0)?;
    Ok(RetentionPolicy {
        id: format!("{ID_PREFIX}{n}"),
        retention_ticks: row.get(1)?,
        filter: row.get(2)?,
        created_at: row.get(3)?,
        updated_at: row.get(4)?,
        updated_by: row.get(5)?,
    })
}

fn fetch(c: &rusqlite::Connection, n: i64) -> rusqlite::Result<Option<RetentionPolicy>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM retention_policies WHERE id = ?1"
    ))?
    .query_row([n], from_row)
    .optional()
}

/// Creates a policy and returns it with its new id.
pub fn create(
    db: &MetaDb,
    settings: &PolicySettings,
    by: Option<&str>,
    now: i64,
) -> Result<RetentionPolicy, RetentionPolicyError> {
    if settings.retention_ticks <= 0 {
        return Err(RetentionPolicyError::NotPositive);
    }
    db.write(|tx| {
        tx.execute(
            "INSERT INTO retention_policies (retention_ticks, filter, created_at, updated_at, \
             updated_by) VALUES (?1, ?2, ?3, ?3, ?4)",
            params![settings.retention_ticks, settings.filter, now, by],
        )
        .map_err(DbError::from)?;
        let n = tx.last_insert_rowid();
        let created = fetch(tx, n).map_err(DbError::from)?;
        created.ok_or(RetentionPolicyError::NotFound)
    })
}

/// Every policy, oldest first.
pub fn list(db: &MetaDb) -> Result<Vec<RetentionPolicy>, DbError> {
    db.read(|c| {
        c.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM retention_policies ORDER BY id"
        ))?
        .query_map([], from_row)?
        .collect()
    })
}

/// One policy; `None` for an unknown or malformed id.
pub fn get(db: &MetaDb, id: &str) -> Result<Option<RetentionPolicy>, DbError> {
    let Some(n) = number(id) else {
        return Ok(None);
    };
    db.read(|c| fetch(c, n))
}

/// Replaces a policy's settings.
pub fn update(
    db: &MetaDb,
    id: &str,
    settings: &PolicySettings,
    by: Option<&str>,
    now: i64,
) -> Result<RetentionPolicy, RetentionPolicyError> {
    let n = number(id).ok_or(RetentionPolicyError::NotFound)?;
    if settings.retention_ticks <= 0 {
        return Err(RetentionPolicyError::NotPositive);
    }
    db.write(|tx| {
        let changed = tx
            .execute(
                "UPDATE retention_policies SET retention_ticks = ?1, filter = ?2, \
                 updated_at = ?3, updated_by = ?4 WHERE id = ?5",
                params![settings.retention_ticks, settings.filter, now, by, n],
            )
            .map_err(DbError::from)?;
        if changed == 0 {
            return Err(RetentionPolicyError::NotFound);
        }
        fetch(tx, n)
            .map_err(DbError::from)?
            .ok_or(RetentionPolicyError::NotFound)
    })
}

/// Deletes a policy; returns it as it was.
pub fn delete(db: &MetaDb, id: &str) -> Result<RetentionPolicy, RetentionPolicyError> {
    let n = number(id).ok_or(RetentionPolicyError::NotFound)?;
    db.write(|tx| {
        let old = fetch(tx, n)
            .map_err(DbError::from)?
            .ok_or(RetentionPolicyError::NotFound)?;
        tx.execute("DELETE FROM retention_policies WHERE id = ?1", [n])
            .map_err(DbError::from)?;
        Ok(old)
    })
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn only_well_formed_ids_name_a_row() {
        assert_eq!(number("retentionpolicy-17"), Some(17));
        for bad in [
            "retentionpolicy-",
            "retentionpolicy-0",
            "retentionpolicy--1",
            "retentionpolicy-1x",
            "retentionpolicy-+1",
            "retentionpolicy-99999999999999999999",
            "RetentionPolicy-1",
            "signal-1",
            "17",
        ] {
            assert_eq!(number(bad), None, "{bad}");
        }
    }
}
