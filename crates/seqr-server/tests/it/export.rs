//! `api/events/export`: streamed CLEF, JSON and CSV, with the view filter applied.

use seqr_meta::roles;
use serde_json::{Value, json};

use crate::{PASSWORD, TestServer, create_user, json_of, set_view_filter, sign_in};

fn ingest(server: &TestServer, events: &[Value]) {
    let body: Vec<String> = events.iter().map(Value::to_string).collect();
    let (status, _, answer) = server.request("POST", "/ingest/clef", &body.join("\n"));
    assert_eq!(status, 201, "{answer}");
}

#[test]
fn every_matching_event_streams_in_each_format_across_pages() {
    let server = TestServer::start(Default::default());
    // More than two store pages, so the stream continues past the first.
    let events: Vec<Value> = (0..2500)
        .map(|i| {
            json!({
                "@t": format!("2026-01-01T00:{:02}:{:02}Z", i / 60 % 60, i % 60),
                "@mt": "Item {N} of {Kind}",
                "N": i,
                "Kind": if i % 2 == 0 { "even" } else { "odd" },
            })
        })
        .collect();
    for chunk in events.chunks(1000) {
        ingest(&server, chunk);
    }
    let (status, head, body) = server.request(
        "GET",
        "/api/events/export?filter=Kind%20%3D%20%27even%27&format=clef",
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        head.contains("content-type: application/vnd.serilog.clef"),
        "{head}"
    );
    assert!(
        head.contains("attachment; filename=\"seqr-export.clef\""),
        "{head}"
    );
    let lines: Vec<Value> = body.lines().map(json_of).collect();
    assert_eq!(lines.len(), 1250);
    assert!(lines.iter().all(|l| l["Kind"] == "even"));
    assert_eq!(lines[0]["@mt"], "Item {N} of {Kind}");

    let (status, _, body) = server.request(
        "GET",
        "/api/events/export?filter=N%20%3C%203&format=json",
        "",
    );
    assert_eq!(status, 200);
    let array = json_of(&body);
    let messages: Vec<&str> = array
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["RenderedMessage"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        ["Item 2 of even", "Item 1 of odd", "Item 0 of even"]
    );

    let (status, head, body) = server.request(
        "GET",
        "/api/events/export?filter=N%20%3D%201&format=csv",
        "",
    );
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/csv"), "{head}");
    let rows: Vec<&str> = body.split("\r\n").collect();
    assert_eq!(
        rows[0],
        "Id,Timestamp,Level,EventType,Message,Exception,Properties"
    );
    assert!(
        rows[1].ends_with(
            ",Information,$04106B43,Item 1 of odd,,\"{\"\"N\"\":1,\"\"Kind\"\":\"\"odd\"\"}\""
        ),
        "{}",
        rows[1]
    );
    assert_eq!(rows.len(), 3, "header, one row, and the final line break");
}

#[test]
fn exports_apply_the_view_filter_and_refuse_bad_parameters() {
    let server = TestServer::start_authenticating();
    let user = create_user(&server, "vera", &[roles::USER_READ_WRITE_INGEST], false);
    set_view_filter(&server, &user, "Team = 'a'");
    crate::ingest_two_teams(&server);
    let (session, _) = sign_in(&server, "vera", PASSWORD);
    let cookie = [("Cookie", session.cookie.as_str())];
    let (status, _, body) = server.request_with("GET", "/api/events/export", &cookie, "");
    assert_eq!(status, 200, "{body}");
    let lines: Vec<Value> = body.lines().map(json_of).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["Team"], "a");

    let (status, _, body) =
        server.request_with("GET", "/api/events/export?format=xml", &cookie, "");
    assert_eq!(status, 400);
    assert!(
        json_of(&body)["Error"]
            .as_str()
            .unwrap()
            .contains("clef, json or csv")
    );
    let (status, _, _) =
        server.request_with("GET", "/api/events/export?filter=Team%20%3D", &cookie, "");
    assert_eq!(status, 400);
    assert_eq!(server.request("GET", "/api/events/export", "").0, 401);
}
