//! Backups end to end with the real binary: `seqr backup` (online through a running,
//! authenticating server, and offline), `api/backups`, the daily schedule and `BackupsToKeep`,
//! and `seqr restore` into a new data directory that then serves the same events, users, API
//! keys, settings and policies.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use seqr_meta::MetaDb;
use seqr_meta::secret::SecretKey;
use seqr_meta::settings::{self, SettingName, SettingValue};
use serde_json::{Value, json};

use crate::support::server::SEQR;
use crate::support::{CLEF, JSON, Request, Response, Server, TestDir};

const ADMIN_PASSWORD: &str = "the first administrator's passphrase";
const CAROL_FIRST: &str = "carol's temporary passphrase";
const CAROL_PASSWORD: &str = "carol's own passphrase now";
const OIDC_SECRET: &str = "the oidc client secret value";
const ALL_PERMISSIONS: [&str; 6] = [
    "Ingest",
    "Read",
    "Write",
    "Project",
    "Organization",
    "System",
];

/// A request with an API key (none when `key` is empty: a server without authentication),
/// and a JSON body when `body` is not null.
fn call(port: u16, key: &str, method: &str, path: &str, body: &Value) -> Response {
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let mut request = Request::new(method, path);
    if !key.is_empty() {
        request = request.header("X-Seq-ApiKey", key);
    }
    if !body.is_null() {
        request = request.header("Content-Type", JSON);
    }
    request
        .body(text.as_bytes())
        .send_with_timeout(port, Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

#[track_caller]
fn ok(response: Response, what: &str) -> Value {
    assert!(
        (200..300).contains(&response.status),
        "{what}: {} {}",
        response.status,
        response.text()
    );
    if response.body.is_empty() {
        Value::Null
    } else {
        response.json()
    }
}

fn sign_in(port: u16, body: &Value) -> Response {
    Request::new("POST", "/api/users/login")
        .header("Content-Type", JSON)
        .body(body.to_string().as_bytes())
        .send(port)
        .unwrap()
}

/// Signs `admin` in and makes an API key with every permission through the session.
fn admin_key(port: u16) -> String {
    let answer = sign_in(
        port,
        &json!({ "Username": "admin", "Password": ADMIN_PASSWORD }),
    );
    let session = ok(answer.clone(), "admin sign-in");
    let cookie = answer
        .header("Set-Cookie")
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body = json!({ "Title": "operations", "AssignedPermissions": ALL_PERMISSIONS }).to_string();
    let created = Request::new("POST", "/api/apikeys")
        .header("Content-Type", JSON)
        .header("Cookie", &cookie)
        .header("X-Seq-CsrfToken", session["CsrfToken"].as_str().unwrap())
        .body(body.as_bytes())
        .send(port)
        .unwrap();
    ok(created, "create the operations key")["Token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn ingest(port: u16, key: &str, lines: &[String]) -> Response {
    let body = lines.join("\n");
    Request::new("POST", "/api/events/raw?clef")
        .header("Content-Type", CLEF)
        .header("X-Seq-ApiKey", key)
        .body(body.as_bytes())
        .send(port)
        .unwrap()
}

/// `n` events of batch `tag`, spread over four days so the store holds several day parts.
fn batch(tag: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            json!({
                "@t": format!("2026-11-{:02}T{:02}:{:02}:{:02}.{:03}Z", 20 + i % 4, i % 24, i % 60, (i / 60) % 60, i % 1000),
                "@mt": "Order {OrderId} placed by {Customer}",
                "@l": if i % 10 == 0 { "Error" } else { "Information" },
                "OrderId": i,
                "Customer": format!("customer-{}", i % 37),
                "Batch": tag,
            })
            .to_string()
        })
        .collect()
}

/// Every event the server holds, by id.
fn all_events(port: u16, key: &str) -> BTreeMap<String, Value> {
    let answer = ok(
        call(
            port,
            key,
            "GET",
            "/api/events/export?format=json",
            &Value::Null,
        ),
        "export",
    );
    answer
        .as_array()
        .expect("an array of events")
        .iter()
        .map(|e| (e["Id"].as_str().unwrap().to_owned(), e.clone()))
        .collect()
}

/// What the metadata API shows: users, keys, retention policies and settings.
fn metadata_listing(port: u16, key: &str) -> BTreeMap<&'static str, Value> {
    [
        "/api/users",
        "/api/apikeys",
        "/api/retentionpolicies",
        "/api/settings",
    ]
    .into_iter()
    .map(|path| {
        let mut listing = ok(call(port, key, "GET", path, &Value::Null), path);
        // Ingestion counts go on after the backup; they are compared on their own.
        for entity in listing.as_array_mut().unwrap() {
            if let Some(e) = entity.as_object_mut() {
                e.remove("Counts");
                e.remove("InputMetrics");
            }
        }
        (path, listing)
    })
    .collect()
}

