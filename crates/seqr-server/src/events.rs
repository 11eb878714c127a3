//! Reading events back: `api/events/signal` (Seq's search with its paging contract), the legacy
//! `api/events` array and `api/events/{id}`; and deleting them: `DELETE api/events/signal`.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use seqr_meta::audit::AuditOutcome;
use seqr_store::{Predicate, SearchRequest, SearchResult, SearchStatus};
use seqr_types::{EventId, StoredEvent, Timestamp};
use serde::Serialize;
use serde_json::Value;

use crate::AppState;
use crate::auth::enforce::{ClientAddress, Principal, record};
use crate::auth::rules::Caller;
use crate::entity::EventEntity;
use crate::error::ApiError;
use crate::filters::{self, ReadFilter};
use crate::{query, timespan};

/// Seq.Api's default page size.
const DEFAULT_COUNT: usize = 30;
/// Larger requests are served in pages of this size (the caller continues with `afterId`).
const MAX_COUNT: usize = 10_000;

/// Search parameters shared by the search routes.
#[derive(Debug, Default)]
struct SearchParams {
    count: Option<usize>,
    after_id: Option<EventId>,
    start_at_id: Option<EventId>,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    render: bool,
    short_circuit_after: Option<usize>,
    filter: Option<String>,
}

impl SearchParams {
    fn parse(raw: Option<&str>) -> Result<SearchParams, ApiError> {
        let mut p = SearchParams::default();
        for (key, value) in query::pairs(raw.unwrap_or("")) {
            let value = value.trim();
            match key.to_ascii_lowercase().as_str() {
                "count" => p.count = Some(parse_number(&key, value)?),
                "afterid" => p.after_id = parse_id(&key, value)?,
                "startatid" => p.start_at_id = parse_id(&key, value)?,
                "fromdateutc" => p.from = parse_date(&key, value)?,
                "todateutc" => p.to = parse_date(&key, value)?,
                "render" => p.render = parse_bool(&key, value)?,
                "shortcircuitafter" => p.short_circuit_after = Some(parse_number(&key, value)?),
                "filter" => p.filter = Some(value.to_string()),
                "signal" if !value.is_empty() => {
                    return Err(signal_unsupported());
                }
                // Accepted for compatibility; they change nothing a caller can observe here.
                _ => {}
            }
        }
        Ok(p)
    }

    fn request<'f>(
        &self,
        deadline: Instant,
        filter: Option<&'f (dyn Fn(&StoredEvent) -> bool + Sync)>,
        predicates: &'f [Predicate],
    ) -> SearchRequest<'f> {
        SearchRequest {
            count: self.count.unwrap_or(DEFAULT_COUNT).min(MAX_COUNT),
            after_id: self.after_id,
            start_at_id: self.start_at_id,
            from: self.from,
            to: self.to,
            scan_limit: self.short_circuit_after,
            deadline: Some(deadline),
            filter,
            predicates,
        }
    }
}

/// Signals do not exist yet: a request naming one is refused rather than run unfiltered.
pub(crate) fn signal_unsupported() -> ApiError {
    ApiError::bad_request(
        "The `signal` parameter is not supported by this seqr build yet: signals arrive in a \
         later version. Pass the signal's expression as `filter` instead.",
    )
}

fn parse_number(key: &str, value: &str) -> Result<usize, ApiError> {
    value.parse().map_err(|_| {
        ApiError::bad_request(format!("`{key}` must be a whole number, not `{value}`."))
    })
}

fn parse_id(key: &str, value: &str) -> Result<Option<EventId>, ApiError> {
    if value.is_empty() {
        return Ok(None);
    }
    value.parse().map(Some).map_err(|_| {
        ApiError::bad_request(format!(
            "`{key}` must be an event id such as event-<32 hex digits>, not `{value}`."
        ))
    })
}

pub(crate) fn parse_date(key: &str, value: &str) -> Result<Option<Timestamp>, ApiError> {
    if value.is_empty() {
        return Ok(None);
    }
    Timestamp::parse(value)
        .map(Some)
        .map_err(|e| ApiError::bad_request(format!("`{key}`: {e}.")))
}

