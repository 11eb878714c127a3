//! seqr's own log: CLEF lines on stderr with `--log-format json`, and `--self-log` storing its
//! own events so they can be searched through the API.

use std::ffi::OsStr;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Server, TestDir, get, post, property};

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn search(port: u16, filter: &str) -> Vec<Value> {
    let target = format!(
        "/api/events/signal?render=true&filter={}",
        url_encode(filter)
    );
    let resp = get(port, &target).unwrap();
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()["Events"].as_array().unwrap().clone()
}

/// Polls until something matches `filter` (self-log events are stored asynchronously).
fn wait_for(port: u16, filter: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = search(port, filter);
        if !events.is_empty() || Instant::now() > deadline {
            return events;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn json_log_lines_are_clef() {
    let dir = TestDir::new();
    let server = Server::try_start_with(
        &dir.storage(),
        &dir.log(),
        &[OsStr::new("--log-format"), OsStr::new("json")],
    )
    .unwrap();
    // The log line follows the `Listening on` announcement the harness waits for.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stderr = server.stderr();
    while !stderr.contains(r#""@m":"listening""#) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        stderr = server.stderr();
    }
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let warning = lines
        .iter()
        .find(|l| {
            l["@l"] == "Warning" && l["@m"].as_str().unwrap().contains("AUTHENTICATION IS OFF")
        })
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(warning["@t"].as_str().unwrap().ends_with('Z'), "{warning}");
    assert_eq!(warning["Application"], "seqr");
    let listening = lines
        .iter()
        .find(|l| l["@m"] == "listening")
        .unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(listening["@l"], "Information");
    assert!(
        listening["address"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:"),
        "{listening}"
    );
}

#[test]
fn self_log_stores_seqrs_own_warnings_as_searchable_events() {
    let dir = TestDir::new();
    let server =
        Server::try_start_with(&dir.storage(), &dir.log(), &[OsStr::new("--self-log")]).unwrap();
    // `--no-authentication` (as the suite starts every server) logs a warning at start-up,
    // before the store is open: it waits in the queue and is stored once the server runs.
    let events = wait_for(
        server.port,
        "Application = 'seqr' and @Level = 'Warning' and @Message like '%AUTHENTICATION IS OFF%'",
    );
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(
        property(&events[0], "SourceContext"),
        Some(Value::from("seqr_server::serve"))
    );
    // Information events are stored too, with their fields as properties.
    let listening = wait_for(
        server.port,
        "Application = 'seqr' and @Message = 'listening'",
    );
    assert_eq!(listening.len(), 1, "{listening:#?}");
    assert!(
        property(&listening[0], "address").is_some(),
        "{listening:#?}"
    );
    // Ordinary ingestion still works beside it, and is not mistaken for seqr's own.
    let resp = post(
        server.port,
        "/ingest/clef",
        None,
        br#"{"@t":"2026-01-01T00:00:00Z","@mt":"theirs"}"#,
    )
    .unwrap();
    assert_eq!(resp.status, 201, "{}", resp.text());
    assert!(search(server.port, "Application = 'seqr' and @Message = 'theirs'").is_empty());
    let metrics = get(server.port, "/metrics").unwrap().text();
    assert!(
        metrics.lines().any(
            |l| l.starts_with("seqr_ingest_events_total{input=\"self_log\"} ")
                && !l.ends_with(" 0")
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("\nseqr_self_log_dropped_total 0\n"),
        "{metrics}"
    );
}

#[test]
fn without_self_log_nothing_of_seqrs_own_is_stored() {
    let (_dir, server) = TestDir::fresh();
    std::thread::sleep(Duration::from_millis(300));
    assert!(search(server.port, "Application = 'seqr'").is_empty());
}
