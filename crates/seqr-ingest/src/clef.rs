//! CLEF: newline-delimited JSON objects with reified `@` members (seq-compat 1.4).

use std::fmt;

use seqr_types::{Event, Properties, Timestamp, Value, event_type, template};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};

use crate::error::{DecodeError, Location, Problem};
use crate::fields::{self, Key};
use crate::limits::Limits;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes a CLEF body: one JSON object per line (`\n` or `\r\n`), blank lines skipped, the
/// last newline optional, a leading UTF-8 BOM ignored. An empty body is valid (zero events:
/// Serilog's level-check request). Any invalid line rejects the whole body.
pub fn decode_clef(body: &[u8], limits: &Limits) -> Result<Vec<Event>, DecodeError> {
    if body.len() > limits.max_body_bytes {
        return Err(DecodeError::PayloadTooLarge {
            bytes: body.len(),
            limit: limits.max_body_bytes,
        });
    }
    let body = body.strip_prefix(BOM).unwrap_or(body);
    let text = std::str::from_utf8(body).map_err(|e| {
        let line = 1 + body[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        DecodeError::invalid(Location::Line(line), Problem::InvalidUtf8)
    })?;

    let line_count = text.bytes().filter(|&b| b == b'\n').count() + 1;
    let mut events = Vec::with_capacity(line_count);
    // Batches are usually homogeneous: sizing each property map like the previous one's
    // saves its regrowth, a measurable share of decoding time.
    let mut properties_hint = 0;
    for (index, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim_ascii().is_empty() {
            continue;
        }
        let at = Location::Line(index + 1);
        if line.len() > limits.max_event_bytes {
            return Err(DecodeError::EventTooLarge {
                at,
                bytes: line.len(),
                limit: limits.max_event_bytes,
            });
        }
        let event = decode_line(line, properties_hint).map_err(|p| DecodeError::invalid(at, p))?;
        properties_hint = event.properties.len();
        events.push(event);
    }
    Ok(events)
}

/// Parses one line straight into an [`Event`], without an intermediate JSON map.
fn decode_line(line: &str, properties_hint: usize) -> Result<Event, Problem> {
    let mut de = serde_json::Deserializer::from_str(line);
    let parsed = ClefSeed { properties_hint }
        .deserialize(&mut de)
        .and_then(|event| de.end().map(|()| event));
    match parsed {
        Ok(result) => result,
        Err(e) if e.is_data() => Err(Problem::NotAnObject),
        Err(e) => Err(Problem::InvalidJson(fields::json_detail(&e, true))),
    }
}

struct ClefSeed {
    properties_hint: usize,
}

impl<'de> DeserializeSeed<'de> for ClefSeed {
    /// The outer `Result` is JSON syntax; the inner one is CLEF semantics.
    type Value = Result<Event, Problem>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(ClefVisitor {
            properties_hint: self.properties_hint,
        })
    }
}

struct ClefVisitor {
    properties_hint: usize,
}

