//! The GELF and syslog listeners' settings, end to end over real sockets: attribution to an API
//! key (minimum level, applied properties), the source allow-list, the events-per-second and
//! connection limits, bad frames counted without harming their neighbours, and a key that
//! does not exist stopping the server from starting.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use seqr_meta::PermissionSet;
use seqr_server::inputs::{InputKind, InputLimits, InputListener};
use serde_json::{Value, json};

use crate::{
    TestServer, create_key, free_port, input_listener, json_of, property_value, search_events,
};

/// Polls until `count` events match (deliveries over UDP and TCP are asynchronous).
fn wait_for(server: &TestServer, key: &str, filter: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = search_events(server, Some(key), filter);
        if events.len() >= count || Instant::now() > deadline {
            return events;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn counters(server: &TestServer, key: &str) -> Vec<Value> {
    let (status, _, body) = server.request_with(
        "GET",
        "/api/diagnostics/inputs",
        &[("X-Seq-ApiKey", key)],
        "",
    );
    assert_eq!(status, 200, "{body}");
    json_of(&body).as_array().unwrap().clone()
}

#[test]
fn a_listener_takes_its_api_keys_input_settings() {
    let server = TestServer::start_authenticating();
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let (status, _, body) = server.request_with(
        "POST",
        "/api/apikeys",
        &[("X-Seq-ApiKey", &admin)],
        &json!({
            "Title": "routers",
            "AssignedPermissions": ["Ingest"],
            "InputSettings": {
                "MinimumLevel": "Warning",
                "AppliedProperties": [{ "Name": "Site", "Value": "dc-1" }]
            }
        })
        .to_string(),
    );
    assert_eq!(status, 201, "{body}");
    let key_id = json_of(&body)["Id"].as_str().unwrap().to_owned();
    let port = free_port(true);
    let server = server.restart(|c| {
        c.inputs = vec![InputListener {
            api_key_id: Some(key_id.clone()),
            ..input_listener(InputKind::SyslogUdp, port)
        }];
    });
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    for frame in [
        "<134>router[1]: link up on ge-0/0/1",
        "<131>router[1]: link down on ge-0/0/2",
    ] {
        udp.send_to(frame.as_bytes(), ("127.0.0.1", port)).unwrap();
    }
    wait_for(&server, &admin, "app_name = 'router'", 1);
    // Both datagrams have been read by now; the dropped one must stay dropped.
    std::thread::sleep(Duration::from_millis(200));
    let events = search_events(&server, Some(&admin), "app_name = 'router'");
    assert_eq!(
        events.len(),
        1,
        "the key's minimum level drops info: {events:#?}"
    );
    assert_eq!(events[0]["RenderedMessage"], "link down on ge-0/0/2");
    assert_eq!(property_value(&events[0], "Site"), "dc-1");
    let inputs = counters(&server, &admin);
    assert_eq!(inputs[0]["Messages"], 2);
    assert_eq!(inputs[0]["StoredEvents"], 1);
}

#[test]
fn sources_outside_the_allow_list_are_refused_and_counted() {
    let udp_port = free_port(true);
    let tcp_port = free_port(false);
    let server = TestServer::start_authenticating().restart(|c| {
        c.inputs = vec![
            InputListener {
                allow: vec!["10.0.0.0/8".parse().unwrap()],
                ..input_listener(InputKind::GelfUdp, udp_port)
            },
            InputListener {
                allow: vec!["192.168.0.0/16".parse().unwrap()],
                ..input_listener(InputKind::GelfTcp, tcp_port)
            },
        ];
    });
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(
        br#"{"short_message":"from loopback"}"#,
        ("127.0.0.1", udp_port),
    )
    .unwrap();
    // The TCP connection is closed at once, unread.
    let mut tcp = TcpStream::connect(("127.0.0.1", tcp_port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = tcp.write_all(b"{\"short_message\":\"over tcp\"}\0");
    let mut rest = Vec::new();
    let _ = tcp.read_to_end(&mut rest);
    let deadline = Instant::now() + Duration::from_secs(5);
    let inputs = loop {
        let inputs = counters(&server, &admin);
        let refused = |i: usize| inputs[i]["RefusedSources"].as_u64().unwrap();
        if (refused(0) >= 1 && refused(1) >= 1) || Instant::now() > deadline {
            break inputs;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(inputs[0]["RefusedSources"], 1, "{inputs:#?}");
    assert_eq!(inputs[1]["RefusedSources"], 1, "{inputs:#?}");
    assert_eq!(inputs[0]["Messages"], 0);
    assert!(search_events(&server, Some(&admin), "").is_empty());
}

#[test]
fn bad_frames_are_counted_and_their_neighbours_kept() {
    let tcp_port = free_port(false);
    let udp_port = free_port(true);
    let server = TestServer::start_authenticating().restart(|c| {
        c.inputs = vec![
            InputListener {
                limits: InputLimits {
                    max_message_bytes: 1024,
                    ..Default::default()
                },
                ..input_listener(InputKind::SyslogTcp, tcp_port)
            },
            InputListener {
                limits: InputLimits {
                    max_events_per_second: Some(5),
                    ..Default::default()
                },
                ..input_listener(InputKind::GelfUdp, udp_port)
            },
        ];
    });
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    // Octet-counted frames around a bogus length and a frame over the 1 KiB limit.
    let frame = |text: &str| format!("{} {text}", text.len()).into_bytes();
    let mut stream = frame("<14>1 2026-01-01T00:00:00Z host app 7 - - before the bad ones");
    stream.extend(frame(&format!("<14>app: {}", "x".repeat(2000))));
    stream.extend_from_slice(b"99999999999999 <14>app: not a real length\n");
    stream.extend(frame(
        "<14>1 2026-01-01T00:00:01Z host app 7 - - after the bad ones",
    ));
    let mut tcp = TcpStream::connect(("127.0.0.1", tcp_port)).unwrap();
    tcp.write_all(&stream).unwrap();
    drop(tcp);
    let events = wait_for(&server, &admin, "app_name = 'app'", 2);
    let messages: Vec<&str> = events
        .iter()
        .map(|e| e["RenderedMessage"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["after the bad ones", "before the bad ones"]);
    let inputs = counters(&server, &admin);
    assert_eq!(inputs[0]["Malformed"], 2, "{inputs:#?}");

    // Over the events-per-second limit, UDP messages are dropped and counted.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..40 {
        let message = format!(r#"{{"short_message":"burst {i}","_Burst":true}}"#);
        udp.send_to(message.as_bytes(), ("127.0.0.1", udp_port))
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let (stored, dropped) = loop {
        let inputs = counters(&server, &admin);
        let get = |name: &str| inputs[1][name].as_u64().unwrap();
        // Stored events are counted once the writer's batch is durable.
        if get("StoredEvents") + get("DroppedRate") == 40 || Instant::now() > deadline {
            break (get("StoredEvents"), get("DroppedRate"));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(stored + dropped, 40);
    assert!((5..=10).contains(&stored), "{stored} stored of a 5/s limit");
}

#[test]
fn connections_over_the_limit_are_turned_away() {
    let port = free_port(false);
    let server = TestServer::start_authenticating().restart(|c| {
        c.inputs = vec![InputListener {
            limits: InputLimits {
                max_connections: 1,
                ..Default::default()
            },
            ..input_listener(InputKind::GelfTcp, port)
        }];
    });
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let mut first = TcpStream::connect(("127.0.0.1", port)).unwrap();
    first.write_all(b"{\"short_message\":\"first\"}\0").unwrap();
    assert_eq!(wait_for(&server, &admin, "@Message = 'first'", 1).len(), 1);
    let mut second = TcpStream::connect(("127.0.0.1", port)).unwrap();
    second
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buffer = [0u8; 1];
    // Closed by the server without reading.
    assert_eq!(second.read(&mut buffer).unwrap_or(0), 0);
    let inputs = counters(&server, &admin);
    assert_eq!(inputs[0]["RefusedConnections"], 1, "{inputs:#?}");
    assert_eq!(inputs[0]["OpenConnections"], 1, "{inputs:#?}");
    // The first connection still works.
    first
        .write_all(b"{\"short_message\":\"still here\"}\0")
        .unwrap();
    assert_eq!(
        wait_for(&server, &admin, "@Message = 'still here'", 1).len(),
        1
    );
}

#[test]
fn an_unknown_key_stops_the_server_from_starting() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::test_config(dir.path(), "127.0.0.1:0");
    config.inputs = vec![InputListener {
        api_key_id: Some("apikey-missing".into()),
        ..input_listener(InputKind::GelfUdp, 0)
    }];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let error = runtime
        .block_on(seqr_server::serve(config, async {}))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("apikey-missing") && error.contains("does not exist"),
        "{error}"
    );
}

#[test]
fn a_sender_that_hangs_up_before_the_answer_still_has_its_events_stored() {
    // pygelf's and graypy's HTTP handlers send the POST and close without reading the 202.
    let server = TestServer::start(Default::default());
    for i in 0..20 {
        let body = format!(r#"{{"short_message":"hung up {i}","_HungUp":true}}"#);
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        write!(
            s,
            "POST /gelf HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        drop(s);
    }
    let (status, _, body) = server.request("GET", "/api/events/signal?filter=HungUp&count=100", "");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut found = json_of(&body)["Events"].as_array().unwrap().len();
    assert_eq!(status, 200);
    while found < 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        let (_, _, body) = server.request("GET", "/api/events/signal?filter=HungUp&count=100", "");
        found = json_of(&body)["Events"].as_array().unwrap().len();
    }
    assert_eq!(found, 20);
}

#[test]
fn a_slow_store_slows_a_tcp_sender_instead_of_growing_memory() {
    let port = free_port(false);
    let (store, fault) = crate::faulty_store();
    let server = TestServer::start_custom("127.0.0.1", tempfile::tempdir().unwrap(), |c| {
        c.store = store;
        c.inputs = vec![input_listener(InputKind::GelfTcp, port)];
    });
    // Every fsync takes a second: the listener's 16 MiB of queued events fill up quickly.
    fault
        .slow_sync_ms
        .store(1000, std::sync::atomic::Ordering::SeqCst);
    const MESSAGES: usize = 10_000;
    let padding = "p".repeat(4000);
    let sender = std::thread::spawn(move || {
        let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        for i in 0..MESSAGES {
            let frame = format!("{{\"short_message\":\"pressed {i}\",\"_Pad\":\"{padding}\"}}\0");
            tcp.write_all(frame.as_bytes()).unwrap();
        }
        Instant::now()
    });
    // 40 MB cannot all be taken in within two seconds: the sender is held back by TCP.
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !sender.is_finished(),
        "the sender wrote 40 MB into a listener whose store takes a second per fsync"
    );
    fault
        .slow_sync_ms
        .store(0, std::sync::atomic::Ordering::SeqCst);
    sender.join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let inputs = loop {
        let (_, _, body) = server.request("GET", "/api/diagnostics/inputs", "");
        let inputs = json_of(&body);
        if inputs[0]["StoredEvents"] == MESSAGES || Instant::now() > deadline {
            break inputs;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Nothing was dropped: the sender waited instead.
    assert_eq!(inputs[0]["StoredEvents"], MESSAGES, "{inputs:#}");
    assert_eq!(inputs[0]["DroppedOverload"], 0, "{inputs:#}");
}
