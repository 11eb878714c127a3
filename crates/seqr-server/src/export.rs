//! `GET api/events/export`: every event a search matches, streamed as CLEF, a JSON array of
//! `EventEntity`, or CSV (seqr's own route; Seq exports from its UI). The caller's view filter
//! is AND-ed in, as for every read.
//!
//! The store is paged on a blocking thread into a small channel, so memory stays at a few
//! pages whatever the export's size, a slow client slows the reading down, and a client that
//! goes away stops it.

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use seqr_store::{SearchRequest, SearchStatus};
use seqr_types::{StoredEvent, Timestamp};

use crate::AppState;
use crate::auth::rules::Caller;
use crate::clef_out::ClefDocument;
use crate::entity::EventEntity;
use crate::error::ApiError;
use crate::filters::{self, ReadFilter};
use crate::query;

/// Events per store page.
const PAGE: usize = 1000;
/// Encoded pages buffered ahead of the client.
const PAGES_AHEAD: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Clef,
    Json,
    Csv,
}

impl Format {
    fn parse(value: &str) -> Result<Format, ApiError> {
        match value.to_ascii_lowercase().as_str() {
            "" | "clef" | "application/vnd.serilog.clef" => Ok(Format::Clef),
            "json" | "application/json" => Ok(Format::Json),
            "csv" | "text/csv" => Ok(Format::Csv),
            other => Err(ApiError::bad_request(format!(
                "`format` must be clef, json or csv, not `{other}`."
            ))),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Clef => "application/vnd.serilog.clef",
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    fn file_name(self) -> &'static str {
        match self {
            Format::Clef => "seqr-export.clef",
            Format::Json => "seqr-export.json",
            Format::Csv => "seqr-export.csv",
        }
    }
}

struct Params {
    filter: Option<String>,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    format: Format,
}

impl Params {
    fn parse(raw: Option<&str>) -> Result<Params, ApiError> {
        let mut p = Params {
            filter: None,
            from: None,
            to: None,
            format: Format::Clef,
        };
        for (key, value) in query::pairs(raw.unwrap_or("")) {
            let value = value.trim();
            match key.to_ascii_lowercase().as_str() {
                "filter" => p.filter = Some(value.to_owned()),
                "fromdateutc" => p.from = crate::events::parse_date(&key, value)?,
                "todateutc" => p.to = crate::events::parse_date(&key, value)?,
                "format" => p.format = Format::parse(value)?,
                "signal" if !value.is_empty() => return Err(crate::events::signal_unsupported()),
                _ => {}
            }
        }
        Ok(p)
    }
}

/// `GET api/events/export{?filter,fromDateUtc,toDateUtc,format}`.
pub(crate) async fn export(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref())?;
    let request_filter = match &params.filter {
        Some(text) => filters::parse_request_filter("filter", text)?,
        None => None,
    };
    let view = ReadFilter::new(&caller, request_filter)?;
    let (view_from, view_to) = view.time_range();
    let from = params.from.max(view_from);
    let to = match (params.to, view_to) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let format = params.format;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(PAGES_AHEAD);
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let mut writer = Writer::new(format);
        let mut after = None;
        let matches = |e: &StoredEvent| view.matches(e);
        let predicates = view.predicates();
        loop {
            let request = SearchRequest {
                count: PAGE,
                after_id: after,
                start_at_id: None,
                from,
                to,
                scan_limit: None,
                deadline: None,
                filter: Some(&matches),
                predicates: &predicates,
            };
            let page = match store.search(&request) {
                Ok(page) => page,
                Err(e) => {
                    // The status line is gone; cutting the body short tells the client.
                    tracing::error!(error = %e, "export failed reading stored events");
                    let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
                    return;
                }
            };
            for e in &page.events {
                writer.event(e);
            }
            let last = page.status == SearchStatus::Complete || page.last_read.is_none();
            if last {
                writer.finish();
            }
            if tx.blocking_send(Ok(writer.take())).is_err() {
                return; // The client went away.
            }
            if last {
                return;
            }
            after = page.last_read;
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(v) =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", format.file_name()))
    {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// Encodes events in one format, a page at a time.
struct Writer {
    format: Format,
    buf: Vec<u8>,
    written: usize,
}

impl Writer {
    fn new(format: Format) -> Writer {
        let mut buf = Vec::new();
        match format {
            Format::Json => buf.push(b'['),
            Format::Csv => buf.extend_from_slice(
                b"Id,Timestamp,Level,EventType,Message,Exception,Properties\r\n",
            ),
            Format::Clef => {}
        }
        Writer {
            format,
            buf,
            written: 0,
        }
    }

    fn event(&mut self, e: &StoredEvent) {
        let ok = match self.format {
            Format::Clef => serde_json::to_writer(&mut self.buf, &ClefDocument(e))
                .map(|()| self.buf.push(b'\n')),
            Format::Json => {
                if self.written > 0 {
                    self.buf.push(b',');
                }
                serde_json::to_writer(&mut self.buf, &EventEntity::new(e, true))
            }
            Format::Csv => serde_json::to_string(&e.event.properties).map(|properties| {
                let event = &e.event;
                let fields = [
                    e.id.to_string(),
                    event.timestamp.to_iso(),
                    event.level_or_default().to_owned(),
                    seqr_types::event_type::display(event.event_type),
                    event.rendered_message(),
                    event.exception.clone().unwrap_or_default(),
                    properties,
                ];
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        self.buf.push(b',');
                    }
                    csv_field(&mut self.buf, field);
                }
                self.buf.extend_from_slice(b"\r\n");
            }),
        };
        if let Err(err) = ok {
            tracing::error!(error = %err, "an exported event could not be written");
        }
        self.written += 1;
    }

    fn finish(&mut self) {
        if self.format == Format::Json {
            self.buf.push(b']');
        }
    }

    fn take(&mut self) -> Bytes {
        Bytes::from(std::mem::take(&mut self.buf))
    }
}

/// RFC 4180: quoted when it holds a comma, quote or line break; quotes doubled. A leading
/// `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet never runs event text as a
/// formula.
fn csv_field(out: &mut Vec<u8>, field: &str) {
    let formula = field.starts_with(['=', '+', '-', '@']);
    let quote = formula || field.contains([',', '"', '\r', '\n']);
    if quote {
        out.push(b'"');
    }
    if formula {
        out.push(b'\'');
    }
    for b in field.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    if quote {
        out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        let mut out = Vec::new();
        for f in [
            "plain",
            "a,b",
            "say \"hi\"",
            "line\nbreak",
            "=1+1",
            "@SUM(A1)",
        ] {
            csv_field(&mut out, f);
            out.push(b'|');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"line\nbreak\"|\"'=1+1\"|\"'@SUM(A1)\"|"
        );
    }
}
