//! Immutable columnar parts: events of one day, sorted by id, in blocks of columns.
//!
//! ```text
//! "SEQRPRT1"                      head magic
//! block 0 .. block n-1            each: filters and column payloads, row streams, header
//! names                           the part's column paths (see `names`)
//! index: n x 64 bytes             min_ticks i64, min_arrival u64, max_ticks i64,
//!                                 max_arrival u64, rows u32, data_offset u64,
//!                                 header_offset u64, header_len u32, header_crc u32, 0 u32
//! footer (116 bytes)              see `Footer`; ends with footer_crc u32, "SEQRPRTF"
//! ```
//! Every payload carries its own crc32 in the block header, every header its crc in the
//! index, the index and names theirs in the footer, and the footer its own: no byte is
//! served unchecked. Full description: `docs/FORMAT.md`.

pub(crate) mod block;
pub(crate) mod bloom;
pub(crate) mod build;
pub(crate) mod bytes;
pub(crate) mod cell;
pub(crate) mod column;
pub(crate) mod json;
pub(crate) mod names;
pub(crate) mod ngram;

use std::io;
use std::sync::Arc;

#[cfg(test)]
use seqr_types::Event;
use seqr_types::EventId;

use crate::codec::RowView;
use crate::dir::{Dir, ReadFile, WriteFile};
use block::{BlockHeader, Rows};
use build::Payload;
use bytes::{Corrupt, Reader};
use column::Column;
use names::Names;

pub(crate) const HEAD_MAGIC: &[u8; 8] = b"SEQRPRT1";
pub(crate) const FOOT_MAGIC: &[u8; 8] = b"SEQRPRTF";
/// Version 3 added column summaries and substring filters to block headers; version 2
/// parts (without them) read unchanged.
pub(crate) const VERSION: u32 = 3;
const OLDEST_READABLE: u32 = 2;
pub(crate) const FOOTER_LEN: usize = 116;
const INDEX_ENTRY_LEN: usize = 64;

/// One block as the part index describes it (kept in memory for every open part).
#[derive(Clone, Copy, Debug)]
pub(crate) struct BlockEntry {
    pub(crate) min: EventId,
    pub(crate) max: EventId,
    pub(crate) rows: u32,
    pub(crate) data_offset: u64,
    pub(crate) header_offset: u64,
    pub(crate) header_len: u32,
    pub(crate) header_crc: u32,
}

/// What a part's footer says about it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PartInfo {
    pub(crate) id: u64,
    /// 0 for a flushed part; merges produce `max(inputs) + 1`.
    pub(crate) tier: u32,
    /// The UTC day of every event, in days since 0001-01-01 ([`day_of`]).
    pub(crate) day: u32,
    pub(crate) events: u64,
    pub(crate) min: EventId,
    pub(crate) max: EventId,
    pub(crate) max_arrival: u64,
}

/// Block sizing and compression when writing.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WriteParams {
    pub(crate) block_events: usize,
    pub(crate) zstd_level: i32,
}

/// Writes a part block by block (events in ascending id order, all of one day), so a
/// flush or merge holds one block of decoded events at a time. The caller names the file
/// (temp name, rename, directory sync).
pub(crate) struct PartWriter {
    file: Box<dyn WriteFile>,
    info: PartInfo,
    names: Names,
    zstd: zstd::bulk::Compressor<'static>,
    offset: u64,
    index: Vec<u8>,
}

impl PartWriter {
    pub(crate) fn new(
        mut file: Box<dyn WriteFile>,
        id: u64,
        tier: u32,
        day: u32,
        params: WriteParams,
    ) -> io::Result<PartWriter> {
        file.write_all(HEAD_MAGIC)?;
        Ok(PartWriter {
            file,
            info: PartInfo {
                id,
                tier,
                day,
                ..PartInfo::default()
            },
            names: Names::default(),
            zstd: zstd::bulk::Compressor::new(params.zstd_level)?,
            offset: HEAD_MAGIC.len() as u64,
            index: Vec::new(),
        })
    }