pub(crate) fn parse_bool(key: &str, value: &str) -> Result<bool, ApiError> {
    match value.to_ascii_lowercase().as_str() {
        "" | "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "`{key}` must be true or false, not `{value}`."
        ))),
    }
}

/// The shape a search answers in.
#[derive(Clone, Copy)]
enum Shape {
    /// `{"Events":[..],"Statistics":{..}}` (Seq's `ResultSetPart`).
    ResultSet,
    /// A bare array of events (the legacy `api/events`).
    Array,
}

/// Searches and serializes on a blocking thread: both are CPU work proportional to the page.
async fn run_search(
    state: &AppState,
    caller: &Principal,
    params: SearchParams,
    shape: Shape,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let request_filter = match &params.filter {
        Some(text) => filters::parse_request_filter("filter", text)?,
        None => None,
    };
    let read_filter = ReadFilter::new(caller, request_filter)?;
    let mut params = params;
    let (from, to) = read_filter.time_range();
    params.from = params.from.max(from);
    params.to = match (params.to, to) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let deadline = started + state.search_timeout;
    let render = params.render;
    let store = state.store.clone();
    let body = tokio::task::spawn_blocking(move || {
        let matches = |e: &StoredEvent| read_filter.matches(e);
        let filter: Option<&(dyn Fn(&StoredEvent) -> bool + Sync)> =
            (!read_filter.is_empty()).then_some(&matches);
        let predicates = read_filter.predicates();
        let request = params.request(deadline, filter, &predicates);
        let result = store.search(&request).map_err(|e| {
            tracing::error!(error = %e, "search failed");
            ApiError::internal("The search failed reading stored events; see the server log.")
        })?;
        let events: Vec<EventEntity<'_>> = result
            .events
            .iter()
            .map(|e| EventEntity::new(e, render))
            .collect();
        let bytes = match shape {
            Shape::Array => serde_json::to_vec(&events),
            Shape::ResultSet => serde_json::to_vec(&ResultSet {
                events,
                statistics: Statistics::new(&result, started.elapsed()),
            }),
        };
        bytes.map_err(|_| ApiError::internal("The search results could not be written."))
    })
    .await
    .map_err(|_| ApiError::internal("The search failed."))??;
    Ok(json_response(body))
}

fn json_response(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Seq's `ResultSetPart`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResultSet<'a> {
    events: Vec<EventEntity<'a>>,
    statistics: Statistics,
}

/// Seq's `QueryExecutionStatisticsPart` for searches.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Statistics {
    elapsed: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_read_event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_read_event_timestamp: Option<String>,
    status: &'static str,
}

impl Statistics {
    fn new(result: &SearchResult, elapsed: Duration) -> Statistics {
        Statistics {
            elapsed: timespan::format((elapsed.as_nanos() / 100) as i64),
            last_read_event_id: result.last_read.map(|id| id.to_string()),
            last_read_event_timestamp: result
                .last_read
                .map(|id| Timestamp::from_ticks(id.ticks).to_iso()),
            status: match result.status {
                SearchStatus::Full => "Full",
                SearchStatus::Complete => "Complete",
                _ => "Partial",
            },
        }
    }
}

/// `GET api/events/signal`.
pub(crate) async fn search_get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = SearchParams::parse(raw.as_deref())?;
    run_search(&state, &caller, params, Shape::ResultSet).await
}

/// `POST api/events/signal` with an `EvaluationContextPart` body (`{"Signal":..,"Variables":..}`).
pub(crate) async fn search_post(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_evaluation_context(&body)?;
    search_get(State(state), caller, RawQuery(raw)).await
}

pub(crate) fn check_evaluation_context(body: &[u8]) -> Result<(), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let context: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "The body must be an evaluation context such as {{\"Signal\":null}}: {e}."
        ))
    })?;
    let signal = context.get("Signal").or_else(|| context.get("signal"));
    if signal.is_some_and(|s| !s.is_null()) {
        return Err(ApiError::bad_request(
            "Unsaved signals in the evaluation context are not supported by this seqr build yet.",
        ));
    }
    Ok(())
}

