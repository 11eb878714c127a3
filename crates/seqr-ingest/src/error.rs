//! Decoding errors. Their `Display` text is what clients see in `{"Error":"..."}`, so each one
//! says where (CLEF line, legacy event) and what, in a sentence.

use std::fmt;

/// Where in a request a problem was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A CLEF line, 1-based, counting blank lines (so it matches an editor's line numbers).
    Line(usize),
    /// A legacy event, 0-based index into the `Events` array (shown as `Events[i]`).
    Event(usize),
    /// The request body as a whole.
    Body,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "Line {n}"),
            Location::Event(i) => write!(f, "Events[{i}]"),
            Location::Body => f.write_str("Request body"),
        }
    }
}

/// What was wrong with an event or body (without the location).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// Not syntactically JSON; the parser's message.
    InvalidJson(String),
    /// Valid JSON, but not an object.
    NotAnObject,
    /// No timestamp (`@t` / `Timestamp`) or a null one.
    MissingTimestamp {
        /// `@t` or `Timestamp`.
        member: &'static str,
    },
    /// A timestamp string that does not parse.
    InvalidTimestamp {
        /// `@t`, `@st` or `Timestamp`.
        member: &'static str,
        /// Why, naming the text.
        reason: String,
    },
    /// A reified member of the wrong JSON type.
    WrongType {
        /// The member, e.g. `@l`.
        member: &'static str,
        /// What it must be, e.g. `a string`.
        expected: &'static str,
    },
    /// A legacy body without an `Events` (or `events`) member.
    MissingEvents,
    /// A legacy body whose `Events` is not an array.
    EventsNotArray,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::InvalidUtf8 => f.write_str("the text is not valid UTF-8"),
            Problem::InvalidJson(detail) => write!(f, "invalid JSON: {detail}"),
            Problem::NotAnObject => f.write_str("the event is not a JSON object"),
            Problem::MissingTimestamp { member } => {
                write!(f, "the required {member} timestamp is missing")
            }
            Problem::InvalidTimestamp { member, reason } => {
                write!(f, "{member} is invalid: {reason}")
            }
            Problem::WrongType { member, expected } => write!(f, "{member} must be {expected}"),
            Problem::MissingEvents => f.write_str("there is no Events array"),
            Problem::EventsNotArray => f.write_str("Events is not an array"),
        }
    }
}

/// Why a request body was rejected. The whole request is rejected, never part of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The body exceeds [`crate::Limits::max_body_bytes`]: HTTP 413.
    PayloadTooLarge {
        /// Body size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// One event exceeds [`crate::Limits::max_event_bytes`]: HTTP 400, as Seq answers.
    EventTooLarge {
        /// Which event.
        at: Location,
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Anything else that makes the body invalid: HTTP 400.
    Invalid {
        /// Where.
        at: Location,
        /// What.
        problem: Problem,
    },
}

impl DecodeError {
    /// The HTTP status Seq answers with: 413 for an oversized body, else 400.
    pub fn http_status(&self) -> u16 {
        match self {
            DecodeError::PayloadTooLarge { .. } => 413,
            _ => 400,
        }
    }

    pub(crate) fn invalid(at: Location, problem: Problem) -> Self {
        DecodeError::Invalid { at, problem }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::PayloadTooLarge { bytes, limit } => write!(
                f,
                "The request body is {bytes} bytes, over the {limit}-byte limit."
            ),
            DecodeError::EventTooLarge { at, bytes, limit } => write!(
                f,
                "{at}: the event is {bytes} bytes, over the {limit}-byte limit."
            ),
            DecodeError::Invalid { at, problem } => write!(f, "{at}: {problem}."),
        }
    }
}

impl std::error::Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_sentences() {
        let cases = [
            (
                DecodeError::invalid(
                    Location::Line(3),
                    Problem::MissingTimestamp { member: "@t" },
                ),
                "Line 3: the required @t timestamp is missing.",
            ),
            (
                DecodeError::invalid(
                    Location::Event(0),
                    Problem::InvalidTimestamp {
                        member: "Timestamp",
                        reason: "`x` is not an ISO 8601 timestamp".into(),
                    },
                ),
                "Events[0]: Timestamp is invalid: `x` is not an ISO 8601 timestamp.",
            ),
            (
                DecodeError::EventTooLarge {
                    at: Location::Line(5),
                    bytes: 300000,
                    limit: 262144,
                },
                "Line 5: the event is 300000 bytes, over the 262144-byte limit.",
            ),
            (
                DecodeError::invalid(
                    Location::Event(0),
                    Problem::WrongType {
                        member: "Level",
                        expected: "a string",
                    },
                ),
                "Events[0]: Level must be a string.",
            ),
            (
                DecodeError::invalid(Location::Body, Problem::MissingEvents),
                "Request body: there is no Events array.",
            ),
            (
                DecodeError::PayloadTooLarge {
                    bytes: 11,
                    limit: 10,
                },
                "The request body is 11 bytes, over the 10-byte limit.",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
    }
}
