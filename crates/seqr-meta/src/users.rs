//! Users (`UserEntity`, seq-compat 4.5) and their roles.
//!
//! Passwords arrive already hashed (a PHC string from [`crate::password`]); this module never
//! sees a plain password. Usernames are unique without regard to case (Unicode lower-casing).

use std::fmt;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::db::{MetaDb, random_hex};
use crate::error::{DbError, is_unique_violation};
use crate::permission::PermissionSet;
use crate::roles;

/// A stored user.
#[derive(Clone, Debug, PartialEq)]
pub struct UserEntity {
    /// `Id`: `user-<hex>`, or an id the creator chose (such as `user-admin`).
    pub id: String,
    /// `Username`, as entered.
    pub username: String,
    /// `DisplayName`.
    pub display_name: Option<String>,
    /// `EmailAddress`.
    pub email_address: Option<String>,
    /// `RoleIds`, sorted.
    pub role_ids: Vec<String>,
    /// `MustChangePassword`.
    pub must_change_password: bool,
    /// `ViewFilter`: a filter expression AND-ed into every search this user runs (text; validated
    /// by the query layer).
    pub view_filter: Option<String>,
    /// `Preferences`: a JSON object.
    pub preferences: serde_json::Map<String, serde_json::Value>,
    /// `AuthenticationProvider` (`None` = local).
    pub authentication_provider: Option<String>,
    /// `AuthenticationProviderUniqueIdentifier`.
    pub authentication_provider_unique_identifier: Option<String>,
    /// Argon2id PHC string; `None` for users who cannot sign in with a password.
    pub password_hash: Option<String>,
    /// When the password was last set (unix seconds).
    pub password_changed_at: Option<i64>,
    /// Bumped to revoke every session of the user at once.
    pub sessions_epoch: i64,
    /// Creation time (unix seconds).
    pub created_at: i64,
}

impl UserEntity {
    /// The user's effective permissions: the union of its roles' permissions.
    pub fn permissions(&self) -> PermissionSet {
        roles::permissions_of(self.role_ids.iter().map(String::as_str))
    }
}

/// A user to create.
#[derive(Clone, Debug, Default)]
pub struct NewUser {
    /// A chosen id (must start with `user-`); `None` generates `user-<random hex>`.
    pub id: Option<String>,
    /// Username (required, unique without regard to case).
    pub username: String,
    /// Display name.
    pub display_name: Option<String>,
    /// Email address.
    pub email_address: Option<String>,
    /// Built-in role ids.
    pub role_ids: Vec<String>,
    /// Require a password change at next sign-in.
    pub must_change_password: bool,
    /// View filter expression.
    pub view_filter: Option<String>,
    /// Argon2id PHC string.
    pub password_hash: Option<String>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserUpdate {
    /// New username.
    pub username: Option<String>,
    /// New display name (`Some(None)` clears it).
    pub display_name: Option<Option<String>>,
    /// New email address (`Some(None)` clears it).
    pub email_address: Option<Option<String>>,
    /// New role ids (replaces the set).
    pub role_ids: Option<Vec<String>>,
    /// New must-change-password flag.
    pub must_change_password: Option<bool>,
    /// New view filter (`Some(None)` clears it).
    pub view_filter: Option<Option<String>>,
    /// New preferences object.
    pub preferences: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Why a user could not be created.
#[derive(Debug)]
#[non_exhaustive]
pub enum CreateUserError {
    /// Another user has this username (compared without regard to case).
    UsernameTaken,
    /// The username is empty or only white space.
    EmptyUsername,
    /// A role id names no built-in role.
    UnknownRole(String),
    /// The chosen id is malformed or already used.
    InvalidId(String),
    /// The database failed.
    Db(DbError),
}

/// Why a user could not be updated.
#[derive(Debug)]
#[non_exhaustive]
pub enum UpdateUserError {
    /// No user has this id.
    NotFound,
    /// Another user has the new username.
    UsernameTaken,
    /// The new username is empty.
    EmptyUsername,
    /// A role id names no built-in role.
    UnknownRole(String),
    /// The database failed.
    Db(DbError),
}

impl From<DbError> for CreateUserError {
    fn from(e: DbError) -> Self {
        CreateUserError::Db(e)
    }
}

impl From<DbError> for UpdateUserError {
    fn from(e: DbError) -> Self {
        UpdateUserError::Db(e)
    }
}

impl fmt::Display for CreateUserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CreateUserError::UsernameTaken => {
                f.write_str("a user with this username already exists")
            }
            CreateUserError::EmptyUsername => f.write_str("a username is required"),
            CreateUserError::UnknownRole(id) => write!(f, "`{id}` is not a role id"),
            CreateUserError::InvalidId(id) => {
                write!(
                    f,
                    "`{id}` cannot be used as a user id (it must start with `user-` and be unused)"
                )
            }
            CreateUserError::Db(e) => e.fmt(f),
        }
    }
}

