//! Command line, environment and config-file settings, resolved into a [`ServeConfig`].
//!
//! Precedence, highest first: flag, `SEQR_*` environment variable, Seq's own environment name
//! (so existing Compose files and Helm values keep working), TOML file (`--config`), default.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use seqr_server::bootstrap::FirstRun;
use seqr_server::{ListenAddr, SecretKeySource, ServeConfig};
use serde::Deserialize;

const DEFAULT_LISTEN: &str = "http://127.0.0.1:5341";
const DEFAULT_STORAGE: &str = "./seqr-data";
const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
const DEFAULT_MAX_EVENT_BYTES: usize = 256 * 1024;
const DEFAULT_SEARCH_TIMEOUT_MS: u64 = 10_000;
const DEFAULT_RETENTION_INTERVAL_SECS: u64 = 600;

/// seqr: a self-hosted structured log server. Existing Seq clients (Serilog, seq-logging,
/// pino-seq, winston-seq, seqlog, ...) send events to it unchanged; people search them through
/// its HTTP API.
#[derive(Debug, Parser)]
#[command(name = "seqr", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the server: ingestion, search API and storage in one process.
    ///
    /// Each setting can be given as a flag, as an environment variable (shown below), or in a
    /// TOML file named by --config; flags win over the environment, which wins over the file.
    /// Seq's environment names are honoured too: SEQ_API_LISTENURIS (as SEQR_LISTEN) and
    /// SEQ_API_CANONICALURI (as SEQR_CANONICAL_URI).
    Serve(Box<ServeArgs>),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// User accounts, offline (the server must be stopped).
    #[command(subcommand)]
    User(UserCommand),
    /// The instance secret key, offline (the server must be stopped).
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Back up an instance (metadata and events) into one file. With --server, a running
    /// server makes it (online and consistent; System permission) and this command downloads
    /// it; without, a stopped server's data directory is read directly. Encrypted with the
    /// secret key unless --no-encrypt (offline only). The secret key itself is never in a
    /// backup: keep it separately.
    Backup(Box<BackupArgs>),
    /// Restore a backup into a new data directory (offline). Needs the original instance's
    /// secret key (SEQR_SECRET_KEY, --secret-key-file or --secret-key-provider); every checksum
    /// is verified before the directory appears, and nothing is left behind on failure.
    Restore(Box<RestoreArgs>),
}

#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// A running server's URL (`https://logs.example`); the backup is made there. An
    /// authenticating server needs an API key with System permission, in SEQR_API_KEY or
    /// --api-key-file.
    #[arg(long, env = "SEQR_SERVER_URL", value_name = "URL")]
    pub(crate) server: Option<String>,
    /// File holding the API key for --server (kept out of the process list).
    #[arg(long, env = "SEQR_API_KEY_FILE", value_name = "FILE")]
    pub(crate) api_key_file: Option<PathBuf>,
    /// A PEM CA certificate to trust for --server over HTTPS, besides the system's (for
    /// `--tls-self-signed`, the server's DATA/tls/self-signed-ca.pem).
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_file: Option<PathBuf>,
    /// The (stopped) server's data directory, when --server is not given.
    #[arg(long, env = "SEQR_STORAGE", value_name = "DIR", default_value = DEFAULT_STORAGE)]
    pub(crate) storage: PathBuf,
    /// Directory the backup file is written to (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Write frames checksummed but not encrypted (anyone with the file can read the password
    /// hashes and events in it). Offline only: a server always encrypts its backups.
    #[arg(long)]
    pub(crate) no_encrypt: bool,
    /// File holding the secret key (as for `seqr serve`).
    #[arg(long, env = "SEQR_SECRET_KEY_FILE", value_name = "FILE")]
    secret_key_file: Option<PathBuf>,
    /// Program printing the secret key (as for `seqr serve`).
    #[arg(long, env = "SEQR_SECRET_KEY_PROVIDER", value_name = "COMMAND")]
    secret_key_provider: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// The backup file.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "from_latest",
        conflicts_with = "from_latest"
    )]
    pub(crate) from: Option<PathBuf>,
    /// Restore the newest backup in this directory (like Seq's `--from-latest`).
    #[arg(long, value_name = "DIR")]
    pub(crate) from_latest: Option<PathBuf>,
    /// The new data directory: must not exist, or be empty.
    #[arg(long, value_name = "DIR")]
    pub(crate) storage: PathBuf,
    /// File holding the secret key (as for `seqr serve`).
    #[arg(long, env = "SEQR_SECRET_KEY_FILE", value_name = "FILE")]
    secret_key_file: Option<PathBuf>,
    /// Program printing the secret key (as for `seqr serve`).
    #[arg(long, env = "SEQR_SECRET_KEY_PROVIDER", value_name = "COMMAND")]
    secret_key_provider: Option<String>,
}

