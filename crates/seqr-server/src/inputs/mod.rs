//! GELF and syslog listeners: UDP and TCP sockets beside the HTTP ones, off until an operator
//! names an address for them.
//!
//! Each listener decodes messages into events (`seqr-gelf`, `seqr-syslog`) and hands them to
//! its own [`writer`], which batches them into the store under the listener's API key (so the
//! key's minimum level, applied properties and arrival filter apply as for HTTP). Memory is
//! bounded per listener: a datagram that finds the writer's budget full is dropped and counted;
//! a TCP connection waits instead, so a slow store slows the sender rather than growing memory.
//! Bad input is counted and logged (rate-limited) and never stops a listener.

mod counters;
mod decode;
mod guard;
mod tcp;
mod udp;
mod writer;

use crate::http_serve::stopped;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

pub use counters::InputCountersSnapshot;
pub(crate) use counters::InputRegistry;
pub use guard::SourceNetwork;

use crate::AppState;

/// What a listener speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    GelfUdp,
    GelfTcp,
    SyslogUdp,
    SyslogTcp,
    /// GELF over TLS (NUL-terminated frames), with the HTTPS certificate.
    GelfTls,
    /// Syslog over TLS (RFC 5425: octet counting, usually port 6514), with the HTTPS
    /// certificate.
    SyslogTls,
}

impl InputKind {
    /// `gelf-udp` and so on: the flag's name and the label in diagnostics.
    pub fn name(self) -> &'static str {
        match self {
            InputKind::GelfUdp => "gelf-udp",
            InputKind::GelfTcp => "gelf-tcp",
            InputKind::SyslogUdp => "syslog-udp",
            InputKind::SyslogTcp => "syslog-tcp",
            InputKind::GelfTls => "gelf-tls",
            InputKind::SyslogTls => "syslog-tls",
        }
    }

    /// Parses [`InputKind::name`].
    pub fn parse(text: &str) -> Option<InputKind> {
        [
            InputKind::GelfUdp,
            InputKind::GelfTcp,
            InputKind::SyslogUdp,
            InputKind::SyslogTcp,
            InputKind::GelfTls,
            InputKind::SyslogTls,
        ]
        .into_iter()
        .find(|k| k.name().eq_ignore_ascii_case(text.trim()))
    }

    fn is_udp(self) -> bool {
        matches!(self, InputKind::GelfUdp | InputKind::SyslogUdp)
    }

    fn protocol(self) -> decode::Protocol {
        match self {
            InputKind::GelfUdp | InputKind::GelfTcp | InputKind::GelfTls => decode::Protocol::Gelf,
            InputKind::SyslogUdp | InputKind::SyslogTcp | InputKind::SyslogTls => {
                decode::Protocol::Syslog
            }
        }
    }

    fn is_tls(self) -> bool {
        matches!(self, InputKind::GelfTls | InputKind::SyslogTls)
    }
}

impl fmt::Display for InputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Per-listener limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputLimits {
    /// Largest message (datagram after reassembly and decompression, or TCP frame).
    pub max_message_bytes: usize,
    /// Most TCP connections open at once (ignored for UDP).
    pub max_connections: usize,
    /// Most events accepted per second; past it UDP messages are dropped and TCP senders wait.
    /// `None` is unlimited.
    pub max_events_per_second: Option<u32>,
}

impl Default for InputLimits {
    fn default() -> Self {
        InputLimits {
            max_message_bytes: 256 * 1024,
            max_connections: 256,
            max_events_per_second: None,
        }
    }
}

/// One configured listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputListener {
    pub kind: InputKind,
    /// `HOST:PORT` to bind.
    pub address: String,
    /// The API key whose input settings apply; `None` is the default (tokenless) input.
    pub api_key_id: Option<String>,
    pub limits: InputLimits,
    /// Source networks allowed to send; empty allows every source.
    pub allow: Vec<SourceNetwork>,
}

/// A listener that could not start.
#[derive(Debug)]
pub enum InputStartError {
    Bind {
        kind: InputKind,
        address: String,
        source: std::io::Error,
    },
    UnknownKey {
        kind: InputKind,
        id: String,
    },
    KeyWithoutIngest {
        kind: InputKind,
        id: String,
    },
    KeyLookup(seqr_meta::DbError),
    /// A TLS input without a certificate to serve.
    NoCertificate {
        kind: InputKind,
    },
}

