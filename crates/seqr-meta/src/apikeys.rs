//! API keys (`ApiKeyEntity`, seq-compat 4.4) with their input settings (1.9) and counters.
//!
//! Tokens are never stored: the caller hashes the token (salted; see [`crate::token`]) and passes
//! the salt, the digest and a short plain prefix used to find candidate keys. The built-in
//! tokenless default key (`apikey-default`, title "None", `IsDefault`) always exists: its input
//! settings apply to requests that present no key.

use std::fmt;

use rusqlite::{OptionalExtension, Row, params};

use crate::db::{MetaDb, random_hex};
use crate::error::{DbError, is_foreign_key_violation};
use crate::permission::PermissionSet;

/// Id of the built-in tokenless default key.
pub const DEFAULT_KEY_ID: &str = "apikey-default";

/// One applied property: `{Name, Value}`, added to every event, overriding a same-named one.
#[derive(Clone, Debug, PartialEq)]
pub struct AppliedProperty {
    /// `Name`.
    pub name: String,
    /// `Value`.
    pub value: serde_json::Value,
}

/// `InputSettings`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InputSettings {
    /// `AppliedProperties`.
    pub applied_properties: Vec<AppliedProperty>,
    /// `Filter`: arrival filter expression (text; validated by the query layer).
    pub filter: Option<String>,
    /// `MinimumLevel`: a level name such as `Warning` (`None` accepts every level).
    pub minimum_level: Option<String>,
    /// `UseServerTimestamps`.
    pub use_server_timestamps: bool,
}

/// Per-key counters since the key was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApiKeyCounts {
    /// Events received.
    pub arrived_events: u64,
    /// Bytes received.
    pub arrived_bytes: u64,
    /// Events stored (after minimum level and filter).
    pub ingested_events: u64,
    /// Bytes stored.
    pub ingested_bytes: u64,
    /// Payloads refused as invalid.
    pub invalid_payloads: u64,
}

/// A stored API key.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiKeyEntity {
    /// `Id`: `apikey-<hex>`, or [`DEFAULT_KEY_ID`].
    pub id: String,
    /// `Title`.
    pub title: String,
    /// `TokenPrefix`: the token's first few characters, in plain text (`None` for the default key).
    pub token_prefix: Option<String>,
    /// Per-key salt of the token digest.
    pub token_salt: Option<Vec<u8>>,
    /// Salted digest of the token.
    pub token_digest: Option<Vec<u8>>,
    /// `OwnerId`: `None` for a shared key.
    pub owner_id: Option<String>,
    /// `AssignedPermissions`.
    pub assigned_permissions: PermissionSet,
    /// `InputSettings`.
    pub input_settings: InputSettings,
    /// `IsDefault`.
    pub is_default: bool,
    /// Creation time (unix seconds).
    pub created_at: i64,
    /// Counters.
    pub counts: ApiKeyCounts,
}

impl ApiKeyEntity {
    /// The permissions the key actually grants. A shared key grants its assigned permissions; a
    /// personal key's are delegated: assigned ∩ its owner's current permissions (pass
    /// `owner_permissions`; `None` — owner unknown — grants nothing).
    pub fn effective_permissions(&self, owner_permissions: Option<PermissionSet>) -> PermissionSet {
        match (&self.owner_id, owner_permissions) {
            (None, _) => self.assigned_permissions,
            (Some(_), Some(owner)) => self.assigned_permissions.intersection(owner),
            (Some(_), None) => PermissionSet::EMPTY,
        }
    }
}

/// A key to create.
#[derive(Clone, Debug, Default)]
pub struct NewApiKey {
    /// `Title`.
    pub title: String,
    /// Plain token prefix.
    pub token_prefix: String,
    /// Salt of the digest.
    pub token_salt: Vec<u8>,
    /// Salted digest of the token.
    pub token_digest: Vec<u8>,
    /// Owner (`None` = shared).
    pub owner_id: Option<String>,
    /// Assigned permissions.
    pub assigned_permissions: PermissionSet,
    /// Input settings.
    pub input_settings: InputSettings,
}

