//! The air-gap promise: a default install makes no outbound network connection, ever (no update
//! checks, telemetry, CDN or font loads, DNS look-ups).
//!
//! The real binary runs with its defaults (authentication on, `http://127.0.0.1:5341`, a
//! generated secret key) in a fresh network namespace with only loopback up, under
//! `strace -f -e trace=connect,sendto,sendmsg,sendmmsg` (a TCP connection or a connected UDP
//! socket shows as `connect`, an unconnected UDP datagram such as a DNS query as `sendto` or
//! `sendmsg` with an address). A client in the same namespace (`nsenter -n` + curl) ingests
//! CLEF, signs in, searches, runs a `select` through `api/data`, and loads the UI page and every
//! asset it references. Headless Chromium, also inside the namespace, then walks the UI as a
//! user would (`ui/tests/airgap-walk.mjs`: sign in, search, expand an event, live tail over the
//! WebSocket, a `select` grid, every settings page), failing on any request that leaves the
//! server's origin. Then every address in the trace must be loopback, AF_UNIX (except the
//! name-service sockets) or AF_NETLINK, and never port 53; the UI's HTML, scripts and styles
//! must reference no external URL.
//!
//! `sabotage_is_caught` proves the check can fail: the same run with a secret-key provider that
//! looks up a host name and opens a TCP connection (the provider runs as the server's child,
//! which strace follows) must be reported.
//!
//! `outbound_scan.rs` checks the same promise in the sources: only the outbound policy may
//! connect out.
//!
//! Needs root, `unshare`, `nsenter`, `ip`, `strace` and `curl`; skips with a printed reason
//! without them, except that under `CI=true` a missing tool fails the test (.ci/deps.sh installs
//! them). The browser walk also needs `node`, Chromium and the UI's packages (`make ui`); it is
//! skipped the same way (and required under `CI=true`, where `make test` builds the UI first).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::server::{SEQR, parse_listening_line, wait_timeout};
use crate::support::{in_ci, tool_found};

const ADMIN_PASSWORD: &str = "airgap-Test-password-0417";

#[test]
fn default_install_makes_no_outbound_connection() {
    let Some(run) = Run::start(&[]) else { return };
    let started = Instant::now();

    run.exercise();
    run.browser_walk();
    let (trace, ui_urls) = run.finish();
    let report = check_trace(&trace);
    eprintln!(
        "airgap: bound {:?}; {} traced connect/send calls; addresses seen: {:?} ({:?} after \
         start):\n{}",
        report.bound,
        report.calls,
        report.seen,
        started.elapsed(),
        report.lines.join("\n")
    );
    assert!(
        report.violations.is_empty() && ui_urls.is_empty(),
        "outbound network activity:\n{}\nexternal URLs in the UI: {ui_urls:?}\n--- full trace ---\n{trace}",
        report.violations.join("\n")
    );
    assert!(
        report.bound.contains("127.0.0.1:5341"),
        "strace did not record the server binding 127.0.0.1:5341, so it traced the wrong \
         process: {:?}\n{trace}",
        report.bound
    );
}

#[test]
fn sabotage_is_caught() {
    // The key provider prints a valid key but first resolves a name and connects to TEST-NET-1.
    let provider = "getent hosts example.com >/dev/null 2>&1; \
                    curl -s -m 2 http://192.0.2.1/ >/dev/null 2>&1; \
                    echo AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let Some(run) = Run::start(&["--secret-key-provider", provider]) else {
        return;
    };
    let (trace, _) = run.finish();
    let report = check_trace(&trace);
    eprintln!("airgap sabotage: caught {:?}", report.violations);
    assert!(
        report
            .violations
            .iter()
            .any(|v| v.contains("192.0.2.1") && v.contains("port 80")),
        "the connection to 192.0.2.1:80 was not caught:\n{trace}"
    );
}

