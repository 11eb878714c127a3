//! Principle 1: nothing acknowledged is lost. Concurrent clients ingest numbered events while the
//! server is killed (`kill -9`) at random moments and restarted on the same storage; at the end
//! every acknowledged event must be readable exactly once, nothing may be duplicated and nothing
//! may be invented.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{
    CLEF, INGEST_OK_BODY, JSON, Request, Server, TestDir, XorShift, id_of, ingest_clef, properties,
    read_all, str_member, ts_micros,
};

const CLIENTS: u32 = 4;
const DEFAULT_CYCLES: usize = 20;
const SEED: u64 = 0x5EC0_0001_C4A5_4ED5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// 201 with the expected body: the events must be there, exactly once.
    Acked,
    /// Connection error, timeout or 5xx: the events may or may not be there (at most once).
    Unknown,
    /// A 4xx: nothing from the request may be stored (and our bodies are valid, so it's a bug).
    Rejected(u16),
}

#[derive(Debug, Clone)]
struct Batch {
    client: u32,
    first: u64,
    len: u64,
    route: &'static str,
    gzip: bool,
    outcome: Outcome,
    detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Kill9,
    Term,
}

fn level_of(client: u32, seq: u64) -> &'static str {
    [
        "Information",
        "Warning",
        "Error",
        "Debug",
        "Verbose",
        "Fatal",
    ][((seq + u64::from(client)) % 6) as usize]
}

fn payload_of(client: u32, seq: u64) -> String {
    format!("c{client}n{seq}-").repeat(1 + (seq % 9) as usize)
}

fn timestamp_of(client: u32, seq: u64) -> String {
    // Clients interleave in time, and some events share a timestamp.
    ts_micros(seq * 1000 + u64::from(client % 2))
}

/// Build one request body for `len` events starting at `first`, for route kind `kind`.
/// Returns (target, content type, body).
fn build_request(
    client: u32,
    first: u64,
    len: u64,
    kind: u64,
) -> (&'static str, Option<&'static str>, Vec<u8>) {
    let clef_line = |seq: u64| {
        json!({
            "@t": timestamp_of(client, seq),
            "@mt": "Crash test {Client} {Seq}",
            "@l": level_of(client, seq),
            "Client": client,
            "Seq": seq,
            "Payload": payload_of(client, seq),
        })
        .to_string()
    };
    match kind {
        0..=2 => {
            let mut body = String::new();
            for seq in first..first + len {
                body.push_str(&clef_line(seq));
                body.push('\n');
            }
            let (target, ct) = match kind {
                0 => ("/api/events/raw?clef", None),
                1 => ("/ingest/clef", Some(JSON)),
                _ => ("/api/events/raw", Some(CLEF)),
            };
            (target, ct, body.into_bytes())
        }
        _ => {
            let events: Vec<Value> = (first..first + len)
                .map(|seq| {
                    json!({
                        "Timestamp": timestamp_of(client, seq),
                        "Level": level_of(client, seq),
                        "MessageTemplate": "Crash test {Client} {Seq}",
                        "Properties": {
                            "Client": client,
                            "Seq": seq,
                            "Payload": payload_of(client, seq),
                        },
                    })
                })
                .collect();
            (
                "/api/events/raw",
                Some(JSON),
                json!({ "Events": events }).to_string().into_bytes(),
            )
        }
    }
}

