use std::path::Path;

use seqr_store::{Event, EventId, SearchRequest, SearchStatus, Store, StoreOptions, Timestamp};

/// xorshift64*: deterministic, no dependencies.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub const BASE: i64 = 638_000_000_000_000_000;

/// A small event whose `N` property identifies it.
pub fn ev(n: u64, ticks: i64) -> Event {
    let mut e = Event {
        timestamp: Timestamp::from_ticks(ticks),
        message_template: Some("Event {N}".into()),
        ..Event::default()
    };
    e.properties.insert("N".into(), serde_json::Value::from(n));
    e
}

pub fn n_of(e: &Event) -> u64 {
    e.properties["N"].as_u64().unwrap()
}

pub fn open(dir: &Path) -> Store {
    Store::open(dir, StoreOptions::default()).unwrap()
}

pub fn small(dir: &Path, flush_events: usize) -> Store {
    Store::open(
        dir,
        StoreOptions {
            flush_events,
            block_events: 7,
            ..StoreOptions::default()
        },
    )
    .unwrap()
}

/// Every event in the store, newest first, by paging with a small page size.
pub fn all(store: &Store) -> Vec<(EventId, u64)> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let r = store
            .search(&SearchRequest {
                count: 50,
                after_id: after,
                ..SearchRequest::default()
            })
            .unwrap();
        out.extend(r.events.iter().map(|e| (e.id, n_of(&e.event))));
        if r.status == SearchStatus::Complete {
            return out;
        }
        after = r.last_read;
    }
}

/// Waits until the flusher has written every frozen memtable.
pub fn wait_flushed(store: &Store, parts: usize) {
    for _ in 0..2000 {
        if store.stats().parts >= parts {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("flush did not happen: {:?}", store.stats());
}

/// A varied event (nested properties, numbers that must keep their text, optional fields),
/// spread over three days: the same for every `i`, so stored fixtures can be checked.
pub fn rich(i: u64) -> Event {
    let day = 864_000_000_000i64;
    let mut e = ev(i, BASE + (i % 3) as i64 * day + i as i64 * 10_000);
    e.level = Some(["Information", "Error", "Warning", "debug"][i as usize % 4].into());
    e.message_template = Some("Order {OrderId} for {Total} by {User}".into());
    let props = format!(
        r#"{{"OrderId":"ORD-{i}","Total":{}.50,"User":{{"Name":"u{}","Tier":"Gold"}},"Tags":["a","b"],"Big":123456789012345678901234567890,"Ok":{},"Nothing":null}}"#,
        i * 3,
        i % 17,
        i.is_multiple_of(2)
    );
    let map: seqr_types::Properties = serde_json::from_str(&props).unwrap();
    for (k, v) in map {
        e.properties.insert(k, v);
    }
    if i.is_multiple_of(5) {
        e.exception = Some(format!("System.TimeoutException: {i}\n   at Shop.Run()"));
        e.trace_id = Some(format!("{:032x}", i * 977));
        e.span_id = Some(format!("{:016x}", i));
        e.resource = Some(serde_json::from_str(r#"{"service":{"name":"shop"}}"#).unwrap());
    }
    e
}

/// How many times each `N` occurs in the store, paging newest first (crash tests check
/// that every event is there exactly once).
pub fn n_counts(store: &Store) -> std::collections::BTreeMap<u64, usize> {
    let mut seen = std::collections::BTreeMap::new();
    let mut after = None;
    loop {
        let r = store
            .search(&SearchRequest {
                count: 1000,
                after_id: after,
                ..Default::default()
            })
            .unwrap();
        for e in &r.events {
            *seen.entry(n_of(&e.event)).or_insert(0) += 1;
        }
        if r.events.is_empty() {
            break;
        }
        after = r.last_read;
    }
    seen
}

/// `Status` of a type that varies from event to event (integer, decimal, string, object,
/// array, null, or none) and a `Path` among a few prefixes (`/api/orders/<below spread>`
/// among them), for tests that compare column answers with evaluation.
pub fn varied_status_and_path(rng: &mut Rng, e: &mut Event, spread: u64) {
    let status = match rng.below(8) {
        0 => serde_json::json!(200),
        1 => serde_json::json!(200.0),
        2 => serde_json::json!("200"),
        3 => serde_json::json!(404),
        4 => serde_json::json!({"Code": 200}),
        5 => serde_json::json!([200]),
        6 => serde_json::Value::Null,
        _ => serde_json::json!(500),
    };
    if rng.below(10) != 0 {
        e.properties.insert("Status".into(), status);
    }
    let path = match rng.below(5) {
        0 => format!("/api/orders/{}", rng.below(spread)),
        1 => "/api/orders".into(),
        2 => "/API/ORDERS/x".into(),
        3 => format!("/home/{}", rng.below(3)),
        _ => "/api/cart".into(),
    };
    e.properties.insert("Path".into(), path.into());
}