/// Why the test cannot run here, or `None`. Under `CI=true` a missing tool is a failure.
fn unavailable() -> Option<String> {
    for tool in ["strace", "unshare", "nsenter", "ip", "curl"] {
        if !tool_found(tool) {
            let why = format!("`{tool}` is not installed (.ci/deps.sh installs it)");
            assert!(!in_ci(), "airgap: {why}; CI must run this test");
            return Some(why);
        }
    }
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        });
    if uid.as_deref() != Some("0") {
        return Some("not running as root (a network namespace needs CAP_SYS_ADMIN)".into());
    }
    let probe = Command::new("unshare")
        .args(["-n", "--", "sh", "-c", "ip link set lo up"])
        .stderr(Stdio::piped())
        .output();
    match probe {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "`unshare -n` does not work here: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Some(format!("cannot run unshare: {e}")),
    }
}

/// One server under strace in its own network namespace.
struct Run {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    trace: PathBuf,
    /// `strace`, whose pid is also in the namespace.
    child: Option<Child>,
    port: u16,
}

impl Run {
    fn start(extra: &[&str]) -> Option<Run> {
        if let Some(why) = unavailable() {
            eprintln!("SKIPPED airgap test: {why}");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("seqr-airgap-")
            .tempdir()
            .expect("temp dir");
        let path = dir.path().to_path_buf();
        let trace = path.join("strace.out");
        let storage = path.join("storage");
        let stderr = File::create(path.join("server-stderr.log")).expect("stderr log");
        // `unshare -n` execs sh in a new network namespace (nothing but a down loopback), sh
        // brings loopback up and execs strace, which starts seqr. No --listen: the namespace
        // is empty, so the default http://127.0.0.1:5341 is free.
        let mut child = Command::new("unshare")
            .args(["-n", "--", "sh", "-c"])
            .arg(
                "ip link set lo up && exec strace -f -qq -s 96 \
                 -e trace=bind,connect,sendto,sendmsg,sendmmsg -o \"$0\" \"$@\"",
            )
            .arg(&trace)
            .arg(SEQR)
            .arg("serve")
            .arg("--storage")
            .arg(&storage)
            .args(extra)
            .env("SEQR_FIRSTRUN_ADMINPASSWORD", ADMIN_PASSWORD)
            .env_remove("SEQR_LISTEN")
            .env_remove("SEQR_NO_AUTHENTICATION")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("spawn unshare");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = parse_listening_line(&line)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(port);
                }
            }
        });
        let mut run = Run {
            _dir: dir,
            dir: path,
            trace,
            child: Some(child),
            port: 0,
        };
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(port) => run.port = port,
            Err(_) => panic!(
                "seqr did not start under strace in a network namespace\n--- stderr ---\n{}",
                std::fs::read_to_string(run.dir.join("server-stderr.log")).unwrap_or_default()
            ),
        }
        Some(run)
    }

    fn ns_pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// curl inside the namespace; returns (status, body).
    fn curl(&self, args: &[&str], target: &str) -> (u16, String) {
        let body_file = self.dir.join("body");
        let jar = self.dir.join("cookies");
        let out = Command::new("nsenter")
            .args(["-t", &self.ns_pid().to_string(), "-n", "--", "curl", "-sS"])
            .args(["-m", "30", "-o"])
            .arg(&body_file)
            .args(["-w", "%{http_code}", "-c"])
            .arg(&jar)
            .arg("-b")
            .arg(&jar)
            .args(args)
            .arg(format!("http://127.0.0.1:{}{target}", self.port))
            .output()
            .expect("run nsenter curl");
        assert!(
            out.status.success(),
            "curl {target} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let status = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let body = std::fs::read_to_string(&body_file).unwrap_or_default();
        (status, body)
    }

    /// Health, ingestion, sign-in, searches, a query and the UI; returns nothing, asserts all.
    fn exercise(&self) {
        let (status, body) = self.curl(&[], "/health");
        assert_eq!(status, 200, "/health: {body}");

        let mut clef = String::new();
        for i in 0..50 {
            clef.push_str(&format!(
                "{{\"@t\":\"2026-01-01T00:00:{:02}.000Z\",\"@mt\":\"Order {{OrderId}} shipped to {{Email}}\",\"OrderId\":{i},\"Email\":\"user{i}@example.com\",\"Url\":\"https://example.com/orders/{i}\"}}\n",
                i % 60
            ));
        }
        let (status, body) = self.curl(
            &[
                "-X",
                "POST",
                "-H",
                "Content-Type: application/vnd.serilog.clef",
                "--data-binary",
                &clef,
            ],
            "/api/events/raw?clef",
        );
        assert_eq!(status, 201, "ingestion: {body}");

        let login = format!(r#"{{"Username":"admin","Password":"{ADMIN_PASSWORD}"}}"#);
        let (status, body) = self.curl(
            &[
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                &login,
            ],
            "/api/users/login",
        );
        assert_eq!(status, 200, "sign-in: {body}");

        // Searches, until the ingested events are visible.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (status, body) = self.curl(
                &[],
                "/api/events/signal?count=100&filter=OrderId%20%3E%3D%200&render=true",
            );
            assert_eq!(status, 200, "search: {body}");
            let found = body.matches("\"Id\"").count();
            if found >= 50 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "only {found} events found: {body}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let (status, body) = self.curl(&[], "/api/events?count=10&filter=Email%20like%20'%25u%25'");
        assert_eq!(status, 200, "legacy search: {body}");
        let (status, body) = self.curl(
            &[],
            "/api/data?q=select%20count(*)%20as%20n%20from%20stream%20group%20by%20OrderId%20%25%205",
        );
        assert_eq!(status, 200, "select query: {body}");
        for target in [
            "/api",
            "/api/settings",
            "/api/signals",
            "/api/users/current",
        ] {
            let (status, body) = self.curl(&[], target);
            assert!(status < 500, "{target}: {status} {body}");
        }
    }

    /// Headless Chromium inside the namespace walks the UI (`ui/tests/airgap-walk.mjs`); the
    /// script fails on any request outside the server's origin or a step that shows nothing.
    fn browser_walk(&self) {
        let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui");
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let missing = if !tool_found("node") {
            Some("`node` is not installed".to_owned())
        } else if !Path::new(&chromium).exists() {
            Some(format!(
                "no Chromium at {chromium} (.ci/deps.sh installs it)"
            ))
        } else if !ui.join("node_modules/playwright-core").is_dir() {
            Some("the UI's packages are not installed (`make ui`)".to_owned())
        } else {
            None
        };
        if let Some(why) = missing {
            assert!(!in_ci(), "airgap browser walk: {why}; CI must run it");
            eprintln!("SKIPPED airgap browser walk: {why}");
            return;
        }
        let out = Command::new("nsenter")
            .args(["-t", &self.ns_pid().to_string(), "-n", "--", "node"])
            .arg(ui.join("tests/airgap-walk.mjs"))
            .env("SEQR_URL", format!("http://127.0.0.1:{}", self.port))
            .env("SEQR_PASSWORD", ADMIN_PASSWORD)
            .env("CHROMIUM", &chromium)
            .stdin(Stdio::null())
            .output()
            .expect("run nsenter node");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "the browser walk failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("{}", stdout.trim());
        assert!(
            stdout.contains("/api/events/stream") && stdout.contains("/assets/"),
            "the walk did not load the assets and open the live tail: {stdout}"
        );
    }

    /// Loads the UI page and every asset it references (recursively) inside the namespace;
    /// returns the external URLs found in them.
    fn ui_external_urls(&self) -> Vec<String> {
        let mut bad = Vec::new();
        let mut queue = vec!["/".to_owned()];
        let mut seen = BTreeSet::new();
        while let Some(target) = queue.pop() {
            if !seen.insert(target.clone()) {
                continue;
            }
            let (status, body) = self.curl(&[], &target);
            assert_eq!(status, 200, "UI {target}: {body}");
            let text = if target == "/" {
                strip_html_comments(&body)
            } else {
                body
            };
            for url in external_urls(&text, self.port) {
                bad.push(format!("{target}: {url}"));
            }
            for asset in asset_references(&text) {
                queue.push(asset);
            }
        }
        assert!(
            seen.iter().any(|t| t.ends_with(".js")) && seen.iter().any(|t| t.ends_with(".css")),
            "the UI page referenced no script or style (is ui/dist built?): {seen:?}"
        );
        bad
    }

    /// Loads the UI, stops the server with SIGTERM (so its shutdown is traced too) and returns
    /// the trace and the UI's external URLs.
    fn finish(mut self) -> (String, Vec<String>) {
        let ui = self.ui_external_urls();
        let strace_pid = self.ns_pid();
        let seqr_pid = children_of(strace_pid);
        for pid in &seqr_pid {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        let mut child = self.child.take().expect("running");
        if wait_timeout(&mut child, Duration::from_secs(30)).is_none() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("seqr did not stop within 30 s of SIGTERM");
        }
        let trace = std::fs::read_to_string(&self.trace).expect("read the strace output");
        (trace, ui)
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            for pid in children_of(child.id()) {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        out.extend(
            children
                .split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
    }
    out
}

fn strip_html_comments(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start..].find("-->") {
            Some(end) => rest = &rest[start + end + 3..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// XML namespace names, which are identifiers a script compares, never loaded.
const NAMESPACE_URIS: [&str; 5] = [
    "http://www.w3.org/2000/svg",
    "http://www.w3.org/1999/xhtml",
    "http://www.w3.org/1998/Math/MathML",
    "http://www.w3.org/1999/xlink",
    "http://www.w3.org/XML/1998/namespace",
];

/// Absolute `http(s)://` URLs other than the page's own origin and XML namespace names, and
/// protocol-relative `//host` references in `src`, `href`, `url(` and `import`.
fn external_urls(text: &str, port: u16) -> Vec<String> {
    let own = [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
    ];
    let mut out = Vec::new();
    let lower = text.to_ascii_lowercase();
    for scheme in ["http://", "https://"] {
        for (at, _) in lower.match_indices(scheme) {
            let url: String = text[at..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !"\"'`<>()\\,;".contains(*c))
                .collect();
            let allowed = own.iter().any(|o| url.starts_with(o.as_str()))
                || NAMESPACE_URIS.contains(&url.as_str());
            if !allowed {
                out.push(url);
            }
        }
    }
    for pattern in [
        "src=\"//",
        "src='//",
        "href=\"//",
        "href='//",
        "url(//",
        "url(\"//",
        "url('//",
        "import(\"//",
        "from\"//",
        "from \"//",
    ] {
        for (at, _) in lower.match_indices(pattern) {
            out.push(text[at..].chars().take(80).collect());
        }
    }
    out
}

/// `/assets/...` files a page, script or style references.
fn asset_references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices("assets/") {
        let name: String = text[at + "assets/".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
            .collect();
        let is_file = [".js", ".css", ".woff2", ".woff", ".svg", ".png", ".ttf"]
            .iter()
            .any(|ext| name.ends_with(ext));
        if is_file {
            out.push(format!("/assets/{name}"));
        }
    }
    out
}

#[derive(Debug, Default)]
struct TraceReport {
    /// Traced connect/send calls.
    calls: usize,
    /// Their strace lines.
    lines: Vec<String>,
    /// Addresses bound (`bind`), e.g. `127.0.0.1:5341`: proof the trace covers the server.
    bound: BTreeSet<String>,
    /// Every distinct destination, e.g. `AF_INET 127.0.0.1:5341`, `AF_NETLINK`.
    seen: BTreeSet<String>,
    violations: Vec<String>,
}

/// AF_UNIX sockets through which a name look-up would leave the host.
const NAME_SERVICE_SOCKETS: [&str; 3] = [
    "/run/nscd/socket",
    "/var/run/nscd/socket",
    "/run/systemd/resolve/",
];

fn check_trace(trace: &str) -> TraceReport {
    let mut report = TraceReport::default();
    for line in trace.lines() {
        let Some(call) = syscall_of(line) else {
            continue;
        };
        if call == "bind" {
            // Not outbound; recorded to show the trace covers the server (its listener).
            if let (Some(ip), Some(port)) = (
                between(line, "inet_addr(\"", "\""),
                between(line, "sin_port=htons(", ")"),
            ) {
                report.bound.insert(format!("{ip}:{port}"));
            }
            continue;
        }
        if !["connect", "sendto", "sendmsg", "sendmmsg"].contains(&call) {
            continue;
        }
        report.calls += 1;
        report.lines.push(line.to_owned());
        let mut addresses = 0;
        for (at, _) in line.match_indices("sa_family=") {
            addresses += 1;
            let rest = &line[at + "sa_family=".len()..];
            let family: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let verdict = match family.as_str() {
                "AF_INET" => {
                    let ip = between(rest, "inet_addr(\"", "\"").unwrap_or("?");
                    let port = between(rest, "sin_port=htons(", ")").unwrap_or("?");
                    let dest = format!("AF_INET {ip} port {port}");
                    let ok = ip.starts_with("127.") && port != "53";
                    (dest, ok)
                }
                "AF_INET6" => {
                    let ip = between(rest, "inet_pton(AF_INET6, \"", "\"").unwrap_or("?");
                    let port = between(rest, "sin6_port=htons(", ")").unwrap_or("?");
                    let dest = format!("AF_INET6 {ip} port {port}");
                    let loopback = ip == "::1" || ip.starts_with("::ffff:127.");
                    (dest, loopback && port != "53")
                }
                "AF_UNIX" => {
                    let path = between(rest, "sun_path=\"", "\"")
                        .or_else(|| between(rest, "sun_path=@\"", "\""))
                        .unwrap_or("");
                    let ok = !NAME_SERVICE_SOCKETS.iter().any(|s| path.starts_with(s));
                    (format!("AF_UNIX {path}"), ok)
                }
                "AF_NETLINK" => ("AF_NETLINK".to_owned(), true),
                // connect(AF_UNSPEC) dissolves a UDP socket's association.
                "AF_UNSPEC" => ("AF_UNSPEC".to_owned(), true),
                other => (other.to_owned(), false),
            };
            if !verdict.1 {
                report.violations.push(format!("{} in: {line}", verdict.0));
            }
            report.seen.insert(verdict.0);
        }
        // A connect always names its address (unless it is the tail of an unfinished call).
        if call == "connect" && addresses == 0 && !line.contains("resumed>") {
            report
                .violations
                .push(format!("connect without a readable address: {line}"));
        }
    }
    report
}

/// The syscall a strace line records: `1234 connect(...`, `<... connect resumed>`.
fn syscall_of(line: &str) -> Option<&str> {
    let rest = line.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
    if let Some(r) = rest.strip_prefix("<... ") {
        return r.split_whitespace().next();
    }
    let name = rest.split('(').next()?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(name)
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

#[test]
fn trace_parsing() {
    let trace = r#"100 connect(9, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT
101 connect(3, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.2.3")}, 16) = -1 ENETUNREACH
101 sendto(3, "abc", 3, MSG_NOSIGNAL, NULL, 0) = 3
102 sendmsg(4, {msg_name={sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, msg_namelen=12}, 0) = 20
103 connect(5, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28 <unfinished ...>
103 <... connect resumed>) = -1 ENETUNREACH
104 connect(6, {sa_family=AF_INET, sin_port=htons(5341), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
105 bind(7, {sa_family=AF_INET, sin_port=htons(5341), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
"#;
    let r = check_trace(trace);
    assert_eq!(r.calls, 7);
    assert!(r.bound.contains("127.0.0.1:5341"), "{:?}", r.bound);
    assert_eq!(r.violations.len(), 3, "{:?}", r.violations);
    assert!(
        r.seen.contains("AF_INET 127.0.0.1 port 5341"),
        "{:?}",
        r.seen
    );
    assert!(r.violations[1].contains("10.0.2.3 port 53"));
    assert!(r.violations[2].contains("2001:db8::1 port 443"));
    let urls = external_urls(
        "x='http://www.w3.org/2000/svg' <script src=\"https://cdn.example/x.js\"> \
         http://127.0.0.1:5341/assets/a.js url(//fonts.googleapis.com/css)",
        5341,
    );
    assert_eq!(
        urls,
        [
            "https://cdn.example/x.js",
            "url(//fonts.googleapis.com/css)"
        ]
    );
    assert_eq!(
        asset_references("src=\"/assets/index-B8n.js\" import(\"./assets/x_1.css\")"),
        ["/assets/index-B8n.js", "/assets/x_1.css"]
    );
    assert_eq!(strip_html_comments("a<!-- https://host/seq -->b"), "ab");
}
