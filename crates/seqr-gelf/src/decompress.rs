//! GELF compression, told by the first two bytes as sqelf does (a GELF message carries no
//! content encoding): gzip (`1f 8b`), zlib (RFC 1950 header), anything else plain JSON.
//! Output is bounded, so a small bomb is refused after at most `max_bytes + 1` bytes.

use std::borrow::Cow;
use std::io::Read;

use flate2::read::{MultiGzDecoder, ZlibDecoder};

use crate::GelfError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compression {
    Gzip,
    Zlib,
}

/// The compression the payload starts with, if any.
///
/// zlib is any valid RFC 1950 header (deflate, window <= 32 KiB, header checksum), a superset
/// of sqelf's `78 xx` that still never matches JSON: `{`, `[` and whitespace do not have the
/// deflate method in their low nibble.
pub(crate) fn detect(payload: &[u8]) -> Option<Compression> {
    match payload {
        [0x1f, 0x8b, ..] => Some(Compression::Gzip),
        [cmf, flg, ..]
            if cmf & 0x0f == 8
                && cmf >> 4 <= 7
                && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0 =>
        {
            Some(Compression::Zlib)
        }
        _ => None,
    }
}

/// The payload decompressed (or as is), at most `max_bytes` long.
pub(crate) fn decompress(payload: &[u8], max_bytes: usize) -> Result<Cow<'_, [u8]>, GelfError> {
    let Some(compression) = detect(payload) else {
        if payload.len() > max_bytes {
            return Err(GelfError::TooLarge { limit: max_bytes });
        }
        return Ok(Cow::Borrowed(payload));
    };
    let limit = (max_bytes as u64).saturating_add(1);
    // Compressed JSON rarely shrinks more than ~10x; start there rather than at zero.
    let mut out = Vec::with_capacity(payload.len().saturating_mul(8).min(max_bytes));
    let (name, result) = match compression {
        Compression::Gzip => (
            "gzip",
            MultiGzDecoder::new(payload)
                .take(limit)
                .read_to_end(&mut out),
        ),
        Compression::Zlib => (
            "zlib",
            ZlibDecoder::new(payload).take(limit).read_to_end(&mut out),
        ),
    };
    // Over the limit wins over corruption: a bomb with a bad tail is still a bomb.
    if out.len() > max_bytes {
        return Err(GelfError::TooLarge { limit: max_bytes });
    }
    result.map_err(|e| GelfError::Decompress(format!("not valid {name} data ({e})")))?;
    Ok(Cow::Owned(out))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use flate2::write::{GzEncoder, ZlibEncoder};
    use std::io::Write;

    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    pub(crate) fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    const TEXT: &[u8] = br#"{"short_message":"hi"}"#;

    #[test]
    fn detects_by_magic_bytes() {
        assert_eq!(detect(&gzip(TEXT)), Some(Compression::Gzip));
        assert_eq!(detect(&zlib(TEXT)), Some(Compression::Zlib));
        for level in [0, 1, 6, 9] {
            let mut e = ZlibEncoder::new(Vec::new(), flate2::Compression::new(level));
            e.write_all(TEXT).unwrap();
            assert_eq!(detect(&e.finish().unwrap()), Some(Compression::Zlib));
        }
        for plain in [
            &b"{}"[..],
            b" {",
            b"\n{",
            b"\t{",
            b"\r\n",
            b"[",
            b"x",
            b"",
            b"\x78",
        ] {
            assert_eq!(detect(plain), None, "{plain:?}");
        }
    }

    #[test]
    fn plain_gzip_and_zlib_decompress() {
        assert_eq!(decompress(TEXT, 100).unwrap().as_ref(), TEXT);
        assert!(matches!(decompress(TEXT, 100).unwrap(), Cow::Borrowed(_)));
        assert_eq!(decompress(&gzip(TEXT), 100).unwrap().as_ref(), TEXT);
        assert_eq!(decompress(&zlib(TEXT), 100).unwrap().as_ref(), TEXT);
        // Exactly at the limit is fine.
        assert_eq!(decompress(&zlib(TEXT), TEXT.len()).unwrap().as_ref(), TEXT);
    }

    #[test]
    fn bombs_and_oversize_plain_are_refused() {
        let zeros = vec![b' '; 8 << 20];
        for bomb in [gzip(&zeros), zlib(&zeros)] {
            assert!(bomb.len() < 50_000);
            assert_eq!(
                decompress(&bomb, 64 * 1024).unwrap_err(),
                GelfError::TooLarge { limit: 64 * 1024 }
            );
        }
        assert_eq!(
            decompress(TEXT, TEXT.len() - 1).unwrap_err(),
            GelfError::TooLarge {
                limit: TEXT.len() - 1
            }
        );
        assert_eq!(
            decompress(&zlib(TEXT), TEXT.len() - 1).unwrap_err(),
            GelfError::TooLarge {
                limit: TEXT.len() - 1
            }
        );
    }

    #[test]
    fn corrupt_data_is_an_error() {
        let mut z = zlib(TEXT);
        let n = z.len();
        z[n - 1] ^= 0xff; // the Adler-32 checksum
        let err = decompress(&z, 100).unwrap_err();
        assert!(matches!(err, GelfError::Decompress(_)), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("The GELF message does not decompress: not valid zlib")
        );
        let truncated = &gzip(TEXT)[..15];
        assert!(matches!(
            decompress(truncated, 100),
            Err(GelfError::Decompress(_))
        ));
        assert!(matches!(
            decompress(b"\x1f\x8bgarbage", 100),
            Err(GelfError::Decompress(_))
        ));
    }
}