/// The events the API key titled `title` has ingested, by its counters.
fn ingested_by(port: u16, key: &str, title: &str) -> u64 {
    let keys = ok(call(port, key, "GET", "/api/apikeys", &Value::Null), "keys");
    let entity = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["Title"] == title)
        .unwrap_or_else(|| panic!("no key {title}: {keys}"));
    entity["Counts"]["IngestedEvents"].as_u64().unwrap()
}

fn write_key_file(dir: &Path, name: &str, key: &SecretKey) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join(name);
    std::fs::write(&path, format!("{}\n", key.to_base64())).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn seqr(args: &[&OsStr], envs: &[(&str, &OsStr)]) -> Output {
    Command::new(SEQR)
        .args(args)
        .env_remove("SEQR_SECRET_KEY")
        .env_remove("SEQR_API_KEY")
        .envs(envs.iter().copied())
        .output()
        .expect("run seqr")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn restore(from: &Path, into: &Path, key_file: &Path) -> Output {
    seqr(
        &[
            "restore".as_ref(),
            "--from".as_ref(),
            from.as_os_str(),
            "--storage".as_ref(),
            into.as_os_str(),
            "--secret-key-file".as_ref(),
            key_file.as_os_str(),
        ],
        &[],
    )
}

/// The sealed OIDC secret in a data directory's metadata, opened with `key`.
fn sealed_secret(storage: &Path, key: &SecretKey) -> Vec<u8> {
    let db = MetaDb::open(&storage.join("meta.db")).unwrap();
    let name = SettingName::OpenIdConnectClientSecret;
    match settings::get(&db, name).unwrap().expect("stored").value {
        SettingValue::Sealed(bytes) => settings::open_value(key, name, &bytes).unwrap(),
        other => panic!("not sealed: {other:?}"),
    }
}

#[test]
fn an_online_backup_restores_every_event_user_key_and_setting_into_a_new_directory() {
    let dir = TestDir::new();
    let key = SecretKey::generate();
    let key_file = write_key_file(&dir.storage().join(".."), "instance.key", &key);
    let serve_args = [OsStr::new("--secret-key-file"), key_file.as_os_str()];
    let server = Server::start_authenticating(
        &dir.storage(),
        &dir.log(),
        &serve_args,
        &[("SEQR_FIRSTRUN_ADMINPASSWORD", ADMIN_PASSWORD)],
    );
    let port = server.port;
    let ops = admin_key(port);

    // An ingestion key that stamps its events, a user who has chosen a password, settings
    // (one sealed) and a retention policy.
    let ingest_key = ok(
        call(
            port,
            &ops,
            "POST",
            "/api/apikeys",
            &json!({
                "Title": "orders service",
                "AssignedPermissions": ["Ingest"],
                "InputSettings": { "AppliedProperties": [{ "Name": "Application", "Value": "orders" }] },
            }),
        ),
        "create the ingestion key",
    )["Token"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(
        call(
            port,
            &ops,
            "POST",
            "/api/users",
            &json!({ "Username": "carol", "NewPassword": CAROL_FIRST }),
        ),
        "create carol",
    );
    ok(
        sign_in(
            port,
            &json!({ "Username": "carol", "Password": CAROL_FIRST, "NewPassword": CAROL_PASSWORD }),
        ),
        "carol chooses her password",
    );
    for (id, value) in [
        ("setting-instancetitle", json!("backup test")),
        ("setting-openidconnectclientsecret", json!(OIDC_SECRET)),
        ("setting-backupstokeep", json!(3)),
        ("setting-minimumfreestoragespace", json!(1024)),
    ] {
        ok(
            call(
                port,
                &ops,
                "PUT",
                &format!("/api/settings/{id}"),
                &json!({ "Value": value }),
            ),
            id,
        );
    }
    let bad = call(
        port,
        &ops,
        "PUT",
        "/api/settings/setting-backuputctimeofday",
        &json!({ "Value": "25:00" }),
    );
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert!(
        bad.error_message().contains("time of day"),
        "{}",
        bad.text()
    );
    ok(
        call(
            port,
            &ops,
            "POST",
            "/api/retentionpolicies",
            &json!({ "RetentionTime": "30.00:00:00", "RemovedSignalExpression": null }),
        ),
        "create a retention policy",
    );
    for n in 0..6 {
        let answer = ingest(port, &ingest_key, &batch(&format!("before-{n}"), 500));
        assert_eq!(answer.status, 201, "{}", answer.text());
    }

    // Ingestion goes on while the backup is made: what was acknowledged before must be in it.
    let stop = Arc::new(AtomicBool::new(false));
    let during = {
        let (stop, key) = (stop.clone(), ingest_key.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let answer = ingest(port, &key, &batch(&format!("during-{n}"), 100));
                assert_eq!(answer.status, 201, "{}", answer.text());
                n += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            n
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let acknowledged = all_events(port, &ops);
    let out = dir.storage().join("../offsite");
    let key_for_cli = dir.storage().join("../ops.apikey");
    std::fs::write(&key_for_cli, &ops).unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let refused = seqr(
        &[
            "backup".as_ref(),
            "--server".as_ref(),
            url.as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ],
        &[],
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("System permission"),
        "{}",
        stderr(&refused)
    );
    let backup = seqr(
        &[
            "backup".as_ref(),
            "--server".as_ref(),
            url.as_ref(),
            "--api-key-file".as_ref(),
            key_for_cli.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ],
        &[],
    );
    assert!(backup.status.success(), "{}", stderr(&backup));
    stop.store(true, Ordering::Relaxed);
    let batches_during = during.join().unwrap();
    let file = PathBuf::from(String::from_utf8_lossy(&backup.stdout).trim());
    assert_eq!(file.parent().unwrap(), out);
    assert!(stderr(&backup).contains("does not contain the secret key"));
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        !bytes
            .windows(OIDC_SECRET.len())
            .any(|w| w == OIDC_SECRET.as_bytes())
            && !bytes.windows(11).any(|w| w == b"customer-12"),
        "the backup is encrypted"
    );
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the owner reads a backup");
    }

    // The server kept the same file in its backup location, and lists and serves it.
    let listed = ok(
        call(port, &ops, "GET", "/api/backups", &Value::Null),
        "list",
    );
    let name = file.file_name().unwrap().to_str().unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["Filename"], name);
    assert_eq!(listed[0]["FileSizeBytes"], bytes.len());
    let download = call(
        port,
        &ops,
        "GET",
        &format!("/api/backups/files/{name}"),
        &Value::Null,
    );
    assert_eq!(download.status, 200);
    assert_eq!(download.body, bytes, "the download is the file");
    // Only backups can be fetched, and only with System.
    let sneaky = call(
        port,
        &ops,
        "GET",
        "/api/backups/files/..%2Fmeta.db",
        &Value::Null,
    );
    assert_eq!(sneaky.status, 404, "{}", sneaky.text());
    let unauthorised = call(port, &ingest_key, "GET", "/api/backups", &Value::Null);
    assert_eq!(unauthorised.status, 403, "{}", unauthorised.text());

    let original_events = all_events(port, &ops);
    let original_metadata = metadata_listing(port, &ops);
    server.terminate(Duration::from_secs(30));

    // Restore into a new directory, with the instance's key only.
    let restored = dir.storage().join("../restored");
    let done = restore(&file, &restored, &key_file);
    assert!(done.status.success(), "{}", stderr(&done));
    assert!(
        stderr(&done).contains("every checksum verified"),
        "{}",
        stderr(&done)
    );
    assert_eq!(sealed_secret(&restored, &key), OIDC_SECRET.as_bytes());
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode(&restored),
            0o700,
            "the restored directory is the owner's"
        );
        assert_eq!(mode(&restored.join("meta.db")), 0o600);
    }
    let trail = MetaDb::open(&restored.join("meta.db")).unwrap();
    seqr_meta::audit::verify(&trail).expect("the restored audit trail's chain holds");
    drop(trail);

    let again = Server::start_authenticating(&restored, &dir.log(), &serve_args, &[]);
    let port = again.port;
    let events = all_events(port, &ops);
    for (id, event) in &acknowledged {
        assert_eq!(
            events.get(id),
            Some(event),
            "acknowledged before the backup: {id}"
        );
    }
    for (id, event) in &events {
        assert_eq!(original_events.get(id), Some(event), "restored: {id}");
    }
    assert!(events.len() >= 3000, "{}", events.len());
    assert!(
        events.values().all(|e| e["Properties"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["Name"] == "Application" && p["Value"] == "orders")),
        "the key's applied property is on every event"
    );
    assert_eq!(metadata_listing(port, &ops), original_metadata);
    let counted = ingested_by(port, &ops, "orders service");
    assert!(
        (3000..=original_events.len() as u64).contains(&counted),
        "the key's counts as of the backup: {counted}"
    );
    assert!(
        batches_during > 0,
        "ingestion went on during the backup ({} events restored)",
        events.len()
    );

    // Users sign in with their passwords; the ingestion key still ingests and stamps.
    ok(
        sign_in(
            port,
            &json!({ "Username": "admin", "Password": ADMIN_PASSWORD }),
        ),
        "admin signs in on the restored server",
    );
    ok(
        sign_in(
            port,
            &json!({ "Username": "carol", "Password": CAROL_PASSWORD }),
        ),
        "carol signs in on the restored server",
    );
    let answer = ingest(port, &ingest_key, &batch("after-restore", 1));
    assert_eq!(answer.status, 201, "{}", answer.text());
    let after = all_events(port, &ops);
    let new: Vec<_> = after
        .keys()
        .filter(|id| !events.contains_key(*id))
        .collect();
    assert_eq!(new.len(), 1);
    assert!(
        after[new[0]]["Properties"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["Name"] == "Application" && p["Value"] == "orders")
    );
}

