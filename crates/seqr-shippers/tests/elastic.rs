//! `_bulk` requests through the public API: action mixes, indexes, documents, refusals and the
//! answers shippers read.

use seqr_shippers::elastic::{
    Action, ItemResult, bulk_response, decode_bulk, error_response, root_info,
};
use serde_json::{Value, json};

const MB: usize = 1 << 20;

fn answer(body: &str, default_index: Option<&str>, limit: usize) -> Value {
    let outcome = decode_bulk(body.as_bytes(), default_index, limit).unwrap();
    serde_json::from_slice(&bulk_response(&outcome, 7)).unwrap()
}

#[test]
fn index_create_delete_update_mix() {
    let body = concat!(
        "{\"index\":{\"_index\":\"logs\",\"_id\":\"a1\"}}\n",
        "{\"message\":\"one\"}\n",
        "{\"delete\":{\"_index\":\"logs\",\"_id\":\"a1\"}}\n",
        "{\"create\":{}}\n",
        "{\"message\":\"two\",\"level\":\"debug\"}\n",
        "{\"update\":{\"_id\":\"a1\"}}\n",
        "{\"doc\":{\"message\":\"changed\"}}\n",
        "{\"index\":{\"_index\":\"other\",\"_type\":\"_doc\",\"pipeline\":\"p\"}}\n",
        "{\"message\":\"three\"}\n",
    );
    let outcome = decode_bulk(body.as_bytes(), Some("from-path"), MB).unwrap();
    let actions: Vec<Action> = outcome.items.iter().map(|i| i.action).collect();
    assert_eq!(
        actions,
        [
            Action::Index,
            Action::Delete,
            Action::Create,
            Action::Update,
            Action::Index
        ]
    );
    let indexes: Vec<&str> = outcome.items.iter().map(|i| i.index.as_str()).collect();
    assert_eq!(indexes, ["logs", "logs", "from-path", "from-path", "other"]);
    assert_eq!(outcome.items[0].id.as_deref(), Some("a1"));
    assert_eq!(outcome.items[0].result, ItemResult::Stored { event: 0 });
    assert_eq!(outcome.items[2].result, ItemResult::Stored { event: 1 });
    assert_eq!(outcome.items[4].result, ItemResult::Stored { event: 2 });
    assert!(matches!(
        outcome.items[1].result,
        ItemResult::Refused { status: 400, .. }
    ));
    assert!(matches!(
        outcome.items[3].result,
        ItemResult::Refused { status: 400, .. }
    ));

    let d = &outcome.decoded;
    assert_eq!(d.rejected, 2);
    let messages: Vec<&str> = d
        .events
        .iter()
        .map(|e| e.message.as_deref().unwrap())
        .collect();
    assert_eq!(messages, ["one", "two", "three"]);
    assert_eq!(d.events[1].level.as_deref(), Some("debug"));
    assert_eq!(d.events[1].properties["_index"], json!("from-path"));
    assert_eq!(d.events[2].properties["_index"], json!("other"));

    let answer: Value = serde_json::from_slice(&bulk_response(&outcome, 12)).unwrap();
    assert_eq!(answer["took"], json!(12));
    assert_eq!(answer["errors"], json!(true));
    let items = answer["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(
        items[0],
        json!({"index": {"_index": "logs", "_id": "a1", "_version": 1, "result": "created",
            "_shards": {"total": 1, "successful": 1, "failed": 0}, "_seq_no": 0,
            "_primary_term": 1, "status": 201}})
    );
    assert_eq!(items[1]["delete"]["status"], json!(400));
    assert_eq!(items[1]["delete"]["_id"], json!("a1"));
    assert_eq!(
        items[1]["delete"]["error"]["type"],
        json!("illegal_argument_exception")
    );
    assert!(
        items[1]["delete"]["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("append-only")
    );
    assert_eq!(items[2]["create"]["status"], json!(201));
    assert!(items[2]["create"]["_id"].is_string());
    assert_eq!(items[3]["update"]["status"], json!(400));
    assert_eq!(items[4]["index"]["_seq_no"], json!(2));
}

#[test]
fn the_answer_is_compact_in_the_order_fluent_bit_and_vector_search_for() {
    let ok = String::from_utf8(bulk_response(
        &decode_bulk(b"{\"index\":{\"_index\":\"i\"}}\n{\"a\":1}\n", None, MB).unwrap(),
        1,
    ))
    .unwrap();
    assert!(
        ok.starts_with("{\"took\":1,\"errors\":false,\"items\":[{\"index\":{"),
        "{ok}"
    );
    let bad = String::from_utf8(bulk_response(
        &decode_bulk(b"{\"index\":{\"_index\":\"i\"}}\n[1]\n", None, MB).unwrap(),
        1,
    ))
    .unwrap();
    assert!(bad.contains("\"errors\":true"), "{bad}");
}

#[test]
fn bad_documents_fail_only_their_item() {
    let body = concat!(
        "{\"index\":{\"_index\":\"i\"}}\n",
        "{not json\n",
        "{\"index\":{\"_index\":\"i\"}}\n",
        "\"a string\"\n",
        "{\"index\":{\"_index\":\"i\"}}\n",
        "{\"message\":\"fine\"}\n",
    );
    let a = answer(body, None, MB);
    let items = a["items"].as_array().unwrap();
    assert_eq!(items[0]["index"]["status"], json!(400));
    assert_eq!(
        items[0]["index"]["error"]["type"],
        json!("mapper_parsing_exception")
    );
    assert_eq!(
        items[1]["index"]["error"]["type"],
        json!("mapper_parsing_exception")
    );
    assert_eq!(items[2]["index"]["status"], json!(201));
}

#[test]
fn oversized_documents_are_refused_one_by_one() {
    let big = "y".repeat(5000);
    let body = format!(
        "{{\"create\":{{\"_index\":\"i\"}}}}\n{{\"message\":\"{big}\"}}\n{{\"create\":{{\"_index\":\"i\"}}}}\n{{\"message\":\"ok\"}}\n"
    );
    let outcome = decode_bulk(body.as_bytes(), None, 2048).unwrap();
    assert_eq!(outcome.decoded.events.len(), 1);
    assert_eq!(outcome.decoded.rejected, 1);
    match &outcome.items[0].result {
        ItemResult::Refused {
            status,
            kind,
            reason,
        } => {
            assert_eq!((*status, *kind), (400, "illegal_argument_exception"));
            assert!(
                reason.contains("over the 2048-byte event limit"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_action_lines_fail_the_request_as_elasticsearch_does() {
    let cases = [
        (
            "{\"index\":{}}\n{}\n",
            None,
            "line [1]: it names no `_index` and the path names no index",
        ),
        ("not json\n", Some("i"), "line [1]: it is not JSON"),
        ("[1]\n", Some("i"), "line [1]: it is not a JSON object"),
        (
            "{\"index\":{},\"create\":{}}\n",
            Some("i"),
            "line [1]: it has 2 members, not one action",
        ),
        (
            "{\"upsert\":{}}\n{}\n",
            Some("i"),
            "line [1]: it names `upsert`",
        ),
        (
            "{\"index\":[]}\n{}\n",
            Some("i"),
            "has action metadata that is not an object",
        ),
        (
            "{\"index\":{\"_index\":5}}\n{}\n",
            None,
            "has an `_index` that is not a string",
        ),
        (
            "{\"index\":{}}\n{}\n{\"index\":{}}\n",
            Some("i"),
            "ends after the action on line 3",
        ),
        (
            "{\"index\":{}}\n",
            Some("i"),
            "ends after the action on line 1",
        ),
        (
            "{\"index\":{}}",
            Some("i"),
            "ends after the action on line 1",
        ),
        ("", Some("i"), "no actions"),
        ("\n\n  \n", Some("i"), "no actions"),
        (
            "{\"delete\":{}}\n{\"message\":\"x\"}\n",
            Some("i"),
            "line [2]: it names `message`",
        ),
    ];
    for (body, index, want) in cases {
        let err = decode_bulk(body.as_bytes(), index, MB).unwrap_err();
        assert!(err.0.contains(want), "{body:?}: {err}");
        let shaped: Value = serde_json::from_slice(&error_response(&err)).unwrap();
        assert_eq!(shaped["status"], json!(400));
        assert_eq!(shaped["error"]["reason"], json!(err.0));
    }
}

#[test]
fn crlf_blank_lines_and_a_missing_final_newline_are_tolerated() {
    let body = "\r\n{\"index\":{\"_index\":\"i\"}}\r\n{\"message\":\"a\"}\r\n\n{\"delete\":{\"_id\":\"1\"}}\n{\"index\":{\"_index\":\"i\"}}\n{\"message\":\"b\"}";
    let outcome = decode_bulk(body.as_bytes(), Some("p"), MB).unwrap();
    assert_eq!(outcome.items.len(), 3);
    assert_eq!(outcome.decoded.events.len(), 2);
    assert_eq!(outcome.items[1].index, "p");
}

#[test]
fn timestamps_string_and_millis() {
    let body = concat!(
        "{\"index\":{\"_index\":\"i\"}}\n",
        "{\"@timestamp\":\"2026-11-24T23:40:30.448123456Z\",\"message\":\"iso\"}\n",
        "{\"index\":{\"_index\":\"i\"}}\n",
        "{\"@timestamp\":1764027630448,\"message\":\"millis\"}\n",
    );
    let outcome = decode_bulk(body.as_bytes(), None, MB).unwrap();
    let e = &outcome.decoded.events;
    assert_eq!(e[0].timestamp.to_iso(), "2026-11-24T23:40:30.4481234Z");
    assert_eq!(e[1].timestamp.to_iso(), "2025-11-24T23:40:30.4480000Z");
    assert!(!e[0].properties.contains_key("@timestamp"));
}

#[test]
fn a_server_assigned_id_is_answered() {
    let mut outcome =
        decode_bulk(b"{\"create\":{\"_index\":\"i\"}}\n{\"a\":1}\n", None, MB).unwrap();
    outcome.items[0].id = Some("event-0123".into());
    let a: Value = serde_json::from_slice(&bulk_response(&outcome, 0)).unwrap();
    assert_eq!(a["items"][0]["create"]["_id"], json!("event-0123"));
}

#[test]
fn root_info_is_an_elasticsearch_8_banner() {
    let info: Value = serde_json::from_slice(&root_info()).unwrap();
    assert_eq!(info["version"]["number"], json!("8.19.0"));
    assert_eq!(info["version"]["build_flavor"], json!("default"));
    assert_eq!(info["tagline"], json!("You Know, for Search"));
    for probe in [
        seqr_shippers::elastic::cluster_health(),
        seqr_shippers::elastic::license(),
        seqr_shippers::elastic::xpack(),
        seqr_shippers::elastic::acknowledged(),
        seqr_shippers::elastic::empty_object(),
    ] {
        assert!(serde_json::from_slice::<Value>(&probe).unwrap().is_object());
    }
}
