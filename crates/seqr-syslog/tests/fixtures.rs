//! The captured syslog client traffic in `../shared/data/client-fixtures/` (Python's
//! `SysLogHandler` over UDP and TCP), and the syslog-shaped loghub samples in
//! `../shared/data/loghub/` checked against loghub's own parse of them.

use std::path::PathBuf;

use seqr_syslog::{TcpFramer, decode_message};
use seqr_types::{Event, Timestamp};

fn shared(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(path)
}

/// The packets or streams of a fixture: the python-escaped line after each `[raw bytes, ...]`.
fn captured(name: &str) -> Vec<Vec<u8>> {
    let path = shared(&format!("client-fixtures/{name}.txt"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let mut out = Vec::new();
    while let Some(line) = lines.next() {
        if line.starts_with("[raw bytes, python-escaped") {
            out.push(unescape(lines.next().expect("a line of bytes")));
        }
    }
    out
}

/// Python's escapes as the capture writes them: `\xNN`, `\n`, `\r`, `\t`, `\\`, `\'`, `\"`.
fn unescape(line: &str) -> Vec<u8> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let (byte, len) = match bytes[i + 1] {
            b'x' => {
                let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).unwrap();
                (u8::from_str_radix(hex, 16).unwrap(), 4)
            }
            b'n' => (b'\n', 2),
            b'r' => (b'\r', 2),
            b't' => (b'\t', 2),
            b'0' => (0, 2),
            other @ (b'\\' | b'\'' | b'"') => (other, 2),
            other => panic!("unknown escape \\{}", other as char),
        };
        out.push(byte);
        i += len;
    }
    out
}

fn received() -> Timestamp {
    Timestamp::parse("2026-11-24T23:41:00Z").unwrap()
}

fn property<'a>(e: &'a Event, name: &str) -> Option<&'a str> {
    e.properties.get(name).and_then(|v| v.as_str())
}

/// What the driver logged: Information, Warning, then Error with a traceback.
fn check_driver_events(events: &[Event], client: &str, pid: &str) {
    assert_eq!(events.len(), 3);
    let levels: Vec<_> = events.iter().map(|e| e.level.as_deref().unwrap()).collect();
    assert_eq!(levels, ["info", "warning", "err"]);
    for e in events {
        assert_eq!(property(e, "facility"), Some("local0"));
        assert_eq!(property(e, "app_name"), Some(client));
        assert_eq!(property(e, "proc_id"), Some(pid));
        assert_eq!(property(e, "hostname"), Some("127.0.0.1"));
        assert_eq!(e.timestamp, received());
        assert_eq!(
            e.event_type,
            seqr_types::event_type::of_template(e.template_or_message())
        );
    }
    assert_eq!(
        events[0].message.as_deref(),
        Some(format!("Hello alice from {client}").as_str())
    );
    assert_eq!(events[1].message.as_deref(), Some("Disk 93.5% full"));
    // The traceback stays in the message, whole.
    assert_eq!(
        events[2].message.as_deref(),
        Some(
            format!(
                "Operation save failed\nTraceback (most recent call last):\n  File \"/app/drive.py\", line 19, in boom\n    raise ValueError(\"Kaboom in \" + client)\nValueError: Kaboom in {client}"
            )
            .as_str()
        )
    );
}

fn peer() -> Option<std::net::IpAddr> {
    Some("127.0.0.1".parse().unwrap())
}

#[test]
fn python_sysloghandler_over_udp() {
    let events: Vec<Event> = captured("syslog-udp")
        .iter()
        .map(|datagram| decode_message(datagram, received(), peer()).unwrap())
        .collect();
    check_driver_events(&events, "syslog-udp", "15181");
}