/// The key source of `seqr backup`/`seqr restore`, as for `seqr serve`.
pub(crate) fn backup_key_source(
    file: Option<PathBuf>,
    provider: Option<String>,
) -> Result<SecretKeySource, String> {
    secret_key_source(std::env::var(SECRET_KEY_ENV).ok(), file, provider)
}

impl BackupArgs {
    pub(crate) fn key_source(&self) -> Result<SecretKeySource, String> {
        backup_key_source(
            self.secret_key_file.clone(),
            self.secret_key_provider.clone(),
        )
    }
}

impl RestoreArgs {
    pub(crate) fn key_source(&self) -> Result<SecretKeySource, String> {
        backup_key_source(
            self.secret_key_file.clone(),
            self.secret_key_provider.clone(),
        )
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum SecretCommand {
    /// Re-encrypt every sealed value in the metadata under a new instance secret key, in one
    /// transaction, under the data directory's lock (stop the server first).
    ///
    /// The current key is given as for `seqr serve` (SEQR_SECRET_KEY, --secret-key-file,
    /// --secret-key-provider, or secret.key in the data directory) and is checked first. The new
    /// key comes from --new-key-file or SEQR_NEW_SECRET_KEY; store it where the server will read
    /// it before running this. When neither is given and the current key is the data directory's
    /// secret.key, a new key is generated into secret.key (--print-new-key also prints it, alone,
    /// on standard output, e.g. for a vault). A current key in the data directory is always
    /// replaced there by the new one, so `seqr serve` keeps starting as before.
    Rotate(Box<RotateArgs>),
}

#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// The server's data directory. [default: ./seqr-data]
    #[arg(long, env = "SEQR_STORAGE", value_name = "DIR")]
    storage: Option<PathBuf>,

    /// The server's TOML file; its storage, secret_key_file and secret_key_provider are used.
    #[arg(long, env = "SEQR_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    /// File holding the current secret key (as for `seqr serve`).
    #[arg(long, env = "SEQR_SECRET_KEY_FILE", value_name = "FILE")]
    secret_key_file: Option<PathBuf>,

    /// Program printing the current secret key (as for `seqr serve`).
    #[arg(long, env = "SEQR_SECRET_KEY_PROVIDER", value_name = "COMMAND")]
    secret_key_provider: Option<String>,

    /// File holding the new secret key (base64 of 32 bytes), readable only by its owner.
    /// Alternative: SEQR_NEW_SECRET_KEY (the key itself, never a flag).
    #[arg(long, value_name = "FILE")]
    new_key_file: Option<PathBuf>,

    /// Print a generated new key on standard output (and nothing else there).
    #[arg(long)]
    print_new_key: bool,
}

/// Where `seqr secret rotate` gets the new key.
#[derive(Debug)]
pub(crate) enum NewKeySource {
    /// A file readable only by its owner (`--new-key-file`).
    File(PathBuf),
    /// Base64 text (`SEQR_NEW_SECRET_KEY`).
    Value(String),
    /// Generated; only when the current key is the data directory's `secret.key`, which
    /// receives it.
    Generate,
}

impl NewKeySource {
    /// For the audit record: how the key was given, never the key or a path.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            NewKeySource::File(_) => "file",
            NewKeySource::Value(_) => "environment",
            NewKeySource::Generate => "generated",
        }
    }
}

/// `seqr secret rotate`'s settings, resolved.
#[derive(Debug)]
pub(crate) struct RotateConfig {
    pub(crate) storage: PathBuf,
    pub(crate) current: SecretKeySource,
    pub(crate) new_key: NewKeySource,
    pub(crate) print_new_key: bool,
}

/// The environment variable holding the new key itself for `seqr secret rotate`.
pub(crate) const NEW_SECRET_KEY_ENV: &str = "SEQR_NEW_SECRET_KEY";

/// Resolves `seqr secret rotate`'s flags, environment and file.
pub(crate) fn resolve_rotate(args: RotateArgs) -> Result<RotateConfig, String> {
    resolve_rotate_with(args, |name| std::env::var(name).ok())
}

