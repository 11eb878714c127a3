//! Decoders from Seq's ingestion payloads to [`seqr_types::Event`]s. Pure: no I/O, no async.
//!
//! - [`decode_clef`]: newline-delimited CLEF (`/ingest/clef`, `/api/events/raw?clef`).
//! - [`decode_legacy`]: the classic `{"Events":[...]}` batch (seq-logging and friends).
//! - [`decompress`]: `Content-Encoding` bodies, bounded so a gzip bomb cannot exhaust memory.
//! - [`clef_selected`]: which of the two formats `/api/events/raw` should use.
//!
//! A batch is all-or-nothing, as in Seq: any invalid event rejects the whole request.

mod clef;
mod decompress;
mod error;
mod fields;
mod legacy;
mod limits;
mod select;

pub use clef::decode_clef;
pub use decompress::{DecompressError, decompress};
pub use error::{DecodeError, Location, Problem};
pub use legacy::decode_legacy;
pub use limits::Limits;
pub use select::clef_selected;
