//! What each listener has seen since the server started, for `api/diagnostics/inputs` (and
//! `/metrics` later): plain atomics, bumped on the hot path without locks.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;

use super::InputKind;

/// One listener's counters.
pub(crate) struct InputCounters {
    kind: InputKind,
    configured: String,
    bound: OnceLock<SocketAddr>,
    /// Messages (datagrams after reassembly, TCP frames) decoded into events.
    pub(crate) messages: AtomicU64,
    /// Bytes of those messages as received.
    pub(crate) bytes: AtomicU64,
    /// Events stored (after the key's minimum level and arrival filter).
    pub(crate) stored: AtomicU64,
    /// Messages that could not be decoded (or chunks that could not be used).
    pub(crate) malformed: AtomicU64,
    /// Messages dropped because the writer's memory budget was full (UDP only).
    pub(crate) dropped_overload: AtomicU64,
    /// Messages dropped over the events-per-second limit (UDP only).
    pub(crate) dropped_rate: AtomicU64,
    /// Events lost because the store refused the batch (disk full, shutting down).
    pub(crate) dropped_store: AtomicU64,
    /// Incomplete chunked GELF messages given up after the reassembly timeout or evicted to
    /// make room (updated every second).
    pub(crate) chunks_expired: AtomicU64,
    /// Datagrams or connections from sources outside the allow-list.
    pub(crate) refused_sources: AtomicU64,
    /// TCP connections turned away at the connection limit.
    pub(crate) refused_connections: AtomicU64,
    /// TCP connections open now.
    pub(crate) open_connections: AtomicU64,
}

impl InputCounters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn set_bound(&self, address: SocketAddr) {
        let _ = self.bound.set(address);
    }

    fn snapshot(&self) -> InputCountersSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        InputCountersSnapshot {
            input: self.kind.name(),
            address: self
                .bound
                .get()
                .map_or_else(|| self.configured.clone(), ToString::to_string),
            messages: get(&self.messages),
            bytes: get(&self.bytes),
            stored_events: get(&self.stored),
            malformed: get(&self.malformed),
            dropped_overload: get(&self.dropped_overload),
            dropped_rate: get(&self.dropped_rate),
            dropped_store: get(&self.dropped_store),
            chunks_expired: get(&self.chunks_expired),
            refused_sources: get(&self.refused_sources),
            refused_connections: get(&self.refused_connections),
            open_connections: get(&self.open_connections),
        }
    }
}

/// A listener's counters as reported.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InputCountersSnapshot {
    pub input: &'static str,
    pub address: String,
    pub messages: u64,
    pub bytes: u64,
    pub stored_events: u64,
    pub malformed: u64,
    pub dropped_overload: u64,
    pub dropped_rate: u64,
    pub dropped_store: u64,
    pub chunks_expired: u64,
    pub refused_sources: u64,
    pub refused_connections: u64,
    pub open_connections: u64,
}

/// Every listener's counters.
#[derive(Default)]
pub(crate) struct InputRegistry {
    inputs: Mutex<Vec<Arc<InputCounters>>>,
}

impl InputRegistry {
    pub(crate) fn register(&self, kind: InputKind, configured: &str) -> Arc<InputCounters> {
        let zero = || AtomicU64::new(0);
        let counters = Arc::new(InputCounters {
            kind,
            configured: configured.to_owned(),
            bound: OnceLock::new(),
            messages: zero(),
            bytes: zero(),
            stored: zero(),
            malformed: zero(),
            dropped_overload: zero(),
            dropped_rate: zero(),
            dropped_store: zero(),
            chunks_expired: zero(),
            refused_sources: zero(),
            refused_connections: zero(),
            open_connections: zero(),
        });
        self.inputs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(counters.clone());
        counters
    }

    pub(crate) fn snapshot(&self) -> Vec<InputCountersSnapshot> {
        self.inputs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|c| c.snapshot())
            .collect()
    }
}
