//! Building one block: events are split into columns, one per leaf path (objects are
//! flattened; arrays and over-wide objects stay JSON), and each row records its *shape*, the
//! list of columns it has in the order they appeared, so the event reads back with its
//! properties in the order they were sent.

use std::borrow::Cow;

use foldhash::{HashMap, HashSet};
use seqr_types::{EventId, template};

use super::block::{ColumnMeta, Summary};
use super::bytes::{Corrupt, put_varint, zigzag};
use super::cell::{self, Cell};
use super::column;
use super::json::{Token, Walker};
use super::names::{self, Builtin, Names, R_EXT, R_PROPS, R_RESOURCE, R_SCOPE};
use super::{bloom, ngram};
use crate::codec::RowView;

/// Flattening depths tried in turn: a block whose paths would exceed [`MAX_COLUMNS`] is
/// rebuilt with nested objects kept as JSON, then with whole property maps as JSON.
const DEPTHS: [usize; 3] = [8, 1, 0];
/// Columns per block before flattening gives up (maps keyed by ids would explode otherwise).
const MAX_COLUMNS: usize = 1024;

/// Compression of column payloads.
pub(crate) const CODEC_RAW: u8 = 0;
pub(crate) const CODEC_ZSTD: u8 = 1;

struct ColBuild<'e> {
    node: u32,
    cells: Vec<Cell<'e>>,
}

struct Shapes {
    map: HashMap<Vec<u32>, u32>,
    list: Vec<Vec<u32>>,
    codes: Vec<u32>,
}

struct Builder<'e, 'n> {
    names: &'n mut Names,
    depth: usize,
    cols: Vec<ColBuild<'e>>,
    /// Node -> column of this block (`u32::MAX`: none yet).
    col_of: Vec<u32>,
    shape: Vec<u32>,
}

impl<'e> Builder<'e, '_> {
    fn push(&mut self, node: u32, cell: Cell<'e>) {
        let n = node as usize;
        if n >= self.col_of.len() {
            self.col_of.resize(self.names.len().max(n + 1), u32::MAX);
        }
        let mut c = self.col_of[n];
        if c == u32::MAX {
            c = self.cols.len() as u32;
            self.col_of[n] = c;
            self.cols.push(ColBuild {
                node,
                cells: Vec::new(),
            });
        }
        self.cols[c as usize].cells.push(cell);
        self.shape.push(c);
    }

    fn builtin(&mut self, b: Builtin, text: Option<&'e str>) {
        if let Some(t) = text {
            self.push(names::builtin_node(b), Cell::Str(Cow::Borrowed(t)));
        }
    }

    /// The members of the object whose `{` the walker has just consumed.
    fn object(&mut self, node: u32, w: &mut Walker<'e>, depth: usize) -> Result<(), Corrupt> {
        let mut first = true;
        while let Some(k) = w.key(first)? {
            first = false;
            let child = self.names.child(node, &k);
            let cell = match w.value(depth > 1)? {
                Token::Object => {
                    self.object(child, w, depth - 1)?;
                    continue;
                }
                Token::Str(s) => Cell::Str(s),
                Token::Num(t) => cell::number_or_json(t),
                Token::Bool(b) => Cell::Bool(b),
                Token::Null => Cell::Null,
                Token::Raw(t) => Cell::Json(Cow::Borrowed(t)),
            };
            self.push(child, cell);
        }
        Ok(())
    }

    fn root(&mut self, root: u8, map: Option<&'e [u8]>) -> Result<(), Corrupt> {
        let Some(bytes) = map else { return Ok(()) };
        let text =
            std::str::from_utf8(bytes).map_err(|_| Corrupt("a JSON map is not UTF-8".into()))?;
        let node = names::root_node(root);
        let mut w = Walker::new(text);
        // An empty resource or scope is kept (it differs from none); empty properties and
        // extensions are the same as none (rows never hold them).
        if self.depth == 0 || !w.at_nonempty_object()? {
            self.push(node, Cell::Json(Cow::Borrowed(text.trim())));
            return Ok(());
        }
        w.open()?;
        self.object(node, &mut w, self.depth)?;
        w.end()
    }

    fn event(&mut self, e: &RowView<'e>) -> Result<(), Corrupt> {
        self.builtin(Builtin::Level, e.level);
        self.builtin(Builtin::Template, e.message_template);
        self.builtin(Builtin::Message, e.message);
        self.builtin(Builtin::Exception, e.exception);
        self.push(
            names::builtin_node(Builtin::EventType),
            Cell::Int(i64::from(e.event_type)),
        );
        if !e.renderings.is_empty() {
            let json = serde_json::to_string(&e.renderings).expect("strings serialise");
            self.push(
                names::builtin_node(Builtin::Renderings),
                Cell::Json(Cow::Owned(json)),
            );
        }
        self.builtin(Builtin::TraceId, e.trace_id);
        self.builtin(Builtin::SpanId, e.span_id);
        self.builtin(Builtin::ParentId, e.parent_id);
        if let Some(t) = e.span_start {
            self.push(names::builtin_node(Builtin::SpanStart), Cell::Int(t));
        }
        self.builtin(Builtin::SpanKind, e.span_kind);
        self.root(R_PROPS, e.properties)?;
        self.root(R_RESOURCE, e.resource)?;
        self.root(R_SCOPE, e.scope)?;
        self.root(R_EXT, e.extensions)
    }
}

