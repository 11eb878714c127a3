//! What seqr counts about itself, for `GET /metrics` (Prometheus text) and
//! `api/diagnostics/metrics` (Seq's `ServerMetricsPart`).
//!
//! Everything here is a relaxed atomic in a fixed array indexed by a small enum, so the
//! request paths that bump them take no lock and allocate nothing; the readers (a scrape, the
//! per-minute sampler) add the figures up when asked. The store's own figures (sizes, WAL
//! fsync latency) come from `Store::stats` at scrape time.

mod exposition;
pub(crate) mod http;
mod observe;
mod process;
mod rates;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use seqr_store::Latency;

pub(crate) use observe::observe;
pub(crate) use rates::run_sampler;

/// Where events came in: the HTTP ingestion formats and the socket listeners.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Input {
    Clef,
    LegacyJson,
    OtlpHttp,
    OtlpGrpc,
    GelfHttp,
    GelfUdp,
    GelfTcp,
    SyslogUdp,
    SyslogTcp,
    GelfTls,
    SyslogTls,
    Loki,
    ElasticBulk,
    /// seqr's own log events (`--self-log`).
    SelfLog,
}

impl Input {
    pub(crate) const ALL: [Input; 14] = [
        Input::Clef,
        Input::LegacyJson,
        Input::OtlpHttp,
        Input::OtlpGrpc,
        Input::GelfHttp,
        Input::GelfUdp,
        Input::GelfTcp,
        Input::SyslogUdp,
        Input::SyslogTcp,
        Input::GelfTls,
        Input::SyslogTls,
        Input::Loki,
        Input::ElasticBulk,
        Input::SelfLog,
    ];

    /// The `input` label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Input::Clef => "clef",
            Input::LegacyJson => "legacy_json",
            Input::OtlpHttp => "otlp_http",
            Input::OtlpGrpc => "otlp_grpc",
            Input::GelfHttp => "gelf_http",
            Input::GelfUdp => "gelf_udp",
            Input::GelfTcp => "gelf_tcp",
            Input::SyslogUdp => "syslog_udp",
            Input::SyslogTcp => "syslog_tcp",
            Input::GelfTls => "gelf_tls",
            Input::SyslogTls => "syslog_tls",
            Input::Loki => "loki",
            Input::ElasticBulk => "elastic_bulk",
            Input::SelfLog => "self_log",
        }
    }
}

impl From<crate::inputs::InputKind> for Input {
    fn from(kind: crate::inputs::InputKind) -> Input {
        use crate::inputs::InputKind;
        match kind {
            InputKind::GelfUdp => Input::GelfUdp,
            InputKind::GelfTcp => Input::GelfTcp,
            InputKind::SyslogUdp => Input::SyslogUdp,
            InputKind::SyslogTcp => Input::SyslogTcp,
            InputKind::GelfTls => Input::GelfTls,
            InputKind::SyslogTls => Input::SyslogTls,
        }
    }
}

/// Why an ingestion request was refused: the `reason` label, and the ingestion log's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// 400: the body is not valid JSON, CLEF, protobuf, ...
    InvalidPayload,
    /// 413: the body, or one event, is over its limit.
    Oversized,
    UnsupportedMediaType,
    /// 401: no valid API key where one is required.
    Unauthorized,
    /// 403: the key lacks the Ingest permission.
    Forbidden,
    /// 503: the ingestion memory budget is spent.
    Overload,
    /// 503: the volume is below the minimum free space.
    LowDisk,
    ShuttingDown,
    /// 503: the store refuses writes after a storage failure.
    StoreFailed,
    Other,
}

impl Reason {
    pub(crate) const ALL: [Reason; 10] = [
        Reason::InvalidPayload,
        Reason::Oversized,
        Reason::UnsupportedMediaType,
        Reason::Unauthorized,
        Reason::Forbidden,
        Reason::Overload,
        Reason::LowDisk,
        Reason::ShuttingDown,
        Reason::StoreFailed,
        Reason::Other,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Reason::InvalidPayload => "invalid_payload",
            Reason::Oversized => "oversized",
            Reason::UnsupportedMediaType => "unsupported_media_type",
            Reason::Unauthorized => "unauthorized",
            Reason::Forbidden => "forbidden",
            Reason::Overload => "overload",
            Reason::LowDisk => "low_disk",
            Reason::ShuttingDown => "shutting_down",
            Reason::StoreFailed => "store_failed",
            Reason::Other => "other",
        }
    }

    /// The reason a refusal with `status` has when its handler did not say.
    pub(crate) fn of_status(status: u16) -> Reason {
        match status {
            400 | 422 => Reason::InvalidPayload,
            401 => Reason::Unauthorized,
            403 => Reason::Forbidden,
            413 => Reason::Oversized,
            415 => Reason::UnsupportedMediaType,
            429 | 503 => Reason::Overload,
            _ => Reason::Other,
        }
    }
}

