//! CLEF inside `short_message`: sqelf reads a `short_message` that is a JSON object as CLEF
//! and lets its `@t`, `@l`, `@m`, `@mt` and `@x` win over the GELF envelope's (so an app
//! logging CLEF through a Docker GELF driver keeps its own template and level).
//!
//! Like sqelf: the text must start with `{` and be one JSON object whose reified members have
//! their CLEF types (`@t` an ISO 8601 string; `@l`, `@m`, `@mt`, `@x` strings; `null` counts as
//! absent). Anything else is an ordinary message text. Unlike sqelf, which forwards unknown
//! members to Seq as they are, `@tr`, `@sp`, `@ps` and `@sk` are read here as CLEF reads them,
//! `@@name` is unescaped to the property `@name`, and other `@` members (`@i`, `@r`, ...) are
//! kept as extensions, not properties.

use seqr_types::{Event, Timestamp};
use serde_json::Value;

/// The event a CLEF `short_message` describes, before the GELF envelope is applied.
pub(crate) struct Embedded {
    /// Level, message, template, exception, trace ids and the object's other members as
    /// properties.
    pub(crate) event: Event,
    /// `@t`, when present.
    pub(crate) timestamp: Option<Timestamp>,
}

/// `short_message` read as CLEF, or `None` when it is not a CLEF object.
pub(crate) fn parse(text: &str) -> Option<Embedded> {
    if !text.starts_with('{') {
        return None;
    }
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    let mut event = Event::default();
    let mut timestamp = None;
    for (key, value) in object {
        let Some(reified) = key.strip_prefix('@') else {
            event.properties.insert(key, value);
            continue;
        };
        if reified.starts_with('@') {
            event.properties.insert(reified.to_owned(), value);
            continue;
        }
        let slot = match reified {
            "t" => {
                timestamp = match text_member(value)? {
                    Some(t) => Some(Timestamp::parse(&t).ok()?),
                    None => None,
                };
                continue;
            }
            "l" => &mut event.level,
            "m" => &mut event.message,
            "mt" => &mut event.message_template,
            "x" => &mut event.exception,
            "tr" => &mut event.trace_id,
            "sp" => &mut event.span_id,
            "ps" => &mut event.parent_id,
            "sk" => &mut event.span_kind,
            _ => {
                event.extensions.insert(key, value);
                continue;
            }
        };
        *slot = text_member(value)?;
    }
    Some(Embedded { event, timestamp })
}

/// A string member: `Some(None)` for `null`, `None` (not CLEF) for any other type.
fn text_member(value: Value) -> Option<Option<String>> {
    match value {
        Value::Null => Some(None),
        Value::String(s) => Some(Some(s)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clef_objects_are_read() {
        let e = parse(
            r#"{"@t":"2013-11-21T17:11:02Z","@l":"info","@mt":"Hi {user_id}","@x":"Boom",
               "user_id":4000,"@@odd":1,"@i":"abc","@tr":"0af7","@m":null}"#,
        )
        .unwrap();
        assert_eq!(
            e.timestamp.unwrap().to_iso(),
            "2013-11-21T17:11:02.0000000Z"
        );
        assert_eq!(e.event.level.as_deref(), Some("info"));
        assert_eq!(e.event.message_template.as_deref(), Some("Hi {user_id}"));
        assert_eq!(e.event.message, None);
        assert_eq!(e.event.exception.as_deref(), Some("Boom"));
        assert_eq!(e.event.trace_id.as_deref(), Some("0af7"));
        assert_eq!(e.event.properties["user_id"], 4000);
        assert_eq!(e.event.properties["@odd"], 1);
        assert_eq!(e.event.extensions["@i"], "abc");
        assert!(!e.event.properties.contains_key("@i"));
    }

    #[test]
    fn anything_else_is_plain_text() {
        for text in [
            "plain",
            " {\"@m\":\"leading space\"}",
            "{not json",
            "{\"@m\":\"x\"} trailing",
            "[1,2]",
            "{\"@t\":\"yesterday\"}",
            "{\"@t\":1385053862}",
            "{\"@l\":3}",
            "{\"@mt\":{\"a\":1}}",
            "{\"@x\":[\"trace\"]}",
            "",
        ] {
            assert!(parse(text).is_none(), "{text}");
        }
        // Any object is CLEF, even one with no reified member at all (sqelf agrees).
        assert!(parse("{\"a\":1}").is_some());
    }
}
