//! The manifest: which parts are live and which WAL generations they cover.
//!
//! A flush, merge or retention changes the set of parts by writing a new manifest
//! (`MANIFEST.tmp`, sync, rename over `MANIFEST`, sync the directory): that rename is the
//! single atomic step that makes new parts visible and old ones dead, so a crash anywhere
//! leaves either the old set or the new one. Files in partitions that the manifest does not
//! name are leftovers of an unfinished step and are deleted on open.
//!
//! ```text
//! "SEQRMAN1" | sequence u64 | covered_wal u64 | next_part_id u64 | count u32 |
//! count x (len u16 | name) | crc32 u32 of everything before it
//! ```

use std::io;

use crate::dir::{self, Dir};
use crate::part::bytes::{Corrupt, Reader, corrupt};

pub(crate) const FILE: &str = "MANIFEST";
const TMP: &str = "MANIFEST.tmp";
const MAGIC: &[u8; 8] = b"SEQRMAN1";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Manifest {
    /// Incremented by every write.
    pub(crate) sequence: u64,
    /// WAL generations up to this one are in parts (never replayed).
    pub(crate) covered_wal: u64,
    /// The next part id to hand out.
    pub(crate) next_part_id: u64,
    /// Live parts, as paths inside the store directory.
    pub(crate) parts: Vec<String>,
}

impl Manifest {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(40 + self.parts.len() * 48);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.sequence.to_le_bytes());
        out.extend_from_slice(&self.covered_wal.to_le_bytes());
        out.extend_from_slice(&self.next_part_id.to_le_bytes());
        out.extend_from_slice(&(self.parts.len() as u32).to_le_bytes());
        for p in &self.parts {
            out.extend_from_slice(&(p.len() as u16).to_le_bytes());
            out.extend_from_slice(p.as_bytes());
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    pub(crate) fn decode(buf: &[u8]) -> Result<Manifest, Corrupt> {
        if buf.len() < 40 {
            return corrupt("too short");
        }
        let (body, crc) = buf.split_at(buf.len() - 4);
        if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
            return corrupt("checksum mismatch");
        }
        let mut r = Reader::new(body);
        if r.take(8)? != MAGIC {
            return corrupt("bad magic");
        }
        let mut m = Manifest {
            sequence: r.u64()?,
            covered_wal: r.u64()?,
            next_part_id: r.u64()?,
            parts: Vec::new(),
        };
        let n = r.u32()?;
        for _ in 0..n {
            let len = u16::from_le_bytes(r.take(2)?.try_into().expect("2 bytes"));
            let name = std::str::from_utf8(r.take(len.into())?).or_else(|_| corrupt("name"))?;
            m.parts.push(name.to_owned());
        }
        if !r.is_empty() {
            return corrupt("trailing bytes");
        }
        Ok(m)
    }

    /// Reads the manifest; `None` for a store that has never written one.
    pub(crate) fn read(d: &dyn Dir) -> io::Result<Option<Result<Manifest, Corrupt>>> {
        if d.exists(TMP) {
            d.remove(TMP)?;
        }
        if !d.exists(FILE) {
            return Ok(None);
        }
        Ok(Some(Manifest::decode(&dir::read_all(d, FILE)?)))
    }

    /// Makes this the manifest, durably and atomically (`sequence` is bumped first).
    pub(crate) fn write(&mut self, d: &dyn Dir) -> io::Result<()> {
        self.sequence += 1;
        let bytes = self.encode();
        if d.exists(TMP) {
            d.remove(TMP)?;
        }
        let mut f = d.create(TMP)?;
        f.write_all(&bytes)?;
        f.sync()?;
        drop(f);
        d.rename(TMP, FILE)?;
        d.sync_dir("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dir::MemDir;

    #[test]
    fn round_trips_and_detects_damage() {
        let d = MemDir::new();
        assert!(Manifest::read(&d).unwrap().is_none());
        let mut m = Manifest {
            covered_wal: 3,
            next_part_id: 9,
            parts: vec!["p-20260101/part-0000000000000001.part".into()],
            ..Manifest::default()
        };
        m.write(&d).unwrap();
        let back = Manifest::read(&d).unwrap().unwrap().unwrap();
        assert_eq!(back, m);
        let good = m.encode();
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 1;
            assert!(Manifest::decode(&bad).is_err(), "flip at {at}");
        }
        // Power loss after the rename but before the directory sync keeps one of the two.
        m.parts.push("p-20260102/part-0000000000000002.part".into());
        let mut f = d.create(TMP).unwrap();
        f.write_all(b"junk").unwrap();
        drop(f);
        m.write(&d).unwrap();
        let lost = d.power_loss();
        let seen = Manifest::read(&lost).unwrap().unwrap().unwrap();
        assert_eq!(seen, m);
    }
}
