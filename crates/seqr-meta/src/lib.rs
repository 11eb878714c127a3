//! seqr's metadata and its cryptography.
//!
//! - SQLite database in the data directory (WAL mode, one writer, numbered migrations):
//!   users, roles, API keys, sessions, settings, the hash-chained audit log.
//! - [`password`]: argon2id hashing and the password policy.
//! - [`token`]: API key and session token generation, salted digests, constant-time checks.
//! - [`secret`]: the instance secret key and AEAD sealing of sensitive stored values.
