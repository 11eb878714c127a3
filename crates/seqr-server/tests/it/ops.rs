//! Operations endpoints over real HTTP: `/metrics` in Prometheus text, Seq's
//! `api/diagnostics/metrics`, the ingestion log of refused payloads (HTTP and listeners), and
//! the status banner.

use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use seqr_meta::{Permission, PermissionSet};
use seqr_server::inputs::{InputKind, InputLimits, InputListener};
use serde_json::Value;

use crate::{TestServer, create_key, faulty_store, free_port, input_listener, json_of};

const EVENT: &str = r#"{"@t":"2026-01-01T00:00:00Z","@mt":"hello {N}","N":1}"#;

fn get(server: &TestServer, key: Option<&str>, path: &str) -> (u16, String, String) {
    let headers: Vec<(&str, &str)> = key.map(|k| ("X-Seq-ApiKey", k)).into_iter().collect();
    server.request_with("GET", path, &headers, "")
}

/// The value of the sample named exactly `series` (name and labels as written).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn metrics_show_open_http_connections_and_their_limit() {
    let server = TestServer::start_custom("127.0.0.1", tempfile::tempdir().unwrap(), |c| {
        c.network.limits.max_connections = 50;
    });
    let scrape = |what: &str| {
        let (status, _, text) = get(&server, None, "/metrics");
        assert_eq!(status, 200, "{text}");
        sample(&text, what).unwrap_or_else(|| panic!("{what}:\n{text}"))
    };
    assert_eq!(scrape("seqr_http_connections_limit"), 50.0);
    let before = scrape("seqr_http_connections_open");
    assert!(before >= 1.0, "the scrape's own connection: {before}");

    // Idle connections (no request yet) hold a permit until they close.
    let held: Vec<TcpStream> = (0..7)
        .map(|_| TcpStream::connect(("127.0.0.1", server.port)).unwrap())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut open = scrape("seqr_http_connections_open");
    while open < before + 7.0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        open = scrape("seqr_http_connections_open");
    }
    assert!(
        open >= before + 7.0,
        "7 idle connections, {before} then {open}"
    );

    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    while scrape("seqr_http_connections_open") > before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let after = scrape("seqr_http_connections_open");
    assert!(
        after <= before,
        "closed connections still counted: {after} (was {before})"
    );
}

