//! Running the server: lock the data directory, open the store, bind every listener, serve until
//! shutdown, then let in-flight requests finish and flush the store.

use std::fmt;
use std::fs::File;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use seqr_ingest::Limits;
use seqr_store::{Store, StoreOptions};
use tokio::net::TcpListener;

use crate::auth::enforce::AuthState;
use crate::auth::hashing::PasswordHasher;
use crate::auth::keys::KeyVerifier;
use crate::auth::throttle::{SignInThrottle, ThrottleConfig};
use crate::bootstrap::{self, BootstrapError, Bootstrapped, FirstRun};
use crate::ingest_counters::IngestCounters;
use crate::listen::{ListenAddr, Scheme};
use crate::metadata::{MetadataError, SecretKeySource};
use crate::retention::RetentionSchedule;
use crate::{AppState, app};

/// Everything `seqr serve` needs, already validated by the CLI.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Where to listen; at least one.
    pub listen: Vec<ListenAddr>,
    /// The data directory (created if missing).
    pub storage: PathBuf,
    /// Ingestion size limits: seeds of the `RawPayloadMaximumContentLength` and
    /// `RawEventMaximumContentLength` runtime settings (an administrator's value wins).
    pub limits: Limits,
    /// Seed of the `InstanceTitle` runtime setting, shown by `GET /api`.
    pub instance_name: Option<String>,
    /// Longest a search works before answering `Partial`.
    pub search_timeout: Duration,
    /// Public base URL when it differs from the listen address (for absolute links).
    pub canonical_uri: Option<String>,
    /// Event store tuning; the defaults suit production.
    pub store: StoreOptions,
    /// Where the instance secret key comes from.
    pub secret_key: SecretKeySource,
    /// Password hashing cost (argon2id); at least OWASP's minimum in production.
    pub password_params: seqr_meta::password::Params,
    /// Failed sign-in delays.
    pub sign_in_throttle: ThrottleConfig,
    /// Whether routes enforce their declared permissions (`--no-authentication` turns it off).
    pub authentication: bool,
    /// First-run settings, applied while the data directory has no users.
    pub first_run: FirstRun,
    /// When retention policies are applied.
    pub retention: RetentionSchedule,
    /// GELF and syslog listeners (none by default).
    pub inputs: Vec<crate::inputs::InputListener>,
    /// HTTPS, extra HTTP listeners, proxies, CORS and connection limits.
    pub network: crate::network::NetworkConfig,
    /// seqr's own log events, to be stored as events (`--self-log`; off when `None`).
    pub self_log: Option<crate::self_log::SelfLog>,
}

