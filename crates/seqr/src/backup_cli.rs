//! `seqr backup` (online through a running server's `api/backups/immediate`, or offline from a
//! stopped server's data directory) and `seqr restore` (a backup into a new data directory).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use http_body_util::BodyExt as _;
use seqr_server::backup;

use crate::config;
use crate::remote::{Client, RemoteError, ServerUrl};

/// The environment variable holding the API key of `seqr backup --server`.
const API_KEY_ENV: &str = "SEQR_API_KEY";

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("seqr: {message}");
    ExitCode::FAILURE
}

/// `seqr backup`.
pub(crate) fn backup(args: &config::BackupArgs) -> ExitCode {
    match &args.server {
        Some(url) => backup_online(args, url),
        None => backup_offline(args),
    }
}

/// `seqr backup --server URL`: the server makes the backup (encrypted, kept in its backup
/// location as well) and this downloads it into `--out`, under a temporary name until it is
/// complete and synced.
fn backup_online(args: &config::BackupArgs, url: &str) -> ExitCode {
    if args.no_encrypt {
        return fail(
            "--no-encrypt is for offline backups only: a running server always encrypts its \
             backups with the secret key",
        );
    }
    let api_key = match api_key(args.api_key_file.as_deref()) {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    let client = match ServerUrl::parse(url)
        .and_then(|u| Client::new(u, api_key, args.ca_file.as_deref()))
    {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    eprintln!("seqr: asking {url} for a backup (the server writes it whole, then sends it)");
    let started = Instant::now();
    match runtime.block_on(download(&client, &args.out)) {
        Ok((path, size)) => {
            println!("{}", path.display());
            eprintln!(
                "seqr: wrote {} ({size} bytes, encrypted with the server's secret key) in {:.1} s; \
                 it does not contain the secret key: keep that separately",
                path.display(),
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// The API key from `--api-key-file`, else `SEQR_API_KEY`, else none (for a server without
/// authentication).
fn api_key(file: Option<&Path>) -> Result<Option<String>, String> {
    let key = match file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the API key file {}: {e}", path.display()))?,
        None => match std::env::var(API_KEY_ENV) {
            Ok(key) => key,
            Err(_) => return Ok(None),
        },
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err("the API key is empty".into());
    }
    Ok(Some(key))
}

/// The backup's file name from `Content-Disposition: attachment; filename="..."`, accepted
/// only if it is a backup's name (so the server cannot choose where the file goes).
fn attachment_name(headers: &hyper::HeaderMap) -> Option<String> {
    let value = headers
        .get(hyper::header::CONTENT_DISPOSITION)?
        .to_str()
        .ok()?;
    let name = value
        .split(';')
        .find_map(|p| p.trim().strip_prefix("filename="))?
        .trim_matches('"');
    backup::is_backup_file_name(name).then(|| name.to_owned())
}

/// How often a long backup says how far it is (a short one says nothing in between).
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

async fn download(client: &Client, out: &Path) -> Result<(PathBuf, u64), String> {
    // The server answers once the whole file is written, which for a large store takes a
    // while: say so now and then rather than sit silent.
    let asked = Instant::now();
    let request = client.send("POST", "/api/backups/immediate");
    tokio::pin!(request);
    let mut ticks =
        tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
    let answer = loop {
        tokio::select! {
            answer = &mut request => break answer,
            _ = ticks.tick() => eprintln!(
                "seqr: the server is still writing the backup ({} s)",
                asked.elapsed().as_secs()
            ),
        }
    };
    let response = match answer {
        Ok(r) => r,
        Err(RemoteError::Status {
            status: 401 | 403,
            message,
        }) => {
            return Err(format!(
                "the server refused: {message} (backups need an API key with System \
                 permission, in {API_KEY_ENV} or a file named by --api-key-file)"
            ));
        }
        Err(e) => return Err(e.to_string()),
    };
    let name = attachment_name(response.headers())
        .ok_or("the server's answer names no backup file; is the URL a seqr server's?")?;
    let expected: Option<u64> = response
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let at = |path: &Path| {
        let shown = path.display().to_string();
        move |e: std::io::Error| format!("cannot write {shown}: {e}")
    };
    backup::create_private_dir(out).map_err(at(out))?;
    let final_path = out.join(&name);
    if final_path.exists() {
        return Err(format!("{} exists already", final_path.display()));
    }
    let tmp_path = out.join(format!(".{name}.download"));
    let mut file = backup::private_file(&tmp_path).map_err(at(&tmp_path))?;
    let written = copy_body(response.into_body(), &mut file, &tmp_path, expected).await;
    let finished = written.and_then(|n| {
        file.sync_all().map_err(at(&tmp_path))?;
        match expected {
            Some(len) if len != n => Err(format!(
                "the server sent {n} bytes of the {len} it announced; nothing was kept"
            )),
            _ => Ok(n),
        }
    });
    let size = match finished {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp_path);
            return Err(e);
        }
    };
    std::fs::rename(&tmp_path, &final_path).map_err(at(&final_path))?;
    std::fs::File::open(out)
        .and_then(|d| d.sync_all())
        .map_err(at(out))?;
    Ok((final_path, size))
}

async fn copy_body(
    mut body: hyper::body::Incoming,
    file: &mut std::fs::File,
    path: &Path,
    expected: Option<u64>,
) -> Result<u64, String> {
    let started = Instant::now();
    let mut reported = started;
    let mut written = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("the transfer broke off: {e}"))?;
        if let Ok(data) = frame.into_data() {
            file.write_all(&data)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            written += data.len() as u64;
        }
        if reported.elapsed() >= PROGRESS_EVERY {
            reported = Instant::now();
            eprintln!("seqr: {}", progress(written, expected, started.elapsed()));
        }
    }
    Ok(written)
}

/// `12.0 MiB of 48.0 MiB received (25%), 4.0 MiB/s`.
fn progress(received: u64, total: Option<u64>, elapsed: Duration) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let mib = |n: u64| n as f64 / MIB;
    let rate = mib(received) / elapsed.as_secs_f64().max(0.001);
    match total.filter(|&t| t > 0) {
        Some(total) => format!(
            "{:.1} MiB of {:.1} MiB received ({}%), {rate:.1} MiB/s",
            mib(received),
            mib(total),
            received.saturating_mul(100) / total
        ),
        None => format!("{:.1} MiB received, {rate:.1} MiB/s", mib(received)),
    }
}

