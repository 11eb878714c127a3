//! A listener's writer: collects decoded events into batches and stores them under the
//! listener's API key, one fsync per batch rather than per datagram.
//!
//! Every queued event holds part of a fixed byte budget until it is stored, so a listener's
//! memory is bounded whatever the senders do: UDP gives up on a datagram that finds the budget
//! spent ([`Writer::try_submit`]), TCP waits for room ([`Writer::submit`]) and so stops reading
//! its socket, which pushes back on the sender through TCP's own flow control.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use seqr_types::Event;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::InputKind;
use super::counters::InputCounters;
use crate::AppState;
use crate::auth::keys::VerifiedKey;
use crate::permission::Permission;

/// Bytes of decoded events a listener may hold before they are stored.
const BUDGET_BYTES: usize = 16 * 1024 * 1024;

/// What an event costs against the budget beyond its message's bytes (the decoded event's
/// own allocations).
const EVENT_OVERHEAD_BYTES: usize = 512;

/// Largest batch written at once.
const MAX_BATCH_EVENTS: usize = 4096;

struct Queued {
    event: Event,
    bytes: usize,
    _permit: OwnedSemaphorePermit,
}

/// The sending side, cloned into every socket task.
#[derive(Clone)]
pub(crate) struct Writer {
    queue: mpsc::UnboundedSender<Queued>,
    budget: Arc<Semaphore>,
}

impl Writer {
    /// Starts a writer for one listener; the task ends once every [`Writer`] clone is gone and
    /// the queue is stored.
    pub(crate) fn start(
        state: AppState,
        kind: InputKind,
        api_key_id: Option<String>,
        counters: Arc<InputCounters>,
    ) -> (Writer, impl Future<Output = ()> + Send + 'static) {
        let (queue, receiver) = mpsc::unbounded_channel();
        let writer = Writer {
            queue,
            budget: Arc::new(Semaphore::new(BUDGET_BYTES)),
        };
        let task = run(state, kind, api_key_id, counters, receiver);
        (writer, task)
    }

    fn cost(bytes: usize) -> u32 {
        u32::try_from(bytes.saturating_add(EVENT_OVERHEAD_BYTES).min(BUDGET_BYTES))
            .unwrap_or(u32::MAX)
    }

    /// Queues `event` if the budget has room now; `false` means it was not queued.
    pub(crate) fn try_submit(&self, event: Event, bytes: usize) -> bool {
        match self
            .budget
            .clone()
            .try_acquire_many_owned(Self::cost(bytes))
        {
            Ok(permit) => self.enqueue(event, bytes, permit),
            Err(_) => false,
        }
    }

    /// Queues `event`, waiting for room in the budget.
    pub(crate) async fn submit(&self, event: Event, bytes: usize) -> bool {
        match self
            .budget
            .clone()
            .acquire_many_owned(Self::cost(bytes))
            .await
        {
            Ok(permit) => self.enqueue(event, bytes, permit),
            Err(_) => false,
        }
    }

    fn enqueue(&self, event: Event, bytes: usize, permit: OwnedSemaphorePermit) -> bool {
        self.queue
            .send(Queued {
                event,
                bytes,
                _permit: permit,
            })
            .is_ok()
    }
}

async fn run(
    state: AppState,
    kind: InputKind,
    api_key_id: Option<String>,
    counters: Arc<InputCounters>,
    mut receiver: mpsc::UnboundedReceiver<Queued>,
) {
    let mut last_complaint: Option<Instant> = None;
    let mut batch = Vec::new();
    while receiver.recv_many(&mut batch, MAX_BATCH_EVENTS).await > 0 {
        let queued = std::mem::take(&mut batch);
        let count = queued.len() as u64;
        let bytes: u64 = queued.iter().map(|q| q.bytes as u64).sum();
        // The permits travel with the events until they are stored.
        let (events, permits): (Vec<Event>, Vec<_>) =
            queued.into_iter().map(|q| (q.event, q._permit)).unzip();
        let outcome = match key(&state, api_key_id.as_deref()) {
            Ok(key) => crate::ingest::store_events(&state, &key, events, bytes, kind.into())
                .await
                .map_err(|e| e.message().to_owned()),
            Err(why) => Err(why),
        };
        drop(permits);
        match outcome {
            Ok(stored) => InputCounters::add(&counters.stored, stored as u64),
            Err(why) => {
                InputCounters::add(&counters.dropped_store, count);
                let now = Instant::now();
                if last_complaint.is_none_or(|at| now.duration_since(at) > Duration::from_secs(10))
                {
                    last_complaint = Some(now);
                    tracing::error!(input = %kind, events = count, "input: events were not stored: {why}");
                }
            }
        }
    }
}

/// The key whose input settings apply, looked up per batch so changes to it take effect.
fn key(state: &AppState, id: Option<&str>) -> Result<Arc<VerifiedKey>, String> {
    let unavailable = |e: seqr_meta::DbError| format!("API keys cannot be read: {e}");
    let Some(id) = id else {
        return state.auth.keys.default_key().map_err(unavailable);
    };
    match state.auth.keys.by_id(id).map_err(unavailable)? {
        Some(key) if key.permissions.contains(Permission::Ingest) => Ok(key),
        Some(_) => Err(format!(
            "the input's API key `{id}` no longer has the Ingest permission"
        )),
        None => Err(format!("the input's API key `{id}` no longer exists")),
    }
}
