//! In-process server tests: the real server over real HTTP on loopback, with a store whose WAL
//! can be made to fail (what the binary-level tests in `crates/seqr/tests` cannot arrange).

mod access;
mod api_keys;
mod api_keys_http;
mod data;
mod export;
mod filters_http;
mod grpc;
mod headers;
mod health_quarantine;
mod inputs;
mod listeners;
mod ops;
mod otlp;
mod retention_http;
mod roles;
mod secret_key;
mod settings_http;
mod shippers;
mod sign_in;
mod storage_failure;
mod tail;
mod tls;
mod ui;
mod users_http;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use seqr_meta::{MetaDb, password, users};
use seqr_server::{ListenAddr, ServeConfig, StoreOptions};
use serde_json::Value;

/// The test configuration over `dir`, listening on `listen` (fast password hashing and
/// throttling; authentication off).
pub fn test_config(dir: &std::path::Path, listen: &str) -> ServeConfig {
    ServeConfig {
        listen: vec![ListenAddr::parse(listen).unwrap()],
        storage: dir.to_owned(),
        limits: Default::default(),
        instance_name: None,
        search_timeout: Duration::from_secs(5),
        canonical_uri: None,
        store: Default::default(),
        secret_key: Default::default(),
        // Fast hashing and throttling keep sign-in tests quick; production uses the defaults.
        password_params: seqr_meta::password::Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        sign_in_throttle: seqr_server::auth::throttle::ThrottleConfig {
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(400),
            ..Default::default()
        },
        authentication: false,
        first_run: Default::default(),
        retention: Default::default(),
        inputs: Vec::new(),
        network: Default::default(),
        self_log: None,
    }
}

/// A free port for `kind` on loopback (taken and released; the server binds it next).
pub fn free_port(udp: bool) -> u16 {
    if udp {
        std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    } else {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }
}

/// A GELF or syslog listener of `kind` on loopback `port`, default key, limits and sources.
pub fn input_listener(
    kind: seqr_server::inputs::InputKind,
    port: u16,
) -> seqr_server::inputs::InputListener {
    seqr_server::inputs::InputListener {
        kind,
        address: format!("127.0.0.1:{port}"),
        api_key_id: None,
        limits: seqr_server::inputs::InputLimits::default(),
        allow: Vec::new(),
    }
}

/// `text` percent-encoded for a query string.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The rendered events matching `filter`, read with `key` (anonymously without one).
pub fn search_events(server: &TestServer, key: Option<&str>, filter: &str) -> Vec<Value> {
    let headers: Vec<(&str, &str)> = key.map(|k| ("X-Seq-ApiKey", k)).into_iter().collect();
    let (status, _, body) = server.request_with(
        "GET",
        &format!(
            "/api/events/signal?render=true&filter={}",
            url_encode(filter)
        ),
        &headers,
        "",
    );
    assert_eq!(status, 200, "{body}");
    json_of(&body)["Events"].as_array().unwrap().clone()
}

/// A property's value in an API event (`Null` when the event has none of that name).
pub fn property_value<'a>(event: &'a Value, name: &str) -> &'a Value {
    event["Properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["Name"] == name)
        .map(|p| &p["Value"])
        .unwrap_or(&Value::Null)
}

/// A server running on its own runtime thread until dropped.
pub struct TestServer {
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The server's data directory.
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub fn start(store: StoreOptions) -> TestServer {
        TestServer::start_with(store, false)
    }

    /// A server whose routes enforce their declared permissions.
    pub fn start_authenticating() -> TestServer {
        TestServer::start_with(Default::default(), true)
    }

    /// An authenticating server bound to every interface (traffic still goes to loopback).
    pub fn start_authenticating_on_all_interfaces() -> TestServer {
        TestServer::start_on("0.0.0.0", Default::default(), true)
    }

    fn start_with(store: StoreOptions, authentication: bool) -> TestServer {
        TestServer::start_on("127.0.0.1", store, authentication)
    }

    fn start_on(host: &str, store: StoreOptions, authentication: bool) -> TestServer {
        TestServer::start_custom(host, tempfile::tempdir().unwrap(), |c| {
            c.store = store;
            c.authentication = authentication;
        })
    }

