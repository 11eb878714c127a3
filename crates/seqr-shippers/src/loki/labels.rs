//! Loki stream labels in Prometheus selector syntax: `{job="x", level="info"}`.
//!
//! Promtail and Alloy write values with Go's `strconv.Quote`, so escapes are Go's (`\n`, `\t`,
//! `\"`, `\\`, `\xHH`, octal `\NNN`, `\uXXXX`, `\UXXXXXXXX`); single-quoted and backquoted (raw)
//! values, quoted UTF-8 names (`{"service.name"="x"}`) and a trailing comma are accepted as
//! PromQL accepts them. Only `=` pairs form a label set: a matcher such as `!=` is an error.

use std::fmt;

/// Why a labels string is not a label set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelsError {
    /// Input ended where more was expected.
    UnexpectedEnd { expected: &'static str },
    /// Something else was found at byte `at`.
    Unexpected {
        at: usize,
        found: char,
        expected: &'static str,
    },
    /// A backslash escape that Go does not define, at byte `at`.
    BadEscape { at: usize },
}

impl fmt::Display for LabelsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelsError::UnexpectedEnd { expected } => {
                write!(f, "the labels end where {expected} was expected")
            }
            LabelsError::Unexpected {
                at,
                found,
                expected,
            } => write!(
                f,
                "the labels have `{found}` at byte {at} where {expected} was expected"
            ),
            LabelsError::BadEscape { at } => {
                write!(f, "the labels have an invalid escape at byte {at}")
            }
        }
    }
}

impl std::error::Error for LabelsError {}

