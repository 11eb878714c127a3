//! Reading one block: its header, its row streams (shapes and ids) and events rebuilt from
//! columns.

use seqr_types::{Event, EventId, Properties, Timestamp};
use serde_json::{Map, Value};

use super::build::{CODEC_RAW, CODEC_ZSTD, Payload};
use super::bytes::{Corrupt, Reader, corrupt, unzigzag};
use super::cell::{self, Cell};
use super::column::Column;
use super::names::{self, Builtin, Names, R_BUILTIN};

/// What the header says about one column (built by `build`, read back here).
#[derive(Clone, Debug)]
pub(crate) struct ColumnMeta {
    pub(crate) node: u32,
    /// Rows that have the column.
    pub(crate) present: u32,
    /// The single value of a constant column, as a one-value payload (uncompressed).
    pub(crate) constant: Option<Vec<u8>>,
    pub(crate) payload: Option<Payload>,
    pub(crate) int_range: Option<(i64, i64)>,
    pub(crate) bloom: Option<Payload>,
    /// What the column's values are (`None` for constant columns and in parts of version 2).
    pub(crate) summary: Option<Summary>,
    /// The substring filter of its string values (see `ngram`), in the columns a text search
    /// reads.
    pub(crate) substrings: Option<Payload>,
}

/// A non-constant column's value types and longest text, known without decompressing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Summary {
    /// Bit per type code present (`cell::T_STR`...).
    pub(crate) types: u8,
    /// Bytes of the longest string or JSON text.
    pub(crate) max_len: u32,
}

/// A decoded block header.
#[derive(Clone, Debug)]
pub(crate) struct BlockHeader {
    pub(crate) rows: u32,
    pub(crate) columns: Vec<ColumnMeta>,
    pub(crate) shapes: Vec<Vec<u32>>,
    pub(crate) rows_payload: Payload,
}

fn read_payload(r: &mut Reader<'_>, data_len: u64) -> Result<Payload, Corrupt> {
    let offset = r.varint()?;
    let len = u32::try_from(r.varint()?).or_else(|_| corrupt("payload length"))?;
    let raw_len = u32::try_from(r.varint()?).or_else(|_| corrupt("payload raw length"))?;
    let crc = r.u32()?;
    let codec = r.u8()?;
    if offset
        .checked_add(u64::from(len))
        .is_none_or(|end| end > data_len)
    {
        return corrupt(format!("payload at {offset}+{len} is past the block data"));
    }
    if codec != CODEC_RAW && codec != CODEC_ZSTD {
        return corrupt(format!("unknown codec {codec}"));
    }
    if codec == CODEC_RAW && raw_len != len {
        return corrupt("raw payload length mismatch");
    }
    if raw_len > MAX_RAW_LEN {
        return corrupt(format!(
            "payload of {raw_len} bytes (at most {MAX_RAW_LEN})"
        ));
    }
    Ok(Payload {
        offset,
        len,
        raw_len,
        crc,
        codec,
    })
}

/// Rows per block a reader accepts: writers stay far below it, and it bounds what a damaged
/// header can make a reader allocate.
pub(crate) const MAX_BLOCK_ROWS: u32 = 1 << 16;
/// Decompressed bytes per payload a reader accepts, for the same reason.
const MAX_RAW_LEN: u32 = 1 << 30;

