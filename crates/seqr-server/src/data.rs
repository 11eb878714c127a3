//! `api/data`: SQL-style queries (seq-compat 2.6, 2.8).
//!
//! `GET` or `POST api/data?q=&rangeStartUtc=&rangeEndUtc=&signal=&timeoutMS=&trace=&format=`,
//! the `POST` body being an `EvaluationContextPart` (`{"Signal":null,"Variables":{..}}`) or,
//! from older Seq.Api versions, an empty unsaved `SignalEntity`. The answer is Seq's
//! `QueryResultPart` (`Columns` and one of `Rows`/`Slices`/`Series`, `Variables` after
//! `into`, `Statistics`), or CSV with `format=text/csv`.
//!
//! - The range is `[rangeStartUtc, rangeEndUtc)`; the end defaults to the current time, as
//!   Seq documents. The caller's view filter is AND-ed with the query's `where`.
//! - An invalid query is a 400 with `{"Error","Reasons","Suggestion"}`, the shape Seq.Api's
//!   `TryQueryAsync` reads. A query over its memory budget is a 400 too (running it again
//!   will not help). A query past its `timeoutMS` (default 30 s, at most 5 min) is a 503 with
//!   `Retry-After`, as is a request beyond the cap on queries running at once.
//! - The scan runs on a blocking thread, paging the store newest first; when the client goes
//!   away the request future is dropped, which sets the query's cancellation flag, and the
//!   scan stops at its next check.
//! - A counting query ([`Plan::counting`]) whose view filter is exact too is counted by the
//!   store from its columns ([`Store::count`]); only the events the columns cannot decide
//!   are evaluated here.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use seqr_query::Variables;
use seqr_query::query::{
    Execution, Flow, Plan, QueryError, QueryErrorKind, QueryOptions, QueryResult,
};
use seqr_store::{CountError, CountRequest, Predicate, SearchRequest, SearchStatus, Store};
use seqr_types::{StoredEvent, Timestamp};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::enforce::Principal;
use crate::auth::rules::Caller;
use crate::error::ApiError;
use crate::filters::ReadFilter;
use crate::query;

/// `timeoutMS` when none is given.
const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// The longest `timeoutMS` honoured; longer requests are clamped to it.
const MAX_TIMEOUT_MS: u64 = 300_000;
/// Matching events returned by one store call.
const PAGE: usize = 4096;
/// Events examined by one store call, so cancellation is noticed between calls even when
/// few events match.
const SCAN_PER_CALL: usize = 65_536;
/// Seconds a client is asked to wait after a 503.
const RETRY_AFTER_SECONDS: u32 = 5;

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
    run(&state, &caller, raw.as_deref(), Variables::new()).await
}

/// `POST api/data?q=…` with an `EvaluationContextPart` body.
pub(crate) async fn query_post(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let variables = evaluation_context(&body)?;
    run(&state, &caller.0, raw.as_deref(), variables).await
}

/// The request's parameters.
#[derive(Debug, Default, PartialEq)]
struct Params {
    q: Option<String>,
    range_start: Option<Timestamp>,
    range_end: Option<Timestamp>,
    timeout_ms: Option<u64>,
    csv: bool,
}

impl Params {
    fn parse(raw: Option<&str>) -> Result<Params, ApiError> {
        let mut p = Params::default();
        for (key, value) in query::pairs(raw.unwrap_or("")) {
            match key.to_ascii_lowercase().as_str() {
                "q" => p.q = Some(value),
                "rangestartutc" => p.range_start = parse_date(&key, value.trim())?,
                "rangeendutc" => p.range_end = parse_date(&key, value.trim())?,
                "timeoutms" if !value.trim().is_empty() => {
                    let ms: u64 = value.trim().parse().ok().filter(|ms| *ms > 0).ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "`{key}` must be a whole number of milliseconds greater than zero, not `{value}`."
                        ))
                    })?;
                    p.timeout_ms = Some(ms);
                }
                "format" => {
                    let f = value.trim().to_ascii_lowercase();
                    p.csv = f == "text/csv" || f == "csv";
                }
                "signal" if !value.trim().is_empty() => {
                    return Err(ApiError::bad_request(
                        "The `signal` parameter is not supported: signals are not supported by \
                         this seqr build yet. Put the signal's filter in the query's `where` clause instead.",
                    ));
                }
                // `trace` and unknown parameters change nothing a caller can observe.
                _ => {}
            }
        }
        Ok(p)
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(
            self.timeout_ms
                .unwrap_or(DEFAULT_TIMEOUT_MS)
                .min(MAX_TIMEOUT_MS),
        )
    }
}

