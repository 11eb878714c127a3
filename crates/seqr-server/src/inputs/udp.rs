//! A UDP listener: one task reading datagrams, reassembling chunked GELF, decoding, and
//! queueing events without ever waiting on the store (a datagram that cannot be queued now is
//! dropped and counted: UDP has no way to ask the sender to slow down).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use super::InputLimits;
use super::counters::InputCounters;
use super::decode::Protocol;
use super::guard::Guard;
use super::writer::Writer;

/// Kernel receive buffer asked for, so a burst is not lost while a batch is being decoded.
const RECEIVE_BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// How often incomplete chunked messages are checked for expiry.
const EXPIRY_TICK: Duration = Duration::from_secs(1);

/// Binds `address` with a large receive buffer (best effort: the kernel may cap it).
pub(crate) async fn bind(address: &str) -> io::Result<UdpSocket> {
    let addr: SocketAddr = tokio::net::lookup_host(address)
        .await?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind"))?;
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    let _ = socket.set_recv_buffer_size(RECEIVE_BUFFER_BYTES);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

pub(crate) async fn run(
    socket: UdpSocket,
    protocol: Protocol,
    limits: InputLimits,
    guard: Arc<Guard>,
    writer: Writer,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut buffer = vec![0u8; 65_536];
    let mut reassembler = (protocol == Protocol::Gelf).then(|| {
        seqr_gelf::Reassembler::new(seqr_gelf::ReassemblyLimits {
            max_message_bytes: limits.max_message_bytes,
            ..Default::default()
        })
    });
    let mut expiry = tokio::time::interval(EXPIRY_TICK);
    loop {
        tokio::select! {
            () = super::stopped(&mut stop) => break,
            _ = expiry.tick() => {
                if let Some(r) = &mut reassembler {
                    r.expire(Instant::now());
                    guard.counters.chunks_expired.store(r.abandoned(), std::sync::atomic::Ordering::Relaxed);
                }
            }
            received = socket.recv_from(&mut buffer) => match received {
                Ok((len, peer)) => {
                    let datagram = &buffer[..len];
                    if guard.admits(peer.ip()) {
                        accept(datagram, peer, protocol, &limits, reassembler.as_mut(), &guard, &writer);
                    }
                }
                // Errors on a UDP socket are about one datagram (e.g. an ICMP report); go on.
                Err(e) => guard.complain(format_args!("receiving a datagram failed: {e}")),
            },
        }
    }
}

fn accept(
    datagram: &[u8],
    peer: SocketAddr,
    protocol: Protocol,
    limits: &InputLimits,
    reassembler: Option<&mut seqr_gelf::Reassembler>,
    guard: &Guard,
    writer: &Writer,
) {
    let reassembled;
    let message = match reassembler {
        None => datagram,
        Some(r) => match r.accept(datagram, Instant::now()) {
            seqr_gelf::Datagram::Whole(whole) => whole,
            seqr_gelf::Datagram::Complete(joined) => {
                reassembled = joined;
                &reassembled
            }
            seqr_gelf::Datagram::Pending => return,
            seqr_gelf::Datagram::Rejected(why) => {
                guard.malformed(peer.ip(), &why, datagram);
                return;
            }
        },
    };
    let counters = &guard.counters;
    let event = match protocol.decode(message, peer.ip(), limits.max_message_bytes) {
        Ok(event) => event,
        Err(why) => {
            guard.malformed(peer.ip(), &why, message);
            return;
        }
    };
    InputCounters::add(&counters.messages, 1);
    InputCounters::add(&counters.bytes, message.len() as u64);
    if guard.take_token().is_err() {
        InputCounters::add(&counters.dropped_rate, 1);
        guard.log_drop(
            peer.ip(),
            "rate_limited",
            "over the input's events-per-second limit",
        );
        return;
    }
    if !writer.try_submit(event, message.len()) {
        InputCounters::add(&counters.dropped_overload, 1);
        guard.log_drop(
            peer.ip(),
            "overload",
            "the store is not keeping up with this input",
        );
        guard.complain(format_args!(
            "dropped datagrams: the store is not keeping up with this input"
        ));
    }
}