/// `GET api/events`: the legacy form, answering a bare array (seq-logging's tests read it).
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = SearchParams::parse(raw.as_deref())?;
    run_search(&state, &caller, params, Shape::Array).await
}

/// `GET api/events/{id}`.
pub(crate) async fn by_id(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let view = ReadFilter::new(&caller, None)?;
    let not_found = || ApiError::not_found(format!("No event with id `{id}` was found."));
    let Ok(event_id) = id.parse::<EventId>() else {
        return Err(not_found());
    };
    let render = query::pairs(raw.as_deref().unwrap_or(""))
        .find(|(k, _)| k.eq_ignore_ascii_case("render"))
        .map(|(k, v)| parse_bool(&k, v.trim()))
        .transpose()?
        .unwrap_or(false);
    let store = state.store.clone();
    let found = tokio::task::spawn_blocking(move || store.get(event_id))
        .await
        .map_err(|_| ApiError::internal("Reading the event failed."))?
        .map_err(|e| {
            tracing::error!(error = %e, "get failed");
            ApiError::internal("Reading the event failed; see the server log.")
        })?;
    match found {
        // Outside the caller's view filter is indistinguishable from absent.
        Some(stored) if view.matches(&stored) => {
            serde_json::to_vec(&EventEntity::new(&stored, render))
                .map(json_response)
                .map_err(|_| ApiError::internal("The event could not be written."))
        }
        _ => Err(not_found()),
    }
}

/// What `DELETE api/events/signal` removes: Seq's `DeleteInSignal` parameters.
#[derive(Debug, Default)]
struct DeleteParams {
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    filter: Option<String>,
}

impl DeleteParams {
    fn parse(raw: Option<&str>) -> Result<DeleteParams, ApiError> {
        let mut p = DeleteParams::default();
        for (key, value) in query::pairs(raw.unwrap_or("")) {
            let value = value.trim();
            match key.to_ascii_lowercase().as_str() {
                "fromdateutc" => p.from = parse_date(&key, value)?,
                "todateutc" => p.to = parse_date(&key, value)?,
                "filter" => p.filter = Some(value.to_string()).filter(|f| !f.is_empty()),
                "signal" if !value.is_empty() => {
                    return Err(signal_unsupported());
                }
                // These page a search; a delete removes every matching event, so a caller who
                // sends them expects something else than would happen.
                "count" | "afterid" | "startatid" | "shortcircuitafter" if !value.is_empty() => {
                    return Err(ApiError::bad_request(format!(
                        "`{key}` narrows a search, not a delete: `DELETE api/events/signal` removes \
                         every event matching `filter` between `fromDateUtc` and `toDateUtc`."
                    )));
                }
                _ => {}
            }
        }
        Ok(p)
    }
}

/// The body of a delete: Seq.Api sends an `EvaluationContextPart` (`{"Signal":null}`) or, in
/// older versions, an empty `SignalEntity`. An unsaved signal's filters are refused rather than
/// ignored, since ignoring them would delete more than was asked.
fn check_delete_body(body: &[u8]) -> Result<(), ApiError> {
    check_evaluation_context(body)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let context: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "The body must be an evaluation context such as {{\"Signal\":null}}: {e}."
        ))
    })?;
    let filters = context.get("Filters").or_else(|| context.get("filters"));
    if filters
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty())
    {
        return Err(ApiError::bad_request(
            "Unsaved signals are not supported by this seqr build yet; pass the events to delete \
             as a strict expression in the `filter` parameter.",
        ));
    }
    Ok(())
}

