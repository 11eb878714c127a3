//! Sign-in sessions. Only a digest of the session id is stored (the id itself lives in the
//! cookie), together with a digest of the session's CSRF token.
//!
//! A session ends at the first of: its absolute expiry (fixed at creation), its idle timeout
//! (measured from the last [`touch`]), an explicit [`revoke`], [`revoke_all_for_user`], a
//! password change, or the user's deletion. Times are unix seconds passed in by the caller.

use rusqlite::{OptionalExtension, params};

use crate::db::MetaDb;
use crate::error::{DbError, is_foreign_key_violation};

/// A session to create.
#[derive(Clone, Debug)]
pub struct NewSession<'a> {
    /// Digest of the session id (the id itself is never stored).
    pub id_digest: &'a [u8],
    /// The signed-in user.
    pub user_id: &'a str,
    /// Digest of the CSRF token returned at sign-in.
    pub csrf_digest: &'a [u8],
    /// Address the session was created from (for the audit log and the sessions list).
    pub client_address: Option<&'a str>,
    /// Creation time.
    pub now: i64,
    /// Seconds after `now` at which the session ends however active it is.
    pub absolute_lifetime_secs: i64,
}

/// A live session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Digest of the session id.
    pub id_digest: Vec<u8>,
    /// The user.
    pub user_id: String,
    /// Digest of the CSRF token.
    pub csrf_digest: Vec<u8>,
    /// Address at creation.
    pub client_address: Option<String>,
    /// Created (unix seconds).
    pub created_at: i64,
    /// Last [`touch`] (unix seconds).
    pub last_seen_at: i64,
    /// Absolute expiry (unix seconds).
    pub expires_at: i64,
}

/// Why a session could not be created.
#[derive(Debug)]
#[non_exhaustive]
pub enum CreateSessionError {
    /// No user has this id.
    UnknownUser,
    /// The database failed.
    Db(DbError),
}

impl std::fmt::Display for CreateSessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CreateSessionError::UnknownUser => f.write_str("the session's user does not exist"),
            CreateSessionError::Db(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CreateSessionError {}

impl From<DbError> for CreateSessionError {
    fn from(e: DbError) -> Self {
        CreateSessionError::Db(e)
    }
}

/// Stores a new session, bound to the user's current sessions epoch.
pub fn create(db: &MetaDb, new: &NewSession<'_>) -> Result<(), CreateSessionError> {
    db.write(|tx| {
        let epoch: Option<i64> = tx
            .query_row(
                "SELECT sessions_epoch FROM users WHERE id = ?1",
                [new.user_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(DbError::from)?;
        let Some(epoch) = epoch else {
            return Err(CreateSessionError::UnknownUser);
        };
        let inserted = tx.execute(
            "INSERT INTO sessions (id_digest, user_id, csrf_digest, sessions_epoch, \
             client_address, created_at, last_seen_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
            params![
                new.id_digest,
                new.user_id,
                new.csrf_digest,
                epoch,
                new.client_address,
                new.now,
                new.now.saturating_add(new.absolute_lifetime_secs),
            ],
        );
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if is_foreign_key_violation(&e) => Err(CreateSessionError::UnknownUser),
            Err(e) => Err(DbError::from(e).into()),
        }
    })
}

/// The live session with this id digest, or `None` when there is none or it has expired (idle
/// for more than `idle_timeout_secs`, or past its absolute expiry) or was revoked through the
/// user's sessions epoch. An expired session is deleted on the way.
pub fn lookup(
    db: &MetaDb,
    id_digest: &[u8],
    now: i64,
    idle_timeout_secs: i64,
) -> Result<Option<Session>, DbError> {
    db.read(|c| {
        let row = c
            .query_row(
                "SELECT s.id_digest, s.user_id, s.csrf_digest, s.client_address, s.created_at, \
                 s.last_seen_at, s.expires_at, s.sessions_epoch = u.sessions_epoch \
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_digest = ?1",
                [id_digest],
                |r| {
                    Ok((
                        Session {
                            id_digest: r.get(0)?,
                            user_id: r.get(1)?,
                            csrf_digest: r.get(2)?,
                            client_address: r.get(3)?,
                            created_at: r.get(4)?,
                            last_seen_at: r.get(5)?,
                            expires_at: r.get(6)?,
                        },
                        r.get::<_, bool>(7)?,
                    ))
                },
            )
            .optional()?;
        let Some((session, epoch_current)) = row else {
            return Ok(None);
        };
        let idle_expired = now >= session.last_seen_at.saturating_add(idle_timeout_secs);
        if !epoch_current || idle_expired || now >= session.expires_at {
            c.execute("DELETE FROM sessions WHERE id_digest = ?1", [id_digest])?;
            return Ok(None);
        }
        Ok(Some(session))
    })
}

/// Records activity on a session (resets its idle timer). Returns `false` when it does not exist.
pub fn touch(db: &MetaDb, id_digest: &[u8], now: i64) -> Result<bool, DbError> {
    db.read(|c| {
        c.execute(
            "UPDATE sessions SET last_seen_at = max(last_seen_at, ?1) WHERE id_digest = ?2",
            params![now, id_digest],
        )
    })
    .map(|n| n == 1)
}

/// Ends one session (sign-out). Returns `false` when it did not exist.
pub fn revoke(db: &MetaDb, id_digest: &[u8]) -> Result<bool, DbError> {
    db.read(|c| c.execute("DELETE FROM sessions WHERE id_digest = ?1", [id_digest]))
        .map(|n| n == 1)
}

/// Ends every session of a user and bumps the user's sessions epoch. Returns how many sessions
/// were deleted.
pub fn revoke_all_for_user(db: &MetaDb, user_id: &str) -> Result<u64, DbError> {
    db.write(|tx| {
        tx.execute(
            "UPDATE users SET sessions_epoch = sessions_epoch + 1 WHERE id = ?1",
            [user_id],
        )?;
        Ok(tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])? as u64)
    })
}

/// The live sessions of a user, newest first (expired ones are not filtered here: pass them
/// through [`purge_expired`] first if that matters).
pub fn list_for_user(db: &MetaDb, user_id: &str) -> Result<Vec<Session>, DbError> {
    db.read(|c| {
        let mut stmt = c.prepare(
            "SELECT id_digest, user_id, csrf_digest, client_address, created_at, last_seen_at, \
             expires_at FROM sessions WHERE user_id = ?1 ORDER BY created_at DESC",
        )?;
        stmt.query_map([user_id], |r| {
            Ok(Session {
                id_digest: r.get(0)?,
                user_id: r.get(1)?,
                csrf_digest: r.get(2)?,
                client_address: r.get(3)?,
                created_at: r.get(4)?,
                last_seen_at: r.get(5)?,
                expires_at: r.get(6)?,
            })
        })?
        .collect()
    })
}

/// Deletes every expired session; returns how many. Call periodically.
pub fn purge_expired(db: &MetaDb, now: i64, idle_timeout_secs: i64) -> Result<u64, DbError> {
    db.read(|c| {
        c.execute(
            "DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen_at + ?2 <= ?1 \
             OR sessions_epoch <> (SELECT sessions_epoch FROM users WHERE users.id = sessions.user_id)",
            params![now, idle_timeout_secs],
        )
    })
    .map(|n| n as u64)
}
