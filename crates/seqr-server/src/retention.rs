//! Retention policies: Seq's `api/retentionpolicies` (`RetentionPolicyEntity`, seq-compat 3.6;
//! Project for every verb) and the background task that applies them.
//!
//! A policy deletes events whose timestamp is older than its `RetentionTime` (a .NET `TimeSpan`,
//! against the server's clock). Seq narrows a policy with `RemovedSignalExpression`; signals do
//! not exist in seqr yet, so a policy naming signals is refused, and seqr's `Filter` extension
//! (a strict expression) narrows it instead. Every change is audited.
//!
//! The task runs every [`RetentionSchedule::interval`], one run at a time, each policy in turn:
//! `store.delete` of `[.., now - RetentionTime)` matching the filter, on a blocking thread.
//! Outcomes go to the server log; a failure is retried at the next run.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use seqr_meta::audit::AuditOutcome;
use seqr_meta::retention::{self, PolicySettings, RetentionPolicy, RetentionPolicyError};
use seqr_types::Timestamp;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::enforce::{ClientAddress, record, unix_now};
use crate::auth::rules::Caller;
use crate::error::{ApiError, on_blocking_pool};
use crate::filters::ReadFilter;
use crate::maintenance;
use crate::timespan;

const TICKS_PER_DAY: i64 = 864_000_000_000;
/// The longest retention time accepted: 100 years.
const MAX_RETENTION_DAYS: i64 = 36_500;
/// Longest `Filter` accepted.
const MAX_FILTER_CHARS: usize = 4096;
/// What a new policy starts with (`GET api/retentionpolicies/template`).
const TEMPLATE_RETENTION_DAYS: i64 = 30;

const FAILED: &str =
    "The retention policy could not be read or stored because of a server problem.";

fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "{what} failed");
    ApiError::internal(FAILED)
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "No retention policy with id `{}` exists; `GET api/retentionpolicies` lists them.",
        id.chars().take(80).collect::<String>()
    ))
}

/// The entity as answered.
fn entity(p: &RetentionPolicy) -> Value {
    json!({
        "Id": p.id,
        "RetentionTime": timespan::format(p.retention_ticks),
        "RemovedSignalExpression": null,
        "DataSource": "Stream",
        // seqr extension: the strict expression selecting the events to delete.
        "Filter": p.filter,
        "Links": { "Self": format!("api/retentionpolicies/{}", p.id) },
    })
}