impl BlockHeader {
    /// Decodes and checks a header; `data_len` is the size of the block data before it and
    /// `name_count` the part's number of names.
    pub(crate) fn decode(
        buf: &[u8],
        data_len: u64,
        name_count: usize,
    ) -> Result<BlockHeader, Corrupt> {
        let mut r = Reader::new(buf);
        let rows = u32::try_from(r.varint()?).or_else(|_| corrupt("row count"))?;
        if rows > MAX_BLOCK_ROWS {
            return corrupt(format!("{rows} rows in a block (at most {MAX_BLOCK_ROWS})"));
        }
        let ncols = r.count(3)?;
        let mut columns = Vec::with_capacity(ncols);
        for _ in 0..ncols {
            let node = r.varint()?;
            if node >= name_count as u64 {
                return corrupt(format!("column names node {node}"));
            }
            let present = u32::try_from(r.varint()?).or_else(|_| corrupt("present count"))?;
            if present == 0 || present > rows {
                return corrupt(format!("column has {present} of {rows} rows"));
            }
            let flags = r.u8()?;
            if flags >> 6 != 0 || (flags & 1 != 0) == (flags & 2 != 0) {
                return corrupt(format!("column flags {flags:#x}"));
            }
            let constant = (flags & 1 != 0)
                .then(|| r.len_prefixed().map(<[u8]>::to_vec))
                .transpose()?;
            let payload = (flags & 2 != 0)
                .then(|| read_payload(&mut r, data_len))
                .transpose()?;
            let int_range = (flags & 8 != 0)
                .then(|| Ok::<_, Corrupt>((unzigzag(r.varint()?), unzigzag(r.varint()?))))
                .transpose()?;
            let bloom = (flags & 4 != 0)
                .then(|| read_payload(&mut r, data_len))
                .transpose()?;
            let summary = (flags & 16 != 0)
                .then(|| {
                    let types = r.u8()?;
                    let max_len = u32::try_from(r.varint()?).or_else(|_| corrupt("max length"))?;
                    if types == 0 || types >> cell::TYPES != 0 {
                        return corrupt(format!("column types {types:#x}"));
                    }
                    Ok(Summary { types, max_len })
                })
                .transpose()?;
            let substrings = (flags & 32 != 0)
                .then(|| read_payload(&mut r, data_len))
                .transpose()?;
            columns.push(ColumnMeta {
                node: node as u32,
                present,
                constant,
                payload,
                int_range,
                bloom,
                summary,
                substrings,
            });
        }
        let nshapes = r.count(1)?;
        let mut shapes = Vec::with_capacity(nshapes);
        for _ in 0..nshapes {
            let n = r.count(1)?;
            let mut s = Vec::with_capacity(n);
            for _ in 0..n {
                let c = r.varint()?;
                if c >= ncols as u64 {
                    return corrupt(format!("shape names column {c} of {ncols}"));
                }
                s.push(c as u32);
            }
            shapes.push(s);
        }
        let rows_payload = read_payload(&mut r, data_len)?;
        if !r.is_empty() {
            return corrupt("trailing bytes after block header");
        }
        if rows == 0 || shapes.is_empty() {
            return corrupt("empty block");
        }
        Ok(BlockHeader {
            rows,
            columns,
            shapes,
            rows_payload,
        })
    }

    /// The column of this block holding `node`, if any row has it.
    pub(crate) fn column_of(&self, node: u32) -> Option<usize> {
        self.columns.iter().position(|c| c.node == node)
    }
}

/// Decompresses (and checks) a payload read from disk.
pub(crate) fn unpack(p: &Payload, stored: &[u8]) -> Result<Vec<u8>, Corrupt> {
    if crc32fast::hash(stored) != p.crc {
        return corrupt("checksum mismatch");
    }
    match p.codec {
        CODEC_RAW => Ok(stored.to_vec()),
        _ => {
            let out = zstd::bulk::decompress(stored, p.raw_len as usize)
                .or_else(|e| corrupt(format!("zstd: {e}")))?;
            if out.len() != p.raw_len as usize {
                return corrupt("decompressed length mismatch");
            }
            Ok(out)
        }
    }
}

/// Shapes and ids of every row.
#[derive(Debug)]
pub(crate) struct Rows {
    pub(crate) shape_codes: Vec<u32>,
    pub(crate) ids: Vec<EventId>,
}

impl Rows {
    /// Decodes the row streams; `first` is the block's first id (from the part index).
    pub(crate) fn decode(raw: &[u8], h: &BlockHeader, first: EventId) -> Result<Rows, Corrupt> {
        let n = h.rows as usize;
        // Every row takes at least two bytes (its id deltas): a header claiming more rows
        // than the payload can hold is damage, found before anything is allocated.
        if raw.len() < 1 + 2 * n {
            return corrupt(format!("{} bytes cannot hold {n} rows", raw.len()));
        }
        let mut r = Reader::new(raw);
        let shape_codes = read_shape_codes(&mut r, h)?;
        let mut ids = Vec::with_capacity(n);
        let mut prev = first;
        for i in 0..n {
            let dt = r.varint()?;
            let da = unzigzag(r.varint()?);
            let id = EventId {
                ticks: i64::try_from(dt)
                    .ok()
                    .and_then(|d| prev.ticks.checked_add(d))
                    .ok_or(Corrupt("timestamp overflow".into()))?,
                arrival: prev
                    .arrival
                    .checked_add_signed(da)
                    .ok_or(Corrupt("arrival overflow".into()))?,
            };
            if i == 0 && id != first || i > 0 && id <= prev {
                return corrupt(format!("row {i}: ids out of order"));
            }
            ids.push(id);
            prev = id;
        }
        if !r.is_empty() {
            return corrupt("trailing bytes after row streams");
        }
        check_present(&shape_codes, h)?;
        Ok(Rows { shape_codes, ids })
    }
}