fn parse_date(key: &str, value: &str) -> Result<Option<Timestamp>, ApiError> {
    if value.is_empty() {
        return Ok(None);
    }
    Timestamp::parse(value)
        .map(Some)
        .map_err(|e| ApiError::bad_request(format!("`{key}`: {e}.")))
}

/// The variables of an `EvaluationContextPart` body. Older Seq.Api versions post an unsaved
/// `SignalEntity` instead, empty unless the caller built one.
fn evaluation_context(body: &[u8]) -> Result<Variables, ApiError> {
    let mut variables = Variables::new();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(variables);
    }
    let context: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "The body must be an evaluation context such as {{\"Signal\":null,\"Variables\":{{}}}}: {e}."
        ))
    })?;
    let Value::Object(members) = context else {
        return Err(ApiError::bad_request(
            "The body must be an evaluation context object such as {\"Signal\":null,\"Variables\":{}}.",
        ));
    };
    let member = |name: &str| {
        members
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let unsaved_signal = member("Signal").is_some_and(|s| !s.is_null())
        || member("Filters").is_some_and(|f| f.as_array().is_some_and(|a| !a.is_empty()));
    if unsaved_signal {
        return Err(ApiError::bad_request(
            "Unsaved signals in the evaluation context are not supported: signals are not \
             supported by this seqr build yet.",
        ));
    }
    match member("Variables") {
        None | Some(Value::Null) => {}
        Some(Value::Object(vars)) => {
            for (name, value) in vars {
                let name = name.strip_prefix('$').unwrap_or(name);
                let value = seqr_query::Value::from_json(value).unwrap_or(seqr_query::Value::Null);
                variables.insert(name.to_string(), value);
            }
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "`Variables` must be an object of names and values, such as {\"city\":\"Brisbane\"}.",
            ));
        }
    }
    Ok(variables)
}

/// Sets the query's cancellation flag when dropped: when the request future is dropped
/// because the client went away, the blocking scan stops.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Queries running at once, beyond which requests are refused with 503: each one holds a
/// blocking thread for up to its timeout.
fn running_queries() -> &'static Arc<tokio::sync::Semaphore> {
    static RUNNING: OnceLock<Arc<tokio::sync::Semaphore>> = OnceLock::new();
    RUNNING.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(4, |n| n.get());
        Arc::new(tokio::sync::Semaphore::new((cpus * 2).max(8)))
    })
}

enum Failure {
    Query(QueryError),
    Api(ApiError),
}

impl From<QueryError> for Failure {
    fn from(e: QueryError) -> Failure {
        Failure::Query(e)
    }
}

struct Outcome {
    result: QueryResult,
    scanned: u64,
    matched: u64,
}

async fn run(
    state: &AppState,
    caller: &Principal,
    raw: Option<&str>,
    variables: Variables,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let params = Params::parse(raw)?;
    let Some(text) = params.q.as_deref().filter(|q| !q.trim().is_empty()) else {
        return Err(ApiError::bad_request(
            "The `q` parameter is required: a query such as `select count(*) from stream`.",
        ));
    };
    let view = ReadFilter::new(caller, None)?;
    let now = Timestamp::now();
    let timeout = params.timeout();
    let cancel = Arc::new(AtomicBool::new(false));
    let _cancel_on_drop = CancelOnDrop(cancel.clone());
    let options = QueryOptions {
        now_ticks: now.ticks(),
        range_start: params.range_start.map(Timestamp::ticks),
        range_end: Some(params.range_end.unwrap_or(now).ticks()),
        limits: Default::default(),
        deadline: Some(started + timeout),
        cancel: Some(cancel),
    };
    let plan = match Plan::new(text, &variables, &options) {
        Ok(plan) => plan,
        Err(e) => return Ok(query_error(e, text, timeout)),
    };
    let Ok(_permit) = running_queries().clone().try_acquire_owned() else {
        return Err(ApiError::unavailable(
            "The server is currently processing several long-running queries; your request was \
             cancelled to prevent I/O exhaustion. Try again shortly.",
            RETRY_AFTER_SECONDS,
        ));
    };
    let store = state.store.clone();
    let csv = params.csv;
    let outcome = tokio::task::spawn_blocking(move || scan(&store, &plan, &view))
        .await
        .map_err(|_| ApiError::internal("The query failed."))?;
    let outcome = match outcome {
        Ok(o) => o,
        Err(Failure::Api(e)) => return Err(e),
        Err(Failure::Query(e)) => return Ok(query_error(e, text, timeout)),
    };
    if csv {
        return Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            outcome.result.to_csv(),
        )
            .into_response());
    }
    let mut body = outcome.result.to_json();
    let elapsed_ms = (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
    body.insert(
        "Statistics".into(),
        json!({
            "ElapsedMilliseconds": elapsed_ms,
            "ScannedEventCount": outcome.scanned,
            "MatchingEventCount": outcome.matched,
        }),
    );
    Ok(Json(Value::Object(body)).into_response())
}