/// A stored byte range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Payload {
    /// From the start of the block's data.
    pub(crate) offset: u64,
    pub(crate) len: u32,
    pub(crate) raw_len: u32,
    pub(crate) crc: u32,
    pub(crate) codec: u8,
}

/// A built block: its bytes (data then header) and what the part index needs.
pub(crate) struct BlockOut {
    pub(crate) bytes: Vec<u8>,
    /// Where the header starts inside `bytes`.
    pub(crate) header_at: usize,
    pub(crate) rows: u32,
    pub(crate) min: EventId,
    pub(crate) max: EventId,
}

fn store(out: &mut Vec<u8>, raw: &[u8], zstd: Option<&mut zstd::bulk::Compressor<'_>>) -> Payload {
    let offset = out.len() as u64;
    let compressed = zstd.and_then(|z| z.compress(raw).ok());
    let (codec, bytes): (u8, &[u8]) = match &compressed {
        Some(c) if c.len() < raw.len() => (CODEC_ZSTD, c),
        _ => (CODEC_RAW, raw),
    };
    out.extend_from_slice(bytes);
    Payload {
        offset,
        len: bytes.len() as u32,
        raw_len: raw.len() as u32,
        crc: crc32fast::hash(bytes),
        codec,
    }
}

/// Builds one block from rows in ascending id order (`ids[i]` is `rows[i]`'s id). Fails only
/// if a row's JSON is malformed.
pub(crate) fn build_block(
    names: &mut Names,
    ids: &[EventId],
    events: &[RowView<'_>],
    zstd: &mut zstd::bulk::Compressor<'_>,
) -> Result<BlockOut, Corrupt> {
    assert!(!ids.is_empty() && ids.len() == events.len());
    let mut attempt = 0;
    let (cols, shapes) = loop {
        let depth = DEPTHS[attempt];
        let mut b = Builder {
            names,
            depth,
            cols: Vec::new(),
            col_of: Vec::new(),
            shape: Vec::new(),
        };
        let mut shapes = Shapes {
            map: HashMap::default(),
            list: Vec::new(),
            codes: Vec::with_capacity(events.len()),
        };
        for e in events {
            b.shape.clear();
            b.event(e)?;
            let code = match shapes.map.get(b.shape.as_slice()) {
                Some(&c) => c,
                None => {
                    let c = shapes.list.len() as u32;
                    shapes.list.push(b.shape.clone());
                    shapes.map.insert(b.shape.clone(), c);
                    c
                }
            };
            shapes.codes.push(code);
            if b.cols.len() > MAX_COLUMNS && attempt + 1 < DEPTHS.len() {
                break;
            }
        }
        if shapes.codes.len() == events.len() {
            break (b.cols, shapes);
        }
        attempt += 1;
    };

    let text_nodes = text_nodes(names, &cols);
    let mut bytes = Vec::new();
    let mut outs = Vec::with_capacity(cols.len());
    let mut raw = Vec::new();
    for col in &cols {
        let first = &col.cells[0];
        let present = col.cells.len() as u32;
        let int_range = col
            .cells
            .iter()
            .map(|c| match c {
                Cell::Int(v) => Some(*v),
                _ => None,
            })
            .collect::<Option<Vec<i64>>>()
            .and_then(|v| Some((*v.iter().min()?, *v.iter().max()?)));
        raw.clear();
        if col.cells.iter().all(|c| c == first) {
            column::encode(std::slice::from_ref(first), &mut raw);
            outs.push(ColumnMeta {
                node: col.node,
                present,
                constant: Some(raw.clone()),
                payload: None,
                int_range,
                bloom: None,
                summary: None,
                substrings: None,
            });
            continue;
        }
        let strings = distinct_strings(&col.cells);
        let bloom = (!strings.is_empty()).then(|| {
            let hashes: Vec<u64> = strings.iter().map(|&(h, _)| h).collect();
            store(&mut bytes, &bloom::build(&hashes), None)
        });
        let substrings = text_nodes
            .contains(&col.node)
            .then(|| {
                let mut filter = ngram::Builder::new();
                for &(_, i) in &strings {
                    if let Cell::Str(s) = &col.cells[i as usize] {
                        filter.add(s);
                    }
                }
                filter.finish()
            })
            .flatten()
            .map(|filter| store(&mut bytes, &filter, None));
        let summary = Summary {
            types: col.cells.iter().fold(0u8, |m, c| m | 1 << c.type_code()),
            max_len: col
                .cells
                .iter()
                .map(|c| match c {
                    Cell::Str(s) | Cell::Json(s) => s.len() as u32,
                    _ => 0,
                })
                .max()
                .unwrap_or(0),
        };
        column::encode(&col.cells, &mut raw);
        let payload = store(&mut bytes, &raw, Some(zstd));
        outs.push(ColumnMeta {
            node: col.node,
            present,
            constant: None,
            payload: Some(payload),
            int_range,
            bloom,
            summary: Some(summary),
            substrings,
        });
    }

    // Row streams: shape codes, timestamp deltas, arrival deltas.
    raw.clear();
    let width: u8 = match shapes.list.len() {
        1 => 0,
        2..=256 => 1,
        257..=65536 => 2,
        _ => 4,
    };
    raw.push(width);
    if width > 0 {
        for &c in &shapes.codes {
            raw.extend_from_slice(&c.to_le_bytes()[..width as usize]);
        }
    }
    let mut prev = ids[0];
    for id in ids {
        put_varint(&mut raw, (id.ticks - prev.ticks) as u64);
        put_varint(&mut raw, zigzag(id.arrival as i64 - prev.arrival as i64));
        prev = *id;
    }
    let rows_payload = store(&mut bytes, &raw, Some(zstd));

    let header_at = bytes.len();
    let mut h = Vec::new();
    put_varint(&mut h, ids.len() as u64);
    put_varint(&mut h, outs.len() as u64);
    for c in &outs {
        put_varint(&mut h, u64::from(c.node));
        put_varint(&mut h, u64::from(c.present));
        let flags = u8::from(c.constant.is_some())
            | (u8::from(c.payload.is_some()) << 1)
            | (u8::from(c.bloom.is_some()) << 2)
            | (u8::from(c.int_range.is_some()) << 3)
            | (u8::from(c.summary.is_some()) << 4)
            | (u8::from(c.substrings.is_some()) << 5);
        h.push(flags);
        if let Some(k) = &c.constant {
            put_varint(&mut h, k.len() as u64);
            h.extend_from_slice(k);
        }
        if let Some(p) = &c.payload {
            put_payload(&mut h, p);
        }
        if let Some((lo, hi)) = c.int_range {
            put_varint(&mut h, zigzag(lo));
            put_varint(&mut h, zigzag(hi));
        }
        if let Some(p) = &c.bloom {
            put_payload(&mut h, p);
        }
        if let Some(s) = &c.summary {
            h.push(s.types);
            put_varint(&mut h, u64::from(s.max_len));
        }
        if let Some(p) = &c.substrings {
            put_payload(&mut h, p);
        }
    }
    put_varint(&mut h, shapes.list.len() as u64);
    for s in &shapes.list {
        put_varint(&mut h, s.len() as u64);
        for &c in s {
            put_varint(&mut h, u64::from(c));
        }
    }
    put_payload(&mut h, &rows_payload);
    bytes.extend_from_slice(&h);
    Ok(BlockOut {
        bytes,
        header_at,
        rows: ids.len() as u32,
        min: ids[0],
        max: *ids.last().expect("not empty"),
    })
}

fn put_payload(h: &mut Vec<u8>, p: &Payload) {
    put_varint(h, p.offset);
    put_varint(h, u64::from(p.len));
    put_varint(h, u64::from(p.raw_len));
    h.extend_from_slice(&p.crc.to_le_bytes());
    h.push(p.codec);
}

/// A column's distinct string values, as (hash, index of a cell holding it). Their token
/// filter costs about a byte per distinct value and lets an equality skip the block without
/// decompressing it.
fn distinct_strings(cells: &[Cell<'_>]) -> Vec<(u64, u32)> {
    let mut out = Vec::with_capacity(cells.len());
    for (i, c) in cells.iter().enumerate() {
        if let Cell::Str(s) = c {
            out.push((bloom::hash(s.as_bytes()), i as u32));
        }
    }
    out.sort_unstable_by_key(|&(h, _)| h);
    out.dedup_by_key(|&mut (h, _)| h);
    out
}

/// The columns a text search may read, which get substring filters: the message, the
/// exception and every top-level property a template of the block names as a hole.
fn text_nodes(names: &Names, cols: &[ColBuild<'_>]) -> HashSet<u32> {
    let mut nodes: HashSet<u32> = [Builtin::Message, Builtin::Exception]
        .map(names::builtin_node)
        .into_iter()
        .collect();
    let template = names::builtin_node(Builtin::Template);
    let Some(templates) = cols.iter().find(|c| c.node == template) else {
        return nodes;
    };
    let mut seen: HashSet<&str> = HashSet::default();
    for cell in &templates.cells {
        let Cell::Str(t) = cell else { continue };
        if !seen.insert(t) {
            continue;
        }
        for token in template::parse(t) {
            if let template::Token::Hole(hole) = token
                && let Some(node) = names.find(names::root_node(R_PROPS), &hole.name)
            {
                nodes.insert(node);
            }
        }
    }
    nodes
}
