//! `GET /health` stays 200 when damaged parts were quarantined (the node keeps serving the
//! rest) but says so, with a machine-readable count.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{TestServer, json_of};

/// Two events on 2026-01-01 and one on 2026-01-03: two day partitions once flushed.
const BATCH: &str = concat!(
    r#"{"@t":"2026-01-01T00:00:00Z","@mt":"first {N}","N":1}"#,
    "\n",
    r#"{"@t":"2026-01-01T00:00:01Z","@mt":"first {N}","N":2}"#,
    "\n",
    r#"{"@t":"2026-01-03T00:00:00Z","@mt":"third {N}","N":3}"#,
);

/// Part files under `<storage>/events/p-YYYYMMDD/`, sorted by path (oldest day first).
fn part_files(storage: &Path) -> Vec<PathBuf> {
    let events = storage.join("events");
    let mut parts: Vec<PathBuf> = fs::read_dir(&events)
        .unwrap_or_else(|e| panic!("{}: {e}", events.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("p-"))
        })
        .flat_map(|d| fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| p.extension().is_some_and(|e| e == "part"))
        .collect();
    parts.sort();
    parts
}

fn health(server: &TestServer) -> (u16, serde_json::Value) {
    let (status, _, body) = server.request("GET", "/health", "");
    (status, json_of(&body))
}

#[test]
fn a_healthy_node_reports_no_quarantine() {
    let server = TestServer::start(Default::default());
    let (status, body) = health(&server);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        serde_json::json!({ "status": "The seqr node is in service." })
    );
    let (ready_status, head, ready) = server.request("GET", "/ready", "");
    assert_eq!((ready_status, ready.as_str()), (200, "ready\n"));
    assert!(head.contains("content-type: text/plain"), "{head}");
    assert!(body.get("quarantinedFiles").is_none(), "{body}");
}

#[test]
fn a_quarantined_part_is_reported_while_the_node_stays_in_service() {
    let server = TestServer::start(Default::default());
    let (status, _, body) = server.request("POST", "/api/events/raw?clef", BATCH);
    assert_eq!(status, 201, "{body}");

    // Stopping the server flushes the memtables into day partitions; the restarted server
    // opens them cleanly.
    let server = server.restart(|c| c.authentication = false);
    let (status, body) = health(&server);
    assert_eq!(status, 200, "{body}");
    assert!(body.get("quarantinedFiles").is_none(), "{body}");

    // Stop the server, keeping its storage, and damage the 2026-01-01 part.
    let mut server = server;
    let storage = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    drop(server);
    let parts = part_files(storage.path());
    assert_eq!(parts.len(), 2, "one part per day: {parts:?}");
    let victim = &parts[0];
    let mut bytes = fs::read(victim).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    fs::write(victim, &bytes).unwrap();

    // Opening the store finds the damage and moves the part aside.
    let server = TestServer::start_custom("127.0.0.1", storage, |_| {});
    assert!(!victim.exists(), "the damaged part was moved aside");
    let quarantine = server.dir.path().join("events").join("quarantine");
    assert_eq!(fs::read_dir(&quarantine).unwrap().count(), 1);

    let (status, body) = health(&server);
    assert_eq!(
        status, 200,
        "damage to one part does not stop the node: {body}"
    );
    assert_eq!(body["quarantinedFiles"], 1, "{body}");
    assert_eq!(
        body["status"],
        "The seqr node is in service; 1 damaged storage file was moved to quarantine \
         (see the server log and api/diagnostics/storage).",
    );

    // The rest of the store keeps serving.
    let (status, _, body) = server.request("GET", "/api/events/signal?count=10", "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.matches("\"Id\":\"event-").count(), 1, "{body}");
    assert!(body.contains("third"), "{body}");
    assert!(!body.contains("first"), "{body}");
}
