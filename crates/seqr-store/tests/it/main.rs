//! seqr-store integration tests (one binary).

mod backup;
mod common;
mod concurrency;
mod counting;
mod disk_full;
mod fuzz_corpus;
mod maintenance;
mod merges;
mod model;
mod paging;
mod parts;
mod power_loss;
mod recovery;
mod roundtrip;
mod shutdown;
