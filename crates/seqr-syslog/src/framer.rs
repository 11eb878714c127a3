//! RFC 6587 framing of syslog over TCP: octet counting or a trailing delimiter.

use crate::SyslogError;

/// An octet count has at most this many digits: nine is up to 999,999,999 bytes, so a longer
/// run of digits is garbage rather than a frame to skip.
const MAX_COUNT_DIGITS: usize = 9;

/// What ends a non-transparent frame on this stream, learnt from the frames seen so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delimiter {
    /// No non-transparent frame yet.
    Unknown,
    /// LF (or CRLF); a NUL still ends a frame.
    Lf,
    /// NUL only (Python's `SysLogHandler`): its messages carry raw LFs, such as tracebacks.
    Nul,
}

/// Splits a TCP syslog stream into messages, RFC 6587: octet counting (`LEN SP MSG`, detected when a
/// frame starts with a digit) or non-transparent framing ended by LF, CRLF or NUL (Python's
/// SysLogHandler over TCP ends frames with NUL only). Frames over `max_frame_bytes` are refused
/// without buffering them whole (skipped; one error reported; the stream then resynchronises at the
/// next delimiter for non-transparent framing, or skips exactly LEN bytes for octet counting).
///
/// A stream whose frames end in NUL keeps LFs inside its messages. The first non-transparent
/// frame decides: it ends at its first LF unless more text follows that LF (not `<`, a digit
/// or a delimiter) and a NUL is already buffered after it, as when a Python traceback is the
/// first message. Digits not followed by a space are not an octet count but the start of a
/// non-transparent frame (a PRI-less message such as `2024-06-19 ...`).
#[derive(Debug)]
pub struct TcpFramer {
    buf: Vec<u8>,
    /// Bytes of `buf` already handed out or dropped.
    start: usize,
    max: usize,
    /// Bytes still to drop of an oversized octet-counted frame.
    skip: usize,
    /// Dropping an oversized or unframeable frame up to its delimiter.
    discarding: bool,
    /// Bytes of the current non-transparent frame already searched for its delimiter, so a
    /// frame arriving a byte at a time is not searched again from its start each time.
    scanned: usize,
    delimiter: Delimiter,
}

/// The start of a frame that begins with a digit.
enum Count {
    /// Digits so far, no space yet.
    Incomplete,
    /// `len` bytes of message after `header` bytes of `LEN SP`.
    Frame { len: usize, header: usize },
    /// Zero, or too many digits.
    Bad,
    /// Digits followed by something other than a space: not octet counting.
    NotCounted,
}

impl TcpFramer {
    pub fn new(max_frame_bytes: usize) -> Self {
        TcpFramer {
            buf: Vec::new(),
            start: 0,
            max: max_frame_bytes,
            skip: 0,
            discarding: false,
            scanned: 0,
            delimiter: Delimiter::Unknown,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
        // A frame being skipped is dropped as it arrives, never buffered.
        self.drop_skipped();
    }

    /// Next complete frame, or None when more bytes are needed. Empty frames are skipped.
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, SyslogError>> {
        loop {
            self.drop_skipped();
            if self.skip > 0 || self.discarding {
                return None;
            }
            // Empty frames: delimiters with nothing before them.
            while let Some(b'\n' | b'\r' | b'\0') = self.buf.get(self.start) {
                self.start += 1;
                self.scanned = 0;
            }
            let data = &self.buf[self.start..];
            let Some(&first) = data.first() else {
                self.buf.clear();
                self.start = 0;
                return None;
            };
            if first.is_ascii_digit() {
                match octet_count(data) {
                    Count::Incomplete => return None,
                    Count::Frame { len, header } if len > self.max => {
                        self.start += header;
                        self.skip = len;
                        return Some(Err(self.too_large()));
                    }
                    Count::Frame { len, header } => {
                        if data.len() < header + len {
                            return None;
                        }
                        let frame = data[header..header + len].to_vec();
                        self.start += header + len;
                        return Some(Ok(frame));
                    }
                    Count::Bad => {
                        self.discarding = true;
                        return Some(Err(SyslogError::BadOctetCount));
                    }
                    Count::NotCounted => {}
                }
            }
            match self.delimited() {
                Some(Ok(frame)) if frame.is_empty() => continue,
                other => return other,
            }
        }
    }

    /// At end of stream: the trailing unterminated frame, if any.
    pub fn finish(&mut self) -> Option<Result<Vec<u8>, SyslogError>> {
        if let Some(frame) = self.next_frame() {
            return Some(frame);
        }
        if self.skip > 0 || self.discarding {
            // Already reported when the skipping began.
            self.skip = 0;
            self.discarding = false;
            return None;
        }
        let data = &self.buf[self.start..];
        if data.is_empty() {
            return None;
        }
        let result = match octet_count(data) {
            Count::Frame { len, header } if data[0].is_ascii_digit() => {
                Err(SyslogError::TruncatedFrame {
                    expected: len,
                    received: data.len() - header,
                })
            }
            // Only an unfinished octet count can be over the limit here.
            _ if data.len() > self.max => Err(self.too_large()),
            _ => Ok(data.strip_suffix(b"\r").unwrap_or(data).to_vec()),
        };
        self.buf.clear();
        self.start = 0;
        self.scanned = 0;
        Some(result)
    }

    /// Bytes currently buffered (bounded by about max_frame_bytes + one push).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    fn too_large(&self) -> SyslogError {
        SyslogError::FrameTooLarge { limit: self.max }
    }

