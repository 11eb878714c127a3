//! `--redirect-http ADDR`: a plain-HTTP listener that only sends browsers to HTTPS.
//!
//! 308 rather than 301 so a client that POSTs events to the old address repeats the POST (with
//! its body) at the new one instead of turning it into a GET. The target is the canonical URI
//! when one is configured, otherwise the request's own host on the HTTPS listener's port.

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Where redirects point.
#[derive(Clone, Debug)]
pub(crate) struct RedirectTarget {
    /// `https://host[:port][/prefix]`, without a trailing slash, when configured.
    pub(crate) canonical: Option<String>,
    /// The HTTPS listener's port (left out of the URL when 443).
    pub(crate) https_port: u16,
}

pub(crate) fn router(target: RedirectTarget) -> Router {
    Router::new().fallback(move |headers: HeaderMap, uri: Uri| {
        let target = target.clone();
        async move { redirect(&target, &headers, &uri) }
    })
}

fn redirect(target: &RedirectTarget, headers: &HeaderMap, uri: &Uri) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let base = match &target.canonical {
        Some(canonical) => canonical.clone(),
        None => {
            let Some(host) = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .and_then(host_name)
            else {
                return ApiError::bad_request(
                    "This address serves only redirects to HTTPS, and the request has no Host header to redirect to.",
                )
                .into_response();
            };
            if target.https_port == 443 {
                format!("https://{host}")
            } else {
                format!("https://{host}:{}", target.https_port)
            }
        }
    };
    let location = format!("{base}{path}");
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, location)],
        "",
    )
        .into_response()
}

/// The host part of a `Host` header value, without its port; `None` when it is not a plain
/// host name or address (so nothing odd is echoed into `Location`).
fn host_name(host: &str) -> Option<&str> {
    let name = if host.starts_with('[') {
        &host[..=host.find(']')?]
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b));
    (plain && !name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::host_name;

    #[test]
    fn host_names_lose_their_port_and_odd_values_are_refused() {
        assert_eq!(host_name("logs.example:80"), Some("logs.example"));
        assert_eq!(host_name("logs.example"), Some("logs.example"));
        assert_eq!(host_name("[::1]:8080"), Some("[::1]"));
        assert_eq!(host_name("evil.example/path"), None);
        assert_eq!(host_name("a@b"), None);
        assert_eq!(host_name(""), None);
    }
}
