//! The backup file: a checksummed header, then the body cut into frames, each one either
//! sealed with the instance secret key or checksummed.
//!
//! ```text
//! "SEQRBAK1" | header_len u32 | header (JSON) | crc32 u32 of everything before it
//! frame*:    payload_len u32 | final u8 | payload
//!   encrypted: payload = SecretKey::seal(chunk, aad = "seqr/backup/v1" | header | index u64 | final)
//!   plain:     payload = chunk | crc32 u32 of (index u64 | final | chunk)
//! ```
//! The body, once the frames are opened and joined, is a list of entries
//! `name_len u16 | name | len u64 | bytes`, ended by a `name_len` of 0. Exactly the last frame
//! has `final` set, and nothing may follow it: a truncated file lacks it, and (encrypted) the
//! index and flag in the associated data make a dropped, repeated or reordered frame, or a
//! header from another backup, fail authentication. Chunks are 1 MiB, so neither side holds more
//! than one in memory. Why a container of our own rather than tar: tar has no checksums over
//! the data, and it would still need this framing to be encrypted and authenticated.

use std::io::{self, Read, Write};

use seqr_meta::secret::SecretKey;

pub(crate) const MAGIC: &[u8; 8] = b"SEQRBAK1";
pub(crate) const FORMAT_VERSION: u64 = 1;
const CHUNK: usize = 1 << 20;
/// A frame's payload is at most a chunk plus the sealing overhead; anything larger is damage.
const MAX_PAYLOAD: usize = CHUNK + 64;
const MAX_HEADER: usize = 64 * 1024;
const AAD_PREFIX: &[u8] = b"seqr/backup/v1";

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// Encodes the header, returning the bytes written before the first frame.
pub(crate) fn header_bytes(header: &serde_json::Value) -> Vec<u8> {
    let json = serde_json::to_vec(header).expect("a JSON value serializes");
    let mut out = Vec::with_capacity(json.len() + 16);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Reads and checks the header; returns it with its raw bytes (bound into every frame).
pub(crate) fn read_header(r: &mut dyn Read) -> io::Result<(serde_json::Value, Vec<u8>)> {
    let mut head = [0u8; 12];
    r.read_exact(&mut head)
        .map_err(|_| invalid("the file is too short to be a seqr backup"))?;
    if &head[..8] != MAGIC {
        return Err(invalid(
            "the file is not a seqr backup (it does not start with SEQRBAK1)",
        ));
    }
    let len = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes")) as usize;
    if len > MAX_HEADER {
        return Err(invalid(
            "the backup's header is damaged (impossible length)",
        ));
    }
    let mut raw = head.to_vec();
    raw.resize(12 + len + 4, 0);
    r.read_exact(&mut raw[12..])
        .map_err(|_| invalid("the backup is truncated inside its header"))?;
    let crc = u32::from_le_bytes(raw[12 + len..].try_into().expect("4 bytes"));
    if crc32fast::hash(&raw[..12 + len]) != crc {
        return Err(invalid(
            "the backup's header fails its checksum: the file is damaged",
        ));
    }
    let header = serde_json::from_slice(&raw[12..12 + len])
        .map_err(|e| invalid(format!("the backup's header is not valid JSON: {e}")))?;
    Ok((header, raw))
}

fn aad(header: &[u8], index: u64, last: bool) -> Vec<u8> {
    let mut a = Vec::with_capacity(AAD_PREFIX.len() + header.len() + 9);
    a.extend_from_slice(AAD_PREFIX);
    a.extend_from_slice(header);
    a.extend_from_slice(&index.to_le_bytes());
    a.push(u8::from(last));
    a
}

fn plain_crc(index: u64, last: bool, chunk: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&index.to_le_bytes());
    h.update(&[u8::from(last)]);
    h.update(chunk);
    h.finalize()
}

/// Writes the body: entries in, frames out.
pub(crate) struct BodyWriter<'k, W: Write> {
    out: W,
    header: Vec<u8>,
    key: Option<&'k SecretKey>,
    buf: Vec<u8>,
    index: u64,
}

