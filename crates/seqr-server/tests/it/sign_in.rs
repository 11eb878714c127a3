//! Signing in and out against a real server: the session cookie, CSRF, throttling, the forced
//! password change, and what reaches the disk and the audit log.

use std::time::Duration;

use seqr_meta::audit::{self, AuditOutcome};
use seqr_meta::roles;
use serde_json::Value;

use crate::{PASSWORD, TestServer, create_user, credentials, files_containing, meta, sign_in};

#[test]
fn a_session_reads_and_needs_the_csrf_token_to_change_anything() {
    let server = TestServer::start_authenticating();
    let alice = create_user(&server, "alice", &[roles::USER_READ_WRITE_INGEST], false);

    let (session, entity) = sign_in(&server, "Alice", PASSWORD);
    assert_eq!(entity["Id"], alice.as_str());
    assert_eq!(entity["Username"], "alice");
    assert_eq!(entity["RoleIds"], serde_json::json!(["role-user"]));
    assert_eq!(entity["MustChangePassword"], false);
    assert_eq!(entity["Links"]["Self"], format!("api/users/{alice}"));
    let text = entity.to_string();
    assert!(
        !text.contains("argon2") && !text.to_lowercase().contains("hash"),
        "{text}"
    );

    let cookie = [("Cookie", session.cookie.as_str())];
    let (status, _, body) = server.request_with("GET", "/api/events/signal", &cookie, "");
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = server.request_with("GET", "/api/users/current", &cookie, "");
    assert_eq!(status, 200, "{body}");
    let current: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(current["Id"], alice.as_str());
    assert!(current.get("CsrfToken").is_none(), "{body}");
    let (status, _, body) = server.request("GET", "/api/users/current", "");
    assert_eq!(status, 401, "{body}");
    assert!(body.starts_with(r#"{"Error":"#), "{body}");

    // State-changing requests by cookie need the token, and a browser must say same-origin.
    let (status, _, body) = server.request_with("POST", "/api/events/signal", &cookie, "{}");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("X-Seq-CsrfToken"), "{body}");
    let with_token = [
        ("Cookie", session.cookie.as_str()),
        ("X-Seq-CsrfToken", session.csrf.as_str()),
    ];
    let (status, _, body) = server.request_with("POST", "/api/events/signal", &with_token, "{}");
    assert_eq!(status, 200, "{body}");
    let wrong_token = [
        ("Cookie", session.cookie.as_str()),
        ("X-Seq-CsrfToken", "not-the-token"),
    ];
    let (status, _, _) = server.request_with("POST", "/api/events/signal", &wrong_token, "{}");
    assert_eq!(status, 403);
    let same_origin = [
        ("Cookie", session.cookie.as_str()),
        ("X-Seq-CsrfToken", session.csrf.as_str()),
        ("Origin", "http://127.0.0.1"),
        ("Sec-Fetch-Site", "same-origin"),
    ];
    let (status, _, body) = server.request_with("POST", "/api/events/signal", &same_origin, "{}");
    assert_eq!(status, 200, "{body}");
    let cross_site = [
        ("Cookie", session.cookie.as_str()),
        ("X-Seq-CsrfToken", session.csrf.as_str()),
        ("Origin", "https://evil.example"),
    ];
    let (status, _, body) = server.request_with("POST", "/api/events/signal", &cross_site, "{}");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Cross-origin"), "{body}");

    // Signing out ends the session; signing out again is harmless.
    let (status, head, body) = server.request_with("POST", "/api/users/logout", &cookie, "");
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("set-cookie: seqr-session=;"), "{head}");
    assert!(head.contains("max-age=0"), "{head}");
    let (status, _, body) = server.request_with("GET", "/api/events/signal", &cookie, "");
    assert_eq!(status, 401, "{body}");
    let (status, _, _) = server.request_with("GET", "/api/users/current", &cookie, "");
    assert_eq!(status, 401);
    let (status, _, _) = server.request("POST", "/api/users/logout", "");
    assert_eq!(status, 200);
}

#[test]
fn ingestion_ignores_session_cookies() {
    // Listening beyond loopback: ingestion needs an Ingest key.
    let server = TestServer::start_authenticating_on_all_interfaces();
    create_user(&server, "alice", &[roles::USER_READ_WRITE_INGEST], false);
    let (session, _) = sign_in(&server, "alice", PASSWORD);
    let headers = [
        ("Cookie", session.cookie.as_str()),
        ("X-Seq-CsrfToken", session.csrf.as_str()),
    ];
    let event = r#"{"@t":"2026-01-01T00:00:00Z","@mt":"x"}"#;
    let (status, _, body) = server.request_with("POST", "/api/events/raw?clef", &headers, event);
    assert_eq!(
        status, 401,
        "a cookie holding Ingest must not write events: {body}"
    );
    let (status, _, body) = server.request_with("GET", "/api/events/signal", &headers, "");
    assert_eq!(status, 200, "the same cookie reads: {body}");
}

