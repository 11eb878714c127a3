//! One column of a block: the leaf values of one path, for the rows that have it, encoded by
//! type so each type compresses well (dictionary or binary-hex strings, zigzag integers,
//! decimals as mantissa plus scale, bit-packed booleans).
//!
//! Payload layout (before compression; see `docs/FORMAT.md`):
//! `type_mask u8`, then `tags` (one type code per value) when more than one type is present,
//! then for each present type in code order its values: strings and JSON as a string block,
//! integers as an integer block, decimals as an integer block of mantissas and one of scales,
//! booleans as bits; nulls take no space.

use std::borrow::Cow;

use foldhash::HashMap;

use super::bytes::{Corrupt, Reader, corrupt, put_varint, unzigzag, zigzag};
use super::cell::{Cell, T_BOOL, T_DEC, T_INT, T_JSON, T_NULL, T_STR, TYPES};

const S_PLAIN: u8 = 0;
const S_DICT: u8 = 1;
const S_HEX: u8 = 2;
const I_PLAIN: u8 = 0;
const I_DICT: u8 = 1;

/// Encodes the values of one column.
pub(crate) fn encode(cells: &[Cell<'_>], out: &mut Vec<u8>) {
    let mut mask = 0u8;
    for c in cells {
        mask |= 1 << c.type_code();
    }
    out.push(mask);
    if mask.count_ones() > 1 {
        out.extend(cells.iter().map(Cell::type_code));
    }
    let has = |t: u8| mask & (1 << t) != 0;
    if has(T_STR) {
        let strs: Vec<&str> = cells
            .iter()
            .filter_map(|c| match c {
                Cell::Str(s) => Some(s.as_ref()),
                _ => None,
            })
            .collect();
        encode_strings(&strs, out);
    }
    if has(T_INT) {
        let ints: Vec<i64> = cells
            .iter()
            .filter_map(|c| match c {
                Cell::Int(v) => Some(*v),
                _ => None,
            })
            .collect();
        encode_ints(&ints, out);
    }
    if has(T_DEC) {
        let (m, s): (Vec<i64>, Vec<i64>) = cells
            .iter()
            .filter_map(|c| match c {
                Cell::Dec(m, s) => Some((*m, i64::from(*s))),
                _ => None,
            })
            .unzip();
        encode_ints(&m, out);
        encode_ints(&s, out);
    }
    if has(T_BOOL) {
        let bools: Vec<bool> = cells
            .iter()
            .filter_map(|c| match c {
                Cell::Bool(b) => Some(*b),
                _ => None,
            })
            .collect();
        let mut bytes = vec![0u8; bools.len().div_ceil(8)];
        for (i, b) in bools.iter().enumerate() {
            if *b {
                bytes[i / 8] |= 1 << (i % 8);
            }
        }
        out.extend_from_slice(&bytes);
    }
    if has(T_JSON) {
        let json: Vec<&str> = cells
            .iter()
            .filter_map(|c| match c {
                Cell::Json(s) => Some(s.as_ref()),
                _ => None,
            })
            .collect();
        encode_strings(&json, out);
    }
}

fn is_hex_id(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn put_plain(strs: &[&str], out: &mut Vec<u8>) {
    for s in strs {
        put_varint(out, s.len() as u64);
    }
    for s in strs {
        out.extend_from_slice(s.as_bytes());
    }
}

fn encode_strings(strs: &[&str], out: &mut Vec<u8>) {
    // Lower-case hex ids of one even length (trace, span, request ids) are stored as bytes.
    if let Some(first) = strs.first()
        && (16..=64).contains(&first.len())
        && first.len() % 2 == 0
        && strs.iter().all(|s| is_hex_id(s, first.len()))
    {
        out.push(S_HEX);
        put_varint(out, first.len() as u64 / 2);
        for s in strs {
            let b = s.as_bytes();
            for pair in b.chunks_exact(2) {
                out.push((hex_val(pair[0]) << 4) | hex_val(pair[1]));
            }
        }
        return;
    }
    // A dictionary pays when values repeat: at most half as many distinct as values.
    let limit = strs.len() / 2;
    let mut dict: HashMap<&str, u32> = HashMap::default();
    let mut order: Vec<&str> = Vec::new();
    let mut codes: Vec<u32> = Vec::with_capacity(strs.len());
    for s in strs {
        let next = order.len() as u32;
        let code = *dict.entry(s).or_insert_with(|| {
            order.push(s);
            next
        });
        if order.len() > limit {
            break;
        }
        codes.push(code);
    }
    if order.len() <= limit && !strs.is_empty() {
        out.push(S_DICT);
        put_varint(out, order.len() as u64);
        put_plain(&order, out);
        put_codes(&codes, order.len(), out);
    } else {
        out.push(S_PLAIN);
        put_plain(strs, out);
    }
}

/// The bytes of a lower-case hex id as the column stores it (`None`: not such an id).
pub(crate) fn hex_id_bytes(s: &str) -> Option<Vec<u8>> {
    (s.len().is_multiple_of(2) && is_hex_id(s, s.len())).then(|| {
        s.as_bytes()
            .chunks_exact(2)
            .map(|pair| (hex_val(pair[0]) << 4) | hex_val(pair[1]))
            .collect()
    })
}

fn hex_val(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        _ => b - b'a' + 10,
    }
}

fn code_width(distinct: usize) -> u8 {
    match distinct {
        0..=256 => 1,
        257..=65536 => 2,
        _ => 4,
    }
}

fn put_codes(codes: &[u32], distinct: usize, out: &mut Vec<u8>) {
    let w = code_width(distinct);
    out.push(w);
    for &c in codes {
        out.extend_from_slice(&c.to_le_bytes()[..w as usize]);
    }
}

fn varint_len(v: u64) -> usize {
    (64 - v.leading_zeros() as usize).max(1).div_ceil(7)
}

fn encode_ints(ints: &[i64], out: &mut Vec<u8>) {
    let plain: usize = ints.iter().map(|&v| varint_len(zigzag(v))).sum();
    let mut dict: HashMap<i64, u32> = HashMap::default();
    let mut order = Vec::new();
    for &v in ints {
        if dict.len() > 256 {
            break;
        }
        dict.entry(v).or_insert_with(|| {
            order.push(v);
            order.len() as u32 - 1
        });
    }
    let dict_size = ints.len() + order.iter().map(|&v| varint_len(zigzag(v))).sum::<usize>();
    if dict.len() <= 256 && dict_size < plain {
        out.push(I_DICT);
        put_varint(out, order.len() as u64);
        for &v in &order {
            put_varint(out, zigzag(v));
        }
        let codes: Vec<u32> = ints.iter().map(|v| dict[v]).collect();
        put_codes(&codes, order.len(), out);
    } else {
        out.push(I_PLAIN);
        for &v in ints {
            put_varint(out, zigzag(v));
        }
    }
}

/// Strings of one column, decoded.
#[derive(Debug)]
pub(crate) enum Strings {
    /// `ends[i]` is the end offset of string `i` in `data` (checked to fall on character
    /// boundaries when decoded, so reads only slice).
    Plain { data: String, ends: Vec<u32> },
    /// Distinct values plus one code per value: predicates can be evaluated per entry.
    Dict { dict: Box<Strings>, codes: Vec<u32> },
    /// Fixed-width binary of lower-case hex text.
    Hex { width: usize, data: Vec<u8> },
}

impl Strings {
    /// How many strings.
    pub(crate) fn len(&self) -> usize {
        match self {
            Strings::Plain { ends, .. } => ends.len(),
            Strings::Dict { codes, .. } => codes.len(),
            Strings::Hex { width, data } => data.len() / width,
        }
    }

    /// Approximate heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Strings::Plain { data, ends } => data.len() + ends.len() * 4,
            Strings::Dict { dict, codes } => dict.heap_bytes() + codes.len() * 4,
            Strings::Hex { data, .. } => data.len(),
        }
    }

    /// The string at `i`, when it is stored as text (not hex).
    pub(crate) fn borrowed(&self, i: usize) -> Option<&str> {
        match self {
            Strings::Plain { data, ends } => {
                let start = if i == 0 { 0 } else { ends[i - 1] as usize };
                data.get(start..ends[i] as usize)
            }
            Strings::Dict { dict, codes } => dict.borrowed(codes[i] as usize),
            Strings::Hex { .. } => None,
        }
    }

    /// The string at `i` (hex is rendered into `buf`).
    pub(crate) fn get<'s>(&'s self, i: usize, buf: &'s mut String) -> &'s str {
        match self {
            Strings::Plain { data, ends } => {
                let start = if i == 0 { 0 } else { ends[i - 1] as usize };
                data.get(start..ends[i] as usize).unwrap_or("")
            }
            Strings::Dict { dict, codes } => dict.get(codes[i] as usize, buf),
            Strings::Hex { width, data } => {
                buf.clear();
                for b in &data[i * width..(i + 1) * width] {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    buf.push(HEX[(b >> 4) as usize] as char);
                    buf.push(HEX[(b & 15) as usize] as char);
                }
                buf
            }
        }
    }
}