/// The query endpoints timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QueryKind {
    /// `api/events/signal`, `api/events` (searches).
    Search,
    /// `api/data` (SQL-style queries).
    Data,
    /// `api/events/export` (timed to the start of the streamed answer).
    Export,
}

impl QueryKind {
    pub(crate) const ALL: [QueryKind; 3] = [QueryKind::Search, QueryKind::Data, QueryKind::Export];

    pub(crate) fn label(self) -> &'static str {
        match self {
            QueryKind::Search => "search",
            QueryKind::Data => "data",
            QueryKind::Export => "export",
        }
    }
}

#[derive(Default)]
struct InputFigures {
    requests: AtomicU64,
    arrived_events: AtomicU64,
    ingested_events: AtomicU64,
    bytes: AtomicU64,
}

/// The server's counters (one per process, on `AppState`).
pub(crate) struct Metrics {
    started: Instant,
    inputs: [InputFigures; Input::ALL.len()],
    rejected: [AtomicU64; Reason::ALL.len()],
    queries: [Latency; QueryKind::ALL.len()],
    /// Requests being handled now (the matched routes).
    pub(crate) in_flight: AtomicU64,
    /// The HTTP listeners' connection permits: open connections are the limit less those
    /// still available (the accept loop holds one per connection).
    connection_slots: ConnectionSlots,
    /// seqr's own log events dropped because the self-log queue was full (the queue's own
    /// counter, when `--self-log` is on).
    pub(crate) self_log_dropped: Option<std::sync::Arc<AtomicU64>>,
    /// Samples for the per-minute figures (see `rates`).
    samples: Mutex<rates::Samples>,
}

/// The connection semaphore of the HTTP listeners and its size.
pub(crate) struct ConnectionSlots {
    pub(crate) permits: std::sync::Arc<tokio::sync::Semaphore>,
    pub(crate) limit: usize,
}

impl ConnectionSlots {
    fn open(&self) -> usize {
        self.limit.saturating_sub(self.permits.available_permits())
    }
}

impl Metrics {
    pub(crate) fn new(
        self_log_dropped: Option<std::sync::Arc<AtomicU64>>,
        connection_slots: ConnectionSlots,
    ) -> Metrics {
        Metrics {
            started: Instant::now(),
            inputs: Default::default(),
            rejected: Default::default(),
            queries: Default::default(),
            in_flight: AtomicU64::new(0),
            connection_slots,
            self_log_dropped,
            samples: Mutex::new(rates::Samples::default()),
        }
    }
}

fn index<T: PartialEq>(all: &[T], x: &T) -> usize {
    all.iter().position(|a| a == x).expect("a listed variant")
}

impl Metrics {
    /// One stored batch: `arrived` events decoded from `bytes`, `ingested` of them kept.
    pub(crate) fn ingested(&self, input: Input, arrived: u64, ingested: u64, bytes: u64) {
        let f = &self.inputs[index(&Input::ALL, &input)];
        f.requests.fetch_add(1, Ordering::Relaxed);
        f.arrived_events.fetch_add(arrived, Ordering::Relaxed);
        f.ingested_events.fetch_add(ingested, Ordering::Relaxed);
        f.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn rejected(&self, reason: Reason) {
        self.rejected[index(&Reason::ALL, &reason)].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn query(&self, kind: QueryKind, elapsed: std::time::Duration) {
        self.queries[index(&QueryKind::ALL, &kind)].record(elapsed);
    }

    fn rejected_count(&self, reason: Reason) -> u64 {
        self.rejected[index(&Reason::ALL, &reason)].load(Ordering::Relaxed)
    }

    /// The cumulative figures the per-minute rates are differences of.
    fn totals(&self, store: &seqr_store::StoreStats) -> rates::Totals {
        let sum = |f: fn(&InputFigures) -> &AtomicU64| -> u64 {
            self.inputs
                .iter()
                .map(|i| f(i).load(Ordering::Relaxed))
                .sum()
        };
        rates::Totals {
            arrived_events: sum(|i| &i.arrived_events),
            ingested_events: sum(|i| &i.ingested_events),
            ingested_bytes: sum(|i| &i.bytes),
            invalid_payloads: self.rejected_count(Reason::InvalidPayload)
                + self.rejected_count(Reason::Oversized)
                + self.rejected_count(Reason::UnsupportedMediaType),
            unauthorized: self.rejected_count(Reason::Unauthorized)
                + self.rejected_count(Reason::Forbidden),
            queries: self.queries.iter().map(|q| q.snapshot().count()).sum(),
            write_nanos: store.wal_sync.sum_nanos,
            flush_nanos: store.flush_time.sum_nanos,
        }
    }
}
