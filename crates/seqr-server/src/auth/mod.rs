//! Authentication pieces the request pipeline uses: sign-in throttling (more arrives with the
//! security core: principals, sessions, CSRF).

pub mod anonymous_ingest;
pub mod csrf;
pub mod throttle;
