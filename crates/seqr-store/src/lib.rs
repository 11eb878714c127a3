//! seqr's event store.
