//! Re-encrypting every sealed value under a new instance secret key (`seqr secret rotate`).
//!
//! One immediate transaction does it all: the old key is checked against the stored key-check
//! value, every sealed value is opened with the old key and sealed again under the new one, and
//! the check value is replaced by one under the new key. Any failure rolls everything back, so
//! the database is never partly under one key and partly under the other.
//!
//! Sealed values live in `settings.sealed_value` only; a table that gains a sealed column must be
//! added to [`rotate`].

use std::fmt;

use rusqlite::{OptionalExtension, params};

use crate::db::MetaDb;
use crate::error::DbError;
use crate::secret::{CHECK_VALUE_KEY, OpenError, SecretKey, WrongKey, reseal};
use crate::settings::aad_for_id;

/// What [`rotate`] changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotated {
    /// Sealed settings re-encrypted.
    pub sealed_settings: usize,
}

/// Why [`check_key`] refused a key.
#[derive(Debug)]
#[non_exhaustive]
pub enum CheckKeyError {
    /// The database holds no key-check value (the server never started on it).
    NoCheckValue,
    /// The key does not open the stored key-check value.
    WrongKey(WrongKey),
    /// The database failed.
    Db(DbError),
}

impl fmt::Display for CheckKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckKeyError::NoCheckValue => f.write_str(NO_CHECK_VALUE),
            CheckKeyError::WrongKey(e) => e.fmt(f),
            CheckKeyError::Db(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CheckKeyError {}

/// Why [`rotate`] changed nothing.
#[derive(Debug)]
#[non_exhaustive]
pub enum RotateError {
    /// The database holds no key-check value (the server never started on it).
    NoCheckValue,
    /// The old key does not open the stored key-check value.
    WrongKey(WrongKey),
    /// The new key is the old key.
    SameKey,
    /// A sealed value does not open under the old key (it was altered or sealed under yet another key).
    Unreadable {
        /// The row's id, e.g. `setting-openidconnectclientsecret`.
        id: String,
        /// Why it does not open.
        error: OpenError,
    },
    /// The database failed.
    Db(DbError),
}

impl fmt::Display for RotateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RotateError::NoCheckValue => f.write_str(NO_CHECK_VALUE),
            RotateError::WrongKey(e) => e.fmt(f),
            RotateError::SameKey => f.write_str("the new secret key is the current one"),
            RotateError::Unreadable { id, error } => write!(
                f,
                "the sealed value of {id} does not open under the current secret key ({error}); nothing was changed"
            ),
            RotateError::Db(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RotateError {}

impl From<DbError> for RotateError {
    fn from(e: DbError) -> Self {
        RotateError::Db(e)
    }
}

const NO_CHECK_VALUE: &str =
    "the metadata database holds no secret key check value; start the server on it once first";

/// Whether `key` opens the stored key-check value (the key this database's secrets are sealed under).
pub fn check_key(db: &MetaDb, key: &SecretKey) -> Result<(), CheckKeyError> {
    let stored = crate::settings::get_internal(db, CHECK_VALUE_KEY)
        .map_err(CheckKeyError::Db)?
        .ok_or(CheckKeyError::NoCheckValue)?;
    key.verify_check_value(&stored)
        .map_err(CheckKeyError::WrongKey)
}

/// Re-encrypts every sealed value and the key-check value from `old` to `new`, in one transaction;
/// on any error nothing was changed. `now` (unix seconds) stamps the new check value; the settings'
/// `updated_at` is left alone, as their values did not change.
pub fn rotate(
    db: &MetaDb,
    old: &SecretKey,
    new: &SecretKey,
    now: i64,
) -> Result<Rotated, RotateError> {
    if old.same_as(new) {
        return Err(RotateError::SameKey);
    }
    db.write(|tx| {
        let stored: Option<Vec<u8>> = tx
            .query_row(
                "SELECT value FROM internal_values WHERE key = ?1",
                [CHECK_VALUE_KEY],
                |r| r.get(0),
            )
            .optional()
            .map_err(DbError::from)?;
        let stored = stored.ok_or(RotateError::NoCheckValue)?;
        old.verify_check_value(&stored)
            .map_err(RotateError::WrongKey)?;

        let rows = {
            let mut stmt = tx
                .prepare("SELECT id, sealed_value FROM settings WHERE sealed_value IS NOT NULL ORDER BY id")
                .map_err(DbError::from)?;
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))
                .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
                .map_err(DbError::from)?
        };
        for (id, sealed) in &rows {
            let resealed = reseal(old, new, sealed, &aad_for_id(id)).map_err(|error| {
                RotateError::Unreadable {
                    id: id.clone(),
                    error,
                }
            })?;
            tx.execute(
                "UPDATE settings SET sealed_value = ?2 WHERE id = ?1",
                params![id, resealed],
            )
            .map_err(DbError::from)?;
        }
        tx.execute(
            "UPDATE internal_values SET value = ?2, updated_at = ?3 WHERE key = ?1",
            params![CHECK_VALUE_KEY, new.check_value(), now],
        )
        .map_err(DbError::from)?;
        Ok(Rotated {
            sealed_settings: rows.len(),
        })
    })
}
