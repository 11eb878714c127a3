//! `seqr secret rotate` against real data directories and the real binary: the key is replaced,
//! the sealed settings follow it, `seqr serve` starts with the new key and refuses the old one.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use seqr_meta::MetaDb;
use seqr_meta::secret::{STAGED_KEY_FILE_NAME, SecretKey};
use seqr_meta::settings::{self, SettingName, SettingValue};

use crate::support::{Server, TestDir, server::SEQR};

const SECRET: SettingName = SettingName::OpenIdConnectClientSecret;
const PLAINTEXT: &[u8] = b"the oidc client secret";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `seqr secret rotate --storage <storage> <args>` with only the given key variables set.
fn rotate(storage: &Path, args: &[&OsStr], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(SEQR);
    cmd.args(["secret", "rotate", "--storage"])
        .arg(storage)
        .args(args);
    for var in [
        "SEQR_SECRET_KEY",
        "SEQR_SECRET_KEY_FILE",
        "SEQR_SECRET_KEY_PROVIDER",
        "SEQR_NEW_SECRET_KEY",
        "SEQR_CONFIG",
        "SEQR_STORAGE",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("run seqr secret rotate");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Starts a server (with extra `seqr serve` arguments) to set the data directory up, and stops it.
fn start_and_stop(dir: &TestDir, extra: &[&OsStr]) {
    let server = Server::try_start_with(&dir.storage(), &dir.log(), extra)
        .unwrap_or_else(|e| panic!("seqr serve did not start: {}\n{}", e.reason, e.stderr));
    server.terminate(Duration::from_secs(10));
}

/// Seals the sensitive setting under `key` directly in meta.db, as the settings API would.
fn seal_setting(storage: &Path, key: &SecretKey) {
    let db = MetaDb::open(&storage.join("meta.db")).unwrap();
    let value = settings::seal_value(key, SECRET, PLAINTEXT);
    settings::set(&db, SECRET, &value, Some("user-admin"), 1).unwrap();
}

/// The sealed setting, opened with `key`.
fn open_setting(storage: &Path, key: &SecretKey) -> Result<Vec<u8>, seqr_meta::secret::OpenError> {
    let db = MetaDb::open(&storage.join("meta.db")).unwrap();
    match settings::get(&db, SECRET).unwrap().unwrap().value {
        SettingValue::Sealed(bytes) => settings::open_value(key, SECRET, &bytes),
        other => panic!("not sealed: {other:?}"),
    }
}

/// The newest audit record.
fn last_audit(storage: &Path) -> seqr_meta::audit::AuditRecord {
    let db = MetaDb::open(&storage.join("meta.db")).unwrap();
    seqr_meta::audit::verify(&db).unwrap();
    seqr_meta::audit::list(&db, 0, 10_000)
        .unwrap()
        .pop()
        .expect("an audit record")
}

fn write_key(path: &Path, key: &SecretKey, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("{}\n", key.to_base64())).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn key_file(storage: &Path) -> PathBuf {
    storage.join("secret.key")
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn rotate_replaces_a_generated_key_and_the_server_starts_on_the_new_one() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TestDir::new();
    let storage = dir.storage();
    start_and_stop(&dir, &[]);
    let old = SecretKey::from_file(&key_file(&storage)).unwrap();
    seal_setting(&storage, &old);

    let run = rotate(&storage, &[], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.is_empty(),
        "no key on stdout unless asked: {}",
        run.stdout
    );
    assert!(run.stderr.contains("1 sealed setting"), "{}", run.stderr);
    let new = SecretKey::from_file(&key_file(&storage)).unwrap();
    assert!(!new.same_as(&old));
    let mode = std::fs::metadata(key_file(&storage))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(!storage.join(STAGED_KEY_FILE_NAME).exists());
    assert!(!file_names(&storage).iter().any(|n| n.ends_with(".tmp")));
    assert!(!run.stderr.contains(&new.to_base64()) && !run.stderr.contains(&old.to_base64()));

    assert_eq!(open_setting(&storage, &new).unwrap(), PLAINTEXT);
    assert!(open_setting(&storage, &old).is_err());
    let record = last_audit(&storage);
    assert_eq!(record.action, "secret.rotate");
    assert_eq!(record.detail["sealed_settings"], 1);
    assert_eq!(record.detail["new_key"], "generated");
    assert!(!record.detail.to_string().contains(&new.to_base64()));

    // The server starts on it.
    start_and_stop(&dir, &[]);

    // --print-new-key puts the key, and only the key, on stdout.
    let run = rotate(&storage, &[OsStr::new("--print-new-key")], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let newer = SecretKey::from_file(&key_file(&storage)).unwrap();
    assert_eq!(run.stdout, format!("{}\n", newer.to_base64()));
    assert_eq!(open_setting(&storage, &newer).unwrap(), PLAINTEXT);
    start_and_stop(&dir, &[]);
}

#[test]
fn rotate_is_refused_while_a_server_runs() {
    let dir = TestDir::new();
    let storage = dir.storage();
    let server = dir.start();
    let before = std::fs::read(key_file(&storage)).unwrap();
    let run = rotate(&storage, &[], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("stop the server"), "{}", run.stderr);
    assert_eq!(std::fs::read(key_file(&storage)).unwrap(), before);
    assert!(!storage.join(STAGED_KEY_FILE_NAME).exists());
    drop(server);
}

#[test]
fn rotate_an_external_key_file_to_a_new_key_file() {
    let dir = TestDir::new();
    let storage = dir.storage();
    let keys = tempfile::tempdir().unwrap();
    let (a_path, b_path, c_path) = (
        keys.path().join("a.key"),
        keys.path().join("b.key"),
        keys.path().join("c.key"),
    );
    let (a, b, c) = (
        SecretKey::generate(),
        SecretKey::generate(),
        SecretKey::generate(),
    );
    write_key(&a_path, &a, 0o600);
    write_key(&c_path, &c, 0o600);
    let flag = |p: &Path| [OsStr::new("--secret-key-file"), p.as_os_str()].map(OsStr::to_owned);
    let a_flag = flag(&a_path);
    let a_args: Vec<&OsStr> = a_flag.iter().map(|s| s.as_os_str()).collect();
    start_and_stop(&dir, &a_args);
    seal_setting(&storage, &a);
    let names_before = file_names(&storage);

    // No new key: refused without printing a key, nothing changed.
    let run = rotate(&storage, &a_args, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--new-key-file"), "{}", run.stderr);
    assert!(run.stdout.is_empty() && !run.stderr.contains(&a.to_base64()));

    // A wrong current key is named and refused.
    let c_flag = flag(&c_path);
    let mut args: Vec<&OsStr> = c_flag.iter().map(|s| s.as_os_str()).collect();
    args.extend([OsStr::new("--new-key-file"), b_path.as_os_str()]);
    write_key(&b_path, &b, 0o600);
    let run = rotate(&storage, &args, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&c_path.display().to_string())
            && run.stderr.contains("nothing was changed"),
        "{}",
        run.stderr
    );
    assert_eq!(open_setting(&storage, &a).unwrap(), PLAINTEXT);

    // A new key file others can read is refused.
    write_key(&b_path, &b, 0o644);
    let mut args = a_args.clone();
    args.extend([OsStr::new("--new-key-file"), b_path.as_os_str()]);
    let run = rotate(&storage, &args, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("chmod 600"), "{}", run.stderr);
    assert_eq!(open_setting(&storage, &a).unwrap(), PLAINTEXT);

    write_key(&b_path, &b, 0o600);
    let run = rotate(&storage, &args, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert_eq!(open_setting(&storage, &b).unwrap(), PLAINTEXT);
    // Nothing was written to the data directory but the database.
    assert_eq!(file_names(&storage), names_before);
    assert_eq!(last_audit(&storage).detail["current_key"], "file");

    // The server refuses the old key file and starts with the new one.
    let err = Server::try_start_with(&storage, &dir.log(), &a_args)
        .err()
        .expect("the old key is refused");
    assert!(err.stderr.contains("secret key"), "{}", err.stderr);
    let b_flag = flag(&b_path);
    let b_args: Vec<&OsStr> = b_flag.iter().map(|s| s.as_os_str()).collect();
    start_and_stop(&dir, &b_args);

    // Environment variables work too: B to C via SEQR_NEW_SECRET_KEY.
    let c_text = c.to_base64();
    let run = rotate(&storage, &b_args, &[("SEQR_NEW_SECRET_KEY", &c_text)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(open_setting(&storage, &c).unwrap(), PLAINTEXT);
    assert_eq!(last_audit(&storage).detail["new_key"], "environment");
}

#[test]
fn an_interrupted_rotation_is_reported_by_serve_and_finished_by_the_next_rotate() {
    let dir = TestDir::new();
    let storage = dir.storage();
    start_and_stop(&dir, &[]);
    let old = SecretKey::from_file(&key_file(&storage)).unwrap();
    seal_setting(&storage, &old);

    // A rotation that never committed left a staged key behind: it is ignored and replaced.
    write_key(
        &storage.join(STAGED_KEY_FILE_NAME),
        &SecretKey::generate(),
        0o600,
    );
    start_and_stop(&dir, &[]);

    // One that committed but stopped before renaming the staged key.
    let staged = SecretKey::generate();
    write_key(&storage.join(STAGED_KEY_FILE_NAME), &staged, 0o600);
    {
        let db = MetaDb::open(&storage.join("meta.db")).unwrap();
        seqr_meta::secret_rotation::rotate(&db, &old, &staged, 2).unwrap();
    }
    let err = Server::try_start(&storage, &dir.log())
        .err()
        .expect("secret.key is the old key");
    assert!(
        err.stderr.contains("interrupted") && err.stderr.contains("seqr secret rotate"),
        "{}",
        err.stderr
    );

    let run = rotate(&storage, &[], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("interrupted"), "{}", run.stderr);
    let new = SecretKey::from_file(&key_file(&storage)).unwrap();
    assert!(!new.same_as(&old) && !new.same_as(&staged));
    assert!(!storage.join(STAGED_KEY_FILE_NAME).exists());
    assert_eq!(open_setting(&storage, &new).unwrap(), PLAINTEXT);
    assert_eq!(
        last_audit(&storage).detail["finished_interrupted_rotation"],
        true
    );
    start_and_stop(&dir, &[]);
}

#[test]
fn rotate_needs_an_existing_data_directory_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let run = rotate(dir.path(), &[], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("meta.db"), "{}", run.stderr);

    // meta.db without secret.key: the key is not generated, since that could never open it.
    let dir = TestDir::new();
    let storage = dir.storage();
    start_and_stop(&dir, &[]);
    std::fs::remove_file(key_file(&storage)).unwrap();
    let run = rotate(&storage, &[], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("secret.key"), "{}", run.stderr);
    assert!(!key_file(&storage).exists());
}
