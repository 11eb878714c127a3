//! `api/data`: SQL-style queries (seq-compat 2.6, 2.8).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::rules::Caller;
use crate::error::ApiError;

/// `GET api/data/resources`.
pub(crate) async fn resources() -> Json<Value> {
    Json(json!({
        "Links": {
            "Query": "api/data{?q,rangeStartUtc,rangeEndUtc,signal,timeoutMS,trace,format}",
        }
    }))
}

/// `GET api/data?q=…`.
pub(crate) async fn query_get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let _ = (state, caller, raw);
    Err(ApiError::bad_request("Queries are not implemented yet."))
}

/// `POST api/data?q=…` with an `EvaluationContextPart` body.
pub(crate) async fn query_post(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _ = body;
    query_get(State(state), caller, RawQuery(raw)).await
}
