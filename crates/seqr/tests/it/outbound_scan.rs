//! The air-gap promise in the sources: no server code may open an outbound socket or look up a
//! name except `seqr_server::outbound`, which obeys `--outbound-allow` (nowhere by default), so
//! a feature added later cannot connect out around the allow-list. `airgap.rs` proves the
//! running server makes no connection; this catches the code that would, before it runs.

use std::path::Path;

/// Which file may make which of the calls below (`*`: all of them), and why.
const OUTBOUND_ALLOWED: [(&str, &str, &str); 3] = [
    (
        "crates/seqr-server/src/outbound.rs",
        "*",
        "the policy itself: checks --outbound-allow first",
    ),
    (
        "crates/seqr/src/remote.rs",
        "*",
        "the CLI's client (`seqr backup --server URL`), run by an operator, never by the server",
    ),
    (
        "crates/seqr-server/src/inputs/udp.rs",
        "lookup_host",
        "resolves the listener's own configured bind address",
    ),
];

/// Calls that connect out, send to an address or resolve a name.
const OUTBOUND_CALLS: [&str; 12] = [
    "TcpStream::connect",
    "TcpSocket",
    "UdpSocket::connect",
    ".send_to(",
    "lookup_host",
    "to_socket_addrs",
    "hyper::client",
    "hyper_util::client",
    "reqwest",
    "ureq",
    "lettre",
    "UnixStream::connect",
];

#[test]
fn outbound_sockets_are_opened_only_through_the_policy() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    let mut dirs = vec![crates.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read the crates") {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                // Sources only: not tests/, benches, fuzz targets or build output.
                let parent_is_crates = dir == crates;
                if parent_is_crates || (name != "tests" && name != "fuzz" && name != "target") {
                    dirs.push(path);
                }
            } else if name.ends_with(".rs") && path.components().any(|c| c.as_os_str() == "src") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 50, "found only {} source files", files.len());
    let mut found = Vec::new();
    for file in &files {
        let relative = format!(
            "crates/{}",
            file.strip_prefix(&crates).unwrap().to_string_lossy()
        );
        let allowed = |call: &str| {
            OUTBOUND_ALLOWED
                .iter()
                .any(|(f, c, _)| *f == relative && (*c == "*" || *c == call))
        };
        let text = std::fs::read_to_string(file).expect("read a source file");
        for (n, line) in outside_test_modules(&text) {
            let line = line.split("//").next().unwrap_or("");
            for call in OUTBOUND_CALLS {
                if line.contains(call) && !allowed(call) {
                    found.push(format!("{relative}:{n}: {call}"));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "outbound network calls outside seqr_server::outbound (connect through \
         OutboundPolicy::connect, which obeys --outbound-allow, or add the file to \
         OUTBOUND_ALLOWED with the reason):\n{}",
        found.join("\n")
    );
}

/// The numbered lines of `text` outside `#[cfg(test)] mod ... { }` blocks (unit tests may talk
/// to loopback), by brace depth.
fn outside_test_modules(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if line.trim() != "#[cfg(test)]" {
            out.push((n + 1, line));
            continue;
        }
        let mut depth = 0i64;
        let mut opened = false;
        for (_, inner) in lines.by_ref() {
            depth += inner.matches('{').count() as i64 - inner.matches('}').count() as i64;
            opened |= inner.contains('{');
            if opened && depth <= 0 || !opened && inner.trim_end().ends_with(';') {
                break;
            }
        }
    }
    out
}

#[test]
fn test_modules_are_skipped_by_brace_depth() {
    let source = "fn a() {}\n#[cfg(test)]\nmod tests {\n    fn t() { x(); }\n}\nfn b() {}\n\
                  #[cfg(test)]\nuse y;\nfn c() {}\n";
    let kept: Vec<usize> = outside_test_modules(source).iter().map(|l| l.0).collect();
    assert_eq!(kept, [1, 6, 9]);
}
