//! How built-in properties (seq-compat 2.4) read from a stored event.

use rust_decimal::Decimal;
use seqr_types::StoredEvent;

use crate::ast::Builtin;
use crate::value::{Eval, Value};

fn string(s: &Option<String>) -> Eval {
    s.as_ref().map(|s| Value::String(s.clone()))
}

fn object(members: &seqr_types::Properties) -> Value {
    Value::Object(
        members
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), Value::from_json(v)?)))
            .collect(),
    )
}

/// The value of a built-in for one event; undefined where the event has none.
pub fn builtin(b: Builtin, stored: &StoredEvent) -> Eval {
    let e = &stored.event;
    match b {
        Builtin::Timestamp => Some(Value::from_i64(e.timestamp.ticks())),
        Builtin::Message => Some(Value::String(e.rendered_message())),
        Builtin::MessageTemplate => Some(Value::String(e.template_or_message().to_string())),
        Builtin::Level => Some(Value::String(e.level_or_default().to_string())),
        Builtin::Exception => string(&e.exception),
        Builtin::EventType => Some(Value::Number(Decimal::from(e.event_type))),
        Builtin::Properties => Some(object(&e.properties)),
        Builtin::Id => Some(Value::String(stored.id.to_string())),
        Builtin::Arrived => Some(Value::Number(Decimal::from(stored.id.arrival))),
        Builtin::Data => Some(data(stored)),
        Builtin::Document => Some(Value::String(data(stored).to_json().to_string())),
        Builtin::TraceId => string(&e.trace_id),
        Builtin::SpanId => string(&e.span_id),
        Builtin::ParentId => string(&e.parent_id),
        Builtin::SpanKind => string(&e.span_kind),
        Builtin::Start => e.span_start.map(|t| Value::from_i64(t.ticks())),
        Builtin::Elapsed => e
            .span_start
            .and_then(|s| e.timestamp.ticks().checked_sub(s.ticks()))
            .map(Value::from_i64),
        Builtin::Resource => e.resource.as_ref().map(object),
        Builtin::Scope => e.scope.as_ref().map(object),
        Builtin::Definitions => None,
        Builtin::Renderings => (!e.renderings.is_empty())
            .then(|| Value::Array(e.renderings.iter().cloned().map(Value::String).collect())),
    }
}

/// `@Data`: the whole event as one object, with CLEF's member names, so that
/// `Length(ToJson(@Data))` approximates the event's size as Seq documents.
pub fn data(stored: &StoredEvent) -> Value {
    let e = &stored.event;
    let mut members = vec![
        ("@t".to_string(), Value::from_i64(e.timestamp.ticks())),
        (
            "@mt".to_string(),
            Value::String(e.template_or_message().to_string()),
        ),
        (
            "@l".to_string(),
            Value::String(e.level_or_default().to_string()),
        ),
    ];
    let optional = [
        ("@x", &e.exception),
        ("@tr", &e.trace_id),
        ("@sp", &e.span_id),
        ("@ps", &e.parent_id),
        ("@sk", &e.span_kind),
    ];
    for (name, v) in optional {
        if let Some(v) = v {
            members.push((name.to_string(), Value::String(v.clone())));
        }
    }
    if let Some(st) = e.span_start {
        members.push(("@st".to_string(), Value::from_i64(st.ticks())));
    }
    members.push(("@i".to_string(), Value::Number(Decimal::from(e.event_type))));
    if let Some(r) = &e.resource {
        members.push(("@ra".to_string(), object(r)));
    }
    if let Some(s) = &e.scope {
        members.push(("@sa".to_string(), object(s)));
    }
    for (k, v) in &e.properties {
        if let Some(v) = Value::from_json(v) {
            members.push((k.clone(), v));
        }
    }
    Value::Object(members)
}