    /// Writes one block (at most `WriteParams::block_events` events, ids ascending and
    /// above every earlier block's).
    pub(crate) fn add_block(&mut self, ids: &[EventId], rows: &[RowView<'_>]) -> io::Result<()> {
        debug_assert!(ids.len() <= block::MAX_BLOCK_ROWS as usize);
        let b = build::build_block(&mut self.names, ids, rows, &mut self.zstd)
            .map_err(|c| io::Error::other(format!("an event's JSON is malformed: {c}")))?;
        let header = &b.bytes[b.header_at..];
        put_entry(
            &mut self.index,
            &BlockEntry {
                min: b.min,
                max: b.max,
                rows: b.rows,
                data_offset: self.offset,
                header_offset: self.offset + b.header_at as u64,
                header_len: header.len() as u32,
                header_crc: crc32fast::hash(header),
            },
        );
        self.file.write_all(&b.bytes)?;
        self.offset += b.bytes.len() as u64;
        if self.info.events == 0 {
            self.info.min = b.min;
        }
        self.info.max = b.max;
        self.info.events += u64::from(b.rows);
        self.info.max_arrival = ids
            .iter()
            .fold(self.info.max_arrival, |m, id| m.max(id.arrival));
        Ok(())
    }

    /// Writes names, index and footer, and syncs the file.
    pub(crate) fn finish(mut self) -> io::Result<PartInfo> {
        assert!(self.info.events > 0, "a part holds at least one block");
        let info = self.info;
        let mut names_bytes = Vec::new();
        self.names.encode(&mut names_bytes);
        let names_offset = self.offset;
        self.file.write_all(&names_bytes)?;
        let index_offset = names_offset + names_bytes.len() as u64;
        self.file.write_all(&self.index)?;
        let mut f = Vec::with_capacity(FOOTER_LEN);
        f.extend_from_slice(&VERSION.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&info.id.to_le_bytes());
        f.extend_from_slice(&info.tier.to_le_bytes());
        f.extend_from_slice(&info.day.to_le_bytes());
        f.extend_from_slice(&info.events.to_le_bytes());
        put_id(&mut f, info.min);
        put_id(&mut f, info.max);
        f.extend_from_slice(&info.max_arrival.to_le_bytes());
        f.extend_from_slice(&names_offset.to_le_bytes());
        f.extend_from_slice(&(names_bytes.len() as u32).to_le_bytes());
        f.extend_from_slice(&crc32fast::hash(&names_bytes).to_le_bytes());
        f.extend_from_slice(&index_offset.to_le_bytes());
        f.extend_from_slice(&(self.index.len() as u32).to_le_bytes());
        f.extend_from_slice(&crc32fast::hash(&self.index).to_le_bytes());
        let crc = crc32fast::hash(&f);
        f.extend_from_slice(&crc.to_le_bytes());
        f.extend_from_slice(FOOT_MAGIC);
        debug_assert_eq!(f.len(), FOOTER_LEN);
        self.file.write_all(&f)?;
        self.file.sync()?;
        Ok(info)
    }
}

/// Writes a whole part from events in memory (tests and small inputs).
#[cfg(test)]
pub(crate) fn write(
    file: Box<dyn WriteFile>,
    id: u64,
    tier: u32,
    day: u32,
    events: &[(EventId, &Event)],
    params: &WriteParams,
) -> io::Result<PartInfo> {
    let mut w = PartWriter::new(file, id, tier, day, *params)?;
    for chunk in events.chunks(params.block_events.max(1)) {
        let ids: Vec<EventId> = chunk.iter().map(|(id, _)| *id).collect();
        let encoded: Vec<Vec<u8>> = chunk
            .iter()
            .map(|(_, e)| {
                let mut buf = Vec::new();
                crate::codec::encode_event(&mut buf, e);
                buf
            })
            .collect();
        let rows: Vec<RowView<'_>> = encoded
            .iter()
            .map(|b| crate::codec::view_event(b).expect("just encoded"))
            .collect();
        w.add_block(&ids, &rows)?;
    }
    w.finish()
}

fn put_id(out: &mut Vec<u8>, id: EventId) {
    out.extend_from_slice(&id.ticks.to_le_bytes());
    out.extend_from_slice(&id.arrival.to_le_bytes());
}

fn put_entry(out: &mut Vec<u8>, e: &BlockEntry) {
    put_id(out, e.min);
    put_id(out, e.max);
    out.extend_from_slice(&e.rows.to_le_bytes());
    out.extend_from_slice(&e.data_offset.to_le_bytes());
    out.extend_from_slice(&e.header_offset.to_le_bytes());
    out.extend_from_slice(&e.header_len.to_le_bytes());
    out.extend_from_slice(&e.header_crc.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
}

fn get_id(r: &mut Reader<'_>) -> Result<EventId, Corrupt> {
    Ok(EventId {
        ticks: r.u64()? as i64,
        arrival: r.u64()?,
    })
}

/// Why a part could not be read.
#[derive(Debug)]
pub(crate) enum PartError {
    Io(io::Error),
    Corrupt(String),
}

impl From<io::Error> for PartError {
    fn from(e: io::Error) -> PartError {
        PartError::Io(e)
    }
}

impl From<Corrupt> for PartError {
    fn from(c: Corrupt) -> PartError {
        PartError::Corrupt(c.0)
    }
}

impl std::fmt::Display for PartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PartError::Io(e) => write!(f, "{e}"),
            PartError::Corrupt(d) => f.write_str(d),
        }
    }
}

