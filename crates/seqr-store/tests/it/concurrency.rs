use std::collections::HashSet;
use std::sync::{Arc, Barrier};

use crate::common::*;

#[test]
fn concurrent_appenders_each_event_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = small(dir.path(), 500);
    let threads = 6;
    let per = 60u64;
    let barrier = Arc::new(Barrier::new(threads));
    let mut handles = Vec::new();
    for t in 0..threads as u64 {
        let store = store.clone();
        let barrier = Arc::clone(&barrier);
        handles.push(std::thread::spawn(move || {
            barrier.wait();
            let mut ids = Vec::new();
            for b in 0..per {
                let base = (t * per + b) * 10;
                let events = (base..base + 10)
                    .map(|n| ev(n, BASE + (n % 17) as i64))
                    .collect();
                ids.extend(store.append_blocking(events).unwrap());
                // Searching concurrently with appends and flushes.
                if b % 10 == 0 {
                    all(&store);
                }
            }
            ids
        }));
    }
    let ids: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let total = threads * per as usize * 10;
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), total);
    let check = |store: &seqr_store::Store| {
        let got = all(store);
        assert_eq!(got.len(), total);
        let ns: HashSet<u64> = got.iter().map(|(_, n)| *n).collect();
        assert_eq!(ns.len(), total);
        let got_ids: HashSet<_> = got.iter().map(|(id, _)| *id).collect();
        assert_eq!(got_ids, ids.iter().copied().collect());
    };
    check(&store);
    store.shutdown().unwrap();
    drop(store);
    let store = small(dir.path(), 500);
    check(&store);
    assert_eq!(store.stats().events, total as u64);
}

#[test]
fn async_append_done_runs_after_visibility() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..50u64 {
        let s2 = store.clone();
        let tx = tx.clone();
        store.append(
            vec![ev(i, BASE + i as i64)],
            Box::new(move |r| {
                let id = r.unwrap()[0];
                // Visible to get from inside the callback already.
                let seen = s2.get(id).unwrap().is_some();
                tx.send(seen).unwrap();
            }),
        );
    }
    drop(tx);
    let seen: Vec<bool> = rx.iter().collect();
    assert_eq!(seen.len(), 50);
    assert!(seen.iter().all(|s| *s));
}