impl Rows {
    /// Decodes only the shape codes (what a column's row ranks need), not the ids: most of
    /// the cost of the row streams is their ids.
    pub(crate) fn decode_shapes(raw: &[u8], h: &BlockHeader) -> Result<Vec<u32>, Corrupt> {
        let n = h.rows as usize;
        if raw.len() < 1 + 2 * n {
            return corrupt(format!("{} bytes cannot hold {n} rows", raw.len()));
        }
        let shape_codes = read_shape_codes(&mut Reader::new(raw), h)?;
        check_present(&shape_codes, h)?;
        Ok(shape_codes)
    }
}

fn read_shape_codes(r: &mut Reader<'_>, h: &BlockHeader) -> Result<Vec<u32>, Corrupt> {
    let n = h.rows as usize;
    let width = r.u8()? as usize;
    let shape_codes = match width {
        0 => vec![0; n],
        1 | 2 | 4 => {
            let b = r.take(n * width)?;
            b.chunks_exact(width)
                .map(|c| {
                    let mut x = [0u8; 4];
                    x[..width].copy_from_slice(c);
                    u32::from_le_bytes(x)
                })
                .collect()
        }
        _ => return corrupt(format!("shape code width {width}")),
    };
    if shape_codes.iter().any(|&c| c as usize >= h.shapes.len()) {
        return corrupt("shape code past the shape list");
    }
    Ok(shape_codes)
}

/// Every column's present count must match the shapes.
fn check_present(shape_codes: &[u32], h: &BlockHeader) -> Result<(), Corrupt> {
    // Rows per shape first: a row has dozens of columns, a block a handful of shapes.
    let mut per_shape = vec![0u32; h.shapes.len()];
    for &s in shape_codes {
        per_shape[s as usize] += 1;
    }
    let mut counts = vec![0u32; h.columns.len()];
    for (shape, &rows) in h.shapes.iter().zip(&per_shape) {
        for &c in shape {
            counts[c as usize] += rows;
        }
    }
    for (c, meta) in h.columns.iter().enumerate() {
        if counts[c] != meta.present {
            return corrupt(format!(
                "column {c}: shapes give {} rows, header {}",
                counts[c], meta.present
            ));
        }
    }
    Ok(())
}

/// Decodes a column's values (a constant column repeats its one value).
pub(crate) fn decode_column(meta: &ColumnMeta, payload: Option<&[u8]>) -> Result<Column, Corrupt> {
    match (&meta.constant, payload) {
        (Some(k), _) => Column::decode(k, 1).map(Column::into_constant),
        (None, Some(p)) => Column::decode(p, meta.present as usize),
        (None, None) => corrupt("column payload missing"),
    }
}

pub(crate) fn cell_value(c: Cell<'_>) -> Result<Value, Corrupt> {
    Ok(match c {
        Cell::Str(s) => Value::String(s.into_owned()),
        Cell::Int(v) => cell::number(v.to_string()),
        Cell::Dec(m, s) => cell::number(cell::decimal_text(m, s)),
        Cell::Bool(b) => Value::Bool(b),
        Cell::Null => Value::Null,
        Cell::Json(t) => cell::parse_json(&t).map_err(Corrupt)?,
    })
}

/// Rebuilds a nested map from leaves given in order: each leaf's path shares a prefix with
/// the objects still open, which are closed until it fits.
#[derive(Default)]
struct MapBuilder {
    root: Map<String, Value>,
    /// Open objects below the root: (key, map).
    open: Vec<(String, Map<String, Value>)>,
    /// A whole-map leaf replaced the root (only ever the sole leaf of its root).
    whole: Option<Value>,
    any: bool,
}

impl MapBuilder {
    fn close_to(&mut self, depth: usize) {
        while self.open.len() > depth {
            let (k, m) = self.open.pop().expect("open object");
            let parent = self.open.last_mut().map_or(&mut self.root, |(_, p)| p);
            parent.insert(k, Value::Object(m));
        }
    }

