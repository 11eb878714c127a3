//! Decoded blocks kept for searches, bounded by count (oldest inserted evicted first), so
//! paging through a block decompresses it once and memory does not grow with data size.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::lock;
use crate::part::block::{self, BlockHeader, Rows};
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
