//! The HTTP accept loop: axum's stack on hyper-util's auto (HTTP/1 + HTTP/2) connection, with
//! what `axum::serve` leaves out:
//! - **TLS** (rustls) when the listener is HTTPS, with ALPN choosing HTTP/2 or HTTP/1.1;
//! - **HTTP/1 half-close**: senders such as pygelf and graypy write a request and shut their
//!   side without waiting for the answer; hyper's default treats that EOF as the end and drops
//!   the request half-read, losing its events;
//! - **limits**: at most so many connections at once (further ones wait in the kernel's
//!   backlog), a deadline for the TLS handshake and for request headers, and an idle timeout
//!   while a request body is read (a client trickling bytes cannot hold a connection and the
//!   ingestion budget forever);
//! - each request carries its [`Transport`](crate::forwarded::Transport) (client address behind trusted proxies, HTTPS or
//!   not) and the client address as axum's `ConnectInfo`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower_service::Service as _;

use crate::forwarded::TrustedProxies;

/// Connection and request limits of every HTTP listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Connections served at once, over all HTTP listeners.
    pub max_connections: usize,
    /// Longest a TLS handshake may take.
    pub handshake_timeout: Duration,
    /// Longest a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// Longest a request body may go without a byte arriving.
    pub body_idle_timeout: Duration,
}

impl HttpLimits {
    /// The connection permits: `max_connections`, at least one.
    pub(crate) fn connection_permits(&self) -> usize {
        self.max_connections.max(1)
    }
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            max_connections: 4096,
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(60),
        }
    }
}

/// One listener and what it serves.
pub(crate) struct Listener {
    pub(crate) socket: TcpListener,
    /// Present on HTTPS listeners.
    pub(crate) tls: Option<TlsAcceptor>,
    pub(crate) router: Router,
}

/// What all listeners share.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) proxies: Arc<TrustedProxies>,
    pub(crate) limits: Arc<HttpLimits>,
    /// Permits for open connections ([`HttpLimits::max_connections`]).
    pub(crate) connections: Arc<Semaphore>,
    /// The path prefix of the base URI (`/seq`), removed from request paths that carry it, so
    /// a proxy may forward `/seq/api/...` as it is or without the prefix.
    pub(crate) path_prefix: Option<Arc<str>>,
}

impl Shared {
    pub(crate) fn new(
        proxies: TrustedProxies,
        limits: HttpLimits,
        path_prefix: Option<&str>,
    ) -> Shared {
        Shared {
            path_prefix: path_prefix.map(Arc::from),
            proxies: Arc::new(proxies),
            connections: Arc::new(Semaphore::new(limits.connection_permits())),
            limits: Arc::new(limits),
        }
    }
}

/// Serves `listener` until `stop` fires, then lets open connections finish their requests (the
/// caller bounds how long).
pub(crate) async fn serve(
    listener: Listener,
    shared: Shared,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    let mut warned_full = false;
    loop {
        let permit = match shared.connections.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if !warned_full {
                    warned_full = true;
                    tracing::warn!(
                        limit = shared.limits.max_connections,
                        "connection limit reached; new connections wait until others close"
                    );
                }
                tokio::select! {
                    () = stopped(&mut stop) => break,
                    Some(_) = connections.join_next(), if !connections.is_empty() => continue,
                    permit = shared.connections.clone().acquire_owned() => {
                        permit.expect("the connection semaphore is never closed")
                    }
                }
            }
        };
        let (stream, remote) = tokio::select! {
            () = stopped(&mut stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.socket.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, usually: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        warned_full = false;
        let (router, shared, stop, tls) = (
            listener.router.clone(),
            shared.clone(),
            stop.clone(),
            listener.tls.clone(),
        );
        connections.spawn(async move {
            let _permit = permit;
            let _ = stream.set_nodelay(true);
            match tls {
                None => connection(stream, remote, false, router, shared, stop).await,
                Some(acceptor) => {
                    let handshake = tokio::time::timeout(
                        shared.limits.handshake_timeout,
                        acceptor.accept(stream),
                    );
                    match handshake.await {
                        Ok(Ok(tls)) => connection(tls, remote, true, router, shared, stop).await,
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, %remote, "TLS handshake failed");
                        }
                        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    while connections.join_next().await.is_some() {}
}

async fn connection<S>(
    stream: S,
    peer: SocketAddr,
    tls: bool,
    router: Router,
    shared: Shared,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let body_idle = shared.limits.body_idle_timeout;
    let proxies = shared.proxies.clone();
    let prefix = shared.path_prefix.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        if let Some(prefix) = &prefix {
            strip_prefix(&mut request, prefix);
        }
        let transport = proxies.transport(peer, tls, request.headers());
        request
            .extensions_mut()
            .insert(ConnectInfo(transport.client));
        request.extensions_mut().insert(transport);
        let mut router = router.clone();
        async move {
            let request = request.map(|body| Body::new(IdleTimeoutBody::new(body, body_idle)));
            Ok::<_, Infallible>(router.call(request).await.unwrap_or_else(|e| match e {}))
        }
    });
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .half_close(true)
        .timer(TokioTimer::new())
        .header_read_timeout(shared.limits.header_timeout);
    // WebSockets over HTTP/2 need the CONNECT protocol.
    builder
        .http2()
        .timer(TokioTimer::new())
        .enable_connect_protocol();
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                }
                break;
            }
            () = stopped(&mut stop), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// `/seq/api/x?y` becomes `/api/x?y` (and `/seq` becomes `/`); other paths are left alone.
fn strip_prefix<B>(request: &mut hyper::Request<B>, prefix: &str) {
    let uri = request.uri();
    let path = uri.path();
    let rest = match path.strip_prefix(prefix) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => return,
    };
    let path_and_query = match uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = hyper::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
}

/// Resolves once the server's stop signal fires (or its sender is gone).
pub(crate) async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// The error a request body gives when its client stopped sending.
#[derive(Debug)]
pub(crate) struct BodyIdle(Duration);

impl std::fmt::Display for BodyIdle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body stopped arriving: nothing for {} s",
            self.0.as_secs()
        )
    }
}

impl std::error::Error for BodyIdle {}

/// A request body that fails with [`BodyIdle`] when no data arrives for `idle` while it is
/// being read. The clock runs only while the handler waits for the next frame.
struct IdleTimeoutBody {
    inner: Incoming,
    idle: Duration,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl IdleTimeoutBody {
    fn new(inner: Incoming, idle: Duration) -> IdleTimeoutBody {
        IdleTimeoutBody {
            inner,
            idle,
            deadline: None,
        }
    }
}

impl hyper::body::Body for IdleTimeoutBody {
    type Data = hyper::body::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.deadline = None;
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let idle = this.idle;
                let deadline = this
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyIdle(idle))))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::strip_prefix;

    fn stripped(path: &str) -> String {
        let mut request = hyper::Request::get(path).body(()).unwrap();
        strip_prefix(&mut request, "/seq");
        request.uri().to_string()
    }

    #[test]
    fn the_base_path_prefix_comes_off_only_whole_segments() {
        assert_eq!(stripped("/seq/api/events?count=1"), "/api/events?count=1");
        assert_eq!(stripped("/seq"), "/");
        assert_eq!(stripped("/seq/"), "/");
        assert_eq!(stripped("/api/events"), "/api/events");
        assert_eq!(stripped("/sequel/x"), "/sequel/x");
    }
}
