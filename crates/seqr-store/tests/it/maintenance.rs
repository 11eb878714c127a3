//! Deleting events (retention by age, deletes by filter) and storage use by day.

use std::collections::BTreeSet;

use seqr_store::{DeleteRequest, Store, StoreOptions, Timestamp};

use crate::common::*;

const DAY: i64 = 864_000_000_000;

fn store(dir: &std::path::Path) -> Store {
    Store::open(
        dir,
        StoreOptions {
            flush_events: 50,
            block_events: 16,
            ..StoreOptions::default()
        },
    )
    .unwrap()
}

fn ns(store: &Store) -> BTreeSet<u64> {
    all(store).into_iter().map(|(_, n)| n).collect()
}

#[test]
fn retention_drops_old_days_and_cuts_the_boundary_day_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    // 4 days x 60 events, an hour apart within each day; the last 30 stay in the memtable.
    let midnight = BASE - BASE % DAY;
    let at = |n: u64| midnight + (n / 60) as i64 * DAY + (n % 60) as i64 * (DAY / 100);
    for chunk in (0..240u64).collect::<Vec<_>>().chunks(30) {
        s.append_blocking(chunk.iter().map(|&n| ev(n, at(n))).collect())
            .unwrap();
    }
    s.flush(std::time::Duration::from_secs(10)).unwrap();
    let usage = s.usage();
    assert_eq!(usage.len(), 4, "{usage:?}");
    assert!(usage.iter().all(|u| u.events == 60), "{usage:?}");
    assert_eq!(usage[0].day.ticks(), midnight);
    // Keep from the middle of day 2 (event 150) on.
    let cutoff = Timestamp::from_ticks(at(150));
    let r = s
        .delete(&DeleteRequest {
            to: Some(cutoff),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.events, 150, "{r:?}");
    assert!(r.parts_dropped >= 2 && r.parts_rewritten >= 1, "{r:?}");
    assert_eq!(ns(&s), (150..240).collect());
    assert_eq!(s.stats().events, 90);
    let usage = s.usage();
    assert_eq!(usage.len(), 2, "{usage:?}");
    assert_eq!(usage.iter().map(|u| u.events).sum::<u64>(), 90);
    drop(s);
    // Nothing comes back after reopening (the WAL held none of the deleted events).
    let s = store(dir.path());
    assert_eq!(ns(&s), (150..240).collect());
    assert_eq!(s.stats().events, 90);
    // Partitions of dropped days are gone from the directory.
    let partitions = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_str()
                .unwrap()
                .starts_with("p-")
        })
        .count();
    assert_eq!(partitions, 2);
}

#[test]
fn filtered_delete_removes_only_matches_including_unflushed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    // 210 events with memtables frozen at 50: the last 10 stay in the memtable (200 would
    // freeze the last one and race its flush).
    for chunk in (0..210u64).collect::<Vec<_>>().chunks(25) {
        s.append_blocking(chunk.iter().map(|&n| ev(n, BASE + n as i64)).collect())
            .unwrap();
    }
    // The newest events are still in the memtable.
    assert!(s.stats().memtable_events > 0);
    let f = seqr_query::Filter::parse("N % 3 = 0").unwrap();
    let matches = |e: &seqr_store::StoredEvent| f.matches(e, 0);
    let predicates = seqr_query::pushdown::predicates(&f.expr);
    let r = s
        .delete(&DeleteRequest {
            filter: Some(&matches),
            predicates: &predicates,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.events, 70, "{r:?}");
    let want: BTreeSet<u64> = (0..210).filter(|n| n % 3 != 0).collect();
    assert_eq!(ns(&s), want);
    assert_eq!(s.stats().memtable_events, 0);
    // Appends continue; a crash (no shutdown) and reopen bring nothing back.
    s.append_blocking(vec![ev(300, BASE + 300)]).unwrap();
    drop(s);
    let s = store(dir.path());
    let mut want = want;
    want.insert(300);
    assert_eq!(ns(&s), want);
    // Deleting nothing rewrites nothing.
    let none = seqr_query::Filter::parse("N = 100000").unwrap();
    let m = |e: &seqr_store::StoredEvent| none.matches(e, 0);
    let p = seqr_query::pushdown::predicates(&none.expr);
    let r = s
        .delete(&DeleteRequest {
            filter: Some(&m),
            predicates: &p,
            ..Default::default()
        })
        .unwrap();
    assert_eq!((r.events, r.parts_rewritten, r.parts_dropped), (0, 0, 0));
}
