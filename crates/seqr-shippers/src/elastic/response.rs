//! The answers shippers read, in Elasticsearch's shapes and member order.
//!
//! What they check: Filebeat reads `version.number` from `GET /` (and refuses a server older
//! than itself unless `allow_older_versions`), then per item only `status` and `error`;
//! Vector reads `version.number`'s major for its API version, wants 200 from
//! `/_cluster/health`, looks for the text `"errors":true` and then each item's `status` and
//! `error.type`/`error.reason`; Fluent Bit looks for `"errors":false,"items":[` (when the answer
//! is too big for its buffer) or parses `errors` and each item's integer `status`, and counts a
//! request with one 200/201 item as delivered. So the JSON is compact, `took`, `errors`,
//! `items` in that order, and every item a one-member object.

use serde_json::{Map, Value, json};

use super::{BulkOutcome, ItemResult};
use crate::DecodeError;

/// The Elasticsearch version claimed: the last 8.x minor, so no Beat of 8.x finds the server
/// "too old", and Vector picks its version 8 API (`_type` left out).
pub const ES_VERSION: &str = "8.19.0";

/// The `_bulk` answer, after the accepted events were stored.
pub fn bulk_response(outcome: &BulkOutcome, took_ms: u64) -> Vec<u8> {
    let events = &outcome.decoded.events;
    let mut errors = false;
    let mut seq_no = 0u64;
    let items: Vec<Value> = outcome
        .items
        .iter()
        .enumerate()
        .map(|(position, item)| {
            let mut body = Map::new();
            body.insert("_index".into(), Value::String(item.index.clone()));
            match &item.result {
                ItemResult::Stored { event } => {
                    let id = item.id.clone().unwrap_or_else(|| {
                        let ticks = events.get(*event).map_or(0, |e| e.timestamp.ticks());
                        format!("{ticks:016x}{position:06x}")
                    });
                    body.insert("_id".into(), Value::String(id));
                    body.insert("_version".into(), json!(1));
                    body.insert("result".into(), json!("created"));
                    body.insert(
                        "_shards".into(),
                        json!({"total": 1, "successful": 1, "failed": 0}),
                    );
                    body.insert("_seq_no".into(), json!(seq_no));
                    body.insert("_primary_term".into(), json!(1));
                    body.insert("status".into(), json!(201));
                    seq_no += 1;
                }
                ItemResult::Refused {
                    status,
                    kind,
                    reason,
                } => {
                    errors = true;
                    if let Some(id) = &item.id {
                        body.insert("_id".into(), Value::String(id.clone()));
                    }
                    body.insert("status".into(), json!(status));
                    body.insert("error".into(), json!({"type": kind, "reason": reason}));
                }
            }
            let mut wrapper = Map::new();
            wrapper.insert(item.action.name().into(), Value::Object(body));
            Value::Object(wrapper)
        })
        .collect();
    let answer = json!({"took": took_ms, "errors": errors, "items": items});
    serde_json::to_vec(&answer)
        .unwrap_or_else(|_| b"{\"took\":0,\"errors\":true,\"items\":[]}".to_vec())
}

/// The answer to `GET /es/` (and `HEAD`): Elasticsearch's banner. Elastic's own clients also
/// want the response header `X-Elastic-Product: Elasticsearch` (the server sets it); older
/// ones check `tagline` and `build_flavor` instead.
pub fn root_info() -> Vec<u8> {
    compact(&json!({
        "name": "seqr",
        "cluster_name": "seqr",
        "cluster_uuid": "c2VxcnNlcXJzZXFyc2VxcgA",
        "version": {
            "number": ES_VERSION,
            "build_flavor": "default",
            "build_type": "docker",
            "build_hash": "0000000000000000000000000000000000000000",
            "build_date": "2025-07-24T00:00:00.000000000Z",
            "build_snapshot": false,
            "lucene_version": "9.12.2",
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0"
        },
        "tagline": "You Know, for Search"
    }))
}

/// `GET /es/_cluster/health`: Vector's health check wants a 200.
pub fn cluster_health() -> Vec<u8> {
    compact(&json!({
        "cluster_name": "seqr",
        "status": "green",
        "timed_out": false,
        "number_of_nodes": 1,
        "number_of_data_nodes": 1,
        "active_primary_shards": 0,
        "active_shards": 0,
        "relocating_shards": 0,
        "initializing_shards": 0,
        "unassigned_shards": 0,
        "delayed_unassigned_shards": 0,
        "number_of_pending_tasks": 0,
        "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0,
        "active_shards_percent_as_number": 100.0
    }))
}

/// `GET /es/_license`: an active basic license.
pub fn license() -> Vec<u8> {
    compact(&json!({
        "license": {
            "status": "active",
            "uid": "00000000-0000-0000-0000-000000000000",
            "type": "basic",
            "issue_date_in_millis": 0,
            "max_nodes": 1000,
            "issued_to": "seqr",
            "issuer": "elasticsearch",
            "start_date_in_millis": -1
        }
    }))
}

/// `GET /es/_xpack`: the features Beats' setup asks about, ILM available and enabled (so an
/// ILM setup left on finds it, then finds its policy already there through a 200 `{}`).
pub fn xpack() -> Vec<u8> {
    compact(&json!({
        "build": {"hash": "0000000000000000000000000000000000000000", "date": "2025-07-24T00:00:00.000000000Z"},
        "license": {"uid": "00000000-0000-0000-0000-000000000000", "type": "basic", "mode": "basic", "status": "active"},
        "features": {"ilm": {"available": true, "enabled": true}}
    }))
}

/// `PUT` of a template, policy or pipeline: accepted and ignored.
pub fn acknowledged() -> Vec<u8> {
    b"{\"acknowledged\":true}".to_vec()
}

/// Any other `GET` a shipper probes (`/_index_template/x`, `/_ilm/policy/x`, `/_nodes/...`):
/// a 200 with `{}`, which is "it exists" to Beats' setup.
pub fn empty_object() -> Vec<u8> {
    b"{}".to_vec()
}

/// A request refused whole (400), in Elasticsearch's error shape.
pub fn error_response(error: &DecodeError) -> Vec<u8> {
    let cause = json!({"type": "illegal_argument_exception", "reason": error.0});
    compact(&json!({
        "error": {
            "root_cause": [cause],
            "type": "illegal_argument_exception",
            "reason": error.0
        },
        "status": 400
    }))
}

fn compact(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}
