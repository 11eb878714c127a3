//! `GET /health`: 200 while the node accepts and serves events, 503 when it cannot; `GET
//! /ready` gives the same verdict as Loki's readiness probe answers it (`ready`, plain text),
//! for shippers and load balancers that probe there (Vector's loki sink, Promtail setups).
//!
//! Damaged storage files moved to quarantine (on open, or when a read found damage) do not
//! stop the node serving the rest, so they keep the answer at 200 but are named in the status
//! text and counted in `quarantinedFiles` (present only when non-zero).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::AppState;

pub(crate) async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match assess(&state) {
        Verdict::Unavailable(status) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": status })),
        ),
        Verdict::InService { quarantined: 0 } => (
            StatusCode::OK,
            Json(json!({ "status": "The seqr node is in service." })),
        ),
        Verdict::InService { quarantined } => (
            StatusCode::OK,
            Json(json!({
                "status": in_service_with_quarantine(quarantined),
                "quarantinedFiles": quarantined,
            })),
        ),
    }
}

/// `GET /ready`: `ready` (200), or why not (503), as plain text.
pub(crate) async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match assess(&state) {
        Verdict::Unavailable(why) => (StatusCode::SERVICE_UNAVAILABLE, why),
        Verdict::InService { .. } => (StatusCode::OK, "ready\n"),
    }
}

enum Verdict {
    Unavailable(&'static str),
    InService { quarantined: usize },
}

fn assess(state: &AppState) -> Verdict {
    let stats = state.store.stats();
    if stats.poisoned.is_some() {
        Verdict::Unavailable("The seqr node has stopped accepting events after a storage failure.")
    } else if state.store.check_space().is_err() {
        Verdict::Unavailable(
            "The seqr node is refusing events: its storage volume is below the minimum free space.",
        )
    } else {
        Verdict::InService {
            quarantined: stats.quarantined,
        }
    }
}

/// The in-service status text when `n` (> 0) damaged files were quarantined.
fn in_service_with_quarantine(n: usize) -> String {
    let files = if n == 1 { "file was" } else { "files were" };
    format!(
        "The seqr node is in service; {n} damaged storage {files} moved to quarantine \
         (see the server log and api/diagnostics/storage)."
    )
}

#[cfg(test)]
mod tests {
    use super::in_service_with_quarantine;

    #[test]
    fn quarantine_status_text_agrees_in_number() {
        assert_eq!(
            in_service_with_quarantine(1),
            "The seqr node is in service; 1 damaged storage file was moved to quarantine \
             (see the server log and api/diagnostics/storage)."
        );
        assert_eq!(
            in_service_with_quarantine(3),
            "The seqr node is in service; 3 damaged storage files were moved to quarantine \
             (see the server log and api/diagnostics/storage)."
        );
    }
}
