use seqr_store::{Event, SearchRequest, SearchStatus, StoredEvent, Timestamp};

use crate::common::*;

fn props(json: &str) -> seqr_types::Properties {
    serde_json::from_str(json).unwrap()
}

fn full_event() -> Event {
    Event {
        timestamp: Timestamp::from_ticks(BASE + 5),
        level: Some("warn".into()),
        message_template: Some("User {User} did {@Thing} in {Elapsed:0.00} ms".into()),
        message: Some("rendered \u{1F600}".into()),
        exception: Some("System.InvalidOperationException: x\r\n   at A.B()".into()),
        event_type: 0x1234_5678,
        renderings: vec!["12.30".into()],
        trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
        span_id: Some("00f067aa0ba902b7".into()),
        parent_id: Some("1111111111111111".into()),
        span_start: Some(Timestamp::from_ticks(BASE)),
        span_kind: Some("Client".into()),
        resource: Some(props(r#"{"service.name":"api","host":{"name":"h1"}}"#)),
        scope: Some(props(r#"{"name":"lib","version":"1.0"}"#)),
        properties: props(
            r#"{"Zeta":1,"Alpha":12.300,"Big":18446744073709551616123,"Neg":-0.0,"Thing":{"$type":"Order","Lines":[1,2.50,"x",null,false]},"Esc":"tab\tquote\"nul\u0000"}"#,
        ),
        extensions: props(r#"{"@custom":"kept"}"#),
    }
}

#[test]
fn every_field_round_trips_through_memtable_wal_and_part() {
    let dir = tempfile::tempdir().unwrap();
    let events = vec![full_event(), Event::default(), ev(3, BASE + 1)];
    let check = |store: &seqr_store::Store, ids: &[seqr_store::EventId]| {
        for (id, e) in ids.iter().zip(&events) {
            let got = store.get(*id).unwrap().unwrap();
            assert_eq!(
                got,
                StoredEvent {
                    id: *id,
                    event: e.clone()
                }
            );
            assert_eq!(
                serde_json::to_string(&got.event.properties).unwrap(),
                serde_json::to_string(&e.properties).unwrap(),
                "number text and property order kept"
            );
        }
        let r = store
            .search(&SearchRequest {
                count: 10,
                ..SearchRequest::default()
            })
            .unwrap();
        assert_eq!(r.status, SearchStatus::Complete);
        assert_eq!(r.events.len(), 3);
    };
    let store = open(dir.path());
    let ids = store.append_blocking(events.clone()).unwrap();
    assert_eq!(ids.len(), 3);
    for (id, e) in ids.iter().zip(&events) {
        assert_eq!(id.ticks, e.timestamp.ticks());
    }
    assert!(ids[0].arrival < ids[1].arrival && ids[1].arrival < ids[2].arrival);
    check(&store, &ids);
    drop(store); // not a graceful stop: nothing flushed

    // Replayed from the WAL.
    let store = open(dir.path());
    assert_eq!(store.open_report().replayed_events, 3);
    check(&store, &ids);
    // A graceful stop (idempotent) writes the memtable to parts.
    store.shutdown().unwrap();
    store.shutdown().unwrap();
    drop(store);

    // From parts.
    let store = small(dir.path(), 1);
    assert_eq!(store.open_report().replayed_events, 0);
    wait_flushed(&store, 1);
    check(&store, &ids);
    drop(store);
    let store = small(dir.path(), 1);
    assert_eq!(store.open_report().replayed_events, 0);
    // `Event::default()` is dated 0001-01-01: a day partition of its own.
    assert_eq!(store.stats().parts, 2);
    check(&store, &ids);
    assert!(
        store
            .get(seqr_store::EventId {
                ticks: BASE,
                arrival: 999
            })
            .unwrap()
            .is_none()
    );
}

#[test]
fn empty_append_and_shutdown_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.append_blocking(Vec::new()).unwrap(), vec![]);
    store.shutdown().unwrap();
    assert_eq!(
        store.append_blocking(vec![ev(1, BASE)]),
        Err(seqr_store::AppendError::ShuttingDown)
    );
}

#[test]
fn lock_refuses_a_second_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    match seqr_store::Store::open(dir.path(), Default::default()) {
        Err(seqr_store::OpenError::Locked { .. }) => {}
        other => panic!("expected Locked, got {:?}", other.err()),
    }
    drop(store);
    let _again = open(dir.path());
}
