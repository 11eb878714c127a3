//! Flushing to parts, reopening, damaged parts, and migrating a format-1 store.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use seqr_store::{ReadError, SearchRequest, Store, StoreOptions};

use crate::common::*;

/// Part files in the day partitions, oldest part first.
fn part_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.file_name().unwrap().to_str().unwrap().starts_with("p-"))
        .flat_map(|d| fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| p.extension().is_some_and(|e| e == "part"))
        .collect();
    v.sort_by_key(|p| p.file_name().unwrap().to_owned());
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
    // The WAL generations covered by parts are gone.
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
        assert!(s.parts >= 7 && s.part_bytes > 0 && s.bytes_on_disk >= s.part_bytes);
    }
}

#[test]
fn corrupt_part_is_quarantined_and_the_rest_keeps_working() {
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
    let parts = part_files(dir.path());
    assert_eq!(parts.len(), 6);
    let victim = &parts[2];
    let mut bytes = fs::read(victim).unwrap();
    bytes[30] ^= 0xff; // inside the first block
    fs::write(victim, &bytes).unwrap();

    // Without the open-time scan the damage is found when the block is read: that search
    // fails, the part is quarantined, and the next search serves the rest.
    let lazy = Store::open(
        dir.path(),
        StoreOptions {
            verify_parts_on_open: false,
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
    assert_eq!(lazy.stats().quarantined, 1);
    assert!(!victim.exists());
    let left = all(&lazy);
    assert_eq!(left.len(), 250);
    assert!(left.iter().all(|(_, n)| !(100..150).contains(n)));
    drop(lazy);
    assert_eq!(
        fs::read_dir(dir.path().join("quarantine")).unwrap().count(),
        1
    );

    // Damage found on open (here in the footer) is quarantined there.
    let parts = part_files(dir.path());
    let victim = &parts[0];
    let mut bytes = fs::read(victim).unwrap();
    let n = bytes.len();
    bytes[n - 20] ^= 1;
    fs::write(victim, &bytes).unwrap();
    let store = small(dir.path(), 50);
    let report = store.open_report();
    assert_eq!(report.quarantined.len(), 1, "{report:?}");
    assert!(
        report.quarantined[0]
            .file
            .starts_with(dir.path().join("quarantine"))
    );
    assert!(
        report.quarantined[0].detail.contains("checksum"),
        "{report:?}"
    );
    assert_eq!(store.stats().quarantined, 1);
    assert_eq!(all(&store).len(), 200);
    // New appends still work and get fresh arrivals.
    store.append_blocking(vec![ev(1000, BASE)]).unwrap();
    drop(store);
    let store = small(dir.path(), 50);
    assert!(store.open_report().quarantined.is_empty());
    assert_eq!(all(&store).len(), 201);
}

/// A store written by the format-1 (row segment) code, from `tests/fixtures/v1-store`: 250
/// events in three segments and 20 more only in the WAL, all `common::rich(i)`.
#[test]
fn format_1_store_is_migrated_to_parts() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1-store");
    for e in fs::read_dir(&fixture).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    for round in 0..2 {
        let store = open(dir.path());
        let report = store.open_report();
        if round == 0 {
            assert_eq!(report.migrated_segments, 3, "{report:?}");
            assert_eq!(report.replayed_events, 20, "{report:?}");
        } else {
            assert_eq!(report.migrated_segments, 0, "{report:?}");
        }
        assert!(report.quarantined.is_empty());
        let mut seen = HashSet::new();
        let mut after = None;
        loop {
            let r = store
                .search(&SearchRequest {
                    count: 64,
                    after_id: after,
                    ..Default::default()
                })
                .unwrap();
            for e in &r.events {
                let i = n_of(&e.event);
                assert!(seen.insert(i), "event {i} twice");
                assert_eq!(e.event, rich(i), "event {i}");
            }
            if r.events.is_empty() {
                break;
            }
            after = r.last_read;
        }
        assert_eq!(seen.len(), 270);
        assert!(fs::read_dir(dir.path()).unwrap().all(|e| {
            let name = e.unwrap().file_name();
            !name.to_str().unwrap().ends_with(".seg")
        }));
        store.shutdown().unwrap();
    }
}

/// Searches that skip blocks by pushed-down predicates return exactly what a full scan with
/// the same filter returns.
#[test]
fn pruned_searches_match_full_scans() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        StoreOptions {
            flush_events: 60,
            block_events: 8,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    for chunk in (0..300u64).collect::<Vec<_>>().chunks(20) {
        store
            .append_blocking(chunk.iter().map(|&i| rich(i)).collect())
            .unwrap();
    }
    wait_flushed(&store, 4);
    let trace = format!("{:032x}", 35 * 977);
    let filters = [
        "N = 35".to_string(),
        "N = 35.0".into(),
        "N = 35.5".into(),
        "N = '35'".into(),
        "OrderId = 'ORD-35'".into(),
        "OrderId = 'ord-35' ci".into(),
        "Total = 105.50".into(),
        format!("@TraceId = '{trace}'"),
        "@TraceId = 'ffffffffffffffffffffffffffffffff'".into(),
        "Missing = 1".into(),
        "Missing = null".into(),
        "StartsWith(OrderId, 'ORD-1')".into(),
        "User.Name = 'u1'".into(),
        "N = 35 and @Level = 'Information'".into(),
    ];
    for text in &filters {
        let f = seqr_query::Filter::parse(text).unwrap();
        let matches = |e: &seqr_store::StoredEvent| f.matches(e, 0);
        let predicates = seqr_query::pushdown::predicates(&f.expr);
        let run = |predicates: &[seqr_store::Predicate]| {
            store
                .search(&SearchRequest {
                    count: 1000,
                    filter: Some(&matches),
                    predicates,
                    ..Default::default()
                })
                .unwrap()
                .events
                .iter()
                .map(|e| e.id)
                .collect::<Vec<_>>()
        };
        let full = run(&[]);
        assert_eq!(run(&predicates), full, "{text}");
    }
    // A needle touches almost nothing: every other part block is skipped unread.
    let hit = seqr_query::Filter::parse(&format!("@TraceId = '{trace}'")).unwrap();
    let m = |e: &seqr_store::StoredEvent| hit.matches(e, 0);
    let predicates = seqr_query::pushdown::predicates(&hit.expr);
    let before = store.stats();
    let r = store
        .search(&SearchRequest {
            count: 10,
            filter: Some(&m),
            predicates: &predicates,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.events.len(), 1);
    let after = store.stats();
    let read = after.blocks_read - before.blocks_read;
    let skipped = after.blocks_skipped - before.blocks_skipped;
    assert!(read <= 2 && skipped >= 20, "read {read}, skipped {skipped}");
}
