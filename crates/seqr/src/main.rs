//! The `seqr` command: a self-hosted structured log server compatible with Seq's clients and API.

mod config;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use crate::config::{AuditCommand, Cli, Command, ConfigCommand};

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
    }
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
