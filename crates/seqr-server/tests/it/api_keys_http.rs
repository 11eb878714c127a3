//! `api/apikeys` over HTTP, and what a key's input settings do to the events it sends.

use seqr_meta::{PermissionSet, roles};
use serde_json::{Value, json};

use crate::{
    PASSWORD, TestServer, create_key, create_user, files_containing, ingest_two_teams, json_of,
    sign_in,
};

fn admin_key(server: &TestServer) -> String {
    create_key(server, PermissionSet::ALL_GRANTABLE)
}

/// Sends `body` as JSON with the API key `key`.
fn call(
    server: &TestServer,
    key: &str,
    method: &str,
    path: &str,
    body: &Value,
) -> (u16, String, String) {
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    server.request_with(method, path, &[("X-Seq-ApiKey", key)], &text)
}

/// Events the server holds, newest first, read with `key`.
fn events(server: &TestServer, key: &str) -> Vec<Value> {
    let (status, _, body) = call(
        server,
        key,
        "GET",
        "/api/events/signal?count=100",
        &Value::Null,
    );
    assert_eq!(status, 200, "{body}");
    json_of(&body)["Events"].as_array().unwrap().clone()
}

fn property<'a>(event: &'a Value, name: &str) -> Option<&'a Value> {
    event["Properties"]
        .as_array()?
        .iter()
        .find(|p| p["Name"] == name)
        .map(|p| &p["Value"])
}

#[test]
fn a_created_key_shows_its_token_once_and_applies_its_input_settings() {
    let server = TestServer::start_authenticating();
    let admin = admin_key(&server);
    let (status, _, body) = call(
        &server,
        &admin,
        "POST",
        "/api/apikeys",
        &json!({
            "Title": "orders service",
            "AssignedPermissions": ["Ingest"],
            "InputSettings": {
                "AppliedProperties": [{ "Name": "Application", "Value": "orders" }],
                "Filter": { "Description": null, "DescriptionIsExcluded": false, "Filter": null, "FilterNonStrict": null },
                "MinimumLevel": "Warning",
                "UseServerTimestamps": false
            }
        }),
    );
    assert_eq!(status, 201, "{body}");
    let created = json_of(&body);
    let token = created["Token"]
        .as_str()
        .expect("the token, once")
        .to_owned();
    assert!(token.len() >= 32, "{token}");
    assert_eq!(created["TokenPrefix"], token[..4]);
    assert_eq!(created["AssignedPermissions"], json!(["Ingest"]));
    assert_eq!(created["OwnerId"], Value::Null);
    let id = created["Id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("apikey-"), "{id}");

    let (status, _, body) = call(
        &server,
        &admin,
        "GET",
        &format!("/api/apikeys/{id}"),
        &Value::Null,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body)["Token"], Value::Null, "never shown again");
    assert!(!body.contains(&token));

    let batch = concat!(
        r#"{"@t":"2026-01-01T00:00:00Z","@mt":"routine","Application":"spoofed"}"#,
        "\n",
        r#"{"@t":"2026-01-01T00:00:01Z","@mt":"disk {Pct} full","@l":"WARN","Pct":91,"Application":"spoofed"}"#,
        "\n",
        r#"{"@t":"2026-01-01T00:00:02Z","@mt":"down","@l":"Error"}"#,
    );
    let (status, _, body) =
        server.request_with("POST", "/ingest/clef", &[("X-Seq-ApiKey", &token)], batch);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body, r#"{"MinimumLevelAccepted":"Warning"}"#);

    let stored = events(&server, &admin);
    assert_eq!(
        stored.len(),
        2,
        "the Information event is below the minimum level"
    );
    for e in &stored {
        assert_eq!(
            property(e, "Application"),
            Some(&json!("orders")),
            "applied property wins"
        );
    }

    let (_, _, body) = call(
        &server,
        &admin,
        "GET",
        &format!("/api/apikeys/{id}"),
        &Value::Null,
    );
    let counts = &json_of(&body)["Counts"];
    assert_eq!(counts["ArrivedEvents"], 3, "{body}");
    assert_eq!(counts["IngestedEvents"], 2, "{body}");
    assert!(counts["ArrivedBytes"].as_u64().unwrap() >= batch.len() as u64 - 2);

    let (status, _, body) = server.request_with(
        "POST",
        "/ingest/clef",
        &[("X-Seq-ApiKey", &token)],
        "not json",
    );
    assert_eq!(status, 400, "{body}");
    let (_, _, body) = call(
        &server,
        &admin,
        "GET",
        &format!("/api/apikeys/{id}"),
        &Value::Null,
    );
    assert_eq!(json_of(&body)["Counts"]["InvalidPayloads"], 1, "{body}");
    assert!(
        files_containing(server.dir.path(), token.as_bytes()).is_empty(),
        "the token is stored only as a salted digest"
    );
}

