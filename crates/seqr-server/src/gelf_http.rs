//! `POST /gelf`: GELF over HTTP, as Graylog's HTTP input takes it: one message per request,
//! plain, gzip or zlib (recognised by its first bytes, because pygelf and graypy label zlib as
//! `Content-Encoding: gzip,deflate`). Answered 202 with no body once the event is durable.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

use crate::AppState;
use crate::auth::rules::Caller;
use crate::error::ApiError;
use crate::ingest::{self, Format};

pub(crate) async fn gelf(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    ingest::ingest(
        state,
        caller,
        query.as_deref(),
        &headers,
        body,
        Format::Gelf,
    )
    .await
}
