//! Retention policies (`api/retentionpolicies`), applying them, `DELETE api/events/signal` and
//! `api/diagnostics/storage` over HTTP.

use std::time::Duration;

use seqr_meta::{Permission, PermissionSet, audit, roles};
use seqr_server::RetentionTrigger;
use seqr_types::Timestamp;
use serde_json::{Value, json};

use crate::{
    PASSWORD, TestServer, create_key, create_user, json_of, meta, set_view_filter, sign_in,
};

/// An authenticating server whose retention task runs when the returned trigger asks.
fn start_with_trigger() -> (TestServer, RetentionTrigger) {
    let trigger = RetentionTrigger::default();
    let for_server = trigger.clone();
    let server = TestServer::start_custom("127.0.0.1", tempfile::tempdir().unwrap(), |c| {
        c.authentication = true;
        c.retention.trigger = Some(for_server);
    });
    (server, trigger)
}

fn call(server: &TestServer, key: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let (status, _, body) = server.request_with(method, path, &[("X-Seq-ApiKey", key)], body);
    (status, body)
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Posts CLEF lines `(timestamp, level, message)` without a key (loopback allows it).
fn ingest(server: &TestServer, events: &[(&str, &str, &str)]) {
    let body: Vec<String> = events
        .iter()
        .map(|(t, l, m)| json!({ "@t": t, "@l": l, "@mt": m }).to_string())
        .collect();
    let (status, _, body) = server.request("POST", "/ingest/clef", &body.join("\n"));
    assert_eq!(status, 201, "{body}");
}

/// The rendered messages a search finds, newest first.
fn messages(server: &TestServer, key: &str) -> Vec<String> {
    let (status, body) = call(
        server,
        key,
        "GET",
        "/api/events/signal?count=1000&render=true",
        "",
    );
    assert_eq!(status, 200, "{body}");
    json_of(&body)["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["RenderedMessage"].as_str().unwrap().to_owned())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn audit_records(server: &TestServer, action: &str) -> Vec<audit::AuditRecord> {
    audit::list(&meta(server), 0, 1000)
        .unwrap()
        .into_iter()
        .filter(|r| r.action == action)
        .collect()
}

fn now_iso() -> String {
    Timestamp::now().to_iso()
}

#[test]
fn retention_policies_round_trip_in_seqs_shape() {
    let server = TestServer::start_authenticating();
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);

    let (status, _, body) = server.request("GET", "/api", "");
    assert_eq!(status, 200);
    assert_eq!(
        json_of(&body)["Links"]["RetentionPoliciesResources"],
        "api/retentionpolicies/resources"
    );
    let (status, _, body) = server.request("GET", "/api/retentionpolicies/resources", "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        json_of(&body)["Links"],
        json!({
            "Items": "api/retentionpolicies/",
            "Item": "api/retentionpolicies/{id}",
            "Template": "api/retentionpolicies/template",
        })
    );

    // Seq.Api's flow: template, fill in, POST to the template's Create link.
    let (status, body) = call(
        &server,
        &admin,
        "GET",
        "/api/retentionpolicies/template",
        "",
    );
    assert_eq!(status, 200, "{body}");
    let mut template = json_of(&body);
    assert_eq!(template["Id"], Value::Null);
    assert_eq!(template["RetentionTime"], "30.00:00:00");
    assert_eq!(template["RemovedSignalExpression"], Value::Null);
    assert_eq!(template["DataSource"], "Stream");
    let create = template["Links"]["Create"].as_str().unwrap().to_owned();
    template["RetentionTime"] = json!("7.00:00:00");
    let (status, body) = call(
        &server,
        &admin,
        "POST",
        &format!("/{create}"),
        &template.to_string(),
    );
    assert_eq!(status, 201, "{body}");
    let created = json_of(&body);
    let id = created["Id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("retentionpolicy-"), "{id}");
    assert_eq!(
        created,
        json!({
            "Id": id,
            "RetentionTime": "7.00:00:00",
            "RemovedSignalExpression": null,
            "DataSource": "Stream",
            "Filter": null,
            "Links": { "Self": format!("api/retentionpolicies/{id}") },
        })
    );

    let (status, body) = call(&server, &admin, "GET", "/api/retentionpolicies", "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body), json!([created]));
    let (status, body) = call(
        &server,
        &admin,
        "GET",
        &format!("/api/retentionpolicies/{id}"),
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body), created);

    // Update: PUT the entity back to its Self link, as Seq.Api does.
    let mut changed = created.clone();
    changed["RetentionTime"] = json!("2.12:00:00");
    changed["Filter"] = json!("@Level = 'Debug'");
    let self_link = format!("/{}", created["Links"]["Self"].as_str().unwrap());
    let (status, body) = call(&server, &admin, "PUT", &self_link, &changed.to_string());
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body), changed);
    let (_, body) = call(&server, &admin, "GET", &self_link, "");
    assert_eq!(json_of(&body), changed);

    // Delete with the entity as the body, as Seq.Api does.
    let (status, body) = call(&server, &admin, "DELETE", &self_link, &changed.to_string());
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(&server, &admin, "GET", &self_link, "");
    assert_eq!(status, 404, "{body}");
    let (_, body) = call(&server, &admin, "GET", "/api/retentionpolicies/", "");
    assert_eq!(json_of(&body), json!([]));

    let created_audit = audit_records(&server, "retentionpolicy.create");
    assert_eq!(created_audit.len(), 1);
    assert_eq!(created_audit[0].target.as_deref(), Some(id.as_str()));
    assert_eq!(created_audit[0].detail["RetentionTime"], "7.00:00:00");
    assert!(
        created_audit[0]
            .principal
            .as_deref()
            .unwrap()
            .starts_with("apikey-")
    );
    let updated_audit = audit_records(&server, "retentionpolicy.update");
    assert_eq!(updated_audit.len(), 1);
    assert_eq!(updated_audit[0].detail["Filter"], "@Level = 'Debug'");
    assert_eq!(
        updated_audit[0].detail["Previous"]["RetentionTime"],
        "7.00:00:00"
    );
    let deleted_audit = audit_records(&server, "retentionpolicy.delete");
    assert_eq!(deleted_audit.len(), 1);
    assert_eq!(deleted_audit[0].target.as_deref(), Some(id.as_str()));
    audit::verify(&meta(&server)).unwrap();
}