impl fmt::Display for InputStartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputStartError::Bind {
                kind,
                address,
                source,
            } => write!(f, "cannot start the {kind} input on {address}: {source}"),
            InputStartError::UnknownKey { kind, id } => write!(
                f,
                "the {kind} input is attributed to API key `{id}`, which does not exist (see \
                 api/apikeys for the ids)"
            ),
            InputStartError::KeyWithoutIngest { kind, id } => write!(
                f,
                "the {kind} input is attributed to API key `{id}`, which lacks the Ingest \
                 permission"
            ),
            InputStartError::KeyLookup(e) => write!(f, "cannot read the inputs' API keys: {e}"),
            InputStartError::NoCertificate { kind } => write!(
                f,
                "the {kind} input needs a certificate: give --tls-cert and --tls-key (or \
                 --tls-self-signed) and an https:// listen address"
            ),
        }
    }
}

impl std::error::Error for InputStartError {}

/// The running listeners' tasks: they stop when the server's stop signal fires, after their
/// writers have stored what they had accepted.
pub(crate) struct RunningInputs {
    tasks: tokio::task::JoinSet<()>,
    /// Where each listener is bound, in configuration order.
    pub bound: Vec<(InputKind, SocketAddr)>,
}

impl RunningInputs {
    /// Waits for every listener and writer to finish.
    pub(crate) async fn finished(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Binds every configured listener and starts it.
pub(crate) async fn start(
    state: &AppState,
    inputs: &[InputListener],
    tls: Option<&tokio_rustls::TlsAcceptor>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<RunningInputs, InputStartError> {
    let mut running = RunningInputs {
        tasks: tokio::task::JoinSet::new(),
        bound: Vec::new(),
    };
    for input in inputs {
        check_key(state, input)?;
        let acceptor = match (input.kind.is_tls(), tls) {
            (false, _) => None,
            (true, Some(acceptor)) => Some(acceptor.clone()),
            (true, None) => return Err(InputStartError::NoCertificate { kind: input.kind }),
        };
        let counters = state.inputs.register(input.kind, &input.address);
        let (writer, writer_task) = writer::Writer::start(
            state.clone(),
            input.kind,
            input.api_key_id.clone(),
            counters.clone(),
        );
        running.tasks.spawn(writer_task);
        let guard = Arc::new(guard::Guard::new(
            input,
            counters.clone(),
            state.ingestion_log.clone(),
        ));
        let bind_error = |source| InputStartError::Bind {
            kind: input.kind,
            address: input.address.clone(),
            source,
        };
        let local = if input.kind.is_udp() {
            let socket = udp::bind(&input.address).await.map_err(bind_error)?;
            let local = socket.local_addr().map_err(bind_error)?;
            running.tasks.spawn(udp::run(
                socket,
                input.kind.protocol(),
                input.limits.clone(),
                guard,
                writer,
                stop.clone(),
            ));
            local
        } else {
            let listener = tokio::net::TcpListener::bind(&input.address)
                .await
                .map_err(bind_error)?;
            let local = listener.local_addr().map_err(bind_error)?;
            running.tasks.spawn(tcp::run(
                listener,
                acceptor,
                input.kind.protocol(),
                input.limits.clone(),
                guard,
                writer,
                stop.clone(),
            ));
            local
        };
        counters.set_bound(local);
        crate::serve::announce(&format!("Accepting {} on {local}", input.kind));
        tracing::info!(input = %input.kind, address = %local, key = input.api_key_id.as_deref().unwrap_or("default"), "input listening");
        if input.allow.is_empty() && !local.ip().is_loopback() {
            tracing::warn!(
                input = %input.kind,
                address = %local,
                "this input accepts messages from any network: GELF and syslog carry no \
                 credentials, so restrict it with an allow-list of source networks"
            );
        }
        running.bound.push((input.kind, local));
    }
    Ok(running)
}

/// The key an input is attributed to must exist and may ingest, or the server does not start.
fn check_key(state: &AppState, input: &InputListener) -> Result<(), InputStartError> {
    let Some(id) = &input.api_key_id else {
        return Ok(());
    };
    let key = state
        .auth
        .keys
        .by_id(id)
        .map_err(InputStartError::KeyLookup)?
        .ok_or_else(|| InputStartError::UnknownKey {
            kind: input.kind,
            id: id.clone(),
        })?;
    if !key
        .permissions
        .contains(crate::permission::Permission::Ingest)
    {
        return Err(InputStartError::KeyWithoutIngest {
            kind: input.kind,
            id: id.clone(),
        });
    }
    Ok(())
}
