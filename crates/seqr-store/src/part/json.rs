//! A borrowing walk over JSON object text (the property maps of WAL rows), so a flush turns
//! rows into columns without building `serde_json` values: strings without escapes, numbers,
//! and nested arrays come out as slices of the row.

use std::borrow::Cow;

use super::bytes::{Corrupt, corrupt};

/// A value met by the walk.
pub(crate) enum Token<'a> {
    Str(Cow<'a, str>),
    /// A number's text.
    Num(&'a str),
    Bool(bool),
    Null,
    /// The start of an object (the walk continues inside it).
    Object,
    /// An array, or an object the caller skipped: its whole text.
    Raw(&'a str),
}

pub(crate) struct Walker<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(text: &'a str) -> Walker<'a> {
        Walker { text, pos: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn ws(&mut self) {
        // Rows hold compact JSON, so this is almost always a single check.
        while self
            .bytes()
            .get(self.pos)
            .is_some_and(u8::is_ascii_whitespace)
        {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Result<u8, Corrupt> {
        self.ws();
        match self.bytes().get(self.pos) {
            Some(&b) => Ok(b),
            None => corrupt("JSON ends early"),
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), Corrupt> {
        if self.peek()? != b {
            return corrupt(format!("JSON: expected `{}` at {}", b as char, self.pos));
        }
        self.pos += 1;
        Ok(())
    }

    /// Starts an object: consumes `{`.
    pub(crate) fn open(&mut self) -> Result<(), Corrupt> {
        self.expect(b'{')
    }

    /// The next member's key, or `None` at the end of the object (consuming `}`).
    pub(crate) fn key(&mut self, first: bool) -> Result<Option<Cow<'a, str>>, Corrupt> {
        if self.peek()? == b'}' {
            self.pos += 1;
            return Ok(None);
        }
        if !first {
            self.expect(b',')?;
        }
        let k = self.string()?;
        self.expect(b':')?;
        Ok(Some(k))
    }

    /// Whether the next value is a non-empty object.
    pub(crate) fn at_nonempty_object(&mut self) -> Result<bool, Corrupt> {
        if self.peek()? != b'{' {
            return Ok(false);
        }
        let mut p = self.pos + 1;
        while self.bytes().get(p).is_some_and(u8::is_ascii_whitespace) {
            p += 1;
        }
        Ok(self.bytes().get(p) != Some(&b'}'))
    }

    /// The next value; with `descend`, a non-empty object is entered (its `{` consumed)
    /// and returned as [`Token::Object`], otherwise objects are returned whole as text.
    pub(crate) fn value(&mut self, descend: bool) -> Result<Token<'a>, Corrupt> {
        match self.peek()? {
            b'"' => Ok(Token::Str(self.string()?)),
            b'{' if descend && self.at_nonempty_object()? => {
                self.pos += 1;
                Ok(Token::Object)
            }
            b'{' | b'[' => Ok(Token::Raw(self.skip()?)),
            b't' => self.literal("true", Token::Bool(true)),
            b'f' => self.literal("false", Token::Bool(false)),
            b'n' => self.literal("null", Token::Null),
            _ => {
                let start = self.pos;
                while self
                    .bytes()
                    .get(self.pos)
                    .is_some_and(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                {
                    self.pos += 1;
                }
                if start == self.pos {
                    return corrupt(format!("JSON: unexpected byte at {start}"));
                }
                Ok(Token::Num(&self.text[start..self.pos]))
            }
        }
    }

    fn literal(&mut self, word: &str, t: Token<'a>) -> Result<Token<'a>, Corrupt> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(t)
        } else {
            corrupt(format!("JSON: bad literal at {}", self.pos))
        }
    }

    /// The end of the string starting at `self.pos` (after its closing quote), and whether
    /// it has escapes.
    fn string_end(&self) -> Result<(usize, bool), Corrupt> {
        let b = self.bytes();
        let mut p = self.pos + 1;
        let mut escaped = false;
        loop {
            let Some(at) = b
                .get(p..)
                .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
            else {
                return corrupt("JSON: unterminated string");
            };
            p += at;
            if b[p] == b'"' {
                return Ok((p + 1, escaped));
            }
            escaped = true;
            p += 2;
        }
    }

    fn string(&mut self) -> Result<Cow<'a, str>, Corrupt> {
        if self.peek()? != b'"' {
            return corrupt(format!("JSON: expected a string at {}", self.pos));
        }
        let (end, escaped) = self.string_end()?;
        let start = self.pos;
        self.pos = end;
        if escaped {
            serde_json::from_str::<String>(&self.text[start..end])
                .map(Cow::Owned)
                .or_else(|e| corrupt(format!("JSON string: {e}")))
        } else {
            Ok(Cow::Borrowed(&self.text[start + 1..end - 1]))
        }
    }

    /// Skips an array or object, returning its text.
    fn skip(&mut self) -> Result<&'a str, Corrupt> {
        let start = self.pos;
        let mut depth = 0usize;
        loop {
            match self.bytes().get(self.pos) {
                Some(b'"') => self.pos = self.string_end()?.0,
                Some(b'[' | b'{') => {
                    depth += 1;
                    self.pos += 1;
                }
                Some(b']' | b'}') => {
                    depth -= 1;
                    self.pos += 1;
                    if depth == 0 {
                        return Ok(&self.text[start..self.pos]);
                    }
                }
                Some(_) => self.pos += 1,
                None => return corrupt("JSON: unterminated array or object"),
            }
        }
    }

    /// Checks nothing but whitespace is left.
    pub(crate) fn end(&mut self) -> Result<(), Corrupt> {
        self.ws();
        if self.pos == self.text.len() {
            Ok(())
        } else {
            corrupt("JSON: trailing bytes")
        }
    }
}
