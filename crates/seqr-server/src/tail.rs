//! Live tail: Seq's `Stream` WebSocket (`api/events/stream`, seq-compat 2.8 and fact 22).
//!
//! Every acknowledged batch is published to a [`TailHub`] after its fsync; each open stream
//! subscribes, applies the caller's view filter AND-ed with its own `filter`, and sends one text
//! message per matching event: an `EventEntity`, or a CLEF document with `clef=true` (seqcli
//! `tail`). Tail is a window on arrivals, not a queue: a subscriber that falls more than
//! [`BACKLOG_BATCHES`] behind skips ahead (and is told so in the log) rather than holding memory
//! for it, and ingestion never waits for a slow reader.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use seqr_types::{Event, EventId, StoredEvent};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, watch};

use crate::AppState;
use crate::auth::csrf;
use crate::auth::enforce::{Principal, own_origin};
use crate::auth::rules::Caller;
use crate::clef_out::ClefDocument;
use crate::entity::EventEntity;
use crate::error::ApiError;
use crate::filters::{self, ReadFilter};
use crate::{events, query};

/// Batches a subscriber may fall behind before it skips ahead.
const BACKLOG_BATCHES: usize = 1024;
/// Streams open at once; more are refused with 503 so tails cannot exhaust the server.
const MAX_STREAMS: usize = 64;

/// Where acknowledged batches are published for live tail.
pub(crate) struct TailHub {
    sender: broadcast::Sender<Arc<[StoredEvent]>>,
    streams: Arc<Semaphore>,
    /// Becomes true when the server shuts down; open streams then close with "going away".
    stopping: watch::Receiver<bool>,
}

impl TailHub {
    pub(crate) fn new(stopping: watch::Receiver<bool>) -> TailHub {
        TailHub {
            sender: broadcast::channel(BACKLOG_BATCHES).0,
            streams: Arc::new(Semaphore::new(MAX_STREAMS)),
            stopping,
        }
    }

    /// Whether anyone is tailing, so ingestion copies a batch only when it will be read.
    pub(crate) fn listening(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    /// Publishes an acknowledged batch (`ids` in the order of `events`).
    pub(crate) fn publish(&self, events: Vec<Event>, ids: Vec<EventId>) {
        let batch: Arc<[StoredEvent]> = ids
            .into_iter()
            .zip(events)
            .map(|(id, event)| StoredEvent { id, event })
            .collect();
        // No receiver is not an error: the last tail closed between the check and now.
        let _ = self.sender.send(batch);
    }
}

/// What a stream sends, from Seq's `Stream` link parameters.
struct StreamParams {
    filter: Option<String>,
    render: bool,
    clef: bool,
    wait: bool,
}

impl StreamParams {
    fn parse(raw: Option<&str>) -> Result<StreamParams, ApiError> {
        let mut p = StreamParams {
            filter: None,
            render: false,
            clef: false,
            wait: false,
        };
        for (key, value) in query::pairs(raw.unwrap_or("")) {
            let value = value.trim();
            match key.to_ascii_lowercase().as_str() {
                "filter" => p.filter = Some(value.to_string()),
                "render" => p.render = events::parse_bool(&key, value)?,
                "clef" => p.clef = events::parse_bool(&key, value)?,
                "wait" => p.wait = events::parse_bool(&key, value)?,
                "signal" if !value.is_empty() => return Err(events::signal_unsupported()),
                _ => {}
            }
        }
        Ok(p)
    }
}

/// `GET api/events/stream`: upgrades to a WebSocket streaming matching new events.
pub(crate) async fn stream(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    crate::forwarded::Secure(secure): crate::forwarded::Secure,
    RawQuery(raw): RawQuery,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    // A browser opens WebSockets to any site with the visitor's cookies and no CSRF header,
    // so a cookie-signed stream must come from seqr's own pages.
    if matches!(caller, Principal::User { .. }) {
        csrf::check_origin(&headers, &own_origin(&headers, secure))
            .map_err(|e| ApiError::new(axum::http::StatusCode::FORBIDDEN, e.to_string()))?;
    }
    let params = StreamParams::parse(raw.as_deref())?;
    let request_filter = match &params.filter {
        Some(text) => filters::parse_request_filter("filter", text)?,
        None => None,
    };
    let view = ReadFilter::new(&caller, request_filter)?;
    let Ok(permit) = state.tail.streams.clone().try_acquire_owned() else {
        return Err(ApiError::unavailable(
            format!("{MAX_STREAMS} live tails are already open; retry shortly."),
            5,
        ));
    };
    // Subscribed before answering, so an event acknowledged right after the handshake is seen.
    let receiver = state.tail.sender.subscribe();
    let stopping = state.tail.stopping.clone();
    let session = Session {
        view,
        params,
        receiver,
        stopping,
        _permit: permit,
    };
    Ok(upgrade.on_upgrade(move |socket| session.run(socket)))
}

/// One open stream.
struct Session {
    /// The caller's view filter AND-ed with the stream's `filter`.
    view: ReadFilter,
    params: StreamParams,
    receiver: broadcast::Receiver<Arc<[StoredEvent]>>,
    stopping: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
}

/// Why a stream ended, for its close frame.
enum End {
    ClientLeft,
    ServerStopping,
    BadContext(String),
}

impl Session {
    async fn run(mut self, mut socket: WebSocket) {
        let end = self.pump(&mut socket).await;
        let frame = match end {
            End::ClientLeft => return,
            End::ServerStopping => CloseFrame {
                code: close_code::AWAY,
                reason: Utf8Bytes::from_static("The server is shutting down."),
            },
            End::BadContext(reason) => CloseFrame {
                code: close_code::POLICY,
                reason: reason.into(),
            },
        };
        let _ = socket.send(Message::Close(Some(frame))).await;
    }