/// A small instance, stopped, with `events` events; answers its key and key file.
fn stopped_instance(dir: &TestDir, events: usize) -> (SecretKey, PathBuf) {
    let key = SecretKey::generate();
    let key_file = write_key_file(&dir.storage().join(".."), "instance.key", &key);
    let server = Server::try_start_with(
        &dir.storage(),
        &dir.log(),
        &[OsStr::new("--secret-key-file"), key_file.as_os_str()],
    )
    .unwrap_or_else(|e| panic!("{}: {}", e.reason, e.stderr));
    let lines = batch("small", events);
    let answer = crate::support::post(
        server.port,
        "/api/events/raw?clef",
        Some(CLEF),
        lines.join("\n").as_bytes(),
    )
    .unwrap();
    assert_eq!(answer.status, 201, "{}", answer.text());
    server.terminate(Duration::from_secs(30));
    (key, key_file)
}

fn offline_backup(storage: &Path, out: &Path, key_file: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&OsStr> = vec![
        "backup".as_ref(),
        "--storage".as_ref(),
        storage.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--secret-key-file".as_ref(),
        key_file.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    seqr(&args, &[])
}

#[test]
fn damaged_backups_and_wrong_keys_are_refused_and_leave_nothing_behind() {
    let dir = TestDir::new();
    let (_key, key_file) = stopped_instance(&dir, 300);
    let out = dir.storage().join("../backups");
    let made = offline_backup(&dir.storage(), &out, &key_file, &[]);
    assert!(made.status.success(), "{}", stderr(&made));
    let file = PathBuf::from(String::from_utf8_lossy(&made.stdout).trim());
    let good = std::fs::read(&file).unwrap();

    let target = dir.storage().join("../target");
    let wrong_key = write_key_file(&out, "wrong.key", &SecretKey::generate());
    let refused = restore(&file, &target, &wrong_key);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("key"), "{}", stderr(&refused));
    assert!(!target.exists(), "nothing is left after a refused restore");

    let damaged = out.join("damaged.seqrbak");
    for (what, bytes) in [
        ("a flipped byte", {
            let mut b = good.clone();
            let middle = b.len() / 2;
            b[middle] ^= 0x40;
            b
        }),
        ("a truncated file", good[..good.len() - 100].to_vec()),
        ("an empty file", Vec::new()),
    ] {
        std::fs::write(&damaged, &bytes).unwrap();
        let refused = restore(&damaged, &target, &key_file);
        assert!(!refused.status.success(), "{what} was restored");
        let message = stderr(&refused);
        assert!(
            message.starts_with("seqr: ") && message.lines().count() == 1,
            "{what}: {message}"
        );
        assert!(!target.exists(), "{what}: nothing is left behind");
    }

    // A non-empty target is refused; a good file restores; a running server is not read.
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("keep.txt"), b"mine").unwrap();
    let refused = restore(&file, &target, &key_file);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("empty"), "{}", stderr(&refused));
    assert_eq!(std::fs::read(target.join("keep.txt")).unwrap(), b"mine");

    let fresh = dir.storage().join("../fresh");
    let done = restore(&file, &fresh, &key_file);
    assert!(done.status.success(), "{}", stderr(&done));
    assert!(stderr(&done).contains("300 events"), "{}", stderr(&done));
    let server = Server::try_start_with(
        &fresh,
        &dir.log(),
        &[OsStr::new("--secret-key-file"), key_file.as_os_str()],
    )
    .unwrap_or_else(|e| panic!("{}: {}", e.reason, e.stderr));
    assert_eq!(
        all_events(server.port, "").len(),
        300,
        "the restored instance serves the events"
    );
    let busy = offline_backup(&fresh, &out, &key_file, &[]);
    assert!(!busy.status.success());
    assert!(stderr(&busy).contains("--server"), "{}", stderr(&busy));
    drop(server);

    // --no-encrypt writes a plain (still checksummed) file, also restorable.
    let plain = offline_backup(&dir.storage(), &out, &key_file, &["--no-encrypt"]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert!(stderr(&plain).contains("NOT encrypted"));
    let plain_file = PathBuf::from(String::from_utf8_lossy(&plain.stdout).trim());
    let sqlite = b"SQLite format 3";
    let holds_sqlite = |bytes: &[u8]| bytes.windows(sqlite.len()).any(|w| w == sqlite);
    assert!(holds_sqlite(&std::fs::read(&plain_file).unwrap()));
    assert!(!holds_sqlite(&good), "the default backup is encrypted");
    let done = restore(&plain_file, &dir.storage().join("../plain"), &key_file);
    assert!(done.status.success(), "{}", stderr(&done));
    // Its frames are checksummed: one flipped byte anywhere in the metadata is caught.
    let mut damaged_plain = std::fs::read(&plain_file).unwrap();
    let at = damaged_plain
        .windows(sqlite.len())
        .position(|w| w == sqlite)
        .unwrap()
        + 200;
    damaged_plain[at] ^= 0x01;
    std::fs::write(&damaged, &damaged_plain).unwrap();
    let refused = restore(&damaged, &target.join("sub"), &key_file);
    assert!(
        !refused.status.success(),
        "a damaged plain backup was restored"
    );
    assert!(
        stderr(&refused).contains("checksum"),
        "{}",
        stderr(&refused)
    );
}

