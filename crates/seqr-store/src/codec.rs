//! Row encoding of one [`Event`]: compact binary, property maps as JSON text.
//!
//! Layout (little-endian), documented in `docs/FORMAT.md`:
//! `flags u16, timestamp i64, event_type u32`, then in flag order the present optional strings
//! (varint length + UTF-8), `span_start i64`, renderings (varint count + strings), and the JSON
//! maps (`u32` length + JSON text) for resource, scope, properties, extensions.

use seqr_types::{Event, Properties, Timestamp};

const F_LEVEL: u16 = 1 << 0;
const F_TEMPLATE: u16 = 1 << 1;
const F_MESSAGE: u16 = 1 << 2;
const F_EXCEPTION: u16 = 1 << 3;
const F_TRACE: u16 = 1 << 4;
const F_SPAN: u16 = 1 << 5;
const F_PARENT: u16 = 1 << 6;
const F_SPAN_START: u16 = 1 << 7;
const F_SPAN_KIND: u16 = 1 << 8;
const F_RESOURCE: u16 = 1 << 9;
const F_SCOPE: u16 = 1 << 10;
const F_PROPERTIES: u16 = 1 << 11;
const F_EXTENSIONS: u16 = 1 << 12;
const F_RENDERINGS: u16 = 1 << 13;
const F_KNOWN: u16 = (1 << 14) - 1;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_json(out: &mut Vec<u8>, map: &Properties) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    // Writing a `Map<String, Value>` into a Vec cannot fail.
    serde_json::to_writer(&mut *out, map).expect("JSON map serialises");
    let len = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

/// Appends the encoding of `e` to `out`.
pub(crate) fn encode_event(out: &mut Vec<u8>, e: &Event) {
    let mut flags = 0u16;
    let opt = |f: u16, present: bool| if present { f } else { 0 };
    flags |= opt(F_LEVEL, e.level.is_some());
    flags |= opt(F_TEMPLATE, e.message_template.is_some());
    flags |= opt(F_MESSAGE, e.message.is_some());
    flags |= opt(F_EXCEPTION, e.exception.is_some());
    flags |= opt(F_TRACE, e.trace_id.is_some());
    flags |= opt(F_SPAN, e.span_id.is_some());
    flags |= opt(F_PARENT, e.parent_id.is_some());
    flags |= opt(F_SPAN_START, e.span_start.is_some());
    flags |= opt(F_SPAN_KIND, e.span_kind.is_some());
    flags |= opt(F_RESOURCE, e.resource.is_some());
    flags |= opt(F_SCOPE, e.scope.is_some());
    flags |= opt(F_PROPERTIES, !e.properties.is_empty());
    flags |= opt(F_EXTENSIONS, !e.extensions.is_empty());
    flags |= opt(F_RENDERINGS, !e.renderings.is_empty());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&e.timestamp.ticks().to_le_bytes());
    out.extend_from_slice(&e.event_type.to_le_bytes());
    for s in [
        &e.level,
        &e.message_template,
        &e.message,
        &e.exception,
        &e.trace_id,
        &e.span_id,
        &e.parent_id,
    ]
    .into_iter()
    .flatten()
    {
        put_str(out, s);
    }
    if let Some(st) = e.span_start {
        out.extend_from_slice(&st.ticks().to_le_bytes());
    }
    if let Some(k) = &e.span_kind {
        put_str(out, k);
    }
    if !e.renderings.is_empty() {
        put_varint(out, e.renderings.len() as u64);
        for r in &e.renderings {
            put_str(out, r);
        }
    }
    for m in [&e.resource, &e.scope].into_iter().flatten() {
        put_json(out, m);
    }
    if !e.properties.is_empty() {
        put_json(out, &e.properties);
    }
    if !e.extensions.is_empty() {
        put_json(out, &e.extensions);
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| format!("row truncated at byte {}", self.pos))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.take(1)?[0];
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("bad varint".into())
    }
    fn string(&mut self) -> Result<String, String> {
        let n = self.varint()?;
        let n = usize::try_from(n).map_err(|_| "bad length".to_string())?;
        let b = self.take(n)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| "string is not UTF-8".into())
    }
    fn json(&mut self) -> Result<Properties, String> {
        let n = self.u32()? as usize;
        let b = self.take(n)?;
        serde_json::from_slice(b).map_err(|e| format!("bad JSON map: {e}"))
    }
}

