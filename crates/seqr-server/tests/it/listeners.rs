//! The HTTP listeners' other settings, over real sockets: the ingestion-only listener, trusted
//! proxies' forwarding headers, CORS, the base URI's path prefix, and the connection and
//! request-body limits.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use seqr_server::ListenAddr;

use crate::TestServer;
use crate::tls::{exchange, plain_request};

#[test]
fn the_ingestion_listener_serves_ingestion_and_health_only() {
    let ingest_port = crate::free_port(false);
    let server = TestServer::start_custom("127.0.0.1", tempfile::tempdir().unwrap(), |c| {
        c.network.ingest_listen =
            vec![ListenAddr::parse(&format!("127.0.0.1:{ingest_port}")).unwrap()];
    });
    let event = r#"{"@t":"2026-01-02T03:04:05Z","@mt":"via the ingestion port"}"#;
    let mut s = TcpStream::connect(("127.0.0.1", ingest_port)).unwrap();
    let (status, _, body) = exchange(
        &mut s,
        "POST",
        "/api/events/raw?clef",
        &[("Connection", "close")],
        event,
    );
    assert_eq!(status, 201, "{body}");
    for (path, expected) in [
        ("/health", 200),
        ("/ready", 200),
        ("/api/events/signal", 404),
        ("/api", 404),
        ("/", 404),
        ("/api/users/current", 404),
    ] {
        let (status, _, body) = plain_request(ingest_port, "GET", path, &[]);
        assert_eq!(status, expected, "{path}: {body}");
    }
    // The main listener reads what came in through the other.
    let found = crate::search_events(&server, None, "@Message = 'via the ingestion port'");
    assert_eq!(found.len(), 1);
}

#[test]
fn forwarded_headers_count_only_from_trusted_proxies() {
    let trusted = TestServer::start_custom("127.0.0.1", tempfile::tempdir().unwrap(), |c| {
        c.network.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    });
    let untrusted = TestServer::start(Default::default());
    let forwarded = [
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-For", "198.51.100.23"),
    ];
    let (_, head, _) = trusted.request_with("GET", "/health", &forwarded, "");
    assert!(head.contains("strict-transport-security"), "{head}");
    let (_, head, _) = untrusted.request_with("GET", "/health", &forwarded, "");
    assert!(!head.contains("strict-transport-security"), "{head}");
}

#[test]
fn the_audit_log_records_the_forwarded_client_from_a_trusted_proxy() {
    let server = TestServer::start_custom("127.0.0.1", tempfile::tempdir().unwrap(), |c| {
        c.authentication = true;
        c.network.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    });
    crate::create_user(&server, "ada", &["role-administrator"], false);
    let body = r#"{"Username":"ada","Password":"wrong password"}"#;
    let (status, _, _) = server.request_with(
        "POST",
        "/api/users/login",
        &[
            ("Content-Type", "application/json"),
            ("X-Forwarded-For", "203.0.113.5, 198.51.100.23"),
        ],
        body,
    );
    assert_eq!(status, 401);
    let audit = crate::meta(&server);
    let entries = seqr_meta::audit::list(&audit, 0, 100).unwrap();
    let failed = entries
        .iter()
        .find(|e| e.action == "user.login")
        .expect("the failed sign-in is audited");
    assert_eq!(failed.client_address.as_deref(), Some("198.51.100.23"));
}

#[test]
fn cors_answers_preflights_for_allowed_origins_only() {
    let server = TestServer::start_custom("127.0.0.1", tempfile::tempdir().unwrap(), |c| {
        c.network.cors_allowed_origins = vec!["https://app.example".into()];
    });
    let preflight = |origin: &str| {
        server.request_with(
            "OPTIONS",
            "/api/events/raw",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
                (
                    "Access-Control-Request-Headers",
                    "content-type, x-seq-apikey",
                ),
            ],
            "",
        )
    };
    let (status, head, _) = preflight("https://app.example");
    assert_eq!(status, 204, "{head}");
    assert!(
        head.contains("access-control-allow-origin: https://app.example"),
        "{head}"
    );
    assert!(head.contains("access-control-allow-headers:") && head.contains("x-seq-apikey"));
    assert!(!head.contains("access-control-allow-credentials"), "{head}");
    let (status, head, _) = preflight("https://evil.example");
    assert_ne!(status, 204);
    assert!(!head.contains("access-control-allow-origin"), "{head}");

    let event = r#"{"@t":"2026-01-02T03:04:05Z","@mt":"from a browser"}"#;
    let (status, head, _) = server.request_with(
        "POST",
        "/api/events/raw?clef",
        &[("Origin", "https://app.example")],
        event,
    );
    assert_eq!(status, 201);
    assert!(
        head.contains("access-control-allow-origin: https://app.example"),
        "{head}"
    );
}

