//! seqr's shared vocabulary, with no I/O and no async.
//!
//! - [`Event`]: one structured log event as ingested (CLEF members mapped to fields).
//! - [`Timestamp`]: .NET ticks (100 ns since 0001-01-01 UTC), the unit Seq clients and the query
//!   language use everywhere.
//! - [`EventId`]: `event-<32 hex>`, ordered by (timestamp, arrival).
//! - [`level`]: Seq's level alias table.
//! - [`template`]: message-template parsing and Seq-style rendering.
//! - [`event_type`]: Murmur3-32 event types.

pub mod event;
pub mod event_type;
pub mod level;
pub mod template;
pub mod timestamp;

pub use event::{Event, EventId, EventIdParseError, Properties, StoredEvent};
pub use level::CanonicalLevel;
pub use timestamp::{Timestamp, TimestampError};

/// A JSON value tree; numbers keep their exact text (serde_json `arbitrary_precision`).
pub type Value = serde_json::Value;