    /// Stops this server and starts another on the same data directory, with `configure`
    /// applied to an authenticating loopback configuration.
    pub fn restart(mut self, configure: impl FnOnce(&mut ServeConfig)) -> TestServer {
        self.stop_and_join();
        let dir = tempfile::tempdir().unwrap();
        let dir = std::mem::replace(&mut self.dir, dir);
        TestServer::start_custom("127.0.0.1", dir, |c| {
            c.authentication = true;
            configure(c);
        })
    }

    /// A server on `host` over `dir`, with `configure` applied to the test configuration.
    pub fn start_custom(
        host: &str,
        dir: tempfile::TempDir,
        configure: impl FnOnce(&mut ServeConfig),
    ) -> TestServer {
        // Reserve an ephemeral port, then hand it to the server.
        let port = TcpListener::bind((host, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut config = test_config(dir.path(), &format!("{host}:{port}"));
        configure(&mut config);
        let https = config.listen[0].scheme == seqr_server::Scheme::Https;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let _ = rt.block_on(seqr_server::serve(config, async {
                let _ = stopped.await;
            }));
        });
        let server = TestServer {
            port,
            stop: Some(stop),
            thread: Some(thread),
            dir,
        };
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                // Bound is not yet serving: the first answer comes once every listener
                // (the GELF and syslog ones included) has started. (HTTPS tests make their
                // first request with their own client, which waits the same way.)
                if !https {
                    server.request("GET", "/health", "");
                }
                return server;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("server did not start listening on {port}");
    }

    /// Sends one request and returns (status, headers, body).
    pub fn request(&self, method: &str, path: &str, body: &str) -> (u16, String, String) {
        self.request_with(method, path, &[], body)
    }

    /// Sends one request with extra headers and returns (status, headers, body).
    pub fn request_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String, String) {
        let (status, head, body) = self.request_exact(method, path, headers, body);
        (status, head.to_ascii_lowercase(), body)
    }

    /// As [`TestServer::request_with`], with the response head as sent (header values keep their
    /// case, e.g. a session cookie).
    pub fn request_exact(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let extra: String = headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        // Binary answers (a backup's bytes) are read lossily: the tests look at text.
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes).unwrap();
        let raw = String::from_utf8_lossy(&bytes).into_owned();
        let (head, body) = raw
            .split_once("\r\n\r\n")
            .expect("a complete HTTP response");
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        };
        (status, head.to_owned(), body)
    }
}

/// A chunked (streamed) body's content.
fn dechunk(mut raw: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = raw.split_once("\r\n").expect("a chunk size line");
        let size = usize::from_str_radix(size.trim(), 16).expect("a hex chunk size");
        if size == 0 {
            return out;
        }
        out.push_str(&rest[..size]);
        raw = &rest[size + 2..];
    }
}

