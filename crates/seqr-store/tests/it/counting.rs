//! Counting from columns (`Store::count`) gives exactly what evaluating the query on every
//! event gives, for varied data: missing levels, `@m` messages, templates with and without
//! holes, properties whose type changes from event to event (integers, decimals, strings,
//! objects, arrays, null), exceptions; over parts and the memtable.

use std::ops::ControlFlow;

use seqr_query::Variables;
use seqr_query::query::{Flow, Plan, QueryOptions};
use seqr_store::{CountRequest, Event, SearchRequest, Store, StoreOptions, StoredEvent, Timestamp};

use crate::common::{BASE, Rng, varied_status_and_path};

const HOUR: i64 = 36_000_000_000;

fn varied(rng: &mut Rng, i: u64) -> Event {
    let mut e = Event {
        timestamp: Timestamp::from_ticks(BASE + i as i64 * 7_000_000_000 + rng.below(1000) as i64),
        ..Event::default()
    };
    e.level = match rng.below(6) {
        0 => None,
        1 => Some("Error".into()),
        2 => Some("error".into()),
        3 => Some("Fatal".into()),
        4 => Some("Warning".into()),
        _ => Some("Information".into()),
    };
    match rng.below(7) {
        0 => e.message = Some(format!("client rendered {} timeout", rng.below(3))),
        5 => e.message_template = Some("Got {Status} from {User.Name}".into()),
        6 => e.message_template = Some("Time{Reason,-8}out {0}".into()),
        1 => e.message_template = Some("Command timeout after {Elapsed} ms".into()),
        2 => e.message_template = Some("No holes here".into()),
        3 => e.message_template = Some("Request {Path} took {Elapsed}".into()),
        _ => e.message_template = Some("Waited {Reason}".into()),
    }
    varied_status_and_path(rng, &mut e, 100_000);
    e.properties
        .insert("Elapsed".into(), serde_json::json!(rng.below(500)));
    if rng.below(3) == 0 {
        e.properties
            .insert("Retries".into(), serde_json::json!(rng.below(4)));
    }
    if rng.below(3) == 0 {
        e.properties.insert(
            "Reason".into(),
            ["timeout", "Timeout!", "slow"][rng.below(3) as usize].into(),
        );
    }
    if rng.below(9) == 0 {
        e.properties
            .insert("User".into(), serde_json::json!({"Name": "timeout"}));
    }
    if rng.below(7) == 0 {
        e.exception = Some(
            [
                "System.TimeoutException: late\n at X()",
                "System.Exception: other",
            ][rng.below(2) as usize]
                .into(),
        );
    }
    if rng.below(4) == 0 {
        e.trace_id = Some(format!("{:032x}", i % 50));
    }
    e
}

fn all_events(store: &Store) -> Vec<StoredEvent> {
    store
        .search(&SearchRequest {
            count: usize::MAX,
            ..Default::default()
        })
        .unwrap()
        .events
}

fn options() -> QueryOptions {
    QueryOptions {
        range_start: Some(BASE - HOUR),
        range_end: Some(BASE + 1000 * HOUR),
        ..QueryOptions::default()
    }
}

/// The query answered by counting, as the server does it: (result JSON, events decided from
/// columns, events handed over).
fn by_counting(store: &Store, q: &str) -> (serde_json::Value, u64, u64) {
    let plan = Plan::new(q, &Variables::new(), &options()).unwrap();
    let shape = plan
        .counting()
        .unwrap_or_else(|| panic!("{q} is not a counting query"));
    let (from, to) = plan.time_range();
    let mut exec = plan.start();
    let report = store
        .count(
            &CountRequest {
                from: from.map(Timestamp::from_ticks),
                to: to.map(Timestamp::from_ticks),
                predicates: &shape.predicates,
                keys: &shape.keys,
                slice: shape.time_slice,
                max_groups: 0,
                deadline: None,
                cancel: None,
            },
            &mut |e| {
                if plan.accepts(&e) {
                    assert_eq!(exec.feed(&e).unwrap(), Flow::Continue);
                }
                ControlFlow::Continue(())
            },
        )
        .unwrap();
    for g in report.groups {
        exec.add_count(g.slice, g.keys, g.count).unwrap();
    }
    let result = exec.finish().unwrap().to_json();
    (
        serde_json::Value::Object(result),
        report.decided,
        report.handed_over,
    )
}

