//! The one place access is decided: every matched route passes through [`enforce`], which looks
//! up the route's declared demand, works out who the caller is, and refuses (401 when the caller
//! is unknown, 403 when known but lacking the permission) before the handler runs. A route whose
//! demand cannot be found is refused too: deny by default.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::auth::credentials;
use crate::auth::keys::{KeyVerifier, VerifiedKey};
use crate::error::ApiError;
use crate::permission::Permission;
use crate::routes::route_table;

/// Who is making a request, as the handlers see it (a request extension).
#[derive(Clone, Debug)]
pub enum Principal {
    /// Authentication is switched off: every caller may do everything.
    Unrestricted,
    /// No credentials (or, for ingestion while it is allowed anonymously, unknown ones).
    Anonymous,
    /// A verified API key.
    ApiKey(Arc<VerifiedKey>),
}

/// Authentication state shared by every request.
pub(crate) struct AuthState {
    /// When false, every caller is [`Principal::Unrestricted`].
    pub(crate) enabled: bool,
    /// Whether callers without a key hold `Ingest` (see `anonymous_ingest`).
    pub(crate) anonymous_ingest: bool,
    pub(crate) keys: KeyVerifier,
    /// Each declared path's methods and their demands, from the route table.
    demands: HashMap<&'static str, Vec<(Method, Permission)>>,
}

impl AuthState {
    pub(crate) fn new(enabled: bool, anonymous_ingest: bool, keys: KeyVerifier) -> AuthState {
        let mut demands: HashMap<&'static str, Vec<(Method, Permission)>> = HashMap::new();
        for route in route_table() {
            demands
                .entry(route.path)
                .or_default()
                .push((route.method, route.permission));
        }
        AuthState {
            enabled,
            anonymous_ingest,
            keys,
            demands,
        }
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
    let demand = matched
        .as_ref()
        .and_then(|m| auth.demands.get(m.as_str()))
        .and_then(|methods| {
            // HEAD is served by the GET route, so it carries GET's demand.
            let method = if request.method() == Method::HEAD {
                &Method::GET
            } else {
                request.method()
            };
            methods.iter().find(|(m, _)| m == method)
        })
        .map(|(_, permission)| *permission);
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
            Ok(Some(key)) => Principal::ApiKey(Arc::new(key)),
            // Seq's rule: while ingestion needs no key, an unknown key is treated as none, so
            // clients configured with a stale key keep working.
            Ok(None) if demand == Permission::Ingest && auth.anonymous_ingest => {
                Principal::Anonymous
            }
            Ok(None) => return unauthenticated("The API key is not valid."),
            Err(e) => {
                tracing::error!(error = %e, "API key lookup failed");
                return ApiError::unavailable(
                    "Credentials cannot be checked right now; retry shortly.",
                    5,
                )
                .into_response();
            }
        },
        None => Principal::Anonymous,
    };

    let allowed = match &principal {
        Principal::Unrestricted => true,
        Principal::Anonymous => demand == Permission::Ingest && auth.anonymous_ingest,
        Principal::ApiKey(key) => key.permissions.contains(demand),
    };
    if !allowed {
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
