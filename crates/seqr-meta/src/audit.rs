//! The append-only, tamper-evident audit log.
//!
//! Record *n* carries `hash = SHA-256(hash of record n-1 || canonical bytes of record n)` (the
//! first record chains to 32 zero bytes). Ids are consecutive from 1. The id and hash of the
//! newest record are also kept in `internal_values` under [`HEAD_KEY`], written in the same
//! transaction, so removing the newest records is caught as well. Triggers refuse `UPDATE` and
//! `DELETE` on the table; [`verify`] catches whoever drops them first.
//!
//! Canonical bytes of a record (all integers big-endian):
//! `b"seqr-audit-1"`, id (i64), at_ms (i64), then principal, client_address, action, target,
//! outcome, detail, each as `0x00` when absent or `0x01`, length (u32), UTF-8 bytes. `detail` is
//! the stored JSON text exactly as stored.

use std::fmt;
use std::str::FromStr;

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::db::MetaDb;
use crate::error::DbError;

/// `internal_values` key holding the newest record's id (8 bytes, big-endian) and hash (32 bytes).
pub const HEAD_KEY: &str = "audit-head";

const DOMAIN: &[u8] = b"seqr-audit-1";

/// How the audited action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditOutcome {
    /// It succeeded.
    Success,
    /// It failed (e.g. wrong password).
    Failure,
    /// It was refused for lack of permission.
    Denied,
}

impl AuditOutcome {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Success => "success",
            AuditOutcome::Failure => "failure",
            AuditOutcome::Denied => "denied",
        }
    }
}

impl fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditOutcome {
    type Err = String;
    fn from_str(s: &str) -> Result<AuditOutcome, String> {
        match s {
            "success" => Ok(AuditOutcome::Success),
            "failure" => Ok(AuditOutcome::Failure),
            "denied" => Ok(AuditOutcome::Denied),
            other => Err(format!("`{other}` is not an audit outcome")),
        }
    }
}

/// A record to append.
#[derive(Clone, Debug)]
pub struct NewAuditRecord<'a> {
    /// When (unix milliseconds).
    pub at_ms: i64,
    /// Who: a user id, `apikey-...`, or `None` for an anonymous caller.
    pub principal: Option<&'a str>,
    /// The client's address.
    pub client_address: Option<&'a str>,
    /// What, dotted lower-case, e.g. `user.login`, `apikey.create`, `setting.update`.
    pub action: &'a str,
    /// The entity acted on, e.g. a user or key id.
    pub target: Option<&'a str>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// More detail (never a secret).
    pub detail: &'a serde_json::Value,
}

/// A stored record.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRecord {
    /// Consecutive from 1.
    pub id: i64,
    /// When (unix milliseconds).
    pub at_ms: i64,
    /// Who.
    pub principal: Option<String>,
    /// From where.
    pub client_address: Option<String>,
    /// What.
    pub action: String,
    /// On what.
    pub target: Option<String>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// Detail.
    pub detail: serde_json::Value,
    /// The chain hash.
    pub hash: [u8; 32],
}

/// The result of a successful [`verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records checked.
    pub records: u64,
    /// The newest record's hash (zeros when the log is empty).
    pub head_hash: [u8; 32],
}

/// What is wrong with the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tampering {
    /// The record's stored hash does not match its content and its predecessor: it (or the
    /// record before it) was edited, or records were reordered.
    HashMismatch,
    /// Records between the previous one and this one are missing.
    Missing {
        /// First missing id.
        from: i64,
        /// Last missing id.
        to: i64,
    },
    /// The newest records after this one are missing (`record_id` is the last one present, or 0).
    TruncatedAfter {
        /// The id the head pointer names.
        head_id: i64,
    },
    /// The head pointer is missing or does not match the newest record.
    HeadMismatch,
}

