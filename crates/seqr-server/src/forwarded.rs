//! Who the client is and whether it came over HTTPS, with reverse proxies in mind.
//!
//! Behind a proxy every connection comes from the proxy, so rate limits, the audit trail and
//! the ingestion log would all see one address, and a proxy terminating TLS would make every
//! request look like plain HTTP (no `Secure` cookie). `X-Forwarded-For` and
//! `X-Forwarded-Proto` fix that, but anyone can send them, so they count only when the
//! connection comes from a configured trusted proxy. The client is then the right-most
//! forwarded address that is not itself a trusted proxy: addresses further left were written by
//! the client and prove nothing.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

use crate::inputs::SourceNetwork;

/// How one request reached the server; every request carries it as an extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Transport {
    /// The client: the peer, or the forwarded address when the peer is a trusted proxy.
    pub(crate) client: SocketAddr,
    /// Whether the browser's connection is HTTPS (this listener's TLS, or a trusted proxy's).
    pub(crate) secure: bool,
}

/// The reverse proxies whose forwarding headers are believed.
#[derive(Clone, Debug, Default)]
pub(crate) struct TrustedProxies {
    networks: Vec<SourceNetwork>,
}

impl TrustedProxies {
    pub(crate) fn new(networks: Vec<SourceNetwork>) -> TrustedProxies {
        TrustedProxies { networks }
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.networks.iter().any(|n| n.contains(address))
    }

    /// The transport of a request that arrived from `peer`, over TLS when `tls`.
    pub(crate) fn transport(&self, peer: SocketAddr, tls: bool, headers: &HeaderMap) -> Transport {
        let direct = Transport {
            client: peer,
            secure: tls,
        };
        if !self.trusts(peer.ip()) {
            return direct;
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(parse_address)
            .collect();
        let client = forwarded
            .iter()
            .rev()
            .find(|a| !self.trusts(**a))
            .or(forwarded.first())
            .map_or(peer, |ip| SocketAddr::new(*ip, 0));
        // The proxy nearest to us appends last, so its word is the last value.
        let proto = headers
            .get_all("x-forwarded-proto")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .map(str::trim);
        let secure = match proto {
            Some(p) if p.eq_ignore_ascii_case("https") => true,
            Some(p) if p.eq_ignore_ascii_case("http") => false,
            _ => tls,
        };
        Transport { client, secure }
    }
}

/// Whether the request's browser connection is HTTPS (false when no listener recorded it).
pub(crate) fn is_secure(extensions: &axum::http::Extensions) -> bool {
    extensions.get::<Transport>().is_some_and(|t| t.secure)
}

/// [`is_secure`] as a handler argument.
pub(crate) struct Secure(pub(crate) bool);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Secure {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Secure, Self::Rejection> {
        Ok(Secure(is_secure(&parts.extensions)))
    }
}

/// One `X-Forwarded-For` element: an address, perhaps with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    text.parse::<SocketAddr>().ok().map(|s| s.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|n| n.parse().unwrap()).collect())
    }

    const PROXY: &str = "10.0.0.2:40000";

    #[test]
    fn untrusted_peers_cannot_claim_another_address_or_https() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
        ]);
        let t = proxies(&["10.0.0.0/8"]).transport("192.0.2.1:5000".parse().unwrap(), false, &h);
        assert_eq!(t.client, "192.0.2.1:5000".parse().unwrap());
        assert!(!t.secure);
        // No proxies configured: nothing is believed.
        let t = proxies(&[]).transport(PROXY.parse().unwrap(), false, &h);
        assert_eq!(t.client, PROXY.parse().unwrap());
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_scheme() {
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.7"),
            ("x-forwarded-proto", "https"),
        ]);
        let t = proxies(&["10.0.0.0/8"]).transport(PROXY.parse().unwrap(), false, &h);
        assert_eq!(t.client.ip(), "198.51.100.7".parse::<IpAddr>().unwrap());
        assert!(t.secure);
    }

    #[test]
    fn the_rightmost_untrusted_address_wins_over_client_written_ones() {
        // The client wrote 1.1.1.1 itself; the outer proxy (10.0.0.3) saw 198.51.100.7.
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1, 198.51.100.7"),
            ("x-forwarded-for", "10.0.0.3"),
        ]);
        let t = proxies(&["10.0.0.0/8"]).transport(PROXY.parse().unwrap(), true, &h);
        assert_eq!(t.client.ip(), "198.51.100.7".parse::<IpAddr>().unwrap());
        assert!(
            t.secure,
            "no X-Forwarded-Proto: the connection's own scheme"
        );
    }

    #[test]
    fn forwarded_addresses_may_carry_ports_and_junk_is_skipped() {
        let h = headers(&[("x-forwarded-for", "[2001:db8::1]:443, nonsense, ")]);
        let t = proxies(&["10.0.0.0/8"]).transport(PROXY.parse().unwrap(), false, &h);
        assert_eq!(t.client.ip(), "2001:db8::1".parse::<IpAddr>().unwrap());
        let h = headers(&[("x-forwarded-proto", "http")]);
        let t = proxies(&["10.0.0.0/8"]).transport(PROXY.parse().unwrap(), true, &h);
        assert!(!t.secure);
        assert_eq!(t.client, PROXY.parse().unwrap());
    }
}
