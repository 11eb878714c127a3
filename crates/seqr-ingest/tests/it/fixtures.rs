//! Replays every captured client request to the ingestion endpoints through the decoders.

use crate::common;

use std::collections::BTreeMap;

use seqr_ingest::Limits;
use seqr_types::{CanonicalLevel, Event, Timestamp, event_type};

#[test]
fn every_fixture_request_decodes() {
    let requests = common::ingestion_requests();
    let mut by_file: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    for r in &requests {
        let events = r
            .decode(&Limits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", r.file));
        by_file.entry(r.file.clone()).or_default().extend(events);
    }
    let files: Vec<&str> = by_file.keys().map(String::as_str).collect();
    for expected in [
        "bunyan-seq",
        "loguru-seq",
        "pino-seq",
        "seq-logging",
        "seq-logging-no-apikey",
        "seqlog",
        "seqlog-clef",
        "structured-log-seq-sink",
        "structured-log-seq-sink-compact",
        "structured-log-seq-sink-compact-minlevel",
        "winston-seq",
    ] {
        assert!(
            files.contains(&expected),
            "no requests from {expected}: {files:?}"
        );
    }

    let captured_from = Timestamp::parse("2026-11-24T23:00:00Z").unwrap();
    let captured_to = Timestamp::parse("2026-11-25T00:00:00Z").unwrap();
    for (file, events) in &by_file {
        let mut levels: Vec<CanonicalLevel> = events
            .iter()
            .map(|e| CanonicalLevel::of(e.level.as_deref()))
            .collect();
        levels.sort();
        assert_eq!(
            levels,
            [
                CanonicalLevel::Information,
                CanonicalLevel::Warning,
                CanonicalLevel::Error
            ],
            "{file}"
        );
        for e in events {
            let ctx = format!("{file}: {e:?}");
            assert!(
                e.timestamp > captured_from && e.timestamp < captured_to,
                "{ctx}"
            );
            assert_eq!(e.properties["RunTag"], "fixture-run", "{ctx}");
            assert_eq!(
                e.event_type,
                event_type::of_template(e.template_or_message()),
                "{ctx}"
            );
            assert!(e.renderings.is_empty(), "{ctx}");
            let message = e.rendered_message();
            match CanonicalLevel::of(e.level.as_deref()) {
                CanonicalLevel::Information => {
                    let client = e.properties["Client"].as_str().unwrap();
                    assert_eq!(message, format!("Hello alice from {client}"), "{ctx}");
                    assert!(file.starts_with(client), "{ctx}");
                    if let Some(mt) = e.message_template.as_deref().filter(|t| t.contains('{')) {
                        assert_eq!(mt, "Hello {User} from {Client}", "{ctx}");
                    }
                }
                CanonicalLevel::Warning => assert_eq!(message, "Disk 93.5% full", "{ctx}"),
                CanonicalLevel::Error => {
                    assert_eq!(message, "Operation save failed", "{ctx}");
                    let exception = e.exception.as_deref().unwrap_or_default();
                    assert!(exception.contains("Kaboom"), "{ctx}");
                }
                other => panic!("{file}: unexpected level {other:?}"),
            }
            // Integers arrive exactly as sent, however large.
            for name in ["ThreadId", "pid", "N"] {
                if let Some(v) = e.properties.get(name) {
                    let text = v.to_string();
                    assert!(text.bytes().all(|b| b.is_ascii_digit()), "{ctx}");
                }
            }
        }
    }
}

#[test]
fn client_specific_details() {
    let requests = common::ingestion_requests();
    let events_of = |file: &str| -> Vec<Event> {
        requests
            .iter()
            .filter(|r| r.file == file)
            .flat_map(|r| r.decode(&Limits::default()).unwrap())
            .collect()
    };

    // seqlog: levels verbatim, space-separated timestamps, "0" property names, big thread ids.
    let seqlog = events_of("seqlog");
    let levels: Vec<_> = seqlog.iter().map(|e| e.level.as_deref().unwrap()).collect();
    assert_eq!(levels, ["INFO", "WARNING", "ERROR"]);
    assert_eq!(seqlog[0].timestamp.to_iso(), "2026-11-24T23:40:48.5039360Z");
    assert_eq!(seqlog[1].properties["0"].to_string(), "93.5");
    assert_eq!(
        seqlog[0].properties["ThreadId"].to_string(),
        "140152695675776"
    );

    // seqlog CLEF: CRLF framing, `@r` that does not match the template is dropped.
    let body = &requests
        .iter()
        .find(|r| r.file == "seqlog-clef")
        .unwrap()
        .body;
    assert_eq!(body.windows(2).filter(|w| w == b"\r\n").count(), 2);
    let clef = events_of("seqlog-clef");
    assert_eq!(clef.len(), 3);
    assert_eq!(clef[1].message_template.as_deref(), Some("Disk 93.5% full"));
    assert!(clef.iter().all(|e| !e.properties.contains_key("@r")));
    assert_eq!(
        clef[0].properties["ThreadId"].to_string(),
        "139768981797760"
    );
    assert!(
        clef[2]
            .exception
            .as_deref()
            .unwrap()
            .ends_with("Kaboom in seqlog-clef")
    );

    // seq-logging: nested values and trace context.
    let sl = events_of("seq-logging");
    assert_eq!(
        sl[0].properties["Nested"].to_string(),
        r#"{"A":[1,2,3],"B":null}"#
    );
    assert_eq!(
        sl[1].trace_id.as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    assert_eq!(sl[1].span_id.as_deref(), Some("00f067aa0ba902b7"));

    // winston: lower-case levels kept as sent.
    let levels: Vec<_> = events_of("winston-seq")
        .iter()
        .map(|e| e.level.clone().unwrap())
        .collect();
    assert_eq!(levels, ["info", "warn", "error"]);

    // loguru: `@mt` is already-rendered text.
    let loguru = events_of("loguru-seq");
    assert_eq!(
        loguru[0].message_template.as_deref(),
        Some("Hello alice from loguru-seq")
    );
    assert_eq!(loguru[0].properties["line"].to_string(), "47");
}

#[test]
fn fixture_bodies_respect_tight_event_limits() {
    // Every fixture event is under 1 KiB; a 64-byte limit must reject, never truncate.
    let tight = Limits {
        max_event_bytes: 64,
        ..Limits::default()
    };
    for r in common::ingestion_requests() {
        if r.body.is_empty() {
            continue;
        }
        let err = r.decode(&tight).unwrap_err();
        assert_eq!(err.http_status(), 400, "{}: {err}", r.file);
        assert!(err.to_string().contains("over the 64-byte limit"), "{err}");
    }
}
