//! Seq's permissions: the vocabulary lives in `seqr-meta` (users, roles and keys grant them);
//! routes demand them.

pub use seqr_meta::permission::{Permission, PermissionSet};
