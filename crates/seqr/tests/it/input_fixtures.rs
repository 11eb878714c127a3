//! Replays what the real GELF and syslog senders sent (the `pygelf-*`, `graypy-*` and
//! `syslog-*` fixtures: UDP datagrams, chunked UDP, TCP streams and HTTP posts) to a server
//! with all four listeners on, then reads each event back and checks its level, time, message,
//! exception and properties against the fixture's own decoded form of what was sent.

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Map, Value};

use crate::fixtures::{FIXTURES, parse_fixture};
use crate::support::{Request, Server, TestDir, properties, read_all};

/// One captured transmission.
enum Sent {
    Datagram(Vec<u8>),
    Stream(Vec<u8>),
    Http { body: Vec<u8>, encoding: String },
}

/// A fixture's transmissions and the GELF messages (as JSON) or syslog frames they carry.
struct Fixture {
    name: String,
    sent: Vec<Sent>,
    gelf: Vec<Map<String, Value>>,
    syslog: Vec<String>,
}

/// Undoes the capture's Python-style escaping (`\x00`, `\n`, `\\`, `\"`).
fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes[i + 1] {
            b'x' => {
                let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 4;
            }
            b'n' => {
                out.push(b'\n');
                i += 2;
            }
            b'r' => {
                out.push(b'\r');
                i += 2;
            }
            b't' => {
                out.push(b'\t');
                i += 2;
            }
            other => {
                out.push(other);
                i += 2;
            }
        }
    }
    out
}

fn base64(line: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(line.trim())
        .expect("a base64 line")
}