/// An open, checked part.
pub(crate) struct Part {
    /// Path inside the store directory.
    pub(crate) name: String,
    file: Arc<dyn ReadFile>,
    pub(crate) info: PartInfo,
    pub(crate) blocks: Vec<BlockEntry>,
    pub(crate) names: Names,
    pub(crate) file_len: u64,
}

impl Part {
    /// Opens `name`, checking footer, names and index; with `verify`, also every block
    /// (headers, payload checksums, row streams and columns decode).
    pub(crate) fn open(dir: &dyn Dir, name: &str, verify: bool) -> Result<Part, PartError> {
        let file = dir.open_read(name)?;
        let len = file.len();
        let min = (HEAD_MAGIC.len() + FOOTER_LEN) as u64;
        if len < min {
            return Err(PartError::Corrupt(format!(
                "{len} bytes is too short for a part"
            )));
        }
        let mut head = [0u8; 8];
        file.read_exact_at(&mut head, 0)?;
        if &head != HEAD_MAGIC {
            return Err(PartError::Corrupt("bad head magic".into()));
        }
        let mut f = vec![0u8; FOOTER_LEN];
        file.read_exact_at(&mut f, len - FOOTER_LEN as u64)?;
        if &f[FOOTER_LEN - 8..] != FOOT_MAGIC {
            return Err(PartError::Corrupt("bad footer magic".into()));
        }
        let body = &f[..FOOTER_LEN - 12];
        let crc = u32::from_le_bytes(f[FOOTER_LEN - 12..FOOTER_LEN - 8].try_into().expect("4"));
        if crc32fast::hash(body) != crc {
            return Err(PartError::Corrupt("footer checksum mismatch".into()));
        }
        let mut r = Reader::new(body);
        let version = r.u32()?;
        if !(OLDEST_READABLE..=VERSION).contains(&version) {
            return Err(PartError::Corrupt(format!(
                "unknown part version {version}"
            )));
        }
        let _flags = r.u32()?;
        let mut info = PartInfo {
            id: r.u64()?,
            tier: r.u32()?,
            day: r.u32()?,
            events: r.u64()?,
            ..PartInfo::default()
        };
        info.min = get_id(&mut r)?;
        info.max = get_id(&mut r)?;
        info.max_arrival = r.u64()?;
        let (names_offset, names_len, names_crc) = (r.u64()?, r.u32()?, r.u32()?);
        let (index_offset, index_len, index_crc) = (r.u64()?, r.u32()?, r.u32()?);
        let footer_at = len - FOOTER_LEN as u64;
        let section = |off: u64, n: u32, crc: u32, what: &str| -> Result<Vec<u8>, PartError> {
            if off < 8 || off.checked_add(u64::from(n)).is_none_or(|e| e > footer_at) {
                return Err(PartError::Corrupt(format!("{what} out of bounds")));
            }
            let mut buf = vec![0u8; n as usize];
            file.read_exact_at(&mut buf, off)?;
            if crc32fast::hash(&buf) != crc {
                return Err(PartError::Corrupt(format!("{what} checksum mismatch")));
            }
            Ok(buf)
        };
        let names = Names::decode(&section(names_offset, names_len, names_crc, "names")?)?;
        let index = section(index_offset, index_len, index_crc, "index")?;
        if index.len() % INDEX_ENTRY_LEN != 0 || index.is_empty() {
            return Err(PartError::Corrupt("bad index length".into()));
        }
        let mut blocks = Vec::with_capacity(index.len() / INDEX_ENTRY_LEN);
        let mut r = Reader::new(&index);
        let mut next_data = HEAD_MAGIC.len() as u64;
        let mut rows = 0u64;
        while !r.is_empty() {
            let b = BlockEntry {
                min: get_id(&mut r)?,
                max: get_id(&mut r)?,
                rows: r.u32()?,
                data_offset: r.u64()?,
                header_offset: r.u64()?,
                header_len: r.u32()?,
                header_crc: r.u32()?,
            };
            let _ = r.u32()?;
            let header_end = b.header_offset.checked_add(u64::from(b.header_len));
            let ordered = blocks.last().is_none_or(|p: &BlockEntry| p.max < b.min);
            if b.data_offset != next_data
                || b.header_offset < b.data_offset
                || header_end.is_none_or(|e| e > names_offset)
                || b.min > b.max
                || !ordered
                || b.rows == 0
            {
                return Err(PartError::Corrupt(format!(
                    "index entry {} is inconsistent",
                    blocks.len()
                )));
            }
            next_data = header_end.expect("checked");
            rows += u64::from(b.rows);
            blocks.push(b);
        }
        let first = blocks.first().expect("not empty");
        let last = blocks.last().expect("not empty");
        if next_data != names_offset
            || rows != info.events
            || first.min != info.min
            || last.max != info.max
            || index_offset != names_offset + u64::from(names_len)
            || index_offset + u64::from(index_len) != footer_at
        {
            return Err(PartError::Corrupt("index does not match the footer".into()));
        }
        let part = Part {
            name: name.to_owned(),
            file,
            info,
            blocks,
            names,
            file_len: len,
        };
        if verify {
            part.verify_blocks()?;
        }
        Ok(part)
    }