#[test]
fn server_timestamps_replace_the_clients() {
    let server = TestServer::start_authenticating();
    let admin = admin_key(&server);
    let (_, _, body) = call(
        &server,
        &admin,
        "POST",
        "/api/apikeys/",
        &json!({ "Title": "clockless device", "InputSettings": { "UseServerTimestamps": true } }),
    );
    let token = json_of(&body)["Token"].as_str().unwrap().to_owned();
    let (status, _, body) = server.request_with(
        "POST",
        "/ingest/clef",
        &[("X-Seq-ApiKey", &token)],
        r#"{"@t":"1999-01-01T00:00:00Z","@mt":"from the past"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let stored = events(&server, &admin);
    let ts = stored[0]["Timestamp"].as_str().unwrap();
    assert!(ts.starts_with("20") && !ts.starts_with("1999"), "{ts}");
}

#[test]
fn the_default_key_settings_apply_to_requests_without_a_key() {
    let server = TestServer::start_authenticating();
    let admin = admin_key(&server);
    let (status, _, body) = call(&server, &admin, "GET", "/api/apikeys", &Value::Null);
    assert_eq!(status, 200, "{body}");
    let all = json_of(&body);
    let default = all
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["IsDefault"] == true)
        .expect("the default key is listed")
        .clone();
    assert_eq!(default["Id"], "apikey-default");

    let mut changed = default.clone();
    changed["InputSettings"]["MinimumLevel"] = json!("Error");
    let (status, _, body) = call(
        &server,
        &admin,
        "PUT",
        "/api/apikeys/apikey-default",
        &changed,
    );
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = server.request(
        "POST",
        "/api/events/raw?clef",
        r#"{"@t":"2026-01-01T00:00:00Z","@mt":"info"}"#,
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body, r#"{"MinimumLevelAccepted":"Error"}"#);
    assert!(events(&server, &admin).is_empty());

    let mut more = default.clone();
    more["AssignedPermissions"] = json!(["Ingest", "Read"]);
    let (status, _, body) = call(&server, &admin, "PUT", "/api/apikeys/apikey-default", &more);
    assert_eq!(status, 400, "the default key grants only Ingest: {body}");
    let (status, _, body) = call(
        &server,
        &admin,
        "DELETE",
        "/api/apikeys/apikey-default",
        &Value::Null,
    );
    assert_eq!(status, 400, "{body}");
}

#[test]
fn bad_keys_are_refused_with_clear_messages() {
    let server = TestServer::start_authenticating();
    let admin = admin_key(&server);
    let cases = [
        (
            json!({ "Title": "old", "AssignedPermissions": ["Setup"] }),
            "Project",
        ),
        (
            json!({ "Title": "x", "AssignedPermissions": ["Everything"] }),
            "not a permission",
        ),
        (json!({ "Title": "" }), "Title"),
        (
            json!({ "Title": "f", "InputSettings": { "Filter": { "Filter": "@Level = 'Error' and" } } }),
            "InputSettings.Filter is not a valid expression. Syntax error at position 21",
        ),
        (
            json!({ "Title": "l", "InputSettings": { "MinimumLevel": "Loud" } }),
            "not a level",
        ),
        (json!({ "Title": "t", "Token": "short" }), "at least"),
        (json!([1, 2]), "ApiKeyEntity"),
    ];
    for (body, expected) in cases {
        let (status, _, answer) = call(&server, &admin, "POST", "/api/apikeys", &body);
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer.starts_with(r#"{"Error":"#), "{answer}");
        assert!(answer.contains(expected), "{body}: {answer}");
    }
}

#[test]
fn a_chosen_token_works_and_a_deleted_key_stops_at_once() {
    let server = TestServer::start_authenticating();
    let admin = admin_key(&server);
    let chosen = "my-deploy-pipeline-token-0001";
    let (status, _, body) = call(
        &server,
        &admin,
        "POST",
        "/api/apikeys",
        &json!({ "Title": "pipeline", "Token": chosen, "AssignedPermissions": ["Read"] }),
    );
    assert_eq!(status, 201, "{body}");
    let id = json_of(&body)["Id"].as_str().unwrap().to_owned();
    assert_eq!(
        server
            .request_with("GET", "/api/events/signal", &[("X-Seq-ApiKey", chosen)], "")
            .0,
        200
    );
    let (status, _, body) = call(
        &server,
        &admin,
        "DELETE",
        &format!("/api/apikeys/{id}"),
        &Value::Null,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        server
            .request_with("GET", "/api/events/signal", &[("X-Seq-ApiKey", chosen)], "")
            .0,
        401,
        "the cache forgets a deleted key"
    );
    assert_eq!(
        call(
            &server,
            &admin,
            "GET",
            &format!("/api/apikeys/{id}"),
            &Value::Null
        )
        .0,
        404
    );
}

#[test]
fn users_manage_their_own_personal_keys_only() {
    let server = TestServer::start_authenticating();
    let alice = create_user(&server, "alice", &[roles::USER_READ_WRITE], false);
    let bob = create_user(&server, "bob", &[roles::USER_READ_WRITE], false);
    let (session, _) = sign_in(&server, "alice", PASSWORD);
    let as_alice = |method: &str, path: &str, body: &Value| {
        let text = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        server.request_with(
            method,
            path,
            &[
                ("Cookie", &session.cookie),
                ("X-Seq-CsrfToken", &session.csrf),
            ],
            &text,
        )
    };

    let (status, _, body) = as_alice("GET", "/api/apikeys/template", &Value::Null);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        json_of(&body)["OwnerId"],
        alice,
        "a Write user's template is personal"
    );

    let (status, _, body) = as_alice(
        "POST",
        "/api/apikeys",
        &json!({ "Title": "my script", "OwnerId": alice, "AssignedPermissions": ["Read", "Write"] }),
    );
    assert_eq!(status, 201, "{body}");
    let mine = json_of(&body);
    let my_token = mine["Token"].as_str().unwrap().to_owned();
    let my_id = mine["Id"].as_str().unwrap().to_owned();

    // Delegation: nothing the user does not hold, and no shared or someone else's keys.
    for (body, why) in [
        (
            json!({ "Title": "k", "OwnerId": alice, "AssignedPermissions": ["Project"] }),
            "Project",
        ),
        (
            json!({ "Title": "k", "OwnerId": alice, "AssignedPermissions": ["Ingest"] }),
            "Ingest",
        ),
        (
            json!({ "Title": "k", "AssignedPermissions": ["Read"] }),
            "Shared",
        ),
        (
            json!({ "Title": "k", "OwnerId": bob, "AssignedPermissions": ["Read"] }),
            "owner",
        ),
    ] {
        let (status, _, answer) = as_alice("POST", "/api/apikeys", &body);
        assert_eq!(status, 403, "{body}: {answer}");
        assert!(answer.contains(why), "{body}: {answer}");
    }

    // The personal key acts as alice, within her permissions.
    let (status, _, body) =
        server.request_with("GET", "/api/apikeys", &[("X-Seq-ApiKey", &my_token)], "");
    assert_eq!(status, 200, "{body}");
    let listed = json_of(&body);
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "only her own keys: {body}"
    );
    assert_eq!(listed[0]["Id"], my_id.as_str());

    // Nobody, not even a Project principal, gets a token for another user's account.
    let admin = admin_key(&server);
    let (status, _, body) = call(
        &server,
        &admin,
        "POST",
        "/api/apikeys",
        &json!({ "Title": "bob's", "OwnerId": bob, "AssignedPermissions": ["Read"] }),
    );
    assert_eq!(status, 403, "a key for someone else: {body}");

    // Bob's own key is not hers to see or change.
    let (bob_session, _) = sign_in(&server, "bob", PASSWORD);
    let (status, _, body) = server.request_with(
        "POST",
        "/api/apikeys",
        &[
            ("Cookie", &bob_session.cookie),
            ("X-Seq-CsrfToken", &bob_session.csrf),
        ],
        &json!({ "Title": "bob's", "OwnerId": bob, "AssignedPermissions": ["Read"] }).to_string(),
    );
    assert_eq!(status, 201, "{body}");
    let bobs = json_of(&body)["Id"].as_str().unwrap().to_owned();
    for method in ["GET", "PUT", "DELETE"] {
        let (status, _, body) = as_alice(
            method,
            &format!("/api/apikeys/{bobs}"),
            &json!({ "Title": "mine now" }),
        );
        assert_eq!(status, 403, "{method}: {body}");
    }
    let (status, _, body) = as_alice(
        "PUT",
        &format!("/api/apikeys/{my_id}"),
        &json!({ "Title": "renamed", "AssignedPermissions": ["Read"] }),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body)["AssignedPermissions"], json!(["Read"]));

    // The administrator sees every key.
    let (_, _, body) = call(&server, &admin, "GET", "/api/apikeys", &Value::Null);
    let ids: Vec<String> = json_of(&body)
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["Id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.contains(&my_id) && ids.contains(&bobs), "{ids:?}");
}