#[test]
fn retention_policy_validation_errors_are_400_and_unknown_ids_404() {
    let server = TestServer::start_authenticating();
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    for (body, expected) in [
        (json!({}), "needs a `RetentionTime`"),
        (json!({ "RetentionTime": "a week" }), "not a .NET TimeSpan"),
        (json!({ "RetentionTime": 7 }), "must be a string"),
        (json!({ "RetentionTime": "00:00:00" }), "must be positive"),
        (
            json!({ "RetentionTime": "-1.00:00:00" }),
            "must be positive",
        ),
        (
            json!({ "RetentionTime": "40000.00:00:00" }),
            "at most 36500.00:00:00",
        ),
        (
            json!({ "RetentionTime": "1.00:00:00", "RemovedSignalExpression": { "Kind": "Signal", "SignalId": "signal-1" } }),
            "no signals yet",
        ),
        (
            json!({ "RetentionTime": "1.00:00:00", "SignalId": "signal-1" }),
            "no signals yet",
        ),
        (
            json!({ "RetentionTime": "1.00:00:00", "DataSource": "Series" }),
            "no metrics",
        ),
        (
            json!({ "RetentionTime": "1.00:00:00", "Filter": "@Level = " }),
            "position",
        ),
        (
            json!({ "RetentionTime": "1.00:00:00", "Filter": "debug noise" }),
            "tostrict",
        ),
    ] {
        let (status, response) = call(
            &server,
            &admin,
            "POST",
            "/api/retentionpolicies",
            &body.to_string(),
        );
        assert_eq!(status, 400, "{body}: {response}");
        let error = json_of(&response)["Error"].as_str().unwrap().to_owned();
        assert!(error.contains(expected), "{body}: {error}");
    }
    let (status, response) = call(&server, &admin, "POST", "/api/retentionpolicies", "nope");
    assert_eq!(status, 400, "{response}");
    assert!(json_of(&response)["Error"].is_string());

    let policy = json!({ "RetentionTime": "1.00:00:00" }).to_string();
    for id in ["retentionpolicy-99", "retentionpolicy-x", "signal-1"] {
        let path = format!("/api/retentionpolicies/{id}");
        for (method, body) in [("GET", ""), ("PUT", policy.as_str()), ("DELETE", "")] {
            let (status, response) = call(&server, &admin, method, &path, body);
            assert_eq!(status, 404, "{method} {id}: {response}");
            assert!(
                json_of(&response)["Error"]
                    .as_str()
                    .unwrap()
                    .contains("No retention policy"),
                "{response}"
            );
        }
    }
    // A body naming another policy than the path is refused.
    let (_, body) = call(&server, &admin, "POST", "/api/retentionpolicies", &policy);
    let id = json_of(&body)["Id"].as_str().unwrap().to_owned();
    let (status, response) = call(
        &server,
        &admin,
        "PUT",
        &format!("/api/retentionpolicies/{id}"),
        &json!({ "Id": "retentionpolicy-12345", "RetentionTime": "2.00:00:00" }).to_string(),
    );
    assert_eq!(status, 400, "{response}");
    assert!(audit_records(&server, "retentionpolicy.update").is_empty());
}

