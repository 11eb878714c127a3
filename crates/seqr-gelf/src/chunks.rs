//! Chunked GELF over UDP: `1e 0f`, an 8-byte message id, a sequence number and a count, then
//! a slice of the (usually compressed) message. Chunks may arrive in any order, repeated, or
//! never; sqelf's rules apply (at most 128 chunks, 5 s from the first chunk, 1024 messages
//! held), with memory bounded in bytes too.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::GelfError;

/// The two bytes that open every chunk.
pub const CHUNK_MAGIC: [u8; 2] = [0x1e, 0x0f];
/// Magic, id, sequence number, count.
pub const CHUNK_HEADER_BYTES: usize = 12;

/// Bounds on what the [`Reassembler`] holds.
#[derive(Debug, Clone, Copy)]
pub struct ReassemblyLimits {
    /// Chunks one message may have (GELF and sqelf: 128; more is treated as 128).
    pub max_chunks: u8,
    /// How long after its first chunk a message may take to complete (sqelf: 5 s).
    pub timeout: Duration,
    /// Incomplete messages held at once (sqelf: 1024; 0 is treated as 1).
    pub max_pending_messages: usize,
    /// Chunk payload bytes held across all incomplete messages.
    pub max_pending_bytes: usize,
    /// Largest reassembled (still compressed) message.
    pub max_message_bytes: usize,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        ReassemblyLimits {
            max_chunks: 128,
            timeout: Duration::from_secs(5),
            max_pending_messages: 1024,
            max_pending_bytes: 32 << 20,
            // 128 chunks of the largest payload clients use on a LAN (8192-byte datagrams).
            max_message_bytes: 1 << 20,
        }
    }
}

/// What one datagram amounts to.
#[derive(Debug, PartialEq, Eq)]
pub enum Datagram<'a> {
    /// Not chunked (or a set of one chunk): the message itself, ready for `decode_message`.
    Whole(&'a [u8]),
    /// This chunk completed its message: the payloads concatenated in sequence order.
    Complete(Vec<u8>),
    /// A chunk was kept (or was a repeat of one already held); the message is not complete.
    Pending,
    /// The chunk was refused; see the error. Other messages are unaffected.
    Rejected(GelfError),
}

/// Reassembles chunked messages. Pure: the caller passes the clock in.
///
/// When the message or byte limit would be exceeded, the oldest incomplete messages are
/// evicted to make room, rather than the new one refused. A flood of partial chunk sets (an
/// attack or a lossy link) then only costs the oldest fragments, which are the least likely to
/// complete, while real messages, whose chunks arrive within milliseconds of each other, still
/// get through; refusing instead would let the flood pin the table for the whole timeout.
/// (sqelf drops every incomplete message when full.)
///
/// Memory: `pending_bytes` counts chunk payloads; each message's payloads share one buffer
/// (at most twice its payload in capacity) plus 8 bytes of index per chunk.
#[derive(Debug)]
pub struct Reassembler {
    limits: ReassemblyLimits,
    messages: HashMap<u64, Partial>,
    /// Arrival order: (deadline, arrival number) -> id. The deadline is first chunk + timeout,
    /// so with a monotonic clock this is also oldest-first, for both expiry and eviction.
    by_age: BTreeMap<(Instant, u64), u64>,
    arrivals: u64,
    pending_bytes: usize,
    /// Incomplete messages given up so far (timed out or evicted), for the listener's counters.
    abandoned: u64,
}

#[derive(Debug)]
struct Partial {
    count: u8,
    /// Which sequence numbers are held (bit n for chunk n; count <= 128).
    held: u128,
    /// Payloads in arrival order.
    data: Vec<u8>,
    /// (sequence number, end offset in `data`) in arrival order.
    index: Vec<(u8, u32)>,
    age: (Instant, u64),
}

impl Reassembler {
    /// Limits below what makes sense are raised: at least one message is held, and no more
    /// than 128 chunks are ever accepted (GELF's maximum).
    pub fn new(mut limits: ReassemblyLimits) -> Self {
        limits.max_pending_messages = limits.max_pending_messages.max(1);
        limits.max_chunks = limits.max_chunks.min(128);
        Reassembler {
            limits,
            messages: HashMap::new(),
            by_age: BTreeMap::new(),
            arrivals: 0,
            pending_bytes: 0,
            abandoned: 0,
        }
    }