#[test]
fn metrics_count_ingestion_rejections_queries_and_fsyncs_in_prometheus_text() {
    let server = TestServer::start(Default::default());
    let batch = [EVENT; 3].join("\n");
    assert_eq!(server.request("POST", "/ingest/clef", &batch).0, 201);
    let legacy = r#"{"Events":[{"Timestamp":"2026-01-01T00:00:00Z","MessageTemplate":"x"}]}"#;
    let (status, _, body) = server.request("POST", "/api/events/raw", legacy);
    assert_eq!(status, 201, "{body}");
    assert_eq!(server.request("POST", "/ingest/clef", "{not json").0, 400);
    assert_eq!(get(&server, None, "/api/events/signal?count=5").0, 200);
    assert_eq!(
        get(
            &server,
            None,
            "/api/data?q=select%20count(*)%20from%20stream"
        )
        .0,
        200
    );

    let (status, head, text) = get(&server, None, "/metrics");
    assert_eq!(status, 200, "{text}");
    assert!(
        head.contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
        "{head}"
    );
    let at = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series}:\n{text}"));
    assert_eq!(at(r#"seqr_ingest_events_total{input="clef"}"#), 3.0);
    assert_eq!(at(r#"seqr_ingest_events_total{input="legacy_json"}"#), 1.0);
    assert_eq!(at(r#"seqr_ingest_events_total{input="otlp_http"}"#), 0.0);
    assert!(at(r#"seqr_ingest_bytes_total{input="clef"}"#) >= batch.len() as f64);
    assert_eq!(
        at(r#"seqr_ingest_rejected_total{reason="invalid_payload"}"#),
        1.0
    );
    assert_eq!(
        at(r#"seqr_ingest_rejected_total{reason="unauthorized"}"#),
        0.0
    );
    assert_eq!(
        at(r#"seqr_query_duration_seconds_count{kind="search"}"#),
        1.0
    );
    assert_eq!(at(r#"seqr_query_duration_seconds_count{kind="data"}"#), 1.0);
    assert_eq!(
        at(r#"seqr_query_duration_seconds_bucket{kind="search",le="+Inf"}"#),
        1.0
    );
    // Two stored requests, two group commits at least; none of the rejected one.
    assert!(
        at("seqr_store_wal_fsync_duration_seconds_count") >= 2.0,
        "{text}"
    );
    assert!(
        at("seqr_store_wal_fsync_duration_seconds_sum") > 0.0,
        "{text}"
    );
    assert_eq!(at("seqr_store_events"), 4.0);
    assert!(at("seqr_store_wal_bytes") > 0.0);
    assert!(at("seqr_store_volume_free_bytes") > 0.0);
    assert!(at("seqr_process_resident_memory_bytes") > 1e6);
    assert!(at("seqr_process_threads") >= 2.0);
    assert!(at("seqr_process_open_fds") >= 3.0);
    assert_eq!(at("seqr_http_requests_in_flight"), 1.0, "this scrape");

    // Well-formed: every sample belongs to a family declared with HELP and TYPE before it,
    // counters end in `_total`, and histogram buckets never decrease.
    let mut families: Vec<(String, String)> = Vec::new();
    let mut previous_bucket: Option<(String, f64)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(name.starts_with("seqr_"), "{line}");
            if kind == "counter" {
                assert!(name.ends_with("_total"), "{line}");
            }
            families.push((name.to_owned(), kind.to_owned()));
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let name = line.split(['{', ' ']).next().unwrap();
        let (family, kind) = families.last().unwrap_or_else(|| panic!("{line}"));
        let base = match kind.as_str() {
            "histogram" => name
                .strip_suffix("_bucket")
                .or(name.strip_suffix("_sum"))
                .or(name.strip_suffix("_count"))
                .unwrap_or(name),
            _ => name,
        };
        assert_eq!(base, family, "{line}");
        let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        if name.ends_with("_bucket") {
            let series = line.split(",le=").next().unwrap().to_owned();
            if let Some((prev_series, prev)) = &previous_bucket
                && *prev_series == series
            {
                assert!(value >= *prev, "{line}");
            }
            previous_bucket = Some((series, value));
        }
    }
    assert!(text.contains("# HELP seqr_store_wal_fsync_duration_seconds "));
}

#[test]
fn server_metrics_are_seqs_per_minute_figures() {
    let server = TestServer::start(Default::default());
    let batch = [EVENT; 5].join("\n");
    assert_eq!(server.request("POST", "/ingest/clef", &batch).0, 201);
    assert_eq!(server.request("POST", "/ingest/clef", "nope").0, 400);
    assert_eq!(get(&server, None, "/api/events/signal").0, 200);
    let (status, _, body) = get(&server, None, "/api/diagnostics/metrics");
    assert_eq!(status, 200, "{body}");
    let m = json_of(&body);
    // Less than a minute up: the rate so far, scaled to a minute, is at least what arrived.
    assert!(
        m["InputArrivedEventsPerMinute"].as_u64().unwrap() >= 5,
        "{m}"
    );
    assert!(
        m["InputIngestedEventsPerMinute"].as_u64().unwrap() >= 5,
        "{m}"
    );
    assert!(
        m["InputIngestedBytesPerMinute"].as_u64().unwrap() >= batch.len() as u64,
        "{m}"
    );
    assert!(m["InvalidPayloadsPerMinute"].as_u64().unwrap() >= 1, "{m}");
    assert_eq!(m["HttpUnauthorizedPayloadsPerMinute"], 0, "{m}");
    assert!(m["QueriesPerMinute"].as_u64().unwrap() >= 1, "{m}");
    assert!(
        m["EventStoreDiskRemainingBytes"].as_u64().unwrap() > 0,
        "{m}"
    );
    assert!(m["ProcessThreads"].as_u64().unwrap() >= 2, "{m}");
    let uptime = m["ProcessUptime"].as_str().unwrap();
    assert!(uptime.starts_with("00:00:"), "a .NET TimeSpan: {uptime}");
    assert!(
        m["EventStoreWriteTimeLastMinute"]
            .as_str()
            .unwrap()
            .starts_with("00:00:"),
        "{m}"
    );
    assert!(m["EventStoreIndexingTimeLastDay"].is_string(), "{m}");
}

/// The ingestion log as JSON entries, read with `key`.
fn ingestion_log(server: &TestServer, key: &str) -> Vec<Value> {
    let (status, head, body) = get(server, Some(key), "/api/diagnostics/ingestion?format=json");
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("application/json"), "{head}");
    json_of(&body).as_array().unwrap().clone()
}

#[test]
fn the_ingestion_log_shows_refused_payloads_one_line_each() {
    // Listening on every interface: ingestion needs a key, so a keyless request is refused.
    let server = TestServer::start_custom("0.0.0.0", tempfile::tempdir().unwrap(), |c| {
        c.authentication = true;
        c.limits.max_event_bytes = 2000;
    });
    let admin = create_key(&server, PermissionSet::of(&[Permission::System]));
    let ingest = create_key(&server, PermissionSet::of(&[Permission::Ingest]));
    let with_key = [("X-Seq-ApiKey", ingest.as_str())];
    let post = |path: &str, headers: &[(&str, &str)], body: &str| {
        server.request_with("POST", path, headers, body).0
    };
    assert_eq!(
        post("/ingest/clef", &with_key, EVENT),
        201,
        "a good request"
    );
    assert_eq!(
        post("/api/events/raw", &with_key, "{\"Events\": [oops"),
        400
    );
    let bad_line = format!("{EVENT}\n{{\"@mt\":\"no timestamp\"}}");
    assert_eq!(post("/ingest/clef", &with_key, &bad_line), 400);
    let oversized = format!(
        r#"{{"@t":"2026-01-01T00:00:00Z","@mt":"big","P":"{}"}}"#,
        "x".repeat(3000)
    );
    let status = post("/ingest/clef", &with_key, &oversized);
    assert!(status == 400 || status == 413, "{status}");
    assert_eq!(post("/ingest/clef", &[], EVENT), 401, "no key");
    let forged =
        "x\n2026-01-01T00:00:00Z Rejecting payload from 6.6.6.6 (clef, API key none) due to fake";
    assert_eq!(post("/ingest/clef", &with_key, forged), 400);

    let entries = ingestion_log(&server, &admin);
    let reasons: Vec<&str> = entries
        .iter()
        .map(|e| e["Reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "invalid_payload",
            "invalid_payload",
            "oversized",
            "unauthorized",
            "invalid_payload"
        ],
        "{entries:#?}"
    );
    let ingest_key_id = seqr_meta::apikeys::list(&crate::meta(&server))
        .unwrap()
        .into_iter()
        .find(|k| k.token_prefix.as_deref() == seqr_meta::token::prefix_of(&ingest))
        .unwrap()
        .id;
    for e in &entries {
        assert_eq!(e["ClientAddress"], "127.0.0.1", "{e}");
        assert!(e["Timestamp"].as_str().unwrap().ends_with('Z'), "{e}");
        assert!(!e.to_string().contains(&ingest), "never the token: {e}");
    }
    assert_eq!(entries[0]["Input"], "legacy_json");
    assert_eq!(entries[0]["ApiKey"], ingest_key_id.as_str());
    assert_eq!(entries[0]["Payload"], "{\"Events\": [oops");
    assert_eq!(entries[1]["Input"], "clef");
    assert!(
        entries[1]["Payload"]
            .as_str()
            .unwrap()
            .contains("\\n{\"@mt\""),
        "{}",
        entries[1]
    );
    assert_eq!(
        entries[2]["Payload"].as_str().unwrap().chars().count(),
        1025,
        "1024 and an ellipsis"
    );
    assert_eq!(entries[3]["ApiKey"], "none");
    assert_eq!(
        entries[3]["Payload"], "",
        "a refused caller's body is not read"
    );
    // What the client was told is what the log says.
    let (_, _, told) = server.request_with("POST", "/ingest/clef", &with_key, "{not json");
    let told = json_of(&told)["Error"].as_str().unwrap().to_owned();
    let entries = ingestion_log(&server, &admin);
    assert_eq!(entries.last().unwrap()["Message"], told.as_str());

    let (status, head, text) = get(&server, Some(&admin), "/api/diagnostics/ingestion");
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/plain"), "{head}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        6,
        "one line per refusal, the forged one too:\n{text}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.contains(" Rejecting payload from 127.0.0.1 (")),
        "{text}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("2026-01-01T00:00:00Z")),
        "the payload's newline is escaped:\n{text}"
    );
    assert!(
        text.contains("x\\n2026-01-01T00:00:00Z Rejecting payload from 6.6.6.6"),
        "{text}"
    );
    assert!(
        lines[0].contains("due to invalid payload: "),
        "{}",
        lines[0]
    );

    // An Ingest key cannot read it.
    assert_eq!(
        get(&server, Some(&ingest), "/api/diagnostics/ingestion").0,
        403
    );

    // Bounded: the newest 256 stay.
    for i in 0..300 {
        post("/ingest/clef", &with_key, &format!("bad {i}"));
    }
    let entries = ingestion_log(&server, &admin);
    assert_eq!(entries.len(), 256);
    assert_eq!(entries.last().unwrap()["Payload"], "bad 299");
    assert_eq!(entries[0]["Payload"], "bad 44");
}

#[test]
fn listeners_log_their_malformed_messages_with_the_sender() {
    let port = free_port(true);
    let server = TestServer::start_custom("127.0.0.1", tempfile::tempdir().unwrap(), |c| {
        c.inputs = vec![input_listener(InputKind::GelfUdp, port)];
    });
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(b"{\"short_message\": broken", ("127.0.0.1", port))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let entries = loop {
        let (_, _, body) = get(&server, None, "/api/diagnostics/ingestion?format=json");
        let entries = json_of(&body).as_array().unwrap().clone();
        if !entries.is_empty() || Instant::now() > deadline {
            break entries;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(entries.len(), 1, "{entries:#?}");
    assert_eq!(entries[0]["Input"], "gelf_udp");
    assert_eq!(entries[0]["Reason"], "malformed");
    assert_eq!(entries[0]["ClientAddress"], "127.0.0.1");
    assert_eq!(entries[0]["Payload"], "{\"short_message\": broken");
    let (_, _, text) = get(&server, None, "/metrics");
    assert_eq!(
        sample(
            &text,
            &format!(
                "seqr_input_malformed_total{{input=\"gelf_udp\",address=\"127.0.0.1:{port}\"}}"
            )
        ),
        Some(1.0),
        "{text}"
    );
}

fn status_messages(server: &TestServer, key: Option<&str>) -> Vec<Value> {
    let (status, _, body) = get(server, key, "/api/diagnostics/status");
    assert_eq!(status, 200, "{body}");
    json_of(&body)["StatusMessages"].as_array().unwrap().clone()
}

#[test]
fn the_status_banner_names_what_an_operator_should_fix() {
    let (store, fault) = faulty_store();
    let server = TestServer::start(store);
    let messages = status_messages(&server, None);
    let text = |ms: &[Value]| serde_json::to_string(ms).unwrap();
    assert!(
        messages.iter().any(|m| m["Level"] == "Warning"
            && m["Message"]
                .as_str()
                .unwrap()
                .contains("Authentication is off")),
        "{}",
        text(&messages)
    );
    assert!(text(&messages).contains("secret key is kept in the data directory"));
    assert!(!text(&messages).contains("stopped accepting writes"));

    fault
        .fail_sync
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(server.request("POST", "/ingest/clef", EVENT).0, 503);
    let messages = status_messages(&server, None);
    assert_eq!(
        messages[0]["Level"],
        "Error",
        "errors first: {}",
        text(&messages)
    );
    assert!(
        messages[0]["Message"]
            .as_str()
            .unwrap()
            .contains("stopped accepting writes"),
        "{}",
        text(&messages)
    );
    // The refusal is in the ingestion log with its own reason.
    let (_, _, body) = get(&server, None, "/api/diagnostics/ingestion?format=json");
    assert_eq!(json_of(&body)[0]["Reason"], "store_failed", "{body}");
}

#[test]
fn the_status_banner_is_readable_with_read_and_tells_keyless_ingestion() {
    let server = TestServer::start_authenticating();
    let reader = create_key(&server, PermissionSet::of(&[Permission::Read]));
    let messages = status_messages(&server, Some(&reader));
    let all = serde_json::to_string(&messages).unwrap();
    assert!(!all.contains("Authentication is off"), "{all}");
    assert!(
        all.contains("without an API key"),
        "loopback-only listening: {all}"
    );
    // A scraper's key: System, sent the way Prometheus' `authorization` setting sends it.
    let system = create_key(&server, PermissionSet::of(&[Permission::System]));
    let bearer = format!("Bearer {system}");
    let (status, _, text) =
        server.request_with("GET", "/metrics", &[("Authorization", &bearer)], "");
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("# TYPE seqr_ingest_events_total counter"),
        "{text}"
    );
    let (status, _, _) = server.request_with(
        "GET",
        "/metrics",
        &[("Authorization", &format!("Bearer {reader}"))],
        "",
    );
    assert_eq!(status, 403, "Read is not enough");
}

#[test]
fn a_listener_over_its_rate_logs_the_drop_once_a_second_at_most() {
    let port = free_port(true);
    let server = TestServer::start_custom("127.0.0.1", tempfile::tempdir().unwrap(), |c| {
        c.inputs = vec![InputListener {
            limits: InputLimits {
                max_events_per_second: Some(1),
                ..Default::default()
            },
            ..input_listener(InputKind::SyslogUdp, port)
        }];
    });
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..20 {
        let frame = format!("<134>app[1]: message {i}");
        udp.send_to(frame.as_bytes(), ("127.0.0.1", port)).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let dropped = loop {
        let (_, _, text) = get(&server, None, "/metrics");
        let series = format!(
            "seqr_input_dropped_rate_total{{input=\"syslog_udp\",address=\"127.0.0.1:{port}\"}}"
        );
        let dropped = sample(&text, &series).unwrap_or(0.0);
        if dropped >= 19.0 || Instant::now() > deadline {
            break dropped;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(dropped, 19.0, "one token, then the limit");
    let (_, _, body) = get(&server, None, "/api/diagnostics/ingestion?format=json");
    let entries = json_of(&body);
    let entries = entries.as_array().unwrap();
    assert_eq!(
        entries.len(),
        1,
        "19 drops within a second, one entry: {entries:#?}"
    );
    assert_eq!(entries[0]["Input"], "syslog_udp");
    assert_eq!(entries[0]["Reason"], "rate_limited");
    assert_eq!(entries[0]["ClientAddress"], "127.0.0.1");
}

#[test]
fn the_status_banner_names_the_outbound_allow_list_only_when_there_is_one() {
    let server = TestServer::start(Default::default());
    let all = serde_json::to_string(&status_messages(&server, None)).unwrap();
    assert!(!all.contains("Outbound"), "{all}");
    let policy = seqr_server::outbound::OutboundPolicy::new(vec![
        "hooks.example.com:443".parse().unwrap(),
        "10.0.0.0/8".parse().unwrap(),
    ]);
    let server = TestServer::start_custom("127.0.0.1", tempfile::tempdir().unwrap(), |c| {
        c.network.outbound = policy;
    });
    let messages = status_messages(&server, None);
    let outbound: Vec<&Value> = messages
        .iter()
        .filter(|m| m["Message"].as_str().unwrap().starts_with("Outbound"))
        .collect();
    assert_eq!(outbound.len(), 1, "{messages:?}");
    assert_eq!(outbound[0]["Level"], "Information");
    assert_eq!(
        outbound[0]["Message"],
        "Outbound connections are allowed to: hooks.example.com:443, 10.0.0.0/8 \
         (--outbound-allow)."
    );
}