/// Runs the plan over the store: newest first, in pages, with the view filter and the
/// query's `where` evaluated by the store as it reads.
fn scan(store: &Store, plan: &Plan, view: &ReadFilter) -> Result<Outcome, Failure> {
    let mut execution = plan.start();
    let scanned = AtomicU64::new(0);
    if plan.reads_events() {
        let (mut from, mut to) = plan.time_range();
        let (view_from, view_to) = view.time_range();
        if let Some(f) = view_from {
            from = Some(from.map_or(f.ticks(), |x| x.max(f.ticks())));
        }
        if let Some(t) = view_to {
            to = Some(to.map_or(t.ticks(), |x| x.min(t.ticks())));
        }
        let empty = matches!((from, to), (Some(f), Some(t)) if f >= t);
        let matches = |e: &StoredEvent| {
            scanned.fetch_add(1, Ordering::Relaxed);
            view.matches(e) && plan.accepts(e)
        };
        let mut predicates = view.predicates();
        predicates.extend_from_slice(plan.predicates());
        if !empty && let Some(exact) = counting_predicates(plan, view) {
            let decided = count(store, plan, &mut execution, (from, to), &exact, &matches)?;
            scanned.fetch_add(decided, Ordering::Relaxed);
        } else if !empty {
            page_through(
                store,
                plan,
                &mut execution,
                (from, to),
                &matches,
                &predicates,
            )?;
        }
    }
    let matched = execution.events_fed();
    let result = execution.finish()?;
    Ok(Outcome {
        result,
        scanned: scanned.into_inner(),
        matched,
    })
}

/// The view filter and the query's `where` as one exact conjunction, when the query can be
/// answered by counting (see [`Plan::counting`]).
fn counting_predicates(plan: &Plan, view: &ReadFilter) -> Option<Vec<Predicate>> {
    let shape = plan.counting()?;
    let mut all = view.exact_predicates()?;
    all.extend_from_slice(&shape.predicates);
    Some(all)
}

