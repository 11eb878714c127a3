//! `api/users` accounts over HTTP: who may manage whom, passwords, sessions, view filters.

use seqr_meta::{Permission, PermissionSet, roles};
use serde_json::{Value, json};

use crate::{
    PASSWORD, Session, TestServer, create_key, create_user, ingest_two_teams, json_of, sign_in,
};

fn with_key(
    server: &TestServer,
    key: &str,
    method: &str,
    path: &str,
    body: &Value,
) -> (u16, String) {
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let (status, _, body) = server.request_with(method, path, &[("X-Seq-ApiKey", key)], &text);
    (status, body)
}

fn with_session(
    server: &TestServer,
    session: &Session,
    method: &str,
    path: &str,
    body: &Value,
) -> (u16, String) {
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let (status, _, body) = server.request_with(
        method,
        path,
        &[
            ("Cookie", &session.cookie),
            ("X-Seq-CsrfToken", &session.csrf),
        ],
        &text,
    );
    (status, body)
}

fn organization_key(server: &TestServer) -> String {
    create_key(
        server,
        PermissionSet::of(&[
            Permission::Read,
            Permission::Write,
            Permission::Organization,
        ]),
    )
}

#[test]
fn an_account_administrator_creates_a_user_who_must_change_the_password() {
    let server = TestServer::start_authenticating();
    let org = organization_key(&server);
    let (status, body) = with_key(&server, &org, "GET", "/api/users/template", &Value::Null);
    assert_eq!(status, 200, "{body}");
    let mut user = json_of(&body);
    assert_eq!(user["RoleIds"], json!([roles::USER_READ_ONLY]));
    user["Username"] = json!("carol");
    user["DisplayName"] = json!("Carol C.");
    user["NewPassword"] = json!("a temporary passphrase");
    let (status, body) = with_key(&server, &org, "POST", "/api/users", &user);
    assert_eq!(status, 201, "{body}");
    let created = json_of(&body);
    assert_eq!(created["MustChangePassword"], true);
    assert!(
        created.get("NewPassword").is_none() && !body.contains("temporary"),
        "{body}"
    );
    let id = created["Id"].as_str().unwrap().to_owned();

    // The administrator's password must be replaced at first sign-in.
    let (status, _, body) = server.request(
        "POST",
        "/api/users/login",
        &json!({ "Username": "carol", "Password": "a temporary passphrase" }).to_string(),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("NewPassword"), "{body}");

    let (status, body) = with_key(
        &server,
        &org,
        "GET",
        &format!("/api/users/{id}"),
        &Value::Null,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body)["DisplayName"], "Carol C.");
    let (status, body) = with_key(&server, &org, "GET", "/api/users", &Value::Null);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("carol"), "{body}");

    for (bad, why) in [
        (
            json!({ "Username": "carol", "NewPassword": "long enough pass" }),
            "already exists",
        ),
        (json!({ "Username": "dave", "NewPassword": "short" }), "12"),
        (json!({ "Username": "dave" }), "NewPassword"),
        (
            json!({ "Username": "dave", "NewPassword": "long enough pass", "RoleIds": ["role-root"] }),
            "not a role",
        ),
        (
            json!({ "Username": "dave", "NewPassword": "long enough pass", "ViewFilter": { "Filter": "(Team = 'a'" } }),
            "ViewFilter",
        ),
    ] {
        let (status, body) = with_key(&server, &org, "POST", "/api/users", &bad);
        assert!(status == 400 || status == 409, "{bad}: {status} {body}");
        assert!(body.contains(why), "{bad}: {body}");
    }
    let (status, body) = with_key(
        &server,
        &org,
        "POST",
        "/api/users",
        &json!({ "Username": "eve", "NewPassword": "long enough pass", "RoleIds": [roles::ADMINISTRATOR] }),
    );
    assert_eq!(status, 403, "only System creates administrators: {body}");
}

