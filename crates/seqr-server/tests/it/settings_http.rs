//! `api/settings` over HTTP: values checked by kind, changes taking effect at once, public
//! sign-in settings, sealed secrets, and start-up seeds that never override an administrator.

use seqr_meta::{Permission, PermissionSet};
use serde_json::{Value, json};

use crate::{TestServer, create_key, files_containing};

fn put(server: &TestServer, key: &str, id: &str, value: Value) -> (u16, String) {
    let (status, _, body) = server.request_with(
        "PUT",
        &format!("/api/settings/{id}"),
        &[("X-Seq-ApiKey", key)],
        &json!({ "Value": value }).to_string(),
    );
    (status, body)
}

fn value_of(server: &TestServer, key: &str, id: &str) -> Value {
    let (status, _, body) = server.request_with(
        "GET",
        &format!("/api/settings/{id}"),
        &[("X-Seq-ApiKey", key)],
        "",
    );
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["Value"].clone()
}

const EVENT: &str = r#"{"@t":"2026-01-01T00:00:00Z","@mt":"hello"}"#;

#[test]
fn ingestion_limits_change_while_the_server_runs() {
    let server = TestServer::start_authenticating();
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    assert_eq!(
        value_of(&server, &admin, "setting-rawpayloadmaximumcontentlength"),
        10 * 1024 * 1024
    );
    let big = format!(
        r#"{{"@t":"2026-01-01T00:00:00Z","@mt":"{}"}}"#,
        "x".repeat(2000)
    );
    assert_eq!(server.request("POST", "/ingest/clef", &big).0, 201);

    let (status, body) = put(
        &server,
        &admin,
        "setting-rawpayloadmaximumcontentlength",
        json!(1000),
    );
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = server.request("POST", "/ingest/clef", &big);
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("1000"), "{body}");

    let (status, body) = put(
        &server,
        &admin,
        "setting-rawpayloadmaximumcontentlength",
        Value::Null,
    );
    assert_eq!(status, 200, "null restores the default: {body}");
    assert_eq!(server.request("POST", "/ingest/clef", &big).0, 201);

    let (status, body) = put(
        &server,
        &admin,
        "setting-raweventmaximumcontentlength",
        json!(500),
    );
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = server.request("POST", "/ingest/clef", &big);
    assert_eq!(status, 400, "one event over the event limit: {body}");
}

#[test]
fn requiring_a_key_on_loopback_and_allowing_keyless_ingestion_beyond_it() {
    let server = TestServer::start_authenticating();
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    assert_eq!(
        value_of(&server, &admin, "setting-requireapikeyforwritingevents"),
        false,
        "loopback only: keyless ingestion allowed"
    );
    let (status, body) = put(
        &server,
        &admin,
        "setting-requireapikeyforwritingevents",
        json!(true),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.request("POST", "/ingest/clef", EVENT).0, 401);

    let wide = TestServer::start_authenticating_on_all_interfaces();
    let admin = create_key(&wide, PermissionSet::ALL_GRANTABLE);
    assert_eq!(wide.request("POST", "/ingest/clef", EVENT).0, 401);
    assert_eq!(
        value_of(&wide, &admin, "setting-requireapikeyforwritingevents"),
        true
    );
    let (status, body) = put(
        &wide,
        &admin,
        "setting-requireapikeyforwritingevents",
        json!(false),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        wide.request("POST", "/ingest/clef", EVENT).0,
        201,
        "an administrator's explicit choice wins over the listening addresses"
    );
}

#[test]
fn sign_in_settings_are_public_and_the_rest_need_system() {
    let server = TestServer::start_authenticating();
    for id in [
        "setting-instancetitle",
        "setting-isauthenticationenabled",
        "setting-authenticationprovider",
        "setting-isactivedirectoryauthentication",
    ] {
        let (status, _, body) = server.request("GET", &format!("/api/settings/{id}"), "");
        assert_eq!(status, 200, "{id}: {body}");
        assert_eq!(
            server
                .request("PUT", &format!("/api/settings/{id}"), r#"{"Value":"x"}"#)
                .0,
            401,
            "{id}: reading is public, changing is not"
        );
    }
    let (_, _, body) = server.request("GET", "/api/settings/setting-isauthenticationenabled", "");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["Value"], true);
    assert_eq!(server.request("GET", "/api/settings", "").0, 401);
    assert_eq!(
        server
            .request("GET", "/api/settings/setting-minimumfreestoragespace", "")
            .0,
        401
    );
    let everything_but_system = PermissionSet::of(&[
        Permission::Ingest,
        Permission::Read,
        Permission::Write,
        Permission::Project,
        Permission::Organization,
    ]);
    let reader = create_key(&server, everything_but_system);
    let (status, _) = put(&server, &reader, "setting-instancetitle", json!("nope"));
    assert_eq!(status, 403);

    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let (status, body) = put(
        &server,
        &admin,
        "setting-instancetitle",
        json!("Production"),
    );
    assert_eq!(status, 200, "{body}");
    let (_, _, body) = server.request("GET", "/api", "");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["InstanceName"],
        "Production"
    );
    let (_, _, body) = server.request("GET", "/api/settings/setting-instancetitle", "");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["Value"],
        "Production"
    );

    let (status, _, body) =
        server.request_with("GET", "/api/settings", &[("X-Seq-ApiKey", &admin)], "");
    assert_eq!(status, 200, "{body}");
    let all: Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"RequireApiKeyForWritingEvents") && names.len() > 20,
        "{names:?}"
    );
}

