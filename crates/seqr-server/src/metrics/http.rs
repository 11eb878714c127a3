//! `GET /metrics` (Prometheus text) and `GET api/diagnostics/metrics` (Seq's
//! `ServerMetricsPart`), and the unauthenticated router for a loopback metrics listener.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::exposition::{CONTENT_TYPE, Exposition};
use super::process::Process;
use super::{Input, QueryKind, Reason};
use crate::AppState;

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let mut response = render(&state).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// A router serving only `GET /metrics`, without authentication: for a listener of its own
/// (`--metrics-listen`), which must be bound to loopback or another trusted network, since
/// anyone who reaches it reads the figures. The main listener's `/metrics` demands System.
pub(crate) fn metrics_only_router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .with_state(state)
}

fn render(state: &AppState) -> String {
    let m = &state.metrics;
    let mut e = Exposition::default();
    let process = Process::read();
    e.family(
        "seqr_build_info",
        "gauge",
        "Always 1; the version is a label.",
    );
    e.sample(
        "seqr_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1,
    );
    e.single(
        "seqr_process_uptime_seconds",
        "gauge",
        "Seconds since the server started.",
        m.started.elapsed().as_secs_f64(),
    );
    if let Some(rss) = process.resident_bytes {
        e.single(
            "seqr_process_resident_memory_bytes",
            "gauge",
            "Resident set size of the process.",
            rss,
        );
    }
    if let Some(threads) = process.threads {
        e.single(
            "seqr_process_threads",
            "gauge",
            "Threads of the process.",
            threads,
        );
    }
    if let Some(fds) = process.open_fds {
        e.single(
            "seqr_process_open_fds",
            "gauge",
            "Open file descriptors (files, sockets).",
            fds,
        );
    }
    e.single(
        "seqr_http_requests_in_flight",
        "gauge",
        "HTTP requests being handled now.",
        m.in_flight.load(Ordering::Relaxed),
    );
    e.single(
        "seqr_http_connections_open",
        "gauge",
        "Connections open on the HTTP listeners (TLS handshakes included).",
        m.connection_slots.open(),
    );
    e.single(
        "seqr_http_connections_limit",
        "gauge",
        "Most connections served at once; further ones wait in the listen backlog.",
        m.connection_slots.limit,
    );

    let per_input =
        |e: &mut Exposition,
         name: &str,
         help: &str,
         pick: fn(&super::InputFigures) -> &std::sync::atomic::AtomicU64| {
            e.family(name, "counter", help);
            for (input, figures) in Input::ALL.iter().zip(&m.inputs) {
                e.sample(
                    name,
                    &[("input", input.label())],
                    pick(figures).load(Ordering::Relaxed),
                );
            }
        };
    per_input(
        &mut e,
        "seqr_ingest_batches_total",
        "Batches stored (HTTP requests, or listener batches).",
        |f| &f.requests,
    );
    per_input(
        &mut e,
        "seqr_ingest_events_arrived_total",
        "Events decoded, before the API key's minimum level and filter.",
        |f| &f.arrived_events,
    );
    per_input(&mut e, "seqr_ingest_events_total", "Events stored.", |f| {
        &f.ingested_events
    });
    per_input(
        &mut e,
        "seqr_ingest_bytes_total",
        "Bytes of (decompressed) payload the arrived events came in.",
        |f| &f.bytes,
    );
    e.family(
        "seqr_ingest_rejected_total",
        "counter",
        "Ingestion HTTP requests refused, by reason.",
    );
    for reason in Reason::ALL {
        e.sample(
            "seqr_ingest_rejected_total",
            &[("reason", reason.label())],
            m.rejected_count(reason),
        );
    }
    input_listeners(&mut e, state);
    e.family(
        "seqr_query_duration_seconds",
        "histogram",
        "Time to answer searches, SQL-style queries and exports (to the first byte).",
    );
    for (kind, latency) in QueryKind::ALL.iter().zip(&m.queries) {
        e.histogram(
            "seqr_query_duration_seconds",
            &[("kind", kind.label())],
            &latency.snapshot(),
        );
    }
    store(&mut e, state);
    e.single(
        "seqr_self_log_dropped_total",
        "counter",
        "seqr's own log events not stored because the self-log queue was full.",
        m.self_log_dropped
            .as_ref()
            .map_or(0, |d| d.load(Ordering::Relaxed)),
    );
    e.finish()
}

fn input_listeners(e: &mut Exposition, state: &AppState) {
    let inputs = state.inputs.snapshot();
    type Pick = fn(&crate::inputs::InputCountersSnapshot) -> u64;
    let families: [(&str, &str, &str, Pick); 9] = [
        (
            "seqr_input_messages_total",
            "counter",
            "Messages a listener decoded.",
            |i| i.messages,
        ),
        (
            "seqr_input_bytes_total",
            "counter",
            "Bytes of those messages.",
            |i| i.bytes,
        ),
        (
            "seqr_input_stored_events_total",
            "counter",
            "Events a listener stored.",
            |i| i.stored_events,
        ),
        (
            "seqr_input_malformed_total",
            "counter",
            "Messages that could not be decoded.",
            |i| i.malformed,
        ),
        (
            "seqr_input_chunks_expired_total",
            "counter",
            "Chunked GELF messages given up incomplete.",
            |i| i.chunks_expired,
        ),
        (
            "seqr_input_refused_sources_total",
            "counter",
            "Datagrams or connections from outside the allow-list.",
            |i| i.refused_sources,
        ),
        (
            "seqr_input_refused_connections_total",
            "counter",
            "TCP connections turned away at the limit.",
            |i| i.refused_connections,
        ),
        (
            "seqr_input_open_connections",
            "gauge",
            "TCP connections open now.",
            |i| i.open_connections,
        ),
        (
            "seqr_input_dropped_rate_total",
            "counter",
            "Messages dropped over the events-per-second limit.",
            |i| i.dropped_rate,
        ),
    ];
    for (name, kind, help, pick) in families {
        e.family(name, kind, help);
        for i in &inputs {
            let input = i.input.replace('-', "_");
            e.sample(name, &[("input", &input), ("address", &i.address)], pick(i));
        }
    }
    e.family(
        "seqr_input_dropped_total",
        "counter",
        "Events a listener dropped: the writer's budget was full (overload) or the store refused them (store).",
    );
    for i in &inputs {
        let input = i.input.replace('-', "_");
        for (reason, n) in [("overload", i.dropped_overload), ("store", i.dropped_store)] {
            e.sample(
                "seqr_input_dropped_total",
                &[
                    ("input", &input),
                    ("address", &i.address),
                    ("reason", reason),
                ],
                n,
            );
        }
    }
}

