//! `GET /health`: 200 while the node accepts and serves events, 503 when it cannot.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::AppState;

pub(crate) async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let unavailable = |status: &str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": status })),
        )
    };
    if state.store.stats().poisoned.is_some() {
        unavailable("The seqr node has stopped accepting events after a storage failure.")
    } else if state.store.check_space().is_err() {
        unavailable(
            "The seqr node is refusing events: its storage volume is below the minimum free space.",
        )
    } else {
        (
            StatusCode::OK,
            Json(json!({ "status": "The seqr node is in service." })),
        )
    }
}