    /// Takes one datagram. Messages past their timeout are dropped first, so a server that
    /// never calls [`Reassembler::expire`] still stays bounded.
    pub fn accept<'a>(&mut self, datagram: &'a [u8], now: Instant) -> Datagram<'a> {
        if !datagram.starts_with(&CHUNK_MAGIC) {
            return Datagram::Whole(datagram);
        }
        self.expire(now);
        let header = match Header::read(datagram, self.limits.max_chunks) {
            Ok(header) => header,
            Err(e) => return Datagram::Rejected(e),
        };
        let payload = &datagram[CHUNK_HEADER_BYTES..];
        if header.count == 1 {
            return Datagram::Whole(payload);
        }
        match self.messages.get(&header.id) {
            Some(partial) if partial.count != header.count => {
                return Datagram::Rejected(GelfError::ChunkCountMismatch {
                    id: header.id,
                    expected: partial.count,
                    got: header.count,
                });
            }
            Some(partial) if partial.held & (1 << header.seq) != 0 => {
                // A repeat (UDP may duplicate): the first copy stands, nothing is counted twice.
                return Datagram::Pending;
            }
            _ => {}
        }

        let held_by_it = self.messages.get(&header.id).map_or(0, |p| p.data.len());
        let message_bytes = held_by_it.saturating_add(payload.len());
        if message_bytes > self.limits.max_message_bytes {
            self.remove(header.id);
            return Datagram::Rejected(GelfError::ChunkedTooLarge {
                limit: self.limits.max_message_bytes,
            });
        }
        if message_bytes > self.limits.max_pending_bytes {
            self.remove(header.id);
            return Datagram::Rejected(GelfError::ReassemblyFull {
                limit: self.limits.max_pending_bytes,
            });
        }
        // Room, oldest first, never at the expense of this message's own chunks.
        let is_new = !self.messages.contains_key(&header.id);
        while self.pending_bytes + payload.len() > self.limits.max_pending_bytes
            || (is_new && self.messages.len() >= self.limits.max_pending_messages)
        {
            if !self.evict_oldest_except(header.id) {
                break;
            }
        }

        let partial = self.messages.entry(header.id).or_insert_with(|| {
            let deadline = now
                .checked_add(self.limits.timeout)
                .or_else(|| now.checked_add(Duration::from_secs(3600)))
                .unwrap_or(now);
            let age = (deadline, self.arrivals);
            self.arrivals += 1;
            self.by_age.insert(age, header.id);
            Partial {
                count: header.count,
                held: 0,
                data: Vec::new(),
                index: Vec::with_capacity(usize::from(header.count)),
                age,
            }
        });
        partial.held |= 1 << header.seq;
        partial.data.extend_from_slice(payload);
        // message_bytes <= max_message_bytes, and offsets past u32 would need a 4 GiB limit.
        partial.index.push((header.seq, partial.data.len() as u32));
        self.pending_bytes += payload.len();
        if partial.index.len() < usize::from(partial.count) {
            return Datagram::Pending;
        }
        match self.remove(header.id) {
            Some(done) => Datagram::Complete(done.assemble()),
            None => Datagram::Pending, // unreachable: it was just inserted
        }
    }

    /// Drops incomplete messages older than the timeout; returns how many were dropped.
    pub fn expire(&mut self, now: Instant) -> usize {
        let mut dropped = 0;
        while let Some((&(deadline, _), &id)) = self.by_age.first_key_value() {
            if deadline > now {
                break;
            }
            self.remove(id);
            dropped += 1;
        }
        self.abandoned += dropped as u64;
        dropped
    }

    /// Incomplete messages given up since the start: timed out (here or on the way into
    /// [`Reassembler::accept`]) or evicted to make room.
    pub fn abandoned(&self) -> u64 {
        self.abandoned
    }

    /// Incomplete messages held.
    pub fn pending_messages(&self) -> usize {
        self.messages.len()
    }

    /// Chunk payload bytes held across incomplete messages.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// The limits in force.
    pub fn limits(&self) -> &ReassemblyLimits {
        &self.limits
    }

    fn remove(&mut self, id: u64) -> Option<Partial> {
        let partial = self.messages.remove(&id)?;
        self.by_age.remove(&partial.age);
        self.pending_bytes -= partial.data.len();
        Some(partial)
    }

    /// Evicts the oldest message other than `keep`; false when there is none.
    fn evict_oldest_except(&mut self, keep: u64) -> bool {
        let victim = self.by_age.values().take(2).copied().find(|&id| id != keep);
        match victim {
            Some(id) => {
                self.abandoned += 1;
                self.remove(id).is_some()
            }
            None => false,
        }
    }
}

