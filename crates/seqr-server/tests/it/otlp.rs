//! OTLP/HTTP answers: content types, undecodable bodies, partial success, and the API key's
//! input settings applied as for CLEF.

use seqr_meta::{Permission, PermissionSet};
use serde_json::{Value, json};

use crate::{TestServer, create_key, ingestion_log_entry, json_of};

fn log_request(records: Vec<Value>) -> String {
    json!({ "resourceLogs": [{
        "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "checkout" } }] },
        "scopeLogs": [{ "scope": { "name": "app.scope" }, "logRecords": records }]
    }]})
    .to_string()
}

fn record(body: &str, extra: Vec<Value>) -> Value {
    let mut attributes =
        vec![json!({ "key": "http.response.status_code", "value": { "intValue": "503" } })];
    attributes.extend(extra);
    json!({
        "timeUnixNano": "1767225600000000000",
        "severityNumber": 17,
        "body": { "stringValue": body },
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": "b7ad6b7169203331",
        "attributes": attributes,
    })
}

fn post(
    server: &TestServer,
    path: &str,
    content_type: &str,
    body: &str,
    key: Option<&str>,
) -> (u16, String, String) {
    let mut headers = vec![("Content-Type", content_type)];
    if let Some(k) = key {
        headers.push(("X-Seq-ApiKey", k));
    }
    server.request_with("POST", path, &headers, body)
}

fn search(server: &TestServer, filter: &str) -> Vec<Value> {
    let (status, _, body) = server.request(
        "GET",
        &format!(
            "/api/events/signal?render=true&filter={}",
            filter
                .replace(' ', "%20")
                .replace('\'', "%27")
                .replace('=', "%3D")
        ),
        "",
    );
    assert_eq!(status, 200, "{body}");
    json_of(&body)["Events"].as_array().unwrap().clone()
}

#[test]
fn json_logs_are_stored_with_their_mapping_and_answered_as_otlp() {
    let server = TestServer::start(Default::default());
    let (status, head, body) = post(
        &server,
        "/ingest/otlp/v1/logs",
        "application/json",
        &log_request(vec![record(
            "Checkout failed for {Cart}",
            vec![json!({ "key": "Cart", "value": { "stringValue": "c-1" } })],
        )]),
        None,
    );
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(body, "{}");
    let events = search(&server, "http.response.status_code = 503");
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e["RenderedMessage"], "Checkout failed for c-1");
    assert_eq!(e["Level"], "Error");
    assert_eq!(e["Timestamp"], "2026-01-01T00:00:00.0000000Z");
    assert_eq!(e["TraceId"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(e["SpanId"], "b7ad6b7169203331");
    assert_eq!(
        e["Resource"],
        json!([{ "Name": "service", "Value": { "name": "checkout" } }])
    );
    assert_eq!(
        e["Scope"],
        json!([{ "Name": "name", "Value": "app.scope" }])
    );
    // Resource attributes are queryable as paths too.
    assert_eq!(
        search(&server, "@Resource.service.name = 'checkout'").len(),
        1
    );
}

#[test]
fn bad_bodies_and_content_types_are_refused_and_oversized_records_are_partial() {
    let server = TestServer::start(Default::default());
    let (status, _, body) = post(
        &server,
        "/ingest/otlp/v1/logs",
        "application/x-protobuf",
        "not protobuf",
        None,
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        json_of(&body)["Error"]
            .as_str()
            .unwrap()
            .contains("ExportLogsServiceRequest")
    );
    let (status, _, body) = post(
        &server,
        "/ingest/otlp/v1/traces",
        "application/json",
        "{\"resourceSpans\": 7}",
        None,
    );
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = post(&server, "/ingest/otlp/v1/logs", "text/plain", "hello", None);
    assert_eq!(status, 415, "{body}");
    assert!(
        json_of(&body)["Error"]
            .as_str()
            .unwrap()
            .contains("application/x-protobuf")
    );

    // One record over the 256 KiB event limit is refused alone; the others are kept.
    let huge = "x".repeat(300 * 1024);
    let (status, _, body) = post(
        &server,
        "/ingest/otlp/v1/logs",
        "application/json",
        &log_request(vec![
            record("kept one", vec![]),
            record(
                "too big",
                vec![json!({ "key": "Blob", "value": { "stringValue": huge } })],
            ),
            record("kept two", vec![]),
        ]),
        None,
    );
    assert_eq!(status, 200, "{body}");
    let answer = json_of(&body);
    let rejected = &answer["partialSuccess"]["rejectedLogRecords"];
    assert!(rejected == "1" || rejected == 1, "{answer}");
    assert!(
        answer["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("event limit")
    );
    let entry = ingestion_log_entry(&server, |e| {
        e["Input"] == "otlp_http" && e["Reason"] == "oversized"
    });
    let message = entry["Message"].as_str().unwrap();
    assert!(
        message.starts_with("1 record(s) refused, the rest stored:")
            && message.contains("event limit"),
        "{entry}"
    );
    let messages: Vec<String> = search(&server, "")
        .iter()
        .map(|e| e["RenderedMessage"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(messages, ["kept two", "kept one"]);
}

#[test]
fn the_api_keys_input_settings_apply_and_keys_are_required_when_configured() {
    let server = TestServer::start_authenticating();
    let reader = create_key(&server, PermissionSet::of(&[Permission::Read]));
    let writer = create_key(&server, PermissionSet::of(&[Permission::Ingest]));
    // A minimum level of Warning on the default input drops Information records.
    let (status, _, body) = server.request_with(
        "PUT",
        "/api/apikeys/apikey-default",
        &[("X-Seq-ApiKey", &create_key(&server, PermissionSet::ALL_GRANTABLE))],
        &json!({ "Id": "apikey-default", "Title": "None", "InputSettings": { "MinimumLevel": "Warning", "AppliedProperties": [{ "Name": "Via", "Value": "otlp" }] }, "AssignedPermissions": ["Ingest"] }).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let mut info = record("just info", vec![]);
    info["severityNumber"] = json!(9);
    let (status, _, body) = post(
        &server,
        "/ingest/otlp/v1/logs",
        "application/json",
        &log_request(vec![info, record("an error", vec![])]),
        None,
    );
    assert_eq!(status, 200, "{body}");
    let (_, _, found) = server.request_with(
        "GET",
        "/api/events/signal?render=true",
        &[("X-Seq-ApiKey", &reader)],
        "",
    );
    let events = json_of(&found)["Events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1, "{found}");
    assert_eq!(events[0]["RenderedMessage"], "an error");
    assert!(
        events[0]["Properties"]
            .as_array()
            .unwrap()
            .contains(&json!({ "Name": "Via", "Value": "otlp" }))
    );
    // A key without Ingest cannot send.
    let (status, _, _) = post(
        &server,
        "/ingest/otlp/v1/traces",
        "application/json",
        "{}",
        Some(&reader),
    );
    assert_eq!(status, 403);
    let (status, _, body) = post(
        &server,
        "/ingest/otlp/v1/traces",
        "application/json",
        "{}",
        Some(&writer),
    );
    assert_eq!((status, body.as_str()), (200, "{}"));
}