#[test]
fn failures_look_alike_and_are_throttled_until_the_delay_passes() {
    let server = TestServer::start_authenticating();
    create_user(&server, "alice", &[roles::USER_READ_ONLY], false);

    let wrong = server.request(
        "POST",
        "/api/users/login",
        &credentials("alice", "wrong password!"),
    );
    let unknown = server.request(
        "POST",
        "/api/users/login",
        &credentials("mallory", PASSWORD),
    );
    assert_eq!(wrong.0, 401, "{}", wrong.2);
    assert_eq!(unknown.0, 401, "{}", unknown.2);
    assert_eq!(wrong.2, unknown.2);
    assert_eq!(wrong.2, r#"{"Error":"Invalid username or password."}"#);
    assert!(!wrong.1.contains("set-cookie"), "{}", wrong.1);

    // Five free failures, then growing delays answered with 429 before any password check.
    let mut throttled = None;
    for _ in 0..10 {
        let (status, head, body) = server.request(
            "POST",
            "/api/users/login",
            &credentials("alice", "still wrong!!"),
        );
        if status == 429 {
            throttled = Some((head, body));
            break;
        }
        assert_eq!(status, 401, "{body}");
    }
    let (head, body) = throttled.expect("repeated failures are throttled");
    assert!(head.contains("retry-after: "), "{head}");
    assert!(body.starts_with(r#"{"Error":"#), "{body}");
    let (status, _, _) =
        server.request("POST", "/api/users/login", &credentials("alice", PASSWORD));
    assert_eq!(status, 429, "even the right password waits");

    std::thread::sleep(Duration::from_millis(500));
    sign_in(&server, "alice", PASSWORD);
}

#[test]
fn a_required_password_change_happens_at_sign_in() {
    let server = TestServer::start_authenticating();
    create_user(&server, "bob", &[roles::USER_READ_ONLY], true);

    let (status, head, body) =
        server.request("POST", "/api/users/login", &credentials("bob", PASSWORD));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("NewPassword"), "{body}");
    assert!(!head.contains("set-cookie"), "{head}");

    let change = |new: &str| {
        serde_json::json!({ "Username": "bob", "Password": PASSWORD, "NewPassword": new })
            .to_string()
    };
    let (status, _, body) = server.request("POST", "/api/users/login", &change("short"));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("at least 12"), "{body}");
    let (status, _, body) = server.request("POST", "/api/users/login", &change(PASSWORD));
    assert_eq!(status, 400, "{body}");

    let body = change("a much better passphrase");
    let (status, head, body) = server.request_exact("POST", "/api/users/login", &[], &body);
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("seqr-session="), "{head}");
    let entity: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(entity["MustChangePassword"], false);

    let (status, _, _) = server.request("POST", "/api/users/login", &credentials("bob", PASSWORD));
    assert_eq!(status, 401, "the old password no longer works");
    sign_in(&server, "bob", "a much better passphrase");
}

/// Every file under `dir` (recursively) containing `needle`.
#[test]
fn secrets_never_reach_the_disk_and_every_outcome_is_audited() {
    let server = TestServer::start_authenticating();
    let alice = create_user(&server, "alice", &[roles::USER_READ_ONLY], false);
    let nobody = create_user(&server, "carol", &[], false);

    let (status, _, _) = server.request(
        "POST",
        "/api/users/login",
        &credentials("alice", "wrong password!"),
    );
    assert_eq!(status, 401);
    let (session, _) = sign_in(&server, "alice", PASSWORD);
    let (carol, _) = sign_in(&server, "carol", PASSWORD);
    let (status, _, body) = server.request_with(
        "GET",
        "/api/events/signal",
        &[("Cookie", carol.cookie.as_str())],
        "",
    );
    assert_eq!(status, 403, "no roles, no Read: {body}");
    let (status, _, _) = server.request_with(
        "POST",
        "/api/users/logout",
        &[("Cookie", session.cookie.as_str())],
        "",
    );
    assert_eq!(status, 200);

    for secret in [PASSWORD, &session.id, &session.csrf, &carol.id, &carol.csrf] {
        let hits = files_containing(server.dir.path(), secret.as_bytes());
        assert!(hits.is_empty(), "{secret:?} found in {hits:?}");
    }

    let db = meta(&server);
    let records = audit::list(&db, 0, 1000).unwrap();
    let has =
        |action: &str, outcome: AuditOutcome, principal: Option<&str>, target: Option<&str>| {
            records.iter().any(|r| {
                r.action == action
                    && r.outcome == outcome
                    && r.principal.as_deref() == principal
                    && r.target.as_deref() == target
            })
        };
    assert!(
        has("user.login", AuditOutcome::Failure, None, Some(&alice)),
        "{records:#?}"
    );
    assert!(
        has(
            "user.login",
            AuditOutcome::Success,
            Some(&alice),
            Some(&alice)
        ),
        "{records:#?}"
    );
    assert!(
        has(
            "user.logout",
            AuditOutcome::Success,
            Some(&alice),
            Some(&alice)
        ),
        "{records:#?}"
    );
    assert!(
        has(
            "access.denied",
            AuditOutcome::Denied,
            Some(&nobody),
            Some("/api/events/signal")
        ),
        "{records:#?}"
    );
    let text = format!("{records:?}");
    assert!(
        !text.contains(PASSWORD) && !text.contains("wrong password!"),
        "{text}"
    );
    let report = audit::verify(&db).unwrap();
    assert_eq!(report.records, records.len() as u64);
}