/// `DELETE api/events/signal{?signal,filter,fromDateUtc,toDateUtc}` (Project): deletes the
/// matching events for good and answers Seq's empty `DeleteResultPart`, `{}`. The caller's view
/// filter is AND-ed in, so nobody deletes what they cannot see. Audited with the count.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    client: ClientAddress,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = DeleteParams::parse(raw.as_deref())?;
    check_delete_body(&body)?;
    let request_filter = match &params.filter {
        Some(text) => filters::parse_request_filter("filter", text)?,
        None => None,
    };
    let filter = ReadFilter::new(&caller, request_filter)?;
    let mut detail = serde_json::json!({
        "Filter": params.filter,
        "ViewFilter": caller.view_filter(),
        "FromDateUtc": params.from.map(Timestamp::to_iso),
        "ToDateUtc": params.to.map(Timestamp::to_iso),
    });
    let outcome = crate::maintenance::delete_events(
        &state.store,
        &state.maintenance,
        params.from,
        params.to,
        filter,
    )
    .await;
    let report = match outcome {
        Ok(report) => report,
        Err(e) => {
            tracing::error!(error = %e, "deleting events failed");
            detail["Error"] = e.to_string().into();
            record(
                &state.meta,
                caller.audit_id(),
                client.0,
                "events.delete",
                None,
                AuditOutcome::Failure,
                detail,
            );
            return Err(match e {
                crate::maintenance::DeleteFailure::Store(
                    seqr_store::MaintenanceError::FlushTimeout,
                ) => ApiError::unavailable(
                    "The store is busy writing recent events; retry the delete shortly.",
                    30,
                ),
                _ => ApiError::internal(
                    "The events could not be deleted; nothing was removed. See the server log.",
                ),
            });
        }
    };
    detail["Events"] = report.events.into();
    detail["PartsDropped"] = report.parts_dropped.into();
    detail["PartsRewritten"] = report.parts_rewritten.into();
    record(
        &state.meta,
        caller.audit_id(),
        client.0,
        "events.delete",
        None,
        AuditOutcome::Success,
        detail,
    );
    tracing::info!(
        principal = caller.audit_id(),
        filter = params.filter.as_deref(),
        events = report.events,
        "deleted events"
    );
    Ok(json_response(b"{}".to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_parse_case_insensitively() {
        let p = SearchParams::parse(Some(
            "Count=5&afterId=event-00000000000000010000000000000002&render=true&fromDateUtc=2026-01-01T00:00:00.0000000Z&trace=false",
        ))
        .unwrap();
        assert_eq!(p.count, Some(5));
        assert_eq!(
            p.after_id,
            Some(EventId {
                ticks: 1,
                arrival: 2
            })
        );
        assert!(p.render);
        assert!(p.from.is_some());
    }

    #[test]
    fn bad_parameters_are_400_with_the_name() {
        for q in [
            "count=x",
            "afterId=nope",
            "fromDateUtc=yesterday",
            "render=maybe",
            "signal=signal-1",
        ] {
            let e = SearchParams::parse(Some(q)).unwrap_err();
            assert_eq!(e.status(), axum::http::StatusCode::BAD_REQUEST, "{q}");
        }
        assert!(SearchParams::parse(Some("filter=&signal=")).is_ok());
    }

    #[test]
    fn delete_parameters_and_bodies() {
        let p = DeleteParams::parse(Some(
            "filter=A%20%3D%201&fromDateUtc=2026-01-01T00:00:00Z&toDateUtc=2026-01-02T00:00:00Z&signal=",
        ))
        .unwrap();
        assert_eq!(p.filter.as_deref(), Some("A = 1"));
        assert!(p.from.is_some() && p.to.is_some());
        for q in [
            "signal=signal-1",
            "count=10",
            "afterId=event-1",
            "toDateUtc=later",
        ] {
            let e = DeleteParams::parse(Some(q)).unwrap_err();
            assert_eq!(e.status(), axum::http::StatusCode::BAD_REQUEST, "{q}");
        }
        for ok in [
            "",
            " ",
            r#"{"Signal":null,"Variables":{}}"#,
            r#"{"Title":"New Signal","Filters":[]}"#,
        ] {
            assert!(check_delete_body(ok.as_bytes()).is_ok(), "{ok}");
        }
        for bad in [
            r#"{"Signal":{"Filters":[]}}"#,
            r#"{"Filters":[{"Filter":"A = 1"}]}"#,
            "not json",
        ] {
            assert!(check_delete_body(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
