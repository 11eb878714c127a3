//! A TCP listener (plain, or TLS for `gelf-tls` and `syslog-tls`): a task per connection
//! splitting the stream into messages. A connection
//! that cannot queue its events waits (and so stops reading), which is TCP's own back-pressure
//! on the sender; the events-per-second limit slows it the same way.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::InputLimits;
use super::counters::InputCounters;
use super::decode::Protocol;
use super::guard::Guard;
use super::writer::Writer;

const READ_BUFFER_BYTES: usize = 64 * 1024;

/// Longest a TLS sender may take over its handshake.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) async fn run(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    protocol: Protocol,
    limits: InputLimits,
    guard: Arc<Guard>,
    writer: Writer,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let connection_stop = stop.clone();
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            () = super::stopped(&mut stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if !guard.admits(peer.ip()) {
                        continue;
                    }
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        InputCounters::add(&guard.counters.refused_connections, 1);
                        guard.complain(format_args!(
                            "turned a connection from {peer} away: {} are open, the limit",
                            limits.max_connections
                        ));
                        continue;
                    };
                    let c = Connection { peer, protocol, limits: limits.clone(), guard: guard.clone(), writer: writer.clone(), _slot: slot };
                    let stop = connection_stop.clone();
                    match tls.clone() {
                        None => { connections.spawn(connection(stream, c, stop)); }
                        Some(acceptor) => {
                            connections.spawn(async move {
                                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                                    Ok(Ok(tls)) => connection(tls, c, stop).await,
                                    Ok(Err(e)) => c.guard.malformed(c.peer.ip(), &format_args!("TLS handshake failed: {e}"), &[]),
                                    Err(_) => c.guard.malformed(c.peer.ip(), &"TLS handshake timed out", &[]),
                                }
                            });
                        }
                    }
                }
                Err(e) => {
                    // Out of descriptors, usually: wait a moment rather than spin.
                    guard.complain(format_args!("accepting a connection failed: {e}"));
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(writer);
    while connections.join_next().await.is_some() {}
}

struct Connection {
    peer: SocketAddr,
    protocol: Protocol,
    limits: InputLimits,
    guard: Arc<Guard>,
    writer: Writer,
    _slot: OwnedSemaphorePermit,
}

/// Counts a connection as open for as long as it lives.
struct Open<'a>(&'a InputCounters);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0
            .open_connections
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

async fn connection(
    mut stream: impl AsyncRead + Unpin,
    c: Connection,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    InputCounters::add(&c.guard.counters.open_connections, 1);
    let _open = Open(&c.guard.counters);
    let mut framer = c.protocol.framer(c.limits.max_message_bytes);
    let mut buffer = vec![0u8; READ_BUFFER_BYTES];
    let mut ended = false;
    loop {
        let read = tokio::select! {
            () = super::stopped(&mut stop) => break,
            read = stream.read(&mut buffer) => read,
        };
        match read {
            Ok(0) => {
                ended = true;
                break;
            }
            Ok(n) => framer.push(&buffer[..n]),
            Err(_) => break,
        }
        while let Some(frame) = framer.next_frame() {
            deliver(&c, frame).await;
        }
    }
    if ended && let Some(frame) = framer.finish() {
        deliver(&c, frame).await;
    }
}

async fn deliver(c: &Connection, frame: Result<Vec<u8>, String>) {
    let message = match frame {
        Ok(message) => message,
        Err(why) => {
            c.guard.malformed(c.peer.ip(), &why, &[]);
            return;
        }
    };
    let event = match c
        .protocol
        .decode(&message, c.peer.ip(), c.limits.max_message_bytes)
    {
        Ok(event) => event,
        Err(why) => {
            c.guard.malformed(c.peer.ip(), &why, &message);
            return;
        }
    };
    let counters = &c.guard.counters;
    InputCounters::add(&counters.messages, 1);
    InputCounters::add(&counters.bytes, message.len() as u64);
    while let Err(wait) = c.guard.take_token() {
        tokio::time::sleep(wait).await;
    }
    c.writer.submit(event, message.len()).await;
}
