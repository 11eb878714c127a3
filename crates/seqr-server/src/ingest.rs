//! `POST /api/events/raw` and `POST /ingest/clef`: Seq's ingestion endpoints; the OTLP ones
//! (`otlp.rs`) share the pipeline.
//!
//! A request is decoded whole before anything is stored (a bad line rejects the request), then
//! its API key's input settings are applied (seq-compat 1.9: minimum level, applied properties,
//! server timestamps; requests without a key get the default key's), and the events are appended
//! to the store; the 201 is sent only after the fsync that covers them.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use seqr_ingest::{DecompressError, Limits};
use seqr_meta::apikeys::ApiKeyCounts;
use seqr_store::AppendError;
use seqr_types::{CanonicalLevel, Event, Timestamp};

use crate::AppState;
use crate::auth::enforce::{Principal, unix_now};
use crate::auth::keys::VerifiedKey;
use crate::auth::rules::Caller;
use crate::error::ApiError;
use crate::ingestion_log::PartlyRefused;
use crate::metrics::{Input, Reason};

/// The answer every Seq client understands; compact, because Serilog searches for the exact text
/// `"MinimumLevelAccepted":"`.
const ACCEPTED_BODY: &str = r#"{"MinimumLevelAccepted":null}"#;

/// How long a client is asked to wait while the disk is below the minimum free space.
const LOW_DISK_RETRY_SECONDS: u32 = 60;

/// `POST /api/events/raw`: CLEF when `?clef` or a CLEF content type says so, else legacy JSON.
pub(crate) async fn raw(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let format = if seqr_ingest::clef_selected(query.as_deref(), content_type) {
        Format::Clef
    } else {
        Format::Legacy
    };
    ingest(state, caller, query.as_deref(), &headers, body, format).await
}

/// `POST /ingest/clef`: CLEF whatever the content type says.
pub(crate) async fn clef(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    ingest(
        state,
        caller,
        query.as_deref(),
        &headers,
        body,
        Format::Clef,
    )
    .await
}

/// How a request's body is read, and so how it is answered.
#[derive(Clone)]
pub(crate) enum Format {
    Clef,
    Legacy,
    Otlp(OtlpSignal, seqr_otlp::Encoding),
    /// OTLP over gRPC: one length-prefixed protobuf message, answered with gRPC framing.
    OtlpGrpc(OtlpSignal),
    /// One GELF message, its compression recognised by its first bytes.
    Gelf,
    /// A Loki push request (snappy protobuf or JSON).
    Loki(seqr_shippers::loki::Encoding),
    /// An Elasticsearch `_bulk` body, with the index named by the path, if any.
    ElasticBulk(Option<String>),
}

impl Format {
    /// The `input` label its events are counted under.
    fn input(&self) -> Input {
        match self {
            Format::Clef => Input::Clef,
            Format::Legacy => Input::LegacyJson,
            Format::Otlp(..) => Input::OtlpHttp,
            Format::OtlpGrpc(_) => Input::OtlpGrpc,
            Format::Gelf => Input::GelfHttp,
            Format::Loki(_) => Input::Loki,
            Format::ElasticBulk(_) => Input::ElasticBulk,
        }
    }
}

/// What a decoder refused record by record, for the answer.
enum Refusals {
    None,
    Otlp(seqr_otlp::Decoded),
    Loki { rejection: Option<String> },
    Bulk(seqr_shippers::elastic::BulkOutcome),
}

#[derive(Clone, Copy)]
pub(crate) enum OtlpSignal {
    Logs,
    Traces,
}