fn resolve_rotate_with(
    args: RotateArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<RotateConfig, String> {
    let (file, file_dir) = match &args.config {
        Some(path) => (
            read_file(path)?,
            path.parent().map(Path::to_owned).unwrap_or_default(),
        ),
        None => (FileConfig::default(), PathBuf::new()),
    };
    let relative = |p: PathBuf| if p.is_relative() { file_dir.join(p) } else { p };
    let storage = args
        .storage
        .or_else(|| file.storage.map(relative))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STORAGE));
    let current = secret_key_source(
        env(SECRET_KEY_ENV),
        args.secret_key_file
            .or_else(|| file.secret_key_file.map(relative)),
        args.secret_key_provider.or(file.secret_key_provider),
    )?;
    let new_key = match (args.new_key_file, env(NEW_SECRET_KEY_ENV)) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "give the new secret key one way only: --new-key-file or {NEW_SECRET_KEY_ENV}"
            ));
        }
        (Some(path), None) => NewKeySource::File(path),
        (None, Some(text)) => NewKeySource::Value(text),
        (None, None) if matches!(current, SecretKeySource::DataDirectory) => NewKeySource::Generate,
        (None, None) => {
            return Err(format!(
                "the current secret key comes from {}, so seqr cannot keep a new one for you: create \
                 one (e.g. `head -c 32 /dev/urandom | base64`), store it where the server will read \
                 it, and give it with --new-key-file FILE (chmod 600) or {NEW_SECRET_KEY_ENV}",
                current.describe()
            ));
        }
    };
    if args.print_new_key && !matches!(new_key, NewKeySource::Generate) {
        return Err(
            "--print-new-key prints a generated key; the new key was given, so there is nothing to print".into(),
        );
    }
    Ok(RotateConfig {
        storage,
        current,
        new_key,
        print_new_key: args.print_new_key,
    })
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Give USER a new one-time password, printed once, that must be changed at the next
    /// sign-in; signs the user out everywhere. For when the last administrator is locked out.
    /// Works on a stopped server's data directory.
    ResetPassword {
        /// The username.
        username: String,
        /// The server's data directory.
        #[arg(long, env = "SEQR_STORAGE", value_name = "DIR", default_value = DEFAULT_STORAGE)]
        storage: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Check the audit log's hash chain; exits 0 when intact, 1 when a record was edited,
    /// removed or reordered, 2 when the log cannot be read.
    Verify {
        /// The server's data directory.
        #[arg(long, env = "SEQR_STORAGE", value_name = "DIR", default_value = DEFAULT_STORAGE)]
        storage: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Read a password on standard input and print its argon2id hash (a PHC string) for
    /// SEQR_FIRSTRUN_ADMINPASSWORDHASH, so the password itself never sits in a Compose file or
    /// Helm values. Example: `printf '%s' "$PW" | seqr config hash`.
    Hash {
        /// The user the password is for; the policy refuses a password equal to it.
        #[arg(long, default_value = "admin")]
        username: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to serve on: http://HOST:PORT or a bare HOST:PORT (http). Repeat the flag, or
    /// separate values with commas in the variable, to listen on several. Port 0 picks a free
    /// port. [default: http://127.0.0.1:5341]
    #[arg(long, env = "SEQR_LISTEN", value_delimiter = ',', value_name = "ADDR")]
    listen: Vec<String>,

    /// Data directory for events and metadata; created if missing, locked while the server
    /// runs so two servers cannot share it. [default: ./seqr-data]
    #[arg(long, env = "SEQR_STORAGE", value_name = "DIR")]
    storage: Option<PathBuf>,

    /// TOML file with any of these settings (keys as the flag names with underscores, e.g.
    /// `listen = ["http://0.0.0.0:5341"]`, `max_body_bytes = 1048576`). Relative paths in it
    /// are relative to the file.
    #[arg(long, env = "SEQR_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    /// Largest ingestion request body in bytes, also after decompression; larger requests get
    /// 413. Seeds the RawPayloadMaximumContentLength runtime setting: an administrator's value
    /// (PUT api/settings) wins. [default: 10485760]
    #[arg(long, env = "SEQR_MAX_BODY_BYTES", value_name = "BYTES")]
    max_body_bytes: Option<usize>,

    /// Largest single event in bytes of JSON; a request holding a larger one is rejected whole
    /// with 400. Seeds the RawEventMaximumContentLength runtime setting: an administrator's
    /// value wins. [default: 262144]
    #[arg(long, env = "SEQR_MAX_EVENT_BYTES", value_name = "BYTES")]
    max_event_bytes: Option<usize>,

    /// Longest a search may work before answering with Status "Partial" (the caller continues
    /// from LastReadEventId). [default: 10000]
    #[arg(long, env = "SEQR_SEARCH_TIMEOUT_MS", value_name = "MS")]
    search_timeout_ms: Option<u64>,

    /// How often retention policies (api/retentionpolicies) are applied, deleting the events
    /// they select; the first run comes a minute after start. [default: 600]
    #[arg(long, env = "SEQR_RETENTION_INTERVAL_SECS", value_name = "SECONDS")]
    retention_interval_secs: Option<u64>,

    /// Name of this instance, shown by GET /api and the sign-in page. Seeds the InstanceTitle
    /// runtime setting: an administrator's value wins.
    #[arg(long, env = "SEQR_INSTANCE_NAME", value_name = "NAME")]
    instance_name: Option<String>,

    /// File holding the instance secret key (base64 of 32 bytes), readable only by its owner;
    /// the key seals sensitive settings. Alternatives: SEQR_SECRET_KEY (the key itself, never a
    /// flag, so it stays out of process listings) or --secret-key-provider. Without any, a key
    /// is generated into the data directory (fine for trying seqr, not for production).
    #[arg(long, env = "SEQR_SECRET_KEY_FILE", value_name = "FILE")]
    secret_key_file: Option<PathBuf>,

    /// Program that prints the instance secret key (base64) on standard output, e.g. a Vault or
    /// KMS client; run through `sh -c` at start-up.
    #[arg(long, env = "SEQR_SECRET_KEY_PROVIDER", value_name = "COMMAND")]
    secret_key_provider: Option<String>,

    /// Turn authentication off: every caller may do everything. For local experiments only; a
    /// warning is logged at every start. Seq's name: SEQ_FIRSTRUN_NOAUTHENTICATION=True.
    #[arg(long, env = "SEQR_NO_AUTHENTICATION", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    no_authentication: Option<bool>,

    /// First run only (no users yet): the first administrator's username. [default: admin]
    /// Seq's name: SEQ_FIRSTRUN_ADMINUSERNAME.
    #[arg(long, env = "SEQR_FIRSTRUN_ADMINUSERNAME", value_name = "NAME")]
    first_run_admin_username: Option<String>,

    /// First run only: the first administrator's password as an argon2id hash from `seqr config
    /// hash`. The plain password may instead be given in SEQR_FIRSTRUN_ADMINPASSWORD (never a
    /// flag). With neither, a one-time password is generated, printed once, and must be changed
    /// at first sign-in. Seq's names: SEQ_FIRSTRUN_ADMINPASSWORDHASH, SEQ_FIRSTRUN_ADMINPASSWORD.
    #[arg(long, env = "SEQR_FIRSTRUN_ADMINPASSWORDHASH", value_name = "PHC")]
    first_run_admin_password_hash: Option<String>,

    /// First run only: require an API key for ingestion from the start (otherwise keyless
    /// ingestion is allowed while every listener is loopback). Seq's name:
    /// SEQ_FIRSTRUN_REQUIREAUTHENTICATIONFORHTTPINGESTION.
    #[arg(
        long,
        env = "SEQR_FIRSTRUN_REQUIREAUTHENTICATIONFORHTTPINGESTION",
        value_name = "BOOL"
    )]
    first_run_require_api_key: Option<bool>,

    /// Public base URL of the server when it differs from the listen address (behind a
    /// proxy), e.g. https://logs.example.com/seq: redirects to HTTPS go there, and a path in it
    /// is a prefix the UI and API are served under (a proxy may forward requests with or
    /// without it). Also --base-uri. Seq's name: SEQ_API_CANONICALURI.
    #[arg(
        long,
        alias = "base-uri",
        env = "SEQR_CANONICAL_URI",
        value_name = "URL"
    )]
    canonical_uri: Option<String>,

    /// Format of seqr's own log on standard error: `text` for people, or `json` for log
    /// shippers: one CLEF object a line (@t, @l, @m, SourceContext, the event's fields), which
    /// seqr or Seq ingest as they are. [default: text]
    #[arg(long, env = "SEQR_LOG_FORMAT", value_name = "FORMAT")]
    log_format: Option<LogFormat>,

    /// Which of seqr's own log events are written: a level (error, warn, info, debug, trace)
    /// or tracing directives such as `info,seqr_store=debug`. SEQR_LOG (the older name) is
    /// read when this is not given. [default: info]
    #[arg(long, env = "SEQR_LOG_LEVEL", value_name = "FILTER")]
    log_level: Option<String>,

    /// Also store seqr's own log events of Information and above (those --log-level lets
    /// through) in its own store, as events with Application = "seqr", to search them like any
    /// other. Events that arrive faster than they are stored are dropped and counted
    /// (seqr_self_log_dropped_total). [default: false]
    #[arg(long, env = "SEQR_SELF_LOG", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    self_log: Option<bool>,

    #[command(flatten)]
    inputs: crate::inputs_config::InputArgs,

    #[command(flatten)]
    network: crate::network_config::NetworkArgs,
}

