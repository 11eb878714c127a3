//! Newest-first search: a k-way merge of memtables and parts by descending id.

use std::collections::{BinaryHeap, VecDeque};
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use seqr_types::{Event, EventId, StoredEvent};

use crate::cache::{BlockCache, Decoded};
use crate::count::{self, NO, Prepared};
use crate::part::LazyRows;
use crate::part::{Part, PartError};
use crate::prune;
use crate::{
    Enc, Memtable, ReadError, SearchRequest, SearchResult, SearchStatus, Shared, codec, read,
};
use seqr_query::pushdown::Predicate;

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

/// Rows rebuilt per step inside a part block: a first page of 100 does not rebuild 4096.
const ROWS_PER_STEP: usize = 32;

struct PartCursor<'r> {
    part: Arc<Part>,
    predicates: &'r [Predicate],
    /// Decides rows from their columns, so only rows that may match are rebuilt.
    prefilter: &'r Prepared<'r>,
    lower: Option<EventId>,
    upper: Option<EventId>,
    /// Blocks `0..next_block` are still to be read (backwards).
    next_block: usize,
    /// The block being read, how many of its rows (from the start) are still unread, and
    /// the rows' states under the pre-filter.
    current: Option<(Arc<Decoded>, usize, Option<Vec<u8>>)>,
    buf: VecDeque<(EventId, Event)>,
}

impl<'r> PartCursor<'r> {
    fn new(
        part: Arc<Part>,
        predicates: &'r [Predicate],
        prefilter: &'r Prepared<'r>,
        lower: Option<EventId>,
        upper: Option<EventId>,
    ) -> PartCursor<'r> {
        let next_block = part
            .blocks
            .partition_point(|m| upper.is_none_or(|u| m.min < u));
        PartCursor {
            part,
            predicates,
            prefilter,
            lower,
            upper,
            next_block,
            current: None,
            buf: VecDeque::new(),
        }
    }

    fn next(
        &mut self,
        shared: &Shared,
        cache: &BlockCache,
    ) -> Result<Option<(EventId, Item)>, PartError> {
        loop {
            if let Some((id, e)) = self.buf.pop_front() {
                if self.lower.is_some_and(|l| id < l) {
                    self.buf.clear();
                    self.current = None;
                    self.next_block = 0;
                    return Ok(None);
                }
                return Ok(Some((id, Item::Event(Box::new(e)))));
            }
            if let Some((d, n, state)) = &mut self.current {
                if *n > 0 {
                    let from = n.saturating_sub(ROWS_PER_STEP);
                    let rows = (from..*n).filter(|&r| state.as_ref().is_none_or(|s| s[r] != NO));
                    let mut evs = d.events(&self.part, rows)?;
                    evs.reverse();
                    self.buf.extend(evs);
                    *n = from;
                    continue;
                }
                self.current = None;
            }
            if self.next_block == 0 {
                return Ok(None);
            }
            self.next_block -= 1;
            let m = self.part.blocks[self.next_block];
            if self.lower.is_some_and(|l| m.max < l) {
                self.next_block = 0;
                return Ok(None);
            }
            let b = self.next_block;
            let cached = cache.cached(&self.part, b);
            let header = match &cached {
                Some(_) => None,
                None => Some(shared.columns.header(&self.part, b)?),
            };
            let h = match (&cached, &header) {
                (Some(d), _) => &d.header,
                (None, Some(h)) => &**h,
                (None, None) => unreachable!("a header was read"),
            };
            if !prune::may_match(&self.part, b, h, self.predicates, &shared.columns)? {
                shared.blocks_skipped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            // Rows the predicates rule out are known from the named columns before the
            // block is decoded whole: a block with none left (a filter's false positive) is
            // skipped unread.
            let state = if self.prefilter.is_empty() {
                None
            } else {
                let rows = LazyRows::new(
                    &self.part,
                    b,
                    h,
                    cached.as_ref().map(|d| &d.rows),
                    &shared.columns,
                );
                let part = &self.part;
                let mut readers = Default::default();
                let state = count::select(
                    part,
                    b,
                    h,
                    self.prefilter,
                    &shared.columns,
                    &rows,
                    &mut readers,
                )?;
                if state.iter().all(|&s| s == NO) {
                    shared.blocks_skipped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Some(state)
            };
            shared.blocks_read.fetch_add(1, Ordering::Relaxed);
            let d = match (cached, header) {
                (Some(d), _) => d,
                (None, Some(h)) => cache.load(&self.part, b, (*h).clone())?,
                (None, None) => unreachable!("a header was read"),
            };
            let n = self.upper.map_or(d.rows.ids.len(), |u| {
                d.rows.ids.partition_point(|id| *id < u)
            });
            if state
                .as_ref()
                .is_some_and(|st| st[..n].iter().all(|&s| s == NO))
            {
                continue;
            }
            self.current = Some((d, n, state));
        }
    }
}

/// A cursor's next event: still encoded (memtable) or already rebuilt (part).
enum Item {
    Enc(Enc),
    Event(Box<Event>),
}

enum Cursor<'r> {
    Mem(MemCursor),
    Part(PartCursor<'r>),
}

impl Cursor<'_> {
    fn next(
        &mut self,
        shared: &Shared,
        cache: &BlockCache,
    ) -> Result<Option<(EventId, Item)>, ReadError> {
        match self {
            Cursor::Mem(c) => Ok(c.next().map(|(id, e)| (id, Item::Enc(e)))),
            Cursor::Part(c) => c
                .next(shared, cache)
                .map_err(|e| shared.part_read_error(&c.part, e)),
        }
    }
}

