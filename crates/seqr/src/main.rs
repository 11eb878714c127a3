//! The `seqr` command: a self-hosted structured log server compatible with Seq's clients and API.

mod backup_cli;
mod config;
mod inputs_config;
mod logging;
mod network_config;
mod remote;

use std::process::ExitCode;

use clap::Parser;

use crate::config::{AuditCommand, Cli, Command, ConfigCommand, SecretCommand, UserCommand};

/// mimalloc instead of the system allocator: ingestion spends much of its time allocating, and
/// glibc's per-thread arenas kept freed search-response memory resident (see docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// seqr's own log lines waiting to be stored (`--self-log`) before more are dropped.
const SELF_LOG_QUEUE_LINES: usize = 4096;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        logging::init(&config::LogSettings::from_env(), None);
    }
    match cli.command {
        Command::Serve(args) => {
            let log = match config::log_settings(&args) {
                Ok(log) => log,
                Err(e) => {
                    eprintln!("seqr: {e}");
                    return ExitCode::from(2);
                }
            };
            let self_log = log
                .self_log
                .then(|| seqr_server::self_log::SelfLog::new(SELF_LOG_QUEUE_LINES));
            logging::init(&log, self_log.clone());
            let mut config = match config::resolve(*args) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("seqr: {e}");
                    return ExitCode::from(2);
                }
            };
            config.self_log = self_log;
            run_server(config)
        }
        Command::Config(ConfigCommand::Hash { username }) => hash_password(&username),
        Command::Audit(AuditCommand::Verify { storage }) => verify_audit(&storage),
        Command::User(UserCommand::ResetPassword { username, storage }) => {
            reset_password(&username, &storage)
        }
        Command::Backup(args) => backup_cli::backup(&args),
        Command::Restore(args) => backup_cli::restore(&args),
        Command::Secret(SecretCommand::Rotate(args)) => match config::resolve_rotate(*args) {
            Ok(c) => rotate_secret(&c),
            Err(e) => {
                eprintln!("seqr: {e}");
                ExitCode::from(2)
            }
        },
    }
}

