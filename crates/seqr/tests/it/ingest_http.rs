//! Ingestion and search behaviour over real HTTP, one fresh server per test.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{
    CLEF, JSON, Request, TestDir, assert_ingested, get, gzip, id_of, ingest_clef, post, properties,
    property, read_all, signal_page, str_member, ts_micros,
};

const TEN_MIB: usize = 10 * 1024 * 1024;

fn clef_line(i: u64) -> String {
    json!({"@t": ts_micros(i * 1_000_000), "@mt": "Event {N}", "N": i}).to_string()
}

fn clef_lines(range: std::ops::Range<u64>) -> String {
    range.map(|i| clef_line(i) + "\n").collect()
}

#[track_caller]
fn assert_stored(port: u16, n: usize) -> Vec<Value> {
    let events = read_all(port, 1000, "");
    assert_eq!(
        events.len(),
        n,
        "stored events: {}",
        Value::Array(events.clone())
    );
    events
}

#[track_caller]
fn assert_status(resp: &crate::support::Response, status: u16) {
    assert_eq!(
        resp.status,
        status,
        "expected {status}, got {}: {}",
        resp.status,
        resp.text()
    );
}

#[test]
fn empty_bodies_are_accepted() {
    let (_d, s) = TestDir::fresh();
    for (target, ct) in [
        ("/api/events/raw?clef", Some(CLEF)),
        ("/api/events/raw", Some(CLEF)),
        ("/ingest/clef", None),
        ("/api/events/raw", Some(JSON)),
        ("/api/events/raw", None),
    ] {
        let resp = post(s.port, target, ct, b"").unwrap();
        assert_eq!(
            resp.status,
            201,
            "empty body to {target} ({ct:?}): {}",
            resp.text()
        );
        assert_ingested(&resp);
    }
    let resp = post(s.port, "/api/events/raw", Some(JSON), br#"{"Events":[]}"#).unwrap();
    assert_ingested(&resp);
    assert_stored(s.port, 0);
}

#[test]
fn malformed_line_rejects_the_whole_request_and_names_the_line() {
    let (_d, s) = TestDir::fresh();
    let body = format!(
        "{}\n{{\"@t\":\"2026-01-01T00:00:00Z\",\"@mt\":oops}}\n{}\n",
        clef_line(1),
        clef_line(3)
    );
    let resp = post(s.port, "/api/events/raw?clef", Some(CLEF), body.as_bytes()).unwrap();
    assert_status(&resp, 400);
    let err = resp.error_message();
    assert!(
        err.to_lowercase().contains("line 2"),
        "error should name line 2: {err:?}"
    );
    assert_stored(s.port, 0);
}

#[test]
fn missing_timestamp_is_rejected() {
    let (_d, s) = TestDir::fresh();
    let body = format!("{}\n{{\"@mt\":\"no time\"}}\n", clef_line(1));
    let resp = post(s.port, "/ingest/clef", Some(CLEF), body.as_bytes()).unwrap();
    assert_status(&resp, 400);
    let err = resp.error_message();
    assert!(err.contains("@t"), "error should mention @t: {err:?}");
    assert_stored(s.port, 0);
}

#[test]
fn body_over_10_mib_is_413() {
    let (_d, s) = TestDir::fresh();
    // Valid CLEF, just too much of it.
    let line = json!({"@t": "2026-01-01T00:00:00Z", "@mt": "x", "Pad": "y".repeat(1000)})
        .to_string()
        + "\n";
    let body = line.repeat(TEN_MIB / line.len() + 16);
    assert!(body.len() > TEN_MIB);
    let resp = post(s.port, "/api/events/raw?clef", Some(CLEF), body.as_bytes()).unwrap();
    assert_status(&resp, 413);
    assert_stored(s.port, 0);

    // Just under the limit is fine.
    let body = line.repeat((TEN_MIB - 1024) / line.len());
    let resp = post(s.port, "/api/events/raw?clef", Some(CLEF), body.as_bytes()).unwrap();
    assert_ingested(&resp);
    assert_stored(s.port, (TEN_MIB - 1024) / line.len());
}

#[test]
fn gzip_body_is_accepted_and_stored() {
    let (_d, s) = TestDir::fresh();
    let body = gzip(clef_lines(0..5).as_bytes());
    let resp = Request::new("POST", "/api/events/raw?clef")
        .header("Content-Type", CLEF)
        .header("Content-Encoding", "gzip")
        .body(&body)
        .send(s.port)
        .unwrap();
    assert_ingested(&resp);
    let legacy = json!({"Events": [{"Timestamp": ts_micros(99_000_000), "Level": "Warning", "MessageTemplate": "Legacy {N}", "Properties": {"N": 99}}]}).to_string();
    let body = gzip(legacy.as_bytes());
    let resp = Request::new("POST", "/api/events/raw")
        .header("Content-Type", JSON)
        .header("Content-Encoding", "gzip")
        .body(&body)
        .send(s.port)
        .unwrap();
    assert_ingested(&resp);
    let events = assert_stored(s.port, 6);
    assert_eq!(property(&events[0], "N"), Some(json!(99)));
    assert_eq!(events[0]["Level"], "Warning");
    assert_eq!(property(&events[5], "N"), Some(json!(0)));
}

#[test]
fn gzip_bomb_is_413_quickly() {
    let (_d, s) = TestDir::fresh();
    // ~20 MiB of valid CLEF that compresses to a few tens of KiB.
    let line = clef_line(7) + "\n";
    let plain = line.repeat(20 * 1024 * 1024 / line.len());
    let bomb = gzip(plain.as_bytes());
    drop(plain);
    assert!(bomb.len() < 1024 * 1024, "bomb is {} bytes", bomb.len());
    let started = Instant::now();
    let resp = Request::new("POST", "/api/events/raw?clef")
        .header("Content-Type", CLEF)
        .header("Content-Encoding", "gzip")
        .body(&bomb)
        .send_with_timeout(s.port, Duration::from_secs(30))
        .unwrap();
    let took = started.elapsed();
    assert_status(&resp, 413);
    assert!(
        took < Duration::from_secs(5),
        "gzip bomb took {took:?} to reject"
    );
    assert_stored(s.port, 0);
}

#[test]
fn null_api_key_header_is_accepted() {
    let (_d, s) = TestDir::fresh();
    let body = clef_line(1);
    let resp = Request::new("POST", "/api/events/raw?clef")
        .header("Content-Type", CLEF)
        .header("X-Seq-ApiKey", "null")
        .body(body.as_bytes())
        .send(s.port)
        .unwrap();
    assert_ingested(&resp);
    assert_stored(s.port, 1);
}

#[test]
fn clef_query_variants() {
    let (_d, s) = TestDir::fresh();
    let body = clef_line(1);
    for target in ["/api/events/raw?clef", "/api/events/raw?clef=true"] {
        let resp = post(s.port, target, None, body.as_bytes()).unwrap();
        assert_eq!(resp.status, 201, "{target}: {}", resp.text());
        assert_ingested(&resp);
    }
    // `?clef=` (empty) means legacy JSON, so a CLEF body is not a valid `{"Events":[...]}`.
    let resp = post(s.port, "/api/events/raw?clef=", None, body.as_bytes()).unwrap();
    assert_status(&resp, 400);
    resp.error_message();
    // No query and no CLEF content type: legacy too.
    let resp = post(s.port, "/api/events/raw", Some(JSON), body.as_bytes()).unwrap();
    assert_status(&resp, 400);
    assert_stored(s.port, 2);
}

#[test]
fn ingest_clef_ignores_content_type() {
    let (_d, s) = TestDir::fresh();
    for ct in [Some("text/plain"), Some(JSON), None] {
        let resp = post(s.port, "/ingest/clef", ct, clef_line(1).as_bytes()).unwrap();
        assert_eq!(
            resp.status,
            201,
            "/ingest/clef with {ct:?}: {}",
            resp.text()
        );
        assert_ingested(&resp);
    }
    assert_stored(s.port, 3);
}

#[test]
fn event_over_256_kib_is_rejected_naming_the_line() {
    let (_d, s) = TestDir::fresh();
    let big = json!({"@t": "2026-01-01T00:00:00Z", "@mt": "big", "Blob": "z".repeat(300 * 1024)})
        .to_string();
    let body = format!("{}\n{}\n{big}\n", clef_line(1), clef_line(2));
    let resp = post(s.port, "/api/events/raw?clef", Some(CLEF), body.as_bytes()).unwrap();
    assert_status(&resp, 400);
    let err = resp.error_message();
    assert!(
        err.to_lowercase().contains("line 3"),
        "error should name line 3: {err:?}"
    );
    assert_stored(s.port, 0);
}

#[test]
fn missing_level_reads_back_as_information_and_type_tags_round_trip() {
    let (_d, s) = TestDir::fresh();
    ingest_clef(
        s.port,
        r#"{"@t":"2026-01-01T00:00:00Z","@mt":"At {Pos}","Pos":{"$type":"Point","X":1,"Y":2},"@@Odd":"escaped"}"#,
    );
    let events = assert_stored(s.port, 1);
    let ev = &events[0];
    assert_eq!(ev["Level"], "Information");
    assert_eq!(ev["Timestamp"], "2026-01-01T00:00:00.0000000Z");
    let props = properties(ev);
    assert_eq!(props["Pos"], json!({"$typeTag": "Point", "X": 1, "Y": 2}));
    assert_eq!(props["@Odd"], json!("escaped"));
}

#[test]
fn paging_1000_events_returns_each_once_newest_first() {
    let (_d, s) = TestDir::fresh();
    ingest_clef(s.port, &clef_lines(0..600));
    ingest_clef(s.port, &clef_lines(600..1000));

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 20, "too many pages");
        let q = match &after {
            Some(a) => format!("count=100&afterId={a}"),
            None => "count=100".to_string(),
        };
        let page = signal_page(s.port, &q);
        assert!(page.events.len() <= 100);
        for e in &page.events {
            seen.push(property(e, "N").and_then(|v| v.as_u64()).expect("N"));
        }
        if page.status == "Complete" {
            break;
        }
        assert!(
            page.status == "Full" || page.status == "Partial",
            "status {}",
            page.status
        );
        if page.status == "Full" {
            assert_eq!(page.events.len(), 100, "a Full page holds `count` events");
        }
        after = page.last_read_event_id;
    }
    let expected: Vec<u64> = (0..1000).rev().collect();
    assert_eq!(
        seen, expected,
        "paging should return 999..0 exactly once each"
    );
    assert!(
        pages >= 10,
        "1000 events in pages of 100 took {pages} pages"
    );

    // The bare-array endpoint pages the same way.
    let first: Value = get(s.port, "/api/events?count=100").unwrap().json();
    let first = first.as_array().expect("bare JSON array");
    assert_eq!(first.len(), 100);
    assert_eq!(property(&first[0], "N"), Some(json!(999)));
    let last_id = id_of(&first[99]);
    let second: Value = get(s.port, &format!("/api/events?count=100&afterId={last_id}"))
        .unwrap()
        .json();
    let second = second.as_array().expect("bare JSON array");
    assert_eq!(property(&second[0], "N"), Some(json!(899)));

    let ids: HashSet<String> = read_all(s.port, 1000, "")
        .iter()
        .map(|e| id_of(e).to_string())
        .collect();
    assert_eq!(ids.len(), 1000);
}

