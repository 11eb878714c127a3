//! Shared helpers for the `seqr` integration tests: a server guard, a tiny HTTP client and
//! read-back helpers for the search API.

#![allow(dead_code)]

pub mod http;
pub mod server;

use std::collections::BTreeMap;

use serde_json::Value;

pub use http::{Request, Response, get, gzip, post};
pub use server::{Server, TestDir};

/// The exact body of a successful ingestion.
/// Whether the tests run under CI (`CI=true`), where a missing tool fails a test instead of
/// skipping it: `.ci/deps.sh` installs them all.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Whether `tool` is on the PATH.
pub fn tool_found(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub const INGEST_OK_BODY: &str = r#"{"MinimumLevelAccepted":null}"#;

pub const CLEF: &str = "application/vnd.serilog.clef";
pub const JSON: &str = "application/json";

/// Assert a response is a successful ingestion: `201` with exactly `{"MinimumLevelAccepted":null}`.
#[track_caller]
pub fn assert_ingested(resp: &Response) {
    assert_eq!(
        resp.status,
        201,
        "expected 201 from ingestion, got {}: {}",
        resp.status,
        resp.text()
    );
    assert_eq!(resp.text(), INGEST_OK_BODY, "ingestion response body");
}

/// POST a CLEF body to `/api/events/raw?clef` and assert it was ingested.
#[track_caller]
pub fn ingest_clef(port: u16, body: &str) {
    let resp = post(port, "/api/events/raw?clef", Some(CLEF), body.as_bytes())
        .expect("POST /api/events/raw?clef");
    assert_ingested(&resp);
}

/// One page of `/api/events/signal`.
pub struct SignalPage {
    pub events: Vec<Value>,
    pub status: String,
    pub last_read_event_id: Option<String>,
    pub raw: Value,
}

#[track_caller]
pub fn signal_page(port: u16, query: &str) -> SignalPage {
    let target = format!("/api/events/signal?{query}");
    let resp = get(port, &target).unwrap_or_else(|e| panic!("GET {target}: {e}"));
    assert_eq!(
        resp.status,
        200,
        "GET {target} -> {}: {}",
        resp.status,
        resp.text()
    );
    let raw = resp.json();
    let events = raw
        .get("Events")
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("GET {target}: no Events array in {raw}"))
        .clone();
    let stats = raw
        .get("Statistics")
        .unwrap_or_else(|| panic!("GET {target}: no Statistics in {raw}"));
    let status = stats
        .get("Status")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("GET {target}: no Statistics.Status in {raw}"))
        .to_string();
    let last_read_event_id = stats
        .get("LastReadEventId")
        .and_then(Value::as_str)
        .map(str::to_string);
    SignalPage {
        events,
        status,
        last_read_event_id,
        raw,
    }
}

/// Read every event through `/api/events/signal`, paging with `afterId=<LastReadEventId>` until
/// `Status` is `Complete`. `query` is extra query text (e.g. `render=true`). Newest first.
#[track_caller]
pub fn read_all(port: u16, page_size: usize, query: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0usize;
    loop {
        pages += 1;
        assert!(pages < 1_000_000, "paging never completed");
        let mut q = format!("count={page_size}");
        if !query.is_empty() {
            q.push('&');
            q.push_str(query);
        }
        if let Some(a) = &after {
            q.push_str("&afterId=");
            q.push_str(a);
        }
        let page = signal_page(port, &q);
        assert!(
            page.events.len() <= page_size,
            "page of {} events for count={page_size}",
            page.events.len()
        );
        match page.status.as_str() {
            "Complete" => {
                all.extend(page.events);
                return all;
            }
            "Full" | "Partial" => {
                let next = page.last_read_event_id.clone().unwrap_or_else(|| {
                    panic!(
                        "Status {} without a LastReadEventId: {}",
                        page.status, page.raw
                    )
                });
                assert!(
                    after.as_deref() != Some(next.as_str()) || !page.events.is_empty(),
                    "paging is stuck at afterId={next}: {}",
                    page.raw
                );
                if let Some(last) = page.events.last() {
                    assert_eq!(
                        id_of(last),
                        next,
                        "LastReadEventId should be the last event returned on a {} page",
                        page.status
                    );
                }
                all.extend(page.events);
                after = Some(next);
            }
            other => panic!("unexpected Statistics.Status {other:?}: {}", page.raw),
        }
    }
}

