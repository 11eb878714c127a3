//! OpenTelemetry over gRPC: `LogsService/Export` and `TraceService/Export` on the main listener
//! (HTTP/2; h2c prior knowledge on plain HTTP), through the same pipeline as OTLP/HTTP.
//!
//! gRPC is small enough on top of HTTP/2 not to need a second server stack: a request body is
//! one length-prefixed message (a flag byte saying whether it is compressed with the
//! `grpc-encoding`, then a 4-byte big-endian length), and the answer is one such message followed
//! by `grpc-status` trailers. Errors (from the handler or the permission layer) leave as
//! trailers-only responses with the gRPC code an exporter expects (UNAVAILABLE is retried,
//! INVALID_ARGUMENT is not), see [`errors_as_status`].

use axum::body::Body;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::AppState;
use crate::auth::rules::Caller;
use crate::error::ApiError;
use crate::ingest::{self, Format, OtlpSignal};

/// The gRPC method paths, as generated clients call them.
pub(crate) const LOGS_EXPORT: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
pub(crate) const TRACES_EXPORT: &str =
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// Every gRPC path starts so; errors under it are answered the gRPC way.
const SERVICE_PREFIX: &str = "/opentelemetry.proto.collector.";

const GRPC_CONTENT_TYPE: &str = "application/grpc";

/// `LogsService/Export`.
pub(crate) async fn logs(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    check_content_type(&headers)?;
    let format = Format::OtlpGrpc(OtlpSignal::Logs);
    ingest::ingest(state, caller, query.as_deref(), &headers, body, format).await
}

/// `TraceService/Export`.
pub(crate) async fn traces(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    check_content_type(&headers)?;
    let format = Format::OtlpGrpc(OtlpSignal::Traces);
    ingest::ingest(state, caller, query.as_deref(), &headers, body, format).await
}

/// gRPC answers a content type it does not speak with HTTP 415 (not a gRPC status).
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if media.eq_ignore_ascii_case(GRPC_CONTENT_TYPE)
        || media.eq_ignore_ascii_case("application/grpc+proto")
    {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("gRPC requests are application/grpc, not `{content_type}`."),
        ))
    }
}

/// The compression a request's message was sent with (`grpc-encoding`), for a message whose
/// compressed flag is set.
pub(crate) fn message_encoding(headers: &HeaderMap) -> String {
    headers
        .get("grpc-encoding")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .to_owned()
}

/// The one message of a unary request body: whether it is compressed, and its bytes.
pub(crate) fn unframe(body: &[u8]) -> Result<(bool, &[u8]), ApiError> {
    let (header, rest) = body.split_at_checked(5).ok_or_else(|| {
        ApiError::bad_request("The gRPC request body is shorter than a message header.")
    })?;
    let compressed = match header[0] {
        0 => false,
        1 => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "The gRPC message's compressed flag is {other}; only 0 and 1 exist."
            )));
        }
    };
    let length = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    match rest.len().cmp(&length) {
        std::cmp::Ordering::Equal => Ok((compressed, rest)),
        std::cmp::Ordering::Less => Err(ApiError::bad_request(format!(
            "The gRPC message declares {length} bytes but the body holds {}.",
            rest.len()
        ))),
        std::cmp::Ordering::Greater => Err(ApiError::bad_request(
            "An export is a unary call: the body holds more than one gRPC message.",
        )),
    }
}

/// A successful unary answer: `message` framed, then `grpc-status: 0`.
pub(crate) fn ok_response(message: Vec<u8>) -> Response {
    let mut framed = Vec::with_capacity(message.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(&message);
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let frames = futures_util::stream::iter([
        Ok::<_, std::convert::Infallible>(http_body::Frame::data(axum::body::Bytes::from(framed))),
        Ok(http_body::Frame::trailers(trailers)),
    ]);
    let mut response = Response::new(Body::new(http_body_util::StreamBody::new(frames)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(GRPC_CONTENT_TYPE),
    );
    response
}

/// Turns any failure under the gRPC paths (the handler's, the permission layer's, an unknown
/// method's) into a trailers-only gRPC answer carrying the matching status and the message.
pub(crate) async fn errors_as_status(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with(SERVICE_PREFIX) {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    let status = response.status();
    if status == StatusCode::OK || status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return response;
    }
    let (parts, body) = response.into_parts();
    // Error bodies are short JSON written by this server.
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let message = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("Error").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
    let mut answer = Response::new(Body::empty());
    let headers = answer.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(GRPC_CONTENT_TYPE),
    );
    headers.insert("grpc-status", HeaderValue::from(status_code(status)));
    if let Ok(value) = HeaderValue::from_str(&percent_encode(&message)) {
        headers.insert("grpc-message", value);
    }
    if let Some(retry) = parts.headers.get(header::RETRY_AFTER) {
        headers.insert(header::RETRY_AFTER, retry.clone());
    }
    answer.into_response()
}

/// gRPC's code for an HTTP failure, chosen so exporters retry exactly what is transient
/// (OTLP: UNAVAILABLE is retried; RESOURCE_EXHAUSTED without RetryInfo and INVALID_ARGUMENT
/// are not).
fn status_code(status: StatusCode) -> u16 {
    match status.as_u16() {
        400 => 3,        // INVALID_ARGUMENT
        401 => 16,       // UNAUTHENTICATED
        403 => 7,        // PERMISSION_DENIED
        404 | 405 => 12, // UNIMPLEMENTED
        413 => 8,        // RESOURCE_EXHAUSTED
        429 | 503 => 14, // UNAVAILABLE
        _ => 13,         // INTERNAL
    }
}

/// `grpc-message` is percent-encoded UTF-8: everything outside printable ASCII, and `%`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unframes_exactly_one_message() {
        assert_eq!(
            unframe(&[0, 0, 0, 0, 2, 7, 8]).unwrap(),
            (false, &[7u8, 8][..])
        );
        assert_eq!(unframe(&[1, 0, 0, 0, 0]).unwrap(), (true, &[][..]));
        for bad in [
            &[0u8, 0, 0][..],
            &[0, 0, 0, 0, 3, 1],
            &[0, 0, 0, 0, 1, 1, 2],
            &[2, 0, 0, 0, 0],
        ] {
            assert_eq!(unframe(bad).unwrap_err().status(), StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn messages_are_percent_encoded() {
        assert_eq!(percent_encode("50% off: é"), "50%25 off: %C3%A9");
    }
}