impl<'de> Visitor<'de> for ClefVisitor {
    type Value = Result<Event, Problem>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut builder = Builder::default();
        builder.event.properties = Properties::with_capacity(self.properties_hint);
        while let Some(Key(key)) = map.next_key()? {
            let Some(reified) = key.strip_prefix('@') else {
                builder
                    .event
                    .properties
                    .insert(key.into_owned(), map.next_value()?);
                continue;
            };
            if reified.starts_with('@') {
                // `@@name` escapes a user property called `@name`.
                builder
                    .event
                    .properties
                    .insert(reified.to_owned(), map.next_value()?);
                continue;
            }
            let value: Value = map.next_value()?;
            if let Err(problem) = builder.reified(reified, value) {
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
}

impl Builder {
    /// Applies a single-`@` member (`name` without the `@`).
    fn reified(&mut self, name: &str, value: Value) -> Result<(), Problem> {
        let e = &mut self.event;
        match name {
            "t" => self.timestamp = fields::timestamp(value, "@t")?,
            "mt" => e.message_template = fields::string(value, "@mt")?,
            "m" => e.message = fields::string(value, "@m")?,
            "l" => e.level = fields::string(value, "@l")?,
            "x" => e.exception = fields::string(value, "@x")?,
            "i" => self.event_type = fields::event_type(value, "@i")?,
            "r" => e.renderings = renderings(value),
            "tr" => e.trace_id = fields::string(value, "@tr")?,
            "sp" => e.span_id = fields::string(value, "@sp")?,
            "ps" => e.parent_id = fields::string(value, "@ps")?,
            "sk" => e.span_kind = fields::string(value, "@sk")?,
            "st" => e.span_start = fields::timestamp(value, "@st")?,
            "ra" => e.resource = fields::object(value, "@ra")?,
            "sa" => e.scope = fields::object(value, "@sa")?,
            _ => {
                // Unknown reified members are kept, but out of `@Properties` (seq-compat 1.4).
                e.extensions.insert(format!("@{name}"), value);
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Event, Problem> {
        let mut event = self.event;
        event.timestamp = self
            .timestamp
            .ok_or(Problem::MissingTimestamp { member: "@t" })?;
        event.event_type = self
            .event_type
            .unwrap_or_else(|| event_type::of_template(event.template_or_message()));
        if !event.renderings.is_empty() {
            // `@r` pairs with the template's formatted holes; a mismatch is ignored, not an error.
            let holes = event
                .message_template
                .as_deref()
                .map_or(0, template::count_formatted_holes);
            if holes != event.renderings.len() {
                event.renderings.clear();
            }
        }
        Ok(event)
    }
}

/// `@r` as strings; anything else is ignored rather than rejected (seqlog sends odd ones).
fn renderings(value: Value) -> Vec<String> {
    let Value::Array(items) = value else {
        return Vec::new();
    };
    items
        .into_iter()
        .map(|v| match v {
            Value::String(s) => Some(s),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use seqr_types::CanonicalLevel;

    fn decode(body: &str) -> Result<Vec<Event>, DecodeError> {
        decode_clef(body.as_bytes(), &Limits::default())
    }

    fn one(line: &str) -> Event {
        let mut events = decode(line).unwrap();
        assert_eq!(events.len(), 1);
        events.remove(0)
    }

    fn error(body: &str) -> String {
        decode(body).unwrap_err().to_string()
    }

    const T: &str = r#""@t":"2024-04-26T01:46:04.8772700Z""#;

    #[test]
    fn framing() {
        let e = format!("{{{T}}}");
        let cases = [
            (String::new(), 0),
            ("\n\n  \r\n\t\n".to_owned(), 0),
            (e.clone(), 1),
            (format!("{e}\n"), 1),
            (format!("{e}\r\n{e}"), 2),
            (format!("{e}\r\n{e}\r\n"), 2),
            (format!("\n{e}\n\n   \n{e}\n\n"), 2),
            (format!("\u{FEFF}{e}\n{e}"), 2),
        ];
        for (body, count) in cases {
            assert_eq!(decode(&body).unwrap().len(), count, "{body:?}");
        }
    }

    #[test]
    fn reified_members() {
        let e = one(&format!(
            r#"{{{T},"@mt":"HTTP {{RequestMethod}} {{RequestPath}}","@m":"HTTP GET /","@i":"e80d5c02","@l":"Error","@x":"boom","@tr":"d7a8be8ffe34c7b823c40733d6572e6e","@sp":"81052e753d7d7440","@ps":"0000000000000001","@st":"2024-04-26T01:46:04.8735910Z","@sk":"Server","@ra":{{"service":{{"name":"web"}}}},"@sa":{{"name":"scope"}},"Application":"Roastery"}}"#
        ));
        assert_eq!(e.timestamp.to_iso(), "2024-04-26T01:46:04.8772700Z");
        assert_eq!(
            e.message_template.as_deref(),
            Some("HTTP {RequestMethod} {RequestPath}")
        );
        assert_eq!(e.message.as_deref(), Some("HTTP GET /"));
        assert_eq!(e.event_type, 0xE80D_5C02);
        assert_eq!(e.level.as_deref(), Some("Error"));
        assert_eq!(e.exception.as_deref(), Some("boom"));
        assert_eq!(
            e.trace_id.as_deref(),
            Some("d7a8be8ffe34c7b823c40733d6572e6e")
        );
        assert_eq!(e.span_id.as_deref(), Some("81052e753d7d7440"));
        assert_eq!(e.parent_id.as_deref(), Some("0000000000000001"));
        assert_eq!(
            e.span_start.map(|t| t.to_iso()).as_deref(),
            Some("2024-04-26T01:46:04.8735910Z")
        );
        assert_eq!(e.span_kind.as_deref(), Some("Server"));
        assert_eq!(e.resource.unwrap()["service"]["name"], "web");
        assert_eq!(e.scope.unwrap()["name"], "scope");
        assert_eq!(e.properties.len(), 1);
        assert_eq!(e.properties["Application"], "Roastery");
        assert!(e.extensions.is_empty());
    }

    #[test]
    fn defaults_and_nulls() {
        let e = one(&format!(
            r#"{{{T},"@mt":"Hello {{User}}","@l":null,"@x":null,"@i":null,"@ra":null}}"#
        ));
        assert_eq!(e.level, None);
        assert_eq!(
            CanonicalLevel::of(e.level.as_deref()),
            CanonicalLevel::Information
        );
        assert_eq!(e.exception, None);
        assert_eq!(e.event_type, event_type::of_template("Hello {User}"));
        assert_eq!(e.resource, None);
        // `@m`-only events get the type of their message.
        let e = one(&format!(r#"{{{T},"@m":"done"}}"#));
        assert_eq!(e.event_type, event_type::of_template("done"));
        assert_eq!(e.message_template, None);
        assert_eq!(
            one(&format!("{{{T}}}")).event_type,
            event_type::of_template("")
        );
        assert_eq!(one(&format!(r#"{{{T},"@i":42}}"#)).event_type, 42);
        assert_eq!(
            one(&format!(r#"{{{T},"@i":"not hex"}}"#)).event_type,
            event_type::of_template("not hex")
        );
    }

    #[test]
    fn properties_keep_order_precision_and_escapes() {
        let e = one(&format!(
            r#"{{"Z":1,{T},"@@foo":"at","A":635476923356034756,"":"empty","0":93.50,"@custom":{{"x":1}},"Obj":{{"$type":"Thing","Big":1.000000000000000000001}},"@@@x":3,"B":[1e400]}}"#
        ));
        let keys: Vec<&str> = e.properties.keys().map(String::as_str).collect();
        assert_eq!(keys, ["Z", "@foo", "A", "", "0", "Obj", "@@x", "B"]);
        assert_eq!(e.properties["A"].to_string(), "635476923356034756");
        assert_eq!(e.properties["0"].to_string(), "93.50");
        assert_eq!(
            e.properties["Obj"].to_string(),
            r#"{"$type":"Thing","Big":1.000000000000000000001}"#
        );
        assert_eq!(e.properties["B"].to_string(), "[1e+400]");
        assert_eq!(e.extensions.len(), 1);
        assert_eq!(e.extensions["@custom"].to_string(), r#"{"x":1}"#);
    }

    #[test]
    fn escaped_keys_are_unescaped() {
        let e = one(&format!(
            r#"{{{T},"\u0040l":"Warning","A\u00e9":1,"\n":2}}"#
        ));
        assert_eq!(e.level.as_deref(), Some("Warning"));
        assert!(e.properties.contains_key("Aé") && e.properties.contains_key("\n"));
    }

    #[test]
    fn renderings_are_kept_only_when_they_match() {
        let base = format!(r#"{T},"@mt":"{{A:0.0}} {{B}} {{C:x}}","A":1,"B":2,"C":3"#);
        let e = one(&format!(r#"{{{base},"@r":["1.0","03"]}}"#));
        assert_eq!(e.renderings, ["1.0", "03"]);
        assert_eq!(e.rendered_message(), "1.0 2 03");
        for r in [
            r#"[]"#,
            r#"["1.0"]"#,
            r#"["a","b","c"]"#,
            r#""x""#,
            r#"[1,2]"#,
            "{}",
            "null",
        ] {
            let e = one(&format!(r#"{{{base},"@r":{r}}}"#));
            assert!(e.renderings.is_empty(), "{r}");
        }
        let e = one(&format!(r#"{{{T},"@mt":"Disk 93.5% full","@r":["93.5"]}}"#));
        assert!(e.renderings.is_empty());
    }

    #[test]
    fn errors_name_the_line_and_problem() {
        let ok = format!("{{{T}}}");
        let cases = [
            (
                format!("{ok}\n{ok}\n{{}}"),
                "Line 3: the required @t timestamp is missing.",
            ),
            (
                r#"{"@t":null}"#.to_owned(),
                "Line 1: the required @t timestamp is missing.",
            ),
            (
                format!("{ok}\n{{\"@t\":"),
                "Line 2: invalid JSON: EOF while parsing a value at column 6.",
            ),
            (
                format!("{ok}\n\n[1,2]"),
                "Line 3: the event is not a JSON object.",
            ),
            (
                "\"text\"".to_owned(),
                "Line 1: the event is not a JSON object.",
            ),
            ("42".to_owned(), "Line 1: the event is not a JSON object."),
            (
                format!("{ok} x"),
                "Line 1: invalid JSON: trailing characters at column 39.",
            ),
            (
                format!("{ok}{ok}"),
                "Line 1: invalid JSON: trailing characters at column 38.",
            ),
            (r#"{"@t":5}"#.to_owned(), "Line 1: @t must be a string."),
            (
                r#"{"@t":"yesterday"}"#.to_owned(),
                "Line 1: @t is invalid: `yesterday` is not an ISO 8601 timestamp such as 2026-01-31T12:00:00.000Z.",
            ),
            (format!(r#"{{{T},"@l":3}}"#), "Line 1: @l must be a string."),
            (
                format!(r#"{{{T},"@mt":{{}}}}"#),
                "Line 1: @mt must be a string.",
            ),
            (
                format!(r#"{{{T},"@m":true}}"#),
                "Line 1: @m must be a string.",
            ),
            (
                format!(r#"{{{T},"@x":[]}}"#),
                "Line 1: @x must be a string.",
            ),
            (
                format!(r#"{{{T},"@tr":1}}"#),
                "Line 1: @tr must be a string.",
            ),
            (
                format!(r#"{{{T},"@sp":1}}"#),
                "Line 1: @sp must be a string.",
            ),
            (
                format!(r#"{{{T},"@ps":1}}"#),
                "Line 1: @ps must be a string.",
            ),
            (
                format!(r#"{{{T},"@sk":1}}"#),
                "Line 1: @sk must be a string.",
            ),
            (
                format!(r#"{{{T},"@st":"soon"}}"#),
                "Line 1: @st is invalid: `soon` is not an ISO 8601 timestamp such as 2026-01-31T12:00:00.000Z.",
            ),
            (
                format!(r#"{{{T},"@ra":"x"}}"#),
                "Line 1: @ra must be an object.",
            ),
            (
                format!(r#"{{{T},"@sa":[]}}"#),
                "Line 1: @sa must be an object.",
            ),
            (
                format!(r#"{{{T},"@i":true}}"#),
                "Line 1: @i must be a number or a hex string.",
            ),
            // A type problem is reported only once the line is known to be valid JSON.
            (
                format!(r#"{{{T},"@l":3,"#),
                "Line 1: invalid JSON: EOF while parsing a value at column 44.",
            ),
        ];
        for (body, message) in cases {
            assert_eq!(error(&body), message, "{body}");
        }
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let mut body = format!("{{{T}}}\n{{{T},\"A\":\"").into_bytes();
        body.extend_from_slice(b"\xFF\"}");
        let err = decode_clef(&body, &Limits::default()).unwrap_err();
        assert_eq!(err.to_string(), "Line 2: the text is not valid UTF-8.");
    }

    #[test]
    fn size_limits() {
        let limits = Limits {
            max_event_bytes: 100,
            max_body_bytes: 1000,
        };
        let line = format!(r#"{{{T},"P":"{}"}}"#, "x".repeat(100 - 44));
        assert_eq!(line.len(), 100);
        let body = format!("{line}\r\n{line}");
        assert_eq!(decode_clef(body.as_bytes(), &limits).unwrap().len(), 2);
        let long = format!(r#"{{{T},"P":"{}"}}"#, "x".repeat(57));
        let body = format!("{line}\n{long}\n");
        let err = decode_clef(body.as_bytes(), &limits).unwrap_err();
        assert_eq!(
            err,
            DecodeError::EventTooLarge {
                at: Location::Line(2),
                bytes: 101,
                limit: 100
            }
        );
        assert_eq!(err.http_status(), 400);
        let err = decode_clef(&[b'\n'; 1001], &limits).unwrap_err();
        assert_eq!(err.http_status(), 413);
        // Checked before parsing: an oversized line of garbage is "too large", not "invalid".
        let err = decode_clef("y".repeat(200).as_bytes(), &limits).unwrap_err();
        assert!(matches!(err, DecodeError::EventTooLarge { .. }));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!(
            r#"{{{T},"A":{}{}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(error(&deep).starts_with("Line 1: invalid JSON: recursion limit exceeded"));
    }
}
