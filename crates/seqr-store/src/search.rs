//! Newest-first search: a k-way merge of memtables and segments by descending id.

use std::collections::{BinaryHeap, VecDeque};
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use seqr_types::{EventId, StoredEvent};

use crate::segment::{Block, BlockCache, Segment};
use crate::{
    Enc, Memtable, ReadError, SearchRequest, SearchResult, SearchStatus, Shared, codec, read,
};

/// Entries copied out of a memtable per read lock.
const CHUNK: usize = 256;

struct MemCursor {
    mt: Arc<Memtable>,
    lower: Option<EventId>,
    upper: Option<EventId>,
    buf: VecDeque<(EventId, Enc)>,
    exhausted: bool,
}

impl MemCursor {
    fn next(&mut self) -> Option<(EventId, Enc)> {
        if self.buf.is_empty() && !self.exhausted {
            if let (Some(l), Some(u)) = (self.lower, self.upper)
                && l >= u
            {
                self.exhausted = true;
                return None;
            }
            let lo = self.lower.map_or(Bound::Unbounded, Bound::Included);
            let hi = self.upper.map_or(Bound::Unbounded, Bound::Excluded);
            let g = read(&self.mt.inner);
            self.buf.extend(
                g.map
                    .range((lo, hi))
                    .rev()
                    .take(CHUNK)
                    .map(|(id, e)| (*id, e.clone())),
            );
            drop(g);
            match self.buf.back() {
                Some((last, _)) if self.buf.len() == CHUNK => self.upper = Some(*last),
                _ => self.exhausted = true,
            }
        }
        self.buf.pop_front()
    }
}

struct SegCursor {
    seg: Arc<Segment>,
    lower: Option<EventId>,
    upper: Option<EventId>,
    /// Blocks `0..next_block` are still to be read (backwards).
    next_block: usize,
    current: Option<(Block, usize)>,
}

impl SegCursor {
    fn new(seg: Arc<Segment>, lower: Option<EventId>, upper: Option<EventId>) -> SegCursor {
        let next_block = seg
            .blocks
            .partition_point(|m| upper.is_none_or(|u| m.min < u));
        SegCursor {
            seg,
            lower,
            upper,
            next_block,
            current: None,
        }
    }

    fn next(&mut self, cache: &BlockCache) -> Result<Option<(EventId, Enc)>, ReadError> {
        loop {
            if let Some((b, n)) = &mut self.current {
                if *n > 0 {
                    *n -= 1;
                    let id = b.id(*n);
                    if self.lower.is_some_and(|l| id < l) {
                        self.current = None;
                        self.next_block = 0;
                        return Ok(None);
                    }
                    let (start, len) = b.span(*n);
                    return Ok(Some((
                        id,
                        Enc {
                            buf: Arc::clone(&b.raw),
                            start: start as u32,
                            len: len as u32,
                        },
                    )));
                }
                self.current = None;
            }
            if self.next_block == 0 {
                return Ok(None);
            }
            self.next_block -= 1;
            let m = self.seg.blocks[self.next_block];
            if self.lower.is_some_and(|l| m.max < l) {
                self.next_block = 0;
                return Ok(None);
            }
            let b = cache.get(&self.seg, self.next_block)?;
            let n = self.upper.map_or(b.count, |u| b.rows_below(u));
            self.current = Some((b, n));
        }
    }
}

enum Cursor {
    Mem(MemCursor),
    Seg(SegCursor),
}

impl Cursor {
    fn next(&mut self, cache: &BlockCache) -> Result<Option<(EventId, Enc)>, ReadError> {
        match self {
            Cursor::Mem(c) => Ok(c.next()),
            Cursor::Seg(c) => c.next(cache),
        }
    }

    fn file(&self) -> PathBuf {
        match self {
            Cursor::Mem(_) => PathBuf::from("memtable"),
            Cursor::Seg(c) => c.seg.path.clone(),
        }
    }
}

fn decode(
    id: EventId,
    enc: &Enc,
    file: impl FnOnce() -> PathBuf,
) -> Result<StoredEvent, ReadError> {
    match codec::decode_event(enc.bytes()) {
        Ok(event) => Ok(StoredEvent { id, event }),
        Err(detail) => Err(ReadError::Corrupt {
            file: file(),
            detail: format!("event {id}: {detail}"),
        }),
    }
}