impl<'k, W: Write> BodyWriter<'k, W> {
    /// Writes `header` (from [`header_bytes`]) and starts the body; with `key`, frames are
    /// sealed.
    pub(crate) fn new(mut out: W, header: Vec<u8>, key: Option<&'k SecretKey>) -> io::Result<Self> {
        out.write_all(&header)?;
        Ok(BodyWriter {
            out,
            header,
            key,
            buf: Vec::with_capacity(CHUNK),
            index: 0,
        })
    }

    /// Starts an entry of `len` bytes; the caller then writes exactly them.
    pub(crate) fn entry(&mut self, name: &str, len: u64) -> io::Result<()> {
        assert!(!name.is_empty() && name.len() < usize::from(u16::MAX));
        self.write_all(&(name.len() as u16).to_le_bytes())?;
        self.write_all(name.as_bytes())?;
        self.write_all(&len.to_le_bytes())
    }

    fn frame(&mut self, last: bool) -> io::Result<()> {
        let payload = match self.key {
            Some(key) => key.seal(&self.buf, &aad(&self.header, self.index, last)),
            None => {
                let mut p = std::mem::take(&mut self.buf);
                let crc = plain_crc(self.index, last, &p);
                p.extend_from_slice(&crc.to_le_bytes());
                p
            }
        };
        self.out.write_all(&(payload.len() as u32).to_le_bytes())?;
        self.out.write_all(&[u8::from(last)])?;
        self.out.write_all(&payload)?;
        self.buf.clear();
        self.index += 1;
        Ok(())
    }

    /// Ends the entry list and writes the final frame; returns the output.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.write_all(&0u16.to_le_bytes())?;
        self.frame(true)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for BodyWriter<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.frame(false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads the body: frames in, checked bytes out. Every error is `InvalidData` with a message
/// saying what is wrong with the file.
pub(crate) struct BodyReader<'k, R: Read> {
    input: R,
    header: Vec<u8>,
    key: Option<&'k SecretKey>,
    chunk: Vec<u8>,
    at: usize,
    index: u64,
    done: bool,
}

impl<'k, R: Read> BodyReader<'k, R> {
    /// `key` must be given exactly when the header says the backup is encrypted.
    pub(crate) fn new(input: R, header: Vec<u8>, key: Option<&'k SecretKey>) -> Self {
        BodyReader {
            input,
            header,
            key,
            chunk: Vec::new(),
            at: 0,
            index: 0,
            done: false,
        }
    }

    fn next_frame(&mut self) -> io::Result<()> {
        let truncated = || invalid("the backup is truncated (its final frame is missing)");
        let mut head = [0u8; 5];
        self.input.read_exact(&mut head).map_err(|_| truncated())?;
        let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes")) as usize;
        let last = match head[4] {
            0 => false,
            1 => true,
            _ => return Err(invalid(format!("frame {} is damaged", self.index))),
        };
        if len > MAX_PAYLOAD {
            return Err(invalid(format!(
                "frame {} is damaged (impossible length)",
                self.index
            )));
        }
        let mut payload = vec![0u8; len];
        self.input
            .read_exact(&mut payload)
            .map_err(|_| truncated())?;
        self.chunk = match self.key {
            Some(key) => key
                .open(&payload, &aad(&self.header, self.index, last))
                .map_err(|_| {
                    invalid(format!(
                        "frame {} of the backup does not decrypt: the file was altered or damaged \
                         (or frames were removed or reordered)",
                        self.index
                    ))
                })?,
            None => {
                if payload.len() < 4 {
                    return Err(invalid(format!("frame {} is damaged", self.index)));
                }
                let crc = payload.split_off(payload.len() - 4);
                if plain_crc(self.index, last, &payload).to_le_bytes()[..] != crc[..] {
                    return Err(invalid(format!(
                        "frame {} of the backup fails its checksum: the file is damaged",
                        self.index
                    )));
                }
                payload
            }
        };
        self.at = 0;
        self.index += 1;
        if last {
            self.done = true;
            let mut extra = [0u8; 1];
            if self.input.read(&mut extra)? != 0 {
                return Err(invalid("the backup has bytes after its final frame"));
            }
        }
        Ok(())
    }

