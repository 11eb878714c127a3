//! `api/roles`: Seq's built-in roles, discoverable from `GET /api`.

use crate::TestServer;

#[test]
fn the_six_built_in_roles_are_listed_and_discoverable() {
    let server = TestServer::start(Default::default());
    let (status, _, body) = server.request("GET", "/api", "");
    assert_eq!(status, 200);
    assert!(
        body.contains(r#""RolesResources":"api/roles/resources""#),
        "{body}"
    );

    let (status, _, body) = server.request("GET", "/api/roles", "");
    assert_eq!(status, 200);
    let roles: serde_json::Value = serde_json::from_str(&body).unwrap();
    let ids: Vec<&str> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 6, "{body}");
    assert!(
        ids.contains(&"role-administrator") && ids.contains(&"role-user"),
        "{ids:?}"
    );

    let (status, _, body) = server.request("GET", "/api/roles/role-administrator", "");
    assert_eq!(status, 200);
    let admin: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(admin["Title"], "Administrator");
    assert_eq!(
        admin["Permissions"],
        serde_json::json!([
            "Ingest",
            "Read",
            "Write",
            "Project",
            "Organization",
            "System"
        ])
    );
    assert_eq!(admin["Links"]["Self"], "api/roles/role-administrator");

    let (status, _, body) = server.request("GET", "/api/roles/role-nope", "");
    assert_eq!(status, 404);
    assert!(body.contains("role-nope"), "{body}");
}

#[test]
fn the_roles_resource_document_links_items() {
    let server = TestServer::start(Default::default());
    let (status, _, body) = server.request("GET", "/api/roles/resources", "");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(r#""Items":"api/roles/""#) && body.contains(r#""Item":"api/roles/{id}""#),
        "{body}"
    );
}
