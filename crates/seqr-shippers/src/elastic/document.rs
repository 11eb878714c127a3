//! One bulk document as an event: the fields Elasticsearch shippers put the time, message,
//! level, exception and trace context in are taken out; the rest are properties as sent.

use seqr_types::{Event, Properties, Timestamp};
use serde_json::Value;

use crate::{finish, time};

/// Where the time is: Beats, Fluent Bit and ECS use `@timestamp`, Vector's bulk mode `timestamp`.
const TIME: [&str; 2] = ["@timestamp", "timestamp"];
/// The message: ECS `message`, Docker/Kubernetes `log` (Fluent Bit), `msg` (pino, zap, logrus).
const MESSAGE: [&str; 3] = ["message", "log", "msg"];
const LEVEL: [&str; 4] = ["log.level", "level", "severity", "log_level"];
const EXCEPTION: [&str; 1] = ["error.stack_trace"];
const TRACE_ID: [&str; 1] = ["trace.id"];
const SPAN_ID: [&str; 1] = ["span.id"];

pub(super) fn event(mut doc: Properties, index: &str) -> Event {
    let timestamp = take_time(&mut doc).unwrap_or_else(Timestamp::now);
    let message = take_text(&mut doc, &MESSAGE);
    let level = take_text(&mut doc, &LEVEL);
    let exception = take_text(&mut doc, &EXCEPTION);
    let trace_id = take_text(&mut doc, &TRACE_ID);
    let span_id = take_text(&mut doc, &SPAN_ID);
    doc.insert("_index".into(), Value::String(index.to_owned()));
    finish(Event {
        timestamp,
        level,
        message,
        exception,
        trace_id,
        span_id,
        properties: doc,
        ..Event::default()
    })
}

/// The first time field that parses, taken out; one that does not parse stays a property.
fn take_time(doc: &mut Properties) -> Option<Timestamp> {
    for name in TIME {
        let parsed = match doc.get(name) {
            Some(Value::String(s)) => Timestamp::parse(s)
                .ok()
                .or_else(|| time::from_unix_millis_text(s)),
            Some(Value::Number(n)) => time::from_unix_millis_text(&n.to_string()),
            _ => None,
        };
        if parsed.is_some() {
            doc.shift_remove(name);
            return parsed;
        }
    }
    None
}

/// The first of `paths` holding a non-empty string, taken out. A dotted path is looked up as
/// a flat key first (`"log.level"`), then nested (`{"log":{"level":..}}`); a parent object it
/// leaves empty is removed.
fn take_text(doc: &mut Properties, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|path| take_path(doc, path))
}

fn take_path(doc: &mut Properties, path: &str) -> Option<String> {
    let is_text = |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    if is_text(doc.get(path)) {
        return into_string(doc.shift_remove(path));
    }
    let (parent, child) = path.split_once('.')?;
    let Some(Value::Object(inner)) = doc.get_mut(parent) else {
        return None;
    };
    if !is_text(inner.get(child)) {
        return None;
    }
    let text = into_string(inner.shift_remove(child));
    if inner.is_empty() {
        doc.shift_remove(parent);
    }
    text
}

fn into_string(value: Option<Value>) -> Option<String> {
    match value {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> Properties {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn ecs_document_from_filebeat() {
        let e = event(
            doc(json!({
                "@timestamp": "2026-11-24T23:40:30.448Z",
                "message": "GET /health 200",
                "log": {"level": "warn", "file": {"path": "/var/log/app.log"}},
                "error": {"stack_trace": "boom\n  at x"},
                "trace": {"id": "4bf92f3577b34da6a3ce929d0e0e4736"},
                "span": {"id": "00f067aa0ba902b7"},
                "host": {"name": "web-1"},
            })),
            "filebeat-8.19.0",
        );
        assert_eq!(e.timestamp.to_iso(), "2026-11-24T23:40:30.4480000Z");
        assert_eq!(e.message.as_deref(), Some("GET /health 200"));
        assert_eq!(e.level.as_deref(), Some("warn"));
        assert_eq!(e.exception.as_deref(), Some("boom\n  at x"));
        assert_eq!(
            e.trace_id.as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(e.span_id.as_deref(), Some("00f067aa0ba902b7"));
        assert_eq!(
            Value::Object(e.properties),
            json!({
                "log": {"file": {"path": "/var/log/app.log"}},
                "host": {"name": "web-1"},
                "_index": "filebeat-8.19.0",
            })
        );
        assert_eq!(
            e.event_type,
            seqr_types::event_type::of_template("GET /health 200")
        );
    }

    #[test]
    fn fallbacks_and_flat_dotted_keys() {
        let e = event(
            doc(
                json!({"timestamp": 1_700_000_000_123_u64, "log": "docker line\n", "log.level": "ERROR"}),
            ),
            "i",
        );
        assert_eq!(e.timestamp.to_iso(), "2023-11-14T22:13:20.1230000Z");
        assert_eq!(e.message.as_deref(), Some("docker line\n"));
        assert_eq!(e.level.as_deref(), Some("ERROR"));
        assert_eq!(Value::Object(e.properties), json!({"_index": "i"}));

        // A `log` object is no message; `msg` is. A non-string message stays a property.
        let e = event(
            doc(json!({"message": 42, "log": {"x": 1}, "msg": "hi", "severity": "info"})),
            "i",
        );
        assert_eq!(e.message.as_deref(), Some("hi"));
        assert_eq!(e.level.as_deref(), Some("info"));
        assert_eq!(
            Value::Object(e.properties),
            json!({"message": 42, "log": {"x": 1}, "_index": "i"})
        );
    }

    #[test]
    fn an_unparsable_time_stays_a_property() {
        let before = Timestamp::now();
        let e = event(doc(json!({"@timestamp": "yesterday", "message": "m"})), "i");
        assert!(e.timestamp >= before);
        assert_eq!(e.properties.get("@timestamp"), Some(&json!("yesterday")));
        // Millis as a digit string, and `@timestamp` preferred over `timestamp`.
        let e = event(
            doc(json!({"@timestamp": "1700000000123", "timestamp": "2020-01-01T00:00:00Z"})),
            "i",
        );
        assert_eq!(e.timestamp.to_iso(), "2023-11-14T22:13:20.1230000Z");
        assert_eq!(
            e.properties.get("timestamp"),
            Some(&json!("2020-01-01T00:00:00Z"))
        );
        assert_eq!(e.message, None);
    }
}
