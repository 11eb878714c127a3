//! Pieces shared by the CLEF and legacy decoders: borrowed keys, member type checks,
//! event-type parsing.

use std::borrow::Cow;
use std::fmt;

use seqr_types::{Properties, Timestamp, Value, event_type};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::error::Problem;

/// A map key, borrowed from the input when it has no escapes, so reified keys cost no allocation.
pub(crate) struct Key<'de>(pub Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

/// Consumes the rest of a map after a problem, so the parser can still check the JSON syntax.
pub(crate) fn drain<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// An optional string member; JSON `null` counts as absent.
pub(crate) fn string(value: Value, member: &'static str) -> Result<Option<String>, Problem> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        _ => Err(Problem::WrongType {
            member,
            expected: "a string",
        }),
    }
}

/// An optional object member; JSON `null` counts as absent.
pub(crate) fn object(value: Value, member: &'static str) -> Result<Option<Properties>, Problem> {
    match value {
        Value::Null => Ok(None),
        Value::Object(m) => Ok(Some(m)),
        _ => Err(Problem::WrongType {
            member,
            expected: "an object",
        }),
    }
}

/// An optional ISO 8601 timestamp member; JSON `null` counts as absent.
pub(crate) fn timestamp(value: Value, member: &'static str) -> Result<Option<Timestamp>, Problem> {
    match string(value, member)? {
        None => Ok(None),
        Some(text) => Timestamp::parse(&text)
            .map(Some)
            .map_err(|e| Problem::InvalidTimestamp {
                member,
                reason: e.to_string(),
            }),
    }
}

/// `@i` / `EventType`: a number, a hex string (`e80d5c02`, `0xE80D5C02`, `$E80D5C02`), or any
/// other string, which is hashed as Seq does. Numbers outside 32 bits are hashed too rather
/// than rejected: a strange event type should not lose a whole batch.
pub(crate) fn event_type(value: Value, member: &'static str) -> Result<Option<u32>, Problem> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(Some(number_event_type(n.as_str()))),
        Value::String(s) => Ok(Some(string_event_type(&s))),
        _ => Err(Problem::WrongType {
            member,
            expected: "a number or a hex string",
        }),
    }
}

fn number_event_type(text: &str) -> u32 {
    match text.parse::<i64>() {
        Ok(v) if (0..=i64::from(u32::MAX)).contains(&v) => v as u32,
        Ok(v) if v >= i64::from(i32::MIN) && v < 0 => v as i32 as u32,
        _ => event_type::of_template(text),
    }
}

fn string_event_type(s: &str) -> u32 {
    let hex = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .or_else(|| s.strip_prefix('$'))
        .unwrap_or(s);
    if (1..=8).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        u32::from_str_radix(hex, 16).unwrap_or_default()
    } else {
        event_type::of_template(s)
    }
}

/// serde_json's message without its "at line 1 column N" suffix, with the column kept when
/// the input is a single line (a CLEF line), so it does not contradict our own line number.
pub(crate) fn json_detail(e: &serde_json::Error, single_line: bool) -> String {
    let text = e.to_string();
    let message = text
        .rfind(" at line ")
        .map_or(text.as_str(), |i| &text[..i]);
    if single_line && e.column() > 0 {
        format!("{message} at column {}", e.column())
    } else if e.line() > 0 {
        format!("{message} at line {} column {}", e.line(), e.column())
    } else {
        message.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types() {
        let cases: &[(&str, u32)] = &[
            ("123", 123),
            ("4294967295", u32::MAX),
            ("-1", u32::MAX),
            (r#""e80d5c02""#, 0xE80D_5C02),
            (r#""E80D5C02""#, 0xE80D_5C02),
            (r#""0xE80D5C02""#, 0xE80D_5C02),
            (r#""$E80D5C02""#, 0xE80D_5C02),
            (r#""7b""#, 0x7B),
            (
                r#""HTTP {RequestMethod} {RequestPath}""#,
                0xE80D_5C02, // hashed like a template
            ),
            ("4294967296", event_type::of_template("4294967296")),
            ("1.5", event_type::of_template("1.5")),
            (r#""123456789""#, event_type::of_template("123456789")),
        ];
        for &(json, expected) in cases {
            let v: Value = serde_json::from_str(json).unwrap();
            assert_eq!(event_type(v, "@i"), Ok(Some(expected)), "{json}");
        }
        assert_eq!(event_type(Value::Null, "@i"), Ok(None));
        assert!(event_type(Value::Bool(true), "@i").is_err());
    }
}
