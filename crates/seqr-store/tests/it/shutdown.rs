//! Graceful shutdown writes the memtables to parts; a failed flush leaves the WAL.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use seqr_store::{Store, StoreOptions};

use crate::common::*;

/// WAL files, their bytes, and part files (in the day partitions).
fn files(dir: &Path) -> (usize, u64, usize) {
    let (mut wal, mut wal_bytes, mut parts) = (0, 0, 0);
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        if name.ends_with(".log") {
            wal += 1;
            wal_bytes += e.metadata().unwrap().len();
        } else if name.starts_with("p-") && e.path().is_dir() {
            parts += fs::read_dir(e.path())
                .unwrap()
                .filter(|f| {
                    f.as_ref()
                        .unwrap()
                        .path()
                        .extension()
                        .is_some_and(|x| x == "part")
                })
                .count();
        }
    }
    (wal, wal_bytes, parts)
}

fn assert_each_once(store: &seqr_store::Store, n: u64) {
    let got: Vec<u64> = all(store).iter().map(|x| x.1).collect();
    assert_eq!(got.len() as u64, n, "event count");
    let set: BTreeSet<u64> = got.into_iter().collect();
    assert_eq!(set, (0..n).collect::<BTreeSet<u64>>());
}

#[test]
fn shutdown_flushes_memtables_and_reopen_replays_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // flush_events 40: some memtables are frozen (and maybe flushing) when shutdown starts.
    let store = small(dir.path(), 40);
    let mut n = 0;
    for batch in [1u64, 17, 30, 5, 60, 3, 9] {
        store
            .append_blocking(
                (n..n + batch)
                    .map(|i| ev(i, BASE + (i as i64 % 13)))
                    .collect(),
            )
            .unwrap();
        n += batch;
    }
    store.shutdown().unwrap();
    let st = store.stats();
    assert_eq!(st.memtable_events, 0, "{st:?}");
    assert_eq!(st.flush_error, None);
    // Only an empty WAL file (its header) is left; the events are in parts.
    let (wal, wal_bytes, segs) = files(dir.path());
    assert_eq!((wal, wal_bytes), (1, 28));
    assert!(segs >= 1);
    assert_eq!(st.wal_bytes, 28);
    drop(store);

    let store = small(dir.path(), 40);
    let r = store.open_report();
    assert_eq!((r.replayed_events, r.truncated_tail_bytes), (0, 0), "{r:?}");
    assert_each_once(&store, n);
    // Appends continue; a second clean stop and reopen keep everything once.
    store
        .append_blocking(vec![ev(n, BASE), ev(n + 1, BASE + 99)])
        .unwrap();
    store.shutdown().unwrap();
    drop(store);
    let store = small(dir.path(), 40);
    assert_eq!(store.open_report().replayed_events, 0);
    assert_each_once(&store, n + 2);
}

#[test]
fn shutdown_of_an_empty_store_and_drop_without_shutdown_keep_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.shutdown().unwrap();
    drop(store);
    assert_eq!(files(dir.path()), (1, 28, 0));

    // Dropping the last handle is not a graceful stop: the WAL is replayed.
    let store = open(dir.path());
    store
        .append_blocking(vec![ev(0, BASE), ev(1, BASE)])
        .unwrap();
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.open_report().replayed_events, 2);
    assert_each_once(&store, 2);
}

#[test]
fn a_failed_shutdown_flush_leaves_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    store
        .append_blocking((0..50).map(|i| ev(i, BASE + i as i64)).collect())
        .unwrap();
    // The part cannot be created: its day partition's name is taken by a file.
    let day = seqr_store::Timestamp::from_ticks(BASE).to_iso();
    let blocker = dir.path().join(format!("p-{}", day[..10].replace('-', "")));
    fs::write(&blocker, b"in the way").unwrap();
    store.shutdown().unwrap();
    let st = store.stats();
    assert!(st.flush_error.is_some(), "{st:?}");
    assert_eq!(st.memtable_events, 50);
    drop(store);
    let (wal, wal_bytes, segs) = files(dir.path());
    assert_eq!((wal, segs), (2, 0));
    assert!(wal_bytes > 2 * 28);

    fs::remove_file(&blocker).unwrap();
    let store = open(dir.path());
    assert_eq!(store.open_report().replayed_events, 50);
    assert_each_once(&store, 50);
}

/// Polls `cond` for up to ten seconds.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_pause_in_ingestion_flushes_a_big_enough_memtable() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        idle_flush: Some(std::time::Duration::from_millis(200)),
        idle_flush_events: 30,
        background_merges: false,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), options.clone()).unwrap();
    store
        .append_blocking((0..40).map(|i| ev(i, BASE + i as i64)).collect())
        .unwrap();
    eventually("the idle flush", || {
        let st = store.stats();
        st.memtable_events == 0 && st.parts == 1
    });
    // Below the threshold the events stay in memory, however long the pause.
    store
        .append_blocking((40..50).map(|i| ev(i, BASE + i as i64)).collect())
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    let st = store.stats();
    assert_eq!((st.memtable_events, st.parts), (10, 1), "{st:?}");
    assert_each_once(&store, 50);
    // A crash now: the part holds the first 40, the WAL the last 10, each comes back once.
    drop(store);
    let store = Store::open(dir.path(), options).unwrap();
    assert_eq!(store.open_report().replayed_events, 10);
    assert_each_once(&store, 50);
}
