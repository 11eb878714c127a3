//! A fresh `seqr serve` with no security settings is already safe: authentication is on, the
//! first administrator gets a one-time password printed once, reads need credentials, and local
//! clients can still ingest on the default loopback listener.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::support::{get, post};

struct Running {
    child: Child,
    port: u16,
    stdout_lines: Vec<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(storage: &std::path::Path, envs: &[(&str, &str)]) -> Result<Running, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_seqr"))
        .args(["serve", "--listen", "127.0.0.1:0", "--storage"])
        .arg(storage)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let reader = BufReader::new(child.stdout.take().unwrap());
    for line in reader.lines() {
        let line = line.unwrap();
        if let Some(addr) = line.strip_prefix("Listening on http://") {
            let port = addr.rsplit(':').next().unwrap().parse().unwrap();
            return Ok(Running {
                child,
                port,
                stdout_lines: lines,
            });
        }
        lines.push(line);
    }
    let out = child.wait_with_output().unwrap();
    Err(String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_fresh_server_requires_credentials_to_read_but_takes_local_events() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &[]).unwrap();
    let otp_line = server
        .stdout_lines
        .iter()
        .find(|l| l.contains("one-time password"))
        .unwrap_or_else(|| panic!("no one-time password printed: {:?}", server.stdout_lines));
    assert!(otp_line.contains("`admin`"), "{otp_line}");

    let resp = get(server.port, "/api/events/signal?count=1").unwrap();
    assert_eq!(resp.status, 401, "{}", resp.text());
    let resp = post(
        server.port,
        "/ingest/clef",
        None,
        br#"{"@t":"2026-01-01T00:00:00Z","@mt":"local"}"#,
    )
    .unwrap();
    assert_eq!(resp.status, 201, "{}", resp.text());
    assert_eq!(
        get(server.port, "/api").unwrap().status,
        200,
        "discovery stays public"
    );
    drop(server);

    // The one-time password is printed at the first start only.
    let again = serve(dir.path(), &[]).unwrap();
    assert!(
        again
            .stdout_lines
            .iter()
            .all(|l| !l.contains("one-time password")),
        "{:?}",
        again.stdout_lines
    );
}

#[test]
fn a_weak_first_run_password_stops_the_start_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let err = serve(dir.path(), &[("SEQR_FIRSTRUN_ADMINPASSWORD", "hunter2")])
        .err()
        .expect("must not start");
    assert!(err.contains("at least 12 characters"), "{err}");
    let err = serve(
        dir.path(),
        &[(
            "SEQ_FIRSTRUN_ADMINPASSWORDHASH",
            "FJmPqyS5A2OwhNbsvmd9uTT1RAHhj8+mCn3pkjYw6w==",
        )],
    )
    .err()
    .expect("a Seq PBKDF2 hash is refused");
    assert!(err.contains("seqr config hash"), "{err}");
    // A good one (Seq's alias name) starts, and no password is printed.
    let ok = serve(
        dir.path(),
        &[("SEQ_FIRSTRUN_ADMINPASSWORD", "a long enough passphrase")],
    )
    .unwrap();
    assert!(
        ok.stdout_lines.iter().all(|l| !l.contains("password")),
        "{:?}",
        ok.stdout_lines
    );
}

fn reset_password(storage: &std::path::Path, user: &str) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_seqr"))
        .args(["user", "reset-password", user, "--storage"])
        .arg(storage)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn an_offline_password_reset_forces_a_change_and_refuses_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(
        dir.path(),
        &[("SEQR_FIRSTRUN_ADMINPASSWORD", "the original passphrase")],
    )
    .unwrap();
    let (code, _, stderr) = reset_password(dir.path(), "admin");
    assert_ne!(code, 0);
    assert!(stderr.contains("stop the server"), "{stderr}");
    drop(server);

    let (code, _, stderr) = reset_password(dir.path(), "nobody");
    assert_ne!(code, 0);
    assert!(stderr.contains("no user `nobody`"), "{stderr}");

    let (code, stdout, stderr) = reset_password(dir.path(), "ADMIN");
    assert_eq!(code, 0, "{stderr}");
    let one_time = stdout
        .split("`admin`: ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_owned();
    assert!(one_time.len() >= 16, "{stdout}");

    let db = seqr_meta::MetaDb::open(&dir.path().join("meta.db")).unwrap();
    let admin = seqr_meta::users::find_by_username(&db, "admin")
        .unwrap()
        .unwrap();
    assert!(admin.must_change_password);
    let hash = admin.password_hash.clone().unwrap();
    assert!(seqr_meta::password::verify(&hash, &one_time).unwrap().ok);
    assert!(
        !seqr_meta::password::verify(&hash, "the original passphrase")
            .unwrap()
            .ok
    );
    let records = seqr_meta::audit::list(&db, 0, 100).unwrap();
    assert!(
        records.iter().any(|r| r.action == "user.password.reset"),
        "{records:?}"
    );
    seqr_meta::audit::verify(&db).unwrap();
}