fn read_plain(r: &mut Reader<'_>, n: usize) -> Result<Strings, Corrupt> {
    let mut ends = Vec::with_capacity(n);
    let mut total = 0u64;
    for _ in 0..n {
        total += r.varint()?;
        ends.push(u32::try_from(total).or_else(|_| corrupt("string block over 4 GiB"))?);
    }
    let data = r.take(total as usize)?;
    let Ok(data) = std::str::from_utf8(data) else {
        return corrupt("string is not UTF-8");
    };
    // Each string must be whole characters (the concatenation alone could hide a split one).
    if ends.iter().any(|&e| !data.is_char_boundary(e as usize)) {
        return corrupt("string is not UTF-8");
    }
    Ok(Strings::Plain {
        data: data.to_owned(),
        ends,
    })
}

fn read_codes(r: &mut Reader<'_>, n: usize, distinct: usize) -> Result<Vec<u32>, Corrupt> {
    let w = r.u8()? as usize;
    if !matches!(w, 1 | 2 | 4) {
        return corrupt(format!("bad code width {w}"));
    }
    let raw = r.take(n.checked_mul(w).ok_or(Corrupt("codes overflow".into()))?)?;
    let mut codes = Vec::with_capacity(n);
    for c in raw.chunks_exact(w) {
        let mut b = [0u8; 4];
        b[..w].copy_from_slice(c);
        let code = u32::from_le_bytes(b);
        if code as usize >= distinct {
            return corrupt(format!("code {code} past a dictionary of {distinct}"));
        }
        codes.push(code);
    }
    Ok(codes)
}

