//! Security headers on every response, whatever produced it (handlers, errors, the fallback).
//!
//! The API serves only JSON today, but the UI will be served from the same origin, so the
//! policy is strict from the start: no inline script, nothing framed, no referrer leaked.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Content-Security-Policy: same-origin resources only, no inline script, never framed.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The UI page's policy: [`CONTENT_SECURITY_POLICY`] with `style-src` also allowing the
/// `<style>` elements the page's own script creates with `nonce` (the code editor injects its
/// styles so). Script stays `'self'` only.
pub(crate) fn page_policy(nonce: &str) -> String {
    CONTENT_SECURITY_POLICY.replacen(
        "style-src 'self';",
        &format!("style-src 'self' 'nonce-{nonce}';"),
        1,
    )
}

const HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_FRAME_OPTIONS, "DENY"),
];

/// Strict-Transport-Security on HTTPS answers: browsers then use HTTPS only for a year. Not
/// `includeSubDomains`: other services under the same domain are not this server's to decide.
/// Never sent over plain HTTP, where it means nothing (RFC 6797 section 7.2).
pub(crate) const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let secure = request
        .extensions()
        .get::<crate::forwarded::Transport>()
        .is_some_and(|t| t.secure);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if secure {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
    }
    for (name, value) in HEADERS {
        // A handler that set its own policy (the UI page, with a per-response style nonce)
        // keeps it; everything else gets the fixed one.
        if name == header::CONTENT_SECURITY_POLICY && headers.contains_key(&name) {
            continue;
        }
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