/// How seqr's own log is written on standard error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    #[default]
    Text,
    Json,
}

/// seqr's own logging, resolved from flags, environment and file like the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogSettings {
    pub(crate) format: LogFormat,
    /// An `EnvFilter` directive string.
    pub(crate) level: String,
    pub(crate) self_log: bool,
}

impl LogSettings {
    /// For the commands other than `serve`: text, at SEQR_LOG's level or info.
    pub(crate) fn from_env() -> LogSettings {
        LogSettings {
            format: LogFormat::Text,
            level: std::env::var(LOG_ENV_ALIAS).unwrap_or_else(|_| DEFAULT_LOG_LEVEL.to_owned()),
            self_log: false,
        }
    }
}

const DEFAULT_LOG_LEVEL: &str = "info";
/// The log level's older environment name.
const LOG_ENV_ALIAS: &str = "SEQR_LOG";

/// Resolves `seqr serve`'s logging settings (read before the rest, so that what resolving the
/// rest reports is logged the chosen way).
pub(crate) fn log_settings(args: &ServeArgs) -> Result<LogSettings, String> {
    log_settings_with(args, |name| std::env::var(name).ok())
}

fn log_settings_with(
    args: &ServeArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<LogSettings, String> {
    let file = match &args.config {
        Some(path) => read_file(path)?,
        None => FileConfig::default(),
    };
    let level = args
        .log_level
        .clone()
        .or_else(|| env(LOG_ENV_ALIAS))
        .or(file.log_level)
        .unwrap_or_else(|| DEFAULT_LOG_LEVEL.to_owned());
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&level) {
        return Err(format!(
            "log level `{level}` is not a level (error, warn, info, debug, trace) or a list of \
             tracing directives: {e}"
        ));
    }
    Ok(LogSettings {
        format: args.log_format.or(file.log_format).unwrap_or_default(),
        level,
        self_log: args.self_log.or(file.self_log).unwrap_or(false),
    })
}

