//! After a failed fsync the server must refuse writes with 503 (retryable) rather than
//! acknowledge events it cannot prove durable, report itself unhealthy, and keep serving reads.

use std::sync::atomic::Ordering;

use crate::{TestServer, faulty_store};

const EVENT: &str = r#"{"@t":"2026-01-01T00:00:00Z","@mt":"Hello {N}","N":1}"#;

#[test]
fn failed_fsync_answers_503_and_stops_accepting_writes() {
    let (options, fault) = faulty_store();
    let server = TestServer::start(options);

    let (status, _, body) = server.request("POST", "/ingest/clef", EVENT);
    assert_eq!(
        (status, body.as_str()),
        (201, r#"{"MinimumLevelAccepted":null}"#)
    );
    assert_eq!(server.request("GET", "/health", "").0, 200);

    fault.fail_sync.store(true, Ordering::SeqCst);
    let (status, head, body) = server.request("POST", "/ingest/clef", EVENT);
    assert_eq!(status, 503, "{body}");
    assert!(head.contains("retry-after:"), "{head}");
    assert!(
        body.starts_with(r#"{"Error":"#) && body.contains("storage failure"),
        "{body}"
    );

    // Even once the disk "recovers", the store stays poisoned until a restart: after a failed
    // fsync the page cache cannot be trusted.
    fault.fail_sync.store(false, Ordering::SeqCst);
    let (status, _, _) = server.request("POST", "/ingest/clef", EVENT);
    assert_eq!(status, 503);
    let (status, _, body) = server.request("GET", "/health", "");
    assert_eq!(status, 503, "{body}");
    let (status, _, body) = server.request("GET", "/ready", "");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("storage failure"), "{body}");

    // Reads still work, and show only the acknowledged event.
    let (status, _, body) = server.request("GET", "/api/events/signal?count=10", "");
    assert_eq!(status, 200);
    assert_eq!(body.matches("\"Id\":\"event-").count(), 1, "{body}");
}
