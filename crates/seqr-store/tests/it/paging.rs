//! The paging contract against a reference model, over memtable, parts and a mix.

use seqr_store::{EventId, SearchRequest, SearchStatus, Store, StoredEvent, Timestamp};

use crate::common::*;

/// The model: all ids sorted newest first, with N.
fn model_range(all: &[(EventId, u64)], req: &SearchRequest<'_>) -> Vec<(EventId, u64)> {
    all.iter()
        .copied()
        .filter(|(id, _)| {
            req.after_id.is_none_or(|a| *id < a)
                && req.start_at_id.is_none_or(|s| *id <= s)
                && req.from.is_none_or(|f| id.ticks >= f.ticks())
                && req.to.is_none_or(|t| id.ticks < t.ticks())
        })
        .collect()
}

fn keep(n: u64) -> bool {
    !n.is_multiple_of(3)
}

fn filter_fn(e: &StoredEvent) -> bool {
    keep(n_of(&e.event))
}

/// Checks one request against the model, then pages to the end and checks the union.
fn check(store: &Store, all: &[(EventId, u64)], rng: &mut Rng) {
    let pick = |rng: &mut Rng| all[rng.below(all.len() as u64) as usize].0;
    let ts = |rng: &mut Rng| Timestamp::from_ticks(BASE + rng.below(60) as i64);
    let filtered = rng.below(2) == 0;
    let mut req = SearchRequest {
        count: 1 + rng.below(40) as usize,
        after_id: (rng.below(3) == 0).then(|| pick(rng)),
        start_at_id: (rng.below(4) == 0).then(|| pick(rng)),
        from: (rng.below(3) == 0).then(|| ts(rng)),
        to: (rng.below(3) == 0).then(|| ts(rng)),
        scan_limit: (rng.below(2) == 0).then(|| 1 + rng.below(30) as usize),
        deadline: None,
        filter: None,
        predicates: &[],
    };
    if filtered {
        req.filter = Some(&filter_fn);
    }
    let range = model_range(all, &req);
    let wanted: Vec<(EventId, u64)> = range
        .iter()
        .copied()
        .filter(|(_, n)| !filtered || keep(*n))
        .collect();

    // One page: exact status and content.
    let r = store.search(&req).unwrap();
    let got: Vec<(EventId, u64)> = r.events.iter().map(|e| (e.id, n_of(&e.event))).collect();
    let limit = req.scan_limit.unwrap_or(usize::MAX);
    // Simulate: walk the range, count examined and matches.
    let mut exp = Vec::new();
    let mut status = SearchStatus::Complete;
    let mut last = None;
    for (k, &(id, n)) in range.iter().enumerate() {
        last = Some(id);
        if !filtered || keep(n) {
            exp.push((id, n));
            if exp.len() == req.count {
                status = SearchStatus::Full;
                break;
            }
        }
        if k + 1 == range.len() {
            break;
        }
        if k + 1 >= limit {
            status = SearchStatus::Partial;
            break;
        }
    }
    assert_eq!(
        got, exp,
        "request count={} after={:?} start={:?} from={:?} to={:?} limit={:?}",
        req.count, req.after_id, req.start_at_id, req.from, req.to, req.scan_limit
    );
    assert_eq!(r.status, status);
    assert_eq!(r.last_read, last);

    // Paging to the end yields the whole filtered range, no gaps or repeats.
    let mut paged = got;
    let mut r = r;
    let mut guard = 0;
    while r.status != SearchStatus::Complete {
        req.after_id = r.last_read;
        r = store.search(&req).unwrap();
        paged.extend(r.events.iter().map(|e| (e.id, n_of(&e.event))));
        guard += 1;
        assert!(guard < 10_000);
    }
    assert_eq!(paged, wanted);
}

fn populate(store: &Store, rng: &mut Rng, n: u64) -> Vec<(EventId, u64)> {
    let mut all = Vec::new();
    let mut k = 0;
    while k < n {
        let batch = (1 + rng.below(20)).min(n - k);
        // Out-of-order timestamps with many ties.
        let events: Vec<_> = (k..k + batch)
            .map(|i| ev(i, BASE + rng.below(60) as i64))
            .collect();
        let ids = store.append_blocking(events).unwrap();
        all.extend(ids.into_iter().zip(k..k + batch));
        k += batch;
    }
    all.sort_by_key(|x| std::cmp::Reverse(x.0));
    all
}

#[test]
fn paging_contract_memtable() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut rng = Rng(0x5eed_0001);
    let all = populate(&store, &mut rng, 400);
    assert_eq!(crate::common::all(&store), all);
    for _ in 0..300 {
        check(&store, &all, &mut rng);
    }
}

#[test]
fn paging_contract_parts_and_memtable() {
    let dir = tempfile::tempdir().unwrap();
    let store = small(dir.path(), 90);
    let mut rng = Rng(0x5eed_0002);
    let all = populate(&store, &mut rng, 400);
    wait_flushed(&store, 4);
    let stats = store.stats();
    assert!(stats.memtable_events < 400, "{stats:?}");
    assert_eq!(stats.events, 400);
    assert_eq!(crate::common::all(&store), all);
    for _ in 0..300 {
        check(&store, &all, &mut rng);
    }
    // And after reopening: parts + replayed WAL.
    drop(store);
    let store = small(dir.path(), 90);
    assert_eq!(crate::common::all(&store), all);
    for _ in 0..100 {
        check(&store, &all, &mut rng);
    }
}

#[test]
fn edge_cases() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let empty = store
        .search(&SearchRequest {
            count: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        (empty.status, empty.last_read, empty.events.len()),
        (SearchStatus::Complete, None, 0)
    );
    let ids = store
        .append_blocking((0..5).map(|i| ev(i, BASE)).collect())
        .unwrap();
    // Ties on the timestamp are ordered by arrival.
    let r = store
        .search(&SearchRequest {
            count: 5,
            ..Default::default()
        })
        .unwrap();
    let got: Vec<_> = r.events.iter().map(|e| e.id).collect();
    let mut want = ids.clone();
    want.reverse();
    assert_eq!(got, want);
    assert_eq!(r.status, SearchStatus::Full);
    // A deadline already passed still examines one event (progress).
    let r = store
        .search(&SearchRequest {
            count: 5,
            deadline: Some(std::time::Instant::now()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.status, SearchStatus::Partial);
    assert_eq!(r.last_read, Some(ids[4]));
    assert_eq!(r.events.len(), 1);
    // from == to is empty.
    let r = store
        .search(&SearchRequest {
            count: 5,
            from: Some(Timestamp::from_ticks(BASE)),
            to: Some(Timestamp::from_ticks(BASE)),
            ..Default::default()
        })
        .unwrap();
    assert_eq!((r.status, r.events.len()), (SearchStatus::Complete, 0));
    // A filter that matches nothing with a scan limit: Partial pages of zero events.
    let none = |_: &StoredEvent| false;
    let r = store
        .search(&SearchRequest {
            count: 5,
            scan_limit: Some(2),
            filter: Some(&none),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        (r.status, r.events.len(), r.last_read),
        (SearchStatus::Partial, 0, Some(ids[3]))
    );
}