#[test]
fn users_change_their_own_details_and_password_but_nothing_else() {
    let server = TestServer::start_authenticating();
    let alice = create_user(&server, "alice", &[roles::USER_READ_WRITE], false);
    let bob = create_user(&server, "bob", &[roles::USER_READ_WRITE], false);
    let (session, _) = sign_in(&server, "alice", PASSWORD);

    let (status, body) = with_session(
        &server,
        &session,
        "GET",
        &format!("/api/users/{alice}"),
        &Value::Null,
    );
    assert_eq!(status, 200, "{body}");
    let mut me = json_of(&body);
    let (status, body) = with_session(
        &server,
        &session,
        "GET",
        &format!("/api/users/{bob}"),
        &Value::Null,
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        with_session(&server, &session, "GET", "/api/users", &Value::Null).0,
        403
    );

    me["DisplayName"] = json!("Alice A.");
    me["Preferences"] = json!({ "theme": "dark" });
    let (status, body) = with_session(
        &server,
        &session,
        "PUT",
        &format!("/api/users/{alice}"),
        &me,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body)["Preferences"]["theme"], "dark");

    let mut promoted = me.clone();
    promoted["RoleIds"] = json!([roles::ADMINISTRATOR]);
    let (status, body) = with_session(
        &server,
        &session,
        "PUT",
        &format!("/api/users/{alice}"),
        &promoted,
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("RoleIds"), "{body}");
    let mut unfiltered = me.clone();
    unfiltered["Username"] = json!("root");
    assert_eq!(
        with_session(
            &server,
            &session,
            "PUT",
            &format!("/api/users/{alice}"),
            &unfiltered
        )
        .0,
        403
    );
    let mut bobs = me.clone();
    bobs["DisplayName"] = json!("hacked");
    assert_eq!(
        with_session(
            &server,
            &session,
            "PUT",
            &format!("/api/users/{bob}"),
            &bobs
        )
        .0,
        403
    );

    // A new password signs the user out everywhere, this session included.
    let mut change = me.clone();
    change["NewPassword"] = json!("a brand new passphrase");
    let (status, body) = with_session(
        &server,
        &session,
        "PUT",
        &format!("/api/users/{alice}"),
        &change,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        with_session(
            &server,
            &session,
            "GET",
            &format!("/api/users/{alice}"),
            &Value::Null
        )
        .0,
        401,
        "the old session is revoked"
    );
    let (status, _, _) = server.request(
        "POST",
        "/api/users/login",
        &json!({ "Username": "alice", "Password": PASSWORD }).to_string(),
    );
    assert_eq!(status, 401);
    sign_in(&server, "alice", "a brand new passphrase");
}

#[test]
fn role_changes_apply_at_once_and_the_last_administrator_stays() {
    let server = TestServer::start_authenticating();
    let root = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let alice = create_user(&server, "alice", &[roles::USER_READ_WRITE], false);
    let (session, _) = sign_in(&server, "alice", PASSWORD);
    assert_eq!(
        with_session(&server, &session, "GET", "/api/users", &Value::Null).0,
        403
    );

    let (status, body) = with_key(
        &server,
        &root,
        "GET",
        &format!("/api/users/{alice}"),
        &Value::Null,
    );
    assert_eq!(status, 200, "{body}");
    let mut entity = json_of(&body);
    entity["RoleIds"] = json!([roles::ORGANIZATION_ADMINISTRATOR]);
    let (status, body) = with_key(
        &server,
        &root,
        "PUT",
        &format!("/api/users/{alice}"),
        &entity,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        with_session(&server, &session, "GET", "/api/users", &Value::Null).0,
        200,
        "the signed-in session holds the new role at its next request"
    );

    // The first administrator (`admin`) is the only one holding System.
    let (_, body) = with_key(&server, &root, "GET", "/api/users", &Value::Null);
    let admin = json_of(&body)
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["Username"] == "admin")
        .cloned()
        .expect("the first-run administrator");
    let admin_id = admin["Id"].as_str().unwrap();
    let mut demoted = admin.clone();
    demoted["RoleIds"] = json!([roles::USER_READ_ONLY]);
    let (status, body) = with_key(
        &server,
        &root,
        "PUT",
        &format!("/api/users/{admin_id}"),
        &demoted,
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("last administrator"), "{body}");
    let (status, body) = with_key(
        &server,
        &root,
        "DELETE",
        &format!("/api/users/{admin_id}"),
        &Value::Null,
    );
    assert_eq!(status, 400, "{body}");

    // An Organization administrator cannot touch the System administrator.
    let (status, body) = with_session(
        &server,
        &session,
        "DELETE",
        &format!("/api/users/{admin_id}"),
        &Value::Null,
    );
    assert_eq!(status, 403, "{body}");
    let (status, body) = with_key(
        &server,
        &root,
        "DELETE",
        &format!("/api/users/{alice}"),
        &Value::Null,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        with_session(&server, &session, "GET", "/api/users", &Value::Null).0,
        401,
        "a deleted user's sessions end"
    );
}

