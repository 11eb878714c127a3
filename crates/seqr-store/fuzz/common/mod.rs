//! The checks each fuzz target runs on one input, shared by the targets (`fuzz_targets/*.rs`)
//! and the corpus replay test (`../../tests/it/fuzz_corpus.rs`), which includes this file.
//!
//! Every byte of a part, WAL record and manifest is covered by a CRC-32 (docs/FORMAT.md), so
//! a mutated input is almost always refused at its first checksum and the decoders behind it
//! would never see fuzzed bytes. Each check therefore runs the input twice: as it is, and
//! "resealed", with every checksum it can locate recomputed over the (mutated) bytes it
//! covers, so the mutation reaches the block headers, column payloads, row streams, WAL rows
//! and manifest fields.

#![allow(dead_code)]

use seqr_store::fuzzing;

/// `fuzzing::part` on the input and on its resealed form; returns the count for the input.
pub fn check_part(data: &[u8]) -> usize {
    let n = fuzzing::part(data);
    if let Some(sealed) = reseal_part(data)
        && sealed != data
    {
        fuzzing::part(&sealed);
    }
    n
}

/// `fuzzing::wal` on the input and on its resealed form; returns the count for the input.
pub fn check_wal(data: &[u8]) -> usize {
    let n = fuzzing::wal(data);
    if let Some(sealed) = reseal_wal(data)
        && sealed != data
    {
        fuzzing::wal(&sealed);
    }
    n
}

/// `fuzzing::row` (rows carry no checksum).
pub fn check_row(data: &[u8]) -> bool {
    fuzzing::row(data)
}

/// `fuzzing::manifest` on the input and on its resealed form; returns the input's result.
pub fn check_manifest(data: &[u8]) -> bool {
    let ok = fuzzing::manifest(data);
    if let Some(sealed) = reseal_manifest(data)
        && sealed != data
    {
        fuzzing::manifest(&sealed);
    }
    ok
}

// Layout constants from docs/FORMAT.md.
const PART_HEAD: usize = 8;
const PART_FOOTER: usize = 116;
const INDEX_ENTRY: usize = 64;
const WAL_HEADER: usize = 28;

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn put_crc(b: &mut [u8], at: usize, crc: u32) {
    if let Some(dst) = b.get_mut(at..at + 4) {
        dst.copy_from_slice(&crc.to_le_bytes());
    }
}

/// `start..start + len` when it lies within `0..end`.
fn span(start: u64, len: u64, end: usize) -> Option<std::ops::Range<usize>> {
    let s = usize::try_from(start).ok()?;
    let e = s.checked_add(usize::try_from(len).ok()?)?;
    (e <= end).then_some(s..e)
}

/// A part with every checksum recomputed: the payload crcs in each block header (as far as
/// the header parses), each header's crc in the index, the names and index crcs in the
/// footer, and the footer's own. `None` when the input is too short to have a footer.
pub fn reseal_part(data: &[u8]) -> Option<Vec<u8>> {
    if data.len() < PART_HEAD + PART_FOOTER {
        return None;
    }
    let mut out = data.to_vec();
    let f = out.len() - PART_FOOTER;
    let names = span(u64_at(&out, f + 72)?, u32_at(&out, f + 80)?.into(), f);
    let index = span(u64_at(&out, f + 88)?, u32_at(&out, f + 96)?.into(), f);
    if let Some(index) = index.clone() {
        let mut e = index.start;
        while e + INDEX_ENTRY <= index.end {
            // min id 16 | max id 16 | rows u32 | data_offset u64 | header_offset u64 |
            // header_len u32 | header_crc u32 | 0 u32
            let data_offset = u64_at(&out, e + 36)?;
            let header = span(u64_at(&out, e + 44)?, u32_at(&out, e + 52)?.into(), f);
            if let Some(h) = header {
                reseal_block_header(&mut out, h.clone(), data_offset, f);
                let crc = crc32fast::hash(&out[h]);
                put_crc(&mut out, e + 56, crc);
            }
            e += INDEX_ENTRY;
        }
        let crc = crc32fast::hash(&out[index]);
        put_crc(&mut out, f + 100, crc);
    }
    if let Some(names) = names {
        let crc = crc32fast::hash(&out[names]);
        put_crc(&mut out, f + 84, crc);
    }
    let crc = crc32fast::hash(&out[f..f + 104]);
    put_crc(&mut out, f + 104, crc);
    Some(out)
}

