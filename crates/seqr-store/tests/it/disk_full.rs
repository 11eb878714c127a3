//! A full volume: appends are refused with `DiskFull` (nothing of the batch stored, nothing
//! acknowledged lost, the store not poisoned) and accepted again once space is freed.

use std::sync::Arc;

use seqr_store::dir::FaultyDir;
use seqr_store::{AppendError, Store, StoreOptions};

use crate::common::*;

fn ns(store: &Store) -> Vec<u64> {
    let mut v: Vec<u64> = all(store).into_iter().map(|(_, n)| n).collect();
    v.sort_unstable();
    v
}

#[test]
fn below_the_minimum_free_space_appends_wait_for_space() {
    let dir = FaultyDir::new();
    let store = Store::open_dir(
        Arc::new(dir.clone()),
        StoreOptions {
            min_free_bytes: Some(1 << 20),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store.append_blocking(vec![ev(0, BASE)]).unwrap();
    dir.set_space(1000, 1 << 30);
    let err = store.append_blocking(vec![ev(1, BASE)]).unwrap_err();
    assert!(
        matches!(err, AppendError::DiskFull { free: 1000, minimum } if minimum == 1 << 20),
        "{err:?}"
    );
    // The default rule: the smaller of 1 GiB and 2% of the volume.
    store.set_min_free_bytes(None);
    dir.set_space(30 << 20, 1 << 30); // 2% of 1 GiB is 20.5 MiB: 30 MiB free is enough
    store.append_blocking(vec![ev(2, BASE)]).unwrap();
    dir.set_space(10 << 20, 1 << 30);
    assert!(matches!(
        store.append_blocking(vec![ev(3, BASE)]),
        Err(AppendError::DiskFull { .. })
    ));
    dir.set_space(1 << 30, 1 << 30);
    store.append_blocking(vec![ev(4, BASE)]).unwrap();
    assert_eq!(ns(&store), vec![0, 2, 4]);
    assert!(store.stats().poisoned.is_none());
}

#[test]
fn a_write_that_runs_out_of_space_is_cut_back_and_ingestion_resumes() {
    let dir = FaultyDir::new();
    let store = Store::open_dir(
        Arc::new(dir.clone()),
        StoreOptions {
            min_free_bytes: Some(0),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store
        .append_blocking((0..10).map(|n| ev(n, BASE + n as i64)).collect())
        .unwrap();
    // Room for part of the next record only: the write fails with ENOSPC half-way.
    let used: u64 = 28 + 10 * 60;
    dir.set_capacity(used + 200);
    let err = store
        .append_blocking((10..40).map(|n| ev(n, BASE + n as i64)).collect())
        .unwrap_err();
    assert!(matches!(err, AppendError::DiskFull { .. }), "{err:?}");
    assert!(store.stats().poisoned.is_none());
    // Space freed: appends continue right after the last good record.
    dir.set_capacity(1 << 30);
    store
        .append_blocking((40..45).map(|n| ev(n, BASE + n as i64)).collect())
        .unwrap();
    let want: Vec<u64> = (0..10).chain(40..45).collect();
    assert_eq!(ns(&store), want);
    drop(store);
    // The WAL holds no torn record in the middle: a power loss and reopen replay it all.
    let survivor = dir.power_loss();
    let store = Store::open_dir(Arc::new(survivor), StoreOptions::default()).unwrap();
    assert_eq!(ns(&store), want);
    assert_eq!(store.open_report().truncated_tail_bytes, 0);
}