#[test]
fn a_view_filter_is_stored_and_anded_into_every_read() {
    let server = TestServer::start_authenticating();
    let root = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let alice = create_user(&server, "alice", &[roles::USER_READ_ONLY], false);
    ingest_two_teams(&server);
    let (session, _) = sign_in(&server, "alice", PASSWORD);
    let teams = |path: &str| -> Vec<String> {
        let (status, body) = with_session(&server, &session, "GET", path, &Value::Null);
        assert_eq!(status, 200, "{path}: {body}");
        let v = json_of(&body);
        let events = if v.is_array() { v } else { v["Events"].clone() };
        events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e["Properties"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["Name"] == "Team")
                    .unwrap()["Value"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(teams("/api/events/signal"), ["a", "b"]);
    let (_, body) = with_session(
        &server,
        &session,
        "GET",
        "/api/events/signal?filter=Team%3D'b'",
        &Value::Null,
    );
    let team_b_id = json_of(&body)["Events"][0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (_, body) = with_key(
        &server,
        &root,
        "GET",
        &format!("/api/users/{alice}"),
        &Value::Null,
    );
    let mut entity = json_of(&body);
    entity["ViewFilter"] = json!({ "Description": null, "DescriptionIsExcluded": false, "Filter": "Team = 'a'", "FilterNonStrict": null });
    let (status, body) = with_key(
        &server,
        &root,
        "PUT",
        &format!("/api/users/{alice}"),
        &entity,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body)["ViewFilter"]["Filter"], "Team = 'a'");

    assert_eq!(teams("/api/events/signal"), ["a"]);
    assert_eq!(teams("/api/events"), ["a"]);
    assert!(
        teams("/api/events/signal?filter=Team%20%3D%20'b'").is_empty(),
        "a request filter cannot widen the view filter"
    );
    assert!(teams("/api/events/signal?filter=not%20(Team%20%3D%20'a')").is_empty());
    let (status, _) = with_session(
        &server,
        &session,
        "GET",
        &format!("/api/events/{team_b_id}"),
        &Value::Null,
    );
    assert_eq!(
        status, 404,
        "an event outside the view filter does not exist for the user"
    );
    let (status, _) = with_key(
        &server,
        &root,
        "GET",
        &format!("/api/events/{team_b_id}"),
        &Value::Null,
    );
    assert_eq!(status, 200);

    let (_, body) = with_key(&server, &root, "GET", "/api/users", &Value::Null);
    let admin = json_of(&body)
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["Username"] == "admin")
        .cloned()
        .unwrap();
    let mut filtered_admin = admin.clone();
    filtered_admin["ViewFilter"] = json!({ "Filter": "Team = 'a'" });
    let (status, body) = with_key(
        &server,
        &root,
        "PUT",
        &format!("/api/users/{}", admin["Id"].as_str().unwrap()),
        &filtered_admin,
    );
    assert_eq!(status, 400, "administrators have no view filter: {body}");
}

#[test]
fn the_audit_log_records_account_and_key_changes_for_system_only() {
    let server = TestServer::start_authenticating();
    let root = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let org = organization_key(&server);
    let (status, body) = with_key(
        &server,
        &org,
        "POST",
        "/api/users",
        &json!({ "Username": "frank", "NewPassword": "frank's long passphrase" }),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = with_key(
        &server,
        &root,
        "POST",
        "/api/apikeys",
        &json!({ "Title": "ci" }),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        with_key(&server, &org, "GET", "/api/settings", &Value::Null).0,
        403
    );

    assert_eq!(server.request("GET", "/api/auditlog", "").0, 401);
    assert_eq!(
        with_key(&server, &org, "GET", "/api/auditlog", &Value::Null).0,
        403
    );
    let (status, body) = with_key(
        &server,
        &root,
        "GET",
        "/api/auditlog?count=1000",
        &Value::Null,
    );
    assert_eq!(status, 200, "{body}");
    let records = json_of(&body);
    let actions: Vec<&str> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Action"].as_str().unwrap())
        .collect();
    for expected in ["user.create", "apikey.create", "access.denied"] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    assert!(!body.contains("frank's long passphrase"), "{body}");
    let last = records.as_array().unwrap().last().unwrap()["Id"]
        .as_i64()
        .unwrap();
    let (_, body) = with_key(
        &server,
        &root,
        "GET",
        &format!("/api/auditlog?afterId={last}"),
        &Value::Null,
    );
    let rest = json_of(&body);
    assert!(
        rest.as_array()
            .unwrap()
            .iter()
            .all(|r| r["Id"].as_i64().unwrap() > last),
        "paging continues after the given id: {body}"
    );
}

#[test]
fn a_personal_key_cannot_take_over_its_owners_account() {
    let server = TestServer::start_authenticating();
    let alice = create_user(&server, "alice", &[roles::USER_READ_WRITE], false);
    let (session, _) = sign_in(&server, "alice", PASSWORD);
    let (status, body) = with_session(
        &server,
        &session,
        "POST",
        "/api/apikeys",
        &json!({ "Title": "ci", "OwnerId": alice, "AssignedPermissions": ["Read", "Write"] }),
    );
    assert_eq!(status, 201, "{body}");
    let token = json_of(&body)["Token"].as_str().unwrap().to_owned();
    let (status, body) = with_key(
        &server,
        &token,
        "PUT",
        &format!("/api/users/{alice}"),
        &json!({ "NewPassword": "the key holder's passphrase" }),
    );
    assert_eq!(status, 403, "a leaked key is not the account: {body}");
    sign_in(&server, "alice", PASSWORD);
}

#[test]
fn nobody_grants_a_role_holding_more_than_they_hold() {
    let server = TestServer::start_authenticating();
    let org = organization_key(&server);
    let (status, body) = with_key(
        &server,
        &org,
        "POST",
        "/api/users",
        &json!({
            "Username": "mallory",
            "NewPassword": "mallory's passphrase",
            "RoleIds": [roles::ORGANIZATION_ADMINISTRATOR],
        }),
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Project"), "{body}");
    let bob = create_user(&server, "bob", &[roles::USER_READ_ONLY], false);
    let (_, body) = with_key(
        &server,
        &org,
        "GET",
        &format!("/api/users/{bob}"),
        &Value::Null,
    );
    let mut entity = json_of(&body);
    entity["RoleIds"] = json!([roles::PROJECT_OWNER]);
    let (status, body) = with_key(&server, &org, "PUT", &format!("/api/users/{bob}"), &entity);
    assert_eq!(status, 403, "{body}");
}

#[test]
fn an_administrators_password_reset_must_be_changed_even_when_the_flag_is_echoed() {
    let server = TestServer::start_authenticating();
    let root = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let bob = create_user(&server, "bob", &[roles::USER_READ_ONLY], false);
    let (_, body) = with_key(
        &server,
        &root,
        "GET",
        &format!("/api/users/{bob}"),
        &Value::Null,
    );
    let mut entity = json_of(&body);
    assert_eq!(entity["MustChangePassword"], false);
    entity["NewPassword"] = json!("reset by the administrator");
    let (status, body) = with_key(&server, &root, "PUT", &format!("/api/users/{bob}"), &entity);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body)["MustChangePassword"], true, "{body}");
}

#[test]
fn two_administrators_demoting_each_other_at_once_leave_one() {
    let server = TestServer::start_authenticating();
    let root = create_key(&server, PermissionSet::ALL_GRANTABLE);
    let a = create_user(&server, "ann", &[roles::ADMINISTRATOR], false);
    let b = create_user(&server, "ben", &[roles::ADMINISTRATOR], false);
    // Leave ann and ben as the only administrators.
    let (_, body) = with_key(&server, &root, "GET", "/api/users", &Value::Null);
    let first = json_of(&body)
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["Username"] == "admin")
        .unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        with_key(
            &server,
            &root,
            "DELETE",
            &format!("/api/users/{first}"),
            &Value::Null
        )
        .0,
        200
    );
    let (sa, _) = sign_in(&server, "ann", PASSWORD);
    let (sb, _) = sign_in(&server, "ben", PASSWORD);
    let demote = json!({ "RoleIds": [roles::USER_READ_ONLY], "NewPassword": "demoted in a race" });
    std::thread::scope(|scope| {
        scope.spawn(|| with_session(&server, &sa, "PUT", &format!("/api/users/{b}"), &demote));
        scope.spawn(|| with_session(&server, &sb, "PUT", &format!("/api/users/{a}"), &demote));
    });
    let admins =
        seqr_meta::users::count_with_permission(&crate::meta(&server), Permission::System).unwrap();
    assert_eq!(admins, 1, "exactly one of the demotions went through");
}