fn by_evaluating(events: &[StoredEvent], q: &str) -> serde_json::Value {
    let r = seqr_query::query::execute(q, &Variables::new(), &options(), events).unwrap();
    serde_json::Value::Object(r.to_json())
}

const QUERIES: &[&str] = &[
    "select count(*) from stream",
    "select count(*) from stream where @Level in ['Error', 'Fatal']",
    "select count(*) from stream where @Level = 'error' ci",
    "select count(*) from stream where @Level = 'Information'",
    "select count(*) from stream where StartsWith(Path, '/api/orders') group by Status",
    "select count(*) from stream where StartsWith(Path, '/api/orders') ci group by @Level",
    "select count(*) from stream where @Message like '%timeout%' ci or @Exception like '%timeout%' ci",
    "select count(*) from stream where @Message like '%timeout%' or @Exception like '%timeout%'",
    "select count(*) from stream where Status = 200",
    "select count(*) from stream where Status = '200'",
    "select count(*) from stream where Reason = 'timeout' group by @Level",
    "select count(*) from stream where Status = null",
    "select count(*) from stream where Missing = 1",
    "select count(*) from stream where Path = '/api/cart' group by @Level, Status",
    "select count(*) from stream group by time(1h), @Level",
    "select count(*) from stream group by time(1h)",
    "select count(*) from stream group by Status",
    "select count(*) from stream group by Missing",
    "select count(*) as n from stream group by Path having n > 1 order by n desc limit 5",
    "select count(*) from stream where @TraceId = '0000000000000000000000000000000a'",
    "select count(*) from stream where @Level = 'Error' and Status = 404 group by time(1d)",
    // Integer keys: hundreds of values per block, and keys missing from some rows.
    "select count(*) from stream where StartsWith(Path, '/api/orders') group by Elapsed",
    "select count(*) from stream group by Reason, Elapsed",
    "select count(*) from stream where @Level = 'Error' group by Retries",
];

#[test]
fn counts_from_columns_equal_evaluating_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        StoreOptions {
            flush_events: 500,
            block_events: 64,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let mut rng = Rng(0x5eed);
    let events: Vec<Event> = (0..2300).map(|i| varied(&mut rng, i)).collect();
    for chunk in events.chunks(100) {
        store.append_blocking(chunk.to_vec()).unwrap();
    }
    crate::common::wait_flushed(&store, 4);
    let stored = all_events(&store);
    assert_eq!(stored.len(), events.len());
    let mut decided_total = 0;
    for q in QUERIES {
        let (counted, decided, handed_over) = by_counting(&store, q);
        assert_eq!(counted, by_evaluating(&stored, q), "{q}");
        assert_eq!(
            decided + handed_over,
            stored.len() as u64,
            "{q}: every event in range is decided or handed over"
        );
        decided_total += decided;
    }
    // Most events were decided from columns; the memtable's are always handed over.
    assert!(
        decided_total > (QUERIES.len() * stored.len() / 2) as u64,
        "{decided_total}"
    );
}