/// Changes to a key; `None` leaves a field as it is. The token cannot change.
#[derive(Clone, Debug, Default)]
pub struct ApiKeyUpdate {
    /// New title.
    pub title: Option<String>,
    /// New assigned permissions.
    pub assigned_permissions: Option<PermissionSet>,
    /// New input settings (replaces them).
    pub input_settings: Option<InputSettings>,
}

/// Why a key could not be created.
#[derive(Debug)]
#[non_exhaustive]
pub enum CreateApiKeyError {
    /// The owner id names no user.
    UnknownOwner,
    /// The title is empty.
    EmptyTitle,
    /// No token prefix, salt or digest.
    MissingToken,
    /// The database failed.
    Db(DbError),
}

/// Why a key could not be updated.
#[derive(Debug)]
#[non_exhaustive]
pub enum UpdateApiKeyError {
    /// No key has this id.
    NotFound,
    /// The new title is empty.
    EmptyTitle,
    /// The database failed.
    Db(DbError),
}

/// Why a key could not be deleted.
#[derive(Debug)]
#[non_exhaustive]
pub enum DeleteApiKeyError {
    /// No key has this id.
    NotFound,
    /// The built-in default key cannot be deleted.
    IsDefault,
    /// The database failed.
    Db(DbError),
}

impl From<DbError> for CreateApiKeyError {
    fn from(e: DbError) -> Self {
        CreateApiKeyError::Db(e)
    }
}
impl From<DbError> for UpdateApiKeyError {
    fn from(e: DbError) -> Self {
        UpdateApiKeyError::Db(e)
    }
}
impl From<DbError> for DeleteApiKeyError {
    fn from(e: DbError) -> Self {
        DeleteApiKeyError::Db(e)
    }
}

impl fmt::Display for CreateApiKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CreateApiKeyError::UnknownOwner => f.write_str("the API key's owner is not a user"),
            CreateApiKeyError::EmptyTitle => f.write_str("an API key needs a title"),
            CreateApiKeyError::MissingToken => {
                f.write_str("an API key needs a token prefix, salt and digest")
            }
            CreateApiKeyError::Db(e) => e.fmt(f),
        }
    }
}
impl fmt::Display for UpdateApiKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpdateApiKeyError::NotFound => f.write_str("no such API key"),
            UpdateApiKeyError::EmptyTitle => f.write_str("an API key needs a title"),
            UpdateApiKeyError::Db(e) => e.fmt(f),
        }
    }
}
impl fmt::Display for DeleteApiKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeleteApiKeyError::NotFound => f.write_str("no such API key"),
            DeleteApiKeyError::IsDefault => f.write_str(
                "the default API key (used for requests without a key) cannot be deleted",
            ),
            DeleteApiKeyError::Db(e) => e.fmt(f),
        }
    }
}
impl std::error::Error for CreateApiKeyError {}
impl std::error::Error for UpdateApiKeyError {}
impl std::error::Error for DeleteApiKeyError {}

fn properties_to_json(props: &[AppliedProperty]) -> String {
    let array: Vec<serde_json::Value> = props
        .iter()
        .map(|p| {
            let mut o = serde_json::Map::new();
            o.insert("Name".into(), serde_json::Value::String(p.name.clone()));
            o.insert("Value".into(), p.value.clone());
            serde_json::Value::Object(o)
        })
        .collect();
    serde_json::Value::Array(array).to_string()
}

fn properties_from_json(text: &str) -> Vec<AppliedProperty> {
    let Ok(serde_json::Value::Array(items)) = serde_json::from_str(text) else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|item| {
            let serde_json::Value::Object(mut o) = item else {
                return None;
            };
            let name = o.remove("Name")?.as_str()?.to_owned();
            let value = o.remove("Value").unwrap_or(serde_json::Value::Null);
            Some(AppliedProperty { name, value })
        })
        .collect()
}