/// Why the server could not start or stopped uncleanly.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeError {
    /// The data directory could not be created or locked for other reasons.
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Another seqr process holds the data directory.
    Locked { path: PathBuf },
    /// The event store would not open.
    Store(seqr_store::OpenError),
    /// A listen address could not be bound.
    Bind {
        address: String,
        source: std::io::Error,
    },
    /// The listeners do not fit together (an `https://` address without a certificate, a
    /// certificate or redirect without an `https://` address).
    Listeners(String),
    /// The HTTPS certificate could not be loaded or created.
    Tls(crate::tls::TlsSetupError),
    /// The store failed to flush on shutdown.
    Close(seqr_store::CloseError),
    /// The metadata database or the secret key failed to open.
    Metadata(MetadataError),
    /// The first administrator could not be created.
    Bootstrap(BootstrapError),
    /// The runtime settings could not be seeded or read.
    Settings(String),
    /// A GELF or syslog listener could not start.
    Input(crate::inputs::InputStartError),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::DataDir { path, source } => {
                write!(f, "cannot use data directory {}: {source}", path.display())
            }
            ServeError::Locked { path } => write!(
                f,
                "data directory {} is in use by another seqr server (lock file {}); stop it or choose another --storage",
                path.display(),
                path.join(LOCK_FILE).display()
            ),
            ServeError::Store(e) => write!(f, "cannot open the event store: {e}"),
            ServeError::Bind { address, source } => {
                write!(f, "cannot listen on {address}: {source}")
            }
            ServeError::Listeners(e) => f.write_str(e),
            ServeError::Tls(e) => write!(f, "{e}"),
            ServeError::Close(e) => write!(f, "flushing the event store on shutdown failed: {e}"),
            ServeError::Metadata(e) => write!(f, "{e}"),
            ServeError::Bootstrap(e) => write!(f, "{e}"),
            ServeError::Settings(e) => write!(f, "cannot read the runtime settings: {e}"),
            ServeError::Input(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ServeError {}

const LOCK_FILE: &str = "seqr.lock";

/// Request-body bytes that may be decoding or waiting for the fsync at once. Decoded events take
/// a few times their JSON size, so this bounds ingestion memory to roughly 100-200 MiB; past it,
/// requests wait briefly and then get 503 with Retry-After.
const INGEST_BUDGET_BYTES: usize = 48 * 1024 * 1024;

/// Password hashes computed at once: each takes ~19 MiB and a core for tens of milliseconds.
const PASSWORD_HASHING_CONCURRENCY: usize = 2;

/// How long a verified API key is trusted before it is looked up again (a deleted key stops
/// working within this time even if nothing invalidates the cache).
const KEY_CACHE_TTL: Duration = Duration::from_secs(60);

/// Holds the exclusive lock on the data directory for as long as it lives.
pub struct DataDirLock {
    _file: File,
}

/// Takes the data directory's lock: fails with [`ServeError::Locked`] while a server uses it, so
/// offline tools (password reset) never write under a running server.
pub fn lock_data_dir(path: &Path) -> Result<DataDirLock, ServeError> {
    let io_err = |source| ServeError::DataDir {
        path: path.to_owned(),
        source,
    };
    if !path.exists() {
        // A new data directory is the owner's alone: it holds password hashes and sealed secrets.
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(io_err)?;
    }
    std::fs::create_dir_all(path).map_err(io_err)?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path.join(LOCK_FILE))
        .map_err(io_err)?;
    // A lock just released can look held for a moment: a process forked (to run a key
    // provider, say) between its open and its exec holds a copy of the descriptor. So a held
    // lock is tried again for half a second before it is reported.
    let deadline = std::time::Instant::now() + Duration::from_millis(500);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(DataDirLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(ServeError::Locked {
                    path: path.to_owned(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(e)),
        }
    }
}

/// Runs the server until `shutdown` completes, then drains and flushes.
///
/// For each listener, prints `Listening on http://ADDR` to stdout once it accepts connections
/// (scripts and tests read the real port from it when asked for port 0).
pub async fn serve(
    config: ServeConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    check_listeners(&config)?;
    let path_prefix = match &config.canonical_uri {
        Some(uri) => {
            crate::listen::base_path(uri).map_err(|e| ServeError::Listeners(e.to_string()))?
        }
        None => None,
    };
    let _lock = lock_data_dir(&config.storage)?;
    let data_dir = config.storage.clone();
    let key_source = config.secret_key.clone();
    let metadata =
        tokio::task::spawn_blocking(move || crate::metadata::open(&data_dir, &key_source))
            .await
            .expect("metadata open does not panic")
            .map_err(ServeError::Metadata)?;
    if config.authentication {
        let (db, first_run, params) = (
            metadata.db.clone(),
            config.first_run.clone(),
            config.password_params,
        );
        let outcome = tokio::task::spawn_blocking(move || {
            bootstrap::ensure_first_admin(&db, &first_run, &params, unix_now())
        })
        .await
        .expect("bootstrap does not panic")
        .map_err(ServeError::Bootstrap)?;
        if let Bootstrapped::Created { username }
        | Bootstrapped::CreatedWithOneTimePassword { username } = &outcome
        {
            tracing::info!(%username, "first run: created the administrator");
        }
    } else {
        tracing::warn!(
            "AUTHENTICATION IS OFF (--no-authentication): anyone who can reach this server can read, \
             change and delete everything. Use this only for local experiments."
        );
    }
    let events_dir = config.storage.join("events");
    let store_options = config.store.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&events_dir, store_options))
        .await
        .expect("store open does not panic")
        .map_err(ServeError::Store)?;
    report_open(&store);

    let mut self_signed_ca = None;
    let tls = match &config.network.tls {
        Some(settings) => {
            let (settings, dir) = (settings.clone(), config.storage.clone());
            let hosts: Vec<String> = config
                .listen
                .iter()
                .chain(&config.network.ingest_listen)
                .map(|l| l.host.clone())
                .collect();
            let tls =
                tokio::task::spawn_blocking(move || crate::tls::setup(&settings, &dir, &hosts))
                    .await
                    .expect("TLS setup does not panic")
                    .map_err(ServeError::Tls)?;
            if let Some(ca) = &tls.self_signed_ca {
                announce_self_signed(ca);
            }
            self_signed_ca = tls.self_signed_ca.clone();
            Some(tls)
        }
        None => None,
    };
    let mut listeners = Vec::new();
    for (role, addrs) in [
        (Role::Full, &config.listen),
        (Role::Ingest, &config.network.ingest_listen),
        (Role::Redirect, &config.network.redirect_http),
        (
            Role::Metrics,
            &config.network.metrics_listen.iter().cloned().collect(),
        ),
    ] {
        for addr in addrs {
            let text = addr.socket_text();
            let socket = TcpListener::bind(&text)
                .await
                .map_err(|source| ServeError::Bind {
                    address: text.clone(),
                    source,
                })?;
            let local = socket.local_addr().map_err(|source| ServeError::Bind {
                address: text.clone(),
                source,
            })?;
            listeners.push(Bound {
                role,
                scheme: addr.scheme,
                socket,
                local,
            });
        }
    }
    // Anonymous ingestion is decided by where ingestion is served.
    let bound: Vec<std::net::SocketAddr> = listeners
        .iter()
        .filter(|l| matches!(l.role, Role::Full | Role::Ingest))
        .map(|l| l.local)
        .collect();
    let seeds = crate::runtime::Seeds {
        limits: config.limits,
        instance_title: config.instance_name.clone(),
    };
    let db = metadata.db.clone();
    let values = tokio::task::spawn_blocking(move || {
        crate::runtime::seed(&db, &seeds, unix_now()).map_err(|e| e.to_string())?;
        crate::runtime::load(&db).map_err(|e| e.to_string())
    })
    .await
    .expect("settings load does not panic")
    .map_err(ServeError::Settings)?;
    let runtime = Arc::new(crate::runtime::Runtime::new(values, bound));
    if config.authentication {
        tracing::info!(
            anonymous_ingest = runtime.anonymous_ingest(),
            "routes enforce their declared permissions"
        );
    }
    let keys = KeyVerifier::new(metadata.db.clone(), KEY_CACHE_TTL);
    let counters = Arc::new(IngestCounters::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let shared = crate::http_serve::Shared::new(
        config.network.proxies(),
        config.network.limits.clone(),
        path_prefix.as_deref(),
    );
    let state = AppState {
        tail: Arc::new(crate::tail::TailHub::new(stop_rx.clone())),
        auth: Arc::new(AuthState::new(config.authentication, keys)),
        meta: metadata.db.clone(),
        hasher: PasswordHasher::new(config.password_params, PASSWORD_HASHING_CONCURRENCY),
        throttle: Arc::new(SignInThrottle::new(config.sign_in_throttle.clone())),
        store: store.clone(),
        runtime,
        search_timeout: config.search_timeout,
        ingest_budget: Arc::new(tokio::sync::Semaphore::new(INGEST_BUDGET_BYTES)),
        ingest_budget_bytes: INGEST_BUDGET_BYTES,
        secret_key: Arc::new(metadata.secret_key),
        counters: counters.clone(),
        accounts: Arc::new(tokio::sync::Mutex::new(())),
        maintenance: Arc::new(tokio::sync::Mutex::new(())),
        inputs: Arc::new(crate::inputs::InputRegistry::default()),
        cors_origins: Arc::new(config.network.cors_allowed_origins.clone()),
        path_prefix: Arc::from(path_prefix.as_deref().unwrap_or("")),
        metrics: Arc::new(crate::metrics::Metrics::new(
            config.self_log.as_ref().map(|s| s.dropped_counter()),
            crate::metrics::ConnectionSlots {
                permits: shared.connections.clone(),
                limit: shared.limits.connection_permits(),
            },
        )),
        ingestion_log: Arc::default(),
        status: Arc::default(),
        backups: Arc::new(crate::backup::Backups::new(config.storage.clone())),
        outbound: Arc::new(config.network.outbound.clone()),
    };
    if !state.outbound.is_empty() {
        tracing::info!(allowed = %state.outbound, "outbound connections allowed (--outbound-allow)");
    }
    crate::status::note_start_up(&state.status, &config);
    if let Some(ca) = &self_signed_ca {
        state.status.set(
            "tls-self-signed",
            crate::status::Level::Warning,
            format!(
                "HTTPS uses a self-signed certificate made for trials ({}); give --tls-cert and \
                 --tls-key for production.",
                ca.display()
            ),
        );
    }
    let self_log = config
        .self_log
        .clone()
        .map(|s| tokio::spawn(crate::self_log::run(state.clone(), s, stop_rx.clone())));
    let sampler = tokio::spawn(crate::metrics::run_sampler(
        state.metrics.clone(),
        store.clone(),
        stop_rx.clone(),
    ));
    let flusher = tokio::spawn(flush_counters_periodically(
        counters.clone(),
        metadata.db.clone(),
    ));
    let inputs = crate::inputs::start(
        &state,
        &config.inputs,
        tls.as_ref().map(|t| &t.acceptor),
        stop_rx.clone(),
    )
    .await
    .map_err(ServeError::Input)?;
    let maintenance = state.maintenance.clone();
    let retention_state = state.clone();
    let backup_state = state.clone();
    let full_app = app(state.clone());
    let ingest_app = crate::ingest_app(state.clone());
    let metrics_app = crate::metrics::http::metrics_only_router(state);
    let redirect_target = crate::redirect::RedirectTarget {
        canonical: config
            .canonical_uri
            .as_deref()
            .filter(|u| u.starts_with("https://"))
            .map(|u| u.trim_end_matches('/').to_owned()),
        https_port: listeners
            .iter()
            .find(|l| l.scheme == Scheme::Https && l.role == Role::Full)
            .map_or(443, |l| l.local.port()),
    };
    // SIGHUP is caught from before the first `Listening on` line: until a handler is in place
    // the signal's default action would end the process.
    let hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(e) => {
            tracing::warn!(error = %e, "cannot catch SIGHUP; certificate files are still watched");
            None
        }
    };
    let mut servers = tokio::task::JoinSet::new();
    for bound in listeners {
        let (router, what) = match bound.role {
            Role::Full => (full_app.clone(), ""),
            Role::Ingest => (ingest_app.clone(), " (ingestion only)"),
            Role::Redirect => (
                crate::redirect::router(redirect_target.clone()),
                " (redirects to HTTPS)",
            ),
            Role::Metrics => {
                if !bound.local.ip().is_loopback() {
                    tracing::warn!(
                        address = %bound.local,
                        "the metrics listener is not on loopback: anyone who reaches it reads \
                         the server's figures without signing in"
                    );
                }
                (metrics_app.clone(), " (metrics only, no sign-in)")
            }
        };
        let https = bound.scheme == Scheme::Https;
        let scheme = if https { "https" } else { "http" };
        announce(&format!("Listening on {scheme}://{}{what}", bound.local));
        tracing::info!(address = %bound.local, scheme, role = ?bound.role, "listening");
        let listener = crate::http_serve::Listener {
            socket: bound.socket,
            tls: tls.as_ref().filter(|_| https).map(|t| t.acceptor.clone()),
            router,
        };
        servers.spawn(crate::http_serve::serve(
            listener,
            shared.clone(),
            stop_rx.clone(),
        ));
    }
    let hangup_task = match (&tls, hangups) {
        (Some(tls), hangups) => Some(tokio::spawn(crate::tls::watch_for_changes(
            tls.slot.clone(),
            config
                .network
                .tls
                .as_ref()
                .map_or(Duration::from_secs(2), |t| t.poll_interval),
            hangups,
            stop_rx.clone(),
        ))),
        (None, Some(hangups)) => Some(tokio::spawn(ignore_hangups(hangups, stop_rx.clone()))),
        (None, None) => None,
    };

    let backups = tokio::spawn(crate::backup::schedule::run_periodically(
        backup_state,
        stop_rx.clone(),
    ));
    let retention = tokio::spawn(crate::retention::run_periodically(
        retention_state,
        config.retention.clone(),
        stop_rx.clone(),
    ));

    shutdown.await;
    tracing::info!("shutting down: finishing requests in flight");
    let _ = stop_tx.send(true);
    // In-flight requests keep their store handle until answered; bound the wait so a stuck
    // client cannot hold the shutdown forever.
    let drained = tokio::time::timeout(Duration::from_secs(10), async {
        while servers.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("some connections did not finish within 10 s; closing them");
        servers.abort_all();
    }
    // The inputs stop reading and store what they had accepted.
    if tokio::time::timeout(Duration::from_secs(10), inputs.finished())
        .await
        .is_err()
    {
        tracing::warn!("the GELF and syslog inputs did not finish storing within 10 s");
    }
    flusher.abort();
    if let Some(task) = hangup_task {
        task.abort();
    }
    if let Some(task) = self_log {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    sampler.abort();
    // The retention task stops after the policy in hand; a delete already running (from it or
    // from a request that was cut off) holds the gate until the store has finished it.
    if retention.await.is_err() {
        tracing::error!("the retention task failed");
    }
    // A scheduled backup in progress finishes (the store is still open).
    let _ = backups.await;
    let _no_more_deletes = match maintenance.clone().try_lock_owned() {
        Ok(held) => held,
        Err(_) => {
            tracing::info!("shutting down: waiting for a delete of events to finish");
            maintenance.lock_owned().await
        }
    };
    let db = metadata.db.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = counters.flush(&db) {
            tracing::error!(error = %e, "storing the API key counters on shutdown failed");
        }
    })
    .await
    .expect("counter flush does not panic");
    tokio::task::spawn_blocking(move || store.shutdown())
        .await
        .expect("store shutdown does not panic")
        .map_err(ServeError::Close)?;
    tracing::info!("event store flushed and closed");
    Ok(())
}