#[test]
fn date_bounds_filter_events() {
    let (_d, s) = TestDir::fresh();
    // Event i is at 2026-01-01T00:00:00 + i seconds.
    ingest_clef(s.port, &clef_lines(0..20));
    let from = "2026-01-01T00:00:04.5000000Z";
    let to = "2026-01-01T00:00:09.5000000Z";
    let events = read_all(s.port, 100, &format!("fromDateUtc={from}&toDateUtc={to}"));
    let ns: Vec<u64> = events
        .iter()
        .map(|e| property(e, "N").and_then(|v| v.as_u64()).unwrap())
        .collect();
    assert_eq!(ns, vec![9, 8, 7, 6, 5]);
    let events = read_all(s.port, 100, &format!("fromDateUtc={from}"));
    assert_eq!(events.len(), 15);
    let events = read_all(s.port, 100, &format!("toDateUtc={to}"));
    assert_eq!(events.len(), 10);
    assert_eq!(
        str_member(&events[0], "Timestamp"),
        "2026-01-01T00:00:09.0000000Z"
    );
}

#[test]
fn get_event_by_id_round_trips() {
    let (_d, s) = TestDir::fresh();
    ingest_clef(
        s.port,
        r#"{"@t":"2026-01-01T00:00:00Z","@mt":"Hello {User}","@l":"Warning","User":"alice","@x":"boom"}"#,
    );
    let events = assert_stored(s.port, 1);
    let id = id_of(&events[0]);
    let resp = get(s.port, &format!("/api/events/{id}")).unwrap();
    assert_status(&resp, 200);
    let ev = resp.json();
    assert_eq!(ev["Id"], id);
    for member in [
        "Timestamp",
        "Level",
        "Properties",
        "MessageTemplateTokens",
        "EventType",
        "Exception",
    ] {
        assert_eq!(
            ev[member], events[0][member],
            "{member} differs between /api/events/{{id}} and the search"
        );
    }
    assert_eq!(ev["Level"], "Warning");
    assert_eq!(ev["Exception"], "boom");

    let unknown = "event-00000000000000000000000000000001";
    let resp = get(s.port, &format!("/api/events/{unknown}")).unwrap();
    assert_status(&resp, 404);
    resp.error_message();
}