/// The key whose input settings apply: the verified key, else the tokenless default key. With
/// authentication off a presented key is still honoured for its settings.
fn input_key(
    state: &AppState,
    caller: &Principal,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Arc<VerifiedKey>, ApiError> {
    let unavailable = |e: seqr_meta::DbError| {
        tracing::error!(error = %e, "API key lookup failed");
        ApiError::unavailable("API keys cannot be read right now; retry shortly.", 5)
    };
    if let Principal::ApiKey(key) = caller {
        return Ok(key.clone());
    }
    if let Principal::Unrestricted = caller
        && let Some(token) = crate::auth::credentials::api_key(headers, query)
        && let Some(key) = state
            .auth
            .keys
            .verify(&token, Instant::now())
            .map_err(unavailable)?
    {
        return Ok(key);
    }
    state.auth.keys.default_key().map_err(unavailable)
}

/// Refuses (503, retried by clients) while the storage volume has less free space than the
/// store keeps (`MinimumFreeStorageSpace`, or its default), before the body is even read.
fn check_free_space(state: &AppState, minimum: Option<u64>) -> Result<(), ApiError> {
    state.store.set_min_free_bytes(minimum);
    match state.store.check_space() {
        Err(AppendError::DiskFull { free, minimum }) => Err(disk_full(free, minimum)),
        _ => Ok(()),
    }
}

fn disk_full(free: u64, minimum: u64) -> ApiError {
    tracing::warn!(
        free,
        minimum,
        "refusing events: the storage volume is nearly full"
    );
    ApiError::unavailable(
        format!(
            "The storage volume is nearly full ({free} bytes free; {minimum} are kept free, see \
             the MinimumFreeStorageSpace setting), so the events were not stored. Ingestion \
             resumes by itself once space is freed or the setting is lowered."
        ),
        LOW_DISK_RETRY_SECONDS,
    )
    .because(Reason::LowDisk)
}

/// Ingests one request. The work runs in its own task, so a client that closes its connection
/// right after sending (pygelf and graypy never read the answer) still has its events stored:
/// hyper drops a request's handler when the connection ends, and that must not drop events it
/// has received.
pub(crate) async fn ingest(
    state: AppState,
    caller: Principal,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
    format: Format,
) -> Result<Response, ApiError> {
    let query = query.map(str::to_owned);
    let headers = headers.clone();
    tokio::spawn(async move {
        ingest_request(state, caller, query.as_deref(), &headers, body, format).await
    })
    .await
    .unwrap_or_else(|_| Err(ApiError::internal("Ingestion failed.")))
}

async fn ingest_request(
    state: AppState,
    caller: Principal,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
    format: Format,
) -> Result<Response, ApiError> {
    let key = input_key(&state, &caller, headers, query)?;
    let runtime = state.runtime.get();
    check_free_space(&state, runtime.minimum_free_storage)?;
    let limits = runtime.limits;
    let body = match read_body(headers, body, limits.max_body_bytes).await {
        Ok(body) => body,
        Err(e) => {
            count_invalid(&state, &key);
            return Err(e);
        }
    };
    let _permit = reserve_budget(&state, body.len()).await?;
    let encoding = match format {
        Format::OtlpGrpc(_) => crate::grpc::message_encoding(headers),
        Format::Gelf => String::new(),
        _ => headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
    };

    let decoding = format.clone();
    let started = Instant::now();
    let decoded = tokio::task::spawn_blocking(move || decode(&body, &encoding, decoding, &limits))
        .await
        .map_err(|_| ApiError::internal("Ingestion failed."))?;
    let (events, bytes, refused) = match decoded {
        Ok(d) => d,
        Err(e) => {
            count_invalid(&state, &key);
            return Err(e);
        }
    };
    let partly = partly_refused(&refused, events.len());
    store_events(&state, &key, events, bytes, format.input()).await?;
    let mut response = match (format, refused) {
        (Format::Otlp(signal, encoding), Refusals::Otlp(refused)) => {
            otlp_accepted(signal, encoding, &refused)
        }
        (Format::OtlpGrpc(signal), Refusals::Otlp(refused)) => {
            crate::grpc::ok_response(otlp_answer(signal, seqr_otlp::Encoding::Protobuf, &refused))
        }
        (Format::Gelf, _) => StatusCode::ACCEPTED.into_response(),
        (Format::Loki(_), Refusals::Loki { rejection }) => crate::shippers::loki_answer(rejection),
        (Format::ElasticBulk(_), Refusals::Bulk(outcome)) => {
            crate::shippers::bulk_answer(&outcome, started.elapsed())
        }
        _ => accepted(key.minimum_level.as_deref()),
    };
    if let Some(partly) = partly {
        response.extensions_mut().insert(partly);
    }
    Ok(response)
}

/// The ingestion log's entry for records refused one by one in an accepted request of which
/// `decoded` events were kept.
fn partly_refused(refused: &Refusals, decoded: usize) -> Option<PartlyRefused> {
    match refused {
        Refusals::Otlp(d) if d.rejected > 0 => Some(PartlyRefused {
            reason: Reason::Oversized,
            message: format!(
                "{} record(s) refused, {}: {}",
                d.rejected,
                the_rest(decoded),
                d.rejection.as_deref().unwrap_or("too large")
            ),
        }),
        Refusals::Bulk(outcome) => {
            let mut refused = outcome.items.iter().filter_map(|i| match &i.result {
                seqr_shippers::elastic::ItemResult::Refused {
                    status,
                    kind,
                    reason,
                } => Some((status, kind, reason)),
                seqr_shippers::elastic::ItemResult::Stored { .. } => None,
            });
            let (status, kind, reason) = refused.next()?;
            let count = 1 + refused.count();
            Some(PartlyRefused {
                reason: Reason::InvalidPayload,
                message: format!(
                    "{count} of {} bulk item(s) refused, {}; the first: {status} {kind}: \
                     {reason}",
                    outcome.items.len(),
                    the_rest(outcome.items.len() - count)
                ),
            })
        }
        _ => None,
    }
}

fn the_rest(stored: usize) -> &'static str {
    if stored == 0 {
        "none stored"
    } else {
        "the rest stored"
    }
}

