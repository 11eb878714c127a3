//! The one route table. Every HTTP route seqr serves is declared here with the permission a
//! caller must hold; there is no other way to add a route, so none can exist without a demand.

use axum::Router;
use axum::extract::Extension;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, on};

use crate::auth::rules::EntityRule;
use crate::permission::Permission;
use crate::{
    AppState, api_root, apikeys, auditlog, backup, data, diagnostics, events, export, expressions,
    gelf_http, grpc, health, ingest, ingestion_log, metrics, otlp, retention, roles, settings,
    shippers, status, tail, ui, users,
};

/// One declared route, as listed by [`route_table`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: Method,
    /// Path template (axum syntax, `{id}` for a segment).
    pub path: &'static str,
    /// What a caller must hold.
    pub permission: Permission,
    /// The per-entity rule the handler applies on top of `permission`, if any.
    pub rule: Option<EntityRule>,
    /// What the route is for (shown in docs and diagnostics).
    pub summary: &'static str,
}

/// The permission a matched route demands, attached to each request for the auth layer.
#[derive(Clone, Copy, Debug)]
pub struct RequiredPermission(pub Permission);

struct Registrar {
    specs: Vec<RouteSpec>,
    router: Router<AppState>,
    /// Which declared routes go into `router` (all, or those of an ingestion-only listener).
    serves: fn(Permission, &str) -> bool,
}

impl Registrar {
    fn add<H, T>(
        &mut self,
        method: Method,
        path: &'static str,
        permission: Permission,
        summary: &'static str,
        handler: H,
    ) where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add_ruled(method, path, permission, None, summary, handler);
    }

    /// Declares a route whose handler applies `rule` to the entity it touches.
    fn add_ruled<H, T>(
        &mut self,
        method: Method,
        path: &'static str,
        permission: Permission,
        rule: Option<EntityRule>,
        summary: &'static str,
        handler: H,
    ) where
        H: Handler<T, AppState>,
        T: 'static,
    {
        assert!(
            !self
                .specs
                .iter()
                .any(|s| s.method == method && s.path == path),
            "route {method} {path} declared twice"
        );
        if (self.serves)(permission, path) {
            let filter = MethodFilter::try_from(method.clone()).expect("a standard HTTP method");
            let method_router =
                on(filter, handler).layer(Extension(RequiredPermission(permission)));
            self.router = std::mem::take(&mut self.router).route(path, method_router);
        }
        self.specs.push(RouteSpec {
            method,
            path,
            permission,
            rule,
            summary,
        });
    }
}

