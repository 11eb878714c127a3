//! OTLP attribute values as JSON property values, and attribute lists as property maps with
//! dotted names nested into paths.

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use seqr_types::{Properties, Timestamp};
use serde_json::{Map, Number, Value};

/// An `AnyValue` as JSON: strings, booleans, integers and doubles as themselves (a non-finite
/// double as its text), arrays and key-value lists as arrays and objects, bytes as hex.
pub(crate) fn json(value: Option<AnyValue>) -> Value {
    let Some(kind) = value.and_then(|v| v.value) else {
        return Value::Null;
    };
    match kind {
        any_value::Value::StringValue(s) => Value::String(s),
        any_value::Value::BoolValue(b) => Value::Bool(b),
        any_value::Value::IntValue(i) => Value::Number(i.into()),
        any_value::Value::DoubleValue(d) => {
            Number::from_f64(d).map_or_else(|| Value::String(d.to_string()), Value::Number)
        }
        any_value::Value::ArrayValue(a) => {
            Value::Array(a.values.into_iter().map(|v| json(Some(v))).collect())
        }
        any_value::Value::KvlistValue(list) => {
            let mut map = Map::new();
            for kv in list.values {
                map.insert(kv.key, json(kv.value));
            }
            Value::Object(map)
        }
        any_value::Value::BytesValue(bytes) => Value::String(hex(&bytes)),
        // Profiling's string-table references mean nothing outside that signal.
        any_value::Value::StringValueStrindex(_) => Value::Null,
    }
}

/// Attributes as properties, `a.b.c` nested as `{"a":{"b":{"c":..}}}`.
pub(crate) fn properties(attributes: Vec<KeyValue>) -> Properties {
    let mut map = Properties::new();
    for kv in attributes {
        insert_path(&mut map, &kv.key, json(kv.value));
    }
    map
}

/// Puts `value` at the dotted `key`. A key with an empty segment, or one whose path runs
/// through a value that is not an object, is kept flat under its full name; a name already
/// taken keeps its first value (OTLP forbids duplicate keys).
pub(crate) fn insert_path(map: &mut Properties, key: &str, value: Value) {
    let segments: Vec<&str> = key.split('.').collect();
    if segments.len() == 1 || segments.iter().any(|s| s.is_empty()) {
        map.entry(key.to_owned()).or_insert(value);
        return;
    }
    let (last, parents) = segments.split_last().expect("at least two segments");
    match blocked_at(map, parents) {
        // `a` is a scalar and `a.b` arrives: `a.b` keeps its dotted name where the path stops.
        Some(depth) => {
            let rest = segments[depth..].join(".");
            descend(map, &parents[..depth]).entry(rest).or_insert(value);
        }
        None => {
            descend(map, parents)
                .entry((*last).to_owned())
                .or_insert(value);
        }
    }
}

/// The depth at which `path` meets a value that is not an object, if it does.
fn blocked_at(map: &Properties, path: &[&str]) -> Option<usize> {
    let mut node = map;
    for (depth, segment) in path.iter().enumerate() {
        match node.get(*segment) {
            None => return None,
            Some(Value::Object(inner)) => node = inner,
            Some(_) => return Some(depth),
        }
    }
    None
}

/// The object at `path`, creating empty objects on the way (every step is known to be an
/// object or absent).
fn descend<'a>(map: &'a mut Properties, path: &[&str]) -> &'a mut Properties {
    let mut node = map;
    for segment in path {
        let slot = node
            .entry((*segment).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        node = match slot {
            Value::Object(inner) => inner,
            _ => unreachable!("blocked_at found no scalar on this path"),
        };
    }
    node
}

/// The scope as `@Scope`: `name`, `version` when set, and its attributes.
pub(crate) fn scope(scope: Option<InstrumentationScope>) -> Option<Properties> {
    let scope = scope?;
    let mut map = Properties::new();
    if !scope.name.is_empty() {
        map.insert("name".into(), Value::String(scope.name));
    }
    if !scope.version.is_empty() {
        map.insert("version".into(), Value::String(scope.version));
    }
    for kv in scope.attributes {
        insert_path(&mut map, &kv.key, json(kv.value));
    }
    (!map.is_empty()).then_some(map)
}

/// Lowercase hex, as OTLP/JSON and W3C trace context write ids.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// A trace or span id, absent when empty or all zeros (OTLP's "no id").
pub(crate) fn id(bytes: &[u8]) -> Option<String> {
    (!bytes.is_empty() && bytes.iter().any(|b| *b != 0)).then(|| hex(bytes))
}

/// Unix nanoseconds as a timestamp; `None` for 0 (OTLP's "unset").
pub(crate) fn time(unix_nanos: u64) -> Option<Timestamp> {
    if unix_nanos == 0 {
        return None;
    }
    let ticks = i128::from(seqr_types::timestamp::UNIX_EPOCH_TICKS) + i128::from(unix_nanos / 100);
    i64::try_from(ticks).ok().map(Timestamp::from_ticks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dotted_names_nest_and_conflicts_stay_flat() {
        let mut map = Properties::new();
        insert_path(&mut map, "http.response.status_code", json!(200));
        insert_path(&mut map, "http.request.method", json!("GET"));
        insert_path(&mut map, "user", json!("bob"));
        insert_path(&mut map, "user.id", json!(7));
        insert_path(&mut map, ".odd", json!(1));
        insert_path(&mut map, "user", json!("second"));
        assert_eq!(
            Value::Object(map),
            json!({
                "http": { "response": { "status_code": 200 }, "request": { "method": "GET" } },
                "user": "bob",
                "user.id": 7,
                ".odd": 1,
            })
        );
    }

    #[test]
    fn ids_and_times() {
        assert_eq!(id(&[0; 8]), None);
        assert_eq!(id(&[0xab, 0x01]).as_deref(), Some("ab01"));
        assert_eq!(time(0), None);
        assert_eq!(
            time(1_700_000_000_123_456_789).unwrap().to_iso(),
            "2023-11-14T22:13:20.1234567Z"
        );
    }
}
