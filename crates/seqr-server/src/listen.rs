//! Listen addresses as operators write them: `http://HOST:PORT`, `https://HOST:PORT` or a bare
//! `HOST:PORT` (http). Seq's `+` and `*` wildcard hosts mean every interface.

use std::fmt;

/// The scheme a listener serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTPS (TLS).
    Https,
}

/// One parsed `--listen` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenAddr {
    /// http or https.
    pub scheme: Scheme,
    /// Host name or address (IPv6 in brackets), wildcards already mapped.
    pub host: String,
    /// TCP port; 0 picks a free one.
    pub port: u16,
}

/// A listen value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddrError(String);

impl fmt::Display for ListenAddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ListenAddrError {}

impl ListenAddr {
    /// Parses `http://HOST:PORT`, `https://HOST:PORT` or `HOST:PORT`; a trailing `/` is allowed.
    pub fn parse(text: &str) -> Result<ListenAddr, ListenAddrError> {
        let err = |why: &str| {
            ListenAddrError(format!(
                "`{text}` is not a listen address ({why}); use http://HOST:PORT, https://HOST:PORT or HOST:PORT"
            ))
        };
        let trimmed = text.trim();
        let (scheme, rest) = if let Some(rest) = strip_prefix_ci(trimmed, "http://") {
            (Scheme::Http, rest)
        } else if let Some(rest) = strip_prefix_ci(trimmed, "https://") {
            (Scheme::Https, rest)
        } else if trimmed.contains("://") {
            return Err(err("only http and https are served"));
        } else {
            (Scheme::Http, trimmed)
        };
        let authority = rest.trim_end_matches('/');
        if authority.contains('/') {
            return Err(err("a path prefix is not supported"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| err("the port must be a number up to 65535"))?;
                (host, port)
            }
            _ => (authority, if scheme == Scheme::Https { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(err("the host is missing"));
        }
        let host = if host == "+" || host == "*" {
            "0.0.0.0"
        } else {
            host
        };
        Ok(ListenAddr {
            scheme,
            host: host.to_owned(),
            port,
        })
    }

    /// `host:port`, as `TcpListener::bind` takes it.
    pub fn socket_text(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// The path part of a base (canonical) URI without its trailing `/`: `/seq` for
/// `https://logs.example/seq/`, `None` at the root. Only plain path characters are accepted, so
/// the value can be written into the UI's page as it is.
pub fn base_path(uri: &str) -> Result<Option<String>, ListenAddrError> {
    let rest = strip_prefix_ci(uri, "https://")
        .or_else(|| strip_prefix_ci(uri, "http://"))
        .ok_or_else(|| {
            ListenAddrError(format!(
                "base URI `{uri}` must start with http:// or https://"
            ))
        })?;
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    let path = path.trim_end_matches('/');
    let plain = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b));
    if !plain || path.contains("//") || path.contains('?') || path.contains('#') {
        return Err(ListenAddrError(format!(
            "base URI `{uri}`: the path may hold only letters, digits and - . _ ~ between slashes"
        )));
    }
    Ok((!path.is_empty()).then(|| path.to_owned()))
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> (Scheme, String, u16) {
        let a = ListenAddr::parse(text).unwrap();
        (a.scheme, a.host, a.port)
    }

    #[test]
    fn accepts_operator_spellings() {
        assert_eq!(
            ok("127.0.0.1:5341"),
            (Scheme::Http, "127.0.0.1".into(), 5341)
        );
        assert_eq!(
            ok("http://localhost:5341/"),
            (Scheme::Http, "localhost".into(), 5341)
        );
        assert_eq!(
            ok("HTTPS://seq.example:45341"),
            (Scheme::Https, "seq.example".into(), 45341)
        );
        assert_eq!(ok("http://+:80"), (Scheme::Http, "0.0.0.0".into(), 80));
        assert_eq!(
            ok("http://[::1]:5341"),
            (Scheme::Http, "[::1]".into(), 5341)
        );
        assert_eq!(
            ok("http://localhost"),
            (Scheme::Http, "localhost".into(), 80)
        );
        assert_eq!(ok("127.0.0.1:0"), (Scheme::Http, "127.0.0.1".into(), 0));
    }

    #[test]
    fn base_paths() {
        assert_eq!(base_path("https://logs.example").unwrap(), None);
        assert_eq!(base_path("https://logs.example/").unwrap(), None);
        assert_eq!(
            base_path("https://logs.example:8443/seq/").unwrap(),
            Some("/seq".into())
        );
        assert_eq!(base_path("HTTP://x/a/b-c").unwrap(), Some("/a/b-c".into()));
        for bad in [
            "ftp://x/a",
            "https://x/a\"<script>",
            "https://x/a?b",
            "https://x/a%20b",
        ] {
            assert!(base_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_nonsense_clearly() {
        for bad in [
            "ftp://x:1",
            "http://:5341",
            "http://x:99999",
            "http://x:5341/seq",
            "",
        ] {
            let e = ListenAddr::parse(bad).unwrap_err().to_string();
            assert!(e.contains("listen address"), "{bad}: {e}");
        }
    }
}
