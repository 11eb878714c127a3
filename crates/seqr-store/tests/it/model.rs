//! Model test: random sequences of operations (ingest, flush, delete, merge, restart, search,
//! count, get) applied both to a real `Store` on disk and to a trivial in-memory model (a
//! `BTreeMap<EventId, Event>`), checking after every read that the store answers exactly what
//! the model does. Small options make flushes into parts frequent, and merges run where the
//! operations place them, so the memtable, WAL replay, parts, rewrites by deletes and merged
//! parts are all exercised together.
//!
//! A failure names the seed and the operation, and prints the operations that led to it.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::{Duration, Instant};

use seqr_query::Variables;
use seqr_query::query::{Flow, Plan, QueryOptions};
use seqr_store::{
    CountRequest, DeleteRequest, Event, EventId, SearchRequest, SearchStatus, Store, StoreOptions,
    StoredEvent, Timestamp,
};

use crate::common::{BASE, Rng, varied_status_and_path};

const SECOND: i64 = 10_000_000;
const HOUR: i64 = 3600 * SECOND;
const DAY: i64 = 24 * HOUR;
/// Midnight UTC of the day `BASE` falls in; events spread over this day and the next two.
const DAY0: i64 = BASE - BASE.rem_euclid(DAY);
const SPAN: i64 = 3 * DAY;

/// Timestamps many events share, so that arrival order decides their order.
const HOT: [i64; 3] = [
    DAY0 + 5 * HOUR,
    DAY0 + DAY + 12 * HOUR + 7,
    DAY0 + 2 * DAY + 23 * HOUR + 59 * 60 * SECOND,
];

const SEEDS: [u64; 6] = [1, 2, 3, 0x5eed, 0xdead_beef, 0x1234_5678_9abc];
const OPS: usize = 150;

fn options() -> StoreOptions {
    StoreOptions {
        flush_events: 40,
        block_events: 8,
        // Merges run where the operations place them (see `Harness::merge`).
        merge_parts: 3,
        background_merges: false,
        ..StoreOptions::default()
    }
}

fn open(dir: &Path) -> Store {
    Store::open(dir, options()).unwrap()
}

fn trace(k: u64) -> String {
    format!("{k:032x}")
}

/// Filters for searches and deletes; each is used with its pushed-down predicates.
fn filters() -> Vec<String> {
    vec![
        "@Level = 'Error'".into(),
        "@Level in ['Error', 'Fatal']".into(),
        "@Level = 'error' ci".into(),
        "@Level = 'Information'".into(),
        "Status = 200".into(),
        "Status = '200'".into(),
        "Status = null".into(),
        "Path = '/api/cart'".into(),
        "StartsWith(Path, '/api/orders')".into(),
        "User.Name = 'alice'".into(),
        "Reason = 'timeout' and @Level = 'Warning'".into(),
        format!("@TraceId = '{}'", trace(3)),
        "@Message like '%timeout%' ci".into(),
        "@Exception like '%Timeout%'".into(),
        "Has(@Exception)".into(),
        "N % 5 = 0".into(),
        "Total > 10".into(),
        "Missing = 1".into(),
        "Path = '/api/cart' and Status = 404".into(),
    ]
}

/// Counting queries (every one must have a counting shape).
fn queries() -> Vec<String> {
    vec![
        "select count(*) from stream".into(),
        "select count(*) from stream where @Level in ['Error', 'Fatal']".into(),
        "select count(*) from stream group by @Level".into(),
        "select count(*) from stream where Status = 200 group by Path".into(),
        "select count(*) from stream group by time(1h)".into(),
        "select count(*) from stream group by time(1h), @Level".into(),
        "select count(*) from stream where @Level = 'error' ci group by time(1d)".into(),
        "select count(*) from stream where Path = '/api/cart' group by @Level, Status".into(),
        "select count(*) from stream where Status = null".into(),
        "select count(*) from stream where StartsWith(Path, '/api/orders') group by Status".into(),
        "select count(*) from stream where @Message like '%timeout%' ci or @Exception like '%timeout%' ci"
            .into(),
        format!(
            "select count(*) from stream where @TraceId = '{}'",
            trace(2)
        ),
        "select count(*) from stream where Reason = 'timeout' group by @Level".into(),
        "select count(*) from stream group by Status".into(),
    ]
}

fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.below(items.len() as u64) as usize]
}

fn ticks(rng: &mut Rng) -> i64 {
    match rng.below(10) {
        // At midnight or just before it: the edge of a day partition.
        0 => DAY0 + (1 + rng.below(2) as i64) * DAY - rng.below(2) as i64,
        1 | 2 => *pick(rng, &HOT),
        _ => DAY0 + rng.below(SPAN as u64) as i64,
    }
}

/// A varied event: levels (incl. none and odd spellings), templates with and without holes,
/// client-rendered messages, properties whose types change, nested objects, exceptions,
/// trace ids, resources; strings from small sets so equality filters hit.
fn varied(rng: &mut Rng, n: u64) -> Event {
    let mut e = Event {
        timestamp: Timestamp::from_ticks(ticks(rng)),
        ..Event::default()
    };
    e.level = match rng.below(7) {
        0 => None,
        1 => Some("Error".into()),
        2 => Some("error".into()),
        3 => Some("Fatal".into()),
        4 => Some("Warning".into()),
        5 => Some("Debug".into()),
        _ => Some("Information".into()),
    };
    match rng.below(7) {
        0 => e.message = Some(format!("client rendered {} timeout", rng.below(3))),
        1 => e.message_template = Some("Got {Status} from {User.Name}".into()),
        2 => e.message_template = Some("No holes here".into()),
        3 => e.message_template = Some("Request {Path} took {Elapsed} ms".into()),
        4 => {
            e.message_template = Some("Order {OrderId} for {Total:0.00} by {User}".into());
            if rng.below(2) == 0 {
                e.renderings = vec![format!("{}.00", rng.below(50))];
            }
        }
        5 => {}
        _ => e.message_template = Some("Waited {Reason}".into()),
    }
    if let Some(t) = &e.message_template {
        e.event_type = seqr_types::event_type::of_template(t);
    }
    e.properties.insert("N".into(), serde_json::json!(n));
    varied_status_and_path(rng, &mut e, 20);
    e.properties
        .insert("Elapsed".into(), serde_json::json!(rng.below(500)));
    match rng.below(4) {
        0 => {}
        1 => {
            let total: serde_json::Value =
                serde_json::from_str(&format!("{}.50", rng.below(30))).unwrap();
            e.properties.insert("Total".into(), total);
        }
        2 => {
            e.properties.insert("Total".into(), "12.50".into());
        }
        _ => {
            // Exact number text that must be kept.
            let big: serde_json::Value =
                serde_json::from_str("123456789012345678901234567890").unwrap();
            e.properties.insert("Total".into(), big);
        }
    }
    if rng.below(3) == 0 {
        e.properties.insert(
            "Reason".into(),
            ["timeout", "Timeout!", "slow"][rng.below(3) as usize].into(),
        );
    }
    if rng.below(3) == 0 {
        let name = ["alice", "bob", "timeout"][rng.below(3) as usize];
        e.properties.insert(
            "User".into(),
            serde_json::json!({"Name": name, "Tier": {"Level": rng.below(3), "Tags": ["a", "b"]}}),
        );
    }
    if rng.below(6) == 0 {
        e.properties
            .insert("Ok".into(), serde_json::json!(rng.below(2) == 0));
    }
    if rng.below(7) == 0 {
        e.exception = Some(
            [
                "System.TimeoutException: late\n   at X()",
                "System.Exception: other",
            ][rng.below(2) as usize]
                .into(),
        );
    }
    if rng.below(4) == 0 {
        e.trace_id = Some(trace(rng.below(5)));
        e.span_id = Some(format!("{:016x}", rng.below(100)));
    }
    if rng.below(10) == 0 {
        e.resource =
            Some(serde_json::from_str(r#"{"service":{"name":"shop","version":"1.2"}}"#).unwrap());
    }
    if rng.below(15) == 0 {
        e.extensions
            .insert("@custom".into(), serde_json::json!("kept"));
    }
    e
}

fn in_range(t: i64, from: Option<i64>, to: Option<i64>) -> bool {
    from.is_none_or(|f| t >= f) && to.is_none_or(|to| t < to)
}

fn show(t: Option<i64>) -> String {
    match t {
        None => "-".into(),
        Some(t) => {
            let d = t - DAY0;
            format!("d{}+{}s", d.div_euclid(DAY), d.rem_euclid(DAY) / SECOND)
        }
    }
}

/// Compares what the store returned with what the model holds, in order.
fn compare(got: &[StoredEvent], want: &[(EventId, &Event)]) -> Result<(), String> {
    let got_ids: Vec<EventId> = got.iter().map(|e| e.id).collect();
    let want_ids: Vec<EventId> = want.iter().map(|(id, _)| *id).collect();
    if got_ids != want_ids {
        let at = got_ids
            .iter()
            .zip(&want_ids)
            .position(|(a, b)| a != b)
            .unwrap_or(got_ids.len().min(want_ids.len()));
        let missing: Vec<_> = want_ids
            .iter()
            .filter(|id| !got_ids.contains(id))
            .take(5)
            .map(|id| id.to_string())
            .collect();
        let extra: Vec<_> = got_ids
            .iter()
            .filter(|id| !want_ids.contains(id))
            .take(5)
            .map(|id| id.to_string())
            .collect();
        return Err(format!(
            "ids differ: got {} events, want {}; first difference at position {at}: got {:?}, \
             want {:?}; missing (first 5): {missing:?}; extra (first 5): {extra:?}",
            got_ids.len(),
            want_ids.len(),
            got_ids.get(at).map(|id| id.to_string()),
            want_ids.get(at).map(|id| id.to_string()),
        ));
    }
    for (g, (id, w)) in got.iter().zip(want) {
        if &g.event != *w {
            return Err(format!(
                "event {id} differs:\n got  {:?}\n want {:?}",
                g.event, w
            ));
        }
        let (gp, wp) = (
            serde_json::to_string(&g.event.properties).unwrap(),
            serde_json::to_string(&w.properties).unwrap(),
        );
        if gp != wp {
            return Err(format!(
                "event {id}: property text or order differs:\n got  {gp}\n want {wp}"
            ));
        }
    }
    Ok(())
}

struct Harness {
    seed: u64,
    dir: tempfile::TempDir,
    store: Option<Store>,
    model: BTreeMap<EventId, Event>,
    /// Ids deleted since the start (a `get` of one must find nothing).
    deleted: Vec<EventId>,
    rng: Rng,
    next_n: u64,
    filters: Vec<String>,
    queries: Vec<String>,
}

impl Harness {
    fn new(seed: u64) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        Harness {
            seed,
            dir,
            store: Some(store),
            model: BTreeMap::new(),
            deleted: Vec::new(),
            // xorshift must not start at 0.
            rng: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
            next_n: 0,
            filters: filters(),
            queries: queries(),
        }
    }

    fn store(&self) -> &Store {
        self.store.as_ref().expect("store open")
    }

    /// A random `[from, to)` in ticks (either side may be open).
    fn range(&mut self) -> (Option<i64>, Option<i64>) {
        let rng = &mut self.rng;
        let point = |rng: &mut Rng| match rng.below(4) {
            // Day boundaries (as retention uses them).
            0 => Some(DAY0 + rng.below(4) as i64 * DAY),
            1 => Some(*pick(rng, &HOT) + rng.below(2) as i64),
            _ => Some(DAY0 - HOUR + rng.below((SPAN + 2 * HOUR) as u64) as i64),
        };
        match rng.below(4) {
            0 => (None, None),
            1 => (point(rng), None),
            2 => (None, point(rng)),
            _ => {
                let (a, b) = (point(rng), point(rng));
                if rng.below(8) == 0 {
                    (b.max(a), b.min(a)) // possibly empty
                } else {
                    (a.min(b), a.max(b))
                }
            }
        }
    }

    fn pick_filter(&mut self) -> Option<String> {
        if self.rng.below(3) == 0 {
            None
        } else {
            Some(pick(&mut self.rng, &self.filters).clone())
        }
    }

    fn check_stats(&self) -> Result<(), String> {
        let s = self.store().stats();
        if s.events != self.model.len() as u64 {
            return Err(format!(
                "stats().events = {}, model holds {}: {s:?}",
                s.events,
                self.model.len()
            ));
        }
        if s.poisoned.is_some() || s.flush_error.is_some() || s.quarantined != 0 {
            return Err(format!("store unhealthy: {s:?}"));
        }
        Ok(())
    }

    fn ingest(&mut self, desc: &mut String) -> Result<(), String> {
        let k = 1 + self.rng.below(30);
        let events: Vec<Event> = (0..k)
            .map(|_| {
                self.next_n += 1;
                varied(&mut self.rng, self.next_n)
            })
            .collect();
        *desc = format!(
            "ingest {k} events (N {}..={})",
            self.next_n - k + 1,
            self.next_n
        );
        let ids = self
            .store()
            .append_blocking(events.clone())
            .map_err(|e| format!("append failed: {e}"))?;
        if ids.len() != events.len() {
            return Err(format!("{} ids for {} events", ids.len(), events.len()));
        }
        for (id, e) in ids.into_iter().zip(events) {
            if id.ticks != e.timestamp.ticks() {
                return Err(format!(
                    "id {id} does not carry the timestamp {:?}",
                    e.timestamp
                ));
            }
            if self.model.insert(id, e).is_some() {
                return Err(format!("id {id} assigned twice"));
            }
        }
        Ok(())
    }

    fn flush(&mut self, desc: &mut String) -> Result<(), String> {
        *desc = "flush".into();
        self.store()
            .flush(Duration::from_secs(30))
            .map_err(|e| format!("flush failed: {e}"))?;
        let s = self.store().stats();
        if s.memtable_events != 0 {
            return Err(format!("events left in memtables after a flush: {s:?}"));
        }
        Ok(())
    }

    fn delete(&mut self, desc: &mut String) -> Result<(), String> {
        let filter = self.pick_filter();
        let (from, to) = match (&filter, self.rng.below(3)) {
            // Unfiltered deletes take a narrow window or cut a day (as retention does), so
            // not everything goes at once.
            (None, 0) => (None, Some(DAY0 + self.rng.below(2) as i64 * DAY)),
            (None, _) => {
                let a = DAY0 + self.rng.below(SPAN as u64) as i64;
                (Some(a), Some(a + self.rng.below(6 * HOUR as u64) as i64))
            }
            (Some(_), _) => self.range(),
        };
        *desc = format!(
            "delete [{}, {}) where {}",
            show(from),
            show(to),
            filter.as_deref().unwrap_or("-")
        );
        let parsed = filter
            .as_deref()
            .map(|f| seqr_query::Filter::parse(f).unwrap_or_else(|e| panic!("{f}: {e:?}")));
        let matches = |e: &StoredEvent| parsed.as_ref().is_none_or(|f| f.matches(e, 0));
        let predicates = parsed
            .as_ref()
            .map(|f| seqr_query::pushdown::predicates(&f.expr))
            .unwrap_or_default();
        let report = self
            .store()
            .delete(&DeleteRequest {
                from: from.map(Timestamp::from_ticks),
                to: to.map(Timestamp::from_ticks),
                filter: parsed.as_ref().map(|_| &matches as _),
                predicates: &predicates,
            })
            .map_err(|e| format!("delete failed: {e}"))?;
        let gone: Vec<EventId> = self
            .model
            .iter()
            .filter(|(id, e)| {
                in_range(id.ticks, from, to)
                    && matches(&StoredEvent {
                        id: **id,
                        event: (*e).clone(),
                    })
            })
            .map(|(id, _)| *id)
            .collect();
        for id in &gone {
            self.model.remove(id);
        }
        self.deleted.extend(&gone);
        if report.events != gone.len() as u64 {
            return Err(format!(
                "delete reports {} events removed, the model removed {}: {report:?}",
                report.events,
                gone.len()
            ));
        }
        desc.push_str(&format!(" -> {} removed", gone.len()));
        Ok(())
    }

    fn merge(&mut self, desc: &mut String) -> Result<(), String> {
        // Half the time the flusher may still be writing parts while the merges run; the
        // other half nothing else changes the parts meanwhile, so their count must drop.
        let settled = self.rng.below(2) == 0;
        *desc = "merge".into();
        if settled {
            self.store()
                .flush(Duration::from_secs(30))
                .map_err(|e| format!("flush failed: {e}"))?;
        }
        let before = self.store().stats().parts;
        let merges = self
            .store()
            .merge()
            .map_err(|e| format!("merge failed: {e}"))?;
        let after = self.store().stats().parts;
        *desc = format!(
            "merge{} -> {merges} merges, parts {before} -> {after}",
            if settled { " (flushed first)" } else { "" }
        );
        if settled {
            if merges > 0 && after >= before {
                return Err(format!("{merges} merges did not reduce the parts"));
            }
            let again = self
                .store()
                .merge()
                .map_err(|e| format!("merge failed: {e}"))?;
            if again != 0 {
                return Err(format!("{again} merges still due after merging"));
            }
        }
        Ok(())
    }

    fn restart(&mut self, desc: &mut String) -> Result<(), String> {
        let graceful = self.rng.below(2) == 0;
        *desc = format!("restart ({})", if graceful { "shutdown" } else { "drop" });
        let store = self.store.take().unwrap();
        if graceful {
            store
                .shutdown()
                .map_err(|e| format!("shutdown failed: {e}"))?;
        }
        drop(store);
        let store =
            Store::open(self.dir.path(), options()).map_err(|e| format!("reopen failed: {e}"))?;
        let report = store.open_report();
        self.store = Some(store);
        if !report.quarantined.is_empty() {
            return Err(format!("reopen quarantined files: {report:?}"));
        }
        Ok(())
    }

    fn search(&mut self, desc: &mut String) -> Result<(), String> {
        let filter = self.pick_filter();
        let page = *pick(&mut self.rng, &[1, 2, 3, 7, 8, 9, 25, 64, 1000]);
        let (from, to) = if self.rng.below(2) == 0 {
            (None, None)
        } else {
            self.range()
        };
        let start_at = if !self.model.is_empty() && self.rng.below(5) == 0 {
            let i = self.rng.below(self.model.len() as u64) as usize;
            self.model.keys().nth(i).copied()
        } else {
            None
        };
        let scan_limit = (self.rng.below(4) == 0).then(|| 20 + self.rng.below(100) as usize);
        *desc = format!(
            "search [{}, {}) where {} page {page} start_at {} scan_limit {scan_limit:?}",
            show(from),
            show(to),
            filter.as_deref().unwrap_or("-"),
            start_at.map_or("-".into(), |id| id.to_string()),
        );
        let parsed = filter
            .as_deref()
            .map(|f| seqr_query::Filter::parse(f).unwrap_or_else(|e| panic!("{f}: {e:?}")));
        let matches = |e: &StoredEvent| parsed.as_ref().is_none_or(|f| f.matches(e, 0));
        let predicates = parsed
            .as_ref()
            .map(|f| seqr_query::pushdown::predicates(&f.expr))
            .unwrap_or_default();

        let mut got = Vec::new();
        let mut after = None;
        let mut requests = 0;
        loop {
            requests += 1;
            if requests > 100_000 {
                return Err("paging does not end".into());
            }
            let r = self
                .store()
                .search(&SearchRequest {
                    count: page,
                    after_id: after,
                    start_at_id: start_at,
                    from: from.map(Timestamp::from_ticks),
                    to: to.map(Timestamp::from_ticks),
                    scan_limit,
                    filter: parsed.as_ref().map(|_| &matches as _),
                    predicates: &predicates,
                    ..SearchRequest::default()
                })
                .map_err(|e| format!("search failed: {e}"))?;
            if r.events.len() > page {
                return Err(format!("{} events for a page of {page}", r.events.len()));
            }
            if r.status == SearchStatus::Full
                && (r.events.len() != page || r.last_read != r.events.last().map(|e| e.id))
            {
                return Err(format!(
                    "a Full page of {} events (page {page}) with last_read {:?}",
                    r.events.len(),
                    r.last_read
                ));
            }
            got.extend(r.events);
            match r.status {
                SearchStatus::Complete => break,
                _ => match r.last_read {
                    Some(id) => after = Some(id),
                    None => return Err(format!("{:?} without last_read", r.status)),
                },
            }
        }
        let want: Vec<(EventId, &Event)> = self
            .model
            .iter()
            .rev()
            .filter(|(id, e)| {
                in_range(id.ticks, from, to)
                    && start_at.is_none_or(|s| **id <= s)
                    && matches(&StoredEvent {
                        id: **id,
                        event: (*e).clone(),
                    })
            })
            .map(|(id, e)| (*id, e))
            .collect();
        desc.push_str(&format!(" -> {} events in {requests} requests", want.len()));
        compare(&got, &want)
    }

    fn count(&mut self, desc: &mut String) -> Result<(), String> {
        let q = pick(&mut self.rng, &self.queries).clone();
        let (range_start, range_end) = match self.rng.below(3) {
            0 => {
                let (a, b) = self.range();
                (a.or(Some(DAY0 - HOUR)), b.or(Some(DAY0 + 4 * DAY)))
            }
            _ => (Some(DAY0 - HOUR), Some(DAY0 + 4 * DAY)),
        };
        *desc = format!("count [{}, {}) {q}", show(range_start), show(range_end));
        let options = QueryOptions {
            range_start,
            range_end,
            ..QueryOptions::default()
        };
        let plan =
            Plan::new(&q, &Variables::new(), &options).unwrap_or_else(|e| panic!("{q}: {e:?}"));
        let shape = plan
            .counting()
            .unwrap_or_else(|| panic!("{q} is not a counting query"));
        let (from, to) = plan.time_range();
        let mut exec = plan.start();
        let mut feed_error = None;
        let mut handed = Vec::new();
        let report = self
            .store()
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
                    handed.push(e.id);
                    if plan.accepts(&e) {
                        match exec.feed(&e) {
                            Ok(Flow::Continue) => {}
                            other => {
                                feed_error = Some(format!("feed: {other:?}"));
                                return ControlFlow::Break(());
                            }
                        }
                    }
                    ControlFlow::Continue(())
                },
            )
            .map_err(|e| format!("count failed: {e:?}"))?;
        if let Some(e) = feed_error {
            return Err(e);
        }
        let (decided, handed_over) = (report.decided, report.handed_over);
        for g in report.groups {
            exec.add_count(g.slice, g.keys, g.count)
                .map_err(|e| format!("add_count: {e:?}"))?;
        }
        let counted = serde_json::Value::Object(
            exec.finish()
                .map_err(|e| format!("finish: {e:?}"))?
                .to_json(),
        );

        let events: Vec<StoredEvent> = self
            .model
            .iter()
            .rev()
            .map(|(id, e)| StoredEvent {
                id: *id,
                event: e.clone(),
            })
            .collect();
        let want = serde_json::Value::Object(
            seqr_query::query::execute(&q, &Variables::new(), &options, &events)
                .map_err(|e| format!("evaluating: {e:?}"))?
                .to_json(),
        );
        if counted != want {
            return Err(format!(
                "counted (decided {decided}, handed over {handed_over}):\n got  {counted}\n want {want}"
            ));
        }
        let n_in = events
            .iter()
            .filter(|e| in_range(e.id.ticks, from, to))
            .count() as u64;
        // Every event in range is decided or handed over; rows of a block that straddles an
        // end of the range count as decided too, so only a range holding everything is exact.
        let everything = n_in == events.len() as u64;
        if decided + handed_over < n_in || (everything && decided + handed_over != n_in) {
            return Err(format!(
                "decided {decided} + handed over {handed_over} do not cover the {n_in} \
                 events in range (of {} stored)",
                events.len()
            ));
        }
        handed.sort();
        if handed.len() as u64 != handed_over || handed.windows(2).any(|w| w[0] == w[1]) {
            return Err(format!(
                "handed over {handed_over} events, {} distinct received",
                handed.len()
            ));
        }
        if let Some(id) = handed
            .iter()
            .find(|id| !in_range(id.ticks, from, to) || !self.model.contains_key(id))
        {
            return Err(format!("handed over {id}, not a stored event in range"));
        }
        desc.push_str(&format!(" -> {n_in} in range, {decided} decided"));
        Ok(())
    }

    fn get(&mut self, desc: &mut String) -> Result<(), String> {
        let deleted = !self.deleted.is_empty() && self.rng.below(3) == 0;
        let id = if deleted {
            *pick(&mut self.rng, &self.deleted)
        } else if !self.model.is_empty() {
            let i = self.rng.below(self.model.len() as u64) as usize;
            *self.model.keys().nth(i).unwrap()
        } else {
            EventId::first_at(Timestamp::from_ticks(DAY0))
        };
        *desc = format!("get {id}");
        let got = self
            .store()
            .get(id)
            .map_err(|e| format!("get failed: {e}"))?;
        let want = self.model.get(&id).map(|e| StoredEvent {
            id,
            event: e.clone(),
        });
        if got != want {
            return Err(format!("get {id}:\n got  {got:?}\n want {want:?}"));
        }
        Ok(())
    }

    fn step(&mut self, desc: &mut String) -> Result<(), String> {
        match self.rng.below(100) {
            0..30 => self.ingest(desc),
            30..37 => self.flush(desc),
            37..46 => self.delete(desc),
            46..51 => self.restart(desc),
            51..56 => self.merge(desc),
            56..80 => self.search(desc),
            80..94 => self.count(desc),
            _ => self.get(desc),
        }?;
        self.check_stats()
    }

    fn fail(&self, at: &str, desc: &str, err: &str, history: &[String]) -> ! {
        let from = history.len().saturating_sub(40);
        panic!(
            "model test failed: seed {:#x}, {at} ({desc}): {err}\nmodel holds {} events; \
             store {:?}\nlast operations:\n  {}",
            self.seed,
            self.model.len(),
            self.store.as_ref().map(|s| s.stats()),
            history[from..].join("\n  ")
        );
    }
}

