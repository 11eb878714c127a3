//! The `seqr` command: a self-hosted structured log server compatible with Seq's clients and API.

mod config;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use crate::config::{AuditCommand, Cli, Command, ConfigCommand, UserCommand};

/// mimalloc instead of the system allocator: ingestion spends much of its time allocating, and
/// glibc's per-thread arenas kept freed search-response memory resident (see docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Command::Serve(args) => {
            let config = match config::resolve(*args) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("seqr: {e}");
                    return ExitCode::from(2);
                }
            };
            run_server(config)
        }
        Command::Config(ConfigCommand::Hash { username }) => hash_password(&username),
        Command::Audit(AuditCommand::Verify { storage }) => verify_audit(&storage),
        Command::User(UserCommand::ResetPassword { username, storage }) => {
            reset_password(&username, &storage)
        }
    }
}

/// `seqr user reset-password`: offline recovery, under the data directory's lock.
fn reset_password(username: &str, storage: &std::path::Path) -> ExitCode {
    use seqr_meta::{audit, password, users};
    let fail = |message: String| {
        eprintln!("seqr: {message}");
        ExitCode::FAILURE
    };
    let path = storage.join(seqr_server::META_DB_FILE);
    if !path.is_file() {
        return fail(format!(
            "no metadata database at {}; is --storage the server's data directory?",
            path.display()
        ));
    }
    let _lock = match seqr_server::lock_data_dir(storage) {
        Ok(lock) => lock,
        Err(e) => return fail(format!("{e} (stop the server first)")),
    };
    let db = match seqr_meta::MetaDb::open(&path) {
        Ok(db) => db,
        Err(e) => return fail(format!("cannot open {}: {e}", path.display())),
    };
    let user = match users::find_by_username(&db, username) {
        Ok(Some(user)) => user,
        Ok(None) => return fail(format!("there is no user `{username}`")),
        Err(e) => return fail(e.to_string()),
    };
    let one_time = password::generate_one_time_password();
    let hash = match password::hash(&one_time) {
        Ok(hash) => hash,
        Err(e) => return fail(format!("hashing failed: {e}")),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    if let Err(e) = users::set_password(&db, &user.id, &hash, true, now) {
        return fail(e.to_string());
    }
    let record = audit::NewAuditRecord {
        at_ms: now * 1000,
        principal: None,
        client_address: None,
        action: "user.password.reset",
        target: Some(&user.id),
        outcome: audit::AuditOutcome::Success,
        detail: &serde_json::json!({ "via": "seqr user reset-password", "username": user.username }),
    };
    if let Err(e) = audit::append(&db, &record) {
        return fail(format!(
            "the password was reset but the audit record failed: {e}"
        ));
    }
    println!(
        "New one-time password for `{}`: {one_time}\nIt must be changed at the next sign-in; existing sessions were signed out.",
        user.username
    );
    ExitCode::SUCCESS
}

/// `seqr audit verify`: walks the hash chain of the audit log in `<storage>/meta.db`.
fn verify_audit(storage: &std::path::Path) -> ExitCode {
    let path = storage.join(seqr_server::META_DB_FILE);
    if !path.is_file() {
        eprintln!(
            "seqr: no metadata database at {}; is --storage the server's data directory?",
            path.display()
        );
        return ExitCode::from(2);
    }
    let db = match seqr_meta::MetaDb::open(&path) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("seqr: cannot open {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    match seqr_meta::audit::verify(&db) {
        Ok(report) => {
            println!("audit log intact: {} records", report.records);
            ExitCode::SUCCESS
        }
        Err(e @ seqr_meta::audit::VerifyError::Tampered { .. }) => {
            eprintln!("seqr: audit log TAMPERED: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("seqr: cannot read the audit log: {e}");
            ExitCode::from(2)
        }
    }
}

/// `seqr config hash`: one line of standard input in, one PHC string out.
fn hash_password(username: &str) -> ExitCode {
    let mut line = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut line) {
        eprintln!("seqr: cannot read the password from standard input: {e}");
        return ExitCode::FAILURE;
    }
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if let Err(e) = seqr_meta::password::check_policy(username, password) {
        eprintln!("seqr: {e}");
        return ExitCode::from(2);
    }
    match seqr_meta::password::hash(password) {
        Ok(phc) => {
            println!("{phc}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("seqr: hashing failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_server(config: seqr_server::ServeConfig) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("seqr: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(storage = %config.storage.display(), "starting seqr {}", env!("CARGO_PKG_VERSION"));
    match runtime.block_on(seqr_server::serve(config, shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("seqr: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SEQR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}