const COLUMNS: &str = "id, title, token_prefix, token_salt, token_digest, owner_id, \
     assigned_permissions, applied_properties, filter, minimum_level, use_server_timestamps, \
     is_default, created_at, arrived_events, arrived_bytes, ingested_events, ingested_bytes, \
     invalid_payloads";

fn from_row(row: &Row<'_>) -> rusqlite::Result<ApiKeyEntity> {
    let bits: i64 = row.get(6)?;
    let props: String = row.get(7)?;
    let count = |i: usize| -> rusqlite::Result<u64> { Ok(row.get::<_, i64>(i)?.max(0) as u64) };
    Ok(ApiKeyEntity {
        id: row.get(0)?,
        title: row.get(1)?,
        token_prefix: row.get(2)?,
        token_salt: row.get(3)?,
        token_digest: row.get(4)?,
        owner_id: row.get(5)?,
        // Unknown bits grant nothing rather than failing the whole read.
        assigned_permissions: PermissionSet::from_bits((bits & 0x7f) as u8).unwrap_or_default(),
        input_settings: InputSettings {
            applied_properties: properties_from_json(&props),
            filter: row.get(8)?,
            minimum_level: row.get(9)?,
            use_server_timestamps: row.get(10)?,
        },
        is_default: row.get(11)?,
        created_at: row.get(12)?,
        counts: ApiKeyCounts {
            arrived_events: count(13)?,
            arrived_bytes: count(14)?,
            ingested_events: count(15)?,
            ingested_bytes: count(16)?,
            invalid_payloads: count(17)?,
        },
    })
}

fn query(db: &MetaDb, clause: &str, arg: Option<&str>) -> Result<Vec<ApiKeyEntity>, DbError> {
    db.read(|c| {
        let sql = format!("SELECT {COLUMNS} FROM api_keys {clause}");
        let mut stmt = c.prepare_cached(&sql)?;
        match arg {
            Some(a) => stmt.query_map([a], from_row)?.collect(),
            None => stmt.query_map([], from_row)?.collect(),
        }
    })
}

/// Creates a key; returns it with its new id.
pub fn create(db: &MetaDb, new: &NewApiKey, now: i64) -> Result<ApiKeyEntity, CreateApiKeyError> {
    if new.title.trim().is_empty() {
        return Err(CreateApiKeyError::EmptyTitle);
    }
    if new.token_prefix.is_empty() || new.token_salt.is_empty() || new.token_digest.is_empty() {
        return Err(CreateApiKeyError::MissingToken);
    }
    let id = format!("apikey-{}", random_hex(10));
    let s = &new.input_settings;
    let inserted = db.read(|c| {
        c.execute(
            "INSERT INTO api_keys (id, title, token_prefix, token_salt, token_digest, owner_id, \
             assigned_permissions, applied_properties, filter, minimum_level, \
             use_server_timestamps, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                id,
                new.title,
                new.token_prefix,
                new.token_salt,
                new.token_digest,
                new.owner_id,
                new.assigned_permissions.bits(),
                properties_to_json(&s.applied_properties),
                s.filter,
                s.minimum_level,
                s.use_server_timestamps,
                now,
            ],
        )
    });
    match inserted {
        Ok(_) => {}
        Err(e) if is_foreign_key_violation(e.sqlite()) => {
            return Err(CreateApiKeyError::UnknownOwner);
        }
        Err(e) => return Err(e.into()),
    }
    Ok(get(db, &id)?.expect("the key was just inserted"))
}

/// The key with this id.
pub fn get(db: &MetaDb, id: &str) -> Result<Option<ApiKeyEntity>, DbError> {
    db.read(|c| {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?1");
        c.query_row(&sql, [id], from_row).optional()
    })
}

/// The built-in default key.
pub fn default_key(db: &MetaDb) -> Result<ApiKeyEntity, DbError> {
    Ok(get(db, DEFAULT_KEY_ID)?
        .expect("migration 1 creates the default key and it cannot be deleted"))
}