/// Why verification failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum VerifyError {
    /// The chain is broken at `record_id` (the first bad record).
    Tampered {
        /// First bad record.
        record_id: i64,
        /// What is wrong.
        problem: Tampering,
    },
    /// The database failed.
    Db(DbError),
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Tampered { record_id, problem } => match problem {
                Tampering::HashMismatch => write!(
                    f,
                    "audit log tampered with at record {record_id}: its hash does not match its content and the record before it (a record was edited, removed or reordered)"
                ),
                Tampering::Missing { from, to } => write!(
                    f,
                    "audit log tampered with at record {record_id}: records {from} to {to} were removed"
                ),
                Tampering::TruncatedAfter { head_id } => write!(
                    f,
                    "audit log tampered with after record {record_id}: records up to {head_id} were written but are gone"
                ),
                Tampering::HeadMismatch => write!(
                    f,
                    "audit log tampered with at record {record_id}: it does not match the stored head of the chain"
                ),
            },
            VerifyError::Db(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for VerifyError {}

impl From<DbError> for VerifyError {
    fn from(e: DbError) -> Self {
        VerifyError::Db(e)
    }
}

fn push_opt(out: &mut Vec<u8>, field: Option<&str>) {
    match field {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
}

struct RawRecord<'a> {
    id: i64,
    at_ms: i64,
    principal: Option<&'a str>,
    client_address: Option<&'a str>,
    action: &'a str,
    target: Option<&'a str>,
    outcome: &'a str,
    detail: &'a str,
}

fn chain_hash(prev: &[u8; 32], r: &RawRecord<'_>) -> [u8; 32] {
    let mut bytes = Vec::with_capacity(128 + r.detail.len());
    bytes.extend_from_slice(DOMAIN);
    bytes.extend_from_slice(&r.id.to_be_bytes());
    bytes.extend_from_slice(&r.at_ms.to_be_bytes());
    push_opt(&mut bytes, r.principal);
    push_opt(&mut bytes, r.client_address);
    push_opt(&mut bytes, Some(r.action));
    push_opt(&mut bytes, r.target);
    push_opt(&mut bytes, Some(r.outcome));
    push_opt(&mut bytes, Some(r.detail));
    let mut h = Sha256::new();
    h.update(prev);
    h.update(&bytes);
    h.finalize().into()
}

fn to_hash(bytes: &[u8]) -> [u8; 32] {
    let mut h = [0u8; 32];
    if bytes.len() == 32 {
        h.copy_from_slice(bytes);
    }
    h
}

fn decode_head(bytes: &[u8]) -> Option<(i64, [u8; 32])> {
    if bytes.len() != 40 {
        return None;
    }
    let id = i64::from_be_bytes(bytes[..8].try_into().ok()?);
    Some((id, to_hash(&bytes[8..])))
}

/// Appends a record and returns it.
pub fn append(db: &MetaDb, new: &NewAuditRecord<'_>) -> Result<AuditRecord, DbError> {
    let detail_text = new.detail.to_string();
    db.write(|tx| {
        let last: Option<(i64, Vec<u8>)> = tx
            .query_row(
                "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (prev_id, prev_hash) = match last {
            Some((id, h)) => (id, to_hash(&h)),
            None => (0, [0u8; 32]),
        };
        let raw = RawRecord {
            id: prev_id + 1,
            at_ms: new.at_ms,
            principal: new.principal,
            client_address: new.client_address,
            action: new.action,
            target: new.target,
            outcome: new.outcome.as_str(),
            detail: &detail_text,
        };
        let hash = chain_hash(&prev_hash, &raw);
        tx.execute(
            "INSERT INTO audit_log (id, at_ms, principal, client_address, action, target, outcome, detail, hash) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                raw.id,
                raw.at_ms,
                raw.principal,
                raw.client_address,
                raw.action,
                raw.target,
                raw.outcome,
                raw.detail,
                &hash[..]
            ],
        )?;
        let mut head = Vec::with_capacity(40);
        head.extend_from_slice(&raw.id.to_be_bytes());
        head.extend_from_slice(&hash);
        tx.execute(
            "INSERT INTO internal_values (key, value, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![HEAD_KEY, head, new.at_ms / 1000],
        )?;
        Ok(AuditRecord {
            id: raw.id,
            at_ms: raw.at_ms,
            principal: raw.principal.map(str::to_owned),
            client_address: raw.client_address.map(str::to_owned),
            action: raw.action.to_owned(),
            target: raw.target.map(str::to_owned),
            outcome: new.outcome,
            detail: new.detail.clone(),
            hash,
        })
    })
}

