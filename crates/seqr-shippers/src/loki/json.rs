//! Loki's JSON push body: `{"streams":[{"stream":{labels},"values":[["<unix ns>","line"],
//! ["<unix ns>","line",{structured metadata}]]}]}`, and the legacy shape
//! `{"streams":[{"labels":"{a=\"b\"}","entries":[{"ts":"<RFC 3339>","line":"..."}]}]}`.
//!
//! Read through a `Value`: the workspace's arbitrary-precision numbers keep an integer
//! timestamp exact, and every shape error can name where it is.

use seqr_types::Timestamp;
use serde_json::Value;

use super::entry::{Entry, Stream, When};
use super::labels::parse_labels;
use crate::{DecodeError, time};

pub(super) fn streams(body: &[u8]) -> Result<Vec<Stream>, DecodeError> {
    let root: Value = serde_json::from_slice(body)
        .map_err(|e| DecodeError(format!("The body is not JSON: {e}.")))?;
    let Value::Object(mut root) = root else {
        return Err(bad("the body is not a JSON object"));
    };
    let streams = match root.remove("streams") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(streams)) => streams,
        Some(_) => return Err(bad("`streams` is not an array")),
    };
    streams
        .into_iter()
        .enumerate()
        .map(|(i, s)| stream(s).map_err(|e| bad(&format!("stream {i}: {e}"))))
        .collect()
}

fn bad(what: &str) -> DecodeError {
    DecodeError(format!("The body is not a Loki JSON push request: {what}."))
}

fn stream(value: Value) -> Result<Stream, String> {
    let Value::Object(mut stream) = value else {
        return Err("it is not an object".into());
    };
    if let Some(labels) = stream.remove("stream") {
        let labels = match labels {
            Value::Object(map) => map
                .into_iter()
                .map(|(name, value)| match value {
                    Value::String(_) => Ok((name, value)),
                    _ => Err(format!("label `{name}` is not a string")),
                })
                .collect::<Result<Vec<_>, _>>()?,
            Value::Null => Vec::new(),
            _ => return Err("`stream` is not an object".into()),
        };
        let entries = match stream.remove("values") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(values)) => values
                .into_iter()
                .enumerate()
                .map(|(j, v)| value_entry(v).map_err(|e| format!("value {j}: {e}")))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("`values` is not an array".into()),
        };
        return Ok(Stream { labels, entries });
    }
    legacy(stream)
}

/// `["<unix ns>", "line"]` or `["<unix ns>", "line", {"name": "value"}]`.
fn value_entry(value: Value) -> Result<Entry, String> {
    let Value::Array(parts) = value else {
        return Err("it is not an array".into());
    };
    if !(2..=3).contains(&parts.len()) {
        return Err(format!("it has {} elements, not 2 or 3", parts.len()));
    }
    let mut parts = parts.into_iter();
    let ns = match parts.next() {
        Some(Value::String(s)) => s,
        // Loki wants a string; an integer is just as clear.
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err("the timestamp is not a string".into()),
    };
    if ns.is_empty()
        || ns.len() > 40
        || !ns
            .trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return Err(format!(
            "the timestamp `{}` is not Unix nanoseconds",
            clip(&ns)
        ));
    }
    let nanos: i128 = ns
        .parse()
        .map_err(|_| format!("the timestamp `{}` is not Unix nanoseconds", clip(&ns)))?;
    let line = match parts.next() {
        Some(Value::String(s)) => s,
        _ => return Err("the line is not a string".into()),
    };
    let metadata = match parts.next() {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => map.into_iter().collect(),
        Some(_) => return Err("the structured metadata is not an object".into()),
    };
    Ok(Entry {
        time: When::of(time::from_unix_nanos(nanos)),
        line,
        metadata,
    })
}

/// The pre-v1 shape: labels as a selector string, entries with an RFC 3339 `ts`.
fn legacy(mut stream: serde_json::Map<String, Value>) -> Result<Stream, String> {
    let labels = match stream.remove("labels") {
        Some(Value::String(text)) => parse_labels(&text)
            .map_err(|e| format!("`labels` do not parse: {e}"))?
            .into_iter()
            .map(|(n, v)| (n, Value::String(v)))
            .collect(),
        None => return Err("it has neither `stream` nor `labels`".into()),
        Some(_) => return Err("`labels` is not a string".into()),
    };
    let entries = match stream.remove("entries") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(entries)) => entries
            .into_iter()
            .enumerate()
            .map(|(j, e)| legacy_entry(e).map_err(|e| format!("entry {j}: {e}")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`entries` is not an array".into()),
    };
    Ok(Stream { labels, entries })
}

fn legacy_entry(value: Value) -> Result<Entry, String> {
    let Value::Object(mut entry) = value else {
        return Err("it is not an object".into());
    };
    let time = match entry.remove("ts").or_else(|| entry.remove("timestamp")) {
        Some(Value::String(ts)) => Timestamp::parse(&ts).map_err(|e| e.to_string())?,
        _ => return Err("`ts` is not an RFC 3339 string".into()),
    };
    let line = match entry.remove("line") {
        Some(Value::String(line)) => line,
        _ => return Err("`line` is not a string".into()),
    };
    Ok(Entry {
        time: When::At(time),
        line,
        metadata: Vec::new(),
    })
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}
