//! Snapshots for backups: consistent while ingestion, merges and deletes go on, every
//! acknowledged event included, damage in a copy detected.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use seqr_store::{DeleteRequest, Snapshot, SnapshotError, Store, StoreOptions, verify_copy};

use crate::common::*;

const DAY: i64 = 864_000_000_000;

fn store(dir: &Path) -> Store {
    Store::open(
        dir,
        StoreOptions {
            flush_events: 40,
            block_events: 16,
            ..StoreOptions::default()
        },
    )
    .unwrap()
}

/// Writes every file of `snap` under `dest`, as a restore would.
fn write_copy(snap: &Snapshot, dest: &Path) {
    for (i, f) in snap.files().iter().enumerate() {
        let path = dest.join(&f.name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut out = std::fs::File::create(&path).unwrap();
        assert_eq!(snap.copy_file(i, &mut out).unwrap(), f.len, "{}", f.name);
    }
}

fn ns(store: &Store) -> BTreeSet<u64> {
    all(store).into_iter().map(|(_, n)| n).collect()
}

#[test]
fn a_snapshot_holds_every_event_acknowledged_before_it_while_writes_continue() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let midnight = BASE - BASE % DAY;
    // Three days of events; the last batch stays in the memtable (under flush_events).
    let at = move |n: u64| midnight + (n % 3) as i64 * DAY + n as i64 * 1_000;
    for chunk in (0..330u64).collect::<Vec<_>>().chunks(30) {
        s.append_blocking(chunk.iter().map(|&n| ev(n, at(n))).collect())
            .unwrap();
    }
    assert!(s.stats().memtable_events > 0, "some events are unflushed");
    let acknowledged = ns(&s);

    // A writer keeps appending while the snapshot is taken and copied.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (s, stop) = (s.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 10_000u64;
            while !stop.load(Ordering::Relaxed) {
                s.append_blocking(vec![ev(n, at(n))]).unwrap();
                n += 1;
            }
        })
    };
    let snap = s.snapshot(Duration::from_secs(10)).unwrap();
    // Merges and a delete after the snapshot unlink files it holds: it must still copy them.
    s.merge().unwrap();
    s.delete(&DeleteRequest {
        to: Some(seqr_store::Timestamp::from_ticks(midnight + DAY)),
        ..Default::default()
    })
    .unwrap();
    let report = snap.report();
    assert!(report.parts >= 3, "{report:?}");
    let copy = tempfile::tempdir().unwrap();
    write_copy(&snap, copy.path());
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    drop(snap);

    let checked = verify_copy(copy.path()).unwrap();
    assert_eq!(checked, report);
    let restored = Store::open(copy.path(), StoreOptions::default()).unwrap();
    let back = ns(&restored);
    assert!(
        acknowledged.is_subset(&back),
        "missing from the snapshot: {:?}",
        acknowledged.difference(&back).take(10).collect::<Vec<_>>()
    );
    assert_eq!(back.len() as u64, report.events);
    // Events with their properties and ids, exactly as the original served them (those the
    // original still has: the delete above removed day one there).
    let original: Vec<_> = all(&s)
        .into_iter()
        .filter(|(_, n)| back.contains(n))
        .collect();
    let copied: Vec<_> = all(&restored)
        .into_iter()
        .filter(|(id, _)| id.ticks >= midnight + DAY)
        .filter(|(_, n)| original.iter().any(|(_, m)| m == n))
        .collect();
    assert_eq!(copied, original);
    // The restored store takes new events.
    restored.append_blocking(vec![ev(99_999, at(1))]).unwrap();
    assert!(ns(&restored).contains(&99_999));
}

#[test]
fn a_damaged_copy_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let midnight = BASE - BASE % DAY;
    s.append_blocking((0..100).map(|n| ev(n, midnight + n as i64)).collect())
        .unwrap();
    let snap = s.snapshot(Duration::from_secs(10)).unwrap();
    let files = snap.files();
    let copy = tempfile::tempdir().unwrap();
    write_copy(&snap, copy.path());
    verify_copy(copy.path()).unwrap();

    let part = copy.path().join(&files[0].name);
    let mut bytes = std::fs::read(&part).unwrap();
    bytes[files[0].len as usize / 2] ^= 0x20;
    std::fs::write(&part, &bytes).unwrap();
    match verify_copy(copy.path()) {
        Err(SnapshotError::Corrupt { file, .. }) => assert_eq!(file, part),
        other => panic!("a flipped byte was not detected: {other:?}"),
    }
    std::fs::remove_file(&part).unwrap();
    assert!(matches!(
        verify_copy(copy.path()),
        Err(SnapshotError::Io { .. })
    ));
    let manifest = copy.path().join(seqr_store::MANIFEST_FILE);
    let mut bytes = std::fs::read(&manifest).unwrap();
    bytes[9] ^= 1;
    std::fs::write(&manifest, &bytes).unwrap();
    assert!(matches!(
        verify_copy(copy.path()),
        Err(SnapshotError::Corrupt { .. })
    ));
}
