//! `api/diagnostics/ingestion` (System): Seq's ingestion log, the recently refused payloads
//! with who sent them, why, and how they began, so an operator can see why a sender's events
//! are missing without turning on debug logging.
//!
//! Bounded: the newest [`MAX_ENTRIES`] entries and at most [`MAX_BYTES`] of text; a new entry
//! evicts the oldest. Every field is escaped (control characters as `\n`, `\u{1b}`, ...), so
//! one entry is always one line and a payload cannot forge another. Answered oldest first.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Mutex;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use seqr_types::Timestamp;
use serde::Serialize;

use crate::AppState;

/// Entries kept.
pub(crate) const MAX_ENTRIES: usize = 256;
/// Text kept, over all entries (each entry is counted by its fields' lengths).
pub(crate) const MAX_BYTES: usize = 1024 * 1024;
/// Characters of a payload (and of a message) kept.
pub(crate) const PAYLOAD_CHARS: usize = 1024;
/// Bytes of a payload captured to find those characters in (UTF-8 takes up to four a char).
pub(crate) const PAYLOAD_CAPTURE_BYTES: usize = 4 * PAYLOAD_CHARS;

/// One refused payload.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Entry {
    /// UTC, ISO 8601.
    pub(crate) timestamp: String,
    pub(crate) client_address: String,
    /// `clef`, `gelf_udp`, ... (the `input` label of `/metrics`).
    pub(crate) input: &'static str,
    /// The API key's id, or the prefix of an unknown key, or `none`; never a token.
    pub(crate) api_key: String,
    /// The `reason` label of `/metrics`.
    pub(crate) reason: &'static str,
    /// What the sender was told (HTTP) or why the message was dropped (listeners).
    pub(crate) message: String,
    /// The payload's first characters, escaped; empty when it was not read.
    pub(crate) payload: String,
}

impl Entry {
    fn size(&self) -> usize {
        64 + self.client_address.len()
            + self.api_key.len()
            + self.message.len()
            + self.payload.len()
    }

    /// The entry as one line of text, in Seq's words.
    fn line(&self) -> String {
        let mut line = format!(
            "{} Rejecting payload from {} ({}, API key {}) due to {}: {}",
            self.timestamp,
            self.client_address,
            self.input,
            self.api_key,
            self.reason.replace('_', " "),
            self.message
        );
        if !self.payload.is_empty() {
            line.push_str(" Payload: ");
            line.push_str(&self.payload);
        }
        line
    }
}

/// What a rejection site knows; [`IngestionLog::record`] escapes and bounds it.
pub(crate) struct Rejected<'a> {
    pub(crate) client: String,
    pub(crate) input: &'static str,
    pub(crate) api_key: String,
    /// A `reason` label (`Reason::label`, or a listener's: `malformed`, `rate_limited`, ...).
    pub(crate) reason: &'static str,
    pub(crate) message: &'a str,
    pub(crate) payload: &'a [u8],
}

/// Put on a 2xx ingestion answer when some records were refused one by one (OTLP
/// `partialSuccess`, Elasticsearch bulk items) and the rest stored: the request is not counted
/// as refused, but the log still shows the operator why those records are missing.
#[derive(Clone, Debug)]
pub(crate) struct PartlyRefused {
    pub(crate) reason: crate::metrics::Reason,
    pub(crate) message: String,
}

#[derive(Default)]
struct Ring {
    entries: VecDeque<Entry>,
    bytes: usize,
}

/// The log (one per server, on `AppState`).
#[derive(Default)]
pub(crate) struct IngestionLog {
    ring: Mutex<Ring>,
}

impl IngestionLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn record(&self, r: Rejected<'_>) {
        let entry = Entry {
            timestamp: Timestamp::now().to_iso(),
            client_address: escape(&r.client, 64),
            input: r.input,
            api_key: escape(&r.api_key, 64),
            reason: r.reason,
            message: escape(r.message, PAYLOAD_CHARS),
            payload: escape(&String::from_utf8_lossy(r.payload), PAYLOAD_CHARS),
        };
        let size = entry.size();
        let mut ring = self.lock();
        ring.entries.push_back(entry);
        ring.bytes += size;
        while ring.entries.len() > MAX_ENTRIES || ring.bytes > MAX_BYTES {
            match ring.entries.pop_front() {
                Some(old) => ring.bytes -= old.size(),
                None => break,
            }
        }
    }

    pub(crate) fn entries(&self) -> Vec<Entry> {
        self.lock().entries.iter().cloned().collect()
    }
}

/// The client's address as the ingestion log shows it. One place, so that trusted-proxy
/// handling (`X-Forwarded-For` from known proxies) can be added here alone.
pub(crate) fn client_of(peer: Option<SocketAddr>, _headers: &HeaderMap) -> String {
    peer.map_or_else(|| "an unknown address".to_owned(), |a| a.ip().to_string())
}

/// The first `max_chars` characters of `text`, with backslashes and control characters
/// escaped so the result is a single line that reads back unambiguously.
pub(crate) fn escape(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars) + 8);
    for (i, c) in text.chars().enumerate() {
        if i == max_chars {
            out.push('…');
            break;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Line and paragraph separators end lines in some viewers.
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// `GET api/diagnostics/ingestion`: text lines, oldest first; `?format=json` or
/// `Accept: application/json` answers a JSON array of the same entries.
pub(crate) async fn ingestion(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let entries = state.ingestion_log.entries();
    let json_asked = crate::query::pairs(query.as_deref().unwrap_or(""))
        .any(|(k, v)| k.eq_ignore_ascii_case("format") && v.eq_ignore_ascii_case("json"))
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/json"));
    if json_asked {
        return axum::Json(entries).into_response();
    }
    let mut text = String::new();
    for e in &entries {
        text.push_str(&e.line());
        text.push('\n');
    }
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(payload: &[u8]) -> Rejected<'_> {
        Rejected {
            client: "10.0.0.5".into(),
            input: "clef",
            api_key: "none".into(),
            reason: "invalid_payload",
            message: "bad",
            payload,
        }
    }

    #[test]
    fn control_characters_cannot_break_a_line() {
        assert_eq!(
            escape("a\nb\\n\r\t\u{1b}[31m", 100),
            "a\\nb\\\\n\\r\\t\\u{1b}[31m"
        );
        assert_eq!(escape("abcdef", 3), "abc…");
    }

    #[test]
    fn the_oldest_entries_leave_first() {
        let log = IngestionLog::default();
        for i in 0..MAX_ENTRIES + 10 {
            log.record(rejected(format!("{i}").as_bytes()));
        }
        let entries = log.entries();
        assert_eq!(entries.len(), MAX_ENTRIES);
        assert_eq!(entries[0].payload, "10");
        // Payloads that escape to six times their length are held to the byte bound too.
        let big = "\u{1}".repeat(PAYLOAD_CAPTURE_BYTES);
        for _ in 0..2000 {
            log.record(Rejected {
                message: &big,
                ..rejected(big.as_bytes())
            });
        }
        assert!(log.lock().bytes <= MAX_BYTES);
        assert!(
            log.entries().len() < MAX_ENTRIES,
            "the byte bound is the tighter one here"
        );
    }
}
