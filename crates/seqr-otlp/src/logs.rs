//! Log records as events.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use seqr_types::{Event, Properties, Timestamp, event_type};
use serde_json::Value;

use crate::values::{self, id, time};
use crate::{Decoded, admit};

pub(crate) fn events(request: ExportLogsServiceRequest, max_event_bytes: usize) -> Decoded {
    let mut out = Decoded::default();
    for resource_logs in request.resource_logs {
        let resource = resource_logs
            .resource
            .map(|r| values::properties(r.attributes))
            .filter(|r| !r.is_empty());
        for scope_logs in resource_logs.scope_logs {
            let scope = values::scope(scope_logs.scope);
            for record in scope_logs.log_records {
                let event = event(record, resource.clone(), scope.clone());
                admit(&mut out, event, max_event_bytes);
            }
        }
    }
    out
}

fn event(record: LogRecord, resource: Option<Properties>, scope: Option<Properties>) -> Event {
    let exception = exception(&record.attributes);
    let (message_template, message) = match record.body.and_then(|b| b.value) {
        Some(any_value::Value::StringValue(s)) => (Some(s), None),
        None => (None, None),
        // A structured body has no template: it is shown as its JSON.
        Some(other) => (
            None,
            Some(
                values::json(Some(opentelemetry_proto::tonic::common::v1::AnyValue {
                    value: Some(other),
                }))
                .to_string(),
            ),
        ),
    };
    let mut properties = values::properties(record.attributes);
    if !record.event_name.is_empty() {
        properties
            .entry("EventName")
            .or_insert(Value::String(record.event_name));
    }
    let mut event = Event {
        timestamp: time(record.time_unix_nano)
            .or_else(|| time(record.observed_time_unix_nano))
            .unwrap_or_else(Timestamp::now),
        level: level(&record.severity_text, record.severity_number),
        message_template,
        message,
        exception,
        trace_id: id(&record.trace_id),
        span_id: id(&record.span_id),
        resource,
        scope,
        properties,
        ..Event::default()
    };
    event.event_type = event_type::of_template(event.template_or_message());
    event
}

/// The severity text as sent, else the level OTLP's severity number stands for.
fn level(text: &str, number: i32) -> Option<String> {
    if !text.trim().is_empty() {
        return Some(text.to_owned());
    }
    let name = match number {
        1..=4 => "Verbose",
        5..=8 => "Debug",
        9..=12 => return None, // Information, the default
        13..=16 => "Warning",
        17..=20 => "Error",
        21..=24 => "Fatal",
        _ => return None,
    };
    Some(name.to_owned())
}

/// `exception.stacktrace` when present (it holds the type and message), else
/// `exception.type: exception.message`, from OpenTelemetry's exception conventions.
pub(crate) fn exception(attributes: &[KeyValue]) -> Option<String> {
    let text = |name: &str| {
        attributes.iter().find(|kv| kv.key == name).and_then(|kv| {
            match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) if !s.is_empty() => Some(s.clone()),
                _ => None,
            }
        })
    };
    if let Some(trace) = text("exception.stacktrace") {
        return Some(trace);
    }
    match (text("exception.type"), text("exception.message")) {
        (Some(t), Some(m)) => Some(format!("{t}: {m}")),
        (Some(one), None) | (None, Some(one)) => Some(one),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_numbers_map_to_seq_levels_and_text_wins() {
        assert_eq!(level("", 1).as_deref(), Some("Verbose"));
        assert_eq!(level("", 9), None);
        assert_eq!(level("", 13).as_deref(), Some("Warning"));
        assert_eq!(level("", 17).as_deref(), Some("Error"));
        assert_eq!(level("", 24).as_deref(), Some("Fatal"));
        assert_eq!(level("WARN", 13).as_deref(), Some("WARN"));
        assert_eq!(level("", 0), None);
    }
}
