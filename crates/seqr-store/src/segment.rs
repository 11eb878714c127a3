//! Immutable segment files: events sorted by id in zstd-compressed, checksummed blocks.
//!
//! Layout (all little-endian; full description in `docs/FORMAT.md`):
//! ```text
//! "SEQRSEG\x01"                       8-byte head magic
//! block 0 .. block n-1                 zstd frames, crc32 of each frame in the index
//! index: n x 56-byte entries           min_ticks i64, min_arrival u64, max_ticks i64,
//!                                      max_arrival u64, offset u64, comp_len u32, raw_len u32,
//!                                      crc u32, count u32
//! footer (64 bytes)                    version u32, flags u32, wal_generation u64,
//!                                      event_count u64, max_arrival u64, index_offset u64,
//!                                      index_len u32, index_crc u32, block_count u32,
//!                                      footer_crc u32 (of the 52 bytes before it), "SEQRSEGF"
//! ```
//! A decompressed block is `count u32`, then `count` x (`ticks i64, arrival u64, offset u32,
//! len u32`), then the rows (offsets are from the start of the decompressed block).

use std::collections::{HashMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use seqr_types::EventId;

use crate::ReadError;

pub(crate) const HEAD_MAGIC: &[u8; 8] = b"SEQRSEG\x01";
pub(crate) const FOOT_MAGIC: &[u8; 8] = b"SEQRSEGF";
pub(crate) const VERSION: u32 = 1;
pub(crate) const FOOTER_LEN: usize = 64;
pub(crate) const INDEX_ENTRY_LEN: usize = 56;
const ROW_META_LEN: usize = 24;

pub(crate) fn file_name(wal_generation: u64) -> String {
    format!("seg-{wal_generation:016x}.seg")
}

pub(crate) fn parse_name(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("seg-")?.strip_suffix(".seg")?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct BlockMeta {
    pub(crate) min: EventId,
    pub(crate) max: EventId,
    pub(crate) offset: u64,
    pub(crate) comp_len: u32,
    pub(crate) raw_len: u32,
    pub(crate) crc: u32,
    pub(crate) count: u32,
}

/// An open, verified segment.
pub(crate) struct Segment {
    /// Unique within the process, for the block cache.
    pub(crate) id: u64,
    pub(crate) path: PathBuf,
    file: File,
    pub(crate) blocks: Vec<BlockMeta>,
    pub(crate) wal_generation: u64,
    pub(crate) event_count: u64,
    pub(crate) max_arrival: u64,
    pub(crate) file_len: u64,
}

/// Sizing of blocks when writing.
pub(crate) struct WriteParams {
    pub(crate) block_events: usize,
    pub(crate) block_bytes: usize,
    pub(crate) zstd_level: i32,
}

struct BlockBuilder {
    ids: Vec<EventId>,
    spans: Vec<(u32, u32)>,
    data: Vec<u8>,
}

impl BlockBuilder {
    fn raw(&self) -> Vec<u8> {
        let n = self.ids.len();
        let head = 4 + n * ROW_META_LEN;
        let mut raw = Vec::with_capacity(head + self.data.len());
        raw.extend_from_slice(&(n as u32).to_le_bytes());
        for (id, (start, len)) in self.ids.iter().zip(&self.spans) {
            raw.extend_from_slice(&id.ticks.to_le_bytes());
            raw.extend_from_slice(&id.arrival.to_le_bytes());
            raw.extend_from_slice(&(start + head as u32).to_le_bytes());
            raw.extend_from_slice(&len.to_le_bytes());
        }
        raw.extend_from_slice(&self.data);
        raw
    }
}

/// Writes a segment covering WAL generations up to `wal_generation` from rows in ascending id
/// order: temp file, fsync, rename, fsync the directory. Returns the final path.
pub(crate) fn write<'a>(
    dir: &Path,
    wal_generation: u64,
    rows: impl Iterator<Item = (EventId, &'a [u8])>,
    params: &WriteParams,
) -> io::Result<PathBuf> {
    let final_path = dir.join(file_name(wal_generation));
    let tmp_path = dir.join(format!("{}.tmp", file_name(wal_generation)));
    let result = (|| {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp_path)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(HEAD_MAGIC)?;
        let mut offset = HEAD_MAGIC.len() as u64;
        let mut compressor = zstd::bulk::Compressor::new(params.zstd_level)?;
        let mut index: Vec<u8> = Vec::new();
        let mut block_count = 0u32;
        let mut event_count = 0u64;
        let mut max_arrival = 0u64;
        let mut b = BlockBuilder {
            ids: Vec::new(),
            spans: Vec::new(),
            data: Vec::new(),
        };
        let mut flush = |b: &mut BlockBuilder, out: &mut BufWriter<File>| -> io::Result<()> {
            if b.ids.is_empty() {
                return Ok(());
            }
            let raw = b.raw();
            let comp = compressor.compress(&raw)?;
            out.write_all(&comp)?;
            let (min, max) = (b.ids[0], b.ids[b.ids.len() - 1]);
            for v in [
                min.ticks as u64,
                min.arrival,
                max.ticks as u64,
                max.arrival,
                offset,
            ] {
                index.extend_from_slice(&v.to_le_bytes());
            }
            for v in [
                comp.len() as u32,
                raw.len() as u32,
                crc32fast::hash(&comp),
                b.ids.len() as u32,
            ] {
                index.extend_from_slice(&v.to_le_bytes());
            }
            offset += comp.len() as u64;
            block_count += 1;
            event_count += b.ids.len() as u64;
            max_arrival = b.ids.iter().fold(max_arrival, |m, id| m.max(id.arrival));
            b.ids.clear();
            b.spans.clear();
            b.data.clear();
            Ok(())
        };
        for (id, row) in rows {
            b.ids.push(id);
            b.spans.push((b.data.len() as u32, row.len() as u32));
            b.data.extend_from_slice(row);
            if b.ids.len() >= params.block_events || b.data.len() >= params.block_bytes {
                flush(&mut b, &mut out)?;
            }
        }
        flush(&mut b, &mut out)?;
        let index_offset = offset;
        out.write_all(&index)?;
        let mut footer = Vec::with_capacity(FOOTER_LEN);
        footer.extend_from_slice(&VERSION.to_le_bytes());
        footer.extend_from_slice(&0u32.to_le_bytes());
        for v in [wal_generation, event_count, max_arrival, index_offset] {
            footer.extend_from_slice(&v.to_le_bytes());
        }
        for v in [index.len() as u32, crc32fast::hash(&index), block_count] {
            footer.extend_from_slice(&v.to_le_bytes());
        }
        let crc = crc32fast::hash(&footer);
        footer.extend_from_slice(&crc.to_le_bytes());
        footer.extend_from_slice(FOOT_MAGIC);
        out.write_all(&footer)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp_path, &final_path)?;
        crate::wal::sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp_path);
    }
    result.map(|()| final_path)
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Why a segment cannot be opened: I/O (try again later) or damage (quarantine it).
pub(crate) enum SegmentOpenError {
    Io(io::Error),
    Corrupt(String),
}

impl From<io::Error> for SegmentOpenError {
    fn from(e: io::Error) -> Self {
        SegmentOpenError::Io(e)
    }
}

impl Segment {
    /// Opens a segment, checking head magic, footer, index and (when `verify_blocks`) every
    /// block checksum.
    pub(crate) fn open(
        path: &Path,
        id: u64,
        verify_blocks: bool,
    ) -> Result<Segment, SegmentOpenError> {
        use SegmentOpenError::Corrupt;
        let file = File::open(path)?;
        let file_len = file.metadata()?.len();
        if file_len < (HEAD_MAGIC.len() + FOOTER_LEN) as u64 {
            return Err(Corrupt(format!(
                "{file_len} bytes is too short for a segment"
            )));
        }
        let mut head = [0u8; 8];
        file.read_exact_at(&mut head, 0)?;
        if &head != HEAD_MAGIC {
            return Err(Corrupt("bad head magic".into()));
        }
        let mut f = [0u8; FOOTER_LEN];
        file.read_exact_at(&mut f, file_len - FOOTER_LEN as u64)?;
        if &f[56..] != FOOT_MAGIC {
            return Err(Corrupt("bad footer magic".into()));
        }
        if crc32fast::hash(&f[..52]) != le_u32(&f, 52) {
            return Err(Corrupt("footer checksum mismatch".into()));
        }
        let version = le_u32(&f, 0);
        if version != VERSION {
            return Err(Corrupt(format!("unknown format version {version}")));
        }
        let wal_generation = le_u64(&f, 8);
        let event_count = le_u64(&f, 16);
        let max_arrival = le_u64(&f, 24);
        let index_offset = le_u64(&f, 32);
        let index_len = le_u32(&f, 40) as usize;
        let index_crc = le_u32(&f, 44);
        let block_count = le_u32(&f, 48) as usize;
        if block_count
            .checked_mul(INDEX_ENTRY_LEN)
            .is_none_or(|n| n != index_len)
            || index_offset + index_len as u64 + FOOTER_LEN as u64 != file_len
        {
            return Err(Corrupt("index position or size is inconsistent".into()));
        }
        let mut index = vec![0u8; index_len];
        file.read_exact_at(&mut index, index_offset)?;
        if crc32fast::hash(&index) != index_crc {
            return Err(Corrupt("index checksum mismatch".into()));
        }
        let mut blocks = Vec::with_capacity(block_count);
        let mut expect_offset = HEAD_MAGIC.len() as u64;
        let mut total = 0u64;
        for e in index.chunks_exact(INDEX_ENTRY_LEN) {
            let m = BlockMeta {
                min: EventId {
                    ticks: le_u64(e, 0) as i64,
                    arrival: le_u64(e, 8),
                },
                max: EventId {
                    ticks: le_u64(e, 16) as i64,
                    arrival: le_u64(e, 24),
                },
                offset: le_u64(e, 32),
                comp_len: le_u32(e, 40),
                raw_len: le_u32(e, 44),
                crc: le_u32(e, 48),
                count: le_u32(e, 52),
            };
            let sorted = blocks.last().is_none_or(|p: &BlockMeta| p.max < m.min);
            if m.offset != expect_offset || m.min > m.max || !sorted || m.count == 0 {
                return Err(Corrupt(format!(
                    "block {} index entry is inconsistent",
                    blocks.len()
                )));
            }
            expect_offset += u64::from(m.comp_len);
            total += u64::from(m.count);
            blocks.push(m);
        }
        if expect_offset != index_offset || total != event_count {
            return Err(Corrupt("block index does not cover the data".into()));
        }
        let seg = Segment {
            id,
            path: path.to_owned(),
            file,
            blocks,
            wal_generation,
            event_count,
            max_arrival,
            file_len,
        };
        if verify_blocks {
            let mut buf = Vec::new();
            for (i, m) in seg.blocks.iter().enumerate() {
                buf.resize(m.comp_len as usize, 0);
                seg.file.read_exact_at(&mut buf, m.offset)?;
                if crc32fast::hash(&buf) != m.crc {
                    return Err(Corrupt(format!("block {i} checksum mismatch")));
                }
            }
        }
        Ok(seg)
    }

    fn corrupt(&self, detail: String) -> ReadError {
        ReadError::Corrupt {
            file: self.path.clone(),
            detail,
        }
    }

    /// Reads, checks and decompresses block `i`.
    pub(crate) fn load_block(&self, i: usize) -> Result<Block, ReadError> {
        let m = &self.blocks[i];
        let mut comp = vec![0u8; m.comp_len as usize];
        self.file
            .read_exact_at(&mut comp, m.offset)
            .map_err(|source| ReadError::Io {
                file: self.path.clone(),
                source,
            })?;
        if crc32fast::hash(&comp) != m.crc {
            return Err(self.corrupt(format!("block {i} checksum mismatch")));
        }
        let raw = zstd::bulk::decompress(&comp, m.raw_len as usize)
            .map_err(|e| self.corrupt(format!("block {i} does not decompress: {e}")))?;
        Block::new(raw, m).map_err(|d| self.corrupt(format!("block {i}: {d}")))
    }
}

/// A decompressed, validated block.
pub(crate) struct Block {
    pub(crate) raw: Arc<Vec<u8>>,
    pub(crate) count: usize,
}

impl Block {
    fn new(raw: Vec<u8>, m: &BlockMeta) -> Result<Block, String> {
        if raw.len() != m.raw_len as usize || raw.len() < 4 {
            return Err("decompressed size mismatch".into());
        }
        let count = le_u32(&raw, 0) as usize;
        let head = count
            .checked_mul(ROW_META_LEN)
            .and_then(|n| n.checked_add(4))
            .filter(|&n| n <= raw.len())
            .ok_or("row table runs past the block")?;
        if count != m.count as usize {
            return Err("row count differs from the index".into());
        }
        let b = Block {
            raw: Arc::new(raw),
            count,
        };
        let mut prev: Option<EventId> = None;
        for i in 0..count {
            let id = b.id(i);
            let (start, len) = b.span(i);
            if start < head || start + len > b.raw.len() || prev.is_some_and(|p| p >= id) {
                return Err(format!("row {i} is inconsistent"));
            }
            prev = Some(id);
        }
        if b.id(0) != m.min || b.id(count - 1) != m.max {
            return Err("row ids differ from the index".into());
        }
        Ok(b)
    }

    pub(crate) fn id(&self, i: usize) -> EventId {
        let at = 4 + i * ROW_META_LEN;
        EventId {
            ticks: le_u64(&self.raw, at) as i64,
            arrival: le_u64(&self.raw, at + 8),
        }
    }

    pub(crate) fn span(&self, i: usize) -> (usize, usize) {
        let at = 4 + i * ROW_META_LEN + 16;
        (
            le_u32(&self.raw, at) as usize,
            le_u32(&self.raw, at + 4) as usize,
        )
    }

    /// Number of rows with id < `upper`.
    pub(crate) fn rows_below(&self, upper: EventId) -> usize {
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.id(mid) < upper {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

impl Clone for Block {
    fn clone(&self) -> Self {
        Block {
            raw: Arc::clone(&self.raw),
            count: self.count,
        }
    }
}

type BlockKey = (u64, usize);
type CacheInner = (HashMap<BlockKey, Block>, VecDeque<BlockKey>);

/// A small FIFO cache of decompressed blocks, keyed by (segment id, block index).
pub(crate) struct BlockCache {
    capacity: usize,
    inner: Mutex<CacheInner>,
}

impl BlockCache {
    pub(crate) fn new(capacity: usize) -> BlockCache {
        BlockCache {
            capacity,
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    pub(crate) fn get(&self, seg: &Segment, i: usize) -> Result<Block, ReadError> {
        let key = (seg.id, i);
        if let Some(b) = self.inner.lock().unwrap().0.get(&key) {
            return Ok(b.clone());
        }
        let b = seg.load_block(i)?;
        if self.capacity > 0 {
            let mut g = self.inner.lock().unwrap();
            let (map, order) = &mut *g;
            if map.insert(key, b.clone()).is_none() {
                order.push_back(key);
            }
            while order.len() > self.capacity {
                if let Some(old) = order.pop_front() {
                    map.remove(&old);
                }
            }
        }
        Ok(b)
    }
}
