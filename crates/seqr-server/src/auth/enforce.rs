//! The one place access is decided: every matched route passes through [`enforce`], which looks
//! up the route's declared demand, works out who the caller is, and refuses (401 when the caller
//! is unknown, 403 when known but lacking the permission) before the handler runs. A route whose
//! demand cannot be found is refused too: deny by default.
//!
//! Callers are API keys (always preferred when presented) or signed-in users by session cookie.
//! Ingestion routes never look at cookies, so no browser can be made to write events across
//! origins; every other state-changing request signed in by cookie must pass the CSRF check.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use seqr_meta::audit::{self, AuditOutcome};
use seqr_meta::{DbError, MetaDb, sessions, token, users};

use crate::AppState;
use crate::auth::keys::{KeyVerifier, VerifiedKey};
use crate::auth::{credentials, csrf};
use crate::error::ApiError;
use crate::permission::{Permission, PermissionSet};
use crate::routes::route_table;

/// A session ends after this long without a request.
pub(crate) const SESSION_IDLE_TIMEOUT_SECS: i64 = 12 * 60 * 60;
/// A session ends this long after sign-in however active it is.
pub(crate) const SESSION_ABSOLUTE_LIFETIME_SECS: i64 = 7 * 24 * 60 * 60;
/// Activity is recorded at most this often per session (each record is a database write).
const SESSION_TOUCH_INTERVAL_SECS: i64 = 60;

/// Who is making a request, as the handlers see it (a request extension).
#[derive(Clone, Debug)]
pub enum Principal {
    /// Authentication is switched off: every caller may do everything.
    Unrestricted,
    /// No credentials (or, for ingestion while it is allowed anonymously, unknown ones).
    Anonymous,
    /// A verified API key.
    ApiKey(Arc<VerifiedKey>),
    /// A user signed in by session cookie.
    User {
        /// The user's `Id`.
        id: String,
        /// The user's effective permissions (from its roles, read at this request).
        permissions: PermissionSet,
        /// Digest of the session's CSRF token.
        csrf_digest: Vec<u8>,
        /// The user's view filter, AND-ed into everything the user reads.
        view_filter: Option<String>,
    },
}

impl Principal {
    /// The id recorded in the audit log (`None` for anonymous callers).
    pub(crate) fn audit_id(&self) -> Option<&str> {
        match self {
            Principal::Unrestricted | Principal::Anonymous => None,
            Principal::ApiKey(key) => Some(&key.id),
            Principal::User { id, .. } => Some(id),
        }
    }
}

/// A live session and its user.
pub(crate) struct SignedIn {
    pub(crate) session: sessions::Session,
    pub(crate) user: users::UserEntity,
}

/// The user signed in by the request's session cookie, if any (an unknown, expired or revoked
/// session counts as none). Records the activity, at most once a minute.
pub(crate) fn signed_in(
    db: &MetaDb,
    headers: &HeaderMap,
    secure: bool,
    now: i64,
) -> Result<Option<SignedIn>, DbError> {
    let Some(id) = credentials::session(headers, secure) else {
        return Ok(None);
    };
    let digest = token::session_digest(&id);
    let Some(session) = sessions::lookup(db, &digest, now, SESSION_IDLE_TIMEOUT_SECS)? else {
        return Ok(None);
    };
    let Some(user) = users::get(db, &session.user_id)? else {
        return Ok(None);
    };
    if now.saturating_sub(session.last_seen_at) >= SESSION_TOUCH_INTERVAL_SECS {
        sessions::touch(db, &digest, now)?;
    }
    Ok(Some(SignedIn { session, user }))
}

/// This server's origin as a browser addressing it by the request's `Host` sees it (`https://`
/// when the browser's connection is secure, see [`crate::forwarded::Transport`]).
pub(crate) fn own_origin(headers: &HeaderMap, secure: bool) -> String {
    let scheme = if secure { "https" } else { "http" };
    match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        Some(host) if !host.is_empty() => format!("{scheme}://{host}"),
        _ => String::new(),
    }
}

/// The client's address, when the listener records it.
pub(crate) fn client_address(request: &Request) -> Option<SocketAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

/// The client's address as a handler argument (`None` when the listener does not record it).
pub(crate) struct ClientAddress(pub(crate) Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<ClientAddress, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

/// Unix seconds now.
pub(crate) fn unix_now() -> i64 {
    unix_now_ms() / 1000
}

/// Unix milliseconds now.
pub(crate) fn unix_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Appends an audit record; a failure to record is logged, never shown to the caller.
pub(crate) fn record(
    db: &MetaDb,
    principal: Option<&str>,
    client: Option<SocketAddr>,
    action: &str,
    target: Option<&str>,
    outcome: AuditOutcome,
    detail: serde_json::Value,
) {
    let address = client.map(|a| a.ip().to_string());
    let appended = audit::append(
        db,
        &audit::NewAuditRecord {
            at_ms: unix_now_ms(),
            principal,
            client_address: address.as_deref(),
            action,
            target,
            outcome,
            detail: &detail,
        },
    );
    if let Err(e) = appended {
        tracing::error!(error = %e, action, "cannot append to the audit log");
    }
}

/// Authentication state shared by every request.
pub(crate) struct AuthState {
    /// When false, every caller is [`Principal::Unrestricted`].
    pub(crate) enabled: bool,
    pub(crate) keys: KeyVerifier,
    /// Each declared path's methods and their demands, from the route table.
    demands: HashMap<&'static str, Vec<(Method, Permission)>>,
}

impl AuthState {
    pub(crate) fn new(enabled: bool, keys: KeyVerifier) -> AuthState {
        let mut demands: HashMap<&'static str, Vec<(Method, Permission)>> = HashMap::new();
        for route in route_table() {
            demands
                .entry(route.path)
                .or_default()
                .push((route.method, route.permission));
        }
        AuthState {
            enabled,
            keys,
            demands,
        }
    }
}

impl AuthState {
    /// The permission the route matched as `path` demands of `method` (HEAD carries GET's).
    pub(crate) fn demand(&self, path: &str, method: &Method) -> Option<Permission> {
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.demands
            .get(path)?
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, permission)| *permission)
    }
}

