//! Loki push requests through the public API: protobuf (built with prost, compressed with
//! snappy's block format, as Promtail does) and JSON round trips.

use prost::Message;
use seqr_shippers::loki::proto::{
    EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter, Timestamp,
};
use seqr_shippers::loki::{Encoding, decode_push};
use serde_json::{Value, json};

const MB: usize = 1 << 20;

fn entry(seconds: i64, nanos: i32, line: &str, metadata: &[(&str, &str)]) -> EntryAdapter {
    EntryAdapter {
        timestamp: Some(Timestamp { seconds, nanos }),
        line: line.as_bytes().to_vec(),
        structured_metadata: metadata
            .iter()
            .map(|(n, v)| LabelPairAdapter {
                name: n.as_bytes().to_vec(),
                value: v.as_bytes().to_vec(),
            })
            .collect(),
    }
}

fn snappy_body(streams: Vec<StreamAdapter>) -> Vec<u8> {
    let raw = PushRequest { streams }.encode_to_vec();
    snap::raw::Encoder::new().compress_vec(&raw).unwrap()
}

fn stream(labels: &str, entries: Vec<EntryAdapter>) -> StreamAdapter {
    StreamAdapter {
        labels: labels.as_bytes().to_vec(),
        entries,
        hash: 0,
    }
}