#[test]
fn retention_policies_need_project() {
    let server = TestServer::start_authenticating();
    let policy = json!({ "RetentionTime": "1.00:00:00" }).to_string();
    let routes = [
        ("GET", "/api/retentionpolicies", ""),
        ("POST", "/api/retentionpolicies", policy.as_str()),
        ("GET", "/api/retentionpolicies/template", ""),
        ("GET", "/api/retentionpolicies/retentionpolicy-1", ""),
        (
            "PUT",
            "/api/retentionpolicies/retentionpolicy-1",
            policy.as_str(),
        ),
        ("DELETE", "/api/retentionpolicies/retentionpolicy-1", ""),
    ];
    let read_write = create_key(
        &server,
        PermissionSet::of(&[Permission::Read, Permission::Write, Permission::Ingest]),
    );
    create_user(&server, "una", &[roles::USER_READ_WRITE_INGEST], false);
    let (user, _) = sign_in(&server, "una", PASSWORD);
    let olga = create_user(&server, "olga", &[roles::PROJECT_OWNER], false);
    let (owner, _) = sign_in(&server, "olga", PASSWORD);
    for (method, path, body) in routes {
        let (status, _, response) = server.request(method, path, body);
        assert_eq!(status, 401, "anonymous {method} {path}: {response}");
        let (status, response) = call(&server, &read_write, method, path, body);
        assert_eq!(status, 403, "{method} {path}: {response}");
        assert!(response.contains("Project"), "{response}");
        let as_user = [
            ("Cookie", user.cookie.as_str()),
            ("X-Seq-CsrfToken", user.csrf.as_str()),
        ];
        let (status, _, response) = server.request_with(method, path, &as_user, body);
        assert_eq!(status, 403, "user {method} {path}: {response}");
    }
    // A Project owner manages them through a session like any administrator.
    let as_owner = [
        ("Cookie", owner.cookie.as_str()),
        ("X-Seq-CsrfToken", owner.csrf.as_str()),
    ];
    let (status, _, response) =
        server.request_with("POST", "/api/retentionpolicies", &as_owner, &policy);
    assert_eq!(status, 201, "{response}");
    let records = audit_records(&server, "retentionpolicy.create");
    assert_eq!(records[0].principal.as_deref(), Some(olga.as_str()));
    let (status, _, response) = server.request_with("GET", "/api/retentionpolicies", &as_owner, "");
    assert_eq!(status, 200, "{response}");
}

