//! Push protocols of log shippers, so Vector, Fluent Bit, Promtail/Alloy and Filebeat can send
//! without a Seq output: Loki's `POST /loki/api/v1/push`, and Elasticsearch's `_bulk` under
//! `/es` (never at the root, where the UI lives) with the few probes shippers make at start-up.
//! Both go through the same pipeline as CLEF (API key, input settings, limits, fsync before the
//! answer); the decoding is `seqr-shippers`.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::auth::rules::Caller;
use crate::error::ApiError;
use crate::ingest::{self, Format};

/// `POST /loki/api/v1/push`: snappy protobuf (Promtail, Alloy, Vector) or JSON.
pub(crate) async fn loki_push(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let encoding = seqr_shippers::loki::Encoding::from_content_type(content_type).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Loki pushes are application/x-protobuf (snappy) or application/json, not `{}`.",
                content_type.unwrap_or("")
            ),
        )
    })?;
    let format = Format::Loki(encoding);
    ingest::ingest(state, caller, query.as_deref(), &headers, body, format).await
}

/// Loki's success is 204; entries refused one by one (the rest are stored) make it a 400 that
/// says why, as Loki answers, which shippers log and do not retry.
pub(crate) fn loki_answer(rejection: Option<String>) -> Response {
    match rejection {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(why) => ApiError::bad_request(why).into_response(),
    }
}

/// `POST /es/_bulk`.
pub(crate) async fn bulk(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let format = Format::ElasticBulk(None);
    ingest::ingest(state, caller, query.as_deref(), &headers, body, format).await
}

/// `POST /es/{index}/_bulk`: the path names the default index.
pub(crate) async fn bulk_into(
    State(state): State<AppState>,
    Path(index): Path<String>,
    Caller(caller): Caller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let format = Format::ElasticBulk(Some(index));
    ingest::ingest(state, caller, query.as_deref(), &headers, body, format).await
}

pub(crate) fn bulk_answer(
    outcome: &seqr_shippers::elastic::BulkOutcome,
    took: Duration,
) -> Response {
    let body = seqr_shippers::elastic::bulk_response(outcome, took.as_millis() as u64);
    json(StatusCode::OK, body)
}

/// `GET /es/` (and `HEAD`): the version banner shippers read to pick their API.
pub(crate) async fn root() -> Response {
    json(StatusCode::OK, seqr_shippers::elastic::root_info())
}

/// `GET /es/_cluster/health`: Vector's health check.
pub(crate) async fn cluster_health() -> Response {
    json(StatusCode::OK, seqr_shippers::elastic::cluster_health())
}

/// `GET /es/_license`: asked by Beats before they send.
pub(crate) async fn license() -> Response {
    json(StatusCode::OK, seqr_shippers::elastic::license())
}

/// `GET /es/_xpack`: asked by Beats before they send.
pub(crate) async fn xpack() -> Response {
    json(StatusCode::OK, seqr_shippers::elastic::xpack())
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Elastic's own clients (and Beats since 7.14) refuse a server whose answers lack
/// `X-Elastic-Product: Elasticsearch`; every answer under `/es` carries it, errors included.
pub(crate) async fn elastic_product_header(request: Request, next: Next) -> Response {
    let elastic = request.uri().path() == "/es" || request.uri().path().starts_with("/es/");
    let mut response = next.run(request).await;
    if elastic {
        response.headers_mut().insert(
            "x-elastic-product",
            HeaderValue::from_static("Elasticsearch"),
        );
    }
    response
}

/// A body that is not a push request: 400 with the decoder's explanation.
pub(crate) fn decode_error(e: &seqr_shippers::DecodeError) -> ApiError {
    ApiError::bad_request(e.to_string())
}
