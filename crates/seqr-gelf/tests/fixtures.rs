//! Every GELF payload the real clients sent (`pygelf-*`, `graypy-*` in
//! `../shared/data/client-fixtures/`, beside the repository) decodes, through the same path a
//! listener takes: datagrams through the `Reassembler` (chunk sets in order, reversed,
//! shuffled, with repeats), TCP streams through the `NullFramer` split at every size, HTTP
//! bodies as they are. Each event equals the one decoded from the capture's own decompressed
//! JSON, and the mapping is checked field by field.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use seqr_gelf::{Datagram, NullFramer, Reassembler, ReassemblyLimits, decode_message};
use seqr_types::{Event, Timestamp};
use serde_json::{Value, json};

const MAX: usize = 256 * 1024;

/// One payload from a fixture: what went over the wire, and the JSON the capture decoded.
struct Capture {
    /// `base64` for datagrams and HTTP bodies, `escaped` for TCP streams.
    wire: Vec<u8>,
    chunk: bool,
    decoded: Option<String>,
}

fn fixture(name: &str) -> Vec<Capture> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/client-fixtures")
        .join(format!("{name}.txt"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lines: Vec<&str> = text.lines().collect();
    let mut captures: Vec<Capture> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(next) = lines.get(i + 1) else {
            break;
        };
        if !line.starts_with('[') {
            continue;
        }
        if line.contains("base64") {
            captures.push(Capture {
                wire: base64(next),
                chunk: line.starts_with("[GELF chunk"),
                decoded: None,
            });
        } else if line.contains("python-escaped") {
            captures.push(Capture {
                wire: unescape(next),
                chunk: false,
                decoded: None,
            });
        } else if line.contains("decompressed") || line.starts_with("[decoded") {
            let last = captures
                .last_mut()
                .expect("a decoded body follows its wire form");
            last.decoded = Some(next.to_string());
        }
    }
    assert!(!captures.is_empty(), "{name} has no payloads");
    captures
}

fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.trim().bytes().filter(|&c| c != b'=') {
        acc = acc << 6 | u32::from(value(c));
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Python's escaped bytes: `\xNN`, `\\`, `\n`, `\r`, `\t`, `\'`, `\"`.
fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes[i + 1] {
            b'x' => {
                let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 4;
                continue;
            }
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            other => out.push(other),
        }
        i += 2;
    }
    out
}

fn now() -> Timestamp {
    Timestamp::parse("2030-01-01T00:00:00Z").unwrap()
}

fn decode(payload: &[u8]) -> Event {
    decode_message(payload, MAX, now()).unwrap_or_else(|e| panic!("{e}"))
}

/// The events of a fixture, through the listener's path for its transport; each checked
/// against the capture's own decoding.
fn events(name: &str) -> Vec<Event> {
    let captures = fixture(name);
    let mut events = Vec::new();
    if name.ends_with("-tcp") {
        for capture in &captures {
            let frames = frames_at_every_split(&capture.wire);
            events.extend(frames.iter().map(|f| decode(f)));
        }
    } else if name.ends_with("-udp-chunked") {
        let chunks: Vec<&[u8]> = captures.iter().map(|c| c.wire.as_slice()).collect();
        assert!(captures.iter().all(|c| c.chunk));
        let expected = captures.last().unwrap().decoded.as_deref().unwrap();
        let payload = reassemble_in_every_order(&chunks);
        let event = decode(&payload);
        assert_same(&event, &decode(expected.as_bytes()), name);
        events.push(event);
    } else {
        let mut reassembler = Reassembler::new(ReassemblyLimits::default());
        for capture in &captures {
            let payload = if name.ends_with("-udp") {
                match reassembler.accept(&capture.wire, Instant::now()) {
                    Datagram::Whole(p) => p.to_vec(),
                    other => panic!("{name}: a plain datagram came back as {other:?}"),
                }
            } else {
                capture.wire.clone()
            };
            assert_eq!(&payload[..2], b"\x78\x9c", "{name}: zlib, as captured");
            let event = decode(&payload);
            let expected = capture.decoded.as_deref().expect("the capture decoded it");
            assert_same(&event, &decode(expected.as_bytes()), name);
            events.push(event);
        }
    }
    events
}

