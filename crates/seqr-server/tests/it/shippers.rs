//! Loki push and Elasticsearch `_bulk` over real HTTP: answers shippers act on (204, the bulk
//! item list, the version banner with `X-Elastic-Product`), events stored and searchable, and
//! the API key presented the ways shippers can (header, `Authorization: ApiKey`).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use prost::Message;
use seqr_meta::{Permission, PermissionSet};
use seqr_shippers::loki::proto::{EntryAdapter, PushRequest, StreamAdapter, Timestamp};
use serde_json::{Value, json};

use crate::{TestServer, create_key, ingestion_log_entry, json_of, property_value, search_events};

/// One request with a binary body; (status, lower-cased head, body).
fn send(
    server: &TestServer,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head, raw[split + 4..].to_vec())
}

#[test]
fn loki_pushes_in_protobuf_and_json_are_stored_with_their_labels() {
    let server = TestServer::start(Default::default());
    let request = PushRequest {
        streams: vec![StreamAdapter {
            labels: br#"{job="promtail", level="warn", host="web-1"}"#.to_vec(),
            entries: vec![EntryAdapter {
                timestamp: Some(Timestamp {
                    seconds: 1_767_225_600,
                    nanos: 123_456_700,
                }),
                line: b"disk nearly full".to_vec(),
                structured_metadata: Vec::new(),
            }],
            hash: 0,
        }],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap();
    let (status, _, answer) = send(
        &server,
        "/loki/api/v1/push",
        &[("Content-Type", "application/x-protobuf")],
        &body,
    );
    assert_eq!(status, 204, "{}", String::from_utf8_lossy(&answer));
    let events = search_events(&server, None, "job = 'promtail'");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["RenderedMessage"], "disk nearly full");
    assert_eq!(events[0]["Level"], "warn");
    assert_eq!(events[0]["Timestamp"], "2026-01-01T00:00:00.1234567Z");
    assert_eq!(property_value(&events[0], "host"), "web-1");

    let json_push = json!({ "streams": [{
        "stream": { "job": "vector" },
        "values": [["1767225601000000000", "from json", { "user": "bob" }]]
    }]});
    let (status, _, _) = send(
        &server,
        "/loki/api/v1/push",
        &[("Content-Type", "application/json")],
        json_push.to_string().as_bytes(),
    );
    assert_eq!(status, 204);
    let events = search_events(&server, None, "job = 'vector'");
    assert_eq!(events[0]["RenderedMessage"], "from json");
    assert_eq!(property_value(&events[0], "user"), "bob");

    // Not a push request at all: 400 with the decoder's reason; nothing stored.
    let (status, _, answer) = send(
        &server,
        "/loki/api/v1/push",
        &[("Content-Type", "application/x-protobuf")],
        b"certainly not snappy",
    );
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&answer).contains("snappy"));
    let (status, _, _) = send(
        &server,
        "/loki/api/v1/push",
        &[("Content-Type", "text/plain")],
        b"x",
    );
    assert_eq!(status, 415);
}

#[test]
fn elasticsearch_bulk_answers_per_item_and_stores_the_documents() {
    let server = TestServer::start(Default::default());
    let (status, head, body) = server.request("GET", "/es/", "");
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("x-elastic-product: elasticsearch"), "{head}");
    assert!(
        json_of(&body)["version"]["number"]
            .as_str()
            .unwrap()
            .starts_with("8.")
    );
    let (status, _, body) = server.request("GET", "/es/_cluster/health", "");
    assert_eq!(status, 200, "{body}");

    let bulk = concat!(
        "{\"index\":{}}\n",
        "{\"@timestamp\":\"2026-01-01T00:00:00.5Z\",\"message\":\"GET /cart 500\",\"log\":{\"level\":\"error\"},\"http\":{\"status\":500}}\n",
        "{\"delete\":{\"_id\":\"x\"}}\n",
        "{\"create\":{\"_index\":\"other\"}}\n",
        "[\"not an object\"]\n",
    );
    let (status, head, answer) = send(
        &server,
        "/es/web-logs/_bulk",
        &[("Content-Type", "application/x-ndjson")],
        bulk.as_bytes(),
    );
    assert_eq!(status, 200);
    assert!(head.contains("x-elastic-product: elasticsearch"), "{head}");
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["errors"], true);
    let statuses: Vec<u64> = answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            item.as_object().unwrap().values().next().unwrap()["status"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(statuses, [201, 400, 400]);
    // The refused items are in the ingestion log, though the request was answered 200.
    let entry = ingestion_log_entry(&server, |e| e["Input"] == "elastic_bulk");
    let message = entry["Message"].as_str().unwrap();
    assert!(
        message.starts_with("2 of 3 bulk item(s) refused, the rest stored; the first: 400"),
        "{entry}"
    );
    assert_eq!(entry["Reason"], "invalid_payload", "{entry}");
    assert!(
        entry["Payload"]
            .as_str()
            .unwrap()
            .starts_with("{\"index\":{}}"),
        "{entry}"
    );
    let (status, _, only_delete) = send(
        &server,
        "/es/web-logs/_bulk",
        &[("Content-Type", "application/x-ndjson")],
        b"{\"delete\":{\"_id\":\"y\"}}\n",
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&only_delete));
    let entry = ingestion_log_entry(&server, |e| {
        e["Message"]
            .as_str()
            .is_some_and(|m| m.starts_with("1 of 1 bulk item(s) refused, none stored;"))
    });
    assert_eq!(entry["Input"], "elastic_bulk", "{entry}");
    // The stored document's id comes from its time (then its place in the request).
    let id = answer["items"][0]["index"]["_id"].as_str().unwrap();
    assert!(!id.starts_with("0000000000000000"), "{id}");
    let events = search_events(&server, None, "http.status = 500");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["RenderedMessage"], "GET /cart 500");
    assert_eq!(events[0]["Level"], "error");
    assert_eq!(events[0]["Timestamp"], "2026-01-01T00:00:00.5000000Z");
    assert_eq!(property_value(&events[0], "_index"), "web-logs");

    // A malformed action line fails the whole request, as in Elasticsearch.
    let (status, _, _) = send(&server, "/es/_bulk", &[], b"{\"index\":{}}\n{}\n");
    assert_eq!(status, 400);
}

#[test]
fn shippers_present_api_keys_as_they_can() {
    let server = TestServer::start_authenticating_on_all_interfaces();
    let doc = b"{\"index\":{\"_index\":\"i\"}}\n{\"message\":\"keyed\"}\n";
    let (status, head, _) = send(&server, "/es/_bulk", &[], doc);
    assert_eq!(status, 401);
    assert!(
        head.contains("x-elastic-product"),
        "errors carry the product header too"
    );
    let key = create_key(&server, PermissionSet::of(&[Permission::Ingest]));
    // Fluent Bit's es output can only send `Authorization: ApiKey ...`.
    let (status, _, _) = send(
        &server,
        "/es/_bulk",
        &[("Authorization", &format!("ApiKey {key}"))],
        doc,
    );
    assert_eq!(status, 200);
    let push = json!({ "streams": [{ "stream": { "job": "alloy" }, "values": [["1767225600000000000", "x"]] }] });
    let (status, _, _) = send(
        &server,
        "/loki/api/v1/push",
        &[("Content-Type", "application/json"), ("X-Seq-ApiKey", &key)],
        push.to_string().as_bytes(),
    );
    assert_eq!(status, 204);
}
