//! The write-ahead log: numbered files of checksummed records, one record per group commit.
//!
//! File: header `magic "SEQRWAL1", generation u64, next_arrival u64, crc32 u32` (28 bytes),
//! then records `len u32, crc32 u32, payload[len]` where the crc covers the four length bytes and
//! the payload, and the payload is `first_arrival u64, count u32` followed by `count` times
//! `row_len u32, row[row_len]` (see [`crate::codec`]). Event `i` of a record has arrival
//! `first_arrival + i`.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::FaultInjector;
use crate::dir::{Dir, WriteFile};

pub(crate) const MAGIC: &[u8; 8] = b"SEQRWAL1";
pub(crate) const HEADER_LEN: usize = 28;
pub(crate) const RECORD_HEADER_LEN: usize = 8;
pub(crate) const PAYLOAD_HEADER_LEN: usize = 12;

pub(crate) fn file_name(generation: u64) -> String {
    format!("wal-{generation:016x}.log")
}

pub(crate) fn parse_name(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("wal-")?.strip_suffix(".log")?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

pub(crate) fn header(generation: u64, next_arrival: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..16].copy_from_slice(&generation.to_le_bytes());
    h[16..24].copy_from_slice(&next_arrival.to_le_bytes());
    let crc = crc32fast::hash(&h[..24]);
    h[24..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Seals a record in place: `buf` starts with 8 reserved bytes followed by the payload.
pub(crate) fn seal_record(buf: &mut [u8]) {
    let len = (buf.len() - RECORD_HEADER_LEN) as u32;
    buf[..4].copy_from_slice(&len.to_le_bytes());
    let mut h = crc32fast::Hasher::new();
    h.update(&buf[..4]);
    h.update(&buf[RECORD_HEADER_LEN..]);
    let crc = h.finalize();
    buf[4..8].copy_from_slice(&crc.to_le_bytes());
}

/// The open, appendable log file of the current generation.
pub(crate) struct WalWriter {
    file: Box<dyn WriteFile>,
    pub(crate) generation: u64,
    pub(crate) name: String,
    fault: Option<Arc<FaultInjector>>,
}

impl WalWriter {
    /// Creates a new generation: writes and syncs the header, then syncs the directory.
    pub(crate) fn create(
        dir: &dyn Dir,
        generation: u64,
        next_arrival: u64,
        fault: Option<Arc<FaultInjector>>,
    ) -> io::Result<WalWriter> {
        let name = file_name(generation);
        let result = (|| {
            let mut file = dir.create(&name)?;
            file.write_all(&header(generation, next_arrival))?;
            file.sync()?;
            dir.sync_dir("")?;
            Ok(file)
        })();
        match result {
            Ok(file) => Ok(WalWriter {
                file,
                generation,
                name,
                fault,
            }),
            Err(e) => {
                let _ = dir.remove(&name);
                Err(e)
            }
        }
    }

    /// Reopens an existing, already validated (and truncated) generation for appending.
    pub(crate) fn reopen(
        dir: &dyn Dir,
        generation: u64,
        fault: Option<Arc<FaultInjector>>,
    ) -> io::Result<WalWriter> {
        let name = file_name(generation);
        let file = dir.open_append(&name)?;
        Ok(WalWriter {
            file,
            generation,
            name,
            fault,
        })
    }

    /// Bytes in the file.
    pub(crate) fn len(&self) -> u64 {
        self.file.len()
    }

    /// After a write that ran out of space: cuts the file back to `len` (dropping the partial
    /// record, which was never acknowledged), syncs it and reopens it for appending, so later
    /// records follow the last good one.
    pub(crate) fn cut_back(&mut self, dir: &dyn Dir, len: u64) -> io::Result<()> {
        dir.truncate(&self.name, len)?;
        let mut file = dir.open_append(&self.name)?;
        file.sync()?;
        self.file = file;
        Ok(())
    }

    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        if let Some(f) = &self.fault
            && f.fail_write.load(Ordering::SeqCst)
        {
            return Err(io::Error::other("injected write failure"));
        }
        self.file.write_all(buf)
    }

    pub(crate) fn sync(&mut self) -> io::Result<()> {
        if let Some(f) = &self.fault
            && f.fail_sync.load(Ordering::SeqCst)
        {
            return Err(io::Error::other("injected fsync failure"));
        }
        if let Some(f) = &self.fault {
            let slow = f.slow_sync_ms.load(Ordering::SeqCst);
            if slow > 0 {
                std::thread::sleep(std::time::Duration::from_millis(slow));
            }
        }
        self.file.sync()
    }
}

/// One valid record found on replay.
pub(crate) struct Record {
    pub(crate) first_arrival: u64,
    /// Row `(start, len)` positions inside the file buffer.
    pub(crate) rows: Vec<(u32, u32)>,
}

/// The valid contents of one log file.
pub(crate) struct Replayed {
    pub(crate) next_arrival_floor: u64,
    pub(crate) data: Arc<Vec<u8>>,
    pub(crate) records: Vec<Record>,
    /// Length of the valid prefix; bytes past it are a torn tail.
    pub(crate) good_len: u64,
}

pub(crate) enum ReplayError {
    /// The header is missing or bad (offset 0).
    BadHeader(String),
    /// A record is bad at this offset and is not the tail.
    Corrupt(u64, String),
}

/// Parses and checks the record at `at`; returns the record and the offset after it.
fn parse_record(data: &[u8], at: usize) -> Result<(Record, usize), String> {
    let rest = data.len() - at;
    if rest < RECORD_HEADER_LEN {
        return Err(format!("{rest} bytes cannot hold a record header"));
    }
    let len = u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
    let stored_crc = u32::from_le_bytes(data[at + 4..at + 8].try_into().unwrap());
    if len < PAYLOAD_HEADER_LEN {
        return Err(format!("record length {len} is too small"));
    }
    if len > rest - RECORD_HEADER_LEN {
        return Err(format!("record length {len} runs past the end of the file"));
    }
    let payload = &data[at + RECORD_HEADER_LEN..at + RECORD_HEADER_LEN + len];
    let first_arrival = u64::from_le_bytes(payload[..8].try_into().unwrap());
    let count = u32::from_le_bytes(payload[8..12].try_into().unwrap()) as usize;
    let mut rows = Vec::with_capacity(count.min(len / 4));
    let mut p = PAYLOAD_HEADER_LEN;
    let base = at + RECORD_HEADER_LEN;
    for _ in 0..count {
        if payload.len() - p < 4 {
            return Err("record rows truncated".into());
        }
        let n = u32::from_le_bytes(payload[p..p + 4].try_into().unwrap()) as usize;
        p += 4;
        if payload.len() - p < n {
            return Err("record row runs past the record".into());
        }
        rows.push(((base + p) as u32, n as u32));
        p += n;
    }
    if p != payload.len() {
        return Err("record has trailing bytes".into());
    }
    // Checked after the (cheap) layout, so the torn-tail search does not checksum every
    // byte offset of a damaged file.
    let mut h = crc32fast::Hasher::new();
    h.update(&data[at..at + 4]);
    h.update(payload);
    if h.finalize() != stored_crc {
        return Err("record checksum mismatch".into());
    }
    Ok((
        Record {
            first_arrival,
            rows,
        },
        at + RECORD_HEADER_LEN + len,
    ))
}

/// Reads a log file. In the last file a bad record with no valid record after it is a torn
/// tail (reported by `good_len`); anywhere else a bad record is corruption.
pub(crate) fn replay(
    data: Vec<u8>,
    generation: u64,
    is_last: bool,
) -> Result<Replayed, ReplayError> {
    if data.len() < HEADER_LEN {
        return Err(ReplayError::BadHeader(format!(
            "{} bytes cannot hold the header",
            data.len()
        )));
    }
    if &data[..8] != MAGIC {
        return Err(ReplayError::BadHeader("bad magic".into()));
    }
    if crc32fast::hash(&data[..24]) != u32::from_le_bytes(data[24..28].try_into().unwrap()) {
        return Err(ReplayError::BadHeader("header checksum mismatch".into()));
    }
    let file_gen = u64::from_le_bytes(data[8..16].try_into().unwrap());
    if file_gen != generation {
        return Err(ReplayError::BadHeader(format!(
            "header says generation {file_gen}, file name says {generation}"
        )));
    }
    let next_arrival_floor = u64::from_le_bytes(data[16..24].try_into().unwrap());
    if data.len() > u32::MAX as usize {
        return Err(ReplayError::Corrupt(0, "file larger than 4 GiB".into()));
    }
    let mut records = Vec::new();
    let mut at = HEADER_LEN;
    while at < data.len() {
        match parse_record(&data, at) {
            Ok((r, next)) => {
                records.push(r);
                at = next;
            }
            Err(detail) => {
                if !is_last {
                    return Err(ReplayError::Corrupt(at as u64, detail));
                }
                // Only the last group commit can be torn, and it was never acknowledged. If a
                // valid record follows, the damage is not a torn tail.
                if let Some(k) = (at + 1..data.len()).find(|&k| parse_record(&data, k).is_ok()) {
                    return Err(ReplayError::Corrupt(
                        at as u64,
                        format!("{detail}, followed by a valid record at byte {k}"),
                    ));
                }
                break;
            }
        }
    }
    Ok(Replayed {
        next_arrival_floor,
        data: Arc::new(data),
        records,
        good_len: at as u64,
    })
}