fn declare(serves: fn(Permission, &str) -> bool) -> Registrar {
    use Permission::{Ingest, Organization, Project, Public, Read, System, Write};
    let mut r = Registrar {
        specs: Vec::new(),
        router: Router::new(),
        serves,
    };
    r.add(
        Method::GET,
        "/api",
        Public,
        "Root document with resource group links",
        api_root::root,
    );
    r.add(
        Method::GET,
        "/api/",
        Public,
        "Root document (trailing slash)",
        api_root::root,
    );
    r.add(
        Method::GET,
        "/api/events/resources",
        Public,
        "Events resource links",
        api_root::events_resources,
    );
    r.add(
        Method::GET,
        "/api/roles/resources",
        Public,
        "Roles resource links",
        roles::resources,
    );
    r.add(
        Method::GET,
        "/api/users/resources",
        Public,
        "Users resource links",
        users::resources,
    );
    r.add(
        Method::POST,
        "/api/users/login",
        Public,
        "Sign in with a username and password",
        users::login,
    );
    r.add(
        Method::POST,
        "/api/users/logout",
        Public,
        "Sign out (ends the cookie's session)",
        users::logout,
    );
    r.add(
        Method::GET,
        "/api/users/current",
        Public,
        "The signed-in user (401 when nobody is)",
        users::current,
    );
    r.add(
        Method::GET,
        "/api/users/providers",
        Public,
        "Authentication providers",
        users::providers,
    );
    r.add(
        Method::GET,
        "/api/apikeys/resources",
        Public,
        "API keys resource links",
        apikeys::resources,
    );
    r.add(
        Method::GET,
        "/api/settings/resources",
        Public,
        "Settings resource links",
        settings::resources,
    );
    // The sign-in page reads these before anyone signs in; changing them needs System.
    for path in settings::PUBLIC_SETTING_PATHS {
        r.add(
            Method::GET,
            path,
            Public,
            "Sign-in page setting",
            settings::get,
        );
        r.add(Method::PUT, path, System, "Change a setting", settings::put);
    }
    r.add(
        Method::GET,
        "/health",
        Public,
        "Node health",
        health::health,
    );
    r.add(
        Method::GET,
        "/ready",
        Public,
        "Readiness, as Loki answers it (`ready`), for shippers' health checks",
        health::ready,
    );
    r.add(
        Method::POST,
        "/api/events/raw",
        Ingest,
        "Ingest CLEF or legacy JSON",
        ingest::raw,
    );
    r.add(
        Method::POST,
        "/ingest/clef",
        Ingest,
        "Ingest CLEF",
        ingest::clef,
    );
    r.add(
        Method::POST,
        "/ingest/otlp/v1/logs",
        Ingest,
        "Ingest OpenTelemetry logs (OTLP/HTTP, protobuf or JSON)",
        otlp::logs,
    );
    r.add(
        Method::POST,
        "/ingest/otlp/v1/traces",
        Ingest,
        "Ingest OpenTelemetry spans (OTLP/HTTP, protobuf or JSON)",
        otlp::traces,
    );
    r.add(
        Method::POST,
        "/gelf",
        Ingest,
        "Ingest one GELF message (plain, gzip or zlib)",
        gelf_http::gelf,
    );
    r.add(
        Method::POST,
        "/loki/api/v1/push",
        Ingest,
        "Ingest a Loki push (snappy protobuf or JSON), for log shippers",
        shippers::loki_push,
    );
    for method in [Method::POST, Method::PUT] {
        r.add(
            method.clone(),
            "/es/_bulk",
            Ingest,
            "Ingest an Elasticsearch _bulk body, for log shippers",
            shippers::bulk,
        );
        r.add(
            method,
            "/es/{index}/_bulk",
            Ingest,
            "Ingest an Elasticsearch _bulk body into a named index",
            shippers::bulk_into,
        );
    }
    for path in ["/es", "/es/"] {
        for method in [Method::GET, Method::HEAD] {
            r.add(
                method,
                path,
                Ingest,
                "The Elasticsearch version banner shippers probe",
                shippers::root,
            );
        }
    }
    r.add(
        Method::GET,
        "/es/_cluster/health",
        Ingest,
        "Elasticsearch cluster health, for shippers' health checks",
        shippers::cluster_health,
    );
    r.add(
        Method::GET,
        "/es/_license",
        Ingest,
        "Elasticsearch license, probed by Beats",
        shippers::license,
    );
    r.add(
        Method::GET,
        "/es/_xpack",
        Ingest,
        "Elasticsearch features, probed by Beats",
        shippers::xpack,
    );
    r.add(
        Method::POST,
        grpc::LOGS_EXPORT,
        Ingest,
        "Ingest OpenTelemetry logs (OTLP/gRPC)",
        grpc::logs,
    );
    r.add(
        Method::POST,
        grpc::TRACES_EXPORT,
        Ingest,
        "Ingest OpenTelemetry spans (OTLP/gRPC)",
        grpc::traces,
    );
    r.add(
        Method::GET,
        "/api/events/signal",
        Read,
        "Search events",
        events::search_get,
    );
    r.add(
        Method::POST,
        "/api/events/signal",
        Read,
        "Search events (evaluation context body)",
        events::search_post,
    );
    r.add(
        Method::GET,
        "/api/events/export",
        Read,
        "Export the matching events as CLEF, JSON or CSV (streamed)",
        export::export,
    );
    r.add(
        Method::GET,
        "/api/events/stream",
        Read,
        "Live tail: a WebSocket streaming new matching events",
        tail::stream,
    );
    r.add(
        Method::DELETE,
        "/api/events/signal",
        Project,
        "Delete the matching events (the caller's view filter AND-ed in)",
        events::delete,
    );
    r.add(
        Method::GET,
        "/api/events",
        Read,
        "Search events, legacy array response",
        events::list,
    );
    r.add(
        Method::GET,
        "/api/events/",
        Read,
        "Search events, legacy array response",
        events::list,
    );
    r.add(
        Method::GET,
        "/api/data/resources",
        Public,
        "Query resource links",
        data::resources,
    );
    r.add(
        Method::GET,
        "/api/data",
        Read,
        "Run a SQL-style query",
        data::query_get,
    );
    r.add(
        Method::POST,
        "/api/data",
        Read,
        "Run a SQL-style query (evaluation context body)",
        data::query_post,
    );
    r.add(
        Method::GET,
        "/api/expressions/resources",
        Public,
        "Expression resource links",
        expressions::resources,
    );
    r.add(
        Method::GET,
        "/api/expressions/tostrict",
        Read,
        "Convert search-bar input to a strict expression",
        expressions::to_strict,
    );
    r.add(
        Method::GET,
        "/api/expressions/tosql",
        Read,
        "Convert search-bar input to a SQL-style query",
        expressions::to_sql,
    );
    r.add(
        Method::GET,
        "/api/roles",
        Read,
        "The built-in roles",
        roles::list,
    );
    r.add(
        Method::GET,
        "/api/roles/",
        Read,
        "The built-in roles",
        roles::list,
    );
    r.add(
        Method::GET,
        "/api/roles/{id}",
        Read,
        "One built-in role",
        roles::by_id,
    );
    r.add(
        Method::GET,
        "/api/events/{id}",
        Read,
        "One event by id",
        events::by_id,
    );

    let own_key = Some(EntityRule::OwnKeyOrProject);
    for path in ["/api/apikeys", "/api/apikeys/"] {
        r.add_ruled(Method::GET, path, Read, own_key, "API keys", apikeys::list);
        r.add_ruled(
            Method::POST,
            path,
            Write,
            own_key,
            "Create an API key (token answered once)",
            apikeys::create,
        );
    }
    r.add(
        Method::GET,
        "/api/apikeys/template",
        Write,
        "A new API key to fill in",
        apikeys::template,
    );
    r.add_ruled(
        Method::GET,
        "/api/apikeys/{id}",
        Read,
        own_key,
        "One API key",
        apikeys::by_id,
    );
    r.add_ruled(
        Method::PUT,
        "/api/apikeys/{id}",
        Write,
        own_key,
        "Change an API key",
        apikeys::update,
    );
    r.add_ruled(
        Method::DELETE,
        "/api/apikeys/{id}",
        Write,
        own_key,
        "Delete an API key",
        apikeys::delete,
    );

    let own_account = Some(EntityRule::OwnAccountOrOrganization);
    for path in ["/api/users", "/api/users/"] {
        r.add(
            Method::GET,
            path,
            Organization,
            "User accounts",
            users::list,
        );
        r.add_ruled(
            Method::POST,
            path,
            Organization,
            own_account,
            "Create a user (System to create an administrator)",
            users::create,
        );
    }
    r.add(
        Method::GET,
        "/api/users/template",
        Organization,
        "A new user to fill in",
        users::template,
    );
    r.add_ruled(
        Method::GET,
        "/api/users/{id}",
        Read,
        own_account,
        "One user account",
        users::get,
    );
    r.add_ruled(
        Method::PUT,
        "/api/users/{id}",
        Write,
        own_account,
        "Change a user account (own name, email, preferences, password; the rest Organization)",
        users::update,
    );
    r.add_ruled(
        Method::DELETE,
        "/api/users/{id}",
        Organization,
        own_account,
        "Delete a user account with its sessions and personal keys",
        users::delete,
    );

    for path in ["/api/settings", "/api/settings/"] {
        r.add(
            Method::GET,
            path,
            System,
            "Runtime settings",
            settings::list,
        );
    }
    r.add(
        Method::GET,
        "/api/settings/internal-error-reporting",
        System,
        "Error reporting and telemetry (always off)",
        settings::internal_error_reporting,
    );
    r.add(
        Method::PUT,
        "/api/settings/internal-error-reporting",
        System,
        "Error reporting and telemetry (only off is accepted)",
        settings::put_internal_error_reporting,
    );
    r.add(
        Method::GET,
        "/api/settings/{id}",
        System,
        "One runtime setting",
        settings::get,
    );
    r.add(
        Method::PUT,
        "/api/settings/{id}",
        System,
        "Change a runtime setting (takes effect at once)",
        settings::put,
    );
    r.add(
        Method::GET,
        "/api/retentionpolicies/resources",
        Public,
        "Retention policies resource links",
        retention::resources,
    );
    for path in ["/api/retentionpolicies", "/api/retentionpolicies/"] {
        r.add(
            Method::GET,
            path,
            Project,
            "Retention policies",
            retention::list,
        );
        r.add(
            Method::POST,
            path,
            Project,
            "Create a retention policy",
            retention::create,
        );
    }
    r.add(
        Method::GET,
        "/api/retentionpolicies/template",
        Project,
        "A new retention policy to fill in",
        retention::template,
    );
    r.add(
        Method::GET,
        "/api/retentionpolicies/{id}",
        Project,
        "One retention policy",
        retention::by_id,
    );
    r.add(
        Method::PUT,
        "/api/retentionpolicies/{id}",
        Project,
        "Change a retention policy",
        retention::update,
    );
    r.add(
        Method::DELETE,
        "/api/retentionpolicies/{id}",
        Project,
        "Delete a retention policy",
        retention::delete,
    );
    r.add(
        Method::GET,
        "/api/backups/resources",
        Public,
        "Backups resource links",
        backup::api::resources,
    );
    for path in ["/api/backups", "/api/backups/"] {
        r.add(
            Method::GET,
            path,
            System,
            "The backups in the backup location, newest first",
            backup::api::list,
        );
    }
    r.add(
        Method::POST,
        "/api/backups/immediate",
        System,
        "Make an encrypted backup now; answers its bytes",
        backup::api::immediate,
    );
    r.add(
        Method::GET,
        "/api/backups/files/{filename}",
        System,
        "Download a backup file",
        backup::api::download,
    );
    r.add(
        Method::GET,
        "/api/backups/{id}",
        System,
        "One backup",
        backup::api::by_id,
    );
    r.add(
        Method::DELETE,
        "/api/backups/{id}",
        System,
        "Delete a backup file",
        backup::api::delete,
    );
    r.add(
        Method::GET,
        "/api/diagnostics/resources",
        Public,
        "Diagnostics resource links",
        diagnostics::resources,
    );
    r.add(
        Method::GET,
        "/api/diagnostics/storage",
        System,
        "Storage used per day, with store totals",
        diagnostics::storage,
    );
    r.add(
        Method::GET,
        "/api/diagnostics/inputs",
        System,
        "GELF and syslog listeners' counters (seqr addition)",
        diagnostics::inputs,
    );
    r.add(
        Method::GET,
        "/api/diagnostics/metrics",
        System,
        "Server metrics per minute (Seq's ServerMetricsPart)",
        metrics::http::server_metrics,
    );
    r.add(
        Method::GET,
        "/api/diagnostics/ingestion",
        System,
        "The ingestion log: recently refused payloads (text, or ?format=json)",
        ingestion_log::ingestion,
    );
    r.add(
        Method::GET,
        "/api/diagnostics/status",
        Read,
        "Banner messages: conditions an operator should act on",
        status::status,
    );
    r.add(
        Method::GET,
        "/metrics",
        System,
        "Prometheus metrics (text exposition 0.0.4)",
        metrics::http::metrics,
    );
    r.add(
        Method::GET,
        "/api/auditlog",
        System,
        "The audit log, oldest first (seqr addition)",
        auditlog::list,
    );
    // The web UI's files: public, as a sign-in page must be; all data it shows comes from
    // the API routes above, each with its own permission.
    r.add(Method::GET, "/", Public, "The web UI", ui::page);
    r.add(
        Method::GET,
        "/assets/{file}",
        Public,
        "The web UI's scripts and styles",
        ui::asset,
    );
    r
}

