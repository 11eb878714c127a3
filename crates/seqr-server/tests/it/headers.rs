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