    /// Reads the next entry's name and length; `None` at the end of the list.
    pub(crate) fn entry(&mut self) -> io::Result<Option<(String, u64)>> {
        let mut n = [0u8; 2];
        self.read_exact(&mut n)?;
        let n = usize::from(u16::from_le_bytes(n));
        if n == 0 {
            return Ok(None);
        }
        let mut name = vec![0u8; n];
        self.read_exact(&mut name)?;
        let name = String::from_utf8(name).map_err(|_| invalid("an entry name is not text"))?;
        let mut len = [0u8; 8];
        self.read_exact(&mut len)?;
        Ok(Some((name, u64::from_le_bytes(len))))
    }

    /// After the end of the entry list: the body must end exactly there.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        if self.at < self.chunk.len() || !self.done {
            return Err(invalid("the backup has data after its last entry"));
        }
        Ok(())
    }
}

impl<R: Read> Read for BodyReader<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            if self.done {
                return Err(invalid("the backup ends inside an entry"));
            }
            self.next_frame()?;
        }
        let n = out.len().min(self.chunk.len() - self.at);
        out[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(key: Option<&SecretKey>, big: usize) -> Vec<u8> {
        let header = header_bytes(&serde_json::json!({ "Format": 1 }));
        let mut w = BodyWriter::new(Vec::new(), header, key).unwrap();
        let data: Vec<u8> = (0..big).map(|i| (i * 7 % 251) as u8).collect();
        w.entry("a", data.len() as u64).unwrap();
        w.write_all(&data).unwrap();
        w.entry("b", 3).unwrap();
        w.write_all(b"xyz").unwrap();
        w.finish().unwrap()
    }

    fn read_back(bytes: &[u8], key: Option<&SecretKey>) -> io::Result<Vec<(String, Vec<u8>)>> {
        let mut r = bytes;
        let (_, header) = read_header(&mut r)?;
        let mut body = BodyReader::new(r, header, key);
        let mut out = Vec::new();
        while let Some((name, len)) = body.entry()? {
            let mut data = vec![0u8; len as usize];
            body.read_exact(&mut data)?;
            out.push((name, data));
        }
        body.finish()?;
        Ok(out)
    }

    #[test]
    fn round_trips_and_every_damage_is_detected() {
        let key = SecretKey::generate();
        for k in [None, Some(&key)] {
            let bytes = sample(k, 2 * CHUNK + 10);
            let back = read_back(&bytes, k).unwrap();
            assert_eq!(back.len(), 2);
            assert_eq!(back[0].1.len(), 2 * CHUNK + 10);
            assert_eq!(back[1], ("b".into(), b"xyz".to_vec()));
            // Flips spread over the file, truncations at many points, and a trailing byte.
            for at in (0..bytes.len()).step_by(bytes.len() / 97) {
                let mut bad = bytes.clone();
                bad[at] ^= 0x04;
                assert!(
                    read_back(&bad, k).is_err(),
                    "flip at {at} (key {})",
                    k.is_some()
                );
            }
            for cut in [1, 20, 5000, CHUNK, bytes.len() - 5, bytes.len() - 1] {
                assert!(read_back(&bytes[..cut], k).is_err(), "cut at {cut}");
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(read_back(&longer, k).is_err());
        }
        // An encrypted backup does not open under another key, and its bytes are not plain.
        let bytes = sample(Some(&key), 1000);
        assert!(read_back(&bytes, Some(&SecretKey::generate())).is_err());
        let plain = sample(None, 1000);
        assert!(!bytes.windows(3).any(|w| w == b"xyz"));
        assert!(plain.windows(3).any(|w| w == b"xyz"));
    }
}
