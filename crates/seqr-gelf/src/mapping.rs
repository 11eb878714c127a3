//! A GELF object as an event, following sqelf (datalust/seq-input-gelf,
//! `sqelf/src/process/mod.rs`, `to_clef`), so events look as they do in Seq behind sqelf.
//!
//! | GELF                | event                                                      |
//! |---------------------|------------------------------------------------------------|
//! | `short_message`     | `@m` (or, when it is a CLEF object, that object: embedded) |
//! | `full_message`      | `@x`, unless equal to `short_message`                      |
//! | `level`             | `@l` as `emerg` `alert` `crit` `err` `warning` `notice` `info` `debug`; absent is `info` |
//! | `timestamp`         | `@t` (decimal seconds, exact to the tick); absent is `now` |
//! | `host`, `facility`, `file`, `line` | properties of those names                   |
//! | `_name` (any other member) | property `name` (one leading `_` removed; `_id` is `id`) |
//! | `version`           | dropped                                                    |
//!
//! Precedence on a name clash, as sqelf: envelope built-ins (`host`...) over additional
//! fields over the embedded CLEF's properties; the loser is kept as `__name`.

use seqr_types::{Event, Properties, Timestamp, event_type};
use serde_json::{Map, Value};

use crate::GelfError;
use crate::embedded;
use crate::level::level;
use crate::timestamp::{self, Seconds};

/// The envelope members GELF defines, pulled out of the object; everything else is additional.
#[derive(Default)]
struct Envelope {
    short_message: Option<Value>,
    full_message: Option<Value>,
    timestamp: Option<Value>,
    level: Option<Value>,
    host: Option<Value>,
    facility: Option<Value>,
    file: Option<Value>,
    line: Option<Value>,
}

pub(crate) fn event(object: Map<String, Value>, now: Timestamp) -> Result<Event, GelfError> {
    let mut envelope = Envelope::default();
    let mut additional = Vec::with_capacity(object.len());
    for (key, value) in object {
        let slot = match key.as_str() {
            "version" => continue,
            "short_message" => &mut envelope.short_message,
            "full_message" => &mut envelope.full_message,
            "timestamp" => &mut envelope.timestamp,
            "level" => &mut envelope.level,
            "host" => &mut envelope.host,
            "facility" => &mut envelope.facility,
            "file" => &mut envelope.file,
            "line" => &mut envelope.line,
            _ => {
                additional.push((key, value));
                continue;
            }
        };
        // `null` is absent, as for sqelf's optional members.
        *slot = Some(value).filter(|v| !v.is_null());
    }
    let short_message = match envelope.short_message {
        Some(Value::String(s)) => s,
        Some(_) => return Err(GelfError::ShortMessageNotText),
        None => return Err(GelfError::MissingShortMessage),
    };

    let embedded = embedded::parse(&short_message);
    let is_embedded = embedded.is_some();
    let (mut event, embedded_timestamp) = match embedded {
        Some(e) => (e.event, e.timestamp),
        None => (
            Event {
                message: Some(short_message.clone()),
                ..Event::default()
            },
            None,
        ),
    };

    // Each of these prefers the embedded CLEF member, then (sqelf's fallbacks) a conventional
    // property of the embedded object, then the envelope.
    if event.level.is_none() {
        event.level = Some(
            first_text(is_embedded, &event.properties, &["level", "lvl", "LVL"])
                .unwrap_or_else(|| level(envelope.level.as_ref())),
        );
    }
    event.timestamp = embedded_timestamp
        .or_else(|| {
            first_text(
                is_embedded,
                &event.properties,
                &["timestamp", "ts", "TIMESTAMP", "TS"],
            )
            .and_then(|t| Timestamp::parse(&t).ok())
        })
        .or(match timestamp::read(envelope.timestamp.as_ref()) {
            Seconds::At(t) => Some(t),
            Seconds::Unusable => None,
        })
        .unwrap_or(now);
    if event.exception.is_none() {
        // Some clients send the short message again as the full one; that is not an exception.
        event.exception = match envelope.full_message {
            Some(Value::String(full)) if full.is_empty() || full == short_message => None,
            Some(Value::String(full)) => Some(full),
            Some(other) => Some(other.to_string()),
            None => None,
        };
    }
    if event.message.is_none() && event.message_template.is_none() {
        event.message = first_text(is_embedded, &event.properties, &["message", "msg", "MSG"]);
    }

    let properties = &mut event.properties;
    for (key, value) in additional {
        let name = key.strip_prefix('_').map(str::to_owned).unwrap_or(key);
        put(properties, name, value);
    }
    let built_ins = [
        ("host", envelope.host),
        ("facility", envelope.facility),
        ("file", envelope.file),
        ("line", envelope.line),
    ];
    for (name, value) in built_ins {
        if let Some(value) = value {
            put(properties, name.to_owned(), value);
        }
    }

    event.event_type = event_type::of_template(event.template_or_message());
    Ok(event)
}