    async fn pump(&mut self, socket: &mut WebSocket) -> End {
        if self.params.wait {
            // Seq.Api sends the evaluation context as the first message when asked to wait.
            match socket.recv().await {
                Some(Ok(Message::Text(text))) => {
                    if let Err(e) = events::check_evaluation_context(text.as_bytes()) {
                        return End::BadContext(e.message().to_string());
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return End::ClientLeft,
                Some(Ok(_)) => {
                    return End::BadContext("Expected an evaluation context as text.".into());
                }
            }
        }
        loop {
            tokio::select! {
                batch = self.receiver.recv() => match batch {
                    Ok(batch) => {
                        if send(&mut self.view, &self.params, socket, &batch).await.is_err() {
                            return End::ClientLeft;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(skipped)) => {
                        tracing::warn!(skipped_batches = skipped, "a live tail fell behind and skipped ahead");
                    }
                    Err(broadcast::error::RecvError::Closed) => return End::ServerStopping,
                },
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return End::ClientLeft,
                    // Pings are answered by the socket itself; other messages mean nothing here.
                    Some(Ok(_)) => {}
                },
                () = stopped(&mut self.stopping) => return End::ServerStopping,
            }
        }
    }
}

/// Resolves once the server starts shutting down.
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    // An error means the sender is gone, which also means shutdown.
    let _ = stopping.wait_for(|s| *s).await.map(|_| ());
}

/// Sends the events of `batch` that `view` lets through.
async fn send(
    view: &mut ReadFilter,
    params: &StreamParams,
    socket: &mut WebSocket,
    batch: &[StoredEvent],
) -> Result<(), axum::Error> {
    view.refresh_clock();
    for stored in batch.iter().filter(|e| view.matches(e)) {
        let text = if params.clef {
            serde_json::to_string(&ClefDocument(stored))
        } else {
            serde_json::to_string(&EventEntity::new(stored, params.render))
        };
        match text {
            Ok(text) => socket.send(Message::Text(text.into())).await?,
            Err(e) => tracing::error!(error = %e, "a tailed event could not be written"),
        }
    }
    Ok(())
}
