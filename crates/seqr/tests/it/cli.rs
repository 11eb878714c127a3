//! Command-line helpers other than `serve`.

use std::io::Write;
use std::process::{Command, Stdio};

fn config_hash(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_seqr"))
        .args(["config", "hash"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn config_hash_prints_an_argon2id_hash_of_the_password_on_stdin() {
    let (code, stdout, stderr) = config_hash(&[], "a long enough passphrase\n");
    assert_eq!(code, 0, "{stderr}");
    let phc = stdout.trim();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    assert!(!stdout.contains("passphrase"));
    let verified = seqr_meta::password::verify(phc, "a long enough passphrase").unwrap();
    assert!(verified.ok);
    assert!(
        !seqr_meta::password::verify(phc, "a long enough passphrase\n")
            .unwrap()
            .ok,
        "the newline is not part of it"
    );
}

#[test]
fn config_hash_applies_the_password_policy() {
    let (code, stdout, stderr) = config_hash(&[], "short\n");
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(stderr.contains("at least 12 characters"), "{stderr}");

    let (code, _, stderr) = config_hash(&["--username", "operator-account"], "Operator-Account");
    assert_eq!(code, 2);
    assert!(stderr.contains("username"), "{stderr}");
}

fn audit_verify(storage: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_seqr"))
        .args(["audit", "verify", "--storage"])
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
fn audit_verify_passes_an_intact_chain_and_fails_an_edited_one() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = audit_verify(dir.path());
    assert_eq!(code, 2, "no database yet: {stderr}");
    assert!(stderr.contains("meta.db"), "{stderr}");

    let db_path = dir.path().join("meta.db");
    {
        let db = seqr_meta::MetaDb::open(&db_path).unwrap();
        for (i, action) in ["user.login", "apikey.create", "setting.update"]
            .iter()
            .enumerate()
        {
            seqr_meta::audit::append(
                &db,
                &seqr_meta::audit::NewAuditRecord {
                    at_ms: 1_764_000_000_000 + i as i64,
                    principal: Some("user-admin"),
                    client_address: Some("127.0.0.1"),
                    action,
                    target: None,
                    outcome: seqr_meta::audit::AuditOutcome::Success,
                    detail: &serde_json::json!({}),
                },
            )
            .unwrap();
        }
    }
    let (code, stdout, stderr) = audit_verify(dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("3 records"), "{stdout}");

    // Someone with file access edits a record (first removing the append-only triggers).
    let conn = rusqlite::Connection::open(&db_path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;
         UPDATE audit_log SET principal = 'user-mallory' WHERE id = 2;",
    )
    .unwrap();
    drop(conn);
    let (code, _, stderr) = audit_verify(dir.path());
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("TAMPERED") && stderr.contains('2'),
        "{stderr}"
    );
}