#[test]
fn filter_parameter_selects_events_and_a_bad_one_is_400() {
    let (_d, s) = TestDir::fresh();
    ingest_clef(s.port, &clef_lines(0..20));
    let found = read_all(
        s.port,
        3,
        "filter=N%20%3E%3D%2015%20and%20N%20%25%202%20%3D%200",
    );
    let ns: Vec<_> = found
        .iter()
        .map(|e| {
            e["Properties"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["Name"] == "N")
                .unwrap()["Value"]
                .clone()
        })
        .collect();
    assert_eq!(ns, [json!(18), json!(16)], "newest first, paged");
    let resp = get(s.port, "/api/events/signal?count=10&filter=N%20%3D").unwrap();
    assert_status(&resp, 400);
    let err = resp.error_message();
    assert!(
        err.contains("position"),
        "the error names the position: {err:?}"
    );
}

#[test]
fn clef_members_and_rendering_read_back_as_sent() {
    let (_d, s) = TestDir::fresh();
    let body = [
        // Rendering: strings unquoted, numbers as written, booleans the .NET way (True), a missing property raw.
        r#"{"@t":"2026-01-01T00:00:01Z","@mt":"Hello {User} ({Age}, {Admin}) {Hole}","User":"alice","Age":140693509036928,"Admin":true}"#,
        // Message only: the message is the text and the event type is of the message.
        r#"{"@t":"2026-01-01T00:00:02.5+02:00","@m":"Plain message","@l":"Debug"}"#,
        // Explicit event type, trace and span ids.
        r#"{"@t":"2026-01-01T00:00:03.1234567Z","@mt":"Traced","@i":"0000abcd","@tr":"4bf92f3577b34da6a3ce929d0e0e4736","@sp":"00f067aa0ba902b7"}"#,
    ]
    .join("\n");
    ingest_clef(s.port, &body);
    // Raw text: the number's exact spelling (1.50) must survive.
    let legacy = r#"{"Events":[{"Timestamp":"2026-01-01T00:00:04Z","MessageTemplate":"No level {X}","Properties":{"X":1.50}}]}"#;
    let resp = post(
        s.port,
        "/api/events/raw",
        Some(JSON),
        legacy.to_string().as_bytes(),
    )
    .unwrap();
    assert_ingested(&resp);

    let events = read_all(s.port, 100, "render=true");
    assert_eq!(events.len(), 4);
    let by_ts = |ts: &str| -> &Value {
        events
            .iter()
            .find(|e| e["Timestamp"] == ts)
            .unwrap_or_else(|| panic!("no event at {ts}: {}", Value::Array(events.clone())))
    };

    let hello = by_ts("2026-01-01T00:00:01.0000000Z");
    assert_eq!(
        hello["RenderedMessage"],
        "Hello alice (140693509036928, True) {Hole}"
    );
    assert_eq!(
        property(hello, "Age").unwrap().to_string(),
        "140693509036928"
    );
    assert_eq!(hello["Level"], "Information");
    assert_eq!(
        hello["EventType"],
        seqr_types::event_type::display(seqr_types::event_type::of_template(
            "Hello {User} ({Age}, {Admin}) {Hole}"
        ))
    );

    // 00:00:02.5+02:00 is the previous day in UTC.
    let plain = by_ts("2025-12-31T22:00:02.5000000Z");
    assert_eq!(plain["RenderedMessage"], "Plain message");
    assert_eq!(plain["Level"], "Debug");
    assert_eq!(
        plain["EventType"],
        seqr_types::event_type::display(seqr_types::event_type::of_template("Plain message"))
    );

    let traced = by_ts("2026-01-01T00:00:03.1234567Z");
    assert_eq!(traced["EventType"], "$0000ABCD");
    assert_eq!(traced["TraceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(traced["SpanId"], "00f067aa0ba902b7");
    assert!(
        traced.get("Exception").is_none(),
        "null members are omitted: {traced}"
    );

    let legacy = by_ts("2026-01-01T00:00:04.0000000Z");
    assert_eq!(legacy["Level"], "Information");
    assert_eq!(property(legacy, "X").unwrap().to_string(), "1.50");
    assert_eq!(legacy["RenderedMessage"], "No level 1.50");
}

#[test]
fn start_at_id_and_short_circuit_after() {
    let (_d, s) = TestDir::fresh();
    ingest_clef(s.port, &clef_lines(0..5));
    let all = read_all(s.port, 100, "");
    let ns = |events: &[Value]| -> Vec<u64> {
        events
            .iter()
            .map(|e| property(e, "N").and_then(|v| v.as_u64()).unwrap())
            .collect()
    };
    assert_eq!(ns(&all), [4, 3, 2, 1, 0]);
    let third = id_of(&all[2]);
    // startAtId includes the event, afterId starts after it.
    assert_eq!(
        ns(&read_all(s.port, 100, &format!("startAtId={third}"))),
        [2, 1, 0]
    );
    assert_eq!(
        ns(&read_all(s.port, 100, &format!("afterId={third}"))),
        [1, 0]
    );
    // shortCircuitAfter stops the scan early with Partial; paging on still finds everything.
    let page = signal_page(s.port, "count=100&shortCircuitAfter=2");
    assert_eq!(page.status, "Partial", "{}", page.raw);
    assert_eq!(ns(&page.events), [4, 3]);
    assert_eq!(
        ns(&read_all(s.port, 100, "shortCircuitAfter=2")),
        [4, 3, 2, 1, 0]
    );
}

#[test]
fn corrupt_gzip_is_400_and_stores_nothing() {
    let (_d, s) = TestDir::fresh();
    let mut body = gzip(clef_lines(0..50).as_bytes());
    let mid = body.len() / 2;
    body.truncate(mid);
    let resp = Request::new("POST", "/api/events/raw?clef")
        .header("Content-Encoding", "gzip")
        .body(&body)
        .send(s.port)
        .unwrap();
    assert_status(&resp, 400);
    resp.error_message();
    assert_stored(s.port, 0);
}
