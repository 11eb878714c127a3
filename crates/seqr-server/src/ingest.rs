//! `POST /api/events/raw` and `POST /ingest/clef`: Seq's ingestion endpoints.
//!
//! A request is decoded whole before anything is stored (a bad line rejects the request), then
//! appended to the store; the 201 is sent only after the fsync that covers its events.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use seqr_ingest::{DecompressError, Limits};
use seqr_store::AppendError;
use seqr_types::Event;

use crate::AppState;
use crate::error::ApiError;

/// The answer every Seq client understands; compact, because Serilog searches for the exact text
/// `"MinimumLevelAccepted":"`.
const ACCEPTED_BODY: &str = r#"{"MinimumLevelAccepted":null}"#;

/// `POST /api/events/raw`: CLEF when `?clef` or a CLEF content type says so, else legacy JSON.
pub(crate) async fn raw(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let format = if seqr_ingest::clef_selected(query.as_deref(), content_type) {
        Format::Clef
    } else {
        Format::Legacy
    };
    ingest(state, query.as_deref(), &headers, body, format).await
}

/// `POST /ingest/clef`: CLEF whatever the content type says.
pub(crate) async fn clef(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    ingest(state, query.as_deref(), &headers, body, Format::Clef).await
}

#[derive(Clone, Copy)]
enum Format {
    Clef,
    Legacy,
}

async fn ingest(
    state: AppState,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
    format: Format,
) -> Result<Response, ApiError> {
    // Read as Seq clients present it; the security core authorizes with it.
    let _api_key = crate::auth::credentials::api_key(headers, query);
    let limits = state.limits;
    let body = read_body(headers, body, limits.max_body_bytes).await?;
    let _permit = reserve_budget(&state, body.len()).await?;
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();

    let events = tokio::task::spawn_blocking(move || decode(&body, &encoding, format, &limits))
        .await
        .map_err(|_| ApiError::internal("Ingestion failed."))??;

    if !events.is_empty() {
        append(&state, events).await?;
    }
    Ok(accepted())
}

fn accepted() -> Response {
    let mut response = (StatusCode::CREATED, ACCEPTED_BODY).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn decode(
    body: &[u8],
    encoding: &str,
    format: Format,
    limits: &Limits,
) -> Result<Vec<Event>, ApiError> {
    let decompressed;
    let body = if is_identity(encoding) {
        body
    } else {
        decompressed = seqr_ingest::decompress(body, encoding, limits.max_body_bytes).map_err(
            |e| match e {
                DecompressError::TooLarge { .. } => ApiError::too_large(format!(
                    "The decompressed request body is over the {}-byte payload limit.",
                    limits.max_body_bytes
                )),
                other => ApiError::new(status(other.http_status()), other.to_string()),
            },
        )?;
        &decompressed
    };
    let decoded = match format {
        Format::Clef => seqr_ingest::decode_clef(body, limits),
        Format::Legacy => seqr_ingest::decode_legacy(body, limits),
    };
    decoded.map_err(|e| ApiError::new(status(e.http_status()), e.to_string()))
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

fn is_identity(encoding: &str) -> bool {
    let e = encoding.trim();
    e.is_empty() || e.eq_ignore_ascii_case("identity")
}

/// Reads the body, refusing (413) as soon as it passes the limit, before buffering the rest.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    max_bytes: usize,
) -> Result<axum::body::Bytes, ApiError> {
    let too_large = || {
        ApiError::too_large(format!(
            "The request body is over the {max_bytes}-byte payload limit; send smaller batches."
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > max_bytes as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, max_bytes).await.map_err(|e| {
        let over_limit = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if over_limit {
            too_large()
        } else {
            ApiError::bad_request("The request body could not be read.")
        }
    })
}

/// How long a request may wait for ingestion memory before it is told to come back later.
const BUDGET_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Holds back a request while too many bytes are already being decoded and written, so a burst
/// of clients gets 503 + Retry-After (which they retry) instead of growing memory without bound.
async fn reserve_budget(
    state: &AppState,
    bytes: usize,
) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, ApiError> {
    if bytes == 0 {
        return Ok(None);
    }
    // A body larger than the whole budget waits for all of it, so it still gets through alone.
    let permits = u32::try_from(bytes.min(state.ingest_budget_bytes)).unwrap_or(u32::MAX);
    let acquire = state.ingest_budget.clone().acquire_many_owned(permits);
    match tokio::time::timeout(BUDGET_WAIT, acquire).await {
        Ok(Ok(permit)) => Ok(Some(permit)),
        _ => Err(ApiError::unavailable(
            "The server is ingesting as fast as it can and has no room for this request now; retry shortly.",
            1,
        )),
    }
}

async fn append(state: &AppState, events: Vec<Event>) -> Result<(), ApiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    state.store.append(
        events,
        Box::new(move |result| {
            let _ = tx.send(result);
        }),
    );
    match rx.await {
        Ok(Ok(_ids)) => Ok(()),
        Ok(Err(AppendError::ShuttingDown)) | Err(_) => Err(ApiError::unavailable(
            "The server is shutting down; the events were not stored. Retry shortly.",
            5,
        )),
        Ok(Err(AppendError::Poisoned { detail })) => {
            tracing::error!(%detail, "append refused: the store is poisoned");
            Err(ApiError::unavailable(
                "The event store stopped accepting writes after a storage failure; the events were not \
             stored. An administrator must check the disk and restart the server.",
                30,
            ))
        }
        Ok(Err(other)) => {
            tracing::error!(error = %other, "append failed");
            Err(ApiError::unavailable(
                "The events could not be stored; retry later.",
                10,
            ))
        }
    }
}