/// The first of `names` present among an embedded CLEF object's properties, if it is a
/// string (sqelf looks no further when the first present one is not).
fn first_text(is_embedded: bool, properties: &Properties, names: &[&str]) -> Option<String> {
    if !is_embedded {
        return None;
    }
    let value = names.iter().find_map(|n| properties.get(*n))?;
    value.as_str().map(str::to_owned)
}

/// Sets `name`, keeping a value it displaces as `__name` (sqelf's `override_value`).
fn put(properties: &mut Properties, name: String, value: Value) {
    if let Some(old) = properties.get_mut(&name) {
        let old = std::mem::replace(old, value);
        properties.insert(format!("__{name}"), old);
    } else {
        properties.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use crate::GelfError;
    use crate::decode_message;
    use seqr_types::{Event, Timestamp};
    use serde_json::{Value, json};

    fn now() -> Timestamp {
        Timestamp::parse("2030-01-01T00:00:00Z").unwrap()
    }

    fn decode(value: Value) -> Event {
        decode_message(value.to_string().as_bytes(), 1 << 20, now()).unwrap()
    }

    fn properties(event: &Event) -> Value {
        Value::Object(event.properties.clone())
    }

    #[test]
    fn the_gelf_spec_example_maps_as_in_sqelf() {
        // sqelf's own `from_gelf_msg` test case.
        let e = decode(json!({
            "version": "1.1",
            "host": "example.org",
            "short_message": "A short message that helps you identify what is going on",
            "full_message": "Backtrace here",
            "timestamp": 1385053862.3072,
            "level": 1,
            "_user_id": 9001,
            "_some_info": "foo",
            "_some_env_var": "bar"
        }));
        assert_eq!(e.timestamp.to_iso(), "2013-11-21T17:11:02.3072000Z");
        assert_eq!(e.level.as_deref(), Some("alert"));
        assert_eq!(
            e.message.as_deref(),
            Some("A short message that helps you identify what is going on")
        );
        assert_eq!(e.message_template, None);
        assert_eq!(e.exception.as_deref(), Some("Backtrace here"));
        assert_eq!(
            properties(&e),
            json!({"user_id": 9001, "some_info": "foo", "some_env_var": "bar", "host": "example.org"})
        );
        assert_eq!(
            e.event_type,
            seqr_types::event_type::of_template(
                "A short message that helps you identify what is going on"
            )
        );
    }

    #[test]
    fn embedded_clef_wins_and_clashes_keep_the_loser() {
        // sqelf's `from_gelf_inner_json` test case.
        let clef = json!({
            "@l": "info",
            "@mt": "A short message that helps {user_id} identify what is going on",
            "@t": "2013-11-21T17:11:02Z",
            "@x": "Backtrace here",
            "user_id": 4000
        });
        let e = decode(json!({
            "version": "1.1",
            "host": "example.org",
            "short_message": clef.to_string(),
            "level": 1,
            "timestamp": 1,
            "full_message": "ignored: the embedded @x wins",
            "_user_id": 9001,
            "_tag": "latest"
        }));
        assert_eq!(e.level.as_deref(), Some("info"));
        assert_eq!(e.timestamp.to_iso(), "2013-11-21T17:11:02.0000000Z");
        assert_eq!(
            e.message_template.as_deref(),
            Some("A short message that helps {user_id} identify what is going on")
        );
        assert_eq!(e.message, None);
        assert_eq!(e.exception.as_deref(), Some("Backtrace here"));
        assert_eq!(
            properties(&e),
            json!({"user_id": 9001, "__user_id": 4000, "tag": "latest", "host": "example.org"})
        );
        assert_eq!(
            e.event_type,
            seqr_types::event_type::of_template(
                "A short message that helps {user_id} identify what is going on"
            )
        );
        assert_eq!(
            e.rendered_message(),
            "A short message that helps 9001 identify what is going on"
        );
    }

    #[test]
    fn embedded_json_fallback_members() {
        // sqelf's `from_gelf_inner_json_fallback` test case.
        let inner = json!({
            "level": "error",
            "message": "A short message that helps {user_id} identify what is going on",
            "timestamp": "2022-06-21T17:11:02.307200000Z"
        });
        let e = decode(json!({
            "version": "1.1",
            "timestamp": 1385053862.3072,
            "host": "example.org",
            "short_message": inner.to_string(),
            "level": 6
        }));
        assert_eq!(e.level.as_deref(), Some("error"));
        assert_eq!(
            e.message.as_deref(),
            Some("A short message that helps {user_id} identify what is going on")
        );
        assert_eq!(e.timestamp.to_iso(), "2022-06-21T17:11:02.3072000Z");
        assert_eq!(
            properties(&e),
            json!({
                "level": "error",
                "message": "A short message that helps {user_id} identify what is going on",
                "timestamp": "2022-06-21T17:11:02.307200000Z",
                "host": "example.org"
            })
        );
        // The first present name decides; a non-string one falls back to the envelope.
        let e = decode(json!({"short_message": "{\"level\":3,\"lvl\":\"x\"}", "level": 4}));
        assert_eq!(e.level.as_deref(), Some("warning"));
        assert_eq!(e.message, None);
        assert_eq!(e.timestamp, now());
        // A plain message never reads those members from the envelope's own fields.
        let e = decode(json!({"short_message": "hi", "_level": "fatal", "_msg": "m"}));
        assert_eq!(e.level.as_deref(), Some("info"));
        assert_eq!(e.message.as_deref(), Some("hi"));
        assert_eq!(properties(&e), json!({"level": "fatal", "msg": "m"}));
    }

    #[test]
    fn built_ins_beat_additional_fields_and_additional_beat_each_other_by_order() {
        let e = decode(json!({
            "short_message": "m",
            "_host": "from-additional",
            "host": "from-envelope",
            "_file": "a.py",
            "file": "/app/a.py",
            "line": 12,
            "_line": "twelve",
            "facility": "app",
            "_id": 7,
            "_": "empty name",
            "__double": 1,
            "plain": true,
            "_plain": false
        }));
        assert_eq!(
            properties(&e),
            json!({
                "host": "from-envelope",
                "file": "/app/a.py",
                "line": 12,
                "id": 7,
                "": "empty name",
                "_double": 1,
                "plain": false,
                "__plain": true,
                "__host": "from-additional",
                "facility": "app",
                "__file": "a.py",
                "__line": "twelve"
            })
        );
    }

    #[test]
    fn values_keep_their_json_types() {
        let text = r#"{"short_message":"m","_big":12345678901234567890123,"_f":1.10,
            "_neg":-0.0,"_n":null,"_o":{"a":[1,"x",null]},"_b":false,"_s":"1"}"#;
        let e = decode_message(text.as_bytes(), 1000, now()).unwrap();
        let p = &e.properties;
        assert_eq!(p["big"].to_string(), "12345678901234567890123");
        assert_eq!(p["f"].to_string(), "1.10");
        assert_eq!(p["neg"].to_string(), "-0.0");
        assert_eq!(p["n"], Value::Null);
        assert_eq!(p["o"], json!({"a": [1, "x", null]}));
        assert_eq!(p["b"], false);
        assert_eq!(p["s"], "1");
    }

    #[test]
    fn full_message_is_the_exception_unless_it_repeats() {
        let x =
            |full: Value| decode(json!({"short_message": "boom", "full_message": full})).exception;
        assert_eq!(x(json!("boom")), None);
        assert_eq!(x(json!("")), None);
        assert_eq!(x(Value::Null), None);
        assert_eq!(x(json!("boom\n at x")).as_deref(), Some("boom\n at x"));
        assert_eq!(x(json!({"frames": 2})).as_deref(), Some("{\"frames\":2}"));
        let e = decode(json!({"short_message": "boom"}));
        assert_eq!(e.exception, None);
        assert!(!e.properties.contains_key("full_message"));
    }

    #[test]
    fn timestamps_and_levels_default() {
        let e = decode(json!({"short_message": "m"}));
        assert_eq!(e.timestamp, now());
        assert_eq!(e.level.as_deref(), Some("info"));
        let e = decode(json!({"short_message": "m", "timestamp": "1385053862.3072", "level": "2"}));
        assert_eq!(e.timestamp.to_iso(), "2013-11-21T17:11:02.3072000Z");
        assert_eq!(e.level.as_deref(), Some("crit"));
        let e = decode(json!({"short_message": "m", "timestamp": 1e20, "level": 9}));
        assert_eq!(e.timestamp, now());
        assert_eq!(e.level.as_deref(), Some("debug"));
        let e = decode(json!({"short_message": "m", "timestamp": null, "level": null}));
        assert_eq!((e.timestamp, e.level.as_deref()), (now(), Some("info")));
    }

    #[test]
    fn short_message_is_required_text() {
        let err = |text: &str| decode_message(text.as_bytes(), 1000, now()).unwrap_err();
        assert_eq!(err(r#"{"host":"h"}"#), GelfError::MissingShortMessage);
        assert_eq!(
            err(r#"{"short_message":null}"#),
            GelfError::MissingShortMessage
        );
        assert_eq!(
            err(r#"{"short_message":5}"#),
            GelfError::ShortMessageNotText
        );
        assert_eq!(err("[]"), GelfError::NotAnObject);
        assert_eq!(err("\"x\""), GelfError::NotAnObject);
        assert!(matches!(err("{\"short_message\":"), GelfError::NotJson(_)));
        assert!(matches!(err("{} {}"), GelfError::NotJson(_)));
        assert!(matches!(err("\u{1}"), GelfError::NotJson(_)));
        assert_eq!(err("\0\0"), GelfError::Empty);
        assert_eq!(
            decode_message(b"", 10, now()).unwrap_err().to_string(),
            "The GELF message is empty."
        );
        assert_eq!(
            err(r#"{"host":"h"}"#).to_string(),
            "The GELF message has no `short_message`, which GELF requires."
        );
        // An empty short message is still a message.
        assert_eq!(
            decode(json!({"short_message": ""})).message.as_deref(),
            Some("")
        );
    }

    #[test]
    fn bom_and_trailing_nuls_are_tolerated() {
        let e = decode_message(b"\xEF\xBB\xBF{\"short_message\":\"m\"}\0\0", 100, now()).unwrap();
        assert_eq!(e.message.as_deref(), Some("m"));
        let bad = decode_message(b"{\"short_message\":\"\xff\"}", 100, now()).unwrap_err();
        assert!(matches!(bad, GelfError::NotJson(_)), "{bad:?}");
    }

    #[test]
    fn compressed_messages_decode_and_bombs_are_refused() {
        use crate::decompress::tests::{gzip, zlib};
        let text = json!({"short_message": "zipped", "_a": 1}).to_string();
        for payload in [gzip(text.as_bytes()), zlib(text.as_bytes())] {
            let e = decode_message(&payload, 1000, now()).unwrap();
            assert_eq!(e.message.as_deref(), Some("zipped"));
            assert_eq!(e.properties["a"], 1);
        }
        let mut bomb_text = String::from("{\"short_message\":\"");
        bomb_text.push_str(&"a".repeat(4 << 20));
        bomb_text.push_str("\"}");
        let bomb = gzip(bomb_text.as_bytes());
        assert!(bomb.len() < 20_000);
        assert_eq!(
            decode_message(&bomb, 256 * 1024, now()).unwrap_err(),
            GelfError::TooLarge { limit: 256 * 1024 }
        );
        assert_eq!(
            decode_message(&bomb, 256 * 1024, now())
                .unwrap_err()
                .to_string(),
            "The GELF message is over the 262144-byte limit."
        );
        assert!(decode_message(&bomb, 5 << 20, now()).is_ok());
    }
}
