//! seqr's metadata and its cryptography.
//!
//! - SQLite database in the data directory (WAL mode, one writer, numbered migrations):
//!   users, roles, API keys, sessions, settings, retention policies, the hash-chained audit log.
//! - [`password`]: argon2id hashing and the password policy.
//! - [`token`]: API key and session token generation, salted digests, constant-time checks.
//! - [`secret`]: the instance secret key and AEAD sealing of sensitive stored values;
//!   [`secret_rotation`] re-encrypts them under a new key.

pub mod password;
pub mod secret;
pub mod secret_rotation;
pub mod token;

pub mod apikeys;
pub mod audit;
pub mod db;
pub mod error;
pub mod migrations;
pub mod permission;
pub mod retention;
pub mod roles;
pub mod sessions;
pub mod settings;
pub mod users;

pub use db::MetaDb;
pub use error::{DbError, OpenError};
pub use permission::{Permission, PermissionSet};