#[track_caller]
pub fn id_of(event: &Value) -> &str {
    event
        .get("Id")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("event without an Id: {event}"))
}

#[track_caller]
pub fn str_member<'a>(event: &'a Value, name: &str) -> &'a str {
    event
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("event without a string {name}: {event}"))
}

/// An event's `Properties` (`[{"Name":..,"Value":..}]`) as a name → value map; panics on
/// duplicate names or a malformed list.
#[track_caller]
pub fn properties(event: &Value) -> BTreeMap<String, Value> {
    let mut map = BTreeMap::new();
    let Some(list) = event.get("Properties") else {
        return map;
    };
    for p in list
        .as_array()
        .unwrap_or_else(|| panic!("Properties is not an array: {event}"))
    {
        let name = p
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("property without a Name: {p}"));
        let value = p.get("Value").cloned().unwrap_or(Value::Null);
        assert!(
            map.insert(name.to_string(), value).is_none(),
            "duplicate property {name} in {event}"
        );
    }
    map
}

#[track_caller]
pub fn property(event: &Value, name: &str) -> Option<Value> {
    properties(event).remove(name)
}

/// A small deterministic xorshift64* generator (no `rand` dependency).
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        XorShift(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
}

/// `2026-01-01T00:00:00` plus `micros` microseconds, as an ISO-8601 UTC timestamp with 7
/// fractional digits (the form the API returns).
pub fn ts_micros(micros: u64) -> String {
    let secs = micros / 1_000_000;
    let frac = micros % 1_000_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days_from_civil(2026, 1, 1) + days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:06}0Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Normalise an ISO-8601 timestamp with an offset (`2026-11-24 23:40:48.503936+00:00`,
/// `2026-11-24T23:40:30.448Z`, `...+02:00`) to UTC with 7 fractional digits and `Z`.
pub fn normalize_timestamp(text: &str) -> String {
    let bad = || panic!("unsupported timestamp {text:?}");
    let b = text.as_bytes();
    if b.len() < 19 || !(b[10] == b'T' || b[10] == b' ' || b[10] == b't') {
        bad();
    }
    let num = |r: std::ops::Range<usize>| -> i64 { text[r].parse().unwrap_or_else(|_| bad()) };
    let (y, mo, d) = (num(0..4), num(5..7) as u32, num(8..10) as u32);
    let (h, mi, s) = (num(11..13), num(14..16), num(17..19));
    let mut rest = &text[19..];
    let mut frac = String::new();
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        frac = r[..digits].to_string();
        rest = &r[digits..];
    }
    assert!(frac.len() <= 7, "more than 7 fractional digits in {text:?}");
    while frac.len() < 7 {
        frac.push('0');
    }
    let offset_secs = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) => {
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            let oh: i64 = rest[1..3].parse().unwrap_or_else(|_| bad());
            let om: i64 = rest[4..6].parse().unwrap_or_else(|_| bad());
            sign * (oh * 3600 + om * 60)
        }
        _ => bad(),
    };
    let total = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset_secs;
    let (days, rem) = (total.div_euclid(86_400), total.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

#[test]
fn timestamp_helpers() {
    assert_eq!(ts_micros(0), "2026-01-01T00:00:00.0000000Z");
    assert_eq!(
        ts_micros(86_400_000_000 + 1_500_000),
        "2026-01-02T00:00:01.5000000Z"
    );
    assert_eq!(
        normalize_timestamp("2026-11-24 23:40:48.503936+00:00"),
        "2026-11-24T23:40:48.5039360Z"
    );
    assert_eq!(
        normalize_timestamp("2026-11-24T23:40:30.448Z"),
        "2026-11-24T23:40:30.4480000Z"
    );
    assert_eq!(
        normalize_timestamp("2026-03-01T01:30:00+02:00"),
        "2026-02-28T23:30:00.0000000Z"
    );
    assert_eq!(
        normalize_timestamp("2025-12-31T23:00:00.1234567-01:30"),
        "2026-01-01T00:30:00.1234567Z"
    );
}
