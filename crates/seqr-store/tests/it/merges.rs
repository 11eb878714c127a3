//! Merges: parts of a day and tier become one part of the next tier, every event kept exactly
//! once and in order; power loss at any point of a merge leaves the old parts or the new ones.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use seqr_store::dir::{FaultyDir, MemDir};
use seqr_store::{Store, StoreOptions};

use crate::common::*;

fn options(background: bool) -> StoreOptions {
    StoreOptions {
        flush_events: 10,
        block_events: 4,
        merge_parts: 3,
        background_merges: background,
        ..StoreOptions::default()
    }
}

/// Ingests `batches` batches of 10 events (one flush each), spread over two days.
fn ingest(store: &Store, batches: u64) -> Vec<u64> {
    let day = 864_000_000_000i64;
    let mut ns = Vec::new();
    for b in 0..batches {
        let batch: Vec<u64> = (b * 10..b * 10 + 10).collect();
        // Out of order within and across batches, on two days.
        let events = batch
            .iter()
            .map(|&n| {
                ev(
                    n,
                    BASE + (n as i64 % 2) * day + ((n * 7919) % 500) as i64 * 1000,
                )
            })
            .collect();
        store.append_blocking(events).unwrap();
        store.flush(Duration::from_secs(30)).unwrap();
        ns.extend(batch);
    }
    ns
}

#[test]
fn merged_parts_hold_every_event_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options(false)).unwrap();
    let ns = ingest(&store, 9);
    let before = all(&store);
    let parts_before = store.stats().parts;
    assert_eq!(parts_before, 18, "one part per day per flush");
    let merges = store.merge().unwrap();
    // 9 tier-0 parts per day become 3 tier-1 parts, which become one tier-2 part.
    assert_eq!(merges, 8);
    assert_eq!(store.stats().parts, 2);
    assert_eq!(store.merge().unwrap(), 0, "nothing more is due");
    let after = all(&store);
    assert_eq!(after, before);
    assert_eq!(after.len(), ns.len());
    // The same after a restart, and searches still skip by their predicates.
    drop(store);
    let store = Store::open(dir.path(), options(false)).unwrap();
    assert_eq!(all(&store), before);
    assert_eq!(store.stats().parts, 2);
    let usage = store.usage();
    assert_eq!(usage.len(), 2);
    assert!(usage.iter().all(|d| d.parts == 1 && d.events == 45));
}

#[test]
fn the_background_merger_merges_as_parts_accumulate() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options(true)).unwrap();
    let ns = ingest(&store, 9);
    // Merging starts once ingestion has been quiet for a few seconds.
    for _ in 0..3000 {
        if store.stats().parts <= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(store.stats().parts <= 2, "{:?}", store.stats());
    assert_eq!(all(&store).len(), ns.len());
    store.shutdown().unwrap();
}

fn contents(dir: MemDir) -> BTreeMap<u64, usize> {
    let store = Store::open_dir(Arc::new(dir), options(false))
        .unwrap_or_else(|e| panic!("reopen after power loss failed: {e}"));
    n_counts(&store)
}

#[test]
fn power_loss_at_every_operation_of_a_merge_loses_and_invents_nothing() {
    // Set up parts, then crash at each operation of the merges that follow.
    let setup = || {
        let dir = FaultyDir::new();
        let store = Store::open_dir(Arc::new(dir.clone()), options(false)).unwrap();
        for b in 0..3u64 {
            let events = (b * 10..b * 10 + 10)
                .map(|n| ev(n, BASE + ((n * 7919) % 500) as i64 * 1000))
                .collect();
            store.append_blocking(events).unwrap();
            store.flush(Duration::from_secs(30)).unwrap();
        }
        (dir, store)
    };
    let (clean, store) = setup();
    let start = clean.ops();
    assert_eq!(store.merge().unwrap(), 1);
    let end = clean.ops();
    drop(store);
    assert!(end > start + 5, "a merge takes several operations");
    for k in start..=end + 2 {
        let (dir, store) = setup();
        dir.crash_at(k);
        let _ = store.merge();
        drop(store);
        for keep_unsynced in [false, true] {
            let seen = contents(dir.power_loss_keeping(keep_unsynced));
            assert_eq!(seen.len(), 30, "crash at op {k}: {seen:?}");
            assert!(
                seen.values().all(|&c| c == 1),
                "crash at op {k}: an event twice: {seen:?}"
            );
        }
    }
}