/// Answers a counting query: the store counts what its columns decide, and the events they
/// cannot are fed to the execution as a scan would.
fn count(
    store: &Store,
    plan: &Plan,
    execution: &mut Execution<'_>,
    (from, to): (Option<i64>, Option<i64>),
    predicates: &[Predicate],
    matches: &(dyn Fn(&StoredEvent) -> bool + Sync),
) -> Result<u64, Failure> {
    let shape = plan.counting().expect("a counting plan");
    let cancel = plan.options().cancel.clone();
    let request = CountRequest {
        from: from.map(Timestamp::from_ticks),
        to: to.map(Timestamp::from_ticks),
        predicates,
        keys: &shape.keys,
        slice: shape.time_slice,
        max_groups: plan.options().limits.max_groups,
        deadline: plan.options().deadline,
        cancel: cancel.as_deref(),
    };
    let mut failed: Option<QueryError> = None;
    let outcome = store.count(&request, &mut |e| {
        if matches(&e)
            && let Err(err) = execution.feed(&e)
        {
            failed = Some(err);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    if let Some(e) = failed {
        return Err(e.into());
    }
    let report = match outcome {
        Ok(r) => r,
        Err(CountError::Stopped) => {
            execution.check()?;
            return Err(Failure::Api(ApiError::internal("The query stopped early.")));
        }
        Err(CountError::TooManyGroups) => return Err(QueryError::budget().into()),
        Err(CountError::Read(e)) => {
            tracing::error!(error = %e, "query count failed");
            return Err(Failure::Api(ApiError::internal(
                "The query failed reading stored events; see the server log.",
            )));
        }
    };
    for g in report.groups {
        execution.add_count(g.slice, g.keys, g.count)?;
    }
    Ok(report.decided)
}

/// Feeds the events of `[from, to)` that `matches` accepts, newest first, until the store has
/// no more or the execution needs no more.
fn page_through(
    store: &Store,
    plan: &Plan,
    execution: &mut Execution<'_>,
    (from, to): (Option<i64>, Option<i64>),
    matches: &(dyn Fn(&StoredEvent) -> bool + Sync),
    predicates: &[Predicate],
) -> Result<(), Failure> {
    let mut after = None;
    loop {
        execution.check()?;
        let request = SearchRequest {
            count: PAGE,
            after_id: after,
            start_at_id: None,
            from: from.map(Timestamp::from_ticks),
            to: to.map(Timestamp::from_ticks),
            scan_limit: Some(SCAN_PER_CALL),
            deadline: plan.options().deadline,
            filter: Some(matches),
            predicates,
        };
        let page = store.search(&request).map_err(|e| {
            tracing::error!(error = %e, "query scan failed");
            Failure::Api(ApiError::internal(
                "The query failed reading stored events; see the server log.",
            ))
        })?;
        for e in &page.events {
            if execution.feed(e)? == Flow::Done {
                return Ok(());
            }
        }
        if page.status == SearchStatus::Complete {
            return Ok(());
        }
        match page.last_read {
            Some(id) => after = Some(id),
            None => return Ok(()),
        }
    }
}

/// A query that cannot run: 400 with Seq's `{Error, Reasons, Suggestion}` (plus seqr's
/// `ErrorSpan`, the UTF-16 offset of the position in `text`, for the search bar's squiggle),
/// or 503 when it ran out of time.
fn query_error(e: QueryError, text: &str, timeout: Duration) -> Response {
    match e.kind {
        QueryErrorKind::Timeout | QueryErrorKind::Cancelled => ApiError::unavailable(
            format!(
                "The query did not complete within its timeout of {} ms; narrow the time range \
                 or the `where` clause, or pass a longer `timeoutMS` (at most {MAX_TIMEOUT_MS}).",
                timeout.as_millis()
            ),
            RETRY_AFTER_SECONDS,
        )
        .into_response(),
        QueryErrorKind::Invalid | QueryErrorKind::Budget => {
            let mut body = serde_json::Map::new();
            body.insert("Error".into(), Value::String(e.message));
            body.insert("Reasons".into(), json!(e.reasons));
            if let Some(s) = e.suggestion {
                body.insert("Suggestion".into(), Value::String(s));
            }
            if let Some(position) = e.position {
                let start: usize = text
                    .chars()
                    .take(position.saturating_sub(1))
                    .map(char::len_utf16)
                    .sum();
                body.insert(
                    "ErrorSpan".into(),
                    json!({ "Start": start, "End": start + 1 }),
                );
            }
            (StatusCode::BAD_REQUEST, Json(Value::Object(body))).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_parse_case_insensitively() {
        let p = Params::parse(Some(
            "q=select%201&RangeStartUtc=2026-01-01T00:00:00.0000000Z&rangeEndUtc=&timeoutMS=1000&trace=true&format=text%2Fcsv&signal=",
        ))
        .unwrap();
        assert_eq!(p.q.as_deref(), Some("select 1"));
        assert!(p.range_start.is_some() && p.range_end.is_none());
        assert_eq!(p.timeout(), Duration::from_secs(1));
        assert!(p.csv);
        let p = Params::parse(Some("timeoutMS=99999999")).unwrap();
        assert_eq!(p.timeout(), Duration::from_millis(MAX_TIMEOUT_MS));
        assert_eq!(
            Params::parse(None).unwrap().timeout(),
            Duration::from_millis(DEFAULT_TIMEOUT_MS)
        );
        for bad in [
            "timeoutMS=0",
            "timeoutMS=x",
            "rangeStartUtc=yesterday",
            "signal=signal-1",
        ] {
            let e = Params::parse(Some(bad)).unwrap_err();
            assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[test]
    fn dropping_the_request_cancels_the_query() {
        let flag = Arc::new(AtomicBool::new(false));
        drop(CancelOnDrop(flag.clone()));
        assert!(flag.load(Ordering::Relaxed));
    }

    #[test]
    fn evaluation_contexts() {
        assert!(evaluation_context(b"").unwrap().is_empty());
        assert!(
            evaluation_context(br#"{"Signal":null,"Variables":null}"#)
                .unwrap()
                .is_empty()
        );
        let v = evaluation_context(br#"{"Signal":null,"Variables":{"$city":"Brisbane","n":2}}"#)
            .unwrap();
        assert_eq!(v["city"], seqr_query::Value::String("Brisbane".into()));
        assert_eq!(v["n"], seqr_query::Value::from_i64(2));
        // Seq.Api before EvaluationContextPart posts an empty SignalEntity.
        let old = br#"{"Title":"New Signal","Description":null,"Filters":[],"TaggedProperties":[],"IsWatched":false,"IsProtected":false,"Grouping":"Inferred","ExplicitGroupName":null,"Id":null,"Links":{}}"#;
        assert!(evaluation_context(old).unwrap().is_empty());
        for bad in [
            &br#"{"Signal":{"Title":"x","Filters":[]}}"#[..],
            br#"{"Filters":[{"Filter":"A = 1"}]}"#,
            br#"{"Variables":[1]}"#,
            b"[]",
            b"{",
        ] {
            let e = evaluation_context(bad).unwrap_err();
            assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        }
    }
}
