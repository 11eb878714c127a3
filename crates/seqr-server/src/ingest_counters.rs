//! Per-key ingestion counters: arrived and ingested events and bytes, invalid payloads.
//!
//! Requests add to an in-memory table (one mutex, a few additions per request); a background
//! task moves the sums into the metadata database every few seconds and at shutdown, so
//! ingestion never waits on SQLite. Each key also keeps the current and the previous minute's
//! sums, which `InputMetrics` (Seq's "per minute" figures) reports.

use std::collections::HashMap;
use std::sync::Mutex;

use seqr_meta::apikeys::{self, ApiKeyCounts};
use seqr_meta::{DbError, MetaDb};

#[derive(Default)]
struct KeyActivity {
    /// Not yet written to the database.
    pending: ApiKeyCounts,
    /// The minute (unix seconds / 60) `this_minute` counts.
    minute: i64,
    this_minute: ApiKeyCounts,
    previous_minute: ApiKeyCounts,
}

fn add(into: &mut ApiKeyCounts, d: &ApiKeyCounts) {
    into.arrived_events += d.arrived_events;
    into.arrived_bytes += d.arrived_bytes;
    into.ingested_events += d.ingested_events;
    into.ingested_bytes += d.ingested_bytes;
    into.invalid_payloads += d.invalid_payloads;
}

/// The counters of every key that ingested since the server started.
#[derive(Default)]
pub(crate) struct IngestCounters {
    keys: Mutex<HashMap<String, KeyActivity>>,
}

impl IngestCounters {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, KeyActivity>> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records one request's figures for `key_id` at `now` (unix seconds).
    pub(crate) fn record(&self, key_id: &str, delta: ApiKeyCounts, now: i64) {
        let minute = now.div_euclid(60);
        let mut keys = self.lock();
        let activity = match keys.get_mut(key_id) {
            Some(a) => a,
            None => keys.entry(key_id.to_owned()).or_default(),
        };
        if activity.minute != minute {
            activity.previous_minute = if activity.minute == minute - 1 {
                activity.this_minute
            } else {
                ApiKeyCounts::default()
            };
            activity.this_minute = ApiKeyCounts::default();
            activity.minute = minute;
        }
        add(&mut activity.this_minute, &delta);
        add(&mut activity.pending, &delta);
    }

    /// Sums not yet stored, to add to what the database holds when answering.
    pub(crate) fn pending(&self, key_id: &str) -> ApiKeyCounts {
        self.lock()
            .get(key_id)
            .map(|a| a.pending)
            .unwrap_or_default()
    }

    /// The last complete minute's figures for `key_id` at `now`.
    pub(crate) fn last_minute(&self, key_id: &str, now: i64) -> ApiKeyCounts {
        let minute = now.div_euclid(60);
        match self.lock().get(key_id) {
            Some(a) if a.minute == minute => a.previous_minute,
            Some(a) if a.minute == minute - 1 => a.this_minute,
            _ => ApiKeyCounts::default(),
        }
    }

    /// Writes the pending sums to the database; on failure they stay pending for the next try.
    pub(crate) fn flush(&self, db: &MetaDb) -> Result<(), DbError> {
        let taken: Vec<(String, ApiKeyCounts)> = {
            let mut keys = self.lock();
            keys.iter_mut()
                .filter(|(_, a)| a.pending != ApiKeyCounts::default())
                .map(|(id, a)| (id.clone(), std::mem::take(&mut a.pending)))
                .collect()
        };
        if taken.is_empty() {
            return Ok(());
        }
        let deltas: Vec<(&str, ApiKeyCounts)> =
            taken.iter().map(|(id, d)| (id.as_str(), *d)).collect();
        let written = apikeys::add_counts(db, &deltas);
        if written.is_err() {
            let mut keys = self.lock();
            for (id, d) in &taken {
                if let Some(a) = keys.get_mut(id) {
                    add(&mut a.pending, d);
                }
            }
        }
        written
    }

    /// Forgets a deleted key.
    pub(crate) fn remove(&self, key_id: &str) {
        self.lock().remove(key_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(n: u64) -> ApiKeyCounts {
        ApiKeyCounts {
            arrived_events: n,
            ingested_events: n,
            ..Default::default()
        }
    }

    #[test]
    fn the_last_minute_is_the_previous_complete_one() {
        let c = IngestCounters::default();
        c.record("k", events(3), 120);
        c.record("k", events(2), 150);
        assert_eq!(
            c.last_minute("k", 170).arrived_events,
            0,
            "minute still running"
        );
        assert_eq!(c.last_minute("k", 185).arrived_events, 5);
        c.record("k", events(1), 190);
        assert_eq!(c.last_minute("k", 190).arrived_events, 5);
        assert_eq!(c.last_minute("k", 250).arrived_events, 1);
        assert_eq!(c.last_minute("k", 400).arrived_events, 0, "idle since");
        assert_eq!(c.pending("k").arrived_events, 6);
    }
}