    /// Checks every block: headers, payload checksums, row streams and columns decode.
    pub(crate) fn verify_blocks(&self) -> Result<(), PartError> {
        for b in 0..self.blocks.len() {
            let h = self.header(b)?;
            let rows = self.rows(b, &h)?;
            let cols = self.all_columns(b, &h)?;
            for meta in &h.columns {
                for filter in [&meta.bloom, &meta.substrings].into_iter().flatten() {
                    self.payload(b, filter)?;
                }
            }
            let _ = (rows, cols);
        }
        Ok(())
    }

    /// Reads `buf.len()` bytes of the file at `offset` through the handle opened with the
    /// part, which stays readable after a merge or delete unlinks the file.
    pub(crate) fn read_raw(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, PartError> {
        let mut buf = vec![0u8; len];
        self.file.read_exact_at(&mut buf, offset)?;
        Ok(buf)
    }

    /// Block `b`'s header, checked.
    pub(crate) fn header(&self, b: usize) -> Result<BlockHeader, PartError> {
        let e = &self.blocks[b];
        let raw = self.read_at(e.header_offset, e.header_len as usize)?;
        if crc32fast::hash(&raw) != e.header_crc {
            return Err(PartError::Corrupt(format!(
                "block {b}: header checksum mismatch"
            )));
        }
        let h = BlockHeader::decode(&raw, e.header_offset - e.data_offset, self.names.len())
            .map_err(|c| PartError::Corrupt(format!("block {b}: {c}")))?;
        if h.rows != e.rows {
            return Err(PartError::Corrupt(format!(
                "block {b}: row count differs from the index"
            )));
        }
        Ok(h)
    }

    /// A payload of block `b`, checked and decompressed.
    pub(crate) fn payload(&self, b: usize, p: &Payload) -> Result<Vec<u8>, PartError> {
        let stored = self.read_at(self.blocks[b].data_offset + p.offset, p.len as usize)?;
        block::unpack(p, &stored).map_err(|c| PartError::Corrupt(format!("block {b}: {c}")))
    }

    pub(crate) fn rows(&self, b: usize, h: &BlockHeader) -> Result<Rows, PartError> {
        let raw = self.payload(b, &h.rows_payload)?;
        let r = Rows::decode(&raw, h, self.blocks[b].min)
            .map_err(|c| PartError::Corrupt(format!("block {b}: {c}")))?;
        if r.ids.last() != Some(&self.blocks[b].max) {
            return Err(PartError::Corrupt(format!(
                "block {b}: last id differs from the index"
            )));
        }
        Ok(r)
    }

    /// A block's shape codes alone ([`Rows::decode_shapes`]).
    pub(crate) fn shape_codes(&self, b: usize, h: &BlockHeader) -> Result<Vec<u32>, PartError> {
        let raw = self.payload(b, &h.rows_payload)?;
        Rows::decode_shapes(&raw, h).map_err(|c| PartError::Corrupt(format!("block {b}: {c}")))
    }

    pub(crate) fn column(&self, b: usize, h: &BlockHeader, c: usize) -> Result<Column, PartError> {
        let meta = &h.columns[c];
        let payload = meta
            .payload
            .as_ref()
            .map(|p| self.payload(b, p))
            .transpose()?;
        block::decode_column(meta, payload.as_deref())
            .map_err(|e| PartError::Corrupt(format!("block {b} column {c}: {e}")))
    }

    pub(crate) fn all_columns(&self, b: usize, h: &BlockHeader) -> Result<Vec<Column>, PartError> {
        (0..h.columns.len()).map(|c| self.column(b, h, c)).collect()
    }

    /// Whole events of block `b` at the given ascending row numbers.
    #[cfg(test)]
    pub(crate) fn events(
        &self,
        b: usize,
        rows: impl IntoIterator<Item = usize>,
    ) -> Result<Vec<(EventId, Event)>, PartError> {
        let h = self.header(b)?;
        let r = self.rows(b, &h)?;
        let cols = self.all_columns(b, &h)?;
        block::events(&self.names, &h, &r, &cols, rows)
            .map_err(|c| PartError::Corrupt(format!("block {b}: {c}")))
    }
}

/// Ticks per day: partitions are whole UTC days.
pub(crate) const TICKS_PER_DAY: i64 = 864_000_000_000;

/// The day (since 0001-01-01) of a timestamp in ticks.
pub(crate) fn day_of(ticks: i64) -> u32 {
    ticks
        .div_euclid(TICKS_PER_DAY)
        .clamp(0, i64::from(u32::MAX)) as u32
}

/// The partition directory of a day: `p-yyyymmdd`.
pub(crate) fn day_dir(day: u32) -> String {
    let iso = seqr_types::Timestamp::from_ticks(i64::from(day) * TICKS_PER_DAY).to_iso();
    let digits: String = iso.chars().take(10).filter(char::is_ascii_digit).collect();
    format!("p-{digits}")
}

/// A block's row streams for column evaluation, decoded on first use: the shape codes alone
/// (all a column's row ranks need) or whole, with the ids.
pub(crate) struct LazyRows<'a> {
    part: &'a Part,
    b: usize,
    h: &'a BlockHeader,
    given: Option<&'a Rows>,
    cache: &'a crate::cache::ColumnCache,
    rows: std::cell::OnceCell<Rows>,
    shapes: std::cell::OnceCell<Arc<Vec<u32>>>,
}