fn object(json: &str) -> Map<String, Value> {
    match serde_json::from_str(json).expect("a decoded GELF message") {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn load(name: &str) -> Fixture {
    let text = std::fs::read_to_string(Path::new(FIXTURES).join(format!("{name}.txt")))
        .expect("read the fixture");
    let mut fixture = Fixture {
        name: name.to_owned(),
        sent: Vec::new(),
        gelf: Vec::new(),
        syslog: Vec::new(),
    };
    let is_gelf = !name.starts_with("syslog");
    for request in parse_fixture(&text) {
        // `[wire body ...base64:]`, its line, `[decoded ...]`, the JSON.
        let body = String::from_utf8(request.body.clone()).unwrap();
        let lines: Vec<&str> = body.lines().collect();
        fixture.sent.push(Sent::Http {
            body: base64(lines[1]),
            encoding: request.header("content-encoding").unwrap_or("").to_owned(),
        });
        fixture.gelf.push(object(lines[3]));
    }
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let udp = line.starts_with("### UDP packet");
        if !udp && !line.starts_with("### TCP packet") {
            continue;
        }
        let how = lines.next().unwrap();
        let payload = lines.next().unwrap();
        let bytes = if how.contains("base64") {
            base64(payload)
        } else {
            unescape(payload)
        };
        if !is_gelf || !how.contains("base64") {
            // Raw frames: NUL-terminated messages.
            for frame in bytes.split(|b| *b == 0).filter(|f| !f.is_empty()) {
                let text = String::from_utf8(frame.to_vec()).unwrap();
                if is_gelf {
                    fixture.gelf.push(object(&text));
                } else {
                    fixture.syslog.push(text);
                }
            }
        }
        fixture.sent.push(if udp {
            Sent::Datagram(bytes)
        } else {
            Sent::Stream(bytes)
        });
        // The decoded form of a compressed datagram (or of a reassembled chunk set).
        while let Some(next) = lines.peek() {
            if next.starts_with("### ") {
                break;
            }
            let next = lines.next().unwrap();
            if next.starts_with("[decompressed:]") || next.starts_with("[all ") {
                fixture.gelf.push(object(lines.next().unwrap()));
            }
        }
    }
    assert!(!fixture.sent.is_empty(), "{name}: nothing captured");
    fixture
}

fn send(server: &Server, fixture: &Fixture) {
    let protocol = if fixture.name.starts_with("syslog") {
        "syslog"
    } else {
        "gelf"
    };
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    // Chunks go out in reverse order: reassembly must not depend on arrival order.
    let mut datagrams: Vec<&Vec<u8>> = Vec::new();
    for sent in &fixture.sent {
        match sent {
            Sent::Datagram(d) => datagrams.push(d),
            Sent::Stream(bytes) => {
                let mut tcp = TcpStream::connect(server.input(&format!("{protocol}-tcp"))).unwrap();
                tcp.write_all(bytes).unwrap();
            }
            Sent::Http { body, encoding } => {
                let mut request = Request::new("POST", "/gelf").body(body);
                if !encoding.is_empty() {
                    request = request.header("Content-Encoding", encoding);
                }
                let response = request.send(server.port).unwrap();
                assert_eq!(response.status, 202, "{}", response.text());
            }
        }
    }
    if fixture.name.ends_with("chunked") {
        datagrams.reverse();
    }
    let target: SocketAddr = server.input(&format!("{protocol}-udp"));
    for d in datagrams {
        udp.send_to(d, target).unwrap();
    }
}

/// The events whose `Client`-ish property names this fixture, waiting for UDP and TCP
/// deliveries to be stored.
fn events_of(server: &Server, filter: &str, expected: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let events = read_all(
            server.port,
            100,
            &format!("render=true&filter={}", urlencode(filter)),
        );
        if events.len() >= expected || Instant::now() > deadline {
            return events;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// GELF's syslog severities, as seq-input-gelf names them.
fn gelf_level(level: &Value) -> &'static str {
    match level.as_i64() {
        Some(0) => "emerg",
        Some(1) => "alert",
        Some(2) => "crit",
        Some(3) => "err",
        Some(4) => "warning",
        Some(5) => "notice",
        Some(7) => "debug",
        _ => "info",
    }
}

fn message_of(event: &Value) -> &str {
    event["RenderedMessage"].as_str().unwrap_or_default()
}

/// `1795563660.688826` seconds as the API's ISO form, to the microsecond (the sender's float
/// carries no more).
fn iso_micros_of_seconds(seconds: &Value) -> String {
    let text = seconds.to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let micros = format!("{:0<6}", &fraction[..fraction.len().min(6)]);
    let whole: i64 = whole.parse().unwrap();
    let (y, m, d) = crate::support::civil_from_days(whole.div_euclid(86_400));
    let s = whole.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// The capture's decoded text names the driver's directory `/app` where the wire bytes say
/// `/tmp/app`; compare in the capture's terms.
fn as_captured(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(s.replace("/tmp/app/", "/app/")),
        other => other.clone(),
    }
}

fn check_gelf(fixture: &Fixture, events: &[Value]) {
    assert_eq!(
        events.len(),
        fixture.gelf.len(),
        "{}: {events:#?}",
        fixture.name
    );
    for sent in &fixture.gelf {
        let short = sent["short_message"].as_str().unwrap();
        let event = events
            .iter()
            .find(|e| message_of(e) == short)
            .unwrap_or_else(|| panic!("{}: no event `{short}` in {events:#?}", fixture.name));
        let context = format!("{}: {short}", fixture.name);
        assert_eq!(event["Level"], gelf_level(&sent["level"]), "{context}");
        let timestamp = event["Timestamp"].as_str().unwrap();
        assert_eq!(
            &timestamp[..26],
            iso_micros_of_seconds(&sent["timestamp"]),
            "{context}"
        );
        match sent.get("full_message").and_then(Value::as_str) {
            Some(full) => assert_eq!(as_captured(&event["Exception"]), full, "{context}"),
            None => assert!(
                event.get("Exception").is_none_or(Value::is_null),
                "{context}"
            ),
        }
        let props = properties(event);
        for (name, value) in sent {
            let property = match name.as_str() {
                "version" | "short_message" | "full_message" | "timestamp" | "level" => continue,
                "host" | "facility" | "file" | "line" => name.as_str(),
                other => other.strip_prefix('_').expect("an additional field"),
            };
            assert_eq!(
                props.get(property).map(as_captured).as_ref(),
                Some(value),
                "{context}: {property}"
            );
        }
    }
}

fn check_syslog(fixture: &Fixture, events: &[Value]) {
    assert_eq!(
        events.len(),
        fixture.syslog.len(),
        "{}: {events:#?}",
        fixture.name
    );
    for frame in &fixture.syslog {
        // `<134>syslog-udp[15181]: Hello alice from syslog-udp`
        let (pri, rest) = frame[1..].split_once('>').unwrap();
        let pri: u8 = pri.parse().unwrap();
        let (tag, message) = rest.split_once(": ").unwrap();
        let (app, pid) = tag.trim_end_matches(']').split_once('[').unwrap();
        let event = events
            .iter()
            .find(|e| message_of(e) == message.trim())
            .unwrap_or_else(|| panic!("{}: no event `{message}`", fixture.name));
        let context = format!("{}: {message}", fixture.name);
        let level = [
            "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
        ][usize::from(pri % 8)];
        assert_eq!(event["Level"], level, "{context}");
        let props = properties(event);
        assert_eq!(props["facility"], "local0", "{context}");
        assert_eq!(props["app_name"], app, "{context}");
        assert_eq!(props["proc_id"], pid, "{context}");
    }
}

#[test]
fn gelf_and_syslog_fixtures_replay_through_every_transport() {
    let dir = TestDir::new();
    let inputs: Vec<std::ffi::OsString> = [
        "--gelf-udp",
        "127.0.0.1:0",
        "--gelf-tcp",
        "127.0.0.1:0",
        "--syslog-udp",
        "127.0.0.1:0",
        "--syslog-tcp",
        "127.0.0.1:0",
    ]
    .iter()
    .map(Into::into)
    .collect();
    let extra: Vec<&std::ffi::OsStr> = inputs.iter().map(|s| s.as_os_str()).collect();
    let server = Server::try_start_with(&dir.storage(), &dir.log(), &extra)
        .unwrap_or_else(|e| panic!("{}: {}", e.reason, e.stderr));

    let names = [
        "pygelf-udp",
        "pygelf-udp-chunked",
        "pygelf-tcp",
        "pygelf-http",
        "graypy-udp",
        "graypy-udp-chunked",
        "graypy-tcp",
        "graypy-http",
        "syslog-udp",
        "syslog-tcp",
    ];
    let fixtures: Vec<Fixture> = names.iter().map(|n| load(n)).collect();
    for fixture in &fixtures {
        send(&server, fixture);
    }
    for fixture in &fixtures {
        let name = &fixture.name;
        if name.starts_with("syslog") {
            let events = events_of(
                &server,
                &format!("app_name = '{name}'"),
                fixture.syslog.len(),
            );
            check_syslog(fixture, &events);
        } else {
            // pygelf names the logger, graypy the facility; the chunked message (a big random
            // payload) carries neither and is found by its text.
            let filter = if name.ends_with("chunked") {
                let short = fixture.gelf[0]["short_message"].as_str().unwrap();
                // Both senders drew the same payload; graypy also names its facility.
                if name.starts_with("graypy") {
                    format!("@Message = '{short}' and facility = '{name}'")
                } else {
                    format!("@Message = '{short}' and not Has(facility)")
                }
            } else {
                format!("logger_name = '{name}' or facility = '{name}'")
            };
            let events = events_of(&server, &filter, fixture.gelf.len());
            check_gelf(fixture, &events);
        }
    }
}
