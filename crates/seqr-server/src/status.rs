//! `api/diagnostics/status` (Read): Seq's `ServerStatusPart`, the banner messages the UI shows
//! every signed-in user: conditions an operator should act on.
//!
//! Some messages are worked out at each request from what the server can see (authentication
//! off, the store refusing writes, low disk, quarantined files, an input dropping events);
//! others are set by the part of the server that knows, through [`StatusNotes`] (e.g. the
//! secret key kept in the data directory; later "a self-signed TLS certificate is in use").

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::AppState;

/// A banner message's level, as Seq names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub(crate) enum Level {
    Information,
    Warning,
    Error,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StatusMessage {
    pub(crate) level: Level,
    pub(crate) message: String,
}

/// Messages set by name; setting a name again replaces its message.
#[derive(Default)]
pub(crate) struct StatusNotes {
    notes: Mutex<BTreeMap<&'static str, StatusMessage>>,
}

impl StatusNotes {
    pub(crate) fn set(&self, key: &'static str, level: Level, message: impl Into<String>) {
        let message = StatusMessage {
            level,
            message: message.into(),
        };
        self.lock().insert(key, message);
    }

    #[allow(dead_code, reason = "for conditions that end while the server runs")]
    pub(crate) fn clear(&self, key: &'static str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, StatusMessage>> {
        self.notes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn messages(&self) -> Vec<StatusMessage> {
        self.lock().values().cloned().collect()
    }
}

/// The messages start-up settings call for.
pub(crate) fn note_start_up(notes: &StatusNotes, config: &crate::ServeConfig) {
    if matches!(config.secret_key, crate::SecretKeySource::DataDirectory) {
        notes.set(
            "secret-key-in-data-directory",
            Level::Warning,
            "The secret key is kept in the data directory (secret.key): keep a copy elsewhere, \
             or supply it from outside (SEQR_SECRET_KEY, --secret-key-file, \
             --secret-key-provider). Without it, sealed settings cannot be read.",
        );
    }
}

/// Every message that applies now, errors first.
pub(crate) fn messages(state: &AppState) -> Vec<StatusMessage> {
    let mut out = Vec::new();
    let mut add = |level, message: String| out.push(StatusMessage { level, message });
    if !state.auth.enabled {
        add(
            Level::Warning,
            "Authentication is off (--no-authentication): anyone who can reach this server can \
             read, change and delete everything."
                .into(),
        );
    }
    if state.auth.enabled && state.runtime.anonymous_ingest() {
        add(
            Level::Information,
            "Events are accepted without an API key (RequireApiKeyForWritingEvents is off).".into(),
        );
    }
    let stats = state.store.stats();
    if let Some(detail) = &stats.poisoned {
        add(
            Level::Error,
            format!(
                "The event store stopped accepting writes after a storage failure ({detail}); \
                 check the disk and restart the server."
            ),
        );
    }
    if let Some(detail) = &stats.flush_error {
        add(
            Level::Error,
            format!("The event store cannot write its parts and keeps retrying: {detail}"),
        );
    }
    if let Err(seqr_store::AppendError::DiskFull { free, minimum }) = state.store.check_space() {
        add(
            Level::Error,
            format!(
                "The storage volume is nearly full ({free} bytes free, {minimum} kept free): new \
                 events are refused until space is freed or MinimumFreeStorageSpace is lowered."
            ),
        );
    }
    if stats.quarantined > 0 {
        add(
            Level::Warning,
            format!(
                "{} damaged store file(s) were moved to quarantine and are not served; see the \
                 server log for which.",
                stats.quarantined
            ),
        );
    }
    for input in state.inputs.snapshot() {
        let dropped = input.dropped_store + input.dropped_overload;
        if dropped > 0 {
            add(
                Level::Warning,
                format!(
                    "The {} input on {} has dropped {dropped} event(s) since start because the \
                     store refused them or could not keep up; see api/diagnostics/inputs.",
                    input.input, input.address
                ),
            );
        }
    }
    if !state.outbound.is_empty() {
        add(
            Level::Information,
            format!(
                "Outbound connections are allowed to: {} (--outbound-allow).",
                state.outbound
            ),
        );
    }
    out.extend(state.status.messages());
    out.sort_by_key(|m| match m.level {
        Level::Error => 0,
        Level::Warning => 1,
        Level::Information => 2,
    });
    out
}

/// `GET api/diagnostics/status`.
pub(crate) async fn status(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "StatusMessages": messages(&state) }))
}
