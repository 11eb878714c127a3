//! Decoded blocks kept for searches, bounded by count (oldest inserted evicted first), so
//! paging through a block decompresses it once and memory does not grow with data size.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::lock;
use crate::part::block::{self, BlockHeader, Rows};
use crate::part::build::Payload;
use crate::part::column::Column;
use crate::part::{Part, PartError};
use seqr_types::{Event, EventId};

/// A whole block, decoded: everything needed to rebuild any of its events.
pub(crate) struct Decoded {
    pub(crate) header: BlockHeader,
    pub(crate) rows: Rows,
    pub(crate) columns: Vec<Column>,
}

impl Decoded {
    pub(crate) fn load(part: &Part, b: usize, header: BlockHeader) -> Result<Decoded, PartError> {
        let rows = part.rows(b, &header)?;
        let columns = part.all_columns(b, &header)?;
        Ok(Decoded {
            header,
            rows,
            columns,
        })
    }

    /// Events at ascending row numbers.
    pub(crate) fn events(
        &self,
        part: &Part,
        rows: impl IntoIterator<Item = usize>,
    ) -> Result<Vec<(EventId, Event)>, PartError> {
        block::events(&part.names, &self.header, &self.rows, &self.columns, rows)
            .map_err(|c| PartError::Corrupt(c.0))
    }
}

type Key = (u64, usize);

/// Entries by key, and keys oldest first.
#[derive(Default)]
struct Entries {
    map: HashMap<Key, Arc<Decoded>>,
    order: VecDeque<Key>,
}

pub(crate) struct BlockCache {
    capacity: usize,
    inner: Mutex<Entries>,
}

impl BlockCache {
    pub(crate) fn new(capacity: usize) -> BlockCache {
        BlockCache {
            capacity,
            inner: Mutex::new(Entries::default()),
        }
    }

    /// Blocks held.
    pub(crate) fn len(&self) -> usize {
        lock(&self.inner).map.len()
    }

    pub(crate) fn cached(&self, part: &Part, b: usize) -> Option<Arc<Decoded>> {
        lock(&self.inner).map.get(&(part.info.id, b)).cloned()
    }

    /// Block `b`, from the cache or decoded (and cached).
    pub(crate) fn get(&self, part: &Part, b: usize) -> Result<Arc<Decoded>, PartError> {
        match self.cached(part, b) {
            Some(d) => Ok(d),
            None => self.load(part, b, part.header(b)?),
        }
    }

    /// Decodes block `b` given its header, and caches it.
    pub(crate) fn load(
        &self,
        part: &Part,
        b: usize,
        header: BlockHeader,
    ) -> Result<Arc<Decoded>, PartError> {
        let d = Arc::new(Decoded::load(part, b, header)?);
        if self.capacity > 0 {
            let key = (part.info.id, b);
            let mut g = lock(&self.inner);
            if g.map.insert(key, Arc::clone(&d)).is_none() {
                g.order.push_back(key);
            }
            while g.order.len() > self.capacity {
                if let Some(old) = g.order.pop_front() {
                    g.map.remove(&old);
                }
            }
        }
        Ok(d)
    }
}

/// What [`ColumnCache`] holds for one block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Piece {
    Header,
    /// The column of a names node.
    Column(u32),
    /// The token filter of a names node's column.
    Bloom(u32),
    /// The substring filter of a names node's column.
    Substrings(u32),
    /// The block's shape codes.
    Shapes,
    /// Per row, its rank in a names node's column (`u32::MAX`: none).
    Ranks(u32),
}

#[derive(Clone)]
enum Entry {
    Header(Arc<BlockHeader>),
    Column(Arc<Column>),
    Bloom(Arc<Vec<u8>>),
    /// Shape codes or ranks: one number per row.
    RowNumbers(Arc<Vec<u32>>),
}

#[derive(Default)]
struct Pieces {
    map: HashMap<(u64, usize, Piece), (Entry, usize)>,
    order: VecDeque<(u64, usize, Piece)>,
    bytes: usize,
}

/// One byte-bounded pool of pieces (oldest inserted evicted first).
struct Pool {
    capacity: usize,
    inner: Mutex<Pieces>,
}

impl Pool {
    fn new(capacity: usize) -> Pool {
        Pool {
            capacity,
            inner: Mutex::new(Pieces::default()),
        }
    }

    fn get_or(
        &self,
        key: (u64, usize, Piece),
        load: impl FnOnce() -> Result<(Entry, usize), PartError>,
    ) -> Result<Entry, PartError> {
        if let Some((e, _)) = lock(&self.inner).map.get(&key) {
            return Ok(e.clone());
        }
        let (e, size) = load()?;
        if self.capacity > 0 && size <= self.capacity / 4 {
            let mut g = lock(&self.inner);
            if g.map.insert(key, (e.clone(), size)).is_none() {
                g.order.push_back(key);
                g.bytes += size;
            }
            while g.bytes > self.capacity {
                let Some(old) = g.order.pop_front() else {
                    break;
                };
                if let Some((_, n)) = g.map.remove(&old) {
                    g.bytes -= n;
                }
            }
        }
        Ok(e)
    }
}

/// Decoded headers, filters and single columns, bounded by bytes: a repeated count or needle
/// search reads nothing from disk and decodes nothing, and memory stays fixed however much
/// data there is. Headers and filters (which every pruned search reads, block after block)
/// have their own pool, so scanning big columns never evicts them.
pub(crate) struct ColumnCache {
    metadata: Pool,
    columns: Pool,
    /// `0..n` by `n`: the ranks of a column every row of an `n`-row block has, shared by
    /// all such columns and blocks (a few row counts cover nearly every block).
    identities: Mutex<HashMap<usize, Arc<Vec<u32>>>>,
}

