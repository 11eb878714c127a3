//! seqr-store integration tests (one binary).

mod common;
mod concurrency;
mod maintenance;
mod paging;
mod parts;
mod recovery;
mod roundtrip;
mod shutdown;