/// The capture's decoded text shows the driver's directory `/tmp/app/` as `/app/`; the wire
/// has the real one.
fn assert_same(wire: &Event, decoded: &Event, name: &str) {
    let wire = format!("{wire:?}").replace("/tmp/app/", "/app/");
    assert_eq!(wire, format!("{decoded:?}"), "{name}");
}

/// The TCP stream pushed in pieces of every size from 1 byte to all of it: the same frames.
fn frames_at_every_split(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut first: Option<Vec<Vec<u8>>> = None;
    for size in 1..=stream.len() {
        let mut framer = NullFramer::new(64 * 1024);
        let mut frames = Vec::new();
        for piece in stream.chunks(size) {
            framer.push(piece);
            assert!(framer.buffered() <= 64 * 1024 + size);
            while let Some(frame) = framer.next_frame() {
                frames.push(frame.unwrap());
            }
        }
        assert_eq!(framer.finish(), None, "the stream ends with a NUL");
        match &first {
            None => first = Some(frames),
            Some(f) => assert_eq!(&frames, f, "split every {size} bytes"),
        }
    }
    first.unwrap()
}

/// The chunks fed in order, reversed, rotated, and with every chunk sent twice; each order
/// completes on its last new chunk with the same payload.
fn reassemble_in_every_order(chunks: &[&[u8]]) -> Vec<u8> {
    let n = chunks.len();
    let mut orders: Vec<Vec<usize>> = vec![(0..n).collect(), (0..n).rev().collect()];
    for r in 1..n {
        orders.push((0..n).map(|i| (i + r) % n).collect());
    }
    orders.push(vec![2, 0, 3, 1]);
    let doubled: Vec<usize> = (0..n).flat_map(|i| [i, i]).collect();
    orders.push(doubled);
    let mut result = None;
    for order in orders {
        let mut reassembler = Reassembler::new(ReassemblyLimits::default());
        let start = Instant::now();
        let mut complete = None;
        let mut distinct = std::collections::HashSet::new();
        let mut after_completion = 0;
        for (step, &i) in order.iter().enumerate() {
            let at = start + Duration::from_millis(step as u64);
            let answer = reassembler.accept(chunks[i], at);
            if complete.is_some() {
                // A repeat after completion starts a new message, which never completes.
                assert_eq!(answer, Datagram::Pending);
                after_completion += 1;
                continue;
            }
            let completes = distinct.insert(i) && distinct.len() == n;
            match answer {
                Datagram::Complete(payload) if completes => complete = Some(payload),
                Datagram::Pending if !completes => {}
                other => panic!("{other:?} at step {step} of {order:?}"),
            }
        }
        assert_eq!(
            reassembler.pending_messages(),
            usize::from(after_completion > 0)
        );
        let payload = complete.unwrap_or_else(|| panic!("{order:?} never completed"));
        match &result {
            None => result = Some(payload),
            Some(r) => assert_eq!(&payload, r, "{order:?}"),
        }
    }
    result.unwrap()
}

fn props(event: &Event) -> &serde_json::Map<String, Value> {
    &event.properties
}

