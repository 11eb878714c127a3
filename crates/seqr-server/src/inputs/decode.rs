//! The two protocols behind one face, so the UDP and TCP loops are written once.

use std::net::IpAddr;

use seqr_types::{Event, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    Gelf,
    Syslog,
}

impl Protocol {
    /// One whole message (a datagram or a TCP frame) as an event.
    pub(crate) fn decode(
        self,
        message: &[u8],
        peer: IpAddr,
        max_bytes: usize,
    ) -> Result<Event, String> {
        let now = Timestamp::now();
        match self {
            Protocol::Gelf => {
                seqr_gelf::decode_message(message, max_bytes, now).map_err(|e| e.to_string())
            }
            Protocol::Syslog => {
                if message.len() > max_bytes {
                    return Err(format!(
                        "the message is {} bytes, over the {max_bytes}-byte limit",
                        message.len()
                    ));
                }
                seqr_syslog::decode_message(message, now, Some(peer)).map_err(|e| e.to_string())
            }
        }
    }

    pub(crate) fn framer(self, max_frame_bytes: usize) -> Framer {
        match self {
            Protocol::Gelf => Framer::Gelf(seqr_gelf::NullFramer::new(max_frame_bytes)),
            Protocol::Syslog => Framer::Syslog(seqr_syslog::TcpFramer::new(max_frame_bytes)),
        }
    }
}

/// A TCP stream split into messages: NUL-terminated GELF, or syslog's octet counting and
/// newline framing.
pub(crate) enum Framer {
    Gelf(seqr_gelf::NullFramer),
    Syslog(seqr_syslog::TcpFramer),
}

impl Framer {
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        match self {
            Framer::Gelf(f) => f.push(bytes),
            Framer::Syslog(f) => f.push(bytes),
        }
    }

    pub(crate) fn next_frame(&mut self) -> Option<Result<Vec<u8>, String>> {
        match self {
            Framer::Gelf(f) => f.next_frame().map(|r| r.map_err(|e| e.to_string())),
            Framer::Syslog(f) => f.next_frame().map(|r| r.map_err(|e| e.to_string())),
        }
    }

    pub(crate) fn finish(&mut self) -> Option<Result<Vec<u8>, String>> {
        match self {
            Framer::Gelf(f) => f.finish().map(|r| r.map_err(|e| e.to_string())),
            Framer::Syslog(f) => f.finish().map(|r| r.map_err(|e| e.to_string())),
        }
    }
}
