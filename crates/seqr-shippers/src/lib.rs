//! The push protocols log shippers speak, decoded to seqr events, so Vector, Fluent Bit,
//! Promtail / Grafana Alloy and Filebeat can send to seqr through outputs they already have.
//! Pure: no I/O, no HTTP types; the server reads the body (and undoes `Content-Encoding`),
//! calls a decoder, stores [`Decoded::events`] and sends the answer.
//!
//! # Loki push ([`loki`])
//!
//! `POST /loki/api/v1/push` with a snappy-compressed protobuf `logproto.PushRequest`
//! (`application/x-protobuf`, also what a request without a content type is taken as, as Loki
//! does) or Loki's JSON (`application/json`). One event per entry:
//!
//! | Loki | seqr |
//! |---|---|
//! | entry timestamp (Unix ns; protobuf `Timestamp`, JSON decimal string), to the 100 ns tick | `@Timestamp` (arrival time when the protobuf entry has none) |
//! | line, as sent (not parsed, not a template) | `@Message` |
//! | stream labels (`{job="x", level="info"}`), each one | a property, as a string |
//! | structured metadata (protobuf `structuredMetadata`, JSON third element) | properties, over a label of the same name |
//! | first of `level`, `severity`, `detected_level` (label or metadata) | `@Level`, as sent (`info`, `warn`, ...); taken out of the properties |
//! | first of `trace_id`, `traceID`, `traceId` / `span_id`, `spanID`, `spanId` | `@TraceId` / `@SpanId`; taken out |
//!
//! A body that is not a push request at all (bad snappy, bad protobuf, labels that do not
//! parse, a JSON timestamp that is not a number) is refused whole, as Loki refuses it (400).
//! An entry over the event size limit, or with a timestamp outside 0001-9999, is refused on
//! its own and counted in [`Decoded::rejected`].
//!
//! # Elasticsearch `_bulk` ([`elastic`])
//!
//! `POST /es/_bulk` or `/es/{index}/_bulk`: NDJSON pairs of an action line and a document
//! line. `index` and `create` documents become events; `update` (which has a document line)
//! and `delete` (which has none) are answered as per-item errors, since seqr only appends.
//! The document, an object, becomes the properties, with these taken out:
//!
//! | document field | seqr |
//! |---|---|
//! | `@timestamp`, else `timestamp` (Vector's default): ISO 8601, or epoch milliseconds as a number or digit string | `@Timestamp`; a value that does not parse stays a property and the arrival time is used |
//! | first string of `message`, `log` (Fluent Bit's Docker/Kubernetes records), `msg` (pino, zap, logrus JSON) | `@Message` |
//! | first string of `log.level` (ECS, as `{"log":{"level":..}}` or a dotted key), `level`, `severity`, `log_level` | `@Level`, as sent |
//! | `error.stack_trace` (ECS) | `@Exception` |
//! | `trace.id`, `span.id` (ECS) | `@TraceId`, `@SpanId` |
//! | the target index (`_index` of the action, else the one in the path) | property `_index` (Elasticsearch forbids `_index` inside documents, so it never collides) |
//! | everything else, nested objects kept nested (`host.name` is `{"host":{"name":..}}`) | properties |
//!
//! An object emptied by taking a field out (`log` after `log.level`) is dropped. The action's
//! `_id`, `_type`, `pipeline`, `routing` and the like are ignored. As in Elasticsearch, a
//! malformed action line fails the whole request (400) and a bad document fails only its item:
//! not JSON, not an object, or over the event size limit is a per-item 400 with an `error`.

pub mod elastic;
pub mod loki;
mod time;

use seqr_types::Event;

/// What a request carried.
#[derive(Debug, Default)]
pub struct Decoded {
    pub events: Vec<Event>,
    /// Records refused one by one (too large, unusable), the rest of the request being kept.
    pub rejected: usize,
    /// Why, when any were.
    pub rejection: Option<String>,
}

impl Decoded {
    /// Counts one refused record, keeping the first reason and the running count.
    fn refuse(&mut self, reason: &str) {
        self.rejected += 1;
        let first = self
            .rejection
            .as_deref()
            .and_then(|r| r.split_once(" record(s) were refused; the first: "))
            .map_or(reason, |(_, first)| first)
            .to_owned();
        self.rejection = Some(format!(
            "{} record(s) were refused; the first: {first}",
            self.rejected
        ));
    }
}

/// A body that is not a request of the protocol at all (answered 400, permanent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

/// The size an event is held to the event limit by: its text and the JSON of its properties,
/// as seqr-otlp measures it.
fn event_size(event: &Event) -> usize {
    event.message_template.as_ref().map_or(0, String::len)
        + event.message.as_ref().map_or(0, String::len)
        + event.exception.as_ref().map_or(0, String::len)
        + event.level.as_ref().map_or(0, String::len)
        + serde_json::to_vec(&event.properties).map_or(usize::MAX, |v| v.len())
}

/// Finishes an event: its type is the Murmur3 hash of its text, as for every other input.
fn finish(mut event: Event) -> Event {
    event.event_type = seqr_types::event_type::of_template(event.template_or_message());
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_count_and_keep_the_first_reason() {
        let mut d = Decoded::default();
        d.refuse("too big");
        assert_eq!(
            d.rejection.as_deref(),
            Some("1 record(s) were refused; the first: too big")
        );
        d.refuse("other");
        assert_eq!(d.rejected, 2);
        assert_eq!(
            d.rejection.as_deref(),
            Some("2 record(s) were refused; the first: too big")
        );
    }
}