/// Stores `events` (decoded from `bytes` of input) under `key`'s input settings and counts them
/// for the key; returns how many were stored (the key's minimum level and arrival filter drop
/// some) once they are durable. Every input (HTTP, GELF, syslog) ends here.
pub(crate) async fn store_events(
    state: &AppState,
    key: &Arc<VerifiedKey>,
    events: Vec<Event>,
    bytes: u64,
    input: Input,
) -> Result<usize, ApiError> {
    let arrived = events.len();
    // Applied properties are copied into every event: that growth is ingestion memory too.
    let growth = arrived.saturating_mul(key.applied_bytes);
    if growth > state.ingest_budget_bytes {
        count_invalid(state, key);
        return Err(ApiError::too_large(format!(
            "This request's {arrived} events would grow by {growth} bytes with the API key's \
             applied properties, more than the server ingests at once; send smaller batches."
        )));
    }
    let _growth_permit = reserve_budget(state, growth).await?;
    let plain = key.minimum_level.is_none()
        && key.applied_properties.is_empty()
        && !key.use_server_timestamps
        && key.arrival_filter.is_none();
    let events = if plain {
        events
    } else {
        let settings = key.clone();
        tokio::task::spawn_blocking(move || apply_input_settings(events, &settings))
            .await
            .map_err(|_| ApiError::internal("Ingestion failed."))?
    };

    let ingested = events.len();
    if !events.is_empty() {
        append(state, events).await?;
    }
    state
        .metrics
        .ingested(input, arrived as u64, ingested as u64, bytes);
    let per_event = if arrived == 0 {
        0
    } else {
        bytes / arrived as u64
    };
    state.counters.record(
        &key.id,
        ApiKeyCounts {
            arrived_events: arrived as u64,
            arrived_bytes: bytes,
            ingested_events: ingested as u64,
            ingested_bytes: per_event * ingested as u64,
            invalid_payloads: 0,
        },
        unix_now(),
    );
    Ok(ingested)
}

/// OTLP's success: 200 with an `Export*ServiceResponse` in the request's encoding, carrying
/// `partialSuccess` when records were refused one by one.
fn otlp_accepted(
    signal: OtlpSignal,
    encoding: seqr_otlp::Encoding,
    refused: &seqr_otlp::Decoded,
) -> Response {
    let body = otlp_answer(signal, encoding, refused);
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(encoding.content_type()),
    );
    response
}

fn otlp_answer(
    signal: OtlpSignal,
    encoding: seqr_otlp::Encoding,
    refused: &seqr_otlp::Decoded,
) -> Vec<u8> {
    match signal {
        OtlpSignal::Logs => seqr_otlp::logs_response(refused, encoding),
        OtlpSignal::Traces => seqr_otlp::traces_response(refused, encoding),
    }
}

fn count_invalid(state: &AppState, key: &VerifiedKey) {
    state.counters.record(
        &key.id,
        ApiKeyCounts {
            invalid_payloads: 1,
            ..Default::default()
        },
        unix_now(),
    );
}

/// Seq's order: minimum level, then applied properties (overriding the event's) and server
/// timestamps, then the arrival filter, which so sees the properties the key applies.
fn apply_input_settings(mut events: Vec<Event>, key: &VerifiedKey) -> Vec<Event> {
    if let Some(minimum) = key
        .minimum_level
        .as_deref()
        .and_then(CanonicalLevel::from_alias)
    {
        events.retain(|e| CanonicalLevel::of(e.level.as_deref()) >= minimum);
    }
    if !key.applied_properties.is_empty() || key.use_server_timestamps {
        let now = Timestamp::now();
        for event in &mut events {
            for (name, value) in &key.applied_properties {
                event.properties.insert(name.clone(), value.clone());
            }
            if key.use_server_timestamps {
                event.timestamp = now;
            }
        }
    }
    if let Some(filter) = &key.arrival_filter {
        let now = Timestamp::now().ticks();
        events = events
            .into_iter()
            .filter_map(|e| filter.keeps(e, now))
            .collect();
    }
    events
}

