//! Why a syslog message or a TCP frame was refused.

use std::fmt;

/// A datagram or frame that is not a syslog message, or a TCP stream that broke its framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyslogError {
    /// Nothing but whitespace and NULs.
    Empty,
    /// Starts with `<` but not with a priority `<0>` to `<191>`.
    BadPriority,
    /// No priority, and not text either (invalid UTF-8 or control characters): not syslog.
    NotSyslog,
    /// A TCP frame longer than the limit; it was skipped without being buffered.
    FrameTooLarge { limit: usize },
    /// A TCP frame started with a digit, so with an RFC 6587 octet count, but the count is zero
    /// or absurdly long; the stream resumes at the next LF or NUL.
    BadOctetCount,
    /// The stream ended inside an octet-counted frame.
    TruncatedFrame { expected: usize, received: usize },
}

impl fmt::Display for SyslogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyslogError::Empty => f.write_str("The syslog message is empty."),
            SyslogError::BadPriority => f.write_str(
                "The syslog message starts with `<` but not with a priority from <0> to <191>.",
            ),
            SyslogError::NotSyslog => f.write_str(
                "The message has no syslog priority and is not text, so it is not syslog.",
            ),
            SyslogError::FrameTooLarge { limit } => write!(
                f,
                "A syslog frame was over the {limit}-byte limit and was skipped."
            ),
            SyslogError::BadOctetCount => f.write_str(
                "A syslog frame started with a digit but not with a valid RFC 6587 octet count \
                 (`LEN SP MSG`); the stream was resynchronised at the next LF or NUL.",
            ),
            SyslogError::TruncatedFrame { expected, received } => write!(
                f,
                "The stream ended inside an octet-counted syslog frame ({received} of \
                 {expected} bytes received)."
            ),
        }
    }
}

impl std::error::Error for SyslogError {}