/// Validates a `RetentionPolicyEntity` body into the settings to store.
fn parse_body(body: &[u8], path_id: Option<&str>) -> Result<PolicySettings, ApiError> {
    let part: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "The body must be a RetentionPolicyEntity JSON object such as \
             {{\"RetentionTime\":\"7.00:00:00\"}}: {e}."
        ))
    })?;
    let Value::Object(part) = part else {
        return Err(ApiError::bad_request(
            "The body must be a RetentionPolicyEntity JSON object such as \
             {\"RetentionTime\":\"7.00:00:00\"}.",
        ));
    };
    let member = |name: &str| part.get(name).filter(|v| !v.is_null());
    if let (Some(path_id), Some(sent)) = (path_id, member("Id").and_then(Value::as_str))
        && sent != path_id
    {
        return Err(ApiError::bad_request(format!(
            "The body's `Id` is `{}` but the path names `{path_id}`.",
            sent.chars().take(80).collect::<String>()
        )));
    }
    let names_signals = member("RemovedSignalExpression").is_some()
        || member("SignalId")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
    if names_signals {
        return Err(ApiError::bad_request(
            "RemovedSignalExpression: this seqr version has no signals yet (they arrive in a \
             later version), so a policy cannot delete the events of a signal. Give the events \
             to delete as a strict filter expression in `Filter` (a seqr extension), e.g. \
             \"Filter\": \"@Level = 'Debug'\", or leave both out to delete every event older \
             than RetentionTime.",
        ));
    }
    match member("DataSource").map(|v| v.as_str()) {
        None => {}
        Some(Some(s)) if s.eq_ignore_ascii_case("Stream") => {}
        Some(Some(s)) if s.eq_ignore_ascii_case("Series") => {
            return Err(ApiError::bad_request(
                "DataSource: seqr stores no metrics (`Series`) yet; retention policies apply to \
                 the event `Stream`.",
            ));
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "DataSource must be `Stream` (events); `Series` (metrics) is not stored by seqr \
                 yet.",
            ));
        }
    }
    let retention_ticks = match member("RetentionTime") {
        None => {
            return Err(ApiError::bad_request(
                "A retention policy needs a `RetentionTime`, the age at which events are deleted, \
                 as a .NET TimeSpan such as \"7.00:00:00\" (7 days) or \"12:00:00\" (12 hours).",
            ));
        }
        Some(Value::String(text)) => timespan::parse(text).ok_or_else(|| {
            ApiError::bad_request(format!(
                "RetentionTime `{}` is not a .NET TimeSpan; write days.hours:minutes:seconds, \
                 e.g. \"7.00:00:00\" (7 days) or \"12:00:00\" (12 hours).",
                text.chars().take(40).collect::<String>()
            ))
        })?,
        Some(_) => {
            return Err(ApiError::bad_request(
                "RetentionTime must be a string holding a .NET TimeSpan, e.g. \"7.00:00:00\" \
                 (7 days).",
            ));
        }
    };
    if retention_ticks <= 0 {
        return Err(ApiError::bad_request(format!(
            "RetentionTime must be positive (it is the age at which events are deleted), not `{}`.",
            timespan::format(retention_ticks)
        )));
    }
    if retention_ticks > MAX_RETENTION_DAYS * TICKS_PER_DAY {
        return Err(ApiError::bad_request(format!(
            "RetentionTime must be at most {MAX_RETENTION_DAYS}.00:00:00 (100 years); to keep \
             events forever, have no policy that covers them."
        )));
    }
    let filter = match member("Filter") {
        None => None,
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(Value::String(text)) => {
            let text = text.trim();
            if text.chars().count() > MAX_FILTER_CHARS {
                return Err(ApiError::bad_request(format!(
                    "Filter: at most {MAX_FILTER_CHARS} characters."
                )));
            }
            seqr_query::Filter::parse(text).map_err(|e| {
                ApiError::bad_request(format!(
                    "Filter is not a valid strict expression (free text must be converted with \
                     `api/expressions/tostrict` first). {e}"
                ))
            })?;
            Some(text.to_owned())
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "Filter must be a string holding a strict expression, e.g. \"@Level = 'Debug'\".",
            ));
        }
    };
    Ok(PolicySettings {
        retention_ticks,
        filter,
    })
}

fn audit_detail(p: &RetentionPolicy) -> Value {
    json!({
        "RetentionTime": timespan::format(p.retention_ticks),
        "Filter": p.filter,
    })
}

/// `GET api/retentionpolicies`.
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let db = state.meta.clone();
    let policies = on_blocking_pool(FAILED, move || retention::list(&db))
        .await?
        .map_err(|e| internal("listing retention policies", e))?;
    Ok(Json(Value::Array(policies.iter().map(entity).collect())))
}

/// `GET api/retentionpolicies/{id}`.
pub(crate) async fn by_id(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (db, key) = (state.meta.clone(), id.clone());
    let found = on_blocking_pool(FAILED, move || retention::get(&db, &key))
        .await?
        .map_err(|e| internal("reading a retention policy", e))?;
    found
        .map(|p| Json(entity(&p)))
        .ok_or_else(|| not_found(&id))
}

/// `GET api/retentionpolicies/template`: a new policy to fill in.
pub(crate) async fn template() -> Json<Value> {
    Json(json!({
        "Id": null,
        "RetentionTime": timespan::format(TEMPLATE_RETENTION_DAYS * TICKS_PER_DAY),
        "RemovedSignalExpression": null,
        "DataSource": "Stream",
        "Filter": null,
        "Links": { "Create": "api/retentionpolicies/" },
    }))
}

/// `POST api/retentionpolicies`: 201 with the new policy.
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    client: ClientAddress,
    body: Bytes,
) -> Result<Response, ApiError> {
    let settings = parse_body(&body, None)?;
    let db = state.meta.clone();
    let by = caller.audit_id().map(str::to_owned);
    let created = on_blocking_pool(FAILED, move || {
        retention::create(&db, &settings, by.as_deref(), unix_now())
    })
    .await?
    .map_err(|e| internal("creating a retention policy", e))?;
    record(
        &state.meta,
        caller.audit_id(),
        client.0,
        "retentionpolicy.create",
        Some(&created.id),
        AuditOutcome::Success,
        audit_detail(&created),
    );
    tracing::info!(policy = %created.id, retention = %timespan::format(created.retention_ticks), filter = created.filter.as_deref(), "retention policy created");
    Ok((StatusCode::CREATED, Json(entity(&created))).into_response())
}