    fn leaf(&mut self, path: &[&str], v: Value) -> Result<(), Corrupt> {
        self.any = true;
        let Some((last, parents)) = path.split_last() else {
            self.whole = Some(v);
            return Ok(());
        };
        let common = self
            .open
            .iter()
            .zip(parents)
            .take_while(|((k, _), p)| k == *p)
            .count();
        self.close_to(common);
        for p in &parents[common..] {
            self.open.push(((*p).to_owned(), Map::new()));
        }
        let top = self.open.last_mut().map_or(&mut self.root, |(_, m)| m);
        if top.insert((*last).to_owned(), v).is_some() {
            return corrupt("a path appears twice in one event");
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Option<Properties>, Corrupt> {
        self.close_to(0);
        match self.whole {
            Some(Value::Object(m)) if self.root.is_empty() => Ok(Some(m)),
            Some(_) => corrupt("a whole-map column is not a lone object"),
            None => Ok(self.any.then_some(self.root)),
        }
    }
}

/// Rebuilds the events at `rows` (ascending row numbers) of a block. `columns[c]` must be
/// decoded for every column (all are needed to rebuild whole events).
pub(crate) fn events(
    names: &Names,
    h: &BlockHeader,
    r: &Rows,
    columns: &[Column],
    rows: impl IntoIterator<Item = usize>,
) -> Result<Vec<(EventId, Event)>, Corrupt> {
    let mut out = Vec::new();
    let mut rank = vec![0usize; h.columns.len()];
    let mut next_row = 0usize;
    let paths: Vec<(u8, Vec<&str>)> = h
        .columns
        .iter()
        .map(|c| (names.root(c.node), names.path(c.node)))
        .collect();
    let mut buf = String::new();
    for row in rows {
        // Ranks of rows skipped over.
        while next_row < row {
            for &c in &h.shapes[r.shape_codes[next_row] as usize] {
                rank[c as usize] += 1;
            }
            next_row += 1;
        }
        let mut e = Event {
            timestamp: Timestamp::from_ticks(r.ids[row].ticks),
            ..Event::default()
        };
        let mut maps: [MapBuilder; 4] = Default::default();
        for &c in &h.shapes[r.shape_codes[row] as usize] {
            let c = c as usize;
            let col = &columns[c];
            let cell = col.cell(rank[c], &mut buf);
            rank[c] += 1;
            let (root, path) = &paths[c];
            if *root >= R_BUILTIN {
                builtin(&mut e, *root, cell)?;
            } else {
                maps[*root as usize].leaf(path, cell_value(cell)?)?;
            }
        }
        next_row = row + 1;
        let [props, resource, scope, ext] = maps;
        e.properties = props.finish()?.unwrap_or_default();
        e.resource = resource.finish()?;
        e.scope = scope.finish()?;
        e.extensions = ext.finish()?.unwrap_or_default();
        out.push((r.ids[row], e));
    }
    Ok(out)
}

fn builtin(e: &mut Event, root: u8, cell: Cell<'_>) -> Result<(), Corrupt> {
    let text = |c: Cell<'_>| match c {
        Cell::Str(s) => Ok(s.into_owned()),
        other => corrupt(format!("a text field holds {other:?}")),
    };
    let int = |c: Cell<'_>| match c {
        Cell::Int(v) => Ok(v),
        other => corrupt(format!("an integer field holds {other:?}")),
    };
    let b = names::BUILTINS
        .get((root - R_BUILTIN) as usize)
        .copied()
        .ok_or(Corrupt(format!("unknown field {root}")))?;
    match b {
        Builtin::Level => e.level = Some(text(cell)?),
        Builtin::Template => e.message_template = Some(text(cell)?),
        Builtin::Message => e.message = Some(text(cell)?),
        Builtin::Exception => e.exception = Some(text(cell)?),
        Builtin::EventType => {
            e.event_type = u32::try_from(int(cell)?).or_else(|_| corrupt("event type"))?
        }
        Builtin::Renderings => {
            let Cell::Json(t) = cell else {
                return corrupt("renderings are not JSON");
            };
            e.renderings = serde_json::from_str(&t).or_else(|_| corrupt("renderings"))?;
        }
        Builtin::TraceId => e.trace_id = Some(text(cell)?),
        Builtin::SpanId => e.span_id = Some(text(cell)?),
        Builtin::ParentId => e.parent_id = Some(text(cell)?),
        Builtin::SpanStart => e.span_start = Some(Timestamp::from_ticks(int(cell)?)),
        Builtin::SpanKind => e.span_kind = Some(text(cell)?),
    }
    Ok(())
}