/// Up to `limit` records with ids above `after` (0 = from the start), oldest first.
pub fn list(db: &MetaDb, after: i64, limit: u32) -> Result<Vec<AuditRecord>, DbError> {
    db.read(|c| {
        let mut stmt = c.prepare_cached(
            "SELECT id, at_ms, principal, client_address, action, target, outcome, detail, hash \
             FROM audit_log WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        stmt.query_map(params![after, limit], |r| {
            let outcome: String = r.get(6)?;
            let detail: String = r.get(7)?;
            let hash: Vec<u8> = r.get(8)?;
            Ok(AuditRecord {
                id: r.get(0)?,
                at_ms: r.get(1)?,
                principal: r.get(2)?,
                client_address: r.get(3)?,
                action: r.get(4)?,
                target: r.get(5)?,
                outcome: outcome.parse().map_err(|e: String| {
                    rusqlite::Error::FromSqlConversionFailure(
                        6,
                        rusqlite::types::Type::Text,
                        e.into(),
                    )
                })?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
                hash: to_hash(&hash),
            })
        })?
        .collect()
    })
}

/// Checks the whole chain; the error names the first bad record.
pub fn verify(db: &MetaDb) -> Result<VerifyReport, VerifyError> {
    let outcome = db.read(
        |c| -> rusqlite::Result<Result<VerifyReport, (i64, Tampering)>> {
            let mut stmt = c.prepare(
            "SELECT id, at_ms, principal, client_address, action, target, outcome, detail, hash \
             FROM audit_log ORDER BY id",
        )?;
            let mut rows = stmt.query([])?;
            let mut prev_id = 0i64;
            let mut prev_hash = [0u8; 32];
            let mut records = 0u64;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                let principal: Option<String> = r.get(2)?;
                let client_address: Option<String> = r.get(3)?;
                let action: String = r.get(4)?;
                let target: Option<String> = r.get(5)?;
                let outcome: String = r.get(6)?;
                let detail: String = r.get(7)?;
                let stored: Vec<u8> = r.get(8)?;
                if id != prev_id + 1 {
                    return Ok(Err((
                        id,
                        Tampering::Missing {
                            from: prev_id + 1,
                            to: id - 1,
                        },
                    )));
                }
                let raw = RawRecord {
                    id,
                    at_ms: r.get(1)?,
                    principal: principal.as_deref(),
                    client_address: client_address.as_deref(),
                    action: &action,
                    target: target.as_deref(),
                    outcome: &outcome,
                    detail: &detail,
                };
                let expected = chain_hash(&prev_hash, &raw);
                if stored.len() != 32 || expected[..] != stored[..] {
                    return Ok(Err((id, Tampering::HashMismatch)));
                }
                prev_id = id;
                prev_hash = expected;
                records += 1;
            }
            let head: Option<Vec<u8>> = c
                .query_row(
                    "SELECT value FROM internal_values WHERE key = ?1",
                    [HEAD_KEY],
                    |r| r.get(0),
                )
                .optional()?;
            match head.as_deref().map(decode_head) {
                None if records == 0 => {}
                Some(Some((head_id, head_hash)))
                    if head_id == prev_id && head_hash == prev_hash => {}
                Some(Some((head_id, _))) if head_id > prev_id => {
                    return Ok(Err((prev_id, Tampering::TruncatedAfter { head_id })));
                }
                _ => return Ok(Err((prev_id, Tampering::HeadMismatch))),
            }
            Ok(Ok(VerifyReport {
                records,
                head_hash: prev_hash,
            }))
        },
    )?;
    outcome.map_err(|(record_id, problem)| VerifyError::Tampered { record_id, problem })
}