impl<'a> LazyRows<'a> {
    /// `given`: the rows, when the block is already decoded; shape codes alone come from
    /// (and stay in) `cache`.
    pub(crate) fn new(
        part: &'a Part,
        b: usize,
        h: &'a BlockHeader,
        given: Option<&'a Rows>,
        cache: &'a crate::cache::ColumnCache,
    ) -> Self {
        LazyRows {
            part,
            b,
            h,
            given,
            cache,
            rows: Default::default(),
            shapes: Default::default(),
        }
    }

    pub(crate) fn rows(&self) -> Result<&Rows, PartError> {
        if let Some(r) = self.given.or(self.rows.get()) {
            return Ok(r);
        }
        let r = self.part.rows(self.b, self.h)?;
        Ok(self.rows.get_or_init(|| r))
    }

    pub(crate) fn ids(&self) -> Result<&[EventId], PartError> {
        Ok(&self.rows()?.ids)
    }

    pub(crate) fn shape_codes(&self) -> Result<&[u32], PartError> {
        if let Some(r) = self.given.or(self.rows.get()) {
            return Ok(&r.shape_codes);
        }
        if let Some(s) = self.shapes.get() {
            return Ok(s);
        }
        let s = self.cache.shape_codes(self.part, self.b, self.h)?;
        Ok(self.shapes.get_or_init(|| s))
    }
}

#[cfg(test)]
mod tests;