#[test]
fn protobuf_round_trip_with_labels_metadata_level_and_trace() {
    let body = snappy_body(vec![
        stream(
            r#"{job="api", level="warn", note="a \"quoted\"\nvalue"}"#,
            vec![
                entry(1_700_000_000, 123_456_789, "first line", &[]),
                entry(
                    1_700_000_001,
                    5,
                    "second line",
                    &[
                        ("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"),
                        ("level", "error"),
                        ("user", "bob"),
                    ],
                ),
            ],
        ),
        stream("{}", vec![entry(0, 0, "", &[])]),
    ]);
    let d = decode_push(&body, Encoding::Protobuf, MB, MB).unwrap();
    assert_eq!(d.rejected, 0);
    assert_eq!(d.events.len(), 3);

    let first = &d.events[0];
    assert_eq!(first.timestamp.to_iso(), "2023-11-14T22:13:20.1234567Z");
    assert_eq!(first.message.as_deref(), Some("first line"));
    assert_eq!(first.message_template, None);
    assert_eq!(first.level.as_deref(), Some("warn"));
    assert_eq!(
        Value::Object(first.properties.clone()),
        json!({"job": "api", "note": "a \"quoted\"\nvalue"})
    );
    assert_eq!(
        first.event_type,
        seqr_types::event_type::of_template("first line")
    );

    // Metadata overrides a label of the same name, and the trace id is taken out.
    let second = &d.events[1];
    assert_eq!(second.timestamp.to_iso(), "2023-11-14T22:13:21.0000000Z");
    assert_eq!(second.level.as_deref(), Some("error"));
    assert_eq!(
        second.trace_id.as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    assert_eq!(
        Value::Object(second.properties.clone()),
        json!({"job": "api", "note": "a \"quoted\"\nvalue", "user": "bob"})
    );

    let third = &d.events[2];
    assert_eq!(third.timestamp.to_iso(), "1970-01-01T00:00:00.0000000Z");
    assert_eq!(third.message.as_deref(), Some(""));
    assert!(third.properties.is_empty());
}

#[test]
fn protobuf_entry_without_timestamp_gets_arrival_time_and_bad_ones_are_refused() {
    let before = seqr_types::Timestamp::now();
    let mut untimed = entry(0, 0, "untimed", &[]);
    untimed.timestamp = None;
    let body = snappy_body(vec![stream(
        r#"{job="x"}"#,
        vec![
            untimed,
            entry(i64::MAX / 2, 0, "far future", &[]),
            entry(1, 0, "ok", &[]),
        ],
    )]);
    let d = decode_push(&body, Encoding::Protobuf, MB, MB).unwrap();
    assert_eq!(d.events.len(), 2);
    assert!(d.events[0].timestamp >= before);
    assert_eq!(d.rejected, 1);
    assert!(
        d.rejection
            .as_deref()
            .unwrap()
            .contains("outside the years 0001-9999")
    );
}

#[test]
fn bad_labels_fail_the_request_as_loki_does() {
    let body = snappy_body(vec![stream(r#"{job!="x"}"#, vec![entry(1, 0, "l", &[])])]);
    let err = decode_push(&body, Encoding::Protobuf, MB, MB).unwrap_err();
    assert_eq!(
        err.0,
        "The stream labels `{job!=\"x\"}` do not parse: the labels have `!` at byte 4 where `=` was expected."
    );
}

#[test]
fn non_utf8_lines_are_kept_lossily() {
    let mut e = entry(1, 0, "", &[]);
    e.line = b"bad \xff byte".to_vec();
    let body = snappy_body(vec![stream(r#"{job="x"}"#, vec![e])]);
    let d = decode_push(&body, Encoding::Protobuf, MB, MB).unwrap();
    assert_eq!(d.events[0].message.as_deref(), Some("bad \u{fffd} byte"));
}

#[test]
fn oversized_entries_are_refused_one_by_one() {
    let big = "x".repeat(3000);
    let body = snappy_body(vec![stream(
        r#"{job="x"}"#,
        vec![entry(1, 0, &big, &[]), entry(2, 0, "small", &[])],
    )]);
    let d = decode_push(&body, Encoding::Protobuf, MB, 2048).unwrap();
    assert_eq!(d.events.len(), 1);
    assert_eq!(d.events[0].message.as_deref(), Some("small"));
    assert_eq!(d.rejected, 1);
    assert!(
        d.rejection
            .unwrap()
            .contains("over the 2048-byte event limit")
    );
}

#[test]
fn json_round_trip_with_structured_metadata() {
    let body = json!({
        "streams": [
            {
                "stream": {"service_name": "checkout", "severity": "INFO"},
                "values": [
                    ["1700000000123456789", "plain line"],
                    ["1700000000999999999", "with metadata", {"traceID": "abc123", "spanID": "def", "pod": "p-1"}],
                    [1700000001000000000_u64, "integer timestamp"]
                ]
            },
            {"stream": {}, "values": []}
        ]
    });
    let d = decode_push(body.to_string().as_bytes(), Encoding::Json, MB, MB).unwrap();
    assert_eq!(d.events.len(), 3);
    let e = &d.events[0];
    assert_eq!(e.timestamp.to_iso(), "2023-11-14T22:13:20.1234567Z");
    assert_eq!(e.level.as_deref(), Some("INFO"));
    assert_eq!(
        Value::Object(e.properties.clone()),
        json!({"service_name": "checkout"})
    );
    let e = &d.events[1];
    assert_eq!(e.timestamp.to_iso(), "2023-11-14T22:13:20.9999999Z");
    assert_eq!(e.trace_id.as_deref(), Some("abc123"));
    assert_eq!(e.span_id.as_deref(), Some("def"));
    assert_eq!(
        Value::Object(e.properties.clone()),
        json!({"service_name": "checkout", "pod": "p-1"})
    );
    assert_eq!(
        d.events[2].timestamp.to_iso(),
        "2023-11-14T22:13:21.0000000Z"
    );
}

#[test]
fn json_legacy_shape() {
    let body = r#"{"streams":[{"labels":"{job=\"old\"}","entries":[{"ts":"2018-12-18T08:28:06.801064-04:00","line":"legacy"}]}]}"#;
    let d = decode_push(body.as_bytes(), Encoding::Json, MB, MB).unwrap();
    assert_eq!(d.events.len(), 1);
    assert_eq!(
        d.events[0].timestamp.to_iso(),
        "2018-12-18T12:28:06.8010640Z"
    );
    assert_eq!(d.events[0].properties["job"], json!("old"));
}

#[test]
fn json_shape_errors_name_where_they_are() {
    let cases = [
        ("[]", "the body is not a JSON object"),
        (r#"{"streams":{}}"#, "`streams` is not an array"),
        (
            r#"{"streams":[{"stream":{"a":1},"values":[]}]}"#,
            "stream 0: label `a` is not a string",
        ),
        (
            r#"{"streams":[{"stream":{},"values":[["x","l"]]}]}"#,
            "stream 0: value 0: the timestamp `x` is not Unix nanoseconds",
        ),
        (
            r#"{"streams":[{"stream":{},"values":[["1"]]}]}"#,
            "value 0: it has 1 elements, not 2 or 3",
        ),
        (
            r#"{"streams":[{"stream":{},"values":[["1",2]]}]}"#,
            "the line is not a string",
        ),
        (
            r#"{"streams":[{"stream":{},"values":[["1","l",[]]]}]}"#,
            "the structured metadata is not an object",
        ),
        (
            r#"{"streams":[{"values":[]}]}"#,
            "it has neither `stream` nor `labels`",
        ),
        ("{", "The body is not JSON"),
    ];
    for (body, want) in cases {
        let err = decode_push(body.as_bytes(), Encoding::Json, MB, MB).unwrap_err();
        assert!(err.0.contains(want), "{body}: {err}");
    }
    // No streams at all is an empty push, as for Loki.
    let d = decode_push(b"{}", Encoding::Json, MB, MB).unwrap();
    assert!(d.events.is_empty());
}
