//! The route layer that watches requests on their way through (outside the permission check,
//! so refusals are seen too): it times searches, queries and exports, counts requests in
//! flight, and for ingestion routes keeps the body's first bytes so that a refused payload can
//! be counted by reason and written to the ingestion log with what the client was told.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt as _;

use super::{Input, QueryKind, Reason};
use crate::AppState;
use crate::error::ErrorDetail;
use crate::ingestion_log::{PAYLOAD_CAPTURE_BYTES, PartlyRefused, Rejected};
use crate::permission::Permission;

/// Counts a request in flight for as long as it lives (also when the client goes away).
struct InFlight<'a>(&'a std::sync::atomic::AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn query_kind(path: &str, method: &Method) -> Option<QueryKind> {
    match (path, method) {
        ("/api/events/signal", &Method::GET | &Method::POST) => Some(QueryKind::Search),
        ("/api/events" | "/api/events/", &Method::GET) => Some(QueryKind::Search),
        ("/api/data", &Method::GET | &Method::POST) => Some(QueryKind::Data),
        ("/api/events/export", &Method::GET) => Some(QueryKind::Export),
        _ => None,
    }
}

/// The input an ingestion route is, for the log's and metrics' `input` label.
fn ingest_input(path: &str, request: &Request) -> Input {
    match path {
        "/api/events/raw" => {
            let content_type = request
                .headers()
                .get(axum::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            if seqr_ingest::clef_selected(request.uri().query(), content_type) {
                Input::Clef
            } else {
                Input::LegacyJson
            }
        }
        p if p.starts_with("/ingest/otlp") => Input::OtlpHttp,
        p if p.starts_with("/opentelemetry.") => Input::OtlpGrpc,
        "/gelf" => Input::GelfHttp,
        p if p.starts_with("/loki") => Input::Loki,
        p if p.starts_with("/es") => Input::ElasticBulk,
        _ => Input::Clef,
    }
}

pub(crate) async fn observe(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let metrics = &state.metrics;
    metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let _in_flight = InFlight(&metrics.in_flight);
    let path = matched.as_ref().map_or("", |m| m.as_str());
    if let Some(kind) = query_kind(path, request.method()) {
        let started = Instant::now();
        let response = next.run(request).await;
        metrics.query(kind, started.elapsed());
        return response;
    }
    let ingest = state.auth.demand(path, request.method()) == Some(Permission::Ingest);
    if !ingest {
        return next.run(request).await;
    }

    let input = ingest_input(path, &request);
    let peer = request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    let client = crate::ingestion_log::client_of(peer, request.headers());
    let token = crate::auth::credentials::api_key(request.headers(), request.uri().query());
    let captured = Arc::new(Mutex::new(Vec::new()));
    let (parts, body) = request.into_parts();
    let sink = captured.clone();
    let body = body.map_frame(move |frame| {
        if let Some(data) = frame.data_ref() {
            let mut kept = sink.lock().unwrap_or_else(|e| e.into_inner());
            let room = PAYLOAD_CAPTURE_BYTES.saturating_sub(kept.len());
            kept.extend_from_slice(&data[..room.min(data.len())]);
        }
        frame
    });
    let response = next.run(Request::from_parts(parts, Body::new(body))).await;
    let status = response.status();
    let (reason, message) = if status.is_client_error() || status.is_server_error() {
        let detail = response.extensions().get::<ErrorDetail>();
        let reason = detail
            .and_then(|d| d.reason)
            .unwrap_or_else(|| Reason::of_status(status.as_u16()));
        let message = detail.map_or_else(
            || status.canonical_reason().unwrap_or("refused").to_owned(),
            |d| d.message.clone(),
        );
        metrics.rejected(reason);
        (reason, message)
    } else if let Some(partly) = response.extensions().get::<PartlyRefused>() {
        (partly.reason, partly.message.clone())
    } else {
        return response;
    };
    let payload = captured.lock().unwrap_or_else(|e| e.into_inner()).clone();
    state.ingestion_log.record(Rejected {
        client,
        input: input.label(),
        api_key: key_label(&state, token.as_deref()),
        reason: reason.label(),
        message: &message,
        payload: &payload,
    });
    response
}

/// Who the presented key is, never its token: the key's id when it is known, else the prefix
/// the UI shows for keys (so an operator can tell a stale key from another), else `none`.
fn key_label(state: &AppState, token: Option<&str>) -> String {
    let Some(token) = token else {
        return "none".to_owned();
    };
    match state.auth.keys.verify(token, Instant::now()) {
        Ok(Some(key)) => key.id.clone(),
        _ => match seqr_meta::token::prefix_of(token) {
            Some(prefix) => format!("unknown (prefix {prefix})"),
            None => "unknown".to_owned(),
        },
    }
}