/// `seqr backup` without `--server`: an offline backup of a stopped server's data directory,
/// under its lock.
fn backup_offline(args: &config::BackupArgs) -> ExitCode {
    let source = match args.key_source() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let (_lock, db) = match crate::open_stopped(&args.storage) {
        Ok(opened) => opened,
        Err(message) => {
            return fail(format!(
                "{message}; to back up a running server, give --server URL"
            ));
        }
    };
    let key = match source.load_existing(&args.storage) {
        Ok(key) => key,
        Err(e) => return fail(format!("cannot load the secret key: {e}")),
    };
    if let Err(e) = seqr_meta::secret_rotation::check_key(&db, &key) {
        return fail(format!(
            "the secret key, from {}, does not belong to this data directory: {e}",
            source.describe()
        ));
    }
    let events = args.storage.join(backup::STORE_DIR);
    let store = match seqr_server::open_store(&events) {
        Ok(s) => s,
        Err(e) => return fail(format!("cannot open the event store: {e}")),
    };
    let started = Instant::now();
    let made = backup::create(
        &backup::BackupSource {
            store: &store,
            meta: &db,
            encrypt_with: (!args.no_encrypt).then_some(&key),
        },
        &args.out,
    );
    let _ = store.shutdown();
    match made {
        Ok(b) => {
            println!("{}", b.path.display());
            eprintln!(
                "seqr: wrote {} ({} bytes, {}) in {:.1} s; it does not contain the secret key: \
                 keep that separately",
                b.path.display(),
                b.size,
                if args.no_encrypt {
                    "NOT encrypted"
                } else {
                    "encrypted with the secret key"
                },
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// `seqr restore`: a backup into a new data directory.
pub(crate) fn restore(args: &config::RestoreArgs) -> ExitCode {
    let source = match args.key_source() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if matches!(source, seqr_server::SecretKeySource::DataDirectory) {
        return fail(
            "restore needs the original instance's secret key: give it with SEQR_SECRET_KEY, \
             --secret-key-file or --secret-key-provider (backups never contain it)",
        );
    }
    let key = match source.load_existing(&args.storage) {
        Ok(key) => key,
        Err(e) => return fail(format!("cannot load the secret key: {e}")),
    };
    let from = match (&args.from, &args.from_latest) {
        (Some(f), _) => f.clone(),
        (None, Some(dir)) => match backup::list(dir) {
            Ok(all) => match all.into_iter().next() {
                Some(newest) => newest.path,
                None => return fail(format!("there is no backup in {}", dir.display())),
            },
            Err(e) => return fail(format!("cannot read {}: {e}", dir.display())),
        },
        (None, None) => return fail("give --from FILE or --from-latest DIR"),
    };
    let started = Instant::now();
    match backup::restore(&from, &args.storage, &key) {
        Ok(r) => {
            eprintln!(
                "seqr: restored the backup of {} ({} events in {} parts, every checksum \
                 verified) into {} in {:.1} s; start it with `seqr serve --storage {}` and the \
                 same secret key",
                r.created_at,
                r.events,
                r.parts,
                args.storage.display(),
                started.elapsed().as_secs_f64(),
                args.storage.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_says_how_much_of_what_and_how_fast() {
        let mib = 1024 * 1024;
        assert_eq!(
            progress(12 * mib, Some(48 * mib), Duration::from_secs(3)),
            "12.0 MiB of 48.0 MiB received (25%), 4.0 MiB/s"
        );
        assert_eq!(
            progress(mib / 2, None, Duration::from_secs(1)),
            "0.5 MiB received, 0.5 MiB/s"
        );
        // An announced length of 0 is no total to divide by.
        assert_eq!(
            progress(0, Some(0), Duration::ZERO),
            "0.0 MiB received, 0.0 MiB/s"
        );
    }
}