/// The TOML file's contents; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<Vec<String>>,
    storage: Option<PathBuf>,
    max_body_bytes: Option<usize>,
    max_event_bytes: Option<usize>,
    search_timeout_ms: Option<u64>,
    retention_interval_secs: Option<u64>,
    instance_name: Option<String>,
    canonical_uri: Option<String>,
    secret_key_file: Option<PathBuf>,
    secret_key_provider: Option<String>,
    log_format: Option<LogFormat>,
    log_level: Option<String>,
    self_log: Option<bool>,
    /// `[[inputs]]`: GELF and syslog listeners, each with its own limits.
    #[serde(default)]
    inputs: Vec<crate::inputs_config::FileInput>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_self_signed: Option<bool>,
    ingest_listen: Option<Vec<String>>,
    redirect_http: Option<Vec<String>>,
    metrics_listen: Option<String>,
    trusted_proxies: Option<Vec<String>>,
    cors_allowed_origins: Option<Vec<String>>,
    max_connections: Option<usize>,
    outbound_allow: Option<Vec<String>>,
}

/// Seq's environment names that seqr reads as aliases of its own settings.
const SEQ_LISTEN_ALIAS: &str = "SEQ_API_LISTENURIS";
const SEQ_CANONICAL_URI_ALIAS: &str = "SEQ_API_CANONICALURI";
/// The first administrator's plain password: environment only, never a flag or file.
const FIRST_RUN_PASSWORD_ENV: &str = "SEQR_FIRSTRUN_ADMINPASSWORD";

/// Resolves flags, environment and file into a validated configuration.
pub(crate) fn resolve(args: ServeArgs) -> Result<ServeConfig, String> {
    resolve_with(args, |name| std::env::var(name).ok())
}

