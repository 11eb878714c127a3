//! Every response carries the security headers, including errors and unknown paths.

use crate::TestServer;

#[test]
fn every_response_carries_the_security_headers() {
    let server = TestServer::start(Default::default());
    let requests = [
        ("GET", "/api", ""),
        ("GET", "/health", ""),
        ("GET", "/api/events/signal?count=1", ""),
        ("GET", "/api/events/signal?count=nope", ""),
        ("GET", "/no/such/path", ""),
        (
            "POST",
            "/ingest/clef",
            r#"{"@t":"2026-01-01T00:00:00Z","@mt":"x"}"#,
        ),
        ("POST", "/ingest/clef", "not json"),
        ("DELETE", "/api", ""),
    ];
    for (method, path, body) in requests {
        let (status, head, body) = server.request(method, path, body);
        for expected in [
            "content-security-policy: default-src 'self'; script-src 'self';",
            "frame-ancestors 'none'",
            "x-content-type-options: nosniff",
            "referrer-policy: no-referrer",
        ] {
            assert!(
                head.contains(expected),
                "{method} {path} ({status}) lacks {expected}:\n{head}"
            );
        }
        assert!(!head.contains("unsafe-inline"), "{head}");
        // Error bodies are Seq's JSON shape and never leak internals.
        if status >= 400 {
            assert!(body.starts_with(r#"{"Error":""#), "{method} {path}: {body}");
            assert!(
                !body.contains("/src/") && !body.contains("panicked"),
                "{body}"
            );
        }
    }
}

#[test]
fn extractor_rejections_are_answered_in_seqs_error_shape() {
    use std::io::{Read, Write};
    let server = TestServer::start(Default::default());
    // A body announced as 3 MiB that never arrives: axum's own body extractor rejects it.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        s,
        "PUT /api/settings/setting-instancetitle HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 3145728\r\n\r\n{{\"Value\":"
    )
    .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(status == 400 || status == 413, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    assert!(body.starts_with(r#"{"Error":""#), "{body}");
}
