//! Spans as events: the span's end is the event's time, its start `@st`, its name the
//! template; an error status makes it an `Error`.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{Span, span, status};
use seqr_types::{Event, Properties, Timestamp, event_type};
use serde_json::{Map, Value};

use crate::values::{self, id, time};
use crate::{Decoded, admit};

pub(crate) fn events(request: ExportTraceServiceRequest, max_event_bytes: usize) -> Decoded {
    let mut out = Decoded::default();
    for resource_spans in request.resource_spans {
        let resource = resource_spans
            .resource
            .map(|r| values::properties(r.attributes))
            .filter(|r| !r.is_empty());
        for scope_spans in resource_spans.scope_spans {
            let scope = values::scope(scope_spans.scope);
            for s in scope_spans.spans {
                let event = event(s, resource.clone(), scope.clone());
                admit(&mut out, event, max_event_bytes);
            }
        }
    }
    out
}

fn event(s: Span, resource: Option<Properties>, scope: Option<Properties>) -> Event {
    let exception = s
        .events
        .iter()
        .find(|e| e.name == "exception")
        .and_then(|e| crate::logs::exception(&e.attributes));
    let mut properties = values::properties(s.attributes);
    let status = s.status.unwrap_or_default();
    let error = status.code == status::StatusCode::Error as i32;
    if !status.message.is_empty() {
        properties
            .entry("StatusMessage")
            .or_insert(Value::String(status.message));
    }
    if !s.events.is_empty() {
        let events = s.events.into_iter().map(span_event).collect();
        properties.entry("Events").or_insert(Value::Array(events));
    }
    if !s.links.is_empty() {
        let links = s.links.into_iter().map(link).collect();
        properties.entry("Links").or_insert(Value::Array(links));
    }
    let end = time(s.end_time_unix_nano);
    let start = time(s.start_time_unix_nano);
    let mut event = Event {
        timestamp: end.or(start).unwrap_or_else(Timestamp::now),
        span_start: start.or(end).or_else(|| Some(Timestamp::now())),
        level: error.then(|| "Error".to_owned()),
        message_template: Some(s.name),
        exception,
        trace_id: id(&s.trace_id),
        span_id: id(&s.span_id),
        parent_id: id(&s.parent_span_id),
        span_kind: kind(s.kind),
        resource,
        scope,
        properties,
        ..Event::default()
    };
    event.event_type = event_type::of_template(event.template_or_message());
    event
}

/// Seq's names for span kinds; unspecified is left out.
fn kind(kind: i32) -> Option<String> {
    let name = match span::SpanKind::try_from(kind).ok()? {
        span::SpanKind::Unspecified => return None,
        span::SpanKind::Internal => "Internal",
        span::SpanKind::Server => "Server",
        span::SpanKind::Client => "Client",
        span::SpanKind::Producer => "Producer",
        span::SpanKind::Consumer => "Consumer",
    };
    Some(name.to_owned())
}

fn span_event(e: span::Event) -> Value {
    let mut map = Map::new();
    map.insert("Name".into(), Value::String(e.name));
    if let Some(t) = time(e.time_unix_nano) {
        map.insert("Timestamp".into(), Value::String(t.to_iso()));
    }
    let attributes = values::properties(e.attributes);
    if !attributes.is_empty() {
        map.insert("Attributes".into(), Value::Object(attributes));
    }
    Value::Object(map)
}

fn link(l: span::Link) -> Value {
    let mut map = Map::new();
    if let Some(t) = id(&l.trace_id) {
        map.insert("TraceId".into(), Value::String(t));
    }
    if let Some(s) = id(&l.span_id) {
        map.insert("SpanId".into(), Value::String(s));
    }
    let attributes = values::properties(l.attributes);
    if !attributes.is_empty() {
        map.insert("Attributes".into(), Value::Object(attributes));
    }
    Value::Object(map)
}