/// Every route seqr serves, with its permission.
pub fn route_table() -> Vec<RouteSpec> {
    declare(|_, _| true).specs
}

/// The router built from the table.
pub(crate) fn router() -> Router<AppState> {
    declare(|_, _| true).router
}

/// Whether an ingestion-only listener (`--ingest-listen`, like Seq's port 5341 in Docker)
/// serves a route: every ingestion route (their permission is Ingest), `/health` and `/ready`.
pub fn serves_on_ingest_listener(permission: Permission, path: &str) -> bool {
    permission == Permission::Ingest || path == "/health" || path == "/ready"
}

/// The router of an ingestion-only listener.
pub(crate) fn ingest_router() -> Router<AppState> {
    declare(serves_on_ingest_listener).router
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_routes_are_exactly_the_listed_ones() {
        let public: Vec<_> = route_table()
            .into_iter()
            .filter(|r| r.permission == Permission::Public)
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert_eq!(
            public,
            [
                "GET /api",
                "GET /api/",
                "GET /api/events/resources",
                "GET /api/roles/resources",
                "GET /api/users/resources",
                "POST /api/users/login",
                "POST /api/users/logout",
                "GET /api/users/current",
                "GET /api/users/providers",
                "GET /api/apikeys/resources",
                "GET /api/settings/resources",
                "GET /api/settings/setting-authenticationprovider",
                "GET /api/settings/setting-instancetitle",
                "GET /api/settings/setting-isactivedirectoryauthentication",
                "GET /api/settings/setting-isauthenticationenabled",
                "GET /health",
                "GET /ready",
                "GET /api/data/resources",
                "GET /api/expressions/resources",
                "GET /api/retentionpolicies/resources",
                "GET /api/backups/resources",
                "GET /api/diagnostics/resources",
                "GET /",
                "GET /assets/{file}",
            ]
        );
    }

    #[test]
    fn ingestion_demands_ingest_reads_demand_read_and_deleting_demands_project() {
        for r in route_table() {
            if r.path.starts_with("/ingest")
                || r.path.starts_with("/opentelemetry.proto.collector.")
                || r.path == "/api/events/raw"
            {
                assert_eq!(r.permission, Permission::Ingest, "{}", r.path);
            } else if r.path.starts_with("/api/events") && r.method == Method::DELETE {
                assert_eq!(r.permission, Permission::Project, "{}", r.path);
            } else if r.path.starts_with("/api/events") && !r.path.ends_with("/resources") {
                assert_eq!(r.permission, Permission::Read, "{}", r.path);
            }
        }
    }

    #[test]
    fn retention_policies_demand_project() {
        let retention: Vec<_> = route_table()
            .into_iter()
            .filter(|r| r.path.starts_with("/api/retentionpolicies"))
            .filter(|r| !r.path.ends_with("/resources"))
            .collect();
        assert_eq!(retention.len(), 8);
        for r in retention {
            assert_eq!(r.permission, Permission::Project, "{} {}", r.method, r.path);
        }
    }

    #[test]
    fn backups_demand_system() {
        let backups: Vec<_> = route_table()
            .into_iter()
            .filter(|r| r.path.starts_with("/api/backups"))
            .filter(|r| !r.path.ends_with("/resources"))
            .collect();
        assert_eq!(backups.len(), 6);
        for r in backups {
            assert_eq!(r.permission, Permission::System, "{} {}", r.method, r.path);
        }
    }

    #[test]
    fn diagnostics_demand_system_but_the_status_banner() {
        for path in [
            "/api/diagnostics/storage",
            "/api/diagnostics/inputs",
            "/api/diagnostics/metrics",
            "/api/diagnostics/ingestion",
            "/metrics",
        ] {
            let route = route_table().into_iter().find(|r| r.path == path).unwrap();
            assert_eq!(route.permission, Permission::System, "{path}");
        }
        let status = route_table()
            .into_iter()
            .find(|r| r.path == "/api/diagnostics/status")
            .unwrap();
        assert_eq!(status.permission, Permission::Read);
    }
}