/// `PUT api/retentionpolicies/{id}`: replaces the retention time and filter.
pub(crate) async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    client: ClientAddress,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let (db, key) = (state.meta.clone(), id.clone());
    let before = on_blocking_pool(FAILED, move || retention::get(&db, &key))
        .await?
        .map_err(|e| internal("reading a retention policy", e))?
        .ok_or_else(|| not_found(&id))?;
    let settings = parse_body(&body, Some(&id))?;
    let (db, key) = (state.meta.clone(), id.clone());
    let by = caller.audit_id().map(str::to_owned);
    let updated = on_blocking_pool(FAILED, move || {
        retention::update(&db, &key, &settings, by.as_deref(), unix_now())
    })
    .await?
    .map_err(|e| match e {
        RetentionPolicyError::NotFound => not_found(&id),
        other => internal("changing a retention policy", other),
    })?;
    let mut detail = audit_detail(&updated);
    detail["Previous"] = audit_detail(&before);
    record(
        &state.meta,
        caller.audit_id(),
        client.0,
        "retentionpolicy.update",
        Some(&id),
        AuditOutcome::Success,
        detail,
    );
    Ok(Json(entity(&updated)))
}

/// `DELETE api/retentionpolicies/{id}` (Seq.Api sends the entity as the body; it is ignored).
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    client: ClientAddress,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (db, key) = (state.meta.clone(), id.clone());
    let removed = on_blocking_pool(FAILED, move || retention::delete(&db, &key))
        .await?
        .map_err(|e| match e {
            RetentionPolicyError::NotFound => not_found(&id),
            other => internal("deleting a retention policy", other),
        })?;
    record(
        &state.meta,
        caller.audit_id(),
        client.0,
        "retentionpolicy.delete",
        Some(&id),
        AuditOutcome::Success,
        audit_detail(&removed),
    );
    Ok(StatusCode::OK)
}

/// `GET api/retentionpolicies/resources`.
pub(crate) async fn resources() -> Json<Value> {
    Json(json!({
        "Links": {
            "Items": "api/retentionpolicies/",
            "Item": "api/retentionpolicies/{id}",
            "Template": "api/retentionpolicies/template",
        }
    }))
}

// The background task.

/// How often the retention task runs by default.
pub const DEFAULT_RETENTION_INTERVAL: Duration = Duration::from_secs(600);
/// The first run comes this soon after start (or after one interval, if that is shorter), so
/// a server restarted more often than the interval still applies its policies.
const FIRST_RUN_DELAY: Duration = Duration::from_secs(60);

/// When the retention task runs.
#[derive(Clone, Debug)]
pub struct RetentionSchedule {
    /// Time between runs (at least one millisecond is used).
    pub interval: Duration,
    /// Lets a caller ask for a run at once and wait for it (tests).
    pub trigger: Option<RetentionTrigger>,
}

impl Default for RetentionSchedule {
    fn default() -> Self {
        RetentionSchedule {
            interval: DEFAULT_RETENTION_INTERVAL,
            trigger: None,
        }
    }
}

/// Asks the retention task for an immediate run. Cheap to clone; give one to
/// [`RetentionSchedule::trigger`] and keep a clone.
#[derive(Clone, Default)]
pub struct RetentionTrigger {
    inner: Arc<TriggerInner>,
}

#[derive(Default)]
struct TriggerInner {
    notify: tokio::sync::Notify,
    /// Runs requested and runs finished, by generation.
    progress: Mutex<(u64, u64)>,
    finished: Condvar,
}

impl std::fmt::Debug for RetentionTrigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RetentionTrigger")
    }
}

