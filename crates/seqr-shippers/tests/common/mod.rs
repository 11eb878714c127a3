//! The fuzz targets' checks, shared by `fuzz/fuzz_targets/{loki,bulk}.rs` and the corpus
//! replay in `tests/fuzz_corpus.rs`. For both targets the first byte is a selector and the
//! rest is the body: Loki's low bit picks protobuf (0) or JSON (1); bulk's low bit gives a
//! default index from the path (1) or none (0).

use prost::Message;
use seqr_shippers::elastic::{self, ItemResult};
use seqr_shippers::loki::{self, Encoding};
use serde_json::Value;

/// Small limits, so the refusal paths are exercised too.
const MAX_BODY_BYTES: usize = 1 << 20;
const MAX_EVENT_BYTES: usize = 2048;

fn common_event_checks(events: &[seqr_types::Event]) {
    for e in events {
        serde_json::to_vec(&e.properties).expect("properties serialize");
        assert_eq!(
            e.event_type,
            seqr_types::event_type::of_template(e.template_or_message())
        );
        assert!(e.message.is_some() || e.message_template.is_none());
    }
}

pub fn check_loki(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let encoding = if selector & 1 == 0 {
        Encoding::Protobuf
    } else {
        Encoding::Json
    };
    let Ok(decoded) = loki::decode_push(body, encoding, MAX_BODY_BYTES, MAX_EVENT_BYTES) else {
        return;
    };
    assert_eq!(decoded.rejected > 0, decoded.rejection.is_some());
    common_event_checks(&decoded.events);
    for e in &decoded.events {
        assert!(e.message.is_some(), "every entry has its line");
    }
    if encoding == Encoding::Protobuf {
        // Every entry is an event or counted as refused.
        let raw = snap::raw::Decoder::new()
            .decompress_vec(body)
            .expect("decompressed once, decompresses again");
        let request =
            loki::proto::PushRequest::decode(raw.as_slice()).expect("decoded once, decodes again");
        let entries: usize = request.streams.iter().map(|s| s.entries.len()).sum();
        assert_eq!(
            decoded.events.len() + decoded.rejected,
            entries,
            "an entry was lost"
        );
    }
}

pub fn check_bulk(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let default_index = (selector & 1 == 1).then_some("fuzz-index");
    let Ok(outcome) = elastic::decode_bulk(body, default_index, MAX_EVENT_BYTES) else {
        return;
    };
    let decoded = &outcome.decoded;
    assert!(!outcome.items.is_empty());
    assert_eq!(decoded.rejected > 0, decoded.rejection.is_some());
    common_event_checks(&decoded.events);
    // Stored items point at the events in order, each once; refusals are counted.
    let mut next = 0;
    let mut refused = 0;
    for item in &outcome.items {
        assert!(!item.index.is_empty());
        match &item.result {
            ItemResult::Stored { event } => {
                assert_eq!(*event, next, "events in item order");
                next += 1;
            }
            ItemResult::Refused { status, .. } => {
                assert!((400..500).contains(status));
                refused += 1;
            }
        }
    }
    assert_eq!(next, decoded.events.len());
    assert_eq!(refused, decoded.rejected);
    for e in &decoded.events {
        assert!(e.properties.contains_key("_index"));
    }
    // The answer is JSON with one item per action and `errors` telling the truth.
    let answer: Value =
        serde_json::from_slice(&elastic::bulk_response(&outcome, 3)).expect("a JSON answer");
    let items = answer["items"].as_array().expect("items");
    assert_eq!(items.len(), outcome.items.len());
    assert_eq!(answer["errors"], Value::Bool(refused > 0));
    for (item, json) in outcome.items.iter().zip(items) {
        let body = &json[item.action.name()];
        assert!(body["status"].is_u64());
    }
}