fn read_strings(r: &mut Reader<'_>, n: usize) -> Result<Strings, Corrupt> {
    match r.u8()? {
        S_PLAIN => read_plain(r, n),
        S_DICT => {
            let distinct = r.count(1)?;
            let dict = read_plain(r, distinct)?;
            let codes = read_codes(r, n, distinct)?;
            Ok(Strings::Dict {
                dict: Box::new(dict),
                codes,
            })
        }
        S_HEX => {
            let width = r.count(0)?;
            if !(8..=32).contains(&width) {
                return corrupt(format!("bad hex width {width}"));
            }
            let len = n.checked_mul(width).ok_or(Corrupt("hex overflow".into()))?;
            Ok(Strings::Hex {
                width,
                data: r.take(len)?.to_vec(),
            })
        }
        m => corrupt(format!("unknown string mode {m}")),
    }
}

fn read_ints(r: &mut Reader<'_>, n: usize) -> Result<Vec<i64>, Corrupt> {
    match r.u8()? {
        I_PLAIN => (0..n).map(|_| r.varint().map(unzigzag)).collect(),
        I_DICT => {
            let distinct = r.count(1)?;
            let values: Vec<i64> = (0..distinct)
                .map(|_| r.varint().map(unzigzag))
                .collect::<Result<_, _>>()?;
            let codes = read_codes(r, n, distinct)?;
            Ok(codes.into_iter().map(|c| values[c as usize]).collect())
        }
        m => corrupt(format!("unknown integer mode {m}")),
    }
}

/// A decoded column: values by their rank among the rows that have the column.
#[derive(Debug)]
pub(crate) struct Column {
    /// Type of each value, when more than one type is present.
    pub(crate) tags: Option<Vec<u8>>,
    /// The single type, when `tags` is `None`.
    pub(crate) only: u8,
    /// Index of each value within its type's vector (only with `tags`).
    pub(crate) within: Vec<u32>,
    pub(crate) strs: Option<Strings>,
    pub(crate) ints: Vec<i64>,
    pub(crate) dec_mantissas: Vec<i64>,
    pub(crate) dec_scales: Vec<i64>,
    pub(crate) bools: Vec<bool>,
    pub(crate) json: Option<Strings>,
    /// One stored value stands for every row (a constant column).
    pub(crate) constant: bool,
}

impl Column {
    pub(crate) fn into_constant(mut self) -> Column {
        self.constant = true;
        self
    }

