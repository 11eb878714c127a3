//! The fuzz target's checks, shared by `fuzz/fuzz_targets/decode.rs` and the corpus replay in
//! `tests/fuzz_corpus.rs`. The first byte picks the signal and encoding (0 logs/protobuf,
//! 1 logs/JSON, 2 traces/protobuf, 3 traces/JSON); the rest is the body.

use prost::Message;
use seqr_otlp::{Encoding, decode_logs, decode_traces};

/// A small limit, so the size refusal path is exercised too.
const MAX_EVENT_BYTES: usize = 2048;

pub fn check_input(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let encoding = if selector & 1 == 0 {
        Encoding::Protobuf
    } else {
        Encoding::Json
    };
    let traces = selector & 2 != 0;
    let decoded = if traces {
        decode_traces(body, encoding, MAX_EVENT_BYTES)
    } else {
        decode_logs(body, encoding, MAX_EVENT_BYTES)
    };
    let Ok(decoded) = decoded else {
        return;
    };
    // Every record is either an event or counted as refused.
    if encoding == Encoding::Protobuf {
        let records = if traces {
            let r = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::decode(body)
                .expect("decoded once, decodes again");
            r.resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum::<usize>()
        } else {
            let r =
                opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest::decode(
                    body,
                )
                .expect("decoded once, decodes again");
            r.resource_logs
                .iter()
                .flat_map(|r| &r.scope_logs)
                .map(|s| s.log_records.len())
                .sum::<usize>()
        };
        assert_eq!(
            decoded.events.len() + decoded.rejected,
            records,
            "a record was lost"
        );
    }
    assert_eq!(decoded.rejected > 0, decoded.rejection.is_some());
    for e in &decoded.events {
        // Spans always carry a start; every event's properties serialize.
        if traces {
            assert!(e.span_start.is_some());
        }
        serde_json::to_vec(&e.properties).expect("properties serialize");
        assert_eq!(
            e.event_type,
            seqr_types::event_type::of_template(e.template_or_message())
        );
    }
    // The answer always encodes.
    let answer = if traces {
        seqr_otlp::traces_response(&decoded, encoding)
    } else {
        seqr_otlp::logs_response(&decoded, encoding)
    };
    if encoding == Encoding::Json {
        serde_json::from_slice::<serde_json::Value>(&answer).expect("a JSON answer");
    }
}
