//! Every route in the table, every permission: refused without credentials (401), refused with
//! a key lacking the demanded permission (403), accepted with exactly the demanded one. The test
//! walks `route_table()`, so a new route is covered the moment it is declared.

use seqr_meta::{Permission, PermissionSet};
use seqr_server::routes::route_table;

use crate::{TestServer, create_key};

/// A concrete path for a route template: every `{param}` segment gets a placeholder.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                "role-administrator"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn is_grpc(path: &str) -> bool {
    path.starts_with("/opentelemetry.proto.collector.")
}

fn all_but(demand: Permission) -> PermissionSet {
    Permission::ALL
        .iter()
        .copied()
        .filter(|p| *p != demand && *p != Permission::Public)
        .collect()
}

#[test]
fn every_route_enforces_exactly_its_declared_permission() {
    let server = TestServer::start_authenticating();
    let mut covered = 0;
    let routes = route_table();
    for route in &routes {
        let (method, path) = (route.method.as_str(), concrete(route.path));
        let demand = route.permission;
        let label = format!("{method} {} (demands {demand})", route.path);
        let (status, _, body) = server.request(method, &path, "");
        if demand == Permission::Public {
            // `api/users/current` is reachable by anyone and answers 401 when nobody is signed
            // in (its contract, as Seq's); every other Public route answers anonymously.
            let anonymous_401 = route.path == "/api/users/current" && status == 401;
            assert!(
                anonymous_401 || (status != 401 && status != 403),
                "{label}: {status} {body}"
            );
            covered += 1;
            continue;
        }
        if demand == Permission::Ingest {
            // Loopback-only listening: anonymous ingestion is allowed (tested on its own below).
            // Each ingestion route gets past authentication, then answers the empty body its
            // own way: OTLP (HTTP and gRPC) refuses its missing content type, GELF, Loki and
            // bulk the empty message, the Elasticsearch probes answer; CLEF routes accept it.
            let accepted = match route.path {
                p if p.starts_with("/ingest/otlp") || is_grpc(p) => 415,
                "/gelf" | "/loki/api/v1/push" => 400,
                p if p.starts_with("/es") && p.ends_with("_bulk") => 400,
                p if p.starts_with("/es") => 200,
                _ => 201,
            };
            assert_eq!(status, accepted, "{label} anonymous on loopback: {body}");
        } else {
            assert_eq!(status, 401, "{label} without credentials: {body}");
            assert!(body.starts_with(r#"{"Error":"#), "{label}: {body}");
        }

        let lacking = create_key(&server, all_but(demand));
        let (status, head, body) =
            server.request_with(method, &path, &[("X-Seq-ApiKey", &lacking)], "");
        if is_grpc(route.path) {
            // gRPC answers a refusal as PERMISSION_DENIED in a trailers-only response.
            assert_eq!(status, 200, "{label} with every other permission: {head}");
            assert!(head.contains("grpc-status: 7"), "{label}: {head}");
            assert!(
                head.contains(&demand.to_string().to_ascii_lowercase()),
                "{label}: {head}"
            );
        } else {
            assert_eq!(status, 403, "{label} with every other permission: {body}");
            // A HEAD answer has no body to explain itself in.
            assert!(
                method == "HEAD" || body.contains(&demand.to_string()),
                "{label}: {body}"
            );
        }

        // A route with a per-entity rule is entered with its demand; the rule may then ask for
        // more (tested with each rule), so acceptance here adds what lets the rule pass.
        let mut exact = PermissionSet::of(&[demand]);
        if let Some(rule) = route.rule {
            exact.insert(rule.elevated());
        }
        let exact = create_key(&server, exact);
        let (status, _, body) = server.request_with(method, &path, &[("X-Seq-ApiKey", &exact)], "");
        assert!(
            status != 401 && status != 403,
            "{label} with exactly {demand} (and its rule's): {status} {body}"
        );
        covered += 1;
    }
    assert_eq!(covered, routes.len(), "every declared route was exercised");
}

#[test]
fn an_invalid_key_is_refused_except_for_anonymous_ingestion() {
    let server = TestServer::start_authenticating();
    let bogus = [("X-Seq-ApiKey", "ZZZZnotarealtokenatall0000000000")];
    let (status, head, body) = server.request_with("GET", "/api/events/signal", &bogus, "");
    assert_eq!(status, 401, "{body}");
    assert!(head.contains("www-authenticate:"), "{head}");
    // Seq's rule while keyless ingestion is allowed: a stale key counts as none.
    let event = r#"{"@t":"2026-01-01T00:00:00Z","@mt":"x"}"#;
    let (status, _, body) = server.request_with("POST", "/ingest/clef", &bogus, event);
    assert_eq!(status, 201, "{body}");
}

#[test]
fn listening_beyond_loopback_requires_an_ingest_key() {
    let server = TestServer::start_authenticating_on_all_interfaces();
    let event = r#"{"@t":"2026-01-01T00:00:00Z","@mt":"x"}"#;
    for path in ["/ingest/clef", "/api/events/raw?clef"] {
        let (status, _, body) = server.request("POST", path, event);
        assert_eq!(status, 401, "{path}: {body}");
    }
    let bogus = [("X-Seq-ApiKey", "ZZZZnotarealtokenatall0000000000")];
    assert_eq!(
        server.request_with("POST", "/ingest/clef", &bogus, event).0,
        401
    );
    let key = create_key(&server, PermissionSet::of(&[Permission::Ingest]));
    let (status, _, body) =
        server.request_with("POST", "/ingest/clef", &[("X-Seq-ApiKey", &key)], event);
    assert_eq!(status, 201, "{body}");
    let (status, _, _) =
        server.request_with("GET", "/api/events/signal", &[("X-Seq-ApiKey", &key)], "");
    assert_eq!(status, 403, "an Ingest key cannot read");
}
