//! GELF (Graylog Extended Log Format) as seqr events, the way Seq's own GELF input (sqelf,
//! datalust/seq-input-gelf) turns it into CLEF. Pure: no I/O, no async; the listeners live in
//! the server.
//!
//! - [`decode_message`]: one message (a UDP datagram or reassembled chunk set, a TCP frame,
//!   an HTTP body), plain, gzip or zlib as its first bytes say, bounded in size.
//! - [`Reassembler`]: chunked UDP messages, bounded in messages, bytes and time.
//! - [`NullFramer`]: NUL-terminated frames from a TCP stream, bounded per frame.
//!
//! The field mapping is in `mapping.rs`; where seqr is more lenient than sqelf (which drops a
//! message whose `level` is a string, say), the event is kept and the difference documented.

mod chunks;
mod decompress;
mod embedded;
mod error;
mod framing;
mod level;
mod mapping;
mod timestamp;

use seqr_types::{Event, Timestamp};
use serde_json::Value;

pub use chunks::{CHUNK_HEADER_BYTES, CHUNK_MAGIC, Datagram, Reassembler, ReassemblyLimits};
pub use error::GelfError;
pub use framing::NullFramer;

/// One GELF message (a whole UDP datagram after reassembly, a TCP frame, or an HTTP body),
/// possibly gzip/zlib compressed, as an event. `max_bytes` bounds the decompressed size
/// (a zip bomb is refused, not expanded). `now` is used when the message has no timestamp.
pub fn decode_message(
    payload: &[u8],
    max_bytes: usize,
    now: Timestamp,
) -> Result<Event, GelfError> {
    if payload.is_empty() {
        return Err(GelfError::Empty);
    }
    let json = decompress::decompress(payload, max_bytes)?;
    let json = trim(&json);
    if json.is_empty() {
        return Err(GelfError::Empty);
    }
    let value: Value =
        serde_json::from_slice(json).map_err(|e| GelfError::NotJson(e.to_string()))?;
    let Value::Object(object) = value else {
        return Err(GelfError::NotAnObject);
    };
    mapping::event(object, now)
}

/// Without a UTF-8 BOM and trailing NULs (some UDP clients terminate datagrams as for TCP),
/// which JSON would refuse.
fn trim(json: &[u8]) -> &[u8] {
    let json = json.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(json);
    let end = json.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &json[..end]
}