/// A cursor over a block header, just enough of the grammar to find the payload refs.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn u8(&mut self) -> Option<u8> {
        let v = *self.b.get(self.at)?;
        self.at += 1;
        Some(v)
    }
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    fn skip(&mut self, n: u64) -> Option<()> {
        let n = usize::try_from(n).ok()?;
        if self.b.len() - self.at < n {
            return None;
        }
        self.at += n;
        Some(())
    }
}

/// Recomputes the crc of every payload ref in the block header at `h` (a payload's offset is
/// relative to the block's `data_offset`); stops where the header stops parsing.
fn reseal_block_header(
    out: &mut [u8],
    h: std::ops::Range<usize>,
    data_offset: u64,
    end: usize,
) -> Option<()> {
    // (position of the crc field in `out`, payload range in `out`)
    let mut refs = Vec::new();
    {
        let mut c = Cursor {
            b: &out[h.clone()],
            at: 0,
        };
        let mut payload_ref = |c: &mut Cursor<'_>| -> Option<()> {
            let offset = c.varint()?;
            let stored = c.varint()?;
            let _raw = c.varint()?;
            let crc_at = h.start + c.at;
            c.skip(5)?;
            if let Some(p) = span(data_offset.checked_add(offset)?, stored, end) {
                refs.push((crc_at, p));
            }
            Some(())
        };
        let _rows = c.varint()?;
        let columns = c.varint()?;
        for _ in 0..columns.min(1 << 16) {
            let _node = c.varint()?;
            let _present = c.varint()?;
            let flags = c.u8()?;
            if flags & 1 != 0 {
                let n = c.varint()?;
                c.skip(n)?;
            }
            if flags & 2 != 0 {
                payload_ref(&mut c)?;
            }
            if flags & 8 != 0 {
                c.varint()?;
                c.varint()?;
            }
            if flags & 4 != 0 {
                payload_ref(&mut c)?;
            }
            // Part version 3: the column summary (types, longest text), then the substring
            // filter.
            if flags & 16 != 0 {
                c.u8()?;
                c.varint()?;
            }
            if flags & 32 != 0 {
                payload_ref(&mut c)?;
            }
        }
        let shapes = c.varint()?;
        for _ in 0..shapes.min(1 << 16) {
            let n = c.varint()?;
            for _ in 0..n.min(1 << 16) {
                c.varint()?;
            }
        }
        payload_ref(&mut c)?;
    }
    for (crc_at, p) in refs {
        let crc = crc32fast::hash(&out[p]);
        put_crc(out, crc_at, crc);
    }
    Some(())
}

/// A WAL file with its header crc and every record crc recomputed (records are walked by
/// their length fields until one does not fit).
pub fn reseal_wal(data: &[u8]) -> Option<Vec<u8>> {
    if data.len() < WAL_HEADER {
        return None;
    }
    let mut out = data.to_vec();
    let crc = crc32fast::hash(&out[..24]);
    put_crc(&mut out, 24, crc);
    let mut at = WAL_HEADER;
    while let Some(len) = u32_at(&out, at) {
        let Some(end) = (at + 8)
            .checked_add(len as usize)
            .filter(|&e| e <= out.len())
        else {
            break;
        };
        let mut h = crc32fast::Hasher::new();
        h.update(&out[at..at + 4]);
        h.update(&out[at + 8..end]);
        let crc = h.finalize();
        put_crc(&mut out, at + 4, crc);
        at = end;
    }
    Some(out)
}

/// A manifest with its trailing crc recomputed.
pub fn reseal_manifest(data: &[u8]) -> Option<Vec<u8>> {
    let body = data.len().checked_sub(4)?;
    let mut out = data.to_vec();
    let crc = crc32fast::hash(&out[..body]);
    put_crc(&mut out, body, crc);
    Some(out)
}
