//! The fuzz targets' checks, shared by `fuzz/fuzz_targets/{decode,frame}.rs` and the corpus
//! replay in `tests/fuzz_corpus.rs`.
//!
//! - `decode`: the input is one datagram.
//! - `frame`: the first byte sets the frame limit (1 to 511 bytes), the second how the rest, a
//!   TCP stream, is cut into pushes (0: one push, else pseudo-random pieces of 1 to 17 bytes).

// Each fuzz target uses one of the two checks.
#![allow(dead_code)]

use std::net::IpAddr;

use seqr_syslog::{SyslogError, TcpFramer, decode_message};
use seqr_types::{Event, Timestamp};

const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// The most a drained framer may hold: a frame's worth, plus an octet count's digits and space.
const COUNT_HEADER: usize = 10;

fn received() -> Timestamp {
    Timestamp::parse("2026-06-15T12:00:00Z").expect("a timestamp")
}

/// Decodes `data` with and without a peer address: nothing may panic, both must agree, and an
/// event must be well formed.
pub fn check_decode(data: &[u8]) {
    let peer: IpAddr = "192.0.2.1".parse().expect("an address");
    let without = decode_message(data, received(), None);
    let with = decode_message(data, received(), Some(peer));
    assert_eq!(
        without,
        decode_message(data, received(), None),
        "not deterministic"
    );
    match (without, with) {
        (Err(a), Err(b)) => {
            assert_eq!(a, b);
            assert!(a.to_string().ends_with('.'));
        }
        (Ok(a), Ok(mut b)) => {
            check_event(&a);
            check_event(&b);
            // The peer only ever fills in a missing hostname.
            let host = b.properties.get("hostname").cloned().expect("a hostname");
            match a.properties.get("hostname") {
                Some(h) => assert_eq!(h, &host),
                None => {
                    assert_eq!(host, "192.0.2.1");
                    b.properties.shift_remove("hostname");
                    assert_eq!(
                        a.properties.keys().collect::<Vec<_>>(),
                        b.properties.keys().collect::<Vec<_>>()
                    );
                }
            }
            assert_eq!(a.message, b.message);
            assert_eq!(a.timestamp, b.timestamp);
        }
        (a, b) => panic!("the peer changed the outcome: {a:?} / {b:?}"),
    }
}

fn check_event(e: &Event) {
    assert!(SEVERITIES.contains(&e.level.as_deref().expect("a level")));
    let (first, facility) = e.properties.iter().next().expect("a facility");
    assert_eq!(first, "facility");
    assert!(facility.is_string());
    if let Some(m) = &e.message {
        let edge = |c: char| c.is_whitespace() || c == '\0';
        assert!(!m.is_empty());
        assert!(
            !m.starts_with(edge) && !m.ends_with(edge),
            "untrimmed {m:?}"
        );
        assert!(!m.starts_with('\u{feff}'));
    }
    assert_eq!(
        e.event_type,
        seqr_types::event_type::of_template(e.template_or_message())
    );
    serde_json::to_vec(&e.properties).expect("properties serialize");
}

/// Frames a stream cut as the selector bytes say: nothing may panic, the buffer stays bounded,
/// every frame fits the limit and decodes (or is refused) cleanly, and a stream without NULs
/// frames the same however it is cut.
pub fn check_frame(data: &[u8]) {
    let [limit, cut, stream @ ..] = data else {
        return;
    };
    let max = 1 + usize::from(*limit) * 2;
    let pieces = cut_into_pieces(stream, *cut);
    let frames = run(max, &pieces);
    for frame in frames.iter().flatten() {
        check_decode(frame);
    }
    if !stream.contains(&0) {
        assert_eq!(frames, run(max, &[stream]), "framing depends on the cuts");
    }
}

fn cut_into_pieces(stream: &[u8], seed: u8) -> Vec<&[u8]> {
    if seed == 0 {
        return vec![stream];
    }
    let mut state = u32::from(seed).wrapping_mul(2_654_435_761) | 1;
    let mut pieces = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (1 + state as usize % 17).min(rest.len());
        let (piece, tail) = rest.split_at(n);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

fn run(max: usize, pieces: &[&[u8]]) -> Vec<Result<Vec<u8>, SyslogError>> {
    let mut framer = TcpFramer::new(max);
    let mut out = Vec::new();
    let mut check = |frame: Result<Vec<u8>, SyslogError>| {
        if let Ok(f) = &frame {
            assert!(
                !f.is_empty() && f.len() <= max,
                "frame of {} bytes",
                f.len()
            );
        }
        out.push(frame);
    };
    for piece in pieces {
        framer.push(piece);
        while let Some(frame) = framer.next_frame() {
            check(frame);
        }
        assert!(
            framer.buffered() <= max + COUNT_HEADER,
            "{} bytes buffered, limit {max}",
            framer.buffered()
        );
    }
    while let Some(frame) = framer.finish() {
        check(frame);
    }
    assert_eq!(framer.buffered(), 0);
    out
}