impl RetentionTrigger {
    /// Requests a run and blocks until one that started after the request has finished; false
    /// when that takes longer than `timeout`. Call it from outside the server's runtime.
    pub fn run_now(&self, timeout: Duration) -> bool {
        let target = {
            let mut p = self.lock();
            p.0 += 1;
            p.0
        };
        self.inner.notify.notify_one();
        let deadline = Instant::now() + timeout;
        let mut p = self.lock();
        while p.1 < target {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            p = self
                .inner
                .finished
                .wait_timeout(p, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, u64)> {
        self.inner
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

async fn requested(trigger: Option<&RetentionTrigger>) {
    match trigger {
        Some(t) => t.inner.notify.notified().await,
        None => std::future::pending().await,
    }
}

/// Runs the retention task until `stop` turns true (it finishes the policy in hand first).
pub(crate) async fn run_periodically(
    state: AppState,
    schedule: RetentionSchedule,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let interval = schedule.interval.max(Duration::from_millis(1));
    let first = tokio::time::Instant::now() + interval.min(FIRST_RUN_DELAY);
    let mut tick = tokio::time::interval_at(first, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let trigger = schedule.trigger.as_ref();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = requested(trigger) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        // Every request made before this point is served by this run.
        let generation = trigger.map(|t| t.lock().0);
        apply_all(&state, &stop).await;
        if let (Some(t), Some(g)) = (trigger, generation) {
            let mut p = t.lock();
            p.1 = p.1.max(g);
            t.inner.finished.notify_all();
        }
        if *stop.borrow() {
            break;
        }
    }
}

/// One run: every policy, in id order.
async fn apply_all(state: &AppState, stop: &tokio::sync::watch::Receiver<bool>) {
    let db = state.meta.clone();
    let policies = match tokio::task::spawn_blocking(move || retention::list(&db)).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "retention: reading the policies failed; retrying at the next run");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "retention: reading the policies failed; retrying at the next run");
            return;
        }
    };
    for policy in &policies {
        if *stop.borrow() {
            return;
        }
        apply(state, policy).await;
    }
}

async fn apply(state: &AppState, policy: &RetentionPolicy) {
    let filters = match &policy.filter {
        None => Vec::new(),
        Some(text) => match seqr_query::Filter::parse(text) {
            Ok(f) => vec![f],
            Err(e) => {
                tracing::error!(policy = %policy.id, error = %e, "retention: the policy's filter no longer compiles, so the policy is skipped; correct it with PUT api/retentionpolicies/{{id}}");
                return;
            }
        },
    };
    let Some(cutoff) = Timestamp::now()
        .ticks()
        .checked_sub(policy.retention_ticks)
        .filter(|t| *t > 0)
        .map(Timestamp::from_ticks)
    else {
        return;
    };
    let started = Instant::now();
    let outcome = maintenance::delete_events(
        &state.store,
        &state.maintenance,
        None,
        Some(cutoff),
        ReadFilter::of(filters),
    )
    .await;
    match outcome {
        Ok(report) if report.events > 0 => tracing::info!(
            policy = %policy.id,
            older_than = %cutoff.to_iso(),
            filter = policy.filter.as_deref(),
            events = report.events,
            parts_dropped = report.parts_dropped,
            parts_rewritten = report.parts_rewritten,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "retention: removed events"
        ),
        Ok(_) => {
            tracing::debug!(policy = %policy.id, older_than = %cutoff.to_iso(), "retention: nothing to remove")
        }
        Err(e) => tracing::error!(
            policy = %policy.id,
            error = %e,
            "retention: applying the policy failed; retrying at the next run"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(body: Value) -> Result<PolicySettings, String> {
        parse_body(body.to_string().as_bytes(), Some("retentionpolicy-1")).map_err(|e| {
            let response = e.into_response();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            String::new()
        })
    }

    #[test]
    fn bodies_are_validated() {
        let ok = settings(json!({ "RetentionTime": "7.00:00:00", "Filter": " @Level = 'Debug' " }))
            .unwrap();
        assert_eq!(ok.retention_ticks, 7 * TICKS_PER_DAY);
        assert_eq!(ok.filter.as_deref(), Some("@Level = 'Debug'"));
        // Members Seq.Api echoes back are accepted.
        assert!(
            settings(json!({ "Id": "retentionpolicy-1", "RetentionTime": "1.00:00:00", "RemovedSignalExpression": null, "DataSource": "Stream", "Links": { "Self": "x" } }))
                .is_ok()
        );
        for bad in [
            json!({}),
            json!({ "RetentionTime": "soon" }),
            json!({ "RetentionTime": 7 }),
            json!({ "RetentionTime": "00:00:00" }),
            json!({ "RetentionTime": "-1.00:00:00" }),
            json!({ "RetentionTime": "36501.00:00:00" }),
            json!({ "RetentionTime": "1.00:00:00", "RemovedSignalExpression": { "Kind": "Signal", "SignalId": "signal-1" } }),
            json!({ "RetentionTime": "1.00:00:00", "SignalId": "signal-1" }),
            json!({ "RetentionTime": "1.00:00:00", "DataSource": "Series" }),
            json!({ "RetentionTime": "1.00:00:00", "Filter": "@Level = " }),
            json!({ "RetentionTime": "1.00:00:00", "Filter": 3 }),
            json!({ "Id": "retentionpolicy-2", "RetentionTime": "1.00:00:00" }),
            json!([]),
        ] {
            assert!(settings(bad.clone()).is_err(), "{bad}");
        }
    }
}