/// Row counts whose identity ranks are kept.
const IDENTITIES: usize = 16;

impl ColumnCache {
    pub(crate) fn new(metadata_capacity: usize, column_capacity: usize) -> ColumnCache {
        ColumnCache {
            metadata: Pool::new(metadata_capacity),
            columns: Pool::new(column_capacity),
            identities: Mutex::new(HashMap::new()),
        }
    }

    /// Bytes held by both pools.
    pub(crate) fn bytes(&self) -> u64 {
        (lock(&self.metadata.inner).bytes + lock(&self.columns.inner).bytes) as u64
    }

    /// Block `b`'s header.
    pub(crate) fn header(&self, part: &Part, b: usize) -> Result<Arc<BlockHeader>, PartError> {
        let e = self.metadata.get_or((part.info.id, b, Piece::Header), || {
            let h = part.header(b)?;
            let size = std::mem::size_of::<BlockHeader>()
                + h.columns.len() * std::mem::size_of::<block::ColumnMeta>()
                + h.columns
                    .iter()
                    .map(|c| c.constant.as_ref().map_or(0, Vec::len))
                    .sum::<usize>()
                + h.shapes.iter().map(|s| 24 + s.len() * 4).sum::<usize>();
            Ok((Entry::Header(Arc::new(h)), size))
        })?;
        match e {
            Entry::Header(h) => Ok(h),
            _ => unreachable!("a header entry"),
        }
    }

    /// The column `c` of block `b` (header `h`).
    pub(crate) fn column(
        &self,
        part: &Part,
        b: usize,
        h: &BlockHeader,
        c: usize,
    ) -> Result<Arc<Column>, PartError> {
        let e = self
            .columns
            .get_or((part.info.id, b, Piece::Column(h.columns[c].node)), || {
                let col = part.column(b, h, c)?;
                let size = col.heap_bytes() + 256;
                Ok((Entry::Column(Arc::new(col)), size))
            })?;
        match e {
            Entry::Column(c) => Ok(c),
            _ => unreachable!("a column entry"),
        }
    }

    /// The shape codes of block `b` (all a column's row ranks need), kept with the columns.
    pub(crate) fn shape_codes(
        &self,
        part: &Part,
        b: usize,
        h: &BlockHeader,
    ) -> Result<Arc<Vec<u32>>, PartError> {
        self.row_numbers((part.info.id, b, Piece::Shapes), || part.shape_codes(b, h))
    }

    /// A per-row array of block `b` kept with the columns, built by `build` when missing.
    fn row_numbers(
        &self,
        key: (u64, usize, Piece),
        build: impl FnOnce() -> Result<Vec<u32>, PartError>,
    ) -> Result<Arc<Vec<u32>>, PartError> {
        let e = self.columns.get_or(key, || {
            let numbers = build()?;
            let size = numbers.capacity() * 4 + 64;
            Ok((Entry::RowNumbers(Arc::new(numbers)), size))
        })?;
        match e {
            Entry::RowNumbers(s) => Ok(s),
            _ => unreachable!("a row numbers entry"),
        }
    }

    /// `0..n`, the ranks of a column present in every row of an `n`-row block.
    pub(crate) fn identity(&self, n: usize) -> Arc<Vec<u32>> {
        let mut known = lock(&self.identities);
        if let Some(r) = known.get(&n) {
            return r.clone();
        }
        let r = Arc::new((0..n as u32).collect::<Vec<u32>>());
        if known.len() < IDENTITIES {
            known.insert(n, r.clone());
        }
        r
    }

    /// Each row's rank in the column of names node `node` of block `b` (built by `build`
    /// from the shape codes), kept with the columns: every query that reads a sparse column
    /// needs them.
    pub(crate) fn ranks(
        &self,
        part: &Part,
        b: usize,
        node: u32,
        build: impl FnOnce() -> Result<Vec<u32>, PartError>,
    ) -> Result<Arc<Vec<u32>>, PartError> {
        self.row_numbers((part.info.id, b, Piece::Ranks(node)), build)
    }

    /// The token filter of column `c` of block `b`, checked and decompressed.
    pub(crate) fn bloom(
        &self,
        part: &Part,
        b: usize,
        h: &BlockHeader,
        c: usize,
    ) -> Result<Option<Arc<Vec<u8>>>, PartError> {
        let meta = &h.columns[c];
        self.filter(part, b, meta.bloom.as_ref(), Piece::Bloom(meta.node))
    }

    /// The substring filter of column `c` of block `b` (see `part::ngram`), checked.
    pub(crate) fn substrings(
        &self,
        part: &Part,
        b: usize,
        h: &BlockHeader,
        c: usize,
    ) -> Result<Option<Arc<Vec<u8>>>, PartError> {
        let meta = &h.columns[c];
        self.filter(
            part,
            b,
            meta.substrings.as_ref(),
            Piece::Substrings(meta.node),
        )
    }

    fn filter(
        &self,
        part: &Part,
        b: usize,
        payload: Option<&Payload>,
        piece: Piece,
    ) -> Result<Option<Arc<Vec<u8>>>, PartError> {
        let Some(p) = payload else {
            return Ok(None);
        };
        let e = self.metadata.get_or((part.info.id, b, piece), || {
            let raw = part.payload(b, p)?;
            let size = raw.len() + 64;
            Ok((Entry::Bloom(Arc::new(raw)), size))
        })?;
        match e {
            Entry::Bloom(x) => Ok(Some(x)),
            _ => unreachable!("a filter entry"),
        }
    }
}