fn unauthenticated(message: &str) -> Response {
    let mut response = ApiError::new(StatusCode::UNAUTHORIZED, message).into_response();
    response.headers_mut().insert(
        axum::http::header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer realm=\"seqr\""),
    );
    response
}

fn unavailable(what: &str, e: &DbError) -> Response {
    tracing::error!(error = %e, "{what} failed");
    ApiError::unavailable("Credentials cannot be checked right now; retry shortly.", 5)
        .into_response()
}

fn forbidden(demand: Permission) -> Response {
    ApiError::new(
        StatusCode::FORBIDDEN,
        format!(
            "This requires the {demand} permission, which the presented credentials do not hold."
        ),
    )
    .into_response()
}

/// The route-layer middleware enforcing each route's declared demand.
pub(crate) async fn enforce(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    mut request: Request,
    next: Next,
) -> Response {
    let auth = &state.auth;
    let anonymous_ingest = state.runtime.anonymous_ingest();
    let demand = matched
        .as_ref()
        .and_then(|m| auth.demand(m.as_str(), request.method()));
    let Some(demand) = demand else {
        tracing::error!(path = ?matched.map(|m| m.as_str().to_owned()), "route without a declared demand refused");
        return ApiError::new(StatusCode::FORBIDDEN, "This route declares no permission.")
            .into_response();
    };
    if demand == Permission::Public {
        return next.run(request).await;
    }
    if !auth.enabled {
        request.extensions_mut().insert(Principal::Unrestricted);
        return next.run(request).await;
    }

    let presented = credentials::api_key(request.headers(), request.uri().query());
    let principal = match presented {
        Some(token) => match auth.keys.verify(&token, Instant::now()) {
            Ok(Some(key)) => Principal::ApiKey(key),
            // Seq's rule: while ingestion needs no key, an unknown key is treated as none, so
            // clients configured with a stale key keep working.
            Ok(None) if demand == Permission::Ingest && anonymous_ingest => Principal::Anonymous,
            Ok(None) => return unauthenticated("The API key is not valid."),
            Err(e) => return unavailable("API key lookup", &e),
        },
        // Ingestion authenticates by API key only: a cookie never writes events.
        None if demand == Permission::Ingest => Principal::Anonymous,
        None => match signed_in(
            &state.meta,
            request.headers(),
            crate::forwarded::is_secure(request.extensions()),
            unix_now(),
        ) {
            Ok(Some(SignedIn { session, user })) => Principal::User {
                permissions: user.permissions(),
                id: user.id,
                csrf_digest: session.csrf_digest,
                view_filter: user.view_filter,
            },
            Ok(None) => Principal::Anonymous,
            Err(e) => return unavailable("Session lookup", &e),
        },
    };

    if let Principal::User {
        id, csrf_digest, ..
    } = &principal
    {
        let headers = request.headers();
        let origin = own_origin(headers, crate::forwarded::is_secure(request.extensions()));
        if let Err(refused) = csrf::check(request.method(), headers, csrf_digest, &origin) {
            record(
                &state.meta,
                Some(id),
                client_address(&request),
                "access.denied",
                Some(request.uri().path()),
                AuditOutcome::Denied,
                serde_json::json!({ "Method": request.method().as_str(), "Reason": "csrf", "Detail": format!("{refused:?}") }),
            );
            return ApiError::new(StatusCode::FORBIDDEN, refused.to_string()).into_response();
        }
    }

    let allowed = match &principal {
        Principal::Unrestricted => true,
        Principal::Anonymous => demand == Permission::Ingest && anonymous_ingest,
        Principal::ApiKey(key) => key.permissions.contains(demand),
        Principal::User { permissions, .. } => permissions.contains(demand),
    };
    if !allowed {
        if let Some(id) = principal.audit_id() {
            record(
                &state.meta,
                Some(id),
                client_address(&request),
                "access.denied",
                Some(request.uri().path()),
                AuditOutcome::Denied,
                serde_json::json!({ "Method": request.method().as_str(), "Demand": demand.name() }),
            );
        }
        return match principal {
            Principal::Anonymous => unauthenticated(
                "Authentication is required: present an API key (X-Seq-ApiKey header) or sign in.",
            ),
            _ => forbidden(demand),
        };
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}