impl fmt::Display for UpdateUserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpdateUserError::NotFound => f.write_str("no such user"),
            UpdateUserError::UsernameTaken => {
                f.write_str("a user with this username already exists")
            }
            UpdateUserError::EmptyUsername => f.write_str("a username is required"),
            UpdateUserError::UnknownRole(id) => write!(f, "`{id}` is not a role id"),
            UpdateUserError::Db(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CreateUserError {}
impl std::error::Error for UpdateUserError {}

/// The case-insensitive comparison key of a username.
pub fn fold_username(username: &str) -> String {
    username.trim().to_lowercase()
}

fn check_roles(role_ids: &[String]) -> Result<(), String> {
    match role_ids.iter().find(|id| roles::by_id(id).is_none()) {
        Some(bad) => Err(bad.clone()),
        None => Ok(()),
    }
}

const COLUMNS: &str = "id, username, display_name, email_address, must_change_password, view_filter, \
     preferences, auth_provider, auth_provider_id, password_hash, password_changed_at, \
     sessions_epoch, created_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<UserEntity> {
    let preferences: String = row.get(6)?;
    Ok(UserEntity {
        id: row.get(0)?,
        username: row.get(1)?,
        display_name: row.get(2)?,
        email_address: row.get(3)?,
        role_ids: Vec::new(),
        must_change_password: row.get(4)?,
        view_filter: row.get(5)?,
        preferences: serde_json::from_str(&preferences).unwrap_or_default(),
        authentication_provider: row.get(7)?,
        authentication_provider_unique_identifier: row.get(8)?,
        password_hash: row.get(9)?,
        password_changed_at: row.get(10)?,
        sessions_epoch: row.get(11)?,
        created_at: row.get(12)?,
    })
}

fn load_roles(conn: &Connection, user: &mut UserEntity) -> rusqlite::Result<()> {
    let mut stmt =
        conn.prepare_cached("SELECT role_id FROM user_roles WHERE user_id = ?1 ORDER BY role_id")?;
    user.role_ids = stmt
        .query_map([&user.id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(())
}

fn load_where(conn: &Connection, clause: &str, arg: &str) -> rusqlite::Result<Option<UserEntity>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE {clause}");
    let user = conn.query_row(&sql, [arg], from_row).optional()?;
    match user {
        Some(mut u) => {
            load_roles(conn, &mut u)?;
            Ok(Some(u))
        }
        None => Ok(None),
    }
}

fn replace_roles(conn: &Connection, user_id: &str, role_ids: &[String]) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM user_roles WHERE user_id = ?1", [user_id])?;
    let mut stmt =
        conn.prepare_cached("INSERT OR IGNORE INTO user_roles (user_id, role_id) VALUES (?1, ?2)")?;
    for role in role_ids {
        stmt.execute([user_id, role])?;
    }
    Ok(())
}

/// Creates a user. `now` is unix seconds (also the password's change time when one is given).
pub fn create(db: &MetaDb, new: &NewUser, now: i64) -> Result<UserEntity, CreateUserError> {
    if new.username.trim().is_empty() {
        return Err(CreateUserError::EmptyUsername);
    }
    check_roles(&new.role_ids).map_err(CreateUserError::UnknownRole)?;
    let id = match &new.id {
        Some(id) if id.starts_with("user-") && id.len() > 5 => id.clone(),
        Some(id) => return Err(CreateUserError::InvalidId(id.clone())),
        None => format!("user-{}", random_hex(8)),
    };
    db.write(|tx| {
        let taken: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM users WHERE username_folded = ?1)",
                [fold_username(&new.username)],
                |r| r.get(0),
            )
            .map_err(DbError::from)?;
        if taken {
            return Err(CreateUserError::UsernameTaken);
        }
        let inserted = tx.execute(
            "INSERT INTO users (id, username, username_folded, display_name, email_address, \
             password_hash, must_change_password, view_filter, password_changed_at, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                id,
                new.username.trim(),
                fold_username(&new.username),
                new.display_name,
                new.email_address,
                new.password_hash,
                new.must_change_password,
                new.view_filter,
                new.password_hash.as_ref().map(|_| now),
                now,
            ],
        );
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(CreateUserError::InvalidId(id.clone()));
            }
            Err(e) => return Err(DbError::from(e).into()),
        }
        replace_roles(tx, &id, &new.role_ids).map_err(DbError::from)?;
        let user = load_where(tx, "id = ?1", &id).map_err(DbError::from)?;
        Ok(user.expect("the user was just inserted"))
    })
}

/// The user with this id.
pub fn get(db: &MetaDb, id: &str) -> Result<Option<UserEntity>, DbError> {
    db.read(|c| load_where(c, "id = ?1", id))
}

/// The user with this username (compared without regard to case).
pub fn find_by_username(db: &MetaDb, username: &str) -> Result<Option<UserEntity>, DbError> {
    db.read(|c| load_where(c, "username_folded = ?1", &fold_username(username)))
}

