//! HTTPS from the command line: `--tls-self-signed` (loud, and the same CA across restarts),
//! `--tls-cert`/`--tls-key` with SIGHUP reloads (the signal never stops the server), and clear
//! refusals of listener settings that cannot work. Requests go through curl, a real client.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::server::SEQR;

/// A `seqr serve` child with its announced lines and HTTPS port.
struct Running {
    child: Child,
    port: u16,
    lines: Vec<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(storage: &Path, log: &Path, args: &[&str]) -> Running {
    let stderr = std::fs::File::options()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let child = Command::new(SEQR)
        .arg("serve")
        .arg("--storage")
        .arg(storage)
        .arg("--no-authentication")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .spawn()
        .unwrap();
    // Owned from here, so the child is killed and reaped however the start goes.
    let mut running = Running {
        child,
        port: 0,
        lines: Vec::new(),
    };
    let stdout = running.child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| {
                panic!(
                    "no `Listening on https://` line; stdout {:?}, stderr:\n{}",
                    running.lines,
                    std::fs::read_to_string(log).unwrap_or_default()
                )
            });
        running.lines.push(line.clone());
        if let Some(rest) = line.strip_prefix("Listening on https://127.0.0.1:") {
            running.port = rest.split_whitespace().next().unwrap().parse().unwrap();
            return running;
        }
    }
}

