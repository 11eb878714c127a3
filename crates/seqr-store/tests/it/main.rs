//! seqr-store integration tests (one binary).

mod common;
mod concurrency;
mod paging;
mod recovery;
mod roundtrip;
mod segments;
mod shutdown;