    /// Decodes a payload holding `n` values.
    pub(crate) fn decode(payload: &[u8], n: usize) -> Result<Column, Corrupt> {
        let mut r = Reader::new(payload);
        let mask = r.u8()?;
        if mask >> TYPES != 0 || (mask == 0 && n > 0) {
            return corrupt(format!("bad type mask {mask:#x}"));
        }
        let mut counts = [0usize; TYPES as usize];
        let (tags, only) = if mask.count_ones() > 1 {
            let tags = r.take(n)?.to_vec();
            for &t in &tags {
                if t >= TYPES || mask & (1 << t) == 0 {
                    return corrupt(format!("type tag {t} not in mask {mask:#x}"));
                }
                counts[t as usize] += 1;
            }
            (Some(tags), 0)
        } else {
            let t = mask.trailing_zeros() as u8;
            if n > 0 {
                counts[t as usize] = n;
            }
            (None, t)
        };
        let mut within = Vec::new();
        if let Some(tags) = &tags {
            let mut next = [0u32; TYPES as usize];
            within = tags
                .iter()
                .map(|&t| {
                    let i = next[t as usize];
                    next[t as usize] += 1;
                    i
                })
                .collect();
        }
        let has = |t: u8| mask & (1 << t) != 0;
        let strs = has(T_STR)
            .then(|| read_strings(&mut r, counts[T_STR as usize]))
            .transpose()?;
        let ints = if has(T_INT) {
            read_ints(&mut r, counts[T_INT as usize])?
        } else {
            Vec::new()
        };
        let (dec_mantissas, dec_scales) = if has(T_DEC) {
            let m = read_ints(&mut r, counts[T_DEC as usize])?;
            let s = read_ints(&mut r, counts[T_DEC as usize])?;
            if s.iter().any(|&s| !(0..=255).contains(&s)) {
                return corrupt("decimal scale out of range");
            }
            (m, s)
        } else {
            (Vec::new(), Vec::new())
        };
        let bools = if has(T_BOOL) {
            let k = counts[T_BOOL as usize];
            let bytes = r.take(k.div_ceil(8))?;
            (0..k).map(|i| bytes[i / 8] & (1 << (i % 8)) != 0).collect()
        } else {
            Vec::new()
        };
        let json = has(T_JSON)
            .then(|| read_strings(&mut r, counts[T_JSON as usize]))
            .transpose()?;
        if !r.is_empty() {
            return corrupt("trailing bytes after column values");
        }
        let _ = T_NULL;
        Ok(Column {
            tags,
            only,
            within,
            strs,
            ints,
            dec_mantissas,
            dec_scales,
            bools,
            json,
            constant: false,
        })
    }

    /// Approximate heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.tags.as_ref().map_or(0, Vec::len)
            + self.within.len() * 4
            + self.strs.as_ref().map_or(0, Strings::heap_bytes)
            + (self.ints.len() + self.dec_mantissas.len() + self.dec_scales.len()) * 8
            + self.bools.len()
            + self.json.as_ref().map_or(0, Strings::heap_bytes)
    }

    /// The type and the index within that type of value `rank`.
    pub(crate) fn locate(&self, rank: usize) -> (u8, usize) {
        let rank = if self.constant { 0 } else { rank };
        match &self.tags {
            Some(tags) => (tags[rank], self.within[rank] as usize),
            None => (self.only, rank),
        }
    }

    /// Value `rank` as a cell (strings are copied into `buf` when they must be rendered).
    pub(crate) fn cell<'s>(&'s self, rank: usize, buf: &'s mut String) -> Cell<'s> {
        let (t, i) = self.locate(rank);
        match t {
            T_STR => Cell::Str(Cow::Borrowed(
                self.strs.as_ref().expect("strings").get(i, buf),
            )),
            T_INT => Cell::Int(self.ints[i]),
            T_DEC => Cell::Dec(self.dec_mantissas[i], self.dec_scales[i] as u8),
            T_BOOL => Cell::Bool(self.bools[i]),
            T_NULL => Cell::Null,
            _ => Cell::Json(Cow::Borrowed(self.json.as_ref().expect("json").get(i, buf))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(cells: &[Cell<'_>]) {
        let mut out = Vec::new();
        encode(cells, &mut out);
        let col = Column::decode(&out, cells.len()).unwrap();
        for (i, want) in cells.iter().enumerate() {
            let mut buf = String::new();
            assert_eq!(&col.cell(i, &mut buf), want, "value {i}");
        }
        for cut in 0..out.len() {
            assert!(
                Column::decode(&out[..cut], cells.len()).is_err(),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn every_encoding_round_trips() {
        let s = |t: &'static str| Cell::Str(Cow::Borrowed(t));
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        round_trip(&[s(trace), s("00f067aa0ba902b74bf92f3577b34da6")]);
        round_trip(&[s("a"), s("b"), s("a"), s("a")]);
        round_trip(&[s("x"), s("yé"), s("")]);
        round_trip(&[
            Cell::Int(1),
            Cell::Int(-5),
            Cell::Int(i64::MAX),
            Cell::Int(i64::MIN),
        ]);
        let many: Vec<Cell<'_>> = (0..1000).map(|i| Cell::Int(i % 3)).collect();
        round_trip(&many);
        round_trip(&[
            Cell::Dec(150, 2),
            s("3"),
            Cell::Null,
            Cell::Bool(true),
            Cell::Bool(false),
            Cell::Json(Cow::Borrowed("[1,2]")),
            Cell::Int(7),
        ]);
        round_trip(&[]);
    }
}
