//! Syslog messages as seqr events, decoded the way Seq's own syslog input (Datalust's
//! `seq-input-syslog`, "squiflog") does, and RFC 6587 framing for syslog over TCP. Pure: no I/O.
//!
//! - RFC 5424 is parsed first; anything else is read as RFC 3164, including what real senders
//!   do to it: no timestamp, no hostname (Python's `SysLogHandler`), an RFC 3339 timestamp
//!   (rsyslog's forwarding templates), no PRI at all (taken as user.notice, PRI 13).
//! - `@l` is the severity name (`emerg` … `debug`), `@m` the trimmed MSG. Properties:
//!   `facility` (name), `hostname`, `app_name`, `proc_id`, `message_id`, and each SD-ID as an
//!   array of one-parameter objects, as squiflog writes them (see [`decode_message`]).
//! - Text that is not UTF-8 is decoded lossily rather than refused: syslog has no charset.

mod error;
mod framer;
mod message;
mod priority;
mod rfc3164;
mod rfc5424;
mod time;

use std::net::IpAddr;

use seqr_types::{Event, Timestamp};

pub use error::SyslogError;
pub use framer::TcpFramer;

use message::{Message, lossy};
use priority::{Pri, Priority};

/// One syslog message (a UDP datagram or a TCP frame) as an event. `received` is the arrival time
/// (used for a missing timestamp and a missing year); `peer` is the sender's address if known.
///
/// The mapping (squiflog's, with the differences noted):
///
/// | syslog | event |
/// |---|---|
/// | TIMESTAMP | `@t`; `received` when absent or `-`; RFC 3164 times are read as UTC |
/// | severity | `@l`: `emerg`, `alert`, `crit`, `err`, `warning`, `notice`, `info`, `debug` |
/// | MSG | `@m`, trimmed of whitespace, NULs and a leading BOM; absent when empty |
/// | facility | `facility`: `kern`, `user`, … `local7` |
/// | HOSTNAME | `hostname`; when the message has none, `peer`'s address (rsyslog's rule) |
/// | APP-NAME, RFC 3164 TAG | `app_name` (squiflog keeps the RFC 3164 TAG in `@m`) |
/// | PROCID, TAG's `[pid]` | `proc_id` |
/// | MSGID | `message_id` |
/// | `[id k="v" k2="v2"]` | `id`: `[{"k": "v"}, {"k2": "v2"}]`, escapes undone |
///
/// A message starting with `<` must start with a valid PRI (`<0>` to `<191>`); one without any
/// PRI is kept (as user.notice) only if it is text.
pub fn decode_message(
    bytes: &[u8],
    received: Timestamp,
    peer: Option<IpAddr>,
) -> Result<Event, SyslogError> {
    let bytes = trim_ascii(bytes);
    if bytes.is_empty() {
        return Err(SyslogError::Empty);
    }
    let message = match Priority::parse(bytes) {
        Pri::Valid(priority, rest) => parse(priority, rest, received),
        Pri::Bad => return Err(SyslogError::BadPriority),
        Pri::Missing if is_text(bytes) => rfc3164(priority::DEFAULT, bytes, received),
        Pri::Missing => return Err(SyslogError::NotSyslog),
    };
    Ok(message.into_event(received, peer))
}

/// RFC 5424 when the bytes after PRI are that, else RFC 3164.
fn parse(priority: Priority, rest: &[u8], received: Timestamp) -> Message {
    match rfc5424::parse(rest) {
        Some((header, structured_data, msg)) => Message {
            priority,
            header,
            structured_data,
            text: lossy(msg),
        },
        None => rfc3164(priority, rest, received),
    }
}

fn rfc3164(priority: Priority, rest: &[u8], received: Timestamp) -> Message {
    let (header, msg) = rfc3164::parse(rest, received);
    Message {
        priority,
        header,
        structured_data: Vec::new(),
        text: lossy(msg),
    }
}

/// Without surrounding ASCII whitespace and NULs (Python's `SysLogHandler` ends each message
/// with one).
fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let edge = |b: &u8| b.is_ascii_whitespace() || *b == 0;
    let start = bytes.iter().position(|b| !edge(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !edge(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// UTF-8 without control characters other than tab and line breaks: what a sender that skips
/// PRI still sends, unlike binary noise on the port.
fn is_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|s| {
        !s.chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    })
}

#[cfg(test)]
mod tests;
