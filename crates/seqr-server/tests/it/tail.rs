//! Live tail over the `Stream` WebSocket, with a real WebSocket client.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use seqr_meta::{Permission, PermissionSet, roles};
use serde_json::{Value, json};
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

use crate::{PASSWORD, TestServer, create_key, create_user, json_of, set_view_filter, sign_in};

type Socket = WebSocket<TcpStream>;

/// Opens `api/events/stream?{query}` with `headers`; the handshake's HTTP status on refusal.
fn open(server: &TestServer, query: &str, headers: &[(&str, &str)]) -> Result<Socket, u16> {
    let url = format!("ws://127.0.0.1:{}/api/events/stream?{query}", server.port);
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    let stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    match tungstenite::client(request, stream) {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("handshake failed: {e}"),
    }
}

/// Text messages received until `n` arrived or `wait` passed.
fn receive(socket: &mut Socket, n: usize, wait: Duration) -> Vec<Value> {
    let deadline = Instant::now() + wait;
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        match socket.read() {
            Ok(Message::Text(text)) => got.push(json_of(text.as_str())),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("stream failed: {e}"),
        }
    }
    got
}

fn ingest(server: &TestServer, key: &str, events: &[Value]) {
    let body: Vec<String> = events.iter().map(Value::to_string).collect();
    let (status, _, answer) = server.request_with(
        "POST",
        "/ingest/clef",
        &[("X-Seq-ApiKey", key)],
        &body.join("\n"),
    );
    assert_eq!(status, 201, "{answer}");
}

#[test]
fn a_stream_sends_each_new_matching_event_once_it_is_acknowledged() {
    let server = TestServer::start_authenticating();
    let reader = create_key(&server, PermissionSet::of(&[Permission::Read]));
    let writer = create_key(&server, PermissionSet::of(&[Permission::Ingest]));
    ingest(
        &server,
        &writer,
        &[json!({"@t": "2026-01-01T00:00:00Z", "@mt": "before", "@l": "Error"})],
    );
    let mut socket = open(
        &server,
        "filter=%40Level%20%3D%20%27Error%27&render=true",
        &[("X-Seq-ApiKey", &reader)],
    )
    .unwrap();
    ingest(
        &server,
        &writer,
        &[
            json!({"@t": "2026-01-01T00:00:01Z", "@mt": "Disk {Name} failed", "@l": "Error", "Name": "sda"}),
            json!({"@t": "2026-01-01T00:00:02Z", "@mt": "fine", "@l": "Information"}),
            json!({"@t": "2026-01-01T00:00:03Z", "@mt": "second", "@l": "Error"}),
        ],
    );
    let got = receive(&mut socket, 3, Duration::from_secs(3));
    assert_eq!(got.len(), 2, "only the new errors: {got:?}");
    assert_eq!(got[0]["RenderedMessage"], "Disk sda failed");
    assert_eq!(got[0]["Level"], "Error");
    assert!(got[0]["Id"].as_str().unwrap().starts_with("event-"));
    assert_eq!(
        got[0]["Properties"][0],
        json!({"Name": "Name", "Value": "sda"})
    );
    assert_eq!(got[1]["MessageTemplateTokens"][0]["Text"], "second");
}

#[test]
fn clef_streams_carry_documents_seqcli_tail_prints() {
    let server = TestServer::start_authenticating();
    let reader = create_key(&server, PermissionSet::of(&[Permission::Read]));
    let writer = create_key(&server, PermissionSet::of(&[Permission::Ingest]));
    let mut socket = open(&server, "clef=true", &[("X-Seq-ApiKey", &reader)]).unwrap();
    ingest(
        &server,
        &writer,
        &[json!({"@t": "2026-01-01T00:00:01Z", "@mt": "Hi {@Who}", "Who": {"N": 1}, "@x": "boom"})],
    );
    let got = receive(&mut socket, 1, Duration::from_secs(3));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["@mt"], "Hi {@Who}");
    assert_eq!(got[0]["@t"], "2026-01-01T00:00:01.0000000Z");
    assert_eq!(got[0]["@x"], "boom");
    assert_eq!(got[0]["Who"], json!({"N": 1}));
}

#[test]
fn the_view_filter_applies_to_a_users_stream() {
    let server = TestServer::start_authenticating();
    let writer = create_key(&server, PermissionSet::of(&[Permission::Ingest]));
    let user = create_user(&server, "vera", &[roles::USER_READ_WRITE_INGEST], false);
    set_view_filter(&server, &user, "Team = 'a'");
    let (session, _) = sign_in(&server, "vera", PASSWORD);
    let origin = format!("http://127.0.0.1:{}", server.port);
    let mut socket = open(
        &server,
        "",
        &[("Cookie", &session.cookie), ("Origin", &origin)],
    )
    .unwrap();
    ingest(
        &server,
        &writer,
        &[
            json!({"@t": "2026-01-01T00:00:01Z", "@mt": "b", "Team": "b"}),
            json!({"@t": "2026-01-01T00:00:02Z", "@mt": "a", "Team": "a"}),
        ],
    );
    let got = receive(&mut socket, 2, Duration::from_secs(2));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["MessageTemplateTokens"][0]["Text"], "a");
}

#[test]
fn refused_streams_answer_before_upgrading() {
    let server = TestServer::start_authenticating();
    let reader = create_key(&server, PermissionSet::of(&[Permission::Read]));
    let ingest_only = create_key(&server, PermissionSet::of(&[Permission::Ingest]));
    assert_eq!(open(&server, "", &[]).err(), Some(401), "no credentials");
    assert_eq!(
        open(&server, "", &[("X-Seq-ApiKey", &ingest_only)]).err(),
        Some(403),
        "no Read permission"
    );
    assert_eq!(
        open(&server, "filter=Name%20%3D", &[("X-Seq-ApiKey", &reader)]).err(),
        Some(400),
        "a filter that does not parse"
    );
    // Another site's page cannot open a stream with a visitor's session cookie.
    create_user(&server, "vera", &[roles::USER_READ_WRITE_INGEST], false);
    let (session, _) = sign_in(&server, "vera", PASSWORD);
    assert_eq!(
        open(
            &server,
            "",
            &[
                ("Cookie", &session.cookie),
                ("Origin", "http://evil.example")
            ]
        )
        .err(),
        Some(403)
    );
    // Seq.Api discovers the stream through the Events resource group.
    let (_, _, body) = server.request("GET", "/api/events/resources", "");
    assert_eq!(
        json_of(&body)["Links"]["Stream"],
        "api/events/stream{?signal,filter,render,clef,wait}"
    );
}

#[test]
fn a_waiting_stream_takes_an_evaluation_context_first() {
    let server = TestServer::start_authenticating();
    let reader = create_key(&server, PermissionSet::of(&[Permission::Read]));
    let writer = create_key(&server, PermissionSet::of(&[Permission::Ingest]));
    let mut socket = open(&server, "wait=true", &[("X-Seq-ApiKey", &reader)]).unwrap();
    socket
        .send(Message::Text(r#"{"Signal":null,"Variables":null}"#.into()))
        .unwrap();
    // The context is read before the stream starts, so give the server a moment to take it.
    std::thread::sleep(Duration::from_millis(100));
    ingest(
        &server,
        &writer,
        &[json!({"@t": "2026-01-01T00:00:01Z", "@mt": "after context"})],
    );
    assert_eq!(receive(&mut socket, 1, Duration::from_secs(3)).len(), 1);
}