#[test]
fn memtable_rows_are_decided_from_their_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let mut rng = Rng(99);
    let events: Vec<Event> = (0..600).map(|i| varied(&mut rng, i)).collect();
    store.append_blocking(events).unwrap();
    assert_eq!(store.stats().parts, 0);
    let stored = all_events(&store);
    for q in QUERIES {
        let (counted, _, _) = by_counting(&store, q);
        assert_eq!(counted, by_evaluating(&stored, q), "{q}");
    }
    let q = "select count(*) from stream where StartsWith(Path, '/api/orders') group by @Level";
    assert_eq!(by_counting(&store, q).1, 600, "{q}: every row decided");

    // Searches skip memtable rows by the same decisions, and find what the filter finds.
    for text in [
        "Status = 200",
        "Path = '/api/cart'",
        "Reason = 'timeout'",
        "StartsWith(Path, '/api/orders')",
        "Path like '/API%' ci",
        "@Level in ['Error', 'Fatal']",
        "@Message like '%timeout%' ci or @Exception like '%timeout%' ci",
        "@TraceId = '0000000000000000000000000000000a'",
    ] {
        let f = seqr_query::Filter::parse(text).unwrap();
        let matches = |e: &StoredEvent| f.matches(e, 0);
        let predicates = seqr_query::pushdown::predicates(&f.expr);
        let found = store
            .search(&SearchRequest {
                count: usize::MAX,
                filter: Some(&matches),
                predicates: &predicates,
                ..Default::default()
            })
            .unwrap()
            .events;
        let want: Vec<_> = stored.iter().filter(|e| matches(e)).map(|e| e.id).collect();
        assert_eq!(
            found.iter().map(|e| e.id).collect::<Vec<_>>(),
            want,
            "{text}"
        );
        assert!(!want.is_empty(), "{text}");
    }
}

#[test]
fn a_level_count_decides_every_part_event_from_columns() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        StoreOptions {
            flush_events: 100,
            block_events: 32,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let mut rng = Rng(7);
    let events: Vec<Event> = (0..400).map(|i| varied(&mut rng, i)).collect();
    for chunk in events.chunks(100) {
        store.append_blocking(chunk.to_vec()).unwrap();
    }
    store.flush(std::time::Duration::from_secs(30)).unwrap();
    let q = "select count(*) from stream where @Level in ['Error', 'Fatal']";
    let (counted, decided, handed_over) = by_counting(&store, q);
    assert_eq!(counted, by_evaluating(&all_events(&store), q));
    assert_eq!((decided, handed_over), (400, 0));
}

#[test]
fn non_counting_queries_have_no_count_shape() {
    for q in [
        "select count(*) from stream where Status > 200",
        "select count(*) from stream group by Path ci",
        "select sum(Elapsed) from stream",
        "select count(*) from stream where Path like '/api%'",
        "select count(*) from stream group by ToLower(Path)",
        "select Path from stream",
    ] {
        let plan = Plan::new(q, &Variables::new(), &options()).unwrap();
        assert!(plan.counting().is_none(), "{q}");
    }
}

#[test]
fn a_count_over_too_many_groups_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        StoreOptions {
            flush_events: 100,
            block_events: 16,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let mut rng = Rng(3);
    let events: Vec<Event> = (0..300).map(|i| varied(&mut rng, i)).collect();
    store.append_blocking(events).unwrap();
    store.flush(std::time::Duration::from_secs(30)).unwrap();
    let plan = Plan::new(
        "select count(*) from stream group by Path",
        &Variables::new(),
        &options(),
    )
    .unwrap();
    let shape = plan.counting().unwrap();
    let request = |max_groups| CountRequest {
        from: None,
        to: None,
        predicates: &shape.predicates,
        keys: &shape.keys,
        slice: None,
        max_groups,
        deadline: None,
        cancel: None,
    };
    let r = store.count(&request(3), &mut |_| ControlFlow::Continue(()));
    assert!(
        matches!(r, Err(seqr_store::CountError::TooManyGroups)),
        "{r:?}"
    );
    assert!(
        store
            .count(&request(0), &mut |_| ControlFlow::Continue(()))
            .is_ok()
    );
}

