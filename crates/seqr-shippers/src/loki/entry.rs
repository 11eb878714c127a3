//! Streams and entries, however they arrived, as events.

use seqr_types::{Event, Properties, Timestamp};
use serde_json::Value;

use super::labels::parse_labels;
use super::proto;
use crate::{DecodeError, Decoded, event_size, finish, time};

/// One stream of a push request, decoded from either encoding.
pub(super) struct Stream {
    pub labels: Vec<(String, Value)>,
    pub entries: Vec<Entry>,
}

pub(super) struct Entry {
    pub time: When,
    pub line: String,
    pub metadata: Vec<(String, Value)>,
}

pub(super) enum When {
    At(Timestamp),
    /// A protobuf entry without a timestamp: the arrival time.
    Unset,
    /// Outside 0001-9999: the entry is refused.
    OutOfRange,
}

impl When {
    pub fn of(t: Option<Timestamp>) -> When {
        t.map_or(When::OutOfRange, When::At)
    }
}

/// Names whose value is the level, the trace id and the span id, first found wins.
const LEVEL: [&str; 3] = ["level", "severity", "detected_level"];
const TRACE_ID: [&str; 3] = ["trace_id", "traceID", "traceId"];
const SPAN_ID: [&str; 3] = ["span_id", "spanID", "spanId"];

pub(super) fn from_proto(request: proto::PushRequest) -> Result<Vec<Stream>, DecodeError> {
    let text = |bytes: Vec<u8>| {
        String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    };
    request
        .streams
        .into_iter()
        .map(|stream| {
            let labels = text(stream.labels);
            let labels = parse_labels(&labels).map_err(|e| {
                DecodeError(format!(
                    "The stream labels `{}` do not parse: {e}.",
                    labels.chars().take(200).collect::<String>()
                ))
            })?;
            let entries = stream
                .entries
                .into_iter()
                .map(|e| Entry {
                    time: match e.timestamp {
                        None => When::Unset,
                        Some(t) => When::of(time::from_seconds_nanos(t.seconds, t.nanos)),
                    },
                    line: text(e.line),
                    metadata: e
                        .structured_metadata
                        .into_iter()
                        .map(|p| (text(p.name), Value::String(text(p.value))))
                        .collect(),
                })
                .collect();
            Ok(Stream {
                labels: labels
                    .into_iter()
                    .map(|(n, v)| (n, Value::String(v)))
                    .collect(),
                entries,
            })
        })
        .collect()
}

pub(super) fn events(streams: Vec<Stream>, max_event_bytes: usize) -> Decoded {
    let mut out = Decoded::default();
    for stream in streams {
        for entry in stream.entries {
            let timestamp = match entry.time {
                When::At(t) => t,
                When::Unset => Timestamp::now(),
                When::OutOfRange => {
                    out.refuse("an entry's timestamp is outside the years 0001-9999.");
                    continue;
                }
            };
            let mut properties = Properties::new();
            for (name, value) in stream.labels.iter().cloned().chain(entry.metadata) {
                properties.insert(name, value);
            }
            let event = Event {
                timestamp,
                level: take_text(&mut properties, &LEVEL),
                trace_id: take_text(&mut properties, &TRACE_ID),
                span_id: take_text(&mut properties, &SPAN_ID),
                message: Some(entry.line),
                properties,
                ..Event::default()
            };
            let size = event_size(&event);
            if size > max_event_bytes {
                out.refuse(&format!(
                    "an entry is {size} bytes, over the {max_event_bytes}-byte event limit."
                ));
                continue;
            }
            out.events.push(finish(event));
        }
    }
    out
}

/// Takes the first of `names` holding a non-empty string out of `properties`.
fn take_text(properties: &mut Properties, names: &[&str]) -> Option<String> {
    let name = names.iter().find(|n| {
        properties
            .get(**n)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    })?;
    match properties.shift_remove(*name) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}
