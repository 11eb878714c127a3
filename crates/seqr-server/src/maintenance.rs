//! Deleting events, for `DELETE api/events/signal` and the retention task.
//!
//! Every delete holds the server's maintenance gate for its whole duration (the store's delete
//! runs on a blocking thread that cannot be cancelled), and shutdown takes the gate before it
//! closes the store, so the store never closes under a delete. Deletes also run one at a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use seqr_store::{
    DeleteReport, DeleteRequest, MaintenanceError, SearchRequest, SearchStatus, Store, StoredEvent,
};
use seqr_types::Timestamp;

use crate::filters::ReadFilter;

/// Held by every delete; taken by shutdown before the store closes.
pub(crate) type Gate = Arc<tokio::sync::Mutex<()>>;

/// How long the look for a matching event may take before the delete runs anyway.
const PROBE_BUDGET: Duration = Duration::from_secs(2);

/// Why a delete did not happen.
#[derive(Debug)]
pub(crate) enum DeleteFailure {
    /// The store refused or failed.
    Store(MaintenanceError),
    /// The blocking task panicked.
    Panicked,
}

impl std::fmt::Display for DeleteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeleteFailure::Store(e) => e.fmt(f),
            DeleteFailure::Panicked => f.write_str("the delete task panicked"),
        }
    }
}

/// Deletes the events in `[from, to)` that `filter` matches (all of them when it is empty).
///
/// Before deleting, a bounded search looks for one such event: when the whole range was searched
/// and none matched, nothing is done, so a periodic policy with nothing to remove does not make
/// the store flush its memtables into small parts every time.
pub(crate) async fn delete_events(
    store: &Store,
    gate: &Gate,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    filter: ReadFilter,
) -> Result<DeleteReport, DeleteFailure> {
    let (implied_from, implied_to) = filter.time_range();
    let from = from.max(implied_from);
    let to = match (to, implied_to) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Ok(DeleteReport::default());
    }
    let held = gate.clone().lock_owned().await;
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let _held = held;
        let matches = |e: &StoredEvent| filter.matches(e);
        let matcher: Option<&(dyn Fn(&StoredEvent) -> bool + Sync)> =
            (!filter.is_empty()).then_some(&matches);
        let predicates = filter.predicates();
        let probe = store.search(&SearchRequest {
            count: 1,
            after_id: None,
            start_at_id: None,
            from,
            to,
            scan_limit: None,
            deadline: Some(Instant::now() + PROBE_BUDGET),
            filter: matcher,
            predicates: &predicates,
        });
        if let Ok(found) = &probe
            && found.events.is_empty()
            && found.status == SearchStatus::Complete
        {
            return Ok(DeleteReport::default());
        }
        store
            .delete(&DeleteRequest {
                from,
                to,
                filter: matcher,
                predicates: &predicates,
            })
            .map_err(DeleteFailure::Store)
    })
    .await
    .map_err(|_| DeleteFailure::Panicked)?
}
