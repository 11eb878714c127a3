//! Memtables: events acknowledged but not yet in a part, keyed by id.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};

use crate::EventId;
use crate::part::Part;

/// A reference to one encoded row inside a shared buffer (a WAL record or a replayed WAL
/// file).
#[derive(Clone)]
pub(crate) struct Enc {
    pub(crate) buf: Arc<Vec<u8>>,
    pub(crate) start: u32,
    pub(crate) len: u32,
}

impl Enc {
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[self.start as usize..(self.start + self.len) as usize]
    }
}

#[derive(Default)]
pub(crate) struct MemInner {
    pub(crate) map: BTreeMap<EventId, Enc>,
    pub(crate) bytes: usize,
}

/// A memtable: the active one takes inserts; frozen ones wait for their parts.
#[derive(Default)]
pub(crate) struct Memtable {
    pub(crate) inner: RwLock<MemInner>,
    /// Set when frozen: the last WAL generation whose events it holds.
    pub(crate) frozen_gen: OnceLock<u64>,
}

pub(crate) struct State {
    /// Oldest first; the last is the active one.
    pub(crate) memtables: Vec<Arc<Memtable>>,
    /// Live parts, as the manifest lists them.
    pub(crate) parts: Vec<Arc<Part>>,
}