fn resolve_with(
    args: ServeArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<ServeConfig, String> {
    let (file, file_dir) = match &args.config {
        Some(path) => (
            read_file(path)?,
            path.parent().map(Path::to_owned).unwrap_or_default(),
        ),
        None => (FileConfig::default(), PathBuf::new()),
    };

    let listen_texts: Vec<String> = if !args.listen.is_empty() {
        args.listen
    } else if let Some(seq) = env(SEQ_LISTEN_ALIAS) {
        seq.split(',').map(str::to_owned).collect()
    } else if let Some(from_file) = file.listen {
        from_file
    } else {
        vec![DEFAULT_LISTEN.to_owned()]
    };
    let listen = listen_texts
        .iter()
        .filter(|t| !t.trim().is_empty())
        .map(|t| ListenAddr::parse(t).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    if listen.is_empty() {
        return Err("no listen address given; use --listen http://HOST:PORT".into());
    }

    let storage = args
        .storage
        .or_else(|| {
            file.storage
                .map(|p| if p.is_relative() { file_dir.join(p) } else { p })
        })
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STORAGE));

    let max_body_bytes = args
        .max_body_bytes
        .or(file.max_body_bytes)
        .unwrap_or(DEFAULT_MAX_BODY_BYTES);
    let max_event_bytes = args
        .max_event_bytes
        .or(file.max_event_bytes)
        .unwrap_or(DEFAULT_MAX_EVENT_BYTES);
    if max_body_bytes == 0 || max_event_bytes == 0 {
        return Err("max_body_bytes and max_event_bytes must be greater than zero".into());
    }
    let search_timeout_ms = args
        .search_timeout_ms
        .or(file.search_timeout_ms)
        .unwrap_or(DEFAULT_SEARCH_TIMEOUT_MS);
    let retention_interval_secs = args
        .retention_interval_secs
        .or(file.retention_interval_secs)
        .unwrap_or(DEFAULT_RETENTION_INTERVAL_SECS);
    if retention_interval_secs == 0 {
        return Err("retention_interval_secs must be at least 1".into());
    }

    let canonical_uri = args
        .canonical_uri
        .or_else(|| env(SEQ_CANONICAL_URI_ALIAS))
        .or(file.canonical_uri);
    if let Some(uri) = &canonical_uri {
        seqr_server::listen::base_path(uri).map_err(|e| e.to_string())?;
    }
    let seq_bool = |name: &str| -> Result<Option<bool>, String> {
        env(name)
            .map(|v| match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" | "" => Ok(false),
                other => Err(format!("{name} must be True or False, not `{other}`")),
            })
            .transpose()
    };
    let no_authentication = match args.no_authentication {
        Some(v) => v,
        None => seq_bool("SEQ_FIRSTRUN_NOAUTHENTICATION")?.unwrap_or(false),
    };
    let first_run = FirstRun {
        admin_username: args
            .first_run_admin_username
            .or_else(|| env("SEQ_FIRSTRUN_ADMINUSERNAME")),
        admin_password: env(FIRST_RUN_PASSWORD_ENV)
            .or_else(|| env("SEQ_FIRSTRUN_ADMINPASSWORD"))
            .or_else(|| env("SEQ_PASSWORD")),
        admin_password_hash: args
            .first_run_admin_password_hash
            .or_else(|| env("SEQ_FIRSTRUN_ADMINPASSWORDHASH")),
        require_api_key_for_ingestion: match args.first_run_require_api_key {
            Some(v) => Some(v),
            None => seq_bool("SEQ_FIRSTRUN_REQUIREAUTHENTICATIONFORHTTPINGESTION")?,
        },
    };

    let secret_key = secret_key_source(
        env(SECRET_KEY_ENV),
        args.secret_key_file.or_else(|| {
            file.secret_key_file
                .map(|p| if p.is_relative() { file_dir.join(p) } else { p })
        }),
        args.secret_key_provider.or(file.secret_key_provider),
    )?;

    let inputs = crate::inputs_config::resolve(args.inputs, file.inputs)?;
    let network = crate::network_config::resolve(
        args.network,
        crate::network_config::FileNetwork {
            tls_cert: file.tls_cert,
            tls_key: file.tls_key,
            tls_self_signed: file.tls_self_signed,
            ingest_listen: file.ingest_listen,
            redirect_http: file.redirect_http,
            metrics_listen: file.metrics_listen,
            trusted_proxies: file.trusted_proxies,
            cors_allowed_origins: file.cors_allowed_origins,
            max_connections: file.max_connections,
            outbound_allow: file.outbound_allow,
        },
        &file_dir,
        &env,
    )?;

    Ok(ServeConfig {
        inputs,
        network,
        listen,
        storage,
        limits: seqr_ingest_limits(max_body_bytes, max_event_bytes),
        instance_name: args.instance_name.or(file.instance_name),
        search_timeout: Duration::from_millis(search_timeout_ms),
        canonical_uri,
        store: Default::default(),
        secret_key,
        password_params: Default::default(),
        sign_in_throttle: Default::default(),
        authentication: !no_authentication,
        first_run,
        retention: seqr_server::RetentionSchedule {
            interval: Duration::from_secs(retention_interval_secs),
            trigger: None,
        },
        self_log: None,
    })
}

/// The environment variable holding the secret key itself.
const SECRET_KEY_ENV: &str = "SEQR_SECRET_KEY";

/// At most one secret key source may be given: two would leave it unclear which key sealed what.
fn secret_key_source(
    value: Option<String>,
    file: Option<PathBuf>,
    provider: Option<String>,
) -> Result<SecretKeySource, String> {
    match (value, file, provider) {
        (None, None, None) => Ok(SecretKeySource::DataDirectory),
        (Some(v), None, None) => Ok(SecretKeySource::Value(v)),
        (None, Some(f), None) => Ok(SecretKeySource::File(f)),
        (None, None, Some(p)) => Ok(SecretKeySource::Provider(p)),
        _ => Err(format!(
            "give the secret key one way only: {SECRET_KEY_ENV}, --secret-key-file or --secret-key-provider"
        )),
    }
}

fn seqr_ingest_limits(max_body_bytes: usize, max_event_bytes: usize) -> seqr_server::Limits {
    seqr_server::Limits {
        max_body_bytes,
        max_event_bytes,
    }
}