    /// A non-transparent frame at `start`, if its delimiter has arrived.
    fn delimited(&mut self) -> Option<Result<Vec<u8>, SyslogError>> {
        let data = &self.buf[self.start..];
        let from = self.scanned.min(data.len());
        let found = match self.delimiter {
            Delimiter::Nul => memchr::memchr(0, &data[from..]),
            Delimiter::Lf | Delimiter::Unknown => memchr::memchr2(b'\n', 0, &data[from..]),
        };
        let Some(at) = found.map(|i| from + i) else {
            // A CR may yet turn out to be the first half of a CRLF.
            let cr = self.delimiter != Delimiter::Nul && data.last() == Some(&b'\r');
            if data.len() > self.max + usize::from(cr) {
                self.start = self.buf.len();
                self.scanned = 0;
                self.discarding = true;
                return Some(Err(self.too_large()));
            }
            self.scanned = data.len();
            return None;
        };
        let mut end = at;
        if data[at] == b'\n' && self.delimiter == Delimiter::Unknown && continues(&data[at + 1..]) {
            // The stream's first frame: an LF followed by more of the message and a NUL
            // buffered after it means NUL framing and a message with a line break in it.
            if let Some(nul) = memchr::memchr(0, &data[at..]) {
                end = at + nul;
            }
        }
        let frame = if data[end] == b'\n' {
            self.delimiter = Delimiter::Lf;
            data[..end].strip_suffix(b"\r").unwrap_or(&data[..end])
        } else {
            self.delimiter = Delimiter::Nul;
            &data[..end]
        };
        let result = if frame.len() > self.max {
            Err(self.too_large())
        } else {
            Ok(frame.to_vec())
        };
        self.start += end + 1;
        self.scanned = 0;
        Some(result)
    }

    /// Drops what an oversized frame still has in the buffer.
    fn drop_skipped(&mut self) {
        let available = self.buf.len() - self.start;
        if self.skip > 0 {
            let n = self.skip.min(available);
            self.start += n;
            self.skip -= n;
        } else if self.discarding {
            let data = &self.buf[self.start..];
            let found = match self.delimiter {
                Delimiter::Nul => memchr::memchr(0, data),
                Delimiter::Lf | Delimiter::Unknown => memchr::memchr2(b'\n', 0, data),
            };
            match found {
                Some(i) => {
                    self.start += i + 1;
                    self.discarding = false;
                }
                None => self.start = self.buf.len(),
            }
            self.scanned = 0;
        }
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
    }
}

/// Whether what follows an LF reads as more of the same message rather than another frame
/// (a PRI, an octet count, or another delimiter).
fn continues(after_lf: &[u8]) -> bool {
    after_lf
        .first()
        .is_some_and(|b| !matches!(b, b'<' | b'\r' | b'\n' | b'\0') && !b.is_ascii_digit())
}

/// Reads `LEN SP` at the start of `data` (which starts with a digit).
fn octet_count(data: &[u8]) -> Count {
    let digits = data.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > MAX_COUNT_DIGITS {
        return Count::Bad;
    }
    match data.get(digits) {
        None => Count::Incomplete,
        Some(b' ') => {
            let len = data[..digits]
                .iter()
                .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
            if len == 0 {
                Count::Bad
            } else {
                Count::Frame {
                    len,
                    header: digits + 1,
                }
            }
        }
        Some(_) => Count::NotCounted,
    }
}

#[cfg(test)]
mod tests;
