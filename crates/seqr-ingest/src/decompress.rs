//! `Content-Encoding` handling, bounded by the body limit so a small gzip bomb is refused
//! after reading at most `max_bytes + 1` bytes of output.

use std::fmt;
use std::io::Read;

use flate2::read::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};

/// Why a body could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecompressError {
    /// The (decompressed) body exceeds the limit: HTTP 413.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not valid data for its encoding: HTTP 400.
    Corrupt {
        /// The encoding tried.
        encoding: &'static str,
        /// The decoder's message.
        detail: String,
    },
    /// An encoding other than gzip, deflate and identity: HTTP 415.
    Unsupported(String),
}

impl DecompressError {
    /// The HTTP status to answer with.
    pub fn http_status(&self) -> u16 {
        match self {
            DecompressError::TooLarge { .. } => 413,
            DecompressError::Corrupt { .. } => 400,
            DecompressError::Unsupported(_) => 415,
        }
    }
}

impl fmt::Display for DecompressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecompressError::TooLarge { limit } => write!(
                f,
                "The decompressed request body is over the {limit}-byte limit."
            ),
            DecompressError::Corrupt { encoding, detail } => {
                write!(
                    f,
                    "The request body is not valid {encoding} data: {detail}."
                )
            }
            DecompressError::Unsupported(encoding) => {
                write!(f, "The content encoding `{encoding}` is not supported.")
            }
        }
    }
}

impl std::error::Error for DecompressError {}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Gzip,
    Zlib,
    RawDeflate,
}

/// Decodes a body per its `Content-Encoding`: `gzip` (`x-gzip`), `deflate`, `identity` or
/// empty, or a comma-separated list of those.
///
/// The data decides the decoder: gzip and zlib are recognised by their headers, and a
/// `deflate` body with neither is taken as raw deflate (some clients send that). So the
/// GELF clients' `gzip,deflate` on a plain zlib body works, and each listed coding peels at
/// most one layer. Output beyond `max_bytes` fails with [`DecompressError::TooLarge`].
pub fn decompress(
    body: &[u8],
    content_encoding: &str,
    max_bytes: usize,
) -> Result<Vec<u8>, DecompressError> {
    let mut layers = 0;
    for coding in content_encoding.split(',').map(str::trim) {
        if coding.eq_ignore_ascii_case("gzip")
            || coding.eq_ignore_ascii_case("x-gzip")
            || coding.eq_ignore_ascii_case("deflate")
        {
            layers += 1;
        } else if !(coding.is_empty() || coding.eq_ignore_ascii_case("identity")) {
            return Err(DecompressError::Unsupported(
                coding.chars().take(64).collect(),
            ));
        }
    }

    if body.is_empty() {
        return Ok(Vec::new()); // an empty level-check POST, whatever its headers say
    }
    let mut data: Option<Vec<u8>> = None;
    for layer in 0..layers {
        let input = data.as_deref().unwrap_or(body);
        let format = match sniff(input) {
            Some(format) => format,
            // Only the outermost layer may be raw deflate; after that, plain data means done.
            None if layer == 0 => Format::RawDeflate,
            None => break,
        };
        data = Some(inflate(input, format, max_bytes)?);
    }
    match data {
        Some(d) => Ok(d),
        None if body.len() > max_bytes => Err(DecompressError::TooLarge { limit: max_bytes }),
        None => Ok(body.to_vec()),
    }
}

fn sniff(data: &[u8]) -> Option<Format> {
    match data {
        [0x1f, 0x8b, ..] => Some(Format::Gzip),
        // RFC 1950: deflate method, window <= 32K, header checksum.
        [cmf, flg, ..]
            if cmf & 0x0f == 8
                && cmf >> 4 <= 7
                && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0 =>
        {
            Some(Format::Zlib)
        }
        _ => None,
    }
}

fn inflate(input: &[u8], format: Format, max_bytes: usize) -> Result<Vec<u8>, DecompressError> {
    let limit = max_bytes as u64 + 1;
    let mut out = Vec::with_capacity(input.len().saturating_mul(4).min(max_bytes));
    let (name, result) = match format {
        Format::Gzip => (
            "gzip",
            MultiGzDecoder::new(input).take(limit).read_to_end(&mut out),
        ),
        Format::Zlib => (
            "zlib",
            ZlibDecoder::new(input).take(limit).read_to_end(&mut out),
        ),
        Format::RawDeflate => (
            "deflate",
            DeflateDecoder::new(input).take(limit).read_to_end(&mut out),
        ),
    };
    result.map_err(|e| DecompressError::Corrupt {
        encoding: name,
        detail: e.to_string(),
    })?;
    if out.len() > max_bytes {
        return Err(DecompressError::TooLarge { limit: max_bytes });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use std::io::Write;

    const TEXT: &[u8] = b"{\"@t\":\"2024-01-01T00:00:00Z\",\"@mt\":\"hello\"}\n";

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn encodings() {
        let split = [gzip(b"{\"a\":"), gzip(b"1}")].concat();
        let cases: [(Vec<u8>, &str, &[u8]); 12] = [
            (TEXT.to_vec(), "", TEXT),
            (TEXT.to_vec(), "identity", TEXT),
            (gzip(TEXT), "gzip", TEXT),
            (gzip(TEXT), "GZip", TEXT),
            (gzip(TEXT), "x-gzip", TEXT),
            (zlib(TEXT), "deflate", TEXT),
            (raw_deflate(TEXT), "deflate", TEXT),
            (zlib(TEXT), "gzip,deflate", TEXT),
            (zlib(TEXT), "gzip, deflate", TEXT),
            (gzip(TEXT), "gzip,deflate", TEXT),
            (zlib(&gzip(TEXT)), "gzip, deflate", TEXT),
            (split, "gzip", b"{\"a\":1}"),
        ];
        for (body, encoding, expected) in cases {
            assert_eq!(
                decompress(&body, encoding, 1 << 20).unwrap(),
                expected,
                "{encoding}"
            );
        }
    }

    #[test]
    fn bombs_stop_at_the_limit() {
        let zeros = vec![0u8; 10 << 20];
        let bomb = gzip(&zeros);
        assert!(bomb.len() < 20_000);
        let err = decompress(&bomb, "gzip", 1 << 20).unwrap_err();
        assert_eq!(err, DecompressError::TooLarge { limit: 1 << 20 });
        assert_eq!(err.http_status(), 413);
        assert_eq!(decompress(&bomb, "gzip", 10 << 20).unwrap().len(), 10 << 20);
        assert_eq!(
            decompress(TEXT, "identity", 10).unwrap_err(),
            DecompressError::TooLarge { limit: 10 }
        );
        assert!(decompress(&zlib(&zeros), "deflate", 1000).is_err());
    }

    #[test]
    fn bad_input() {
        assert_eq!(decompress(b"", "gzip", 100).unwrap(), b"");
        assert!(matches!(
            decompress(b"\x1f\x8bnot really", "gzip", 100),
            Err(DecompressError::Corrupt { .. })
        ));
        let truncated = &gzip(TEXT)[..20];
        assert_eq!(
            decompress(truncated, "gzip", 100)
                .unwrap_err()
                .http_status(),
            400
        );
        let err = decompress(TEXT, "br", 100).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The content encoding `br` is not supported."
        );
        assert_eq!(err.http_status(), 415);
    }
}