fn client_loop(client: u32, port: Arc<AtomicU16>, stop: Arc<AtomicBool>) -> Vec<Batch> {
    let mut rng = XorShift::new(SEED ^ (u64::from(client) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut batches = Vec::new();
    let mut next = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let p = port.load(Ordering::SeqCst);
        if p == 0 {
            thread::sleep(Duration::from_millis(2));
            continue;
        }
        // Sizes span 1..=200, skewed small: the point is many requests in flight when the
        // kill lands, not raw volume (which only makes the read-back slow).
        let len = if rng.range(0, 3) == 0 {
            rng.range(1, 200)
        } else {
            rng.range(1, 20)
        };
        let kind = rng.range(0, 3);
        let use_gzip = rng.range(0, 4) == 0;
        let (target, ct, body) = build_request(client, next, len, kind);
        let body = if use_gzip {
            crate::support::gzip(&body)
        } else {
            body
        };
        let mut req = Request::new("POST", target).body(&body);
        if let Some(ct) = ct {
            req = req.header("Content-Type", ct);
        }
        if use_gzip {
            req = req.header("Content-Encoding", "gzip");
        }
        let (outcome, detail) = match req.send_with_timeout(p, Duration::from_secs(20)) {
            Ok(r) if r.status == 201 && r.text() == INGEST_OK_BODY => {
                (Outcome::Acked, String::new())
            }
            Ok(r) if r.status == 201 => (
                Outcome::Rejected(201),
                format!("201 with unexpected body {:?}", r.text()),
            ),
            Ok(r) if (400..500).contains(&r.status) => (Outcome::Rejected(r.status), r.text()),
            Ok(r) => (Outcome::Unknown, format!("{}: {}", r.status, r.text())),
            Err(e) => {
                if e.kind() == std::io::ErrorKind::ConnectionRefused {
                    // The server is down or restarting: don't spin.
                    thread::sleep(Duration::from_millis(2));
                }
                (Outcome::Unknown, e.to_string())
            }
        };
        // A little think time, so a faster server doesn't turn into a longer test.
        thread::sleep(Duration::from_micros(rng.range(0, 3000)));
        batches.push(Batch {
            client,
            first: next,
            len,
            route: target,
            gzip: use_gzip,
            outcome,
            detail,
        });
        next += len;
    }
    batches
}

struct RunStats {
    cycles: usize,
    requests: usize,
    acked_requests: usize,
    acked_events: u64,
    unknown_events: u64,
    found: usize,
    partial_unknown_batches: usize,
}

/// Ingest from `CLIENTS` threads while stopping the server `cycles` times (`stop`) and
/// restarting it on the same storage; then verify everything through the search API.
fn run(cycles: usize, stop_mode: Stop, seed: u64) -> RunStats {
    let dir = TestDir::new();
    let port = Arc::new(AtomicU16::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (port, stop) = (port.clone(), stop.clone());
            thread::spawn(move || client_loop(c, port, stop))
        })
        .collect();

    let mut rng = XorShift::new(seed);
    let mut startups: Vec<Duration> = Vec::with_capacity(cycles);
    for cycle in 0..cycles {
        let t = Instant::now();
        let server = dir.start();
        startups.push(t.elapsed());
        port.store(server.port, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(rng.range(50, 400)));
        match stop_mode {
            Stop::Kill9 => server.kill9(),
            Stop::Term => {
                let status = server.terminate(Duration::from_secs(20));
                assert!(
                    status.success(),
                    "cycle {cycle}: graceful shutdown (SIGTERM) should exit 0, got {status}"
                );
            }
        }
        port.store(0, Ordering::SeqCst);
    }
    stop.store(true, Ordering::SeqCst);
    let batches: Vec<Batch> = clients
        .into_iter()
        .flat_map(|h| h.join().expect("client thread panicked"))
        .collect();

    let t = Instant::now();
    let server = dir.start();
    let final_startup = t.elapsed();
    let t = Instant::now();
    let events = read_all(server.port, 5000, "");
    let read_back = t.elapsed();
    let mut sorted = startups.clone();
    sorted.sort();
    println!(
        "crash timings: server startup (to `Listening on`) first={:?} median={:?} max={:?} last={:?}, \
         final startup={final_startup:?}, read-back of {} events={read_back:?}",
        startups.first().copied().unwrap_or_default(),
        sorted.get(sorted.len() / 2).copied().unwrap_or_default(),
        sorted.last().copied().unwrap_or_default(),
        startups.last().copied().unwrap_or_default(),
        events.len(),
    );
    let log = server.stderr();
    verify(cycles, &batches, &events, &log)
}