fn decode(id: EventId, item: Item) -> Result<StoredEvent, ReadError> {
    match item {
        Item::Event(event) => Ok(StoredEvent { id, event: *event }),
        Item::Enc(enc) => match codec::decode_event(enc.bytes()) {
            Ok(event) => Ok(StoredEvent { id, event }),
            Err(detail) => Err(ReadError::Corrupt {
                file: PathBuf::from("memtable"),
                detail: format!("event {id}: {detail}"),
            }),
        },
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

    // Rows the predicates reject are skipped without being rebuilt (memtable rows are
    // decided from their encoding, part rows from their columns). A `ci` prefix may come
    // from `like`, whose case folding is per character: it is left to the filter.
    let safe: Vec<Predicate> = req
        .predicates
        .iter()
        .filter(|p| !matches!(p, Predicate::PropertyPrefix { ci: true, .. }))
        .cloned()
        .collect();
    let prefilter = Prepared::for_predicates(&safe);

    let (memtables, parts) = shared.snapshot();
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
        .chain(parts.into_iter().filter_map(|part| {
            let below = upper.is_some_and(|u| part.info.min >= u);
            let above = lower.is_some_and(|l| part.info.max < l);
            (!below && !above).then(|| {
                Cursor::Part(PartCursor::new(
                    part,
                    req.predicates,
                    &prefilter,
                    lower,
                    upper,
                ))
            })
        }))
        .collect();

    let cache = &shared.cache;
    // A part is opened (its newest block read) only when the merge reaches its newest
    // possible id: until then its entry in the heap is that bound, so a first page over many
    // parts reads the few it needs.
    let mut heads: Vec<Option<Item>> = Vec::with_capacity(cursors.len());
    let mut opened: Vec<bool> = Vec::with_capacity(cursors.len());
    let mut heap = BinaryHeap::with_capacity(cursors.len());
    for (i, c) in cursors.iter_mut().enumerate() {
        heads.push(None);
        match c {
            Cursor::Part(p) => {
                let bound = upper.map_or(p.part.info.max, |u| u.min(p.part.info.max));
                heap.push((bound, i));
                opened.push(false);
            }
            Cursor::Mem(_) => {
                opened.push(true);
                if let Some((id, enc)) = c.next(shared, cache)? {
                    heap.push((id, i));
                    heads[i] = Some(enc);
                }
            }
        }
    }

    let mut templates = foldhash::HashMap::default();
    let scan_limit = req.scan_limit.map(|n| n.max(1));
    let mut events = Vec::with_capacity(req.count.min(1024));
    let mut examined = 0usize;
    let mut last_read = None;
    while let Some((id, i)) = heap.pop() {
        if !opened[i] {
            opened[i] = true;
            if let Some((first, item)) = cursors[i].next(shared, cache)? {
                heap.push((first, i));
                heads[i] = Some(item);
            }
            continue;
        }
        let item = heads[i].take().expect("a head for every opened heap entry");
        if let Some((nid, next)) = cursors[i].next(shared, cache)? {
            heap.push((nid, i));
            heads[i] = Some(next);
        }
        let rejected = !safe.is_empty()
            && matches!(&item, Item::Enc(enc) if prefilter.rejects(enc.bytes(), id.ticks, &mut templates));
        examined += 1;
        last_read = Some(id);
        let ev = if rejected {
            None
        } else {
            Some(decode(id, item)?)
        };
        if let Some(ev) = ev
            && req.filter.is_none_or(|f| f(&ev))
        {
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
    let (memtables, parts) = shared.snapshot();
    for mt in &memtables {
        let found = read(&mt.inner).map.get(&id).cloned();
        if let Some(enc) = found {
            return decode(id, Item::Enc(enc)).map(Some);
        }
    }
    for part in &parts {
        if id < part.info.min || id > part.info.max {
            continue;
        }
        let b = part.blocks.partition_point(|m| m.max < id);
        if b < part.blocks.len() && part.blocks[b].min <= id {
            let found = (|| {
                let d = shared.cache.get(part, b)?;
                match d.rows.ids.binary_search(&id) {
                    Ok(row) => Ok(d.events(part, [row])?.pop()),
                    Err(_) => Ok(None),
                }
            })()
            .map_err(|e| shared.part_read_error(part, e))?;
            if let Some((id, event)) = found {
                return Ok(Some(StoredEvent { id, event }));
            }
        }
    }
    Ok(None)
}