#[test]
fn a_stalled_request_body_times_out_and_connections_are_capped() {
    let server = TestServer::start_custom("127.0.0.1", tempfile::tempdir().unwrap(), |c| {
        c.network.limits.body_idle_timeout = Duration::from_millis(300);
        c.network.limits.max_connections = 3;
    });
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "POST /api/events/raw?clef HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{{\"@t\":"
    )
    .unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("stopped arriving"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(3));

    // Three idle connections take every permit; a fourth waits until one closes.
    let held: Vec<TcpStream> = (0..3)
        .map(|_| {
            let s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
            // Make sure the server has taken it (a request answered on it).
            let mut s2 = s.try_clone().unwrap();
            let (status, _, _) = exchange(&mut s2, "GET", "/health", &[], "");
            assert_eq!(status, 200);
            s
        })
        .collect();
    let mut waiting = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    write!(
        waiting,
        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut first = [0u8; 1];
    assert!(
        waiting.read(&mut first).is_err(),
        "a connection over the limit is not served yet"
    );
    drop(held);
    waiting
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = String::new();
    waiting.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn a_base_uri_path_is_a_prefix_requests_may_carry_and_the_page_links_under() {
    let server = TestServer::start_custom("127.0.0.1", tempfile::tempdir().unwrap(), |c| {
        c.canonical_uri = Some("https://logs.example/seq/".into());
    });
    for path in ["/seq/health", "/health", "/seq/api", "/api"] {
        let (status, _, body) = server.request("GET", path, "");
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, _, page) = server.request("GET", "/seq/", "");
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"<meta name="seqr-base" content="/seq" />"#),
        "{page}"
    );
    assert!(page.contains(r#"src="/seq/assets/"#), "{page}");
    assert!(!page.contains(r#""/assets/"#), "{page}");
    let asset = page
        .split(r#"src="/seq"#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    let (status, _, _) = server.request("GET", &format!("/seq{asset}"), "");
    assert_eq!(status, 200, "{asset}");
    // Not a prefix of a longer segment.
    let (status, _, _) = server.request("GET", "/sequel/api", "");
    assert_eq!(status, 404);
    // At the root the page has no prefix.
    let plain = TestServer::start(Default::default());
    let (_, _, page) = plain.request("GET", "/", "");
    assert!(
        page.contains(r#"<meta name="seqr-base" content="" />"#),
        "{page}"
    );
    assert!(page.contains(r#"src="/assets/"#), "{page}");
}

#[test]
fn the_metrics_listener_serves_metrics_only_without_sign_in() {
    let metrics_port = crate::free_port(false);
    let server = TestServer::start_custom("127.0.0.1", tempfile::tempdir().unwrap(), |c| {
        c.authentication = true;
        c.network.metrics_listen =
            Some(ListenAddr::parse(&format!("127.0.0.1:{metrics_port}")).unwrap());
    });
    let (status, head, body) = plain_request(metrics_port, "GET", "/metrics", &[]);
    assert_eq!(status, 200, "{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("text/plain; version=0.0.4"),
        "{head}"
    );
    assert!(
        body.contains("# TYPE seqr_process_uptime_seconds gauge"),
        "{body}"
    );
    for path in ["/health", "/api", "/api/events/signal", "/"] {
        let (status, _, _) = plain_request(metrics_port, "GET", path, &[]);
        assert_eq!(status, 404, "{path}");
    }
    // On the main listener /metrics still needs System.
    let (status, _, _) = server.request("GET", "/metrics", "");
    assert_eq!(status, 401);
}