fn run(seed: u64, ops: usize) {
    let mut h = Harness::new(seed);
    let mut history = Vec::new();
    for i in 0..ops {
        let mut desc = String::new();
        let r = h.step(&mut desc);
        history.push(format!("#{i} {desc}"));
        if let Err(e) = r {
            h.fail(&format!("op #{i}"), &desc, &e, &history);
        }
    }
    // Finally: everything, before and after a crash-style restart.
    let check_all = |h: &mut Harness, at: &str, history: &[String]| {
        let r = h
            .store()
            .search(&SearchRequest {
                count: usize::MAX,
                ..SearchRequest::default()
            })
            .map_err(|e| format!("search failed: {e}"))
            .and_then(|got| {
                let want: Vec<(EventId, &Event)> =
                    h.model.iter().rev().map(|(i, e)| (*i, e)).collect();
                compare(&got.events, &want)
            })
            .and_then(|()| h.check_stats());
        if let Err(e) = r {
            h.fail(at, "search everything", &e, history);
        }
    };
    check_all(&mut h, "final search", &history);
    drop(h.store.take());
    h.store = Some(open(h.dir.path()));
    history.push("restart (drop)".into());
    check_all(&mut h, "final search after restart", &history);
}

/// Seeds and operations per seed; `SEQR_MODEL_SEEDS=1,2,0x5eed` and `SEQR_MODEL_OPS=1000`
/// override them for a longer run.
fn plan() -> (Vec<u64>, usize) {
    let parse = |t: &str| {
        let t = t.trim();
        match t.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => t.parse(),
        }
        .unwrap_or_else(|e| panic!("seed {t:?}: {e}"))
    };
    let seeds = std::env::var("SEQR_MODEL_SEEDS")
        .map(|v| v.split(',').map(parse).collect())
        .unwrap_or_else(|_| SEEDS.to_vec());
    let ops = std::env::var("SEQR_MODEL_OPS")
        .map(|v| v.parse().expect("SEQR_MODEL_OPS"))
        .unwrap_or(OPS);
    (seeds, ops)
}

#[test]
fn store_agrees_with_a_model_under_random_operations() {
    let started = Instant::now();
    let (seeds, ops) = plan();
    // The seeds run side by side (each on its own store); a failing one reports itself.
    let threads: Vec<_> = seeds
        .iter()
        .map(|&seed| {
            std::thread::Builder::new()
                .name(format!("model-{seed:#x}"))
                .spawn(move || run(seed, ops))
                .unwrap()
        })
        .collect();
    let mut failed = Vec::new();
    for (seed, t) in seeds.iter().zip(threads) {
        if t.join().is_err() {
            failed.push(format!("{seed:#x}"));
        }
    }
    assert!(failed.is_empty(), "seeds failed: {failed:?}");
    eprintln!(
        "model test: {} seeds x {ops} ops in {:?}",
        seeds.len(),
        started.elapsed()
    );
}
