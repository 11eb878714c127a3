//! `api/auditlog` (System; a seqr addition, Seq has no such endpoint): the hash-chained record of
//! sign-ins, sign-outs, account, key and setting changes, secret rotations and refusals.
//!
//! Records come oldest first in pages: `?afterId=N&count=M` continues after record `N`.

use axum::Json;
use axum::extract::{RawQuery, State};
use seqr_meta::audit::{self, AuditRecord};
use seqr_types::Timestamp;
use seqr_types::timestamp::{TICKS_PER_SECOND, UNIX_EPOCH_TICKS};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;
use crate::query;

const DEFAULT_COUNT: u32 = 100;
const MAX_COUNT: u32 = 1000;

fn entity(r: &AuditRecord) -> Value {
    let ticks = UNIX_EPOCH_TICKS.saturating_add(r.at_ms.saturating_mul(TICKS_PER_SECOND / 1000));
    let hash: String = r.hash.iter().map(|b| format!("{b:02x}")).collect();
    json!({
        "Id": r.id,
        "Timestamp": Timestamp::from_ticks(ticks).to_iso(),
        "Principal": r.principal,
        "ClientAddress": r.client_address,
        "Action": r.action,
        "Target": r.target,
        "Outcome": r.outcome.as_str(),
        "Detail": r.detail,
        "Hash": hash,
    })
}

fn number(key: &str, value: &str) -> Result<u64, ApiError> {
    value.trim().parse().map_err(|_| {
        ApiError::bad_request(format!("`{key}` must be a whole number, not `{value}`."))
    })
}

/// `GET api/auditlog{?afterId,count}`.
pub(crate) async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let (mut after, mut count) = (0i64, DEFAULT_COUNT);
    for (key, value) in query::pairs(raw.as_deref().unwrap_or("")) {
        if key.eq_ignore_ascii_case("afterId") {
            after = i64::try_from(number(&key, &value)?).unwrap_or(i64::MAX);
        } else if key.eq_ignore_ascii_case("count") {
            count = u32::try_from(number(&key, &value)?)
                .unwrap_or(MAX_COUNT)
                .clamp(1, MAX_COUNT);
        }
    }
    let db = state.meta.clone();
    let records = tokio::task::spawn_blocking(move || audit::list(&db, after, count))
        .await
        .map_err(|_| ApiError::internal("Reading the audit log failed."))?
        .map_err(|e| {
            tracing::error!(error = %e, "audit log read failed");
            ApiError::internal("Reading the audit log failed because of a server problem.")
        })?;
    Ok(Json(Value::Array(records.iter().map(entity).collect())))
}
