//! The answers OTLP/HTTP exporters decode: `Export{Logs,Trace}ServiceResponse`, in the
//! request's encoding, with `partialSuccess` only when records were refused.

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;

use crate::{Decoded, Encoding};

/// The body answering a logs export.
pub fn logs_response(decoded: &Decoded, encoding: Encoding) -> Vec<u8> {
    let response = ExportLogsServiceResponse {
        partial_success: (decoded.rejected > 0).then(|| ExportLogsPartialSuccess {
            rejected_log_records: decoded.rejected as i64,
            error_message: decoded.rejection.clone().unwrap_or_default(),
        }),
    };
    encode(&response, encoding)
}

/// The body answering a traces export.
pub fn traces_response(decoded: &Decoded, encoding: Encoding) -> Vec<u8> {
    let response = ExportTraceServiceResponse {
        partial_success: (decoded.rejected > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: decoded.rejected as i64,
            error_message: decoded.rejection.clone().unwrap_or_default(),
        }),
    };
    encode(&response, encoding)
}

fn encode<T: Message + serde::Serialize>(response: &T, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Protobuf => response.encode_to_vec(),
        // OTLP/JSON leaves unset fields out (`{}` for full success), where serde writes null.
        Encoding::Json => match serde_json::to_value(response) {
            Ok(serde_json::Value::Object(mut map)) => {
                map.retain(|_, v| !v.is_null());
                serde_json::to_vec(&map).unwrap_or_else(|_| b"{}".to_vec())
            }
            _ => b"{}".to_vec(),
        },
    }
}
