//! Power loss at every point: the store runs on a fault-injecting directory that "dies" at
//! operation k (every later write, sync, rename or delete fails), then only what was durable
//! survives (unsynced bytes lost, or kept: real disks fall between the two). Reopening must
//! give back every acknowledged event exactly once and invent nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use seqr_store::dir::{FaultyDir, MemDir};
use seqr_store::{DeleteRequest, Store, StoreOptions};

use crate::common::*;

fn options() -> StoreOptions {
    StoreOptions {
        flush_events: 25,
        block_events: 8,
        ..StoreOptions::default()
    }
}

/// What a run did: acknowledged events and every event it tried to append.
#[derive(Default)]
struct Outcome {
    acked: Vec<u64>,
    attempted: Vec<u64>,
    /// A delete of `N % 7 = 0` was acknowledged.
    delete_acked: bool,
}

/// Appends 12 batches of 8 (flushes happen as it goes), deletes `N % 7 = 0` half-way, and
/// stops the store with `shutdown` (a flush that may fail) when `graceful`.
fn scenario(dir: &FaultyDir, graceful: bool) -> Outcome {
    let mut out = Outcome::default();
    let Ok(store) = Store::open_dir(Arc::new(dir.clone()), options()) else {
        return out;
    };
    for b in 0..12u64 {
        let ns: Vec<u64> = (b * 8..b * 8 + 8).collect();
        out.attempted.extend(&ns);
        let events = ns
            .iter()
            .map(|&n| ev(n, BASE + (n as i64 % 13) * 1000))
            .collect();
        if store.append_blocking(events).is_ok() {
            out.acked.extend(&ns);
        }
        if b == 6 {
            let f = seqr_query::Filter::parse("N % 7 = 0").unwrap();
            let m = |e: &seqr_store::StoredEvent| f.matches(e, 0);
            let r = store.delete(&DeleteRequest {
                filter: Some(&m),
                ..Default::default()
            });
            out.delete_acked = r.is_ok();
        }
    }
    if graceful {
        let _ = store.shutdown();
    }
    out
}

fn contents(dir: MemDir) -> BTreeMap<u64, usize> {
    let store = Store::open_dir(Arc::new(dir), options())
        .unwrap_or_else(|e| panic!("reopen after power loss failed: {e}"));
    n_counts(&store)
}

fn check(k: u64, out: &Outcome, seen: &BTreeMap<u64, usize>) {
    for (n, count) in seen {
        assert_eq!(*count, 1, "crash at op {k}: event {n} seen {count} times");
        assert!(
            out.attempted.contains(n),
            "crash at op {k}: event {n} invented"
        );
    }
    for n in &out.acked {
        // Events a delete targeted are gone once it is acknowledged (and may be gone if it
        // was not); every other acknowledged event stays.
        let targeted = n % 7 == 0 && *n < 56;
        if !targeted {
            assert!(
                seen.contains_key(n),
                "crash at op {k}: acknowledged event {n} lost"
            );
        } else if out.delete_acked {
            assert!(
                !seen.contains_key(n),
                "crash at op {k}: deleted event {n} came back"
            );
        }
    }
}

#[test]
fn every_acknowledged_event_survives_power_loss_at_every_operation() {
    // A full run without a crash, to know how many operations there are.
    let clean = FaultyDir::new();
    let out = scenario(&clean, true);
    assert_eq!(out.acked.len(), 96);
    assert!(out.delete_acked);
    let total = clean.ops();
    let seen = contents(clean.power_loss());
    check(u64::MAX, &out, &seen);
    assert_eq!(seen.len(), 96 - 8);

    let mut checked = 0;
    for k in 0..total + 5 {
        for graceful in [false, true] {
            let dir = FaultyDir::new();
            dir.crash_at(k);
            let out = scenario(&dir, graceful);
            for keep_unsynced in [false, true] {
                let survivor = dir.power_loss_keeping(keep_unsynced);
                // Recovery itself may crash: a second power loss a few operations into the
                // reopen is survived too.
                for j in [1, 4] {
                    let twice = survivor.power_loss_keeping(true);
                    twice.crash_at(twice.ops() + j);
                    drop(Store::open_dir(Arc::new(twice.clone()), options()));
                    check(k, &out, &contents(twice.power_loss()));
                }
                check(k, &out, &contents(survivor));
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} crash points");
}