/// `curl --cacert CA https://127.0.0.1:PORT/health`: the status code, or curl's complaint.
fn curl_health(port: u16, ca: &Path) -> Result<String, String> {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(ca)
        .args(["-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("https://127.0.0.1:{port}/health"))
        .output()
        .expect("curl is installed (.ci/deps.sh)");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn a_self_signed_certificate_is_announced_loudly_and_kept_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (storage, log) = (dir.path().join("data"), dir.path().join("stderr.log"));
    let args = ["--listen", "https://127.0.0.1:0", "--tls-self-signed"];
    let server = start(&storage, &log, &args);
    let ca = storage.join("tls/self-signed-ca.pem");
    let warning = server
        .lines
        .iter()
        .find(|l| l.contains("SELF-SIGNED"))
        .expect("a loud line on stdout");
    assert!(warning.contains(&ca.display().to_string()), "{warning}");
    assert_eq!(curl_health(server.port, &ca).unwrap(), "200");
    use std::os::unix::fs::PermissionsExt as _;
    let key_mode = std::fs::metadata(storage.join("tls/self-signed-key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o077, 0, "the private key is the owner's alone");
    let first_ca = std::fs::read(&ca).unwrap();
    drop(server);

    let server = start(&storage, &log, &args);
    assert_eq!(
        std::fs::read(&ca).unwrap(),
        first_ca,
        "the same CA after a restart"
    );
    assert_eq!(curl_health(server.port, &ca).unwrap(), "200");
}

/// A self-signed certificate for 127.0.0.1 made by the openssl CLI (its own trust anchor for
/// curl).
fn openssl_pair(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (
        dir.join(format!("{name}-cert.pem")),
        dir.join(format!("{name}-key.pem")),
    );
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", &format!("/CN={name}")])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl is installed (.ci/deps.sh)");
    assert!(status.success());
    (cert, key)
}

fn hangup(server: &Running) {
    let status = Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_for_log(log: &Path, text: &str, times: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen = std::fs::read_to_string(log).unwrap_or_default();
        if seen.matches(text).count() >= times {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "`{text}` not logged {times} time(s):\n{seen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sighup_reloads_the_certificate_and_a_broken_one_keeps_the_old_serving() {
    let dir = tempfile::tempdir().unwrap();
    let (storage, log) = (dir.path().join("data"), dir.path().join("stderr.log"));
    let (cert_a, key_a) = openssl_pair(dir.path(), "a");
    let (cert_b, key_b) = openssl_pair(dir.path(), "b");
    let live_cert = dir.path().join("live-cert.pem");
    let live_key = dir.path().join("live-key.pem");
    std::fs::copy(&cert_a, &live_cert).unwrap();
    std::fs::copy(&key_a, &live_key).unwrap();
    let mut server = start(
        &storage,
        &log,
        &[
            "--listen",
            "https://127.0.0.1:0",
            "--tls-cert",
            live_cert.to_str().unwrap(),
            "--tls-key",
            live_key.to_str().unwrap(),
        ],
    );
    assert_eq!(curl_health(server.port, &cert_a).unwrap(), "200");

    // Unchanged files: only the signal makes it reload (the file watch sees no change).
    hangup(&server);
    wait_for_log(&log, "SIGHUP: reloading the TLS certificate", 1);
    wait_for_log(&log, "TLS certificate reloaded", 1);

    // A broken certificate: logged, the old one serves on.
    std::fs::write(&live_cert, "-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap();
    hangup(&server);
    wait_for_log(&log, "still serving the previous one", 1);
    assert_eq!(curl_health(server.port, &cert_a).unwrap(), "200");

    // The new pair.
    std::fs::copy(&key_b, &live_key).unwrap();
    std::fs::copy(&cert_b, &live_cert).unwrap();
    hangup(&server);
    wait_for_log(&log, "TLS certificate reloaded", 2);
    assert_eq!(curl_health(server.port, &cert_b).unwrap(), "200");
    assert!(curl_health(server.port, &cert_a).is_err());
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "SIGHUP never stops the server"
    );
}

#[test]
fn sighup_without_https_does_not_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (storage, log) = (dir.path().join("data"), dir.path().join("stderr.log"));
    let child = Command::new(SEQR)
        .args(["serve", "--no-authentication", "--listen", "127.0.0.1:0"])
        .arg("--storage")
        .arg(&storage)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let mut server = Running {
        child,
        port: 0,
        lines: vec![],
    };
    let mut stdout = BufReader::new(server.child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("Listening on") {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "server exited");
    }
    hangup(&server);
    wait_for_log(&log, "SIGHUP: nothing to reload", 1);
    assert!(server.child.try_wait().unwrap().is_none());
}

#[test]
fn listener_settings_that_cannot_work_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("data");
    let missing = dir.path().join("missing.pem");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--listen", "https://127.0.0.1:0"],
            "no certificate; give --tls-cert FILE and --tls-key FILE",
        ),
        (
            vec!["--listen", "127.0.0.1:0", "--tls-self-signed"],
            "no listen address is https://",
        ),
        (
            vec!["--listen", "127.0.0.1:0", "--redirect-http", "127.0.0.1:0"],
            "--redirect-http needs an https:// --listen address",
        ),
        (
            vec![
                "--listen",
                "https://127.0.0.1:0",
                "--tls-cert",
                missing.to_str().unwrap(),
                "--tls-key",
                missing.to_str().unwrap(),
            ],
            "cannot read",
        ),
        (
            vec!["--listen", "https://127.0.0.1:0", "--tls-cert", "x.pem"],
            "--tls-cert needs --tls-key",
        ),
    ];
    for (args, expected) in cases {
        let out = Command::new(SEQR)
            .args(["serve", "--no-authentication", "--storage"])
            .arg(&storage)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} started");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn seqr_backup_reaches_an_https_server_through_the_ca_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let (storage, log) = (dir.path().join("data"), dir.path().join("stderr.log"));
    let server = start(
        &storage,
        &log,
        &["--listen", "https://127.0.0.1:0", "--tls-self-signed"],
    );
    let url = format!("https://127.0.0.1:{}", server.port);
    let out = dir.path().join("offsite");
    let backup = |extra: &[&std::ffi::OsStr]| {
        Command::new(SEQR)
            .args(["backup", "--server", &url, "--out"])
            .arg(&out)
            .args(extra)
            .env_remove("SEQR_API_KEY")
            .env_remove("SSL_CERT_FILE")
            .output()
            .unwrap()
    };
    // The self-signed CA is not one the system trusts.
    let refused = backup(&[]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("TLS") && message.contains("certificate"),
        "{message}"
    );
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());

    let ca = storage.join("tls/self-signed-ca.pem");
    let made = backup(&["--ca-file".as_ref(), ca.as_os_str()]);
    let message = String::from_utf8_lossy(&made.stderr);
    assert!(made.status.success(), "{message}");
    let file = std::path::PathBuf::from(String::from_utf8_lossy(&made.stdout).trim());
    assert!(file.starts_with(&out) && file.is_file(), "{file:?}");
    assert!(
        file.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("seqr-backup-")
    );
    assert!(std::fs::metadata(&file).unwrap().len() > 0);
}