/// The smallest id greater than `id`, if any.
fn successor(id: EventId) -> Option<EventId> {
    if id.arrival < u64::MAX {
        Some(EventId {
            ticks: id.ticks,
            arrival: id.arrival + 1,
        })
    } else {
        id.ticks
            .checked_add(1)
            .map(|ticks| EventId { ticks, arrival: 0 })
    }
}

pub(crate) fn search(shared: &Shared, req: &SearchRequest<'_>) -> Result<SearchResult, ReadError> {
    if req.count == 0 {
        return Ok(SearchResult {
            events: Vec::new(),
            status: SearchStatus::Full,
            last_read: req.after_id,
        });
    }
    // The range is [lower, upper) in id order.
    let mut upper: Option<EventId> = None;
    let mut tighten = |b: EventId| upper = Some(upper.map_or(b, |u| u.min(b)));
    if let Some(a) = req.after_id {
        tighten(a);
    }
    if let Some(s) = req.start_at_id
        && let Some(b) = successor(s)
    {
        tighten(b);
    }
    if let Some(t) = req.to {
        tighten(EventId::first_at(t));
    }
    let lower = req.from.map(EventId::first_at);

    let (memtables, segments) = shared.snapshot();
    let mut cursors: Vec<Cursor> = memtables
        .into_iter()
        .map(|mt| {
            Cursor::Mem(MemCursor {
                mt,
                lower,
                upper,
                buf: VecDeque::new(),
                exhausted: false,
            })
        })
        .chain(segments.into_iter().filter_map(|seg| {
            let (first, last) = (seg.blocks.first()?, seg.blocks.last()?);
            let below = upper.is_some_and(|u| first.min >= u);
            let above = lower.is_some_and(|l| last.max < l);
            (!below && !above).then(|| Cursor::Seg(SegCursor::new(seg, lower, upper)))
        }))
        .collect();

    let cache = &shared.cache;
    let mut heads: Vec<Option<Enc>> = Vec::with_capacity(cursors.len());
    let mut heap = BinaryHeap::with_capacity(cursors.len());
    for (i, c) in cursors.iter_mut().enumerate() {
        match c.next(cache)? {
            Some((id, enc)) => {
                heap.push((id, i));
                heads.push(Some(enc));
            }
            None => heads.push(None),
        }
    }

    let scan_limit = req.scan_limit.map(|n| n.max(1));
    let mut events = Vec::with_capacity(req.count.min(1024));
    let mut examined = 0usize;
    let mut last_read = None;
    while let Some((id, i)) = heap.pop() {
        let enc = heads[i].take().expect("a head for every heap entry");
        if let Some((nid, nenc)) = cursors[i].next(cache)? {
            heap.push((nid, i));
            heads[i] = Some(nenc);
        }
        let ev = decode(id, &enc, || cursors[i].file())?;
        examined += 1;
        last_read = Some(id);
        if req.filter.is_none_or(|f| f(&ev)) {
            events.push(ev);
            if events.len() >= req.count {
                return Ok(SearchResult {
                    events,
                    status: SearchStatus::Full,
                    last_read,
                });
            }
        }
        if heap.is_empty() {
            break;
        }
        let limited = scan_limit.is_some_and(|n| examined >= n);
        let late = (examined == 1 || examined.is_multiple_of(32))
            && req.deadline.is_some_and(|d| Instant::now() >= d);
        if limited || late {
            return Ok(SearchResult {
                events,
                status: SearchStatus::Partial,
                last_read,
            });
        }
    }
    Ok(SearchResult {
        events,
        status: SearchStatus::Complete,
        last_read,
    })
}

pub(crate) fn get(shared: &Shared, id: EventId) -> Result<Option<StoredEvent>, ReadError> {
    let (memtables, segments) = shared.snapshot();
    for mt in &memtables {
        let found = read(&mt.inner).map.get(&id).cloned();
        if let Some(enc) = found {
            return decode(id, &enc, || PathBuf::from("memtable")).map(Some);
        }
    }
    for seg in &segments {
        let i = seg.blocks.partition_point(|m| m.max < id);
        if i < seg.blocks.len() && seg.blocks[i].min <= id {
            let b = shared.cache.get(seg, i)?;
            let n = b.rows_below(id);
            if n < b.count && b.id(n) == id {
                let (start, len) = b.span(n);
                let enc = Enc {
                    buf: Arc::clone(&b.raw),
                    start: start as u32,
                    len: len as u32,
                };
                return decode(id, &enc, || seg.path.clone()).map(Some);
            }
        }
    }
    Ok(None)
}
