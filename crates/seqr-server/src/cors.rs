//! CORS for browser-side ingestion (Seq's `api.corsAllowedOrigins`): off by default; with an
//! allow-list, pages from those origins may call the API with an API key header.
//!
//! Credentials are never allowed (`Access-Control-Allow-Credentials` is not sent), so a
//! browser does not attach the user's session cookie to a cross-origin request: an allowed
//! origin can do only what the API key it sends permits.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

/// The origins allowed, exactly as browsers send them (`https://app.example:8443`).
pub(crate) type AllowedOrigins = Arc<Vec<String>>;

const ALLOWED_METHODS: &str = "GET, POST, PUT, DELETE";
const ALLOWED_HEADERS: &str = "Content-Type, Content-Encoding, X-Seq-ApiKey, Authorization";

pub(crate) async fn cors(
    State(origins): State<AllowedOrigins>,
    request: Request,
    next: Next,
) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| origins.iter().any(|a| a.eq_ignore_ascii_case(o)))
        .and_then(|o| HeaderValue::from_str(o).ok());
    let Some(origin) = origin else {
        let mut response = next.run(request).await;
        // The answer depends on the origin, so caches must not reuse it for an allowed one.
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("Origin"));
        return response;
    };
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        let mut answer = Response::new(Body::empty());
        *answer.status_mut() = StatusCode::NO_CONTENT;
        let h = answer.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOWED_METHODS),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        answer
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    response
}