fn accepted(minimum_level: Option<&str>) -> Response {
    let body = match minimum_level {
        None => ACCEPTED_BODY.to_owned(),
        Some(level) => serde_json::json!({ "MinimumLevelAccepted": level }).to_string(),
    };
    let mut response = (StatusCode::CREATED, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The request's events, the size of its (decompressed) body, and the records refused one by
/// one (for the protocols whose answers report them).
fn decode(
    body: &[u8],
    encoding: &str,
    format: Format,
    limits: &Limits,
) -> Result<(Vec<Event>, u64, Refusals), ApiError> {
    let (compressed, body) = match format {
        Format::OtlpGrpc(_) => crate::grpc::unframe(body)?,
        _ => (!is_identity(encoding), body),
    };
    let decompressed;
    let body = if !compressed {
        body
    } else {
        decompressed = seqr_ingest::decompress(body, encoding, limits.max_body_bytes).map_err(
            |e| match e {
                DecompressError::TooLarge { .. } => ApiError::too_large(format!(
                    "The decompressed request body is over the {}-byte payload limit.",
                    limits.max_body_bytes
                )),
                other => ApiError::new(status(other.http_status()), other.to_string()),
            },
        )?;
        &decompressed
    };
    let bytes = body.len() as u64;
    let seq = |decoded: Result<Vec<Event>, seqr_ingest::DecodeError>| {
        decoded
            .map(|events| (events, bytes, Refusals::None))
            .map_err(|e| {
                let oversized = matches!(
                    e,
                    seqr_ingest::DecodeError::EventTooLarge { .. }
                        | seqr_ingest::DecodeError::PayloadTooLarge { .. }
                );
                let error = ApiError::new(status(e.http_status()), e.to_string());
                if oversized {
                    error.because(Reason::Oversized)
                } else {
                    error
                }
            })
    };
    let otlp = |decoded: Result<seqr_otlp::Decoded, seqr_otlp::DecodeError>| {
        let mut d = decoded.map_err(|e| ApiError::bad_request(e.to_string()))?;
        let events = std::mem::take(&mut d.events);
        Ok((events, bytes, Refusals::Otlp(d)))
    };
    match format {
        Format::Clef => seq(seqr_ingest::decode_clef(body, limits)),
        Format::Legacy => seq(seqr_ingest::decode_legacy(body, limits)),
        Format::Otlp(OtlpSignal::Logs, e) => {
            otlp(seqr_otlp::decode_logs(body, e, limits.max_event_bytes))
        }
        Format::Otlp(OtlpSignal::Traces, e) => {
            otlp(seqr_otlp::decode_traces(body, e, limits.max_event_bytes))
        }
        Format::Gelf => seqr_gelf::decode_message(body, limits.max_event_bytes, Timestamp::now())
            .map(|event| (vec![event], bytes, Refusals::None))
            .map_err(|e| match e {
                seqr_gelf::GelfError::TooLarge { .. } => ApiError::too_large(e.to_string()),
                other => ApiError::bad_request(other.to_string()),
            }),
        Format::Loki(e) => {
            if e == seqr_shippers::loki::Encoding::Protobuf
                && seqr_shippers::loki::snappy_len(body).is_ok_and(|n| n > limits.max_body_bytes)
            {
                return Err(ApiError::too_large(format!(
                    "The push request decompresses to more than the {}-byte payload limit; send \
                     smaller batches.",
                    limits.max_body_bytes
                )));
            }
            let decoded = seqr_shippers::loki::decode_push(
                body,
                e,
                limits.max_body_bytes,
                limits.max_event_bytes,
            )
            .map_err(|e| crate::shippers::decode_error(&e))?;
            let rejection = decoded.rejection;
            Ok((decoded.events, bytes, Refusals::Loki { rejection }))
        }
        Format::ElasticBulk(index) => {
            let mut outcome =
                seqr_shippers::elastic::decode_bulk(body, index.as_deref(), limits.max_event_bytes)
                    .map_err(|e| ApiError::bad_request(e.to_string()))?;
            // Each stored document gets an id from its time and place, before its event leaves.
            for (position, item) in outcome.items.iter_mut().enumerate() {
                if let seqr_shippers::elastic::ItemResult::Stored { event } = item.result
                    && item.id.is_none()
                    && let Some(stored) = outcome.decoded.events.get(event)
                {
                    let ticks = stored.timestamp.ticks();
                    item.id = Some(format!("{ticks:016x}{position:06x}"));
                }
            }
            let events = std::mem::take(&mut outcome.decoded.events);
            Ok((events, bytes, Refusals::Bulk(outcome)))
        }
        Format::OtlpGrpc(OtlpSignal::Logs) => otlp(seqr_otlp::decode_logs(
            body,
            seqr_otlp::Encoding::Protobuf,
            limits.max_event_bytes,
        )),
        Format::OtlpGrpc(OtlpSignal::Traces) => otlp(seqr_otlp::decode_traces(
            body,
            seqr_otlp::Encoding::Protobuf,
            limits.max_event_bytes,
        )),
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

fn is_identity(encoding: &str) -> bool {
    let e = encoding.trim();
    e.is_empty() || e.eq_ignore_ascii_case("identity")
}

/// Reads the body, refusing (413) as soon as it passes the limit, before buffering the rest.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    max_bytes: usize,
) -> Result<axum::body::Bytes, ApiError> {
    let too_large = || {
        ApiError::too_large(format!(
            "The request body is over the {max_bytes}-byte payload limit; send smaller batches."
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > max_bytes as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, max_bytes).await.map_err(|e| {
        let over_limit = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        let mut cause = std::error::Error::source(&e);
        while let Some(inner) = cause {
            if let Some(idle) = inner.downcast_ref::<crate::http_serve::BodyIdle>() {
                return ApiError::new(StatusCode::REQUEST_TIMEOUT, format!("{idle}."));
            }
            cause = inner.source();
        }
        if over_limit {
            too_large()
        } else {
            ApiError::bad_request("The request body could not be read.")
        }
    })
}

/// How long a request may wait for ingestion memory before it is told to come back later.
const BUDGET_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Holds back a request while too many bytes are already being decoded and written, so a burst
/// of clients gets 503 + Retry-After (which they retry) instead of growing memory without bound.
async fn reserve_budget(
    state: &AppState,
    bytes: usize,
) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, ApiError> {
    if bytes == 0 {
        return Ok(None);
    }
    // A body larger than the whole budget waits for all of it, so it still gets through alone.
    let permits = u32::try_from(bytes.min(state.ingest_budget_bytes)).unwrap_or(u32::MAX);
    let acquire = state.ingest_budget.clone().acquire_many_owned(permits);
    match tokio::time::timeout(BUDGET_WAIT, acquire).await {
        Ok(Ok(permit)) => Ok(Some(permit)),
        _ => Err(ApiError::unavailable(
            "The server is ingesting as fast as it can and has no room for this request now; retry shortly.",
            1,
        )
        .because(Reason::Overload)),
    }
}

async fn append(state: &AppState, events: Vec<Event>) -> Result<(), ApiError> {
    // Copied only while someone tails; published once durable, never before.
    let tailed = state.tail.listening().then(|| events.clone());
    let (tx, rx) = tokio::sync::oneshot::channel();
    state.store.append(
        events,
        Box::new(move |result| {
            let _ = tx.send(result);
        }),
    );
    match rx.await {
        Ok(Ok(ids)) => {
            if let Some(events) = tailed {
                state.tail.publish(events, ids);
            }
            Ok(())
        }
        Ok(Err(AppendError::ShuttingDown)) | Err(_) => Err(ApiError::unavailable(
            "The server is shutting down; the events were not stored. Retry shortly.",
            5,
        )
        .because(Reason::ShuttingDown)),
        Ok(Err(AppendError::Poisoned { detail })) => {
            tracing::error!(%detail, "append refused: the store is poisoned");
            Err(ApiError::unavailable(
                "The event store stopped accepting writes after a storage failure; the events were not \
             stored. An administrator must check the disk and restart the server.",
                30,
            )
            .because(Reason::StoreFailed))
        }
        Ok(Err(AppendError::DiskFull { free, minimum })) => {
            tracing::warn!(
                free,
                minimum,
                "append refused: the storage volume is nearly full"
            );
            Err(ApiError::unavailable(
                "The storage volume is nearly full, so the events were not stored; ingestion \
                 resumes by itself once space is freed (or the minimum free space setting is \
                 lowered). Retry later.",
                30,
            )
            .because(Reason::LowDisk))
        }
        Ok(Err(other)) => {
            tracing::error!(error = %other, "append failed");
            Err(
                ApiError::unavailable("The events could not be stored; retry later.", 10)
                    .because(Reason::StoreFailed),
            )
        }
    }
}