/// `HH:MM:SS` UTC, `seconds` from now.
fn utc_time_of_day_in(seconds: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + seconds;
    let s = now % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

fn backup_names(port: u16) -> Vec<String> {
    ok(call(port, "", "GET", "/api/backups", &Value::Null), "list")
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["Filename"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_daily_schedule_makes_a_backup_and_backups_to_keep_prunes_old_ones() {
    let dir = TestDir::new();
    let server = dir.start();
    let port = server.port;
    let location = dir.storage().join("../elsewhere");
    for (id, value) in [
        ("setting-backupstokeep", json!(2)),
        ("setting-backuplocation", json!(location.to_str().unwrap())),
    ] {
        ok(
            call(
                port,
                "",
                "PUT",
                &format!("/api/settings/{id}"),
                &json!({ "Value": value }),
            ),
            id,
        );
    }
    let lines = batch("scheduled", 50);
    let answer = crate::support::post(
        port,
        "/api/events/raw?clef",
        Some(CLEF),
        lines.join("\n").as_bytes(),
    )
    .unwrap();
    assert_eq!(answer.status, 201);

    let mut made = Vec::new();
    for _ in 0..3 {
        let answer = call(port, "", "POST", "/api/backups/immediate", &Value::Null);
        assert_eq!(answer.status, 200, "{}", answer.text());
        let disposition = answer.header("Content-Disposition").unwrap().to_owned();
        made.push(disposition.split('"').nth(1).unwrap().to_owned());
        std::thread::sleep(Duration::from_millis(5));
    }
    let names = backup_names(port);
    assert_eq!(
        names,
        vec![made[2].clone(), made[1].clone()],
        "the newest two are kept"
    );
    assert!(
        location.join(&made[2]).is_file(),
        "written to BackupLocation"
    );

    // Deleting one by id.
    let id = ok(call(port, "", "GET", "/api/backups", &Value::Null), "list")[1]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(
        call(
            port,
            "",
            "DELETE",
            &format!("/api/backups/{id}"),
            &Value::Null,
        ),
        "delete",
    );
    assert_eq!(backup_names(port), vec![made[2].clone()]);
    let gone = call(port, "", "GET", &format!("/api/backups/{id}"), &Value::Null);
    assert_eq!(gone.status, 404);
    assert!(
        gone.error_message().contains("api/backups"),
        "{}",
        gone.text()
    );

    // The schedule: a time of day a few seconds away makes one more backup.
    ok(
        call(
            port,
            "",
            "PUT",
            "/api/settings/setting-backuputctimeofday",
            &json!({ "Value": utc_time_of_day_in(3) }),
        ),
        "schedule",
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let scheduled = loop {
        let names = backup_names(port);
        if let Some(new) = names.iter().find(|n| !made.contains(n)) {
            break (new.clone(), names);
        }
        assert!(
            Instant::now() < deadline,
            "no scheduled backup within 30 s\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(scheduled.1.len(), 2, "{:?}", scheduled.1);
    assert!(server.stderr().contains("scheduled backup made"));
}