/// Decodes one row written by [`encode_event`]; the slice must be exactly one row.
pub(crate) fn decode_event(buf: &[u8]) -> Result<Event, String> {
    let mut r = Reader { buf, pos: 0 };
    let flags = r.u16()?;
    if flags & !F_KNOWN != 0 {
        return Err(format!("unknown row flags {flags:#06x}"));
    }
    let has = |f: u16| flags & f != 0;
    let mut e = Event {
        timestamp: Timestamp::from_ticks(r.i64()?),
        event_type: r.u32()?,
        ..Event::default()
    };
    let s = |f: u16, r: &mut Reader<'_>| -> Result<Option<String>, String> {
        if has(f) {
            r.string().map(Some)
        } else {
            Ok(None)
        }
    };
    e.level = s(F_LEVEL, &mut r)?;
    e.message_template = s(F_TEMPLATE, &mut r)?;
    e.message = s(F_MESSAGE, &mut r)?;
    e.exception = s(F_EXCEPTION, &mut r)?;
    e.trace_id = s(F_TRACE, &mut r)?;
    e.span_id = s(F_SPAN, &mut r)?;
    e.parent_id = s(F_PARENT, &mut r)?;
    if has(F_SPAN_START) {
        e.span_start = Some(Timestamp::from_ticks(r.i64()?));
    }
    e.span_kind = s(F_SPAN_KIND, &mut r)?;
    if has(F_RENDERINGS) {
        let n = r.varint()?;
        if n > buf.len() as u64 {
            return Err("bad renderings count".into());
        }
        e.renderings = (0..n).map(|_| r.string()).collect::<Result<_, _>>()?;
    }
    if has(F_RESOURCE) {
        e.resource = Some(r.json()?);
    }
    if has(F_SCOPE) {
        e.scope = Some(r.json()?);
    }
    if has(F_PROPERTIES) {
        e.properties = r.json()?;
    }
    if has(F_EXTENSIONS) {
        e.extensions = r.json()?;
    }
    if r.pos != buf.len() {
        return Err(format!("{} trailing bytes after row", buf.len() - r.pos));
    }
    Ok(e)
}

/// One encoded row, borrowed: the fields as slices of the row and the maps as JSON text, so
/// a flush can split rows into columns without building `serde_json` values.
#[derive(Debug, Default)]
pub(crate) struct RowView<'a> {
    pub(crate) event_type: u32,
    pub(crate) level: Option<&'a str>,
    pub(crate) message_template: Option<&'a str>,
    pub(crate) message: Option<&'a str>,
    pub(crate) exception: Option<&'a str>,
    pub(crate) trace_id: Option<&'a str>,
    pub(crate) span_id: Option<&'a str>,
    pub(crate) parent_id: Option<&'a str>,
    pub(crate) span_start: Option<i64>,
    pub(crate) span_kind: Option<&'a str>,
    pub(crate) renderings: Vec<&'a str>,
    pub(crate) resource: Option<&'a [u8]>,
    pub(crate) scope: Option<&'a [u8]>,
    pub(crate) properties: Option<&'a [u8]>,
    pub(crate) extensions: Option<&'a [u8]>,
}

impl<'a> Reader<'a> {
    fn str_ref(&mut self) -> Result<&'a str, String> {
        let n = usize::try_from(self.varint()?).map_err(|_| "bad length".to_string())?;
        std::str::from_utf8(self.take(n)?).map_err(|_| "string is not UTF-8".into())
    }
    /// A JSON map's bytes, not yet checked as UTF-8: most readers of a view never look
    /// inside the maps, and those that do check them.
    fn json_bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

fn opt<'a, T>(
    r: &mut Reader<'a>,
    present: bool,
    read: fn(&mut Reader<'a>) -> Result<T, String>,
) -> Result<Option<T>, String> {
    if present { read(r).map(Some) } else { Ok(None) }
}

