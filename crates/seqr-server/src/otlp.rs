//! OpenTelemetry over HTTP: `POST /ingest/otlp/v1/logs` and `/ingest/otlp/v1/traces`, protobuf
//! or JSON, optionally gzip-compressed, through the same pipeline as CLEF (API-key input
//! settings, limits, acknowledged only after the fsync). Answers follow OTLP/HTTP: 200 with an
//! `Export*ServiceResponse`, 400 for a body that is not one, 413 over the size limit, 415 for
//! another content type, 503 with `Retry-After` under pressure.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use seqr_otlp::Encoding;

use crate::AppState;
use crate::auth::enforce::Principal;
use crate::auth::rules::Caller;
use crate::error::ApiError;
use crate::ingest::{self, Format, OtlpSignal};

/// `POST /ingest/otlp/v1/logs`.
pub(crate) async fn logs(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    export(OtlpSignal::Logs, state, caller, query, headers, body).await
}

/// `POST /ingest/otlp/v1/traces`.
pub(crate) async fn traces(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    export(OtlpSignal::Traces, state, caller, query, headers, body).await
}

async fn export(
    signal: OtlpSignal,
    state: AppState,
    caller: Principal,
    query: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let format = Format::Otlp(signal, encoding(&headers)?);
    ingest::ingest(state, caller, query.as_deref(), &headers, body, format).await
}

fn encoding(headers: &HeaderMap) -> Result<Encoding, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    Encoding::from_content_type(content_type).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "OTLP/HTTP bodies are application/x-protobuf or application/json, not `{}`.",
                content_type.unwrap_or("(none)")
            ),
        )
    })
}
