//! GELF over TCP: each message ends with a NUL byte (clients send uncompressed JSON, which
//! never contains one). A frame over the limit is skipped to its NUL without being buffered,
//! as sqelf does, and reported once.

use std::collections::VecDeque;

use crate::GelfError;

/// Splits a TCP byte stream into NUL-terminated frames.
#[derive(Debug)]
pub struct NullFramer {
    max_frame_bytes: usize,
    /// The current frame's bytes so far (never more than `max_frame_bytes`).
    partial: Vec<u8>,
    /// The current frame went over the limit: drop bytes up to its NUL.
    skipping: bool,
    /// Frames (and errors) completed by the last pushes, in stream order.
    ready: VecDeque<Result<Vec<u8>, GelfError>>,
    ready_bytes: usize,
}

impl NullFramer {
    pub fn new(max_frame_bytes: usize) -> Self {
        NullFramer {
            max_frame_bytes,
            partial: Vec::new(),
            skipping: false,
            ready: VecDeque::new(),
            ready_bytes: 0,
        }
    }

    /// Adds bytes read from the stream. Take the frames with [`NullFramer::next_frame`]
    /// after each push: completed frames wait here until then.
    pub fn push(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        loop {
            let nul = memchr::memchr(0, rest);
            let piece = &rest[..nul.unwrap_or(rest.len())];
            if self.skipping {
                // Already reported: drop it.
            } else if self.partial.len() + piece.len() > self.max_frame_bytes {
                self.partial = Vec::new();
                self.skipping = true;
                self.ready.push_back(Err(GelfError::FrameTooLarge {
                    limit: self.max_frame_bytes,
                }));
            } else {
                self.partial.extend_from_slice(piece);
            }
            let Some(nul) = nul else {
                return;
            };
            if !std::mem::take(&mut self.skipping) {
                let frame = std::mem::take(&mut self.partial);
                self.queue(frame);
            }
            rest = &rest[nul + 1..];
        }
    }

    /// Next complete frame, or None when more bytes are needed. Empty frames (and frames of
    /// only whitespace, such as a newline after the NUL) are skipped.
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, GelfError>> {
        let next = self.ready.pop_front()?;
        if let Ok(frame) = &next {
            self.ready_bytes -= frame.len();
        }
        Some(next)
    }

    /// At end of stream: the trailing unterminated frame, if any (sqelf decodes it too).
    /// Frames still queued come first, so `while let Some(f) = framer.finish()` drains all.
    pub fn finish(&mut self) -> Option<Result<Vec<u8>, GelfError>> {
        if self.ready.is_empty() {
            self.skipping = false;
            let frame = std::mem::take(&mut self.partial);
            self.queue(frame);
        }
        self.next_frame()
    }

    /// Bytes currently buffered: the partial frame (at most `max_frame_bytes`) plus frames not
    /// yet taken (at most one push's worth when frames are taken after every push).
    pub fn buffered(&self) -> usize {
        self.partial.len() + self.ready_bytes
    }

    fn queue(&mut self, frame: Vec<u8>) {
        if frame.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        self.ready_bytes += frame.len();
        self.ready.push_back(Ok(frame));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(f: &mut NullFramer) -> Vec<Result<Vec<u8>, GelfError>> {
        std::iter::from_fn(|| f.next_frame()).collect()
    }

    fn ok(s: &str) -> Result<Vec<u8>, GelfError> {
        Ok(s.as_bytes().to_vec())
    }

    #[test]
    fn frames_split_across_pushes() {
        let mut f = NullFramer::new(100);
        f.push(b"{\"a\":");
        assert_eq!(drain(&mut f), []);
        assert_eq!(f.buffered(), 5);
        f.push(b"1}\0{\"b\"");
        assert_eq!(drain(&mut f), [ok("{\"a\":1}")]);
        f.push(b":2}\0\0\n\0{\"c\":3}\0");
        assert_eq!(drain(&mut f), [ok("{\"b\":2}"), ok("{\"c\":3}")]);
        assert_eq!(f.buffered(), 0);
        assert_eq!(f.finish(), None);
    }

    #[test]
    fn byte_by_byte() {
        let stream = b"{\"a\":1}\0{\"b\":2}\0";
        let mut f = NullFramer::new(7);
        let mut frames = Vec::new();
        for b in stream {
            f.push(std::slice::from_ref(b));
            assert!(f.buffered() <= 7);
            frames.extend(drain(&mut f));
        }
        assert_eq!(frames, [ok("{\"a\":1}"), ok("{\"b\":2}")]);
    }

    #[test]
    fn oversize_frame_is_skipped_once_and_the_next_is_fine() {
        let mut f = NullFramer::new(8);
        f.push(b"{\"a\":1}\x000123456");
        assert_eq!(drain(&mut f), [ok("{\"a\":1}")]);
        f.push(b"789abcdef");
        assert_eq!(drain(&mut f), [Err(GelfError::FrameTooLarge { limit: 8 })]);
        assert_eq!(f.buffered(), 0);
        f.push(&[b'x'; 10_000]);
        assert_eq!(drain(&mut f), []);
        assert_eq!(f.buffered(), 0);
        f.push(b"tail\0{\"b\":2}\0");
        assert_eq!(drain(&mut f), [ok("{\"b\":2}")]);
        // Exactly the limit is accepted; one more is not.
        f.push(b"12345678\x00123456789\0");
        assert_eq!(
            drain(&mut f),
            [ok("12345678"), Err(GelfError::FrameTooLarge { limit: 8 })]
        );
    }

    #[test]
    fn finish_returns_the_unterminated_tail() {
        let mut f = NullFramer::new(100);
        f.push(b"{\"a\":1}\0{\"b\":2}");
        assert_eq!(f.finish(), Some(ok("{\"a\":1}")));
        assert_eq!(f.finish(), Some(ok("{\"b\":2}")));
        assert_eq!(f.finish(), None);
        let mut f = NullFramer::new(3);
        f.push(b"abcdef");
        assert_eq!(f.finish(), Some(Err(GelfError::FrameTooLarge { limit: 3 })));
        assert_eq!(f.finish(), None);
        let mut f = NullFramer::new(3);
        f.push(b" \n");
        assert_eq!(f.finish(), None);
    }
}