/// Events whose templates are random runs of pieces and holes, with hole values that can
/// form the searched text across boundaries, number formats and alignments, non-ASCII
/// letters that lowercase to ASCII, and values long enough to push a match past the
/// rendering limit.
fn pieces_and_holes(rng: &mut Rng, i: u64) -> Event {
    const PIECES: &[&str] = &[
        "", "t", "ime", "Time", "out", " ", "meo", "x-1", "5", "é", "\u{212a}", "ou", "T", ".",
    ];
    const HOLES: &[&str] = &[
        "{A}",
        "{B}",
        "{A,4}",
        "{B,-9}",
        "{N}",
        "{N:F1}",
        "{N:#.##}",
        "{N:0.00}",
        "{N:P0}",
        "{N:X}",
        "{N,6}",
        "{F}",
        "{Obj}",
        "{Long}",
        "{Missing}",
    ];
    const STRINGS: &[&str] = &[
        "ti",
        "meo",
        "ut",
        "TIME",
        "",
        "timeout",
        "\u{130}",
        "\u{212a}elvin",
        "o",
        "-1.5",
        "e5",
    ];
    let mut e = Event {
        timestamp: Timestamp::from_ticks(BASE + i as i64 * 1_000_000),
        ..Event::default()
    };
    if i.is_multiple_of(50) {
        // A match just before or just after the cut at the rendering limit.
        e.message_template = Some("{Long}{N} timeout".into());
        e.properties.insert(
            "Long".into(),
            "y".repeat(16_360 + (i / 50 % 30) as usize).into(),
        );
        e.properties.insert("N".into(), serde_json::json!(123_456));
        return e;
    }
    let mut t = String::new();
    for _ in 0..1 + rng.below(6) {
        t.push_str(PIECES[rng.below(PIECES.len() as u64) as usize]);
        t.push_str(HOLES[rng.below(HOLES.len() as u64) as usize]);
    }
    t.push_str(PIECES[rng.below(PIECES.len() as u64) as usize]);
    e.message_template = Some(t);
    let value = |rng: &mut Rng| -> serde_json::Value {
        match rng.below(8) {
            0 => serde_json::json!(rng.below(2000) as i64 - 1000),
            1 => serde_json::json!(1.5),
            2 => serde_json::from_str("-0.50").unwrap(),
            3 => serde_json::json!(rng.below(2) == 0),
            4 => serde_json::Value::Null,
            5 => serde_json::json!([1, "timeout"]),
            _ => STRINGS[rng.below(STRINGS.len() as u64) as usize].into(),
        }
    };
    for name in ["A", "B", "N", "F"] {
        if rng.below(6) != 0 {
            let v = value(rng);
            e.properties.insert(name.into(), v);
        }
    }
    if rng.below(2) == 0 {
        e.properties
            .insert("N".into(), serde_json::json!(rng.below(100_000)));
    }
    if rng.below(10) == 0 {
        e.properties
            .insert("Obj".into(), serde_json::json!({"Name": "timeout"}));
    }
    if rng.below(3) == 0 {
        // Long enough that what follows may be cut at the 16 KiB rendering limit.
        let n = match rng.below(4) {
            0 => 100,
            1 => 20_000,
            _ => 15_300 + rng.below(1_100) as usize,
        };
        e.properties.insert("Long".into(), "y".repeat(n).into());
    }
    e
}

#[test]
fn text_searches_across_template_pieces_and_hole_values_equal_rendering() {
    let mut rng = Rng(0x7e57);
    let events: Vec<Event> = (0..3000).map(|i| pieces_and_holes(&mut rng, i)).collect();
    let needles = [
        "timeout", "meout", "e5", "1.5", "-1", "x-15", "true", "kelvin", "i", "ut", "yt", "yyyt",
        "yout", ".0", "0 ", "ti",
    ];
    let total_matches = text_searches_equal_evaluation(&events, 1000, &needles);
    assert!(total_matches > 1000, "{total_matches}");
}

/// Stores `events` in blocks of 128 (flushed every `flush_events`), then checks that a
/// search for each needle (with and without `ci`) counts what evaluation finds; returns the
/// matches in all.
fn text_searches_equal_evaluation(events: &[Event], flush_events: usize, needles: &[&str]) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        StoreOptions {
            flush_events,
            block_events: 128,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    for chunk in events.chunks(500) {
        store.append_blocking(chunk.to_vec()).unwrap();
    }
    store.flush(std::time::Duration::from_secs(30)).unwrap();
    let stored = all_events(&store);
    let mut total_matches = 0;
    for needle in needles {
        for ci in [" ci", ""] {
            let q = format!(
                "select count(*) from stream where @Message like '%{needle}%'{ci} \
                 or @Exception like '%{needle}%'{ci}"
            );
            let (counted, decided, _) = by_counting(&store, &q);
            let want = by_evaluating(&stored, &q);
            assert_eq!(counted, want, "{q}");
            assert!(decided > 0, "{q}");
            total_matches += want["Rows"][0][0].as_u64().unwrap_or(0);
        }
    }
    total_matches
}

