//! Cross-site request forgery checks for cookie-authenticated requests.
//!
//! A browser attaches the session cookie to cross-site requests, so a state-changing request
//! signed in by cookie must also prove it came from seqr's own pages: it carries the CSRF token
//! returned at sign-in (`X-Seq-CsrfToken`, as Seq's clients send it), and when the browser says
//! where it came from (`Origin`, `Sec-Fetch-Site`) that must be this origin. Requests without
//! either header (curl, seqcli) rely on the token alone. API-key requests never reach this check.

use axum::http::{HeaderMap, Method, header};
use subtle::ConstantTimeEq;

/// The header carrying the CSRF token, as Seq names it.
pub const CSRF_HEADER: &str = "x-seq-csrftoken";

/// Why a cookie-authenticated request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrfError {
    /// No `X-Seq-CsrfToken` header.
    MissingToken,
    /// The token does not match the session's.
    WrongToken,
    /// `Origin` or `Sec-Fetch-Site` names another site.
    CrossOrigin,
}

impl std::fmt::Display for CsrfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CsrfError::MissingToken => {
                "This request changes state and is signed in by cookie, so it must carry the \
                 X-Seq-CsrfToken header returned at sign-in."
            }
            CsrfError::WrongToken => "The X-Seq-CsrfToken header does not match this session.",
            CsrfError::CrossOrigin => "Cross-origin requests cannot use a seqr session.",
        })
    }
}

/// Methods that change nothing need no token.
pub fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Checks that a browser request, when it says where it came from (`Origin`, `Sec-Fetch-Site`),
/// came from `own_origin`. Requests saying nothing (curl, seqcli) pass. Used on its own for
/// sign-in, so another site cannot sign a visitor in to an account of its choosing.
pub fn check_origin(headers: &HeaderMap, own_origin: &str) -> Result<(), CsrfError> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !site.eq_ignore_ascii_case("same-origin")
    {
        return Err(CsrfError::CrossOrigin);
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let same = origin.to_str().is_ok_and(|o| {
            !own_origin.is_empty()
                && o.trim_end_matches('/')
                    .eq_ignore_ascii_case(own_origin.trim_end_matches('/'))
        });
        if !same {
            return Err(CsrfError::CrossOrigin);
        }
    }
    Ok(())
}

/// Checks a cookie-authenticated request. `session_csrf_digest` is the session's stored CSRF
/// digest ([`seqr_meta::token::session_digest`] of the token returned at sign-in); the presented
/// token's digest is compared with it in constant time. `own_origin` is this server's origin as
/// the browser sees it (`http://host:port`, from the canonical URI or the request's `Host`).
pub fn check(
    method: &Method,
    headers: &HeaderMap,
    session_csrf_digest: &[u8],
    own_origin: &str,
) -> Result<(), CsrfError> {
    if is_safe(method) {
        return Ok(());
    }
    check_origin(headers, own_origin)?;
    let presented = headers
        .get(CSRF_HEADER)
        .ok_or(CsrfError::MissingToken)?
        .to_str()
        .map_err(|_| CsrfError::WrongToken)?
        .trim();
    let digest = seqr_meta::token::session_digest(presented);
    if bool::from(digest.as_slice().ct_eq(session_csrf_digest)) && !presented.is_empty() {
        Ok(())
    } else {
        Err(CsrfError::WrongToken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const ORIGIN: &str = "http://127.0.0.1:5341";

    fn digest(token: &str) -> [u8; 32] {
        seqr_meta::token::session_digest(token)
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn safe_methods_need_nothing() {
        assert_eq!(
            check(
                &Method::GET,
                &headers(&[("origin", "https://evil.example")]),
                &digest("t"),
                ORIGIN
            ),
            Ok(())
        );
    }

    #[test]
    fn state_changes_need_the_token_and_same_origin() {
        let post = Method::POST;
        assert_eq!(
            check(&post, &headers(&[]), &digest("tok"), ORIGIN),
            Err(CsrfError::MissingToken)
        );
        assert_eq!(
            check(
                &post,
                &headers(&[(CSRF_HEADER, "nope")]),
                &digest("tok"),
                ORIGIN
            ),
            Err(CsrfError::WrongToken)
        );
        assert_eq!(
            check(
                &post,
                &headers(&[(CSRF_HEADER, "tok")]),
                &digest("tok"),
                ORIGIN
            ),
            Ok(()),
            "curl/seqcli: token alone"
        );
        assert_eq!(
            check(
                &post,
                &headers(&[
                    (CSRF_HEADER, "tok"),
                    ("origin", "http://127.0.0.1:5341"),
                    ("sec-fetch-site", "same-origin")
                ]),
                &digest("tok"),
                ORIGIN
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &post,
                &headers(&[(CSRF_HEADER, "tok"), ("origin", "https://evil.example")]),
                &digest("tok"),
                ORIGIN
            ),
            Err(CsrfError::CrossOrigin)
        );
        assert_eq!(
            check(
                &Method::DELETE,
                &headers(&[(CSRF_HEADER, "tok"), ("sec-fetch-site", "cross-site")]),
                &digest("tok"),
                ORIGIN
            ),
            Err(CsrfError::CrossOrigin)
        );
        assert_eq!(
            check(
                &Method::PUT,
                &headers(&[(CSRF_HEADER, "tok"), ("sec-fetch-site", "same-site")]),
                &digest("tok"),
                ORIGIN
            ),
            Err(CsrfError::CrossOrigin),
            "a sibling subdomain is not this origin"
        );
        assert_eq!(
            check(&post, &headers(&[(CSRF_HEADER, "")]), &digest(""), ORIGIN),
            Err(CsrfError::WrongToken)
        );
    }
}