#[test]
fn a_user_with_a_view_filter_cannot_mint_an_unfiltered_shared_key() {
    let server = TestServer::start_authenticating();
    let owner = create_user(&server, "pat", &[roles::PROJECT_OWNER], false);
    let db = crate::meta(&server);
    seqr_meta::users::update(
        &db,
        &owner,
        &seqr_meta::users::UserUpdate {
            view_filter: Some(Some("Team = 'a'".into())),
            ..Default::default()
        },
    )
    .unwrap();
    let (session, _) = sign_in(&server, "pat", PASSWORD);
    let headers = [
        ("Cookie", session.cookie.as_str()),
        ("X-Seq-CsrfToken", session.csrf.as_str()),
    ];
    let (status, _, body) = server.request_with(
        "POST",
        "/api/apikeys",
        &headers,
        &json!({ "Title": "escape", "AssignedPermissions": ["Read"] }).to_string(),
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("view filter"), "{body}");
    // A personal key carries the owner's view filter into every read.
    let (status, _, body) = server.request_with(
        "POST",
        "/api/apikeys",
        &headers,
        &json!({ "Title": "mine", "OwnerId": owner, "AssignedPermissions": ["Read"] }).to_string(),
    );
    assert_eq!(status, 201, "{body}");
    let token = json_of(&body)["Token"].as_str().unwrap().to_owned();
    ingest_two_teams(&server);
    let (status, _, body) =
        server.request_with("GET", "/api/events/signal", &[("X-Seq-ApiKey", &token)], "");
    assert_eq!(status, 200, "{body}");
    let events = json_of(&body)["Events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1, "{body}");
    assert!(body.contains("\"y\""), "only Team a: {body}");
}

#[test]
fn applied_properties_are_bounded_and_seq_api_list_filters_work() {
    let server = TestServer::start_authenticating();
    let admin = admin_key(&server);
    let huge = "x".repeat(20 * 1024);
    let (status, _, body) = call(
        &server,
        &admin,
        "POST",
        "/api/apikeys",
        &json!({ "Title": "big", "InputSettings": { "AppliedProperties": [{ "Name": "Blob", "Value": huge }] } }),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("limit"), "{body}");

    let (status, _, body) = call(
        &server,
        &admin,
        "POST",
        "/api/apikeys",
        &json!({ "Title": "shared one" }),
    );
    assert_eq!(status, 201, "{body}");
    // Seq.Api fills the template with .NET's `True`.
    let (status, _, body) = call(
        &server,
        &admin,
        "GET",
        "/api/apikeys?shared=True",
        &Value::Null,
    );
    assert_eq!(status, 200, "{body}");
    let listed = json_of(&body);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["OwnerId"].is_null())
            && body.contains("shared one"),
        "{body}"
    );
    let (_, _, body) = call(
        &server,
        &admin,
        "GET",
        "/api/apikeys?ownerId=user-nobody",
        &Value::Null,
    );
    assert_eq!(json_of(&body), json!([]), "{body}");
}
