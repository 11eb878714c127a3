//! WAL replay, torn tails, corruption, poisoning.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use seqr_store::{AppendError, FaultInjector, OpenError, Store, StoreOptions};

use crate::common::*;

fn wal_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    v.sort();
    v
}

fn copy_dir(from: &Path, to: &Path) {
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        } else if e.file_type().unwrap().is_dir() {
            fs::create_dir_all(to.join(e.file_name())).unwrap();
            copy_dir(&e.path(), &to.join(e.file_name()));
        }
    }
}

#[test]
fn crash_without_shutdown_replays_and_arrivals_keep_increasing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = store
        .append_blocking(vec![ev(1, BASE + 9), ev(2, BASE)])
        .unwrap();
    drop(store); // no shutdown
    let store = open(dir.path());
    assert_eq!(store.open_report().replayed_events, 2);
    let b = store.append_blocking(vec![ev(3, BASE)]).unwrap();
    assert!(b[0].arrival > a[1].arrival);
    assert_eq!(all(&store).len(), 3);
    drop(store);
    let store = open(dir.path());
    assert_eq!(
        all(&store).iter().map(|x| x.1).collect::<Vec<_>>(),
        vec![1, 3, 2]
    );
}

#[test]
fn torn_tail_at_every_offset_is_cut_and_earlier_records_survive() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .append_blocking(vec![ev(1, BASE), ev(2, BASE + 1)])
        .unwrap();
    store.append_blocking(vec![ev(3, BASE + 2)]).unwrap();
    store.shutdown().unwrap();
    drop(store);
    let wal = wal_files(dir.path()).pop().unwrap();
    let good_len = fs::metadata(&wal).unwrap().len();
    let store = open(dir.path());
    store
        .append_blocking(vec![ev(4, BASE + 3), ev(5, BASE + 4)])
        .unwrap();
    drop(store);
    let full_len = fs::metadata(&wal).unwrap().len();
    assert!(full_len > good_len + 20);
    for cut in good_len..full_len {
        let d = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), d.path());
        let w = d.path().join(wal.file_name().unwrap());
        fs::OpenOptions::new()
            .write(true)
            .open(&w)
            .unwrap()
            .set_len(cut)
            .unwrap();
        let store = open(d.path());
        assert_eq!(
            store.open_report().truncated_tail_bytes,
            cut - good_len,
            "cut {cut}"
        );
        let ns: Vec<u64> = all(&store).iter().map(|x| x.1).collect();
        assert_eq!(ns, vec![3, 2, 1], "cut at {cut}");
        // The file was cut back to the last good record, and appends continue after it.
        assert_eq!(fs::metadata(&w).unwrap().len(), good_len);
        store.append_blocking(vec![ev(6, BASE + 5)]).unwrap();
        drop(store);
        let store = open(d.path());
        assert_eq!(all(&store).len(), 4);
    }
}

#[test]
fn a_garbage_tail_is_cut_but_a_bad_record_before_good_ones_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.append_blocking(vec![ev(1, BASE)]).unwrap();
    store.append_blocking(vec![ev(2, BASE)]).unwrap();
    store.append_blocking(vec![ev(3, BASE)]).unwrap();
    drop(store);
    let wal = wal_files(dir.path()).pop().unwrap();
    let bytes = fs::read(&wal).unwrap();

    // Zeros appended (a size update without data): cut.
    let d = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), d.path());
    let mut z = bytes.clone();
    z.extend_from_slice(&[0; 300]);
    fs::write(d.path().join(wal.file_name().unwrap()), &z).unwrap();
    let store = open(d.path());
    assert_eq!(store.open_report().truncated_tail_bytes, 300);
    assert_eq!(all(&store).len(), 3);
    drop(store);

    // Flip a byte inside each of the first two records: refused, clearly.
    let rec_len = (bytes.len() - 28) / 3;
    for at in [28 + 10, 28 + rec_len + 20, 28 + 2] {
        let d = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), d.path());
        let mut c = bytes.clone();
        c[at] ^= 0x40;
        fs::write(d.path().join(wal.file_name().unwrap()), &c).unwrap();
        match Store::open(d.path(), StoreOptions::default()) {
            Err(OpenError::CorruptWal { offset, detail, .. }) => {
                assert!(offset >= 28, "{offset}");
                assert!(detail.contains("valid record"), "{detail}");
            }
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("corruption at {at} was not detected"),
        }
    }

    // A flipped byte in the header is corruption too.
    let d = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), d.path());
    let mut c = bytes.clone();
    c[12] ^= 1;
    fs::write(d.path().join(wal.file_name().unwrap()), &c).unwrap();
    let err = Store::open(d.path(), StoreOptions::default())
        .err()
        .unwrap();
    assert!(
        matches!(err, OpenError::CorruptWal { offset: 0, .. }),
        "{err}"
    );
    assert!(err.to_string().starts_with("store: "));
}

#[test]
fn failed_fsync_poisons_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let fault = Arc::new(FaultInjector::default());
    let options = StoreOptions {
        fault: Some(Arc::clone(&fault)),
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), options.clone()).unwrap();
    let ok = store.append_blocking(vec![ev(1, BASE)]).unwrap();
    fault.fail_sync.store(true, Ordering::SeqCst);
    let err = store.append_blocking(vec![ev(2, BASE + 1)]).unwrap_err();
    assert!(matches!(err, AppendError::Poisoned { .. }), "{err}");
    // Not visible, and every later append fails even though fsync "works" again.
    assert_eq!(all(&store).len(), 1);
    fault.fail_sync.store(false, Ordering::SeqCst);
    assert!(matches!(
        store.append_blocking(vec![ev(3, BASE)]),
        Err(AppendError::Poisoned { .. })
    ));
    assert!(store.stats().poisoned.is_some());
    assert!(store.shutdown().is_err());
    drop(store);
    // Reopening recovers; the acknowledged event is there.
    let store = Store::open(dir.path(), options).unwrap();
    let ids: Vec<_> = all(&store).iter().map(|x| x.0).collect();
    assert!(ids.contains(&ok[0]));
    store.append_blocking(vec![ev(4, BASE)]).unwrap();

    // A failed write poisons too.
    fault.fail_write.store(true, Ordering::SeqCst);
    assert!(matches!(
        store.append_blocking(vec![ev(5, BASE)]),
        Err(AppendError::Poisoned { .. })
    ));
}