/// Views one row written by [`encode_event`] (the JSON maps are not checked here; the
/// column builder parses them).
pub(crate) fn view_event(buf: &[u8]) -> Result<RowView<'_>, String> {
    let mut r = Reader { buf, pos: 0 };
    let flags = r.u16()?;
    if flags & !F_KNOWN != 0 {
        return Err(format!("unknown row flags {flags:#06x}"));
    }
    let has = |f: u16| flags & f != 0;
    let _ticks = r.i64()?; // also in the event id
    let mut v = RowView {
        event_type: r.u32()?,
        ..RowView::default()
    };
    v.level = opt(&mut r, has(F_LEVEL), Reader::str_ref)?;
    v.message_template = opt(&mut r, has(F_TEMPLATE), Reader::str_ref)?;
    v.message = opt(&mut r, has(F_MESSAGE), Reader::str_ref)?;
    v.exception = opt(&mut r, has(F_EXCEPTION), Reader::str_ref)?;
    v.trace_id = opt(&mut r, has(F_TRACE), Reader::str_ref)?;
    v.span_id = opt(&mut r, has(F_SPAN), Reader::str_ref)?;
    v.parent_id = opt(&mut r, has(F_PARENT), Reader::str_ref)?;
    if has(F_SPAN_START) {
        v.span_start = Some(r.i64()?);
    }
    v.span_kind = opt(&mut r, has(F_SPAN_KIND), Reader::str_ref)?;
    if has(F_RENDERINGS) {
        let n = r.varint()?;
        if n > buf.len() as u64 {
            return Err("bad renderings count".into());
        }
        v.renderings = (0..n).map(|_| r.str_ref()).collect::<Result<_, _>>()?;
    }
    v.resource = opt(&mut r, has(F_RESOURCE), Reader::json_bytes)?;
    v.scope = opt(&mut r, has(F_SCOPE), Reader::json_bytes)?;
    v.properties = opt(&mut r, has(F_PROPERTIES), Reader::json_bytes)?;
    v.extensions = opt(&mut r, has(F_EXTENSIONS), Reader::json_bytes)?;
    if r.pos != buf.len() {
        return Err(format!("{} trailing bytes after row", buf.len() - r.pos));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(json: &str) -> Properties {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn round_trips_every_field() {
        let full = Event {
            timestamp: Timestamp::from_ticks(638_000_000_000_000_123),
            level: Some("WARN".into()),
            message_template: Some("Hello {Name} {@Obj}".into()),
            message: Some("Hello \"x\"".into()),
            exception: Some("System.Exception: boom\n   at X()".into()),
            event_type: 0xdead_beef,
            renderings: vec!["0.00".into(), "ü".into()],
            trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
            span_id: Some("00f067aa0ba902b7".into()),
            parent_id: Some("00f067aa0ba902b8".into()),
            span_start: Some(Timestamp::from_ticks(638_000_000_000_000_000)),
            span_kind: Some("Server".into()),
            resource: Some(props(r#"{"service.name":"api","n":1.50}"#)),
            scope: Some(props(r#"{}"#)),
            properties: props(
                r#"{"z":1,"a":1.0e3,"big":123456789012345678901234567890,"o":{"$type":"T","y":[1,"2",null,true]},"s":"\u0000\n"}"#,
            ),
            extensions: props(r#"{"@x2":"v"}"#),
        };
        for e in [full, Event::default()] {
            let mut buf = Vec::new();
            encode_event(&mut buf, &e);
            let back = decode_event(&buf).unwrap();
            assert_eq!(back, e);
            let keys: Vec<_> = back.properties.keys().collect();
            let want: Vec<_> = e.properties.keys().collect();
            assert_eq!(keys, want);
            assert_eq!(
                serde_json::to_string(&back.properties).unwrap(),
                serde_json::to_string(&e.properties).unwrap()
            );
            // Every truncation is an error, never a panic.
            for cut in 0..buf.len() {
                assert!(decode_event(&buf[..cut]).is_err());
            }
        }
    }
}