#[test]
fn python_sysloghandler_over_tcp_however_the_stream_is_cut() {
    let streams = captured("syslog-tcp");
    assert_eq!(streams.len(), 1);
    let stream = &streams[0];
    for chunk in [stream.len(), 1, 2, 7, 64] {
        let mut framer = TcpFramer::new(1024);
        let mut events = Vec::new();
        for piece in stream.chunks(chunk) {
            framer.push(piece);
            while let Some(frame) = framer.next_frame() {
                events.push(decode_message(&frame.unwrap(), received(), peer()).unwrap());
            }
        }
        assert_eq!(framer.finish(), None);
        check_driver_events(&events, "syslog-tcp", "15199");
    }
}

/// A minimal CSV reader for loghub's files: commas, and double quotes around fields that
/// hold them.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip(1)
        .map(|line| {
            let mut fields = Vec::new();
            let mut field = String::new();
            let mut quoted = false;
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '"' if quoted && chars.peek() == Some(&'"') => {
                        field.push('"');
                        chars.next();
                    }
                    '"' => quoted = !quoted,
                    ',' if !quoted => fields.push(std::mem::take(&mut field)),
                    c => field.push(c),
                }
            }
            fields.push(field);
            fields
        })
        .collect()
}

/// Each loghub line sent as a syslog message (with a PRI, as a forwarder would): the TAG,
/// PID and message must be what loghub's parse found, for every line it gives a PID.
fn check_loghub(system: &str, component: usize, pid: usize, content: usize, host: Option<&str>) {
    let dir = shared(&format!("loghub/{system}"));
    let log = std::fs::read_to_string(dir.join(format!("{system}_2k.log"))).unwrap();
    let csv = std::fs::read_to_string(dir.join(format!("{system}_2k.log_structured.csv"))).unwrap();
    let rows = csv_rows(&csv);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), rows.len());
    let mut compared = 0;
    for (line, row) in lines.iter().zip(&rows) {
        let e = decode_message(format!("<38>{line}").as_bytes(), received(), None)
            .unwrap_or_else(|err| panic!("{err}: {line}"));
        assert_eq!(e.level.as_deref(), Some("info"));
        assert_eq!(property(&e, "facility"), Some("auth"));
        if let Some(host) = host {
            assert_eq!(property(&e, "hostname"), Some(host), "{line}");
        }
        assert!(e.timestamp != received(), "{line}");
        // `combo  -- root[2421]: ...`: loghub reads `-- root` as the TAG, which has a space.
        if row[pid].is_empty() || row[component].contains(' ') {
            continue;
        }
        assert_eq!(
            property(&e, "app_name"),
            Some(row[component].as_str()),
            "{line}"
        );
        assert_eq!(property(&e, "proc_id"), Some(row[pid].as_str()), "{line}");
        assert_eq!(
            e.message.as_deref().unwrap_or(""),
            row[content].trim(),
            "{line}"
        );
        compared += 1;
    }
    assert!(compared > 1000, "only {compared} lines compared");
}

#[test]
fn loghub_linux_syslog() {
    // LineId,Month,Date,Time,Level(the host),Component,PID,Content,...
    check_loghub("Linux", 5, 6, 7, Some("combo"));
}

#[test]
fn loghub_openssh() {
    // LineId,Date,Day,Time,Component(the host),Pid,Content,...; the TAG is always sshd.
    check_loghub_openssh();
}

fn check_loghub_openssh() {
    let dir = shared("loghub/OpenSSH");
    let log = std::fs::read_to_string(dir.join("OpenSSH_2k.log")).unwrap();
    let rows =
        csv_rows(&std::fs::read_to_string(dir.join("OpenSSH_2k.log_structured.csv")).unwrap());
    for (line, row) in log.lines().zip(&rows) {
        let e = decode_message(format!("<38>{line}").as_bytes(), received(), None).unwrap();
        assert_eq!(property(&e, "hostname"), Some(row[4].as_str()), "{line}");
        assert_eq!(property(&e, "app_name"), Some("sshd"), "{line}");
        assert_eq!(property(&e, "proc_id"), Some(row[5].as_str()), "{line}");
        assert_eq!(e.message.as_deref().unwrap_or(""), row[6].trim(), "{line}");
    }
}