#[test]
fn wrong_values_are_refused_and_change_nothing() {
    let server = TestServer::start_authenticating();
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    for (id, value, expected) in [
        (
            "setting-requireapikeyforwritingevents",
            json!("yes"),
            "true or false",
        ),
        (
            "setting-rawpayloadmaximumcontentlength",
            json!(0),
            "greater than zero",
        ),
        ("setting-minimumfreestoragespace", json!(-5), "whole number"),
        (
            "setting-newuserroleids",
            json!(["role-superuser"]),
            "not a role",
        ),
        (
            "setting-isauthenticationenabled",
            json!(false),
            "--no-authentication",
        ),
        ("setting-nosuchthing", json!(1), "No setting"),
    ] {
        let (status, body) = put(&server, &admin, id, value.clone());
        assert!(
            status == 400 || status == 404,
            "{id} {value}: {status} {body}"
        );
        assert!(body.contains(expected), "{id}: {body}");
    }
    assert_eq!(
        value_of(&server, &admin, "setting-rawpayloadmaximumcontentlength"),
        10 * 1024 * 1024
    );
}

#[test]
fn secrets_are_sealed_and_never_answered() {
    let server = TestServer::start_authenticating();
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let secret = "oidc-client-secret-7Hq2Vn";
    let (status, body) = put(
        &server,
        &admin,
        "setting-openidconnectclientsecret",
        json!(secret),
    );
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains(secret), "{body}");
    let (_, _, body) = server.request_with(
        "GET",
        "/api/settings/setting-openidconnectclientsecret",
        &[("X-Seq-ApiKey", &admin)],
        "",
    );
    let entity: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(entity["Value"], Value::Null);
    assert_eq!(entity["HasValue"], true);
    assert!(
        files_containing(server.dir.path(), secret.as_bytes()).is_empty(),
        "the secret is stored only encrypted"
    );
}

#[test]
fn low_free_storage_refuses_events_with_a_retryable_status() {
    let server = TestServer::start_authenticating();
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let (status, body) = put(
        &server,
        &admin,
        "setting-minimumfreestoragespace",
        json!(u64::MAX / 2),
    );
    assert_eq!(status, 200, "{body}");
    let (status, head, body) = server.request("POST", "/ingest/clef", EVENT);
    assert_eq!(status, 503, "{body}");
    assert!(head.contains("retry-after:"), "{head}");
    assert!(body.contains("MinimumFreeStorageSpace"), "{body}");
    let (status, body) = put(
        &server,
        &admin,
        "setting-minimumfreestoragespace",
        json!(1024),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.request("POST", "/ingest/clef", EVENT).0, 201);
}

#[test]
fn start_up_configuration_seeds_but_never_overrides_an_administrator() {
    let server = TestServer::start_authenticating();
    let server = server.restart(|c| {
        c.limits.max_body_bytes = 4096;
        c.instance_name = Some("from-config".into());
    });
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    assert_eq!(
        value_of(&server, &admin, "setting-rawpayloadmaximumcontentlength"),
        4096,
        "a changed flag still takes effect while no administrator set the value"
    );
    assert_eq!(
        value_of(&server, &admin, "setting-instancetitle"),
        "from-config"
    );
    let (status, body) = put(
        &server,
        &admin,
        "setting-rawpayloadmaximumcontentlength",
        json!(8192),
    );
    assert_eq!(status, 200, "{body}");

    let server = server.restart(|c| {
        c.limits.max_body_bytes = 2048;
    });
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    assert_eq!(
        value_of(&server, &admin, "setting-rawpayloadmaximumcontentlength"),
        8192,
        "the administrator's value survives a restart with another flag"
    );
    assert_eq!(
        value_of(&server, &admin, "setting-instancetitle"),
        Value::Null
    );
}

#[test]
fn seq_api_finds_settings_by_name_through_the_resource_links() {
    let server = TestServer::start_authenticating();
    let admin = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let (status, _, body) = server.request("GET", "/api/settings/resources", "");
    assert_eq!(status, 200, "{body}");
    let links: Value = serde_json::from_str(&body).unwrap();
    let link = links["Links"]["MinimumFreeStorageSpace"].as_str().unwrap();
    assert_eq!(
        value_of(&server, &admin, link.rsplit('/').next().unwrap()),
        0
    );
    assert_eq!(
        links["Links"]["InternalErrorReporting"],
        "api/settings/internal-error-reporting"
    );
    let (status, _, body) = server.request_with(
        "GET",
        "/api/settings/internal-error-reporting",
        &[("X-Seq-ApiKey", &admin)],
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""UsageTelemetryEnabled":false"#), "{body}");
    let (status, _, body) = server.request_with(
        "PUT",
        "/api/settings/internal-error-reporting",
        &[("X-Seq-ApiKey", &admin)],
        r#"{"InternalErrorReportingEnabled":true,"UsageTelemetryEnabled":false}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("no outbound"), "{body}");
}
