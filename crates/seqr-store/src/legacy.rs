//! Reading format-1 segments (`seg-*.seg`, row blocks), only to migrate them into parts when
//! a store written by an older seqr is opened. Layout: `docs/FORMAT.md`, "Format 1".

use seqr_types::{Event, EventId};

use crate::codec;
use crate::part::bytes::{Corrupt, Reader, corrupt};

const HEAD_MAGIC: &[u8; 8] = b"SEQRSEG\x01";
const FOOT_MAGIC: &[u8; 8] = b"SEQRSEGF";
const FOOTER_LEN: usize = 64;
const INDEX_ENTRY_LEN: usize = 56;

pub(crate) fn parse_name(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("seg-")?.strip_suffix(".seg")?;
    (hex.len() == 16).then(|| u64::from_str_radix(hex, 16).ok())?
}

struct BlockRef {
    offset: usize,
    len: usize,
    raw_len: usize,
    crc: u32,
    count: usize,
}

/// A whole format-1 segment file, checked.
pub(crate) struct Segment<'a> {
    bytes: &'a [u8],
    blocks: Vec<BlockRef>,
    pub(crate) wal_generation: u64,
    pub(crate) max_arrival: u64,
}

impl<'a> Segment<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Segment<'a>, Corrupt> {
        if bytes.len() < HEAD_MAGIC.len() + FOOTER_LEN || &bytes[..8] != HEAD_MAGIC {
            return corrupt("not a format-1 segment");
        }
        let f = &bytes[bytes.len() - FOOTER_LEN..];
        if &f[56..] != FOOT_MAGIC
            || crc32fast::hash(&f[..52]) != u32::from_le_bytes(f[52..56].try_into().expect("4"))
        {
            return corrupt("bad segment footer");
        }
        let mut r = Reader::new(&f[..52]);
        let version = r.u32()?;
        let _flags = r.u32()?;
        let wal_generation = r.u64()?;
        let event_count = r.u64()?;
        let max_arrival = r.u64()?;
        let index_offset = r.u64()? as usize;
        let index_len = r.u32()? as usize;
        let index_crc = r.u32()?;
        let block_count = r.u32()? as usize;
        if version != 1 || block_count * INDEX_ENTRY_LEN != index_len {
            return corrupt("bad segment version or index size");
        }
        let index = bytes
            .get(index_offset..index_offset + index_len)
            .ok_or(Corrupt("segment index out of bounds".into()))?;
        if crc32fast::hash(index) != index_crc {
            return corrupt("segment index checksum mismatch");
        }
        let mut blocks = Vec::with_capacity(block_count);
        let mut total = 0u64;
        let mut r = Reader::new(index);
        for _ in 0..block_count {
            r.take(32)?; // min and max ids, checked against the rows
            let b = BlockRef {
                offset: r.u64()? as usize,
                len: r.u32()? as usize,
                raw_len: r.u32()? as usize,
                crc: r.u32()?,
                count: r.u32()? as usize,
            };
            if b.offset.checked_add(b.len).is_none_or(|e| e > index_offset) {
                return corrupt("segment block out of bounds");
            }
            total += b.count as u64;
            blocks.push(b);
        }
        if total != event_count {
            return corrupt("segment counts do not add up");
        }
        Ok(Segment {
            bytes,
            blocks,
            wal_generation,
            max_arrival,
        })
    }

    pub(crate) fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// The events of block `i`, ascending ids.
    pub(crate) fn block(&self, i: usize) -> Result<Vec<(EventId, Event)>, Corrupt> {
        let b = &self.blocks[i];
        let comp = &self.bytes[b.offset..b.offset + b.len];
        if crc32fast::hash(comp) != b.crc {
            return corrupt(format!("segment block {i} checksum mismatch"));
        }
        let raw =
            zstd::bulk::decompress(comp, b.raw_len).or_else(|e| corrupt(format!("zstd: {e}")))?;
        let mut r = Reader::new(&raw);
        let count = r.u32()? as usize;
        if count != b.count {
            return corrupt("segment block row count");
        }
        let mut out = Vec::with_capacity(count);
        let mut prev: Option<EventId> = None;
        for _ in 0..count {
            let id = EventId {
                ticks: r.u64()? as i64,
                arrival: r.u64()?,
            };
            let (start, len) = (r.u32()? as usize, r.u32()? as usize);
            let row = raw
                .get(start..start + len)
                .ok_or(Corrupt("segment row out of bounds".into()))?;
            if prev.is_some_and(|p| p >= id) {
                return corrupt("segment rows out of order");
            }
            prev = Some(id);
            out.push((id, codec::decode_event(row).map_err(Corrupt)?));
        }
        Ok(out)
    }
}