/// Every user, ordered by username.
pub fn list(db: &MetaDb) -> Result<Vec<UserEntity>, DbError> {
    db.read(|c| {
        let sql = format!("SELECT {COLUMNS} FROM users ORDER BY username_folded");
        let mut stmt = c.prepare(&sql)?;
        let mut users: Vec<UserEntity> = stmt
            .query_map([], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        for u in &mut users {
            load_roles(c, u)?;
        }
        Ok(users)
    })
}

/// Number of users.
pub fn count(db: &MetaDb) -> Result<u64, DbError> {
    db.read(|c| c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0)))
}

/// Applies `update` to the user `id` and returns the result.
pub fn update(db: &MetaDb, id: &str, update: &UserUpdate) -> Result<UserEntity, UpdateUserError> {
    if let Some(roles) = &update.role_ids {
        check_roles(roles).map_err(UpdateUserError::UnknownRole)?;
    }
    db.write(|tx| {
        let exists = load_where(tx, "id = ?1", id).map_err(DbError::from)?;
        if exists.is_none() {
            return Err(UpdateUserError::NotFound);
        }
        let run = |sql: &str, value: &dyn rusqlite::ToSql| -> Result<(), DbError> {
            tx.execute(sql, params![value, id])?;
            Ok(())
        };
        if let Some(username) = &update.username {
            if username.trim().is_empty() {
                return Err(UpdateUserError::EmptyUsername);
            }
            let folded = fold_username(username);
            let taken: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM users WHERE username_folded = ?1 AND id <> ?2)",
                    params![folded, id],
                    |r| r.get(0),
                )
                .map_err(DbError::from)?;
            if taken {
                return Err(UpdateUserError::UsernameTaken);
            }
            tx.execute(
                "UPDATE users SET username = ?1, username_folded = ?2 WHERE id = ?3",
                params![username.trim(), folded, id],
            )
            .map_err(DbError::from)?;
        }
        if let Some(v) = &update.display_name {
            run("UPDATE users SET display_name = ?1 WHERE id = ?2", v)?;
        }
        if let Some(v) = &update.email_address {
            run("UPDATE users SET email_address = ?1 WHERE id = ?2", v)?;
        }
        if let Some(v) = &update.must_change_password {
            run(
                "UPDATE users SET must_change_password = ?1 WHERE id = ?2",
                v,
            )?;
        }
        if let Some(v) = &update.view_filter {
            run("UPDATE users SET view_filter = ?1 WHERE id = ?2", v)?;
        }
        if let Some(v) = &update.preferences {
            let text = serde_json::Value::Object(v.clone()).to_string();
            run("UPDATE users SET preferences = ?1 WHERE id = ?2", &text)?;
        }
        if let Some(roles) = &update.role_ids {
            replace_roles(tx, id, roles).map_err(DbError::from)?;
        }
        let user = load_where(tx, "id = ?1", id).map_err(DbError::from)?;
        Ok(user.expect("the user exists in this transaction"))
    })
}

/// Sets the user's password hash (a PHC string) and must-change flag, and revokes every session
/// of the user in the same transaction (a password change signs the user out everywhere; the
/// caller creates a fresh session if the change came from a signed-in user).
/// Returns `false` when no user has this id.
pub fn set_password(
    db: &MetaDb,
    id: &str,
    password_hash: &str,
    must_change_password: bool,
    now: i64,
) -> Result<bool, DbError> {
    db.write(|tx| {
        let changed = tx.execute(
            "UPDATE users SET password_hash = ?1, must_change_password = ?2, \
             password_changed_at = ?3, sessions_epoch = sessions_epoch + 1 WHERE id = ?4",
            params![password_hash, must_change_password, now, id],
        )?;
        tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
        Ok(changed == 1)
    })
}

/// Replaces the stored hash without touching sessions or the change time: for rehashing at
/// sign-in when the hashing parameters were raised. Returns `false` when no user has this id.
pub fn rehash_password(db: &MetaDb, id: &str, password_hash: &str) -> Result<bool, DbError> {
    db.read(|c| {
        c.execute(
            "UPDATE users SET password_hash = ?1 WHERE id = ?2",
            params![password_hash, id],
        )
    })
    .map(|n| n == 1)
}

/// Deletes the user with its roles, sessions and personal API keys. Returns `false` when no user
/// has this id.
pub fn delete(db: &MetaDb, id: &str) -> Result<bool, DbError> {
    db.write(|tx| Ok(tx.execute("DELETE FROM users WHERE id = ?1", [id])? == 1))
}

/// Number of users holding `permission` through their roles (to refuse removing the last
/// administrator).
pub fn count_with_permission(
    db: &MetaDb,
    permission: crate::permission::Permission,
) -> Result<u64, DbError> {
    Ok(list(db)?
        .iter()
        .filter(|u| u.permissions().contains(permission))
        .count() as u64)
}
