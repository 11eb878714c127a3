//! `api/backups` (all System): list, inspect, download and delete the backups in the backup
//! location, and `POST api/backups/immediate`, which makes one now and answers its bytes.

use std::io::Read;
use std::path::PathBuf;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use seqr_meta::audit::AuditOutcome;
use serde_json::{Value, json};

use super::{BackupInfo, BackupSource, PREFIX, SUFFIX};
use crate::AppState;
use crate::auth::enforce::{ClientAddress, record};
use crate::auth::rules::Caller;
use crate::error::{ApiError, on_blocking_pool};

/// Bytes sent per body chunk of a download.
const DOWNLOAD_CHUNK: usize = 256 * 1024;

fn id_of(filename: &str) -> String {
    let stamp = filename
        .strip_prefix(PREFIX)
        .and_then(|s| s.strip_suffix(SUFFIX))
        .unwrap_or(filename);
    format!("backup-{stamp}")
}

fn filename_of(id: &str) -> String {
    let stamp = id.strip_prefix("backup-").unwrap_or(id);
    format!("{PREFIX}{stamp}{SUFFIX}")
}

/// Seq's `BackupEntity`, with a `Download` link.
fn entity(b: &BackupInfo) -> Value {
    let id = id_of(&b.filename);
    json!({
        "Id": id,
        "CreatedAt": b.created_at.to_iso(),
        "Filename": b.filename,
        "FileSizeBytes": b.size,
        "Links": {
            "Self": format!("api/backups/{id}"),
            "Download": format!("api/backups/files/{}", b.filename),
        },
    })
}

fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "{what} failed");
    ApiError::internal(format!("{what} failed: {e}"))
}

const FAILED: &str = "The backup operation failed because of a server problem.";

fn location(state: &AppState) -> PathBuf {
    super::location(&state.meta, &state.backups.data_dir)
}

/// `GET api/backups/resources`.
pub(crate) async fn resources() -> Json<Value> {
    Json(json!({
        "Links": {
            "Items": "api/backups/",
            "Item": "api/backups/{id}",
            "Immediate": "api/backups/immediate",
        }
    }))
}

/// `GET api/backups`: the backups in the backup location, newest first.
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let at = location(&state);
    let all = on_blocking_pool(FAILED, move || super::list(&at))
        .await?
        .map_err(|e| internal("Listing the backups", e))?;
    Ok(Json(Value::Array(all.iter().map(entity).collect())))
}

async fn find(state: &AppState, filename: String) -> Result<BackupInfo, ApiError> {
    let at = location(state);
    let shown: String = filename.chars().take(80).collect();
    on_blocking_pool(FAILED, move || super::find(&at, &filename))
        .await?
        .map_err(|e| internal("Reading the backup location", e))?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "No backup `{shown}` exists; `GET api/backups` lists them."
            ))
        })
}

/// `GET api/backups/{id}`.
pub(crate) async fn by_id(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(entity(&find(&state, filename_of(&id)).await?)))
}

/// `DELETE api/backups/{id}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    client: ClientAddress,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let found = find(&state, filename_of(&id)).await?;
    let path = found.path.clone();
    on_blocking_pool(FAILED, move || std::fs::remove_file(path))
        .await?
        .map_err(|e| internal("Deleting the backup", e))?;
    record(
        &state.meta,
        caller.audit_id(),
        client.0,
        "backup.delete",
        Some(&found.filename),
        AuditOutcome::Success,
        json!({}),
    );
    Ok(StatusCode::OK)
}

/// `GET api/backups/files/{filename}`: the file's bytes. Only names of the backup form are
/// looked up, and only in the backup location, so no other file can be reached.
pub(crate) async fn download(
    State(state): State<AppState>,
    Path(filename): Path<String>,
) -> Result<Response, ApiError> {
    let found = find(&state, filename).await?;
    stream_file(found)
}

/// `POST api/backups/immediate`: makes an encrypted backup now, keeps it in the backup
/// location (applying `BackupsToKeep`) and answers its bytes.
pub(crate) async fn immediate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    client: ClientAddress,
) -> Result<Response, ApiError> {
    let made = make_now(&state).await;
    let outcome = if made.is_ok() {
        AuditOutcome::Success
    } else {
        AuditOutcome::Failure
    };
    let target = made.as_ref().ok().map(|b| b.filename.clone());
    record(
        &state.meta,
        caller.audit_id(),
        client.0,
        "backup.create",
        target.as_deref(),
        outcome,
        json!({ "Trigger": "immediate" }),
    );
    stream_file(made?)
}

/// Makes one backup (one at a time) and prunes old ones.
pub(crate) async fn make_now(state: &AppState) -> Result<BackupInfo, ApiError> {
    let _one_at_a_time = state.backups.running.lock().await;
    let (store, meta, key, at, counters) = (
        state.store.clone(),
        state.meta.clone(),
        state.secret_key.clone(),
        location(state),
        state.counters.clone(),
    );
    on_blocking_pool(FAILED, move || {
        // The API keys' ingestion counts as of now, not of the last periodic flush.
        if let Err(e) = counters.flush(&meta) {
            tracing::warn!(error = %e, "storing the API key counters before the backup failed");
        }
        let made = super::create(
            &BackupSource {
                store: &store,
                meta: &meta,
                encrypt_with: Some(&key),
            },
            &at,
        )?;
        let keep = super::backups_to_keep(&meta).max(1);
        if let Err(e) = super::prune(&at, keep) {
            tracing::warn!(error = %e, "could not delete old backups");
        }
        Ok::<_, super::BackupError>(made)
    })
    .await?
    .map_err(|e| internal("Making the backup", e))
}

fn stream_file(b: BackupInfo) -> Result<Response, ApiError> {
    let file = std::fs::File::open(&b.path).map_err(|e| internal("Opening the backup", e))?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut file = file;
        loop {
            let mut buf = vec![0u8; DOWNLOAD_CHUNK];
            match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(b.size));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", b.filename)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
