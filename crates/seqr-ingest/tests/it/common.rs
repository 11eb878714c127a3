//! Reads the captured client requests in `../shared/data/client-fixtures/` (beside the repository).
//!
//! A fixture holds `### request N` sections: the request line, headers up to a blank line, then
//! the body up to the next `### ` line, less the blank line the capture adds after it. The
//! capture writes a carriage return as the two characters `\r` at the end of a line (seqlog's
//! CRLF framing); those become real CR bytes again.

use std::path::PathBuf;

use seqr_ingest::{DecodeError, Limits, clef_selected, decode_clef, decode_legacy};
use seqr_types::Event;

pub struct Request {
    pub file: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the server would read this body as CLEF.
    pub fn is_clef(&self) -> bool {
        self.path.ends_with("/ingest/clef")
            || clef_selected(self.query.as_deref(), self.header("content-type"))
    }

    pub fn decode(&self, limits: &Limits) -> Result<Vec<Event>, DecodeError> {
        if self.is_clef() {
            decode_clef(&self.body, limits)
        } else {
            decode_legacy(&self.body, limits)
        }
    }
}

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/client-fixtures/")
}

/// Every request in the fixtures that targets `/api/events/raw` or `/ingest/clef`.
pub fn ingestion_requests() -> Vec<Request> {
    let dir = fixtures_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let mut requests = Vec::new();
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        for request in parse_fixture(&name, &text) {
            if request.path.ends_with("/api/events/raw") || request.path.ends_with("/ingest/clef") {
                requests.push(request);
            }
        }
    }
    requests
}

fn parse_fixture(file: &str, text: &str) -> Vec<Request> {
    let mut requests = Vec::new();
    let mut rest = text;
    while let Some(start) = find_line(rest, "### request") {
        let section = &rest[start..];
        let after_marker = &section[section.find('\n').map_or(section.len(), |i| i + 1)..];
        let (head, body_and_more) = after_marker
            .split_once("\n\n")
            .unwrap_or((after_marker, ""));
        let mut lines = head.lines();
        let request_line = lines.next().unwrap_or_default();
        let mut parts = request_line.split(' ');
        let method = parts.next().unwrap_or_default();
        let target = parts.next().unwrap_or_default();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let section_end = find_line(body_and_more, "### ").unwrap_or(body_and_more.len());
        let raw_body = &body_and_more[..section_end];
        // The capture writes a blank line after each body. (Its recorded content-length
        // headers do not match the stored bodies, so they cannot be used to cut them.)
        let body = raw_body.strip_suffix("\n\n").unwrap_or(raw_body);
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q.to_owned())),
            None => (target, None),
        };
        if method == "POST" {
            requests.push(Request {
                file: file.to_owned(),
                path: path.to_owned(),
                query,
                headers,
                body: body.replace("\\r\n", "\r\n").into_bytes(),
            });
        }
        let consumed = text.len() - rest.len() + start + 1;
        rest = &text[consumed..];
    }
    requests
}

/// Byte offset of the first line starting with `prefix`.
fn find_line(text: &str, prefix: &str) -> Option<usize> {
    if text.starts_with(prefix) {
        return Some(0);
    }
    text.find(&format!("\n{prefix}")).map(|i| i + 1)
}