/// The three records every non-chunked fixture sends.
fn check_standard_records(client: &str, events: &[Event]) {
    assert_eq!(events.len(), 3, "{client}");
    let [hello, disk, failed] = events else {
        unreachable!()
    };
    assert_eq!(
        hello.message.as_deref(),
        Some(format!("Hello alice from {client}").as_str())
    );
    assert_eq!(hello.message_template, None);
    assert_eq!(hello.level.as_deref(), Some("info"));
    assert_eq!(disk.message.as_deref(), Some("Disk 93.5% full"));
    assert_eq!(disk.level.as_deref(), Some("warning"));
    assert_eq!(failed.message.as_deref(), Some("Operation save failed"));
    assert_eq!(failed.level.as_deref(), Some("err"));
    let x = failed.exception.as_deref().expect("the traceback");
    assert!(x.starts_with("Traceback (most recent call last):\n"), "{x}");
    assert!(
        x.ends_with(&format!("ValueError: Kaboom in {client}\n")),
        "{x}"
    );
    assert_eq!(hello.exception, None);
    assert_eq!(props(hello)["User"], "alice");
    assert_eq!(props(hello)["RunTag"], "fixture-run");
    assert!(!props(disk).contains_key("User"));
    for e in events {
        assert_eq!(props(e)["host"], "vm");
        assert_eq!(props(e)["stack_info"], Value::Null, "null is kept");
        assert!(!props(e).contains_key("version"));
        assert!(!props(e).contains_key("short_message"));
        assert!(!props(e).contains_key("level"));
        assert!(
            !props(e).keys().any(|k| k.starts_with('_')),
            "{:?}",
            props(e)
        );
        assert_ne!(e.timestamp, now(), "every record carries its own timestamp");
        assert!(e.timestamp.to_iso().starts_with("2026-11-24T23:4"));
        assert_eq!(
            e.event_type,
            seqr_types::event_type::of_template(e.message.as_deref().unwrap())
        );
    }
    // Timestamps keep sub-second precision and order.
    assert!(hello.timestamp < disk.timestamp && disk.timestamp <= failed.timestamp);
}

fn check_pygelf(transport: &str, events: &[Event]) {
    let client = format!("pygelf-{transport}");
    check_standard_records(&client, events);
    let [hello, disk, failed] = events else {
        unreachable!()
    };
    // pygelf's debug fields carry GELF 1.1's underscore; one is removed.
    for (e, line) in [(hello, 108), (disk, 109), (failed, 110)] {
        assert_eq!(props(e)["file"], "drive.py");
        assert_eq!(props(e)["line"], line);
        assert_eq!(props(e)["module"], "drive");
        assert_eq!(props(e)["func"], "drive_std");
        assert_eq!(props(e)["logger_name"], client.as_str());
        assert_eq!(props(e)["app"], "pygelf-driver");
        assert!(!props(e).contains_key("facility"));
    }
    let keys: Vec<&str> = props(hello).keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "file",
            "line",
            "module",
            "func",
            "logger_name",
            "app",
            "stack_info",
            "User",
            "RunTag",
            "host"
        ]
    );
}

fn check_graypy(transport: &str, events: &[Event]) {
    let client = format!("graypy-{transport}");
    check_standard_records(&client, events);
    // graypy writes GELF 1.0's facility, file and line without the underscore.
    for (e, line) in events.iter().zip([108, 109, 110]) {
        assert_eq!(props(e)["facility"], client.as_str());
        let file = props(e)["file"].as_str().unwrap();
        assert!(file.ends_with("/app/drive.py"), "{file}");
        assert_eq!(props(e)["line"], line);
        assert_eq!(props(e)["function"], "drive_std");
        assert_eq!(
            props(e)["pid"].to_string(),
            props(&events[0])["pid"].to_string()
        );
        assert_eq!(props(e)["thread_name"], "MainThread");
        assert_eq!(props(e)["process_name"], "MainProcess");
    }
}

#[test]
fn pygelf_udp() {
    let events = events("pygelf-udp");
    check_pygelf("udp", &events);
    assert_eq!(events[0].timestamp.to_iso(), "2026-11-24T23:40:59.3290102Z");
}

#[test]
fn pygelf_tcp() {
    let events = events("pygelf-tcp");
    check_pygelf("tcp", &events);
    assert_eq!(events[0].timestamp.to_iso(), "2026-11-24T23:41:02.0487945Z");
}

#[test]
fn pygelf_http() {
    check_pygelf("http", &events("pygelf-http"));
}

