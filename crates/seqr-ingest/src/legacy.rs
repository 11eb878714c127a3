//! The legacy ("raw") batch: `{"Events":[{"Timestamp":...,"MessageTemplate":...}]}`
//! (seq-compat 1.5), still sent by seq-logging, pino-seq, winston-seq, bunyan-seq and seqlog.

use std::fmt;

use seqr_types::template::{self, Token};
use seqr_types::{Event, Timestamp, Value, event_type};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::{DecodeError, Location, Problem};
use crate::fields::{self, Key};
use crate::limits::Limits;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes a legacy batch. `Events` may also be spelt `events` (as the forwarder accepts);
/// an empty or whitespace-only body is zero events, like CLEF's level-check request.
/// Errors name events by 0-based index (`Events[2]`). Any invalid event rejects the batch.
pub fn decode_legacy(body: &[u8], limits: &Limits) -> Result<Vec<Event>, DecodeError> {
    if body.len() > limits.max_body_bytes {
        return Err(DecodeError::PayloadTooLarge {
            bytes: body.len(),
            limit: limits.max_body_bytes,
        });
    }
    let body = body.strip_prefix(BOM).unwrap_or(body);
    let text = std::str::from_utf8(body)
        .map_err(|_| DecodeError::invalid(Location::Body, Problem::InvalidUtf8))?;
    if text.trim_ascii().is_empty() {
        return Ok(Vec::new());
    }
    let raw_events = batch(text).map_err(|p| DecodeError::invalid(Location::Body, p))?;

    let mut events = Vec::with_capacity(raw_events.len());
    for (index, raw) in raw_events.into_iter().enumerate() {
        let at = Location::Event(index);
        let json = raw.get();
        if json.len() > limits.max_event_bytes {
            return Err(DecodeError::EventTooLarge {
                at,
                bytes: json.len(),
                limit: limits.max_event_bytes,
            });
        }
        events.push(decode_event(json).map_err(|p| DecodeError::invalid(at, p))?);
    }
    Ok(events)
}

/// Splits the body into each event's JSON text, borrowed from the body.
fn batch(text: &str) -> Result<Vec<&RawValue>, Problem> {
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = de
        .deserialize_map(BatchVisitor)
        .and_then(|events| de.end().map(|()| events));
    match parsed {
        Ok(Some(Some(events))) => Ok(events),
        Ok(Some(None)) => Err(Problem::EventsNotArray),
        Ok(None) => Err(Problem::MissingEvents),
        Err(e) if e.is_data() => Err(Problem::NotAnObject),
        Err(e) => Err(Problem::InvalidJson(fields::json_detail(&e, false))),
    }
}

/// The body object: `None` when there is no `Events`, `Some(None)` when it is not an array.
struct BatchVisitor;