/// The name-value pairs of a label set, in order.
pub fn parse_labels(text: &str) -> Result<Vec<(String, String)>, LabelsError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    let mut labels = Vec::new();
    p.skip_ws();
    p.expect(b'{', "`{`")?;
    loop {
        p.skip_ws();
        if p.eat(b'}') {
            break;
        }
        let name = p.name()?;
        p.skip_ws();
        p.expect(b'=', "`=`")?;
        let value = p.string("a quoted value")?;
        labels.push((name, value));
        p.skip_ws();
        if p.eat(b',') {
            continue;
        }
        p.expect(b'}', "`,` or `}`")?;
        break;
    }
    p.skip_ws();
    match p.peek_char() {
        None => Ok(labels),
        Some(found) => Err(LabelsError::Unexpected {
            at: p.pos,
            found,
            expected: "the end",
        }),
    }
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_char(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn unexpected(&self, expected: &'static str) -> LabelsError {
        match self.peek_char() {
            None => LabelsError::UnexpectedEnd { expected },
            Some(found) => LabelsError::Unexpected {
                at: self.pos,
                found,
                expected,
            },
        }
    }

    fn expect(&mut self, b: u8, expected: &'static str) -> Result<(), LabelsError> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, or a quoted string (Prometheus 3's UTF-8 names).
    fn name(&mut self) -> Result<String, LabelsError> {
        match self.peek() {
            Some(b'"' | b'\'' | b'`') => self.string("a label name"),
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    self.pos += 1;
                }
                Ok(self.text[start..self.pos].to_owned())
            }
            _ => Err(self.unexpected("a label name")),
        }
    }

    /// A `"..."` or `'...'` string with Go escapes, or a raw `` `...` `` string.
    fn string(&mut self, expected: &'static str) -> Result<String, LabelsError> {
        self.skip_ws();
        let quote = match self.peek() {
            Some(q @ (b'"' | b'\'' | b'`')) => q,
            _ => return Err(self.unexpected(expected)),
        };
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(LabelsError::UnexpectedEnd {
                    expected: "a closing quote",
                });
            };
            self.pos += 1;
            if b == quote {
                break;
            }
            if b == b'\\' && quote != b'`' {
                self.escape(quote, &mut out)?;
            } else {
                out.push(b);
            }
        }
        // `\x` and octal escapes may spell bytes that are not UTF-8.
        Ok(String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into()))
    }

    /// One escape after its backslash, appended to `out`.
    fn escape(&mut self, quote: u8, out: &mut Vec<u8>) -> Result<(), LabelsError> {
        let at = self.pos - 1;
        let bad = LabelsError::BadEscape { at };
        let Some(b) = self.peek() else {
            return Err(bad);
        };
        self.pos += 1;
        let simple = match b {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'\\' => Some(b'\\'),
            q if q == quote => Some(q),
            _ => None,
        };
        if let Some(byte) = simple {
            out.push(byte);
            return Ok(());
        }
        match b {
            b'x' => {
                let v = self.digits(2, 16).ok_or(bad)?;
                out.push(v as u8);
            }
            b'0'..=b'7' => {
                self.pos -= 1;
                let v = self.digits(3, 8).filter(|v| *v <= 0xff).ok_or(bad)?;
                out.push(v as u8);
            }
            b'u' | b'U' => {
                let n = if b == b'u' { 4 } else { 8 };
                let c = self.digits(n, 16).and_then(char::from_u32).ok_or(bad)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => return Err(bad),
        }
        Ok(())
    }

    /// Exactly `n` digits in `radix`.
    fn digits(&mut self, n: usize, radix: u32) -> Option<u32> {
        let mut v: u32 = 0;
        for _ in 0..n {
            let d = char::from(self.peek()?).to_digit(radix)?;
            v = v.checked_mul(radix)?.checked_add(d)?;
            self.pos += 1;
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_labels(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn promtail_and_vector_spellings() {
        assert_eq!(
            pairs(r#"{agent="vector", file="/path/to/log", job="file_logs"}"#),
            owned(&[
                ("agent", "vector"),
                ("file", "/path/to/log"),
                ("job", "file_logs")
            ])
        );
        assert_eq!(
            pairs(r#"{job="x",level="info"}"#),
            owned(&[("job", "x"), ("level", "info")])
        );
        assert_eq!(pairs("{}"), owned(&[]));
        assert_eq!(pairs("  { }  "), owned(&[]));
        assert_eq!(pairs("{a=\"1\",}"), owned(&[("a", "1")]));
        assert_eq!(
            pairs("{ a = \"1\" ,\n b='2' }"),
            owned(&[("a", "1"), ("b", "2")])
        );
        assert_eq!(
            pairs(r#"{_x_1="", __name__="n"}"#),
            owned(&[("_x_1", ""), ("__name__", "n")])
        );
    }

    #[test]
    fn go_escapes_and_raw_strings() {
        assert_eq!(
            pairs(r#"{msg="say \"hi\"\n\tback\\slash"}"#),
            owned(&[("msg", "say \"hi\"\n\tback\\slash")])
        );
        assert_eq!(
            pairs(r#"{a="\x41\101\u00e9\U0001F600"}"#),
            owned(&[("a", "AAé😀")])
        );
        assert_eq!(pairs(r#"{a='it\'s'}"#), owned(&[("a", "it's")]));
        assert_eq!(pairs(r#"{a=`raw\n"q"`}"#), owned(&[("a", r#"raw\n"q""#)]));
        assert_eq!(
            pairs(r#"{"service.name"="api"}"#),
            owned(&[("service.name", "api")])
        );
        assert_eq!(pairs("{a=\"café\"}"), owned(&[("a", "café")]));
        // Bytes that are not UTF-8 are kept lossily.
        assert_eq!(pairs(r#"{a="\xff"}"#), owned(&[("a", "\u{fffd}")]));
    }

    #[test]
    fn bad_syntax_is_an_error() {
        for bad in [
            "",
            "job=\"x\"",
            "{job}",
            "{job=x}",
            "{job=\"x\"",
            "{job=\"x}",
            "{job!=\"x\"}",
            "{job=~\"x\"}",
            "{1job=\"x\"}",
            "{job=\"x\" level=\"y\"}",
            "{job=\"x\"} extra",
            "{,}",
            "{a=\"\\q\"}",
            "{a=\"\\x4\"}",
            "{a=\"\\400\"}",
            "{a=\"\\uD800\"}",
            "{a=\"\\",
            "{é=\"x\"}",
        ] {
            assert!(parse_labels(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(
            parse_labels("{job!=\"x\"}").unwrap_err().to_string(),
            "the labels have `!` at byte 4 where `=` was expected"
        );
        assert_eq!(
            parse_labels("{job=\"x\"").unwrap_err().to_string(),
            "the labels end where `,` or `}` was expected"
        );
    }
}
