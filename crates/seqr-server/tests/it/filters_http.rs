//! The query language wired into reads and ingestion: `filter` on the search endpoints
//! (strict only, as seqcli and Seq.Api send it after `tostrict`), API-key arrival filters,
//! and the `api/expressions` conversions.

use seqr_meta::PermissionSet;
use serde_json::{Value, json};

use crate::{TestServer, create_key, json_of};

const BATCH: &str = concat!(
    r#"{"@t":"2026-01-01T00:00:00Z","@mt":"GET {Path} took {Elapsed} ms","Path":"/api/orders","Elapsed":12.5,"testMarker":"C:\\run \"7\""}"#,
    "\n",
    r#"{"@t":"2026-01-01T00:00:01Z","@mt":"Connection timed out","@l":"Error","@x":"System.TimeoutException: Timeout expired","Tags":["db","net"]}"#,
    "\n",
    r#"{"@t":"2026-01-01T00:00:02Z","@mt":"debug noise","@l":"Debug","Tags":[]}"#,
);

fn messages(server: &TestServer, key: &str, path: &str) -> Vec<String> {
    let (status, _, body) = server.request_with("GET", path, &[("X-Seq-ApiKey", key)], "");
    assert_eq!(status, 200, "{path}: {body}");
    let v = json_of(&body);
    let events = if v.is_array() { v } else { v["Events"].clone() };
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["RenderedMessage"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn encode(filter: &str) -> String {
    let mut out = String::new();
    for b in filter.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[test]
fn search_filters_select_events_and_bad_ones_are_400_with_a_position() {
    let server = TestServer::start_authenticating();
    let key = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let (status, _, body) = server.request_with(
        "POST",
        "/api/events/raw?clef",
        &[("X-Seq-ApiKey", &key)],
        BATCH,
    );
    assert_eq!(status, 201, "{body}");
    let search = |filter: &str| {
        messages(
            &server,
            &key,
            &format!("/api/events/signal?render=true&filter={}", encode(filter)),
        )
    };
    assert_eq!(search("@Level = 'Error'"), ["Connection timed out"]);
    assert_eq!(search("@Level in ['error', 'debug'] ci").len(), 2);
    assert_eq!(
        search("Elapsed > 10 and StartsWith(Path, '/api/')"),
        ["GET /api/orders took 12.5 ms"]
    );
    assert_eq!(search("Tags[?] = 'net'"), ["Connection timed out"]);
    assert_eq!(
        search(r#""TIMEOUT""#),
        ["Connection timed out"],
        "text fragments search message and exception"
    );
    assert_eq!(
        search("not (@Level = 'Error')").len(),
        2,
        "not of undefined/false matches"
    );
    assert!(search("Missing = 1").is_empty());

    for (bad, expected) in [
        (
            "@Level = ",
            "Syntax error at position 9: expected an expression but found the end of the input",
        ),
        ("Frobnicate(@Level)", "`Frobnicate` is not a known function"),
        ("@Levle = 'x'", "did you mean `@Level`?"),
        ("connection timed out", "join conditions with `and` or `or`"),
    ] {
        let (status, _, body) = server.request_with(
            "GET",
            &format!("/api/events/signal?filter={}", encode(bad)),
            &[("X-Seq-ApiKey", &key)],
            "",
        );
        assert_eq!(status, 400, "{bad}: {body}");
        let error = json_of(&body)["Error"].as_str().unwrap().to_owned();
        assert!(error.contains(expected), "{bad}: {error}");
    }
}

/// seq-logging's test suite reads its events back with C#-style verbatim strings.
#[test]
fn legacy_verbatim_filters_work_on_the_legacy_list() {
    let server = TestServer::start_authenticating();
    let key = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let read = create_key(
        &server,
        PermissionSet::from_iter([seqr_meta::Permission::Read]),
    );
    let (status, _, _) =
        server.request_with("POST", "/ingest/clef", &[("X-Seq-ApiKey", &key)], BATCH);
    assert_eq!(status, 201);
    let found = messages(
        &server,
        &read,
        &format!(
            "/api/events?render=true&filter={}",
            encode(r#"Equal(testMarker, @"C:\run ""7""")"#)
        ),
    );
    assert_eq!(found, ["GET /api/orders took 12.5 ms"]);
    let found = messages(
        &server,
        &read,
        &format!(
            "/api/events?filter={}",
            encode(r#"Has(Tags) && !(@Level == "Debug")"#)
        ),
    );
    assert_eq!(found.len(), 1);
}

#[test]
fn an_arrival_filter_keeps_only_matching_events_and_counts_the_rest_as_arrived() {
    let server = TestServer::start_authenticating();
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let (status, _, body) = server.request_with(
        "POST",
        "/api/apikeys",
        &[("X-Seq-ApiKey", &admin)],
        &json!({
            "Title": "no debug",
            "AssignedPermissions": ["Ingest"],
            "InputSettings": {
                "AppliedProperties": [{ "Name": "Service", "Value": "orders" }],
                "Filter": { "Filter": null, "FilterNonStrict": "@Level <> 'Debug' && Service == 'orders'" }
            }
        })
        .to_string(),
    );
    assert_eq!(status, 201, "{body}");
    let created = json_of(&body);
    assert_eq!(
        created["InputSettings"]["Filter"]["Filter"], "@Level <> 'Debug' and Service = 'orders'",
        "the typed text is stored in strict form"
    );
    let token = created["Token"].as_str().unwrap().to_owned();
    let id = created["Id"].as_str().unwrap().to_owned();
    let (status, _, body) =
        server.request_with("POST", "/ingest/clef", &[("X-Seq-ApiKey", &token)], BATCH);
    assert_eq!(status, 201, "{body}");
    let stored = messages(&server, &admin, "/api/events/signal?render=true");
    assert_eq!(
        stored.len(),
        2,
        "the Debug event was filtered out: {stored:?}"
    );
    assert!(!stored.iter().any(|m| m == "debug noise"));

    let (_, _, body) = server.request_with(
        "GET",
        &format!("/api/apikeys/{id}"),
        &[("X-Seq-ApiKey", &admin)],
        "",
    );
    let counts = &json_of(&body)["Counts"];
    assert_eq!(counts["ArrivedEvents"], 3, "{body}");
    assert_eq!(counts["IngestedEvents"], 2, "{body}");
}

#[test]
fn tostrict_and_tosql_answer_seqs_expression_part() {
    let server = TestServer::start_authenticating();
    let key = create_key(
        &server,
        PermissionSet::from_iter([seqr_meta::Permission::Read]),
    );
    let get = |path: &str| {
        let (status, _, body) = server.request_with("GET", path, &[("X-Seq-ApiKey", &key)], "");
        assert_eq!(status, 200, "{path}: {body}");
        json_of(&body)
    };
    let part = get(&format!(
        "/api/expressions/tostrict?fuzzy={}",
        encode("Application == 'web' && !Has(Error)")
    ));
    assert_eq!(
        part,
        json!({ "StrictExpression": "Application = 'web' and not Has(Error)", "MatchedAsText": false, "ReasonIfMatchedAsText": null })
    );
    let part = get(&format!(
        "/api/expressions/tostrict?fuzzy={}",
        encode("disk full")
    ));
    assert_eq!(part["MatchedAsText"], true);
    assert_eq!(
        part["StrictExpression"],
        "@Message like '%disk full%' ci or @Exception like '%disk full%' ci"
    );
    assert!(
        part["ReasonIfMatchedAsText"]
            .as_str()
            .unwrap()
            .contains("position")
    );
    let part = get(&format!(
        "/api/expressions/tosql?fuzzy={}&schema=stream",
        encode("@Level = 'Error'")
    ));
    assert_eq!(
        part["StrictExpression"],
        "select count(*) from stream where @Level = 'Error'"
    );
    let (status, _, _) = server.request("GET", "/api/expressions/tostrict?fuzzy=x", "");
    assert_eq!(status, 401, "reading expressions needs Read");
    let links = json_of(&server.request("GET", "/api/expressions/resources", "").2);
    assert_eq!(
        links["Links"]["ToStrict"],
        "api/expressions/tostrict{?fuzzy}"
    );
    let _ = Value::Null;
}
