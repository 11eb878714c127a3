//! OpenTelemetry's OTLP logs and traces as seqr events (seq-compat 1.13), from protobuf
//! (`application/x-protobuf`) or OTLP/JSON (`application/json`) bodies. Pure: no I/O.
//!
//! - Log records: body as the message template, severity text (else number) as the level,
//!   trace and span ids as hex, `exception.*` attributes composed into `@x`.
//! - Spans: name as the template, end time as `@t`, start as `@st`, kind, parent, status
//!   (an error status is level `Error`), span events and links kept as properties.
//! - Attributes become properties with dotted names as paths (`http.response.status_code`
//!   is `http.response.status_code` in a query); resource attributes go under `@Resource`, the
//!   scope under `@Scope`.
//!
//! A record too large for the event limit is rejected on its own and counted in the answer's
//! `partialSuccess`, as OTLP prescribes; the rest of the request is kept.

mod logs;
mod response;
mod traces;
mod values;

use seqr_types::Event;

pub use response::{logs_response, traces_response};

/// The body's encoding, from its content type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// `application/x-protobuf` or `application/json` (parameters ignored); anything else is
    /// not OTLP/HTTP.
    pub fn from_content_type(content_type: Option<&str>) -> Option<Encoding> {
        let media = content_type?.split(';').next()?.trim().to_ascii_lowercase();
        match media.as_str() {
            "application/x-protobuf" | "application/protobuf" => Some(Encoding::Protobuf),
            "application/json" => Some(Encoding::Json),
            _ => None,
        }
    }

    /// The content type of answers in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// What a request carried.
#[derive(Debug, Default)]
pub struct Decoded {
    pub events: Vec<Event>,
    /// Records refused one by one (too large), for `partialSuccess`.
    pub rejected: usize,
    /// Why, when any were.
    pub rejection: Option<String>,
}

/// A body that is not an OTLP request at all (answered 400, permanent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

/// An `ExportLogsServiceRequest` as events.
pub fn decode_logs(
    body: &[u8],
    encoding: Encoding,
    max_event_bytes: usize,
) -> Result<Decoded, DecodeError> {
    let request = parse(body, encoding, "ExportLogsServiceRequest")?;
    Ok(logs::events(request, max_event_bytes))
}

/// An `ExportTraceServiceRequest` as events, one per span.
pub fn decode_traces(
    body: &[u8],
    encoding: Encoding,
    max_event_bytes: usize,
) -> Result<Decoded, DecodeError> {
    let request = parse(body, encoding, "ExportTraceServiceRequest")?;
    Ok(traces::events(request, max_event_bytes))
}

fn parse<T>(body: &[u8], encoding: Encoding, what: &str) -> Result<T, DecodeError>
where
    T: prost::Message + Default + for<'de> serde::Deserialize<'de>,
{
    match encoding {
        Encoding::Protobuf => T::decode(body)
            .map_err(|e| DecodeError(format!("The body is not a protobuf {what}: {e}."))),
        // Through a `Value`: with the workspace's arbitrary-precision numbers, the generated
        // deserializers only read doubles from a parsed number, not from the text.
        Encoding::Json => serde_json::from_slice::<serde_json::Value>(body)
            .and_then(serde_json::from_value)
            .map_err(|e| DecodeError(format!("The body is not an OTLP/JSON {what}: {e}."))),
    }
}

/// Keeps `event` unless it is over the size limit (measured as the CLEF-like JSON of its
/// properties and text), counting a refusal instead.
fn admit(out: &mut Decoded, event: Event, max_event_bytes: usize) {
    let size = event.message_template.as_ref().map_or(0, String::len)
        + event.message.as_ref().map_or(0, String::len)
        + event.exception.as_ref().map_or(0, String::len)
        + serde_json::to_vec(&event.properties).map_or(usize::MAX, |v| v.len())
        + event
            .resource
            .as_ref()
            .and_then(|r| serde_json::to_vec(r).ok())
            .map_or(0, |v| v.len());
    if size > max_event_bytes {
        out.rejected += 1;
        out.rejection = Some(format!(
            "{} record(s) were over the {max_event_bytes}-byte event limit and were not stored.",
            out.rejected
        ));
    } else {
        out.events.push(event);
    }
}
