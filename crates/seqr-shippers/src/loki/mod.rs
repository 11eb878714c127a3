//! Loki's push API (`POST /loki/api/v1/push`), as Promtail, Grafana Alloy, Vector's `loki` sink
//! and Fluent Bit's `loki` output send it. The mapping is in the crate docs.
//!
//! Loki answers 204 when everything was stored. When entries were refused one by one
//! ([`crate::Decoded::rejected`]) Loki stores the rest and answers 400 naming them; shippers
//! do not retry a 400, so nothing is sent twice.

mod entry;
mod json;
mod labels;
pub mod proto;

use prost::Message;

use crate::{DecodeError, Decoded};

pub use labels::{LabelsError, parse_labels};

/// The body's encoding, from its content type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Snappy (block format) compressed `logproto.PushRequest`.
    Protobuf,
    /// `{"streams":[{"stream":{..},"values":[["<ns>","line"],..]}]}`.
    Json,
}

impl Encoding {
    /// `application/x-protobuf` (Promtail, Alloy, Vector's default) or `application/json`
    /// (Fluent Bit, Vector with JSON), parameters ignored. No content type at all is
    /// protobuf, as Loki takes it; any other type is not a push request.
    pub fn from_content_type(content_type: Option<&str>) -> Option<Encoding> {
        let Some(content_type) = content_type else {
            return Some(Encoding::Protobuf);
        };
        let media = content_type.split(';').next()?.trim().to_ascii_lowercase();
        match media.as_str() {
            "" | "application/x-protobuf" | "application/protobuf" | "application/octet-stream" => {
                Some(Encoding::Protobuf)
            }
            "application/json" => Some(Encoding::Json),
            _ => None,
        }
    }
}

/// A push request as events, one per entry. `max_body_bytes` bounds what a snappy body may
/// decompress to (checked against its length header before anything is allocated);
/// `max_event_bytes` is the per-entry limit.
pub fn decode_push(
    body: &[u8],
    encoding: Encoding,
    max_body_bytes: usize,
    max_event_bytes: usize,
) -> Result<Decoded, DecodeError> {
    let streams = match encoding {
        Encoding::Protobuf => {
            let raw = decompress(body, max_body_bytes)?;
            let request = proto::PushRequest::decode(raw.as_slice()).map_err(|e| {
                DecodeError(format!("The body is not a protobuf Loki PushRequest: {e}."))
            })?;
            entry::from_proto(request)?
        }
        Encoding::Json => {
            if body.len() > max_body_bytes {
                return Err(too_large(body.len(), max_body_bytes));
            }
            json::streams(body)?
        }
    };
    Ok(entry::events(streams, max_event_bytes))
}

/// What a snappy block body says it decompresses to, so a server can answer 413 for a body
/// that claims too much before decoding it.
pub fn snappy_len(body: &[u8]) -> Result<usize, DecodeError> {
    snap::raw::decompress_len(body).map_err(|e| {
        DecodeError(format!(
            "The body is not snappy-compressed (block format) as a protobuf Loki push must be: {e}."
        ))
    })
}

fn decompress(body: &[u8], max_body_bytes: usize) -> Result<Vec<u8>, DecodeError> {
    let len = snappy_len(body)?;
    if len > max_body_bytes {
        return Err(too_large(len, max_body_bytes));
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| DecodeError(format!("The snappy-compressed body is damaged: {e}.")))
}

fn too_large(len: usize, max: usize) -> DecodeError {
    DecodeError(format!(
        "The push request is {len} bytes uncompressed, over the {max}-byte limit."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        use Encoding::*;
        let cases = [
            (None, Some(Protobuf)),
            (Some("application/x-protobuf"), Some(Protobuf)),
            (Some("application/json"), Some(Json)),
            (Some("application/json; charset=utf-8"), Some(Json)),
            (Some("Application/JSON"), Some(Json)),
            (Some(""), Some(Protobuf)),
            (Some("text/plain"), None),
        ];
        for (ct, want) in cases {
            assert_eq!(Encoding::from_content_type(ct), want, "{ct:?}");
        }
    }

    #[test]
    fn a_snappy_bomb_is_refused_before_allocating() {
        // A varint length header claiming 4 GiB - 1 (snappy's most), then one literal byte.
        let mut body = vec![0xff, 0xff, 0xff, 0xff, 0x0f];
        body.extend_from_slice(&[0x00, b'x']);
        assert_eq!(snappy_len(&body).unwrap(), u32::MAX as usize);
        let err = decode_push(&body, Encoding::Protobuf, 1 << 20, 1 << 16).unwrap_err();
        assert!(
            err.0
                .contains("4294967295 bytes uncompressed, over the 1048576-byte limit"),
            "{err}"
        );
        // Beyond what snappy can describe at all.
        let err = snappy_len(&[0x80, 0x80, 0x80, 0x80, 0x10]).unwrap_err();
        assert!(err.0.contains("not snappy-compressed"), "{err}");
    }

    #[test]
    fn bad_bodies() {
        let err = decode_push(b"\xff\xff\xff", Encoding::Protobuf, 1024, 1024).unwrap_err();
        assert!(err.0.contains("not snappy-compressed"), "{err}");
        // Valid snappy around bytes that are not a PushRequest.
        let inner = snap::raw::Encoder::new().compress_vec(b"\x0a\xff").unwrap();
        let err = decode_push(&inner, Encoding::Protobuf, 1024, 1024).unwrap_err();
        assert!(err.0.contains("not a protobuf Loki PushRequest"), "{err}");
        let err = decode_push(b"{}", Encoding::Json, 1, 1024).unwrap_err();
        assert!(err.0.contains("over the 1-byte limit"), "{err}");
    }
}
