//! seqr's HTTP server: Seq's ingestion and search API over the event store.
//!
//! Every route is declared once, with the permission it demands, in [`routes`]; [`serve`] opens
//! the data directory, binds the listeners and runs until shut down, then flushes the store.

mod api_root;
mod apikeys;
mod auditlog;
pub mod auth;
pub mod backup;
pub mod bootstrap;
mod clef_out;
mod cors;
mod data;
mod diagnostics;
mod entity;
mod error;
mod events;
mod export;
mod expressions;
mod filter_part;
pub mod filters;
mod forwarded;
mod gelf_http;
mod grpc;
mod headers;
mod health;
mod http_serve;
mod ingest;
mod ingest_counters;
mod ingestion_log;
pub mod inputs;
pub mod listen;
mod maintenance;
mod metadata;
mod metrics;
mod network;
mod otlp;
pub mod outbound;
pub mod permission;
mod query;
mod redirect;
mod retention;
mod roles;
pub mod routes;
mod runtime;
pub mod self_log;
mod serve;
mod settings;
mod shippers;
mod status;
mod tail;
mod timespan;
pub mod tls;
mod ui;
mod users;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::Uri;
use seqr_store::Store;

pub use error::ApiError;
pub use http_serve::HttpLimits;
pub use listen::{ListenAddr, Scheme};
pub use metadata::{META_DB_FILE, MetadataError, SecretKeySource};
pub use network::NetworkConfig;
pub use retention::{DEFAULT_RETENTION_INTERVAL, RetentionSchedule, RetentionTrigger};
pub use seqr_ingest::Limits;
pub use seqr_store::StoreOptions;
pub use serve::{DataDirLock, ServeConfig, ServeError, lock_data_dir, serve};

/// Opens the event store at `dir` with the default options (for offline tools).
pub fn open_store(dir: &std::path::Path) -> Result<Store, seqr_store::OpenError> {
    Store::open(dir, StoreOptions::default())
}

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    store: Store,
    /// Runtime settings the request path reads (limits, key requirement, title, free space).
    runtime: Arc<runtime::Runtime>,
    search_timeout: Duration,
    /// Request-body bytes allowed in decoding and writing at once (see `ingest::reserve_budget`).
    ingest_budget: Arc<tokio::sync::Semaphore>,
    ingest_budget_bytes: usize,
    auth: Arc<auth::enforce::AuthState>,
    /// The metadata database (users, keys, sessions, settings, audit).
    meta: Arc<seqr_meta::MetaDb>,
    /// Password hashing off the runtime, capped.
    hasher: auth::hashing::PasswordHasher,
    /// Failed sign-in delays.
    throttle: Arc<auth::throttle::SignInThrottle>,
    /// Seals sensitive settings.
    secret_key: Arc<seqr_meta::secret::SecretKey>,
    /// Per-key ingestion counters, written to the metadata database periodically.
    counters: Arc<ingest_counters::IngestCounters>,
    /// Held while a user account is checked and changed (see `users::accounts`).
    accounts: Arc<tokio::sync::Mutex<()>>,
    /// Held by every event delete; shutdown takes it before closing the store.
    maintenance: maintenance::Gate,
    /// Acknowledged batches, for live tail.
    tail: Arc<tail::TailHub>,
    /// The GELF and syslog listeners' counters.
    inputs: Arc<inputs::InputRegistry>,
    /// Origins allowed to call the API from a browser (empty: CORS off).
    cors_origins: cors::AllowedOrigins,
    /// The base URI's path (`/seq`), or empty: the UI's page links its assets and API under it.
    path_prefix: Arc<str>,
    /// Counters and latencies for `/metrics`.
    metrics: Arc<metrics::Metrics>,
    /// Recently refused payloads (`api/diagnostics/ingestion`).
    ingestion_log: Arc<ingestion_log::IngestionLog>,
    /// Banner messages set by the parts of the server that know (`api/diagnostics/status`).
    status: Arc<status::StatusNotes>,
    /// The data directory and the one-backup-at-a-time gate (`api/backups`).
    backups: Arc<backup::Backups>,
    /// Where features that connect out may go (`--outbound-allow`; nowhere by default).
    outbound: Arc<outbound::OutboundPolicy>,
}

/// Builds the application over an open store.
pub(crate) fn app(state: AppState) -> Router {
    with_layers(routes::router(), state)
}

/// The application of an ingestion-only listener: the ingestion routes and `/health`.
pub(crate) fn ingest_app(state: AppState) -> Router {
    with_layers(routes::ingest_router(), state)
}

fn with_layers(routes: Router<AppState>, state: AppState) -> Router {
    let cors_origins = state.cors_origins.clone();
    routes
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::enforce::enforce,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::observe,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(error::json_rejections))
        .layer(axum::middleware::from_fn(grpc::errors_as_status))
        .layer(axum::middleware::from_fn(shippers::elastic_product_header))
        .layer(axum::middleware::from_fn_with_state(
            cors_origins,
            cors::cors,
        ))
        .layer(axum::middleware::from_fn(headers::security_headers))
        .with_state(state)
}

async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        format!("`{method}` is not supported on `{}`.", uri.path()),
    )
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("No resource exists at `{}`.", uri.path()))
}