/// Every key (the default key first, then by title).
pub fn list(db: &MetaDb) -> Result<Vec<ApiKeyEntity>, DbError> {
    query(db, "ORDER BY is_default DESC, title, id", None)
}

/// The personal keys of `owner_id`.
pub fn list_owned_by(db: &MetaDb, owner_id: &str) -> Result<Vec<ApiKeyEntity>, DbError> {
    query(db, "WHERE owner_id = ?1 ORDER BY title, id", Some(owner_id))
}

/// Keys whose token prefix is `prefix`: the candidates whose digest the caller then checks (in
/// constant time) against the presented token.
pub fn find_by_prefix(db: &MetaDb, prefix: &str) -> Result<Vec<ApiKeyEntity>, DbError> {
    query(db, "WHERE token_prefix = ?1 ORDER BY id", Some(prefix))
}

/// Applies `update` to the key `id` and returns the result.
pub fn update(
    db: &MetaDb,
    id: &str,
    update: &ApiKeyUpdate,
) -> Result<ApiKeyEntity, UpdateApiKeyError> {
    if update.title.as_ref().is_some_and(|t| t.trim().is_empty()) {
        return Err(UpdateApiKeyError::EmptyTitle);
    }
    db.write(|tx| -> Result<(), UpdateApiKeyError> {
        let exists: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = ?1)",
                [id],
                |r| r.get(0),
            )
            .map_err(DbError::from)?;
        if !exists {
            return Err(UpdateApiKeyError::NotFound);
        }
        let exec = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<(), DbError> {
            tx.execute(sql, p)?;
            Ok(())
        };
        if let Some(t) = &update.title {
            exec("UPDATE api_keys SET title = ?1 WHERE id = ?2", &[t, &id])?;
        }
        if let Some(p) = update.assigned_permissions {
            exec(
                "UPDATE api_keys SET assigned_permissions = ?1 WHERE id = ?2",
                &[&p.bits(), &id],
            )?;
        }
        if let Some(s) = &update.input_settings {
            exec(
                "UPDATE api_keys SET applied_properties = ?1, filter = ?2, minimum_level = ?3, \
                 use_server_timestamps = ?4 WHERE id = ?5",
                &[
                    &properties_to_json(&s.applied_properties),
                    &s.filter,
                    &s.minimum_level,
                    &s.use_server_timestamps,
                    &id,
                ],
            )?;
        }
        Ok(())
    })?;
    get(db, id)?.ok_or(UpdateApiKeyError::NotFound)
}

/// Deletes a key. The default key cannot be deleted.
pub fn delete(db: &MetaDb, id: &str) -> Result<(), DeleteApiKeyError> {
    if id == DEFAULT_KEY_ID {
        return Err(DeleteApiKeyError::IsDefault);
    }
    let n = db.read(|c| {
        c.execute(
            "DELETE FROM api_keys WHERE id = ?1 AND is_default = 0",
            [id],
        )
    })?;
    if n == 0 {
        return Err(DeleteApiKeyError::NotFound);
    }
    Ok(())
}

/// Adds to the counters of several keys in one transaction (call it periodically with the sums
/// accumulated in memory). Ids of keys deleted meanwhile are skipped.
pub fn add_counts(db: &MetaDb, deltas: &[(&str, ApiKeyCounts)]) -> Result<(), DbError> {
    let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    db.write(|tx| {
        let mut stmt = tx.prepare_cached(
            "UPDATE api_keys SET arrived_events = arrived_events + ?1, \
             arrived_bytes = arrived_bytes + ?2, ingested_events = ingested_events + ?3, \
             ingested_bytes = ingested_bytes + ?4, invalid_payloads = invalid_payloads + ?5 \
             WHERE id = ?6",
        )?;
        for (id, d) in deltas {
            stmt.execute(params![
                clamp(d.arrived_events),
                clamp(d.arrived_bytes),
                clamp(d.ingested_events),
                clamp(d.ingested_bytes),
                clamp(d.invalid_payloads),
                id
            ])?;
        }
        Ok(())
    })
}
