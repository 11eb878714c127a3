//! OTLP/gRPC over h2c on the main listener, spoken by a real HTTP/2 client: unary exports
//! answered with a framed `Export*ServiceResponse` and `grpc-status: 0` trailers, gzip
//! messages, and failures as trailers-only answers with the status exporters act on.

use std::io::Write as _;

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use seqr_meta::{Permission, PermissionSet};

use crate::{TestServer, create_key, search_events};

const LOGS: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
const TRACES: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

struct Answer {
    http_status: u16,
    /// `grpc-status` from the trailers, or from the headers of a trailers-only answer.
    grpc_status: Option<String>,
    grpc_message: Option<String>,
    body: Vec<u8>,
}

/// One unary call over a fresh h2c connection (prior knowledge, as gRPC clients do).
fn call(port: u16, path: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> Answer {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let (client, connection) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut client = client.ready().await.unwrap();
        let mut request = axum::http::Request::builder()
            .method("POST")
            .uri(format!("http://127.0.0.1:{port}{path}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (response, mut send) = client
            .send_request(request.body(()).unwrap(), false)
            .unwrap();
        send.send_data(Bytes::from(body), true).unwrap();
        let response = response.await.unwrap();
        let http_status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let (mut grpc_status, mut grpc_message) = (header("grpc-status"), header("grpc-message"));
        let mut stream = response.into_body();
        let mut body = Vec::new();
        while let Some(chunk) = stream.data().await {
            let chunk = chunk.unwrap();
            let _ = stream.flow_control().release_capacity(chunk.len());
            body.extend_from_slice(&chunk);
        }
        if let Some(trailers) = stream.trailers().await.unwrap() {
            let get = |name: &str| trailers.get(name).map(|v| v.to_str().unwrap().to_owned());
            grpc_status = grpc_status.or(get("grpc-status"));
            grpc_message = grpc_message.or(get("grpc-message"));
        }
        Answer {
            http_status,
            grpc_status,
            grpc_message,
            body,
        }
    })
}

fn frame(message: &[u8], compressed: bool) -> Vec<u8> {
    let mut framed = vec![u8::from(compressed)];
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(message);
    framed
}

fn text(value: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(value.to_owned())),
    })
}

fn logs_request(body: &str) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: text("grpc-test"),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: 1_767_225_600_000_000_000,
                    severity_number: 13,
                    severity_text: "Warning".into(),
                    body: text(body),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[test]
fn logs_and_spans_export_over_h2c_and_are_stored() {
    let server = TestServer::start(Default::default());
    let answer = call(
        server.port,
        LOGS,
        frame(&logs_request("Disk {Volume} low").encode_to_vec(), false),
        &[],
    );
    assert_eq!(answer.http_status, 200);
    assert_eq!(answer.grpc_status.as_deref(), Some("0"));
    let (flag, message) = answer.body.split_at(5);
    assert_eq!(flag[0], 0);
    assert_eq!(
        u32::from_be_bytes(flag[1..5].try_into().unwrap()) as usize,
        message.len()
    );
    let decoded = ExportLogsServiceResponse::decode(message).unwrap();
    assert!(decoded.partial_success.is_none());

    // A gzip-compressed message, as exporters send with compression on.
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(&logs_request("compressed one").encode_to_vec())
        .unwrap();
    let answer = call(
        server.port,
        LOGS,
        frame(&gzip.finish().unwrap(), true),
        &[("grpc-encoding", "gzip")],
    );
    assert_eq!(
        answer.grpc_status.as_deref(),
        Some("0"),
        "{:?}",
        answer.grpc_message
    );

    let spans = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![7; 16],
                    span_id: vec![9; 8],
                    name: "GET /cart".into(),
                    start_time_unix_nano: 1_767_225_600_000_000_000,
                    end_time_unix_nano: 1_767_225_601_000_000_000,
                    kind: 2,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let answer = call(
        server.port,
        TRACES,
        frame(&spans.encode_to_vec(), false),
        &[],
    );
    assert_eq!(
        answer.grpc_status.as_deref(),
        Some("0"),
        "{:?}",
        answer.grpc_message
    );

    let events = search_events(&server, None, "@Resource.service.name = 'grpc-test'");
    let messages: Vec<&str> = events
        .iter()
        .map(|e| e["RenderedMessage"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["compressed one", "Disk {Volume} low"]);
    assert_eq!(events[0]["Level"], "Warning");
    let span = search_events(&server, None, "@SpanKind = 'Server'");
    assert_eq!(span.len(), 1);
    assert_eq!(span[0]["TraceId"], "07070707070707070707070707070707");
    assert_eq!(span[0]["Start"], "2026-01-01T00:00:00.0000000Z");
}

#[test]
fn failures_are_grpc_statuses_exporters_act_on() {
    let server = TestServer::start_authenticating_on_all_interfaces();
    let body = frame(&logs_request("needs a key").encode_to_vec(), false);

    // No key on a server that requires one: UNAUTHENTICATED, not retried.
    let answer = call(server.port, LOGS, body.clone(), &[]);
    assert_eq!(answer.http_status, 200);
    assert_eq!(answer.grpc_status.as_deref(), Some("16"));
    assert!(answer.grpc_message.unwrap().contains("API key"));

    // A key without Ingest: PERMISSION_DENIED.
    let reader = create_key(&server, PermissionSet::of(&[Permission::Read]));
    let answer = call(
        server.port,
        LOGS,
        body.clone(),
        &[("x-seq-apikey", &reader)],
    );
    assert_eq!(answer.grpc_status.as_deref(), Some("7"));

    let writer = create_key(&server, PermissionSet::of(&[Permission::Ingest]));
    let ok = call(server.port, LOGS, body, &[("x-seq-apikey", &writer)]);
    assert_eq!(ok.grpc_status.as_deref(), Some("0"));

    // A message that is not an ExportLogsServiceRequest, or framed wrongly: INVALID_ARGUMENT.
    let answer = call(
        server.port,
        LOGS,
        frame(b"\xff\xff not protobuf", false),
        &[("x-seq-apikey", &writer)],
    );
    assert_eq!(answer.grpc_status.as_deref(), Some("3"));
    assert!(
        answer
            .grpc_message
            .unwrap()
            .contains("ExportLogsServiceRequest"),
        "the message says what was expected"
    );
    let answer = call(
        server.port,
        LOGS,
        vec![0, 0, 0, 0, 9, 1],
        &[("x-seq-apikey", &writer)],
    );
    assert_eq!(answer.grpc_status.as_deref(), Some("3"));
    assert!(answer.grpc_message.unwrap().contains("declares 9 bytes"));

    // A method seqr does not serve: UNIMPLEMENTED.
    let answer = call(
        server.port,
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        frame(&[], false),
        &[("x-seq-apikey", &writer)],
    );
    assert_eq!(answer.grpc_status.as_deref(), Some("12"));
}
