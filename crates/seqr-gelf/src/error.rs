//! Why a GELF message, chunk or frame was refused.

use std::fmt;

/// Everything that can go wrong decoding GELF, from a chunk header to the JSON inside.
///
/// Every variant is permanent for the input that caused it (GELF has no answers to send), so
/// listeners only count and log them; the messages are written for that log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GelfError {
    /// A zero-length datagram, frame or body.
    Empty,
    /// The message (after decompression) is over the size limit: nothing past
    /// `limit + 1` bytes was ever produced.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Starts like gzip or zlib data but does not decompress.
    Decompress(String),
    /// Not JSON (or not UTF-8); the parser's message.
    NotJson(String),
    /// JSON, but not an object.
    NotAnObject,
    /// No `short_message` member (or `null`): GELF requires one, and sqelf refuses it too.
    MissingShortMessage,
    /// `short_message` is present but not a string.
    ShortMessageNotText,
    /// A chunk (magic `1e 0f`) whose header is malformed or out of range.
    BadChunk(String),
    /// A chunk whose count differs from the one earlier chunks of the same message id gave.
    ChunkCountMismatch {
        /// The message id, as sent.
        id: u64,
        /// The count the first chunk gave.
        expected: u8,
        /// The count this chunk gave.
        got: u8,
    },
    /// A chunked message over `ReassemblyLimits::max_message_bytes`; its chunks were dropped.
    ChunkedTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A chunked message that alone would exceed `ReassemblyLimits::max_pending_bytes`; its
    /// chunks were dropped.
    ReassemblyFull {
        /// The limit in bytes.
        limit: usize,
    },
    /// A TCP frame over the frame limit; it was skipped up to its terminating NUL.
    FrameTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

impl fmt::Display for GelfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GelfError::Empty => f.write_str("The GELF message is empty."),
            GelfError::TooLarge { limit } => {
                write!(f, "The GELF message is over the {limit}-byte limit.")
            }
            GelfError::Decompress(detail) => {
                write!(f, "The GELF message does not decompress: {detail}.")
            }
            GelfError::NotJson(detail) => {
                write!(f, "The GELF message is not valid JSON: {detail}.")
            }
            GelfError::NotAnObject => f.write_str("The GELF message is not a JSON object."),
            GelfError::MissingShortMessage => {
                f.write_str("The GELF message has no `short_message`, which GELF requires.")
            }
            GelfError::ShortMessageNotText => {
                f.write_str("The GELF message's `short_message` is not a string.")
            }
            GelfError::BadChunk(detail) => write!(f, "The GELF chunk is invalid: {detail}."),
            GelfError::ChunkCountMismatch { id, expected, got } => write!(
                f,
                "The GELF chunk for message {id:016x} says it is one of {got}, but earlier \
                 chunks of that message said {expected}; the chunk was dropped."
            ),
            GelfError::ChunkedTooLarge { limit } => write!(
                f,
                "The chunked GELF message is over the {limit}-byte limit; its chunks were dropped."
            ),
            GelfError::ReassemblyFull { limit } => write!(
                f,
                "The chunked GELF message would exceed the {limit}-byte reassembly buffer on \
                 its own; its chunks were dropped."
            ),
            GelfError::FrameTooLarge { limit } => write!(
                f,
                "A GELF TCP frame was over the {limit}-byte limit and was skipped."
            ),
        }
    }
}

impl std::error::Error for GelfError {}