fn store(e: &mut Exposition, state: &AppState) {
    let s = state.store.stats();
    e.single(
        "seqr_store_events",
        "gauge",
        "Events stored (memtables and parts).",
        s.events,
    );
    e.single(
        "seqr_store_memtable_events",
        "gauge",
        "Events in memtables, not yet in parts.",
        s.memtable_events,
    );
    e.single(
        "seqr_store_memtable_bytes",
        "gauge",
        "Encoded bytes held in memtables.",
        s.memtable_bytes,
    );
    e.single(
        "seqr_store_wal_bytes",
        "gauge",
        "Bytes of write-ahead log files.",
        s.wal_bytes,
    );
    e.family(
        "seqr_store_part_bytes",
        "gauge",
        "Bytes of parts, by merge tier (0: flushed).",
    );
    for t in &s.tiers {
        e.sample(
            "seqr_store_part_bytes",
            &[("tier", &t.tier.to_string())],
            t.bytes,
        );
    }
    e.family(
        "seqr_store_parts",
        "gauge",
        "Parts in service, by merge tier.",
    );
    for t in &s.tiers {
        e.sample(
            "seqr_store_parts",
            &[("tier", &t.tier.to_string())],
            t.parts,
        );
    }
    e.single(
        "seqr_store_quarantined_files",
        "gauge",
        "Damaged store files moved to quarantine since start.",
        s.quarantined,
    );
    e.single(
        "seqr_store_cache_bytes",
        "gauge",
        "Bytes of decoded headers, filters and columns in the read cache.",
        s.cache_bytes,
    );
    e.single(
        "seqr_store_cached_blocks",
        "gauge",
        "Decoded blocks in the block cache.",
        s.cached_blocks,
    );
    if let Some(space) = state.store.space() {
        e.single(
            "seqr_store_volume_free_bytes",
            "gauge",
            "Free bytes of the data volume (available to seqr).",
            space.free,
        );
        e.single(
            "seqr_store_volume_size_bytes",
            "gauge",
            "Size of the data volume.",
            space.total,
        );
    }
    e.single(
        "seqr_store_writes_failed",
        "gauge",
        "1 once a WAL write or fsync failed: writes are refused until restart.",
        u8::from(s.poisoned.is_some()),
    );
    e.single(
        "seqr_store_flush_failing",
        "gauge",
        "1 while writing memtables to parts fails (it is retried).",
        u8::from(s.flush_error.is_some()),
    );
    e.single(
        "seqr_store_blocks_read_total",
        "counter",
        "Part blocks decoded by searches.",
        s.blocks_read,
    );
    e.single(
        "seqr_store_blocks_skipped_total",
        "counter",
        "Part blocks searches skipped unread.",
        s.blocks_skipped,
    );
    e.family(
        "seqr_store_wal_fsync_duration_seconds",
        "histogram",
        "Time each write-ahead log fsync took (one per group commit).",
    );
    e.histogram("seqr_store_wal_fsync_duration_seconds", &[], &s.wal_sync);
    e.family(
        "seqr_store_flush_duration_seconds",
        "histogram",
        "Time each memtable flush to parts took.",
    );
    e.histogram("seqr_store_flush_duration_seconds", &[], &s.flush_time);
}

/// `GET api/diagnostics/metrics`: Seq's `ServerMetricsPart`. The per-minute figures cover the
/// last 60-70 s, scaled to a minute (see `rates`); the write time is the WAL's fsync time, and
/// the indexing time the time spent writing memtables to parts (seqr's nearest equivalent).
pub(crate) async fn server_metrics(State(state): State<AppState>) -> Json<Value> {
    let stats = state.store.stats();
    let (minute, flush_last_day) = state.metrics.rates(&stats);
    let ticks = |d: std::time::Duration| i64::try_from(d.as_nanos() / 100).unwrap_or(i64::MAX);
    let uptime = state.metrics.started.elapsed();
    let threads = Process::read().threads.unwrap_or(0);
    Json(json!({
        "EventStoreDiskRemainingBytes": state.store.space().map(|s| s.free),
        "EventStoreIndexingTimeLastDay": crate::timespan::format(ticks(flush_last_day)),
        "EventStoreWriteTimeLastMinute": crate::timespan::format(
            ticks(std::time::Duration::from_nanos(minute.write_nanos))
        ),
        "InputArrivedEventsPerMinute": minute.arrived_events,
        "InputIngestedEventsPerMinute": minute.ingested_events,
        "InputIngestedBytesPerMinute": minute.ingested_bytes,
        "InvalidPayloadsPerMinute": minute.invalid_payloads,
        "HttpUnauthorizedPayloadsPerMinute": minute.unauthorized,
        "ProcessUptime": crate::timespan::format(ticks(uptime)),
        "ProcessThreads": threads,
        "QueriesPerMinute": minute.queries,
    }))
}