fn verify(cycles: usize, batches: &[Batch], events: &[Value], log: &str) -> RunStats {
    // (client, seq) -> index of its batch
    let mut sent: HashMap<(u32, u64), usize> = HashMap::new();
    for (i, b) in batches.iter().enumerate() {
        for seq in b.first..b.first + b.len {
            sent.insert((b.client, seq), i);
        }
    }

    let mut problems: Vec<String> = Vec::new();
    let mut found: HashMap<(u32, u64), usize> = HashMap::new();
    let mut ids = HashSet::new();
    let mut invented = 0usize;
    for ev in events {
        let id = id_of(ev).to_string();
        if !ids.insert(id.clone()) {
            problems.push(format!("event id {id} returned twice"));
        }
        let props = properties(ev);
        let client = props.get("Client").and_then(Value::as_u64);
        let seq = props.get("Seq").and_then(Value::as_u64);
        let (Some(client), Some(seq)) = (client, seq) else {
            invented += 1;
            problems.push(format!("invented event (no Client/Seq): {ev}"));
            continue;
        };
        let client = client as u32;
        if !sent.contains_key(&(client, seq)) {
            invented += 1;
            problems.push(format!("invented event client={client} seq={seq}: {ev}"));
            continue;
        }
        *found.entry((client, seq)).or_default() += 1;
        // The content must be intact, not just the numbering.
        let payload = props.get("Payload").and_then(Value::as_str);
        if payload != Some(payload_of(client, seq).as_str()) {
            problems.push(format!(
                "client={client} seq={seq}: corrupted Payload {payload:?}"
            ));
        }
        let level = str_member(ev, "Level");
        if level != level_of(client, seq) {
            problems.push(format!(
                "client={client} seq={seq}: Level {level:?}, sent {:?}",
                level_of(client, seq)
            ));
        }
        let ts = str_member(ev, "Timestamp");
        if ts != timestamp_of(client, seq) {
            problems.push(format!(
                "client={client} seq={seq}: Timestamp {ts:?}, sent {:?}",
                timestamp_of(client, seq)
            ));
        }
    }

    let mut lost = 0u64;
    let mut duplicated = 0u64;
    let mut acked_events = 0u64;
    let mut unknown_events = 0u64;
    let mut partial_unknown_batches = 0usize;
    for b in batches {
        let counts: Vec<usize> = (b.first..b.first + b.len)
            .map(|seq| found.get(&(b.client, seq)).copied().unwrap_or(0))
            .collect();
        let present = counts.iter().filter(|c| **c > 0).count() as u64;
        let dups = counts.iter().filter(|c| **c > 1).count() as u64;
        duplicated += dups;
        if dups > 0 {
            problems.push(format!(
                "{dups} events of batch {b:?} duplicated (counts {counts:?})"
            ));
        }
        match b.outcome {
            Outcome::Acked => {
                acked_events += b.len;
                if present < b.len {
                    lost += b.len - present;
                    problems.push(format!(
                        "LOST {} of {} acknowledged events of batch client={} first={} route={} gzip={}",
                        b.len - present,
                        b.len,
                        b.client,
                        b.first,
                        b.route,
                        b.gzip
                    ));
                }
            }
            Outcome::Unknown => {
                unknown_events += b.len;
                if present > 0 && present < b.len {
                    partial_unknown_batches += 1;
                }
            }
            Outcome::Rejected(status) => {
                problems.push(format!(
                    "a valid batch was rejected with {status} (client={} first={} len={} route={} gzip={}): {}",
                    b.client, b.first, b.len, b.route, b.gzip, b.detail
                ));
                if present > 0 {
                    problems.push(format!(
                        "{present} events of a request answered {status} were stored"
                    ));
                }
            }
        }
    }

    let acked_requests = batches
        .iter()
        .filter(|b| b.outcome == Outcome::Acked)
        .count();
    let mut unknown_reasons: BTreeMap<String, usize> = BTreeMap::new();
    for b in batches.iter().filter(|b| b.outcome == Outcome::Unknown) {
        *unknown_reasons.entry(reason_class(&b.detail)).or_default() += 1;
    }
    println!("crash unknown-outcome requests by reason: {unknown_reasons:?}");
    println!(
        "crash summary: cycles={cycles} requests={} acked_requests={acked_requests} acked={acked_events} \
         unknown={unknown_events} found={} lost={lost} duplicated={duplicated} invented={invented} \
         partial_unknown_batches={partial_unknown_batches}",
        batches.len(),
        events.len(),
    );
    if !problems.is_empty() {
        let shown: Vec<&String> = problems.iter().take(30).collect();
        panic!(
            "{} problem(s) (lost={lost} duplicated={duplicated} invented={invented}); first ones:\n{}\n\
             --- server stderr (tail) ---\n{}",
            problems.len(),
            shown
                .iter()
                .map(|s| format!("  - {s}"))
                .collect::<Vec<_>>()
                .join("\n"),
            tail(log, 4000)
        );
    }
    RunStats {
        cycles,
        requests: batches.len(),
        acked_requests,
        acked_events,
        unknown_events,
        found: events.len(),
        partial_unknown_batches,
    }
}