/// Events like real logs: each property keeps one type, so blocks' headers and substring
/// filters decide templates for whole blocks (pieces that contain the text, isolated holes
/// whose columns cannot hold it), next to the cases they must leave to row-by-row tests.
fn typed_templates(rng: &mut Rng, i: u64) -> Event {
    fn pick<'a>(rng: &mut Rng, from: &[&'a str]) -> &'a str {
        from[rng.below(from.len() as u64) as usize]
    }
    let mut e = Event {
        timestamp: Timestamp::from_ticks(BASE + i as i64 * 1_000_000),
        ..Event::default()
    };
    let p = &mut e.properties;
    // Constant within a block of 128 events, different between blocks.
    p.insert(
        "Zone".into(),
        ["eu", "timeout-zone"][(i / 128 % 2) as usize].into(),
    );
    let template = match rng.below(9) {
        0 => {
            p.insert(
                "Service".into(),
                pick(rng, &["orders", "payments", "timeouts-api", "Billing"]).into(),
            );
            p.insert(
                "Reason".into(),
                pick(rng, &["connection TIMEOUT", "refused", "time out", "ok"]).into(),
            );
            "Call {Service} failed: {Reason}"
        }
        1 => {
            // The hole's text as written contains the word when the property is missing.
            if rng.below(3) != 0 {
                p.insert("Timeout".into(), serde_json::json!(30));
            }
            p.insert(
                "Elapsed".into(),
                serde_json::json!(rng.below(5000) as f64 / 100.0),
            );
            "{Timeout} after {Elapsed} ms"
        }
        2 => {
            // A piece that ends in the start of the word: the hole is not isolated.
            p.insert(
                "Rest".into(),
                pick(rng, &["meout", "x", "me", "MEOUT"]).into(),
            );
            "Wait ti{Rest} done"
        }
        3 => {
            p.insert(
                "Job".into(),
                pick(rng, &["sync", "timeout-sweeper", "mail"]).into(),
            );
            p.insert("Elapsed".into(), serde_json::json!(rng.below(900)));
            // Padding is part of the rendering: "  sync" is found only with it.
            "Job:{Job,12}."
        }
        4 => {
            p.insert(
                "Path".into(),
                format!("/api/x/{}", rng.below(10_000)).into(),
            );
            if rng.below(4) == 0 {
                p.insert("Query".into(), "?wait=timeout".into());
            }
            "Request {Path}{Query}"
        }
        5 => {
            p.insert("Host".into(), format!("db-{}", rng.below(50)).into());
            "Connection timeout to {Host}"
        }
        6 => {
            // Long enough that the piece after it may be cut at the rendering limit.
            let n = [10, 16_370, 16_390][rng.below(3) as usize];
            p.insert("Long".into(), "y".repeat(n).into());
            "{Long} then timeout"
        }
        7 => "Zone {Zone} is up",
        _ => {
            p.insert("Count".into(), serde_json::json!(rng.below(100)));
            "Swept {Count} items in {Zone}"
        }
    };
    e.message_template = Some(template.into());
    if rng.below(40) == 0 {
        e.exception = Some(
            pick(
                rng,
                &[
                    "System.TimeoutException: timed out\n   at Db.Open()",
                    "System.IO.IOException: broken pipe\n   at Net.Send()",
                ],
            )
            .into(),
        );
    }
    e
}

#[test]
fn block_verdicts_from_headers_and_filters_equal_rendering() {
    let mut rng = Rng(0xb10c);
    let events: Vec<Event> = (0..4096).map(|i| typed_templates(&mut rng, i)).collect();
    let needles = [
        "timeout", "TIMEOUT", "time", "meout", "out", "api", "zone", "eu", "broken", "xyz", "ti",
        "é", "  sync",
    ];
    let total_matches = text_searches_equal_evaluation(&events, 1024, &needles);
    assert!(total_matches > 5000, "{total_matches}");
}