impl TestServer {
    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Creates a shared API key with exactly `permissions` in a running server's metadata and
/// returns its token.
pub fn create_key(server: &TestServer, permissions: seqr_meta::PermissionSet) -> String {
    use seqr_meta::{apikeys, token};
    let db = seqr_meta::MetaDb::open(&server.dir.path().join("meta.db")).unwrap();
    let t = token::ApiKeyToken::generate();
    let salt = token::new_salt();
    apikeys::create(
        &db,
        &apikeys::NewApiKey {
            title: format!("test key {permissions}"),
            token_prefix: t.prefix().to_owned(),
            token_salt: salt.to_vec(),
            token_digest: token::digest(&salt, t.as_str()).to_vec(),
            owner_id: None,
            assigned_permissions: permissions,
            input_settings: Default::default(),
        },
        0,
    )
    .unwrap();
    t.as_str().to_owned()
}

/// Store options whose WAL fsync can be failed on demand.
pub fn faulty_store() -> (StoreOptions, Arc<seqr_store::FaultInjector>) {
    let fault = Arc::new(seqr_store::FaultInjector::default());
    let options = StoreOptions {
        fault: Some(fault.clone()),
        ..Default::default()
    };
    (options, fault)
}

// Users and sessions, shared by the sign-in, user and API key tests.

pub const PASSWORD: &str = "correct horse battery";

pub fn meta(server: &TestServer) -> MetaDb {
    MetaDb::open(&server.dir.path().join("meta.db")).unwrap()
}

/// Creates a user directly in the server's metadata (fast hashing parameters).
pub fn create_user(
    server: &TestServer,
    username: &str,
    role_ids: &[&str],
    must_change: bool,
) -> String {
    let fast = password::Params {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
    let user = users::create(
        &meta(server),
        &users::NewUser {
            username: username.into(),
            role_ids: role_ids.iter().map(|r| r.to_string()).collect(),
            must_change_password: must_change,
            password_hash: Some(password::hash_with(&fast, PASSWORD).unwrap()),
            ..Default::default()
        },
        0,
    )
    .unwrap();
    user.id
}

/// Sets a user's view filter directly in the server's metadata.
pub fn set_view_filter(server: &TestServer, user_id: &str, filter: &str) {
    users::update(
        &meta(server),
        user_id,
        &users::UserUpdate {
            view_filter: Some(Some(filter.into())),
            ..Default::default()
        },
    )
    .unwrap();
}

pub fn credentials(username: &str, password: &str) -> String {
    serde_json::json!({ "Username": username, "Password": password }).to_string()
}

/// A signed-in session: the cookie header value and the CSRF token.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
    pub id: String,
}

/// Signs in and returns the session, asserting the response's shape.
pub fn sign_in(server: &TestServer, username: &str, password: &str) -> (Session, Value) {
    let (status, head, body) = server.request_exact(
        "POST",
        "/api/users/login",
        &[],
        &credentials(username, password),
    );
    assert_eq!(status, 200, "{body}");
    let set_cookie = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie")
                .then(|| value.trim().to_owned())
        })
        .expect("a Set-Cookie header");
    let attributes: Vec<&str> = set_cookie.split(';').map(str::trim).collect();
    assert!(attributes.contains(&"HttpOnly"), "{set_cookie}");
    assert!(attributes.contains(&"SameSite=Lax"), "{set_cookie}");
    assert!(attributes.contains(&"Path=/"), "{set_cookie}");
    let (name, id) = attributes[0].split_once('=').unwrap();
    assert_eq!(name, "seqr-session");
    assert!(id.len() >= 43, "256 random bits: {id}");
    let entity: Value = serde_json::from_str(&body).unwrap();
    let csrf = entity["CsrfToken"]
        .as_str()
        .expect("CsrfToken in the login response")
        .to_owned();
    (
        Session {
            cookie: format!("seqr-session={id}"),
            csrf,
            id: id.to_owned(),
        },
        entity,
    )
}

/// Files under `dir` whose bytes contain `needle` (plaintext secrets must never be found).
pub fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            hits.extend(files_containing(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(needle.len()).any(|w| w == needle)
        {
            hits.push(path);
        }
    }
    hits
}

/// A response body as JSON, failing the test with the body when it is not.
/// The first ingestion-log entry (`api/diagnostics/ingestion`, read without a key) that
/// `matches`; panics with the whole log when none does.
pub fn ingestion_log_entry(server: &TestServer, matches: impl Fn(&Value) -> bool) -> Value {
    let (status, _, body) = server.request("GET", "/api/diagnostics/ingestion?format=json", "");
    assert_eq!(status, 200, "{body}");
    let log = json_of(&body);
    log.as_array()
        .unwrap()
        .iter()
        .find(|e| matches(e))
        .cloned()
        .unwrap_or_else(|| panic!("no such entry in the ingestion log: {log}"))
}

pub fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Two events without a key: message `x` of `Team` b, then message `y` of `Team` a (for
/// view-filter tests).
pub fn ingest_two_teams(server: &TestServer) {
    let batch = concat!(
        r#"{"@t":"2026-01-01T00:00:00Z","@mt":"x","Team":"b"}"#,
        "\n",
        r#"{"@t":"2026-01-01T00:00:01Z","@mt":"y","Team":"a"}"#,
    );
    assert_eq!(server.request("POST", "/ingest/clef", batch).0, 201);
}