/// A short class for an unknown outcome's error text (digits dropped so counts aggregate).
fn reason_class(detail: &str) -> String {
    detail
        .chars()
        .take(60)
        .filter(|c| !c.is_ascii_digit())
        .collect()
}

fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut cut = s.len() - max;
    while !s.is_char_boundary(cut) {
        cut += 1;
    }
    &s[cut..]
}

fn cycles_from_env() -> usize {
    match std::env::var("SEQR_CRASH_CYCLES") {
        Ok(v) => v
            .trim()
            .parse::<usize>()
            .unwrap_or_else(|_| panic!("SEQR_CRASH_CYCLES={v:?} is not a number"))
            .max(1),
        Err(_) => DEFAULT_CYCLES,
    }
}

#[test]
fn kill_9_at_random_moments_loses_nothing_acknowledged() {
    let started = Instant::now();
    let cycles = cycles_from_env();
    let seed = std::env::var("SEQR_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    let stats = run(cycles, Stop::Kill9, seed);
    println!(
        "crash test: {} cycles, {} requests, {} acknowledged requests, {} acknowledged events, \
         {} unknown-outcome events, {} found, lost=0 duplicated=0 ({} partially stored unacknowledged batches) in {:?}",
        stats.cycles,
        stats.requests,
        stats.acked_requests,
        stats.acked_events,
        stats.unknown_events,
        stats.found,
        stats.partial_unknown_batches,
        started.elapsed()
    );
    // The test must not pass vacuously: the server has to have acknowledged real work.
    assert!(
        stats.acked_requests >= cycles,
        "only {} requests were acknowledged over {cycles} cycles",
        stats.acked_requests
    );
}

#[test]
fn graceful_sigterm_restarts_keep_everything_acknowledged() {
    let stats = run(3, Stop::Term, SEED ^ 0xFFFF);
    assert!(
        stats.acked_requests >= 3,
        "only {} requests were acknowledged",
        stats.acked_requests
    );
}

#[test]
fn graceful_shutdown_then_restart_serves_the_same_events() {
    let dir = TestDir::new();
    let server = dir.start();
    let mut body = String::new();
    for i in 0..50u64 {
        body.push_str(
            &json!({"@t": ts_micros(i * 1_000_000), "@mt": "Event {I}", "I": i}).to_string(),
        );
        body.push('\n');
    }
    ingest_clef(server.port, &body);
    let before = read_all(server.port, 1000, "");
    assert_eq!(before.len(), 50);
    let status = server.terminate(Duration::from_secs(20));
    assert!(status.success(), "SIGTERM should exit 0, got {status}");

    let server = dir.start();
    let after = read_all(server.port, 1000, "");
    assert_eq!(
        before, after,
        "the events read back after a graceful restart differ"
    );
}

#[test]
fn second_server_on_the_same_storage_fails_with_a_clear_message() {
    let dir = TestDir::new();
    let first = dir.start();
    ingest_clef(first.port, r#"{"@t":"2026-01-01T00:00:00Z","@mt":"first"}"#);

    let second_log = dir.storage().with_file_name("second-stderr.log");
    match Server::try_start(&dir.storage(), &second_log) {
        Ok(second) => panic!(
            "a second server started on storage already in use (port {})",
            second.port
        ),
        Err(e) => {
            let status = e.status.unwrap_or_else(|| {
                panic!("second server neither listened nor exited: {}", e.reason)
            });
            assert!(
                !status.success(),
                "second server must exit non-zero, got {status}"
            );
            let msg = e.stderr.to_lowercase();
            assert!(
                msg.contains("lock") || msg.contains("in use") || msg.contains("already"),
                "second server's stderr should explain the storage is locked/in use, got:\n{}",
                e.stderr
            );
        }
    }

    // The first server is unaffected.
    ingest_clef(
        first.port,
        r#"{"@t":"2026-01-01T00:00:01Z","@mt":"second"}"#,
    );
    assert_eq!(read_all(first.port, 100, "").len(), 2);

    // And once it is gone (even by kill -9) the storage can be opened again.
    first.kill9();
    let again = dir.start();
    assert_eq!(read_all(again.port, 100, "").len(), 2);
}

/// The verifier itself must catch loss, duplication, invention and corruption.
#[test]
fn verifier_detects_lost_duplicated_and_invented_events() {
    let batch = |client, first, len, outcome| Batch {
        client,
        first,
        len,
        route: "/ingest/clef",
        gzip: false,
        outcome,
        detail: String::new(),
    };
    let entity = |n: u64, client: u32, seq: u64, payload: String| {
        json!({
            "Id": format!("event-{n:032x}"),
            "Timestamp": timestamp_of(client, seq),
            "Level": level_of(client, seq),
            "Properties": [
                {"Name": "Client", "Value": client},
                {"Name": "Seq", "Value": seq},
                {"Name": "Payload", "Value": payload},
            ],
        })
    };
    let good = |n, c, s| entity(n, c, s, payload_of(c, s));
    let batches = vec![
        batch(0, 0, 2, Outcome::Acked),
        batch(1, 0, 1, Outcome::Unknown),
    ];
    let run = |events: Vec<Value>| {
        std::panic::catch_unwind(|| verify(1, &batches, &events, "")).map(|s| s.found)
    };
    // Everything acknowledged present, the unknown one absent or present once: fine.
    assert_eq!(run(vec![good(1, 0, 1), good(2, 0, 0)]).ok(), Some(2));
    assert_eq!(
        run(vec![good(1, 0, 1), good(2, 0, 0), good(3, 1, 0)]).ok(),
        Some(3)
    );
    // Lost.
    assert!(run(vec![good(1, 0, 1)]).is_err());
    // Duplicated (acknowledged, and unknown).
    assert!(run(vec![good(1, 0, 1), good(2, 0, 0), good(3, 0, 0)]).is_err());
    assert!(
        run(vec![
            good(1, 0, 1),
            good(2, 0, 0),
            good(3, 1, 0),
            good(4, 1, 0)
        ])
        .is_err()
    );
    // Invented.
    assert!(run(vec![good(1, 0, 1), good(2, 0, 0), good(3, 1, 5)]).is_err());
    // Corrupted content.
    assert!(run(vec![good(1, 0, 1), entity(2, 0, 0, "x".into())]).is_err());
    // Same id twice.
    assert!(run(vec![good(1, 0, 1), good(1, 0, 0)]).is_err());
}

/// The tightest window: kill -9 the moment a 201 arrives, restart, and the event must be there.
#[test]
fn kill_9_right_after_the_201_keeps_the_event() {
    let dir = TestDir::new();
    for round in 0..5u64 {
        let server = dir.start();
        let body =
            json!({"@t": ts_micros(round), "@mt": "Round {Round}", "Round": round}).to_string();
        let resp = crate::support::post(server.port, "/ingest/clef", None, body.as_bytes())
            .expect("POST /ingest/clef");
        crate::support::assert_ingested(&resp);
        server.kill9();

        let server = dir.start();
        let events = read_all(server.port, 100, "");
        let rounds: Vec<u64> = events
            .iter()
            .map(|e| properties(e)["Round"].as_u64().expect("Round"))
            .collect();
        let expected: Vec<u64> = (0..=round).rev().collect();
        assert_eq!(rounds, expected, "after round {round}'s kill -9");
        server.kill9();
    }
}
