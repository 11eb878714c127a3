//! Flushing to segments, reopening, and damaged segments.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use seqr_store::{ReadError, SearchRequest, Store, StoreOptions};

use crate::common::*;

fn seg_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    v.sort();
    v
}

#[test]
fn flush_reopen_no_duplicates_and_arrivals_increase() {
    let dir = tempfile::tempdir().unwrap();
    let store = small(dir.path(), 100);
    let mut max_arrival = 0;
    for round in 0..3u64 {
        for b in 0..10u64 {
            let base = round * 1000 + b * 25;
            let ids = store
                .append_blocking((base..base + 25).map(|n| ev(n, BASE - n as i64)).collect())
                .unwrap();
            for id in ids {
                assert!(id.arrival > max_arrival);
                max_arrival = id.arrival;
            }
        }
    }
    wait_flushed(&store, 7);
    // The WAL generations covered by segments are gone.
    let logs = fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "log")
        })
        .count();
    assert!(logs <= 2, "{logs} log files left");
    let mut before = all(&store);
    assert_eq!(before.len(), 750);
    drop(store);
    for round in 0..2u64 {
        let store = small(dir.path(), 100);
        let after = all(&store);
        assert!(after == before, "events differ after reopening");
        assert_eq!(
            after.iter().map(|x| x.0).collect::<HashSet<_>>().len(),
            750 + round as usize
        );
        let id = store
            .append_blocking(vec![ev(99_999 + round, BASE)])
            .unwrap()[0];
        before = all(&store);
        assert!(id.arrival > max_arrival);
        max_arrival = id.arrival;
        store.shutdown().unwrap();
        let s = store.stats();
        assert!(s.segments >= 7 && s.segment_bytes > 0 && s.bytes_on_disk >= s.segment_bytes);
    }
}

#[test]
fn corrupt_segment_is_quarantined_and_the_rest_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let store = small(dir.path(), 50);
    for b in 0..6u64 {
        store
            .append_blocking(
                (b * 50..b * 50 + 50)
                    .map(|n| ev(n, BASE + n as i64))
                    .collect(),
            )
            .unwrap();
    }
    wait_flushed(&store, 6);
    drop(store);
    let segs = seg_files(dir.path());
    assert_eq!(segs.len(), 6);
    let victim = &segs[2];
    let mut bytes = fs::read(victim).unwrap();
    bytes[30] ^= 0xff; // inside the first block
    fs::write(victim, &bytes).unwrap();

    // Without the open-time scan the damage is found when the block is read.
    let lazy = Store::open(
        dir.path(),
        StoreOptions {
            verify_segments_on_open: false,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let err = lazy
        .search(&SearchRequest {
            count: 1000,
            ..Default::default()
        })
        .unwrap_err();
    assert!(matches!(err, ReadError::Corrupt { .. }), "{err}");
    drop(lazy);

    let store = small(dir.path(), 50);
    let report = store.open_report();
    assert_eq!(report.quarantined.len(), 1, "{report:?}");
    assert!(
        report.quarantined[0]
            .file
            .starts_with(dir.path().join("quarantine"))
    );
    assert!(report.quarantined[0].detail.contains("checksum"));
    assert_eq!(store.stats().quarantined, 1);
    let left = all(&store);
    assert_eq!(left.len(), 250);
    assert!(left.iter().all(|(_, n)| !(100..150).contains(n)));
    // New appends still work and get fresh arrivals.
    store.append_blocking(vec![ev(1000, BASE)]).unwrap();
    drop(store);

    // Footer damage is detected too.
    let segs = seg_files(dir.path());
    let victim = &segs[0];
    let mut bytes = fs::read(victim).unwrap();
    let n = bytes.len();
    bytes[n - 20] ^= 1;
    fs::write(victim, &bytes).unwrap();
    let store = small(dir.path(), 50);
    assert_eq!(store.open_report().quarantined.len(), 1);
    assert_eq!(all(&store).len(), 201);
}

/// Writes the format-1 store fixture: `SEQR_FIXTURE_DIR=dir cargo test -p seqr-store --test it
/// make_v1_fixture -- --ignored` (with the format-1 code).
#[test]
#[ignore]
fn make_v1_fixture() {
    let dir = std::path::PathBuf::from(std::env::var("SEQR_FIXTURE_DIR").unwrap());
    let store = Store::open(
        &dir,
        StoreOptions {
            flush_events: 100,
            block_events: 7,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    for chunk in (0..250u64).collect::<Vec<_>>().chunks(10) {
        store
            .append_blocking(chunk.iter().map(|&i| crate::common::rich(i)).collect())
            .unwrap();
    }
    store.shutdown().unwrap();
    drop(store);
    // Twenty more that stay in the WAL (no shutdown: as after a crash).
    let store = Store::open(&dir, StoreOptions::default()).unwrap();
    store
        .append_blocking((250..270).map(crate::common::rich).collect())
        .unwrap();
    drop(store);
}