fn read_file(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> ServeArgs {
        let mut full = vec!["seqr", "serve"];
        full.extend_from_slice(argv);
        match Cli::try_parse_from(full).unwrap().command {
            Command::Serve(a) => *a,
            other => panic!("parsed {other:?}"),
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults() {
        let c = resolve_with(args(&[]), no_env).unwrap();
        assert_eq!(c.listen, vec![ListenAddr::parse("127.0.0.1:5341").unwrap()]);
        assert_eq!(c.storage, PathBuf::from("./seqr-data"));
        assert_eq!(c.limits.max_body_bytes, 10 * 1024 * 1024);
        assert_eq!(c.limits.max_event_bytes, 256 * 1024);
        assert_eq!(
            c.retention.interval,
            seqr_server::DEFAULT_RETENTION_INTERVAL
        );
    }

    #[test]
    fn inputs_from_flags_and_the_files_tables() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("seqr.toml");
        std::fs::write(
            &file,
            "[[inputs]]\nkind = \"syslog-tcp\"\nlisten = \"0.0.0.0:6514\"\nallow = [\"10.0.0.0/8\"]\nmax_connections = 20\n",
        )
        .unwrap();
        let f = file.to_str().unwrap();
        let c = resolve_with(
            args(&["--config", f, "--gelf-udp", "127.0.0.1:12201"]),
            no_env,
        )
        .unwrap();
        let kinds: Vec<_> = c
            .inputs
            .iter()
            .map(|i| (i.kind.name(), i.address.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("gelf-udp", "127.0.0.1:12201"),
                ("syslog-tcp", "0.0.0.0:6514")
            ]
        );
        assert_eq!(c.inputs[1].limits.max_connections, 20);
        std::fs::write(
            &file,
            "[[inputs]]\nkind = \"gelf-udp\"\nlisten = \"x:1\"\nport = 5\n",
        )
        .unwrap();
        let e = resolve_with(args(&["--config", f]), no_env).unwrap_err();
        assert!(
            e.contains("port"),
            "unknown keys in a table are refused: {e}"
        );
    }

    #[test]
    fn retention_interval_from_flag_or_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("seqr.toml");
        std::fs::write(&file, "retention_interval_secs = 60\n").unwrap();
        let f = file.to_str().unwrap();
        let c = resolve_with(args(&["--config", f]), no_env).unwrap();
        assert_eq!(c.retention.interval, Duration::from_secs(60));
        let c = resolve_with(
            args(&["--config", f, "--retention-interval-secs", "5"]),
            no_env,
        )
        .unwrap();
        assert_eq!(c.retention.interval, Duration::from_secs(5));
        let e = resolve_with(args(&["--retention-interval-secs", "0"]), no_env).unwrap_err();
        assert!(e.contains("retention_interval_secs"), "{e}");
    }

    #[test]
    fn flags_beat_seq_aliases_beat_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("seqr.toml");
        std::fs::write(
            &file,
            "listen = [\"127.0.0.1:1111\"]\nstorage = \"data\"\nmax_body_bytes = 5\ninstance_name = \"from-file\"\n",
        )
        .unwrap();
        let f = file.to_str().unwrap();

        let c = resolve_with(args(&["--config", f]), no_env).unwrap();
        assert_eq!(c.listen[0].port, 1111);
        assert_eq!(c.storage, dir.path().join("data"));
        assert_eq!(c.limits.max_body_bytes, 5);
        assert_eq!(c.instance_name.as_deref(), Some("from-file"));

        let seq_env = |n: &str| {
            (n == SEQ_LISTEN_ALIAS)
                .then(|| "http://localhost:2222,http://127.0.0.1:3333".to_owned())
        };
        let c = resolve_with(args(&["--config", f]), seq_env).unwrap();
        assert_eq!(
            c.listen.iter().map(|l| l.port).collect::<Vec<_>>(),
            [2222, 3333]
        );

        let c = resolve_with(
            args(&[
                "--config",
                f,
                "--listen",
                "127.0.0.1:4444",
                "--listen",
                "http://[::1]:5555",
                "--storage",
                "x",
            ]),
            seq_env,
        )
        .unwrap();
        assert_eq!(
            c.listen.iter().map(|l| l.port).collect::<Vec<_>>(),
            [4444, 5555]
        );
        assert_eq!(c.storage, PathBuf::from("x"));
    }

    #[test]
    fn bad_settings_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "lisen = []\n").unwrap();
        let e = resolve_with(args(&["--config", file.to_str().unwrap()]), no_env).unwrap_err();
        assert!(e.contains("lisen"), "{e}");
        let e = resolve_with(args(&["--listen", "ftp://x:1"]), no_env).unwrap_err();
        assert!(e.contains("ftp://x:1"), "{e}");
        let e = resolve_with(args(&["--canonical-uri", "seq.example"]), no_env).unwrap_err();
        assert!(e.contains("http"), "{e}");
    }

    #[test]
    fn log_settings_from_flags_environment_and_file() {
        let c = log_settings_with(&args(&[]), no_env).unwrap();
        assert_eq!(
            c,
            LogSettings {
                format: LogFormat::Text,
                level: "info".into(),
                self_log: false
            }
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("seqr.toml");
        std::fs::write(
            &file,
            "log_format = \"json\"\nlog_level = \"warn\"\nself_log = true\n",
        )
        .unwrap();
        let f = file.to_str().unwrap();
        let c = log_settings_with(&args(&["--config", f]), no_env).unwrap();
        assert_eq!(c.format, LogFormat::Json);
        assert_eq!(c.level, "warn");
        assert!(c.self_log);
        let old_env = |n: &str| (n == "SEQR_LOG").then(|| "debug".to_owned());
        let c = log_settings_with(&args(&["--config", f]), old_env).unwrap();
        assert_eq!(c.level, "debug", "the environment beats the file");
        let c = log_settings_with(
            &args(&[
                "--config",
                f,
                "--log-format",
                "text",
                "--log-level",
                "error,seqr_store=debug",
                "--self-log=false",
            ]),
            old_env,
        )
        .unwrap();
        assert_eq!(c.format, LogFormat::Text);
        assert_eq!(c.level, "error,seqr_store=debug");
        assert!(!c.self_log);
        assert!(
            log_settings_with(&args(&["--self-log"]), no_env)
                .unwrap()
                .self_log
        );
        let e = log_settings_with(&args(&["--log-level", "loud=="]), no_env).unwrap_err();
        assert!(e.contains("loud=="), "{e}");
        assert!(Cli::try_parse_from(["seqr", "serve", "--log-format", "xml"]).is_err());
        // The server's own settings ignore these keys rather than refusing the file.
        assert!(resolve_with(args(&["--config", f]), no_env).is_ok());
    }

    fn rotate_args(argv: &[&str]) -> RotateArgs {
        let mut full = vec!["seqr", "secret", "rotate"];
        full.extend_from_slice(argv);
        match Cli::try_parse_from(full).unwrap().command {
            Command::Secret(SecretCommand::Rotate(a)) => *a,
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn rotate_new_key_sources() {
        let c = resolve_rotate_with(rotate_args(&["--storage", "d"]), no_env).unwrap();
        assert!(matches!(c.current, SecretKeySource::DataDirectory));
        assert!(matches!(c.new_key, NewKeySource::Generate));
        assert_eq!(c.storage, PathBuf::from("d"));

        let c = resolve_rotate_with(rotate_args(&["--new-key-file", "/k"]), no_env).unwrap();
        assert!(matches!(c.new_key, NewKeySource::File(_)));
        let new_env = |n: &str| (n == NEW_SECRET_KEY_ENV).then(|| "bmV3".to_owned());
        let c = resolve_rotate_with(rotate_args(&[]), new_env).unwrap();
        assert!(matches!(c.new_key, NewKeySource::Value(ref v) if v == "bmV3"));
        let e = resolve_rotate_with(rotate_args(&["--new-key-file", "/k"]), new_env).unwrap_err();
        assert!(e.contains("one way only"), "{e}");

        // An external current key needs an explicit new key; the message shows no key.
        let old_env = |n: &str| (n == SECRET_KEY_ENV).then(|| "b2xkLWtleQ==".to_owned());
        let e = resolve_rotate_with(rotate_args(&[]), old_env).unwrap_err();
        assert!(
            e.contains("SEQR_SECRET_KEY") && e.contains("--new-key-file") && !e.contains("b2xk"),
            "{e}"
        );
        let e =
            resolve_rotate_with(rotate_args(&["--secret-key-file", "/old"]), no_env).unwrap_err();
        assert!(e.contains("/old"), "{e}");

        let e = resolve_rotate_with(rotate_args(&["--print-new-key"]), new_env).unwrap_err();
        assert!(e.contains("--print-new-key"), "{e}");
        assert!(
            resolve_rotate_with(rotate_args(&["--print-new-key"]), no_env)
                .unwrap()
                .print_new_key
        );
    }

    #[test]
    fn rotate_reads_the_servers_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("seqr.toml");
        std::fs::write(&file, "storage = \"data\"\nsecret_key_file = \"key\"\n").unwrap();
        let f = file.to_str().unwrap();
        let c = resolve_rotate_with(
            rotate_args(&["--config", f, "--new-key-file", "/n"]),
            no_env,
        )
        .unwrap();
        assert_eq!(c.storage, dir.path().join("data"));
        assert!(matches!(c.current, SecretKeySource::File(ref p) if *p == dir.path().join("key")));
    }

    #[test]
    fn one_secret_key_source_at_most() {
        let env_key = |n: &str| (n == SECRET_KEY_ENV).then(|| "a2V5".to_owned());
        let c = resolve_with(args(&[]), no_env).unwrap();
        assert!(matches!(c.secret_key, SecretKeySource::DataDirectory));
        let c = resolve_with(args(&[]), env_key).unwrap();
        assert!(matches!(c.secret_key, SecretKeySource::Value(ref v) if v == "a2V5"));
        let c = resolve_with(args(&["--secret-key-file", "/etc/seqr/key"]), no_env).unwrap();
        assert!(matches!(c.secret_key, SecretKeySource::File(_)));
        let e = resolve_with(args(&["--secret-key-provider", "vault read"]), env_key).unwrap_err();
        assert!(e.contains("one way only"), "{e}");
    }
}