#[test]
fn graypy_udp() {
    check_graypy("udp", &events("graypy-udp"));
}

#[test]
fn graypy_tcp() {
    let events = events("graypy-tcp");
    check_graypy("tcp", &events);
    assert_eq!(events[0].timestamp.to_iso(), "2026-11-24T23:41:03.4107282Z");
    assert_eq!(props(&events[0])["pid"], 15076);
}

#[test]
fn graypy_http() {
    check_graypy("http", &events("graypy-http"));
}

#[test]
fn chunked_messages_reassemble() {
    for (name, expected) in [
        ("pygelf-udp-chunked", json!({"host": "vm"})),
        (
            "graypy-udp-chunked",
            json!({"function": "gelf_chunked", "thread_name": "MainThread",
                   "process_name": "MainProcess", "stack_info": null, "RunTag": "fixture-run",
                   "host": "vm", "facility": "graypy-udp-chunked", "line": 155}),
        ),
    ] {
        let events = events(name);
        let [big] = events.as_slice() else {
            panic!("{name}: one message");
        };
        let message = big.message.as_deref().unwrap();
        assert!(message.starts_with("Big payload "), "{name}");
        assert!(message.len() > 5000, "{name}: {} bytes", message.len());
        assert_eq!(big.level.as_deref(), Some("info"));
        assert_ne!(big.timestamp, now());
        for (k, v) in expected.as_object().unwrap() {
            assert_eq!(&props(big)[k], v, "{name}: {k}");
        }
        // Nothing else, bar graypy's `pid` and `file` (whose directory varies by run).
        let others: Vec<&str> = props(big)
            .keys()
            .map(String::as_str)
            .filter(|k| !expected.as_object().unwrap().contains_key(*k))
            .collect();
        let graypy_extra: &[&str] = if name.starts_with("graypy") {
            &["pid", "file"]
        } else {
            &[]
        };
        assert_eq!(others, graypy_extra, "{name}");
    }
}

#[test]
fn fixture_chunks_expire_and_refuse_cleanly() {
    let captures = fixture("graypy-udp-chunked");
    let chunks: Vec<&[u8]> = captures.iter().map(|c| c.wire.as_slice()).collect();
    let mut r = Reassembler::new(ReassemblyLimits::default());
    let t0 = Instant::now();
    for chunk in &chunks[..3] {
        assert_eq!(r.accept(chunk, t0), Datagram::Pending);
    }
    assert_eq!(r.pending_messages(), 1);
    assert_eq!(
        r.pending_bytes(),
        chunks[..3].iter().map(|c| c.len() - 12).sum::<usize>()
    );
    // The last chunk 5 s after the first is too late: the message has expired, and the late
    // chunk starts a new one that cannot complete.
    assert_eq!(
        r.accept(chunks[3], t0 + Duration::from_secs(5)),
        Datagram::Pending
    );
    assert_eq!(r.pending_messages(), 1);
    assert_eq!(r.expire(t0 + Duration::from_secs(10)), 1);
    assert_eq!((r.pending_messages(), r.pending_bytes()), (0, 0));
    // Too small a message limit refuses the set without holding it.
    let mut r = Reassembler::new(ReassemblyLimits {
        max_message_bytes: 2000,
        ..ReassemblyLimits::default()
    });
    assert_eq!(r.accept(chunks[0], t0), Datagram::Pending);
    assert!(matches!(
        r.accept(chunks[1], t0),
        Datagram::Rejected(seqr_gelf::GelfError::ChunkedTooLarge { limit: 2000 })
    ));
    assert_eq!((r.pending_messages(), r.pending_bytes()), (0, 0));
}

#[test]
fn fixture_payloads_respect_tight_limits() {
    for name in ["pygelf-udp", "graypy-http"] {
        for capture in fixture(name) {
            let err = decode_message(&capture.wire, 100, now()).unwrap_err();
            assert_eq!(err, seqr_gelf::GelfError::TooLarge { limit: 100 }, "{name}");
        }
    }
}