impl<'de> Visitor<'de> for BatchVisitor {
    type Value = Option<Option<Vec<&'de RawValue>>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut events = None;
        while let Some(Key(key)) = map.next_key()? {
            if key == "Events" || key == "events" {
                events = Some(map.next_value_seed(EventsSeed)?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(events)
    }
}

/// The `Events` member: the array's elements as raw JSON, or `None` for any other value.
struct EventsSeed;

impl<'de> DeserializeSeed<'de> for EventsSeed {
    type Value = Option<Vec<&'de RawValue>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(EventsVisitor)
    }
}

struct EventsVisitor;

impl<'de> Visitor<'de> for EventsVisitor {
    type Value = Option<Vec<&'de RawValue>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut events = Vec::with_capacity(seq.size_hint().unwrap_or(16));
        while let Some(raw) = seq.next_element()? {
            events.push(raw);
        }
        Ok(Some(events))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Also reached for numbers, which arbitrary_precision presents as a one-entry map.
        fields::drain(&mut map)?;
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

fn decode_event(json: &str) -> Result<Event, Problem> {
    let mut de = serde_json::Deserializer::from_str(json);
    match de.deserialize_map(EventVisitor) {
        Ok(result) => result,
        Err(e) if e.is_data() => Err(Problem::NotAnObject),
        Err(e) => Err(Problem::InvalidJson(fields::json_detail(&e, false))),
    }
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Result<Event, Problem>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut builder = Builder::default();
        while let Some(Key(key)) = map.next_key()? {
            let applied = match &*key {
                "Timestamp" | "Level" | "MessageTemplate" | "RenderedMessage" | "Properties"
                | "Exception" | "Renderings" | "EventType" | "TraceId" | "SpanId" => {
                    builder.member(&key, map.next_value()?)
                }
                _ => {
                    // Unknown members are ignored, as Seq's legacy reader does.
                    map.next_value::<IgnoredAny>()?;
                    Ok(())
                }
            };
            if let Err(problem) = applied {
                fields::drain(&mut map)?;
                return Ok(Err(problem));
            }
        }
        Ok(builder.finish())
    }
}

#[derive(Default)]
struct Builder {
    event: Event,
    timestamp: Option<Timestamp>,
    event_type: Option<u32>,
    renderings: Option<Value>,
}

impl Builder {
    fn member(&mut self, name: &str, value: Value) -> Result<(), Problem> {
        let e = &mut self.event;
        match name {
            "Timestamp" => self.timestamp = fields::timestamp(value, "Timestamp")?,
            "Level" => e.level = fields::string(value, "Level")?,
            "MessageTemplate" => e.message_template = fields::string(value, "MessageTemplate")?,
            "RenderedMessage" => e.message = fields::string(value, "RenderedMessage")?,
            "Properties" => e.properties = fields::object(value, "Properties")?.unwrap_or_default(),
            "Exception" => e.exception = fields::string(value, "Exception")?,
            "Renderings" => self.renderings = Some(value),
            "EventType" => self.event_type = fields::event_type(value, "EventType")?,
            "TraceId" => e.trace_id = fields::string(value, "TraceId")?,
            "SpanId" => e.span_id = fields::string(value, "SpanId")?,
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<Event, Problem> {
        let mut event = self.event;
        event.timestamp = self.timestamp.ok_or(Problem::MissingTimestamp {
            member: "Timestamp",
        })?;
        event.event_type = self
            .event_type
            .unwrap_or_else(|| event_type::of_template(event.template_or_message()));
        if let (Some(renderings), Some(mt)) = (&self.renderings, &event.message_template) {
            event.renderings = positional_renderings(&template::parse(mt), renderings);
        }
        Ok(event)
    }
}

/// Converts `{"Prop":[{"Format":"x8","Rendering":"0000007b"}]}` to CLEF's `@r` order: one
/// string per formatted hole. If any hole has no matching rendering, none are used (the
/// values then render from the properties), since a partial `@r` would misalign.
fn positional_renderings(tokens: &[Token], renderings: &Value) -> Vec<String> {
    let Some(by_name) = renderings.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for token in tokens {
        let Token::Hole(hole) = token else { continue };
        let Some(format) = hole.format.as_deref() else {
            continue;
        };
        let found = by_name
            .get(&hole.name)
            .and_then(Value::as_array)
            .and_then(|entries| {
                entries.iter().find_map(|entry| {
                    (entry.get("Format")?.as_str()? == format)
                        .then(|| entry.get("Rendering")?.as_str())
                        .flatten()
                })
            });
        match found {
            Some(r) => out.push(r.to_owned()),
            None => return Vec::new(),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(body: &str) -> Result<Vec<Event>, DecodeError> {
        decode_legacy(body.as_bytes(), &Limits::default())
    }

    fn error(body: &str) -> String {
        decode(body).unwrap_err().to_string()
    }

    const T: &str = r#""Timestamp":"2026-11-24T23:40:30.448Z""#;

    #[test]
    fn empty_batches() {
        for body in [
            "",
            "  \n",
            r#"{"Events":[]}"#,
            r#"{"events":[]}"#,
            "\u{FEFF}{\"Events\":[]}",
        ] {
            assert!(decode(body).unwrap().is_empty(), "{body:?}");
        }
    }

    #[test]
    fn all_fields() {
        let body = format!(
            r#"{{"Events":[{{{T},"Level":"warn","MessageTemplate":"Value {{V:x8}} of {{N}}","RenderedMessage":"Value 0000007b of 3","Properties":{{"V":123,"N":3,"@odd":1,"Big":635476923356034756}},"Exception":"Error: x","Renderings":{{"V":[{{"Format":"x8","Rendering":"0000007b"}}]}},"EventType":"e80d5c02","TraceId":"4bf92f3577b34da6a3ce929d0e0e4736","SpanId":"00f067aa0ba902b7","Unknown":[1]}}]}}"#
        );
        let events = decode(&body).unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.timestamp.to_iso(), "2026-11-24T23:40:30.4480000Z");
        assert_eq!(e.level.as_deref(), Some("warn"));
        assert_eq!(e.message_template.as_deref(), Some("Value {V:x8} of {N}"));
        assert_eq!(e.message.as_deref(), Some("Value 0000007b of 3"));
        assert_eq!(e.exception.as_deref(), Some("Error: x"));
        assert_eq!(e.renderings, ["0000007b"]);
        assert_eq!(e.event_type, 0xE80D_5C02);
        assert_eq!(
            e.trace_id.as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(e.span_id.as_deref(), Some("00f067aa0ba902b7"));
        let keys: Vec<&str> = e.properties.keys().map(String::as_str).collect();
        assert_eq!(keys, ["V", "N", "@odd", "Big"]);
        assert_eq!(e.properties["Big"].to_string(), "635476923356034756");
        assert!(e.extensions.is_empty());
    }

    #[test]
    fn defaults() {
        let e = &decode(&format!(
            r#"{{"Events":[{{{T},"MessageTemplate":"Hi {{A}}","Level":null,"Properties":null}}]}}"#
        ))
        .unwrap()[0];
        assert_eq!(e.level, None);
        assert!(e.properties.is_empty());
        assert_eq!(e.event_type, event_type::of_template("Hi {A}"));
        let e = &decode(&format!(r#"{{"Events":[{{{T},"EventType":7}}]}}"#)).unwrap()[0];
        assert_eq!((e.event_type, e.message_template.as_deref()), (7, None));
    }

    #[test]
    fn renderings_need_every_formatted_hole() {
        let event = |renderings: &str| {
            let body = format!(
                r#"{{"Events":[{{{T},"MessageTemplate":"{{A:0.0}} {{B}} {{C,3:x}}","Properties":{{"A":1,"B":2,"C":10}},"Renderings":{renderings}}}]}}"#
            );
            decode(&body).unwrap().remove(0)
        };
        let full = r#"{"C":[{"Format":"X","Rendering":"A"},{"Format":"x","Rendering":"a"}],"A":[{"Format":"0.0","Rendering":"1.0"}]}"#;
        let e = event(full);
        assert_eq!(e.renderings, ["1.0", "a"]);
        assert_eq!(e.rendered_message(), "1.0 2   a");
        for partial in [
            r#"{"A":[{"Format":"0.0","Rendering":"1.0"}]}"#,
            r#"{"A":[{"Format":"0.00","Rendering":"1.00"}],"C":[{"Format":"x","Rendering":"a"}]}"#,
            r#"{"A":[{"Format":"0.0","Rendering":1}],"C":[{"Format":"x","Rendering":"a"}]}"#,
            r#"{"A":"x","C":[]}"#,
            r#"[]"#,
            "null",
        ] {
            assert!(event(partial).renderings.is_empty(), "{partial}");
        }
    }

    #[test]
    fn errors_name_the_event() {
        let ok = format!("{{{T}}}");
        let cases = [
            (
                "{".to_owned(),
                "Request body: invalid JSON: EOF while parsing an object at line 1 column 1.",
            ),
            (
                "[]".to_owned(),
                "Request body: the event is not a JSON object.",
            ),
            ("{}".to_owned(), "Request body: there is no Events array."),
            (
                r#"{"Other":[]}"#.to_owned(),
                "Request body: there is no Events array.",
            ),
            (
                r#"{"Events":{}}"#.to_owned(),
                "Request body: Events is not an array.",
            ),
            (
                r#"{"Events":3}"#.to_owned(),
                "Request body: Events is not an array.",
            ),
            (
                r#"{"Events":"x"}"#.to_owned(),
                "Request body: Events is not an array.",
            ),
            (
                r#"{"Events":null}"#.to_owned(),
                "Request body: Events is not an array.",
            ),
            (
                format!(r#"{{"Events":[{ok}]}} x"#),
                "Request body: invalid JSON: trailing characters at line 1 column 55.",
            ),
            (
                format!(r#"{{"Events":[{ok},3]}}"#),
                "Events[1]: the event is not a JSON object.",
            ),
            (
                format!(r#"{{"Events":[{ok},{{}}]}}"#),
                "Events[1]: the required Timestamp timestamp is missing.",
            ),
            (
                r#"{"Events":[{"Timestamp":"now"}]}"#.to_owned(),
                "Events[0]: Timestamp is invalid: `now` is not an ISO 8601 timestamp such as 2026-01-31T12:00:00.000Z.",
            ),
            (
                format!(r#"{{"Events":[{{{T},"Level":1}}]}}"#),
                "Events[0]: Level must be a string.",
            ),
            (
                format!(r#"{{"Events":[{{{T},"Properties":[]}}]}}"#),
                "Events[0]: Properties must be an object.",
            ),
            (
                format!(r#"{{"Events":[{{{T},"MessageTemplate":1}}]}}"#),
                "Events[0]: MessageTemplate must be a string.",
            ),
            (
                format!(r#"{{"Events":[{{{T},"EventType":[]}}]}}"#),
                "Events[0]: EventType must be a number or a hex string.",
            ),
        ];
        for (body, message) in cases {
            assert_eq!(error(&body), message, "{body}");
        }
        let err = decode_legacy(b"{\"Events\":[\"\xFF\"]}", &Limits::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Request body: the text is not valid UTF-8."
        );
    }

    #[test]
    fn size_limits() {
        let limits = Limits {
            max_event_bytes: 60,
            max_body_bytes: 200,
        };
        let small = format!("{{{T}}}"); // 40 bytes
        let big = format!(r#"{{{T},"Level":"Informational"}}"#); // 63 bytes
        let body = format!(r#"{{"Events":[{small}, {small}]}}"#);
        assert_eq!(decode_legacy(body.as_bytes(), &limits).unwrap().len(), 2);
        let body = format!(r#"{{"Events":[{small}, {big}]}}"#);
        assert_eq!(
            decode_legacy(body.as_bytes(), &limits).unwrap_err(),
            DecodeError::EventTooLarge {
                at: Location::Event(1),
                bytes: big.len(),
                limit: 60
            }
        );
        let body = format!(r#"{{"Events":[{}]}}"#, [small.as_str(); 5].join(","));
        assert_eq!(
            decode_legacy(body.as_bytes(), &limits)
                .unwrap_err()
                .http_status(),
            413
        );
    }
}
