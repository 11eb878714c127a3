//! The fuzz targets' checks, shared by `fuzz/fuzz_targets/{decode,reassemble}.rs` and the
//! corpus replay in `tests/fuzz_corpus.rs`.
//!
//! - `decode`: the input is one GELF message (and, split at its NULs, a TCP stream).
//! - `reassemble`: the first byte picks limits and clock steps; the rest is datagrams, each
//!   after a 2-byte big-endian length, fed through a `Reassembler` and decoded when whole.

#![allow(dead_code)] // each test binary and fuzz target uses only some of these

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use seqr_gelf::{Datagram, GelfError, NullFramer, Reassembler, ReassemblyLimits, decode_message};
use seqr_types::{Event, Timestamp};

/// Small, so the size refusals are reached too.
pub const MAX_BYTES: usize = 4096;
const MAX_FRAME: usize = 1024;

fn now() -> Timestamp {
    Timestamp::parse("2030-01-01T00:00:00Z").expect("a valid instant")
}

/// Decodes `data` as a message, and as a TCP stream of NUL-terminated frames; how many
/// events came out (for the corpus replay's sanity checks).
pub fn check_decode(data: &[u8]) -> usize {
    usize::from(check_message(data).is_some()) + check_framing(data)
}

/// Any input decodes or is refused with a message, the same way twice, and a decoded event is
/// well formed.
fn check_message(payload: &[u8]) -> Option<Event> {
    let result = decode_message(payload, MAX_BYTES, now());
    assert_eq!(
        result,
        decode_message(payload, MAX_BYTES, now()),
        "deterministic"
    );
    match result {
        Ok(event) => {
            check_event(&event);
            Some(event)
        }
        Err(e) => {
            assert!(e.to_string().ends_with('.'), "{e}");
            if let GelfError::TooLarge { limit } = e {
                assert_eq!(limit, MAX_BYTES);
            }
            // Plain JSON within the limit is never refused as too large.
            if payload.first().is_some_and(|b| *b == b'{') && payload.len() <= MAX_BYTES {
                assert!(!matches!(e, GelfError::TooLarge { .. }), "{e:?}");
            }
            None
        }
    }
}

fn check_event(event: &Event) {
    assert_eq!(
        event.event_type,
        seqr_types::event_type::of_template(event.template_or_message())
    );
    assert!(event.level.is_some(), "GELF events always get a level");
    let _ = event.timestamp.to_iso();
    serde_json::to_vec(&event.properties).expect("properties serialize");
    let _ = event.rendered_message();
}

/// The framer finds the same frames as a plain split at NULs, pushed in two pieces.
fn check_framing(stream: &[u8]) -> usize {
    let mut expected: Vec<Result<Vec<u8>, GelfError>> = Vec::new();
    for frame in stream.split(|&b| b == 0) {
        if frame.len() > MAX_FRAME {
            expected.push(Err(GelfError::FrameTooLarge { limit: MAX_FRAME }));
        } else if !frame.iter().all(u8::is_ascii_whitespace) {
            expected.push(Ok(frame.to_vec()));
        }
    }
    let cut = stream
        .first()
        .map_or(0, |&b| usize::from(b) % (stream.len() + 1));
    let mut framer = NullFramer::new(MAX_FRAME);
    let mut frames = Vec::new();
    for piece in [&stream[..cut], &stream[cut..]] {
        framer.push(piece);
        assert!(framer.buffered() <= MAX_FRAME + piece.len());
        frames.extend(std::iter::from_fn(|| framer.next_frame()));
    }
    frames.extend(std::iter::from_fn(|| framer.finish()));
    assert_eq!(framer.buffered(), 0);
    assert_eq!(frames, expected);
    frames
        .into_iter()
        .flatten()
        .take(8)
        .filter_map(|frame| check_message(&frame))
        .count()
}

/// The limits and clock a `reassemble` input asks for.
fn setup(selector: u8) -> (ReassemblyLimits, Duration, bool) {
    let limits = if selector & 4 != 0 {
        ReassemblyLimits {
            max_chunks: 8,
            timeout: Duration::from_secs(5),
            max_pending_messages: 4,
            max_pending_bytes: 2048,
            max_message_bytes: 1500,
        }
    } else {
        ReassemblyLimits {
            // More than an input can hold, so only the message limit binds and the model applies.
            max_pending_bytes: 128 * 1024,
            max_message_bytes: 16 * 1024,
            ..ReassemblyLimits::default()
        }
    };
    let step = match selector & 3 {
        0 => Duration::ZERO,
        1 => Duration::from_millis(1),
        2 => Duration::from_secs(1),
        _ => Duration::from_secs(3),
    };
    (limits, step, selector & 8 != 0)
}

/// A message in the model: its count, first arrival, and payloads by sequence number.
type ModelMessage = (u8, Instant, BTreeMap<u8, Vec<u8>>);

/// A plain reassembler to compare with while the table limits do not bind: chunks by
/// (id, seq), first copy wins, deadline from the first chunk.
struct Model {
    limits: ReassemblyLimits,
    messages: HashMap<u64, ModelMessage>,
    /// An eviction the model does not mirror happened (or may have): stop comparing.
    diverged: bool,
}

#[derive(Debug, PartialEq)]
enum Expected {
    Whole,
    Pending,
    Complete(Vec<u8>),
    Rejected,
}

