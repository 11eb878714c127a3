//! What credentials a request presents, read exactly as Seq's clients send them.
//!
//! API keys: the `X-Seq-ApiKey` header (any case; the literal `null` that seq-logging sends
//! without a key means none), then `Authorization: Bearer TOKEN` or Basic with the token as the
//! password (log shippers that only speak standard HTTP auth), then `?apiKey=`.
//! Sessions: the `seqr-session` cookie over HTTP, `__Host-seqr-session` over HTTPS.

use axum::http::{HeaderMap, header};
use base64::Engine;

/// The session cookie's name over plain HTTP.
pub const SESSION_COOKIE: &str = "seqr-session";
/// The session cookie's name over HTTPS (`__Host-` pins it to this host, path `/`, Secure).
pub const SECURE_SESSION_COOKIE: &str = "__Host-seqr-session";

/// The API key a request presents, if any.
pub fn api_key(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    let usable = |v: &str| {
        let v = v.trim();
        (!v.is_empty() && v != "null").then(|| v.to_owned())
    };
    let from_header = headers
        .get_all("x-seq-apikey")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(usable)
        .next_back();
    from_header
        .or_else(|| authorization(headers).and_then(|t| usable(&t)))
        .or_else(|| {
            crate::query::pairs(query.unwrap_or(""))
                .filter(|(k, _)| k.eq_ignore_ascii_case("apiKey"))
                .find_map(|(_, v)| usable(&v))
        })
}

/// A token from `Authorization: Bearer TOKEN`, `ApiKey TOKEN` (Elasticsearch's scheme, the
/// only one Fluent Bit's es output can send) or `Basic base64(anything:TOKEN)`.
fn authorization(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("apikey") {
        return Some(rest.to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        // The token is the password; a shipper may put anything (or nothing) as the user name.
        return text
            .split_once(':')
            .map(|(_, password)| password.to_owned());
    }
    None
}

/// The session id in the request's cookie, if any. Over HTTPS only the `__Host-` cookie counts,
/// so a cookie planted over plain HTTP cannot stand in for it.
pub fn session(headers: &HeaderMap, https: bool) -> Option<String> {
    let wanted = if https {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    };
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == wanted && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn api_key_sources_in_order() {
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("shipper:B4sicTok")
        );
        let key = |h: &[(&'static str, &str)], q: Option<&str>| api_key(&headers(h), q);
        assert_eq!(
            key(&[("x-seq-apikey", "abc")], None).as_deref(),
            Some("abc")
        );
        assert_eq!(
            key(
                &[("X-Seq-ApiKey", " abc "), ("authorization", "Bearer b")],
                Some("apiKey=q")
            )
            .as_deref(),
            Some("abc")
        );
        assert_eq!(key(&[("X-Seq-ApiKey", "null")], None), None);
        assert_eq!(
            key(&[("authorization", "ApiKey fluentTok")], None).as_deref(),
            Some("fluentTok")
        );
        assert_eq!(
            key(&[("X-Seq-ApiKey", "null")], Some("apiKey=q1")).as_deref(),
            Some("q1")
        );
        assert_eq!(
            key(&[("authorization", "Bearer B3arer")], Some("apiKey=q")).as_deref(),
            Some("B3arer")
        );
        assert_eq!(
            key(&[("authorization", &basic)], None).as_deref(),
            Some("B4sicTok")
        );
        assert_eq!(key(&[("authorization", "Basic !!notbase64")], None), None);
        assert_eq!(key(&[("authorization", "Digest x")], None), None);
        assert_eq!(key(&[], Some("clef&apiKey=K3y")).as_deref(), Some("K3y"));
        assert_eq!(key(&[], Some("apiKey=")), None);
        assert_eq!(
            key(&[("x-seq-apikey", "first"), ("x-seq-apikey", "last")], None).as_deref(),
            Some("last")
        );
    }

    #[test]
    fn session_cookie_by_scheme() {
        let h = headers(&[("cookie", "theme=dark; seqr-session=abc123; other=1")]);
        assert_eq!(session(&h, false).as_deref(), Some("abc123"));
        assert_eq!(
            session(&h, true),
            None,
            "a plain-HTTP cookie does not count over HTTPS"
        );
        let h = headers(&[("cookie", "__Host-seqr-session=s3cure")]);
        assert_eq!(session(&h, true).as_deref(), Some("s3cure"));
        assert_eq!(session(&h, false), None);
        assert_eq!(
            session(&headers(&[("cookie", "seqr-session=")]), false),
            None
        );
        assert_eq!(
            session(&headers(&[("cookie", "xseqr-session=zzz")]), false),
            None
        );
    }
}