impl Partial {
    /// The payloads in sequence order.
    fn assemble(self) -> Vec<u8> {
        let mut spans: Vec<(u8, usize, usize)> = Vec::with_capacity(self.index.len());
        let mut start = 0;
        for &(seq, end) in &self.index {
            let end = end as usize;
            spans.push((seq, start, end));
            start = end;
        }
        spans.sort_unstable_by_key(|&(seq, ..)| seq);
        let mut out = Vec::with_capacity(self.data.len());
        for (_, start, end) in spans {
            out.extend_from_slice(&self.data[start..end]);
        }
        out
    }
}

/// A chunk header, checked.
struct Header {
    id: u64,
    seq: u8,
    count: u8,
}

impl Header {
    fn read(datagram: &[u8], max_chunks: u8) -> Result<Header, GelfError> {
        let Some(header) = datagram.first_chunk::<CHUNK_HEADER_BYTES>() else {
            return Err(GelfError::BadChunk(format!(
                "it is {} bytes long, shorter than the {CHUNK_HEADER_BYTES}-byte chunk header",
                datagram.len()
            )));
        };
        let mut id = [0; 8];
        id.copy_from_slice(&header[2..10]);
        let (seq, count) = (header[10], header[11]);
        if count == 0 {
            return Err(GelfError::BadChunk("its chunk count is 0".into()));
        }
        if count > max_chunks {
            return Err(GelfError::BadChunk(format!(
                "its message has {count} chunks, more than the {max_chunks} allowed"
            )));
        }
        if seq >= count {
            return Err(GelfError::BadChunk(format!(
                "its sequence number {seq} is not below its chunk count {count}"
            )));
        }
        Ok(Header {
            id: u64::from_be_bytes(id),
            seq,
            count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(id: u64, seq: u8, count: u8, payload: &[u8]) -> Vec<u8> {
        let mut d = CHUNK_MAGIC.to_vec();
        d.extend_from_slice(&id.to_be_bytes());
        d.extend_from_slice(&[seq, count]);
        d.extend_from_slice(payload);
        d
    }

    fn set(id: u64, message: &[u8], count: u8) -> Vec<Vec<u8>> {
        let size = message.len().div_ceil(usize::from(count)).max(1);
        let pieces: Vec<&[u8]> = message.chunks(size).collect();
        assert_eq!(pieces.len(), usize::from(count));
        (0..count)
            .map(|seq| chunk(id, seq, count, pieces[usize::from(seq)]))
            .collect()
    }

    fn limits() -> ReassemblyLimits {
        ReassemblyLimits::default()
    }

    fn check_accounting(r: &Reassembler) {
        let held: usize = r.messages.values().map(|p| p.data.len()).sum();
        assert_eq!(r.pending_bytes(), held);
        assert_eq!(r.by_age.len(), r.messages.len());
        assert!(r.pending_bytes() <= r.limits.max_pending_bytes);
        assert!(r.pending_messages() <= r.limits.max_pending_messages);
        for p in r.messages.values() {
            assert_eq!(p.held.count_ones() as usize, p.index.len());
        }
    }

    #[test]
    fn not_chunked_and_single_chunk_sets_are_whole() {
        let mut r = Reassembler::new(limits());
        let now = Instant::now();
        assert_eq!(r.accept(b"{\"a\":1}", now), Datagram::Whole(b"{\"a\":1}"));
        assert_eq!(r.accept(b"", now), Datagram::Whole(b""));
        assert_eq!(r.accept(b"\x1e", now), Datagram::Whole(b"\x1e"));
        let one = chunk(7, 0, 1, b"payload");
        assert_eq!(r.accept(&one, now), Datagram::Whole(b"payload"));
        assert_eq!(r.pending_messages(), 0);
    }

    #[test]
    fn in_order_out_of_order_and_duplicates() {
        let message: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let chunks = set(42, &message, 5);
        for order in [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 4, 0, 3, 1]] {
            let mut r = Reassembler::new(limits());
            let now = Instant::now();
            for (n, &i) in order.iter().enumerate() {
                let answer = r.accept(&chunks[i], now);
                check_accounting(&r);
                if n < 4 {
                    assert_eq!(answer, Datagram::Pending);
                    // A repeat changes nothing, even with a different payload.
                    let held = r.pending_bytes();
                    let mut twin = chunks[i].clone();
                    twin.push(b'!');
                    assert_eq!(r.accept(&twin, now), Datagram::Pending);
                    assert_eq!(r.pending_bytes(), held);
                } else {
                    assert_eq!(answer, Datagram::Complete(message.clone()));
                }
            }
            assert_eq!((r.pending_messages(), r.pending_bytes()), (0, 0));
        }
    }

    #[test]
    fn abandoned_messages_are_counted_whether_evicted_or_timed_out() {
        let mut r = Reassembler::new(ReassemblyLimits {
            max_pending_messages: 3,
            ..limits()
        });
        let now = Instant::now();
        for id in 0..5 {
            assert_eq!(r.accept(&chunk(id, 0, 2, b"half"), now), Datagram::Pending);
        }
        assert_eq!((r.pending_messages(), r.abandoned()), (3, 2));
        assert_eq!(r.expire(now + r.limits().timeout), 3);
        assert_eq!((r.pending_messages(), r.abandoned()), (0, 5));
    }

    #[test]
    fn interleaved_messages_complete_independently() {
        let (a, b) = (b"first message".to_vec(), b"second one".to_vec());
        let (ca, cb) = (set(1, &a, 3), set(2, &b, 2));
        let mut r = Reassembler::new(limits());
        let now = Instant::now();
        assert_eq!(r.accept(&ca[0], now), Datagram::Pending);
        assert_eq!(r.accept(&cb[1], now), Datagram::Pending);
        assert_eq!(r.accept(&ca[2], now), Datagram::Pending);
        assert_eq!(r.pending_messages(), 2);
        assert_eq!(r.accept(&cb[0], now), Datagram::Complete(b));
        assert_eq!(r.accept(&ca[1], now), Datagram::Complete(a));
        check_accounting(&r);
        assert_eq!(r.pending_messages(), 0);
    }

    #[test]
    fn bad_headers_are_refused() {
        let mut r = Reassembler::new(limits());
        let now = Instant::now();
        let bad = |answer: Datagram<'_>| match answer {
            Datagram::Rejected(GelfError::BadChunk(why)) => why,
            other => panic!("{other:?}"),
        };
        let short = bad(r.accept(b"\x1e\x0f\x01\x02", now));
        assert!(
            short.contains("shorter than the 12-byte chunk header"),
            "{short}"
        );
        assert!(bad(r.accept(&chunk(1, 0, 0, b"x"), now)).contains("count is 0"));
        let many = bad(r.accept(&chunk(1, 0, 129, b"x"), now));
        assert_eq!(
            many,
            "its message has 129 chunks, more than the 128 allowed"
        );
        assert!(bad(r.accept(&chunk(1, 5, 5, b"x"), now)).contains("sequence number 5"));
        assert!(bad(r.accept(&chunk(1, 200, 3, b"x"), now)).contains("not below"));
        // 128 is fine.
        assert_eq!(r.accept(&chunk(1, 127, 128, b"x"), now), Datagram::Pending);
        // A different count for a known id is refused; the message itself stays.
        assert_eq!(
            r.accept(&chunk(1, 3, 4, b"x"), now),
            Datagram::Rejected(GelfError::ChunkCountMismatch {
                id: 1,
                expected: 128,
                got: 4
            })
        );
        assert_eq!((r.pending_messages(), r.pending_bytes()), (1, 1));
        let msg = GelfError::BadChunk("its chunk count is 0".into()).to_string();
        assert_eq!(msg, "The GELF chunk is invalid: its chunk count is 0.");
        // A configured maximum above GELF's is held at 128.
        let mut r = Reassembler::new(ReassemblyLimits {
            max_chunks: 255,
            ..limits()
        });
        assert!(matches!(
            r.accept(&chunk(1, 0, 200, b"x"), now),
            Datagram::Rejected(GelfError::BadChunk(_))
        ));
    }

    #[test]
    fn incomplete_messages_expire_from_their_first_chunk() {
        let mut r = Reassembler::new(limits());
        let t0 = Instant::now();
        let c = set(9, b"abcdef", 3);
        assert_eq!(r.accept(&c[0], t0), Datagram::Pending);
        assert_eq!(
            r.accept(&c[1], t0 + Duration::from_secs(4)),
            Datagram::Pending
        );
        // Later chunks do not extend the deadline.
        assert_eq!(r.expire(t0 + Duration::from_millis(4999)), 0);
        assert_eq!(r.expire(t0 + Duration::from_secs(5)), 1);
        assert_eq!((r.pending_messages(), r.pending_bytes()), (0, 0));
        // Accepting a chunk expires the old ones too.
        assert_eq!(r.accept(&c[0], t0), Datagram::Pending);
        let other = set(10, b"xy", 2);
        assert_eq!(
            r.accept(&other[0], t0 + Duration::from_secs(6)),
            Datagram::Pending
        );
        assert_eq!(r.pending_messages(), 1);
        assert_eq!(r.pending_bytes(), 1);
        check_accounting(&r);
    }

    #[test]
    fn a_flood_evicts_the_oldest_and_memory_stays_bounded() {
        let limits = ReassemblyLimits {
            max_pending_messages: 16,
            max_pending_bytes: 1000,
            ..limits()
        };
        let mut r = Reassembler::new(limits);
        let t0 = Instant::now();
        // Flood: 10,000 partial sets (one chunk of two) of 100 bytes each.
        for id in 0..10_000u64 {
            let datagram = chunk(id, 0, 2, &[b'x'; 100]);
            assert_eq!(r.accept(&datagram, t0), Datagram::Pending);
            check_accounting(&r);
        }
        assert_eq!(r.pending_messages(), 10);
        assert_eq!(r.pending_bytes(), 1000);
        // The newest survive, the oldest went.
        assert!(r.messages.contains_key(&9_999) && !r.messages.contains_key(&9_989));
        // A real message still gets through during the flood.
        let real = set(u64::MAX, b"a real message!", 3);
        assert_eq!(r.accept(&real[0], t0), Datagram::Pending);
        assert_eq!(
            r.accept(&chunk(1 << 40, 0, 2, &[b'y'; 300]), t0),
            Datagram::Pending
        );
        assert_eq!(r.accept(&real[1], t0), Datagram::Pending);
        assert_eq!(
            r.accept(&real[2], t0),
            Datagram::Complete(b"a real message!".to_vec())
        );
        check_accounting(&r);
        // Many small messages hit the count limit first.
        let mut r = Reassembler::new(limits);
        for id in 0..100u64 {
            r.accept(&chunk(id, 1, 3, b"z"), t0);
            check_accounting(&r);
        }
        assert_eq!(r.pending_messages(), 16);
    }

    #[test]
    fn oversize_messages_are_refused_and_dropped() {
        let mut r = Reassembler::new(ReassemblyLimits {
            max_message_bytes: 250,
            max_pending_bytes: 400,
            ..limits()
        });
        let now = Instant::now();
        assert_eq!(r.accept(&chunk(1, 0, 3, &[1; 100]), now), Datagram::Pending);
        assert_eq!(r.accept(&chunk(1, 1, 3, &[1; 100]), now), Datagram::Pending);
        assert_eq!(
            r.accept(&chunk(1, 2, 3, &[1; 100]), now),
            Datagram::Rejected(GelfError::ChunkedTooLarge { limit: 250 })
        );
        assert_eq!((r.pending_messages(), r.pending_bytes()), (0, 0));
        // A message bigger than the whole buffer on its own.
        let mut r = Reassembler::new(ReassemblyLimits {
            max_message_bytes: 1000,
            max_pending_bytes: 150,
            ..limits()
        });
        assert_eq!(r.accept(&chunk(2, 0, 2, &[1; 50]), now), Datagram::Pending);
        assert_eq!(r.accept(&chunk(3, 0, 2, &[1; 100]), now), Datagram::Pending);
        assert_eq!(r.pending_messages(), 2);
        assert_eq!(
            r.accept(&chunk(3, 1, 2, &[1; 100]), now),
            Datagram::Rejected(GelfError::ReassemblyFull { limit: 150 })
        );
        assert_eq!((r.pending_messages(), r.pending_bytes()), (1, 50));
        check_accounting(&r);
    }
}