impl Model {
    fn expire(&mut self, now: Instant) {
        let timeout = self.limits.timeout;
        self.messages
            .retain(|_, (_, first, _)| *first + timeout > now);
    }

    fn bytes(&self) -> usize {
        let held = |c: &BTreeMap<u8, Vec<u8>>| c.values().map(Vec::len).sum::<usize>();
        self.messages.values().map(|(_, _, c)| held(c)).sum()
    }

    fn accept(&mut self, datagram: &[u8], now: Instant) -> Expected {
        if !datagram.starts_with(&[0x1e, 0x0f]) {
            return Expected::Whole;
        }
        self.expire(now);
        let Some(header) = datagram.get(..12) else {
            return Expected::Rejected;
        };
        let mut id = [0; 8];
        id.copy_from_slice(&header[2..10]);
        let (id, seq, count) = (u64::from_be_bytes(id), header[10], header[11]);
        if count == 0 || count > self.limits.max_chunks.min(128) || seq >= count {
            return Expected::Rejected;
        }
        if count == 1 {
            return Expected::Whole;
        }
        let payload = datagram[12..].to_vec();
        if !self.messages.contains_key(&id)
            && self.messages.len() >= self.limits.max_pending_messages
        {
            self.diverged = true;
        }
        let entry = self
            .messages
            .entry(id)
            .or_insert((count, now, BTreeMap::new()));
        if entry.0 != count {
            return Expected::Rejected;
        }
        if entry.2.contains_key(&seq) {
            return Expected::Pending;
        }
        let size = entry.2.values().map(Vec::len).sum::<usize>() + payload.len();
        if size > self.limits.max_message_bytes {
            self.messages.remove(&id);
            return Expected::Rejected;
        }
        entry.2.insert(seq, payload);
        if entry.2.len() < usize::from(count) {
            return Expected::Pending;
        }
        match self.messages.remove(&id) {
            Some((_, _, chunks)) => Expected::Complete(chunks.into_values().flatten().collect()),
            None => Expected::Pending,
        }
    }
}

/// Splits `data` into datagrams: a 2-byte big-endian length, then that many bytes (or the rest).
pub fn datagrams(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let [hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        out.push(&tail[..len]);
        rest = &tail[len..];
    }
    out
}

/// Feeds the datagrams through a reassembler: memory stays within the limits at every step,
/// every answer is consistent with its datagram, and whole messages decode or are refused.
/// Returns how many chunk sets completed.
pub fn check_reassemble(data: &[u8]) -> usize {
    let Some((&selector, rest)) = data.split_first() else {
        return 0;
    };
    let mut completed = 0;
    let (limits, step, expire) = setup(selector);
    let mut reassembler = Reassembler::new(limits);
    let mut model = Model {
        limits,
        messages: HashMap::new(),
        // The small limits evict; the model does not follow evictions.
        diverged: selector & 4 != 0,
    };
    let start = Instant::now();
    let datagrams = datagrams(rest);
    for (i, &datagram) in datagrams.iter().enumerate() {
        let at = start + step * u32::try_from(i).unwrap_or(u32::MAX);
        if expire {
            reassembler.expire(at);
            model.expire(at);
        }
        let chunk = datagram.starts_with(&[0x1e, 0x0f]);
        let pending_before = reassembler.pending_messages();
        let answer = reassembler.accept(datagram, at);
        let expected = model.accept(datagram, at);
        if !model.diverged {
            let got = match &answer {
                Datagram::Whole(_) => Expected::Whole,
                Datagram::Pending => Expected::Pending,
                Datagram::Complete(payload) => Expected::Complete(payload.clone()),
                Datagram::Rejected(_) => Expected::Rejected,
            };
            assert_eq!(got, expected, "datagram {i}");
            assert_eq!(reassembler.pending_messages(), model.messages.len());
            assert_eq!(reassembler.pending_bytes(), model.bytes());
        }
        match answer {
            Datagram::Whole(payload) => {
                assert!(payload.len() <= datagram.len());
                assert!(datagram.ends_with(payload));
                assert!(
                    !chunk || datagram.get(11) == Some(&1),
                    "only a set of one is whole"
                );
                check_message(payload);
            }
            Datagram::Complete(payload) => {
                assert!(chunk);
                assert!(payload.len() <= limits.max_message_bytes);
                assert!(reassembler.pending_messages() < pending_before);
                completed += 1;
                check_message(&payload);
            }
            Datagram::Pending => assert!(chunk),
            Datagram::Rejected(e) => {
                assert!(chunk);
                assert!(e.to_string().ends_with('.'), "{e}");
            }
        }
        assert!(reassembler.pending_bytes() <= limits.max_pending_bytes);
        assert!(reassembler.pending_messages() <= limits.max_pending_messages);
        if reassembler.pending_messages() == 0 {
            assert_eq!(reassembler.pending_bytes(), 0);
        }
    }
    // Everything left expires once the timeout has passed.
    let steps = u32::try_from(datagrams.len()).unwrap_or(u32::MAX);
    let end = start + step * steps + limits.timeout;
    let left = reassembler.pending_messages();
    assert_eq!(reassembler.expire(end), left);
    assert_eq!(reassembler.pending_messages(), 0);
    assert_eq!(reassembler.pending_bytes(), 0);
    completed
}