/// What a listener serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// The UI and the whole API.
    Full,
    /// Ingestion routes and `/health`.
    Ingest,
    /// 308 redirects to HTTPS.
    Redirect,
    /// `GET /metrics`, unauthenticated.
    Metrics,
}

struct Bound {
    role: Role,
    scheme: Scheme,
    socket: TcpListener,
    local: std::net::SocketAddr,
}

/// Refuses listener combinations that cannot work, before anything is opened.
fn check_listeners(config: &ServeConfig) -> Result<(), ServeError> {
    let network = &config.network;
    let https: Vec<&ListenAddr> = config
        .listen
        .iter()
        .chain(&network.ingest_listen)
        .chain(&network.metrics_listen)
        .filter(|l| l.scheme == Scheme::Https)
        .collect();
    if let Some(first) = https.first()
        && network.tls.is_none()
    {
        return Err(ServeError::Listeners(format!(
            "cannot listen on https://{}: no certificate; give --tls-cert FILE and --tls-key FILE \
             (PEM), or --tls-self-signed for a trial",
            first.socket_text()
        )));
    }
    if network.tls.is_some() && https.is_empty() {
        return Err(ServeError::Listeners(
            "a TLS certificate is configured but no listen address is https://; use e.g. \
             --listen https://0.0.0.0:443"
                .into(),
        ));
    }
    if let Some(redirect) = network.redirect_http.first() {
        if redirect.scheme == Scheme::Https {
            return Err(ServeError::Listeners(format!(
                "--redirect-http {} must be a plain http:// address: it sends browsers to HTTPS",
                redirect.socket_text()
            )));
        }
        if !config.listen.iter().any(|l| l.scheme == Scheme::Https) {
            return Err(ServeError::Listeners(
                "--redirect-http needs an https:// --listen address to redirect to".into(),
            ));
        }
    }
    Ok(())
}

