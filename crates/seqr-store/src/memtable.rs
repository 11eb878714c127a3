//! Memtables: events acknowledged but not yet in a segment, keyed by id.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};

use crate::EventId;
use crate::segment::Segment;

/// A reference to one encoded row inside a shared buffer (a WAL record, a replayed WAL file
/// or a decompressed segment block).
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

/// A memtable: the active one takes inserts; frozen ones wait for their segment.
#[derive(Default)]
pub(crate) struct Memtable {
    pub(crate) inner: RwLock<MemInner>,
    /// Set when frozen: the last WAL generation whose events it holds.
    pub(crate) frozen_gen: OnceLock<u64>,
}

pub(crate) struct State {
    /// Oldest first; the last is the active one.
    pub(crate) memtables: Vec<Arc<Memtable>>,
    pub(crate) segments: Vec<Arc<Segment>>,
}