/// `seqr secret rotate`: re-encrypts the metadata's sealed values under a new key, offline.
///
/// When the key lives in the data directory, the new key is written to `secret.key.new` (fsynced)
/// *before* the database changes and renamed over `secret.key` after the commit, so at no moment
/// does the database depend on a key that exists only in this process. A run interrupted between
/// the two is finished by the next run (and `seqr serve` says so instead of "wrong key").
/// Standard output carries only a generated key (`--print-new-key`); the report goes to stderr.
fn rotate_secret(config: &config::RotateConfig) -> ExitCode {
    use seqr_meta::secret::{
        KEY_FILE_NAME, STAGED_KEY_FILE_NAME, SecretKey, remove_key_file, rename_key_file,
        write_key_file,
    };
    use seqr_meta::secret_rotation::{self, CheckKeyError, RotateError};
    use seqr_server::SecretKeySource;

    let fail = |message: String| {
        eprintln!("seqr: {message}");
        ExitCode::FAILURE
    };
    let storage = &config.storage;
    let (_lock, db) = match open_stopped(storage) {
        Ok(opened) => opened,
        Err(message) => return fail(message),
    };
    let in_data_dir = matches!(config.current, SecretKeySource::DataDirectory);
    let key_file = storage.join(KEY_FILE_NAME);
    let staged = storage.join(STAGED_KEY_FILE_NAME);
    let source = config.current.describe();

    let loaded = match config.current.load_existing(storage) {
        Ok(key) => key,
        Err(e) if in_data_dir && !key_file.exists() => {
            return fail(format!(
                "there is no {} ({e}); if the server gets its key another way, give it the same way \
                 here: SEQR_SECRET_KEY, --secret-key-file or --secret-key-provider",
                key_file.display()
            ));
        }
        Err(e) => return fail(format!("cannot load the current secret key: {e}")),
    };
    let mut resumed = false;
    let current = match secret_rotation::check_key(&db, &loaded) {
        Ok(()) => loaded,
        Err(CheckKeyError::WrongKey(_)) => {
            // An earlier run committed but did not get to rename its staged key: finish that first.
            let staged_key = in_data_dir
                .then(|| SecretKey::from_file(&staged).ok())
                .flatten()
                .filter(|k| secret_rotation::check_key(&db, k).is_ok());
            let Some(staged_key) = staged_key else {
                return fail(format!(
                    "the current secret key, from {source}, is not the one this data directory's secrets \
                     are sealed with (it does not open the stored key-check value); nothing was changed"
                ));
            };
            if let Err(e) = rename_key_file(&staged, &key_file) {
                return fail(format!(
                    "an interrupted rotation left the key the metadata needs in {}, but it could not be \
                     moved to {KEY_FILE_NAME}: {e}",
                    staged.display()
                ));
            }
            eprintln!(
                "seqr: finished an interrupted rotation: {} now holds the key the metadata is sealed with",
                key_file.display()
            );
            resumed = true;
            staged_key
        }
        Err(e) => return fail(format!("cannot check the current secret key: {e}")),
    };
    if in_data_dir && !resumed {
        // Left by a run that never committed: its key opens nothing.
        if let Err(e) = remove_key_file(&staged) {
            return fail(e.to_string());
        }
    }

    let new = match &config.new_key {
        config::NewKeySource::File(p) => SecretKey::from_file(p),
        config::NewKeySource::Value(text) => {
            SecretKey::from_base64_named(text, config::NEW_SECRET_KEY_ENV)
        }
        config::NewKeySource::Generate => Ok(SecretKey::generate()),
    };
    let new = match new {
        Ok(key) => key,
        Err(e) => return fail(format!("cannot load the new secret key: {e}")),
    };
    if new.same_as(&current) {
        return fail("the new secret key is the current one; nothing was changed".into());
    }
    if in_data_dir && let Err(e) = write_key_file(&staged, &new) {
        return fail(format!("{e}; nothing was changed"));
    }

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let rotated = match secret_rotation::rotate(&db, &current, &new, now) {
        Ok(rotated) => rotated,
        Err(RotateError::Db(e)) => {
            // A failed COMMIT may still have reached the disk: ask the database which key it has.
            match secret_rotation::check_key(&db, &new) {
                Ok(()) => {
                    return fail(format!(
                        "the metadata database reported an error ({e}) but holds the new key's check \
                         value; run `seqr secret rotate` again to finish"
                    ));
                }
                Err(CheckKeyError::WrongKey(_)) => {
                    if in_data_dir {
                        let _ = remove_key_file(&staged);
                    }
                    return fail(format!("{e}; nothing was changed"));
                }
                Err(_) => {
                    let kept = if in_data_dir {
                        format!(
                            "; the new key is kept in {} and the next `seqr secret rotate` finishes \
                             the rotation if it was committed",
                            staged.display()
                        )
                    } else {
                        "; keep the new key until the server starts with one of them".to_owned()
                    };
                    return fail(format!(
                        "{e}; it is not known whether the change was committed{kept}"
                    ));
                }
            }
        }
        Err(e) => {
            if in_data_dir {
                let _ = remove_key_file(&staged);
            }
            let e = match e {
                RotateError::WrongKey(_) => format!(
                    "the current secret key, from {source}, does not open the stored key-check value; \
                     nothing was changed"
                ),
                other => other.to_string(),
            };
            return fail(e);
        }
    };
    if in_data_dir && let Err(e) = rename_key_file(&staged, &key_file) {
        return fail(format!(
            "the metadata is re-encrypted under the new key, which is in {}, but it could not be moved to \
             {KEY_FILE_NAME} ({e}); run `seqr secret rotate` again to finish before starting the server",
            staged.display()
        ));
    }
    if config.print_new_key {
        println!("{}", new.to_base64());
    }

    let detail = serde_json::json!({
        "via": "seqr secret rotate",
        "sealed_settings": rotated.sealed_settings,
        "current_key": source_kind(&config.current),
        "new_key": config.new_key.kind(),
        "finished_interrupted_rotation": resumed,
    });
    let record = seqr_meta::audit::NewAuditRecord {
        at_ms: now * 1000,
        principal: None,
        client_address: None,
        action: "secret.rotate",
        target: None,
        outcome: seqr_meta::audit::AuditOutcome::Success,
        detail: &detail,
    };
    let audited = seqr_meta::audit::append(&db, &record);

    let where_now = match (&config.new_key, in_data_dir) {
        (config::NewKeySource::Generate, _) => format!("the new key is in {}", key_file.display()),
        (_, true) => format!(
            "the new key is also in {}; once the server reads it from elsewhere, delete that file",
            key_file.display()
        ),
        (_, false) => "start the server with the new key".to_owned(),
    };
    eprintln!(
        "seqr: re-encrypted {} sealed setting(s) and the key check under the new secret key; {where_now}. \
         The old key no longer opens this data directory (backups made before now still need it).",
        rotated.sealed_settings
    );
    if let Err(e) = audited {
        return fail(format!(
            "the secret key was rotated, but the audit record could not be written: {e}"
        ));
    }
    ExitCode::SUCCESS
}

/// How the current key was given, for the audit record (never the key, a path or a command).
fn source_kind(source: &seqr_server::SecretKeySource) -> &'static str {
    match source {
        seqr_server::SecretKeySource::Value(_) => "environment",
        seqr_server::SecretKeySource::File(_) => "file",
        seqr_server::SecretKeySource::Provider(_) => "provider",
        seqr_server::SecretKeySource::DataDirectory => "data-directory",
    }
}

/// Opens a stopped server's metadata database for an offline command, holding the data
/// directory's lock so it never writes under a running server.
pub(crate) fn open_stopped(
    storage: &std::path::Path,
) -> Result<(seqr_server::DataDirLock, seqr_meta::MetaDb), String> {
    let path = storage.join(seqr_server::META_DB_FILE);
    if !path.is_file() {
        return Err(format!(
            "no metadata database at {}; is --storage the server's data directory?",
            path.display()
        ));
    }
    let lock =
        seqr_server::lock_data_dir(storage).map_err(|e| format!("{e} (stop the server first)"))?;
    let db = seqr_meta::MetaDb::open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    Ok((lock, db))
}

/// `seqr user reset-password`: offline recovery, under the data directory's lock.
fn reset_password(username: &str, storage: &std::path::Path) -> ExitCode {
    use seqr_meta::{audit, password, users};
    let fail = |message: String| {
        eprintln!("seqr: {message}");
        ExitCode::FAILURE
    };
    let (_lock, db) = match open_stopped(storage) {
        Ok(opened) => opened,
        Err(message) => return fail(message),
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