#[test]
fn a_policy_removes_events_older_than_its_retention_time() {
    let (server, trigger) = start_with_trigger();
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let now = now_iso();
    ingest(
        &server,
        &[
            ("2020-01-01T00:00:00Z", "Information", "old one"),
            ("2020-06-01T00:00:00Z", "Error", "old two"),
            (&now, "Information", "new one"),
        ],
    );
    // Without a policy a run removes nothing.
    assert!(trigger.run_now(Duration::from_secs(30)));
    assert_eq!(messages(&server, &admin).len(), 3);

    let (status, body) = call(
        &server,
        &admin,
        "POST",
        "/api/retentionpolicies",
        &json!({ "RetentionTime": "30.00:00:00" }).to_string(),
    );
    assert_eq!(status, 201, "{body}");
    assert!(trigger.run_now(Duration::from_secs(30)));
    assert_eq!(messages(&server, &admin), ["new one"]);

    // Later runs keep applying it, to events that arrive late with old timestamps too.
    ingest(
        &server,
        &[("2021-01-01T00:00:00Z", "Information", "late and old")],
    );
    assert!(trigger.run_now(Duration::from_secs(30)));
    assert_eq!(messages(&server, &admin), ["new one"]);
}

#[test]
fn a_filtered_policy_removes_only_matching_events() {
    let (server, trigger) = start_with_trigger();
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let now = now_iso();
    ingest(
        &server,
        &[
            ("2020-01-01T00:00:00Z", "Debug", "old debug"),
            ("2020-01-01T00:00:01Z", "Error", "old error"),
            ("2020-01-02T00:00:00Z", "Debug", "older debug"),
            (&now, "Debug", "new debug"),
        ],
    );
    let (status, body) = call(
        &server,
        &admin,
        "POST",
        "/api/retentionpolicies",
        &json!({ "RetentionTime": "2.00:00:00", "Filter": "@Level = 'Debug'" }).to_string(),
    );
    assert_eq!(status, 201, "{body}");
    assert!(trigger.run_now(Duration::from_secs(30)));
    assert_eq!(
        sorted(messages(&server, &admin)),
        ["new debug", "old error"]
    );
}

#[test]
fn deleting_events_removes_only_matching_ones_and_is_audited() {
    let server = TestServer::start_authenticating();
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    ingest(
        &server,
        &[
            ("2026-01-01T00:00:00Z", "Information", "keep a"),
            ("2026-01-01T00:00:01Z", "Error", "drop a"),
            ("2026-01-02T00:00:00Z", "Error", "drop b"),
            ("2026-01-03T00:00:00Z", "Error", "outside the range"),
        ],
    );
    let (status, _, body) = server.request("GET", "/api/events/resources", "");
    assert_eq!(status, 200);
    assert_eq!(
        json_of(&body)["Links"]["DeleteInSignal"],
        "api/events/signal{?signal,filter,fromDateUtc,toDateUtc}"
    );

    let path = format!(
        "/api/events/signal?filter={}&fromDateUtc=2026-01-01T00:00:00.0000000Z&toDateUtc=2026-01-03T00:00:00.0000000Z",
        encode("@Level = 'Error'")
    );
    // Seq.Api sends an evaluation context as the body.
    let (status, body) = call(&server, &admin, "DELETE", &path, r#"{"Signal":null}"#);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "{}");
    assert_eq!(
        sorted(messages(&server, &admin)),
        ["keep a", "outside the range"]
    );
    let records = audit_records(&server, "events.delete");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].detail["Filter"], "@Level = 'Error'");
    assert_eq!(records[0].detail["Events"], 2);
    assert_eq!(
        records[0].detail["ToDateUtc"],
        "2026-01-03T00:00:00.0000000Z"
    );
    assert_eq!(records[0].outcome, audit::AuditOutcome::Success);

    // Refusals: signals, paging parameters, bad filters, unsaved signals; nothing is deleted.
    for (path, body) in [
        ("/api/events/signal?signal=signal-1", ""),
        ("/api/events/signal?count=1", ""),
        ("/api/events/signal?filter=%40Level%20%3D", ""),
        (
            "/api/events/signal",
            r#"{"Signal":{"Filters":[{"Filter":"@Level = 'Error'"}]}}"#,
        ),
    ] {
        let (status, response) = call(&server, &admin, "DELETE", path, body);
        assert_eq!(status, 400, "{path}: {response}");
    }
    assert_eq!(messages(&server, &admin).len(), 2);
    // Read and Write are not enough.
    let writer = create_key(
        &server,
        PermissionSet::of(&[Permission::Read, Permission::Write]),
    );
    let (status, response) = call(&server, &writer, "DELETE", "/api/events/signal", "");
    assert_eq!(status, 403, "{response}");
    let (status, _, response) = server.request("DELETE", "/api/events/signal", "");
    assert_eq!(status, 401, "{response}");
    assert_eq!(messages(&server, &admin).len(), 2);
    assert_eq!(audit_records(&server, "events.delete").len(), 1);
}

