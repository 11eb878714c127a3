//! seqr's own log events stored as events (`--self-log`): the logging layer (in the `seqr`
//! binary) formats each event of Information and above as a CLEF line and offers it to a
//! [`SelfLog`] queue; a task here decodes the queued lines in batches and stores them through
//! the ingestion path under the default input, so they are searched like any other events.
//!
//! The queue is bounded and never waits: a line that finds it full is dropped and counted
//! (`seqr_self_log_dropped_total`). What the storing task itself logs (a refused append, say)
//! is not offered again ([`is_storing`]), so a failing store cannot feed itself.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::AppState;
use crate::metrics::Input;

/// Lines stored per batch at most.
const BATCH_LINES: usize = 256;

tokio::task_local! {
    static STORING: ();
}

/// Whether the caller runs inside the self-log task (whose own log events must not be queued).
pub fn is_storing() -> bool {
    STORING.try_with(|()| ()).is_ok()
}

/// The queue between the logging layer and the server; cheap to clone.
#[derive(Clone)]
pub struct SelfLog {
    tx: mpsc::Sender<String>,
    rx: Arc<Mutex<Option<mpsc::Receiver<String>>>>,
    dropped: Arc<AtomicU64>,
}

impl fmt::Debug for SelfLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SelfLog(dropped: {})", self.dropped())
    }
}

impl SelfLog {
    /// A queue holding up to `capacity` lines.
    pub fn new(capacity: usize) -> SelfLog {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        SelfLog {
            tx,
            rx: Arc::new(Mutex::new(Some(rx))),
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Queues one CLEF line (one JSON object, no newline); drops and counts it when the queue
    /// is full. Never blocks, so it may be called from any thread.
    pub fn offer(&self, line: String) {
        if is_storing() {
            return;
        }
        if self.tx.try_send(line).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Lines dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub(crate) fn dropped_counter(&self) -> Arc<AtomicU64> {
        self.dropped.clone()
    }

    fn take_receiver(&self) -> Option<mpsc::Receiver<String>> {
        self.rx.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Stores queued lines until the server stops (what is queued then is stored first).
pub(crate) async fn run(
    state: AppState,
    self_log: SelfLog,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let Some(mut rx) = self_log.take_receiver() else {
        return;
    };
    STORING
        .scope((), async move {
            let mut lines = Vec::new();
            loop {
                let received = tokio::select! {
                    () = crate::http_serve::stopped(&mut stop) => {
                        while let Ok(line) = rx.try_recv() {
                            lines.push(line);
                        }
                        store(&state, std::mem::take(&mut lines)).await;
                        return;
                    }
                    n = rx.recv_many(&mut lines, BATCH_LINES) => n,
                };
                if received == 0 {
                    return;
                }
                store(&state, std::mem::take(&mut lines)).await;
            }
        })
        .await;
}

async fn store(state: &AppState, lines: Vec<String>) {
    if lines.is_empty() {
        return;
    }
    let body = lines.join("\n");
    let limits = state.runtime.get().limits;
    // One bad line (too large, say) must not cost the rest: decode them one by one then.
    let events = seqr_ingest::decode_clef(body.as_bytes(), &limits).unwrap_or_else(|_| {
        lines
            .iter()
            .filter_map(|l| seqr_ingest::decode_clef(l.as_bytes(), &limits).ok())
            .flatten()
            .collect()
    });
    let Ok(key) = state.auth.keys.default_key() else {
        return;
    };
    let _ =
        crate::ingest::store_events(state, &key, events, body.len() as u64, Input::SelfLog).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_offered_while_storing_are_not_queued_and_a_full_queue_drops() {
        let log = SelfLog::new(2);
        assert!(!is_storing());
        log.offer("a".into());
        STORING
            .scope((), async {
                assert!(is_storing());
                log.offer("logged by the storing task".into());
            })
            .await;
        log.offer("c".into());
        log.offer("d: the queue holds two".into());
        let mut rx = log.take_receiver().unwrap();
        assert_eq!(rx.try_recv().unwrap(), "a");
        assert_eq!(rx.try_recv().unwrap(), "c");
        assert!(rx.try_recv().is_err());
        assert_eq!(log.dropped(), 1);
        assert!(log.take_receiver().is_none(), "one consumer");
    }
}