/// Says loudly that the certificate is a trial one, and what clients must trust.
fn announce_self_signed(ca: &Path) {
    announce(&format!(
        "HTTPS uses a SELF-SIGNED certificate, for trials only: clients must trust {} \
         (e.g. NODE_EXTRA_CA_CERTS, curl --cacert, REQUESTS_CA_BUNDLE). Use --tls-cert and \
         --tls-key in production.",
        ca.display()
    ));
    tracing::warn!(
        ca = %ca.display(),
        "HTTPS uses a self-signed certificate generated for trials; do not use it in production"
    );
}

/// Without a certificate to reload, SIGHUP (`systemctl reload`) must not stop the server, as
/// its default action would.
async fn ignore_hangups(
    mut hangups: tokio::signal::unix::Signal,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = crate::http_serve::stopped(&mut stop) => return,
            Some(()) = hangups.recv() => {
                tracing::info!("SIGHUP: nothing to reload (no HTTPS certificate)");
            }
        }
    }
}

/// How often per-key ingestion counters move from memory to the metadata database.
const COUNTER_FLUSH_INTERVAL: Duration = Duration::from_secs(5);

async fn flush_counters_periodically(counters: Arc<IngestCounters>, db: Arc<seqr_meta::MetaDb>) {
    let mut tick = tokio::time::interval(COUNTER_FLUSH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (counters, db) = (counters.clone(), db.clone());
        let flushed = tokio::task::spawn_blocking(move || counters.flush(&db)).await;
        if let Ok(Err(e)) = flushed {
            tracing::warn!(error = %e, "storing the API key counters failed; retrying later");
        }
    }
}

/// Tells the operator what opening the store found: replayed log, cut torn tail, quarantined files.
fn report_open(store: &Store) {
    let report = store.open_report();
    if report.truncated_tail_bytes > 0 {
        tracing::warn!(
            bytes = report.truncated_tail_bytes,
            "cut a torn record from the end of the write-ahead log (a write that was never acknowledged)"
        );
    }
    for q in &report.quarantined {
        tracing::error!(file = %q.file.display(), detail = %q.detail, "damaged store file quarantined; its events are not served");
    }
    let stats = store.stats();
    tracing::info!(
        events = stats.events,
        parts = report.parts,
        migrated_segments = report.migrated_segments,
        replayed = report.replayed_events,
        "event store open"
    );
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub(crate) fn announce(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