#[test]
fn deleting_events_respects_the_view_filter() {
    let server = TestServer::start_authenticating();
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let owner = create_user(&server, "vera", &[roles::PROJECT_OWNER], false);
    set_view_filter(&server, &owner, "Team = 'a'");
    let batch = [
        json!({ "@t": "2026-01-01T00:00:00Z", "@mt": "a one", "Team": "a" }),
        json!({ "@t": "2026-01-01T00:00:01Z", "@mt": "b one", "Team": "b" }),
        json!({ "@t": "2026-01-01T00:00:02Z", "@mt": "a two", "Team": "a" }),
        json!({ "@t": "2026-01-01T00:00:03Z", "@mt": "none" }),
    ]
    .iter()
    .map(Value::to_string)
    .collect::<Vec<_>>()
    .join("\n");
    assert_eq!(server.request("POST", "/ingest/clef", &batch).0, 201);

    let (session, _) = sign_in(&server, "vera", PASSWORD);
    let headers = [
        ("Cookie", session.cookie.as_str()),
        ("X-Seq-CsrfToken", session.csrf.as_str()),
    ];
    // No filter at all: everything the user can see, and nothing else.
    let (status, _, body) = server.request_with("DELETE", "/api/events/signal", &headers, "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(sorted(messages(&server, &admin)), ["b one", "none"]);
    let records = audit_records(&server, "events.delete");
    assert_eq!(records[0].detail["Events"], 2);
    assert_eq!(records[0].detail["ViewFilter"], "Team = 'a'");
    assert_eq!(records[0].principal.as_deref(), Some(owner.as_str()));
    // A filter naming another team deletes nothing it cannot see.
    let (status, _, body) = server.request_with(
        "DELETE",
        &format!("/api/events/signal?filter={}", encode("Team = 'b'")),
        &headers,
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(sorted(messages(&server, &admin)), ["b one", "none"]);
    // Without the CSRF token a session cannot delete.
    let (status, _, _) = server.request_with(
        "DELETE",
        "/api/events/signal",
        &[("Cookie", session.cookie.as_str())],
        "",
    );
    assert_eq!(status, 403);
    assert_eq!(messages(&server, &admin).len(), 2);
}

#[test]
fn storage_diagnostics_report_what_was_ingested_per_day() {
    let server = TestServer::start_authenticating();
    ingest(
        &server,
        &[
            ("2026-01-01T01:00:00Z", "Information", "d1 a"),
            ("2026-01-01T02:00:00Z", "Information", "d1 b"),
            ("2026-01-01T23:59:59Z", "Information", "d1 c"),
            ("2026-01-03T00:00:00Z", "Information", "d3 a"),
            ("2026-01-03T12:00:00Z", "Information", "d3 b"),
        ],
    );
    // Stopping the server flushes the memtables into day partitions.
    let server = server.restart(|_| {});
    let system = create_key(&server, PermissionSet::of(&[Permission::System]));
    let (status, body) = call(&server, &system, "GET", "/api/diagnostics/storage", "");
    assert_eq!(status, 200, "{body}");
    let report = json_of(&body);
    assert_eq!(
        report["Range"],
        json!({ "Start": "2026-01-01T00:00:00.0000000Z", "End": "2026-01-04T00:00:00.0000000Z" })
    );
    assert_eq!(report["FullRange"], report["Range"]);
    assert_eq!(report["IntervalSeconds"], 86400);
    assert_eq!(report["TickIntervalSeconds"], 86400);
    let columns: Vec<&str> = report["Results"]["Columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Label"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["Time", "Bytes", "Events", "Parts"]);
    assert_eq!(report["Results"]["Columns"][0]["Type"], "Timestamp");
    let rows = report["Results"]["Rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "sparse: no row for 2026-01-02: {body}");
    assert_eq!(rows[0][0], "2026-01-01T00:00:00.0000000Z");
    assert_eq!(rows[0][2], 3);
    assert_eq!(rows[1][0], "2026-01-03T00:00:00.0000000Z");
    assert_eq!(rows[1][2], 2);
    let day_bytes: u64 = rows.iter().map(|r| r[1].as_u64().unwrap()).sum();
    assert!(
        rows.iter()
            .all(|r| r[1].as_u64().unwrap() > 0 && r[3].as_u64().unwrap() >= 1)
    );
    let totals = &report["Totals"];
    assert_eq!(totals["Events"], 5);
    assert_eq!(totals["MemtableEvents"], 0);
    assert_eq!(totals["PartBytes"], day_bytes);
    assert_eq!(totals["QuarantinedFiles"], 0);
    assert!(totals["WalBytes"].is_u64());
    assert_eq!(totals["WritesFailed"], false);

    // Two-day intervals from a chosen start: the first interval holds both of the first days.
    let (status, body) = call(
        &server,
        &system,
        "GET",
        "/api/diagnostics/storage?rangeStart=2026-01-01T00:00:00.0000000Z&rangeEnd=2026-01-04T00:00:00.0000000Z&intervalSeconds=172800",
        "",
    );
    assert_eq!(status, 200, "{body}");
    let report = json_of(&body);
    assert_eq!(report["Range"]["End"], "2026-01-05T00:00:00.0000000Z");
    let rows = report["Results"]["Rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{body}");
    assert_eq!(rows[0][2], 3);
    assert_eq!(rows[1][0], "2026-01-03T00:00:00.0000000Z");
    // Only the requested range.
    let (_, body) = call(
        &server,
        &system,
        "GET",
        "/api/diagnostics/storage?rangeStart=2026-01-02T00:00:00Z",
        "",
    );
    let report = json_of(&body);
    assert_eq!(report["Results"]["Rows"].as_array().unwrap().len(), 1);
    assert_eq!(report["FullRange"]["Start"], "2026-01-01T00:00:00.0000000Z");
    let (status, _) = call(
        &server,
        &system,
        "GET",
        "/api/diagnostics/storage?intervalSeconds=3600",
        "",
    );
    assert_eq!(status, 400);

    // Fresh events are counted in the totals until they are flushed.
    ingest(&server, &[("2026-01-05T00:00:00Z", "Information", "fresh")]);
    let (_, body) = call(&server, &system, "GET", "/api/diagnostics/storage", "");
    let report = json_of(&body);
    assert_eq!(report["Totals"]["Events"], 6);
    assert_eq!(report["Totals"]["MemtableEvents"], 1);

    // System only; the discovery document is public.
    let project = create_key(
        &server,
        PermissionSet::of(&[Permission::Read, Permission::Project]),
    );
    let (status, _) = call(&server, &project, "GET", "/api/diagnostics/storage", "");
    assert_eq!(status, 403);
    let (status, _, body) = server.request("GET", "/api/diagnostics/resources", "");
    assert_eq!(status, 200);
    assert_eq!(
        json_of(&body)["Links"]["Storage"],
        "api/diagnostics/storage{?rangeStart,rangeEnd,intervalSeconds,intervalMinutes}"
    );
}
