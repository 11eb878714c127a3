//! Authentication pieces the request pipeline uses: presented credentials, API key
//! verification, sign-in throttling, CSRF, and the anonymous-ingestion rule.

pub mod anonymous_ingest;
pub mod credentials;
pub mod csrf;
pub mod enforce;
pub mod hashing;
pub mod keys;
pub mod rules;
pub mod throttle;
