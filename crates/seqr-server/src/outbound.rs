//! Where the server may connect out to. A default install connects nowhere: that is the
//! air-gap promise, proved by `crates/seqr/tests/it/airgap.rs`. A feature that must reach
//! another host (a webhook, an SMTP relay, OIDC discovery) connects through
//! [`OutboundPolicy::connect`], which refuses every destination the administrator has not listed
//! in `--outbound-allow`, and refuses it *before* any DNS look-up, since the look-up itself
//! leaves the host. `crates/seqr/tests/it/outbound_scan.rs` checks that no other server code
//! opens an outbound socket, so the allow-list cannot be bypassed by accident.
//!
//! Rules: `host`, `*.domain` (any name under it, not the domain itself), an address, or a
//! network in CIDR notation, each optionally with `:port` (`[v6]:port` for IPv6). A name rule
//! matches names only and trusts their DNS; an address rule matches address literals only.
//! Allow-everything rules (`*`, `*.com`, `0.0.0.0/0`) are refused: that is no allow-list.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpStream;

use crate::inputs::SourceNetwork;

/// The allowed destinations; empty (nothing allowed) by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    rules: Vec<OutboundRule>,
}

/// One allowed destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundRule {
    target: Target,
    /// Any port when `None`.
    port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    /// A host name, lower case, without a trailing dot.
    Host(String),
    /// `*.example.com`, kept as `.example.com`.
    Under(String),
    Network(SourceNetwork),
}

/// Why an `--outbound-allow` rule could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError(String);

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RuleError {}

/// Why an outbound connection was not made.
#[derive(Debug)]
pub enum OutboundError {
    /// The destination is not in `--outbound-allow`; nothing left the host.
    NotAllowed { host: String, port: u16 },
    /// The name did not resolve.
    Resolve { host: String, error: std::io::Error },
    /// No address of the destination accepted the connection in time.
    Connect {
        host: String,
        port: u16,
        error: std::io::Error,
    },
}

impl fmt::Display for OutboundError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutboundError::NotAllowed { host, port } => write!(
                f,
                "connecting to {host}:{port} is not allowed: outbound connections go only to \
                 destinations listed in --outbound-allow (SEQR_OUTBOUND_ALLOW)"
            ),
            OutboundError::Resolve { host, error } => {
                write!(f, "cannot resolve {host}: {error}")
            }
            OutboundError::Connect { host, port, error } => {
                write!(f, "cannot connect to {host}:{port}: {error}")
            }
        }
    }
}

impl std::error::Error for OutboundError {}

impl std::str::FromStr for OutboundRule {
    type Err = RuleError;

    fn from_str(text: &str) -> Result<OutboundRule, RuleError> {
        let text = text.trim();
        let err = |why: &str| {
            RuleError(format!(
                "outbound rule `{text}`: {why}; write a host (logs.example.com), *.domain, an \
                 address or CIDR network, each with an optional :port ([v6]:port for IPv6)"
            ))
        };
        if text == "*" || text.starts_with("*:") {
            return Err(err("a rule for everything is no allow-list"));
        }
        let port = |p: &str| p.parse::<u16>().ok().filter(|&p| p > 0);
        let (target, port) = if let Some(rest) = text.strip_prefix('[') {
            let (inside, after) = rest.split_once(']').ok_or_else(|| err("no closing ]"))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .and_then(port)
                        .ok_or_else(|| err("not a port"))?,
                ),
            };
            (
                network(inside).ok_or_else(|| err("not an address or network inside [ ]"))?,
                port,
            )
        } else if let Some(net) = network(text) {
            // A bare address or network, IPv6 included (whose colons are not a port).
            (net, None)
        } else {
            let (target, port) = match text.rsplit_once(':') {
                Some((t, p)) => (t, Some(port(p).ok_or_else(|| err("not a port"))?)),
                None => (text, None),
            };
            let target = match network(target) {
                Some(net) => net,
                None => host(target).ok_or_else(|| err("not a host name"))?,
            };
            (target, port)
        };
        match &target {
            Target::Network(net) if net.prefix() == 0 => {
                return Err(err("a rule for every address is no allow-list"));
            }
            Target::Under(domain) if !domain[1..].contains('.') => {
                return Err(err("a wildcard needs a domain of two labels or more"));
            }
            _ => {}
        }
        Ok(OutboundRule { target, port })
    }
}

fn network(text: &str) -> Option<Target> {
    let first = text.chars().next()?;
    if !(first.is_ascii_hexdigit() || first == ':') {
        return None;
    }
    text.parse::<SourceNetwork>().ok().map(Target::Network)
}

/// `logs.example.com` or `*.example.com`, as letters, digits, `-` and `_` in dot-separated
/// labels.
fn host(text: &str) -> Option<Target> {
    let name = text.trim_end_matches('.').to_ascii_lowercase();
    let (wildcard, name) = match name.strip_prefix("*.") {
        Some(rest) => (true, rest.to_owned()),
        None => (false, name),
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if name.len() > 253 || !name.split('.').all(label_ok) {
        return None;
    }
    Some(if wildcard {
        Target::Under(format!(".{name}"))
    } else {
        Target::Host(name)
    })
}

impl fmt::Display for OutboundRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.target, self.port) {
            (Target::Host(h), None) => write!(f, "{h}"),
            (Target::Host(h), Some(p)) => write!(f, "{h}:{p}"),
            (Target::Under(d), None) => write!(f, "*{d}"),
            (Target::Under(d), Some(p)) => write!(f, "*{d}:{p}"),
            (Target::Network(n), None) => write!(f, "{n}"),
            (Target::Network(n), Some(p)) => write!(f, "[{n}]:{p}"),
        }
    }
}

impl OutboundRule {
    fn allows(&self, host: &Destination, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        match (&self.target, host) {
            (Target::Host(h), Destination::Name(n)) => h == n,
            (Target::Under(d), Destination::Name(n)) => n.ends_with(d.as_str()),
            (Target::Network(net), Destination::Address(a)) => net.contains(*a),
            _ => false,
        }
    }
}

/// A destination as it is checked: a normalised name, or an address literal.
enum Destination {
    Name(String),
    Address(IpAddr),
}

impl Destination {
    fn of(host: &str) -> Destination {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        match bare.parse::<IpAddr>() {
            Ok(a) => Destination::Address(a),
            Err(_) => Destination::Name(bare.trim_end_matches('.').to_ascii_lowercase()),
        }
    }
}

impl OutboundPolicy {
    pub fn new(rules: Vec<OutboundRule>) -> OutboundPolicy {
        OutboundPolicy { rules }
    }

    /// Whether nothing is allowed (the default).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Refuses `host:port` unless a rule allows it. `host` is a name or an address literal
    /// (IPv6 with or without brackets).
    pub fn check(&self, host: &str, port: u16) -> Result<(), OutboundError> {
        self.check_destination(&Destination::of(host), host, port)
    }

    fn check_destination(
        &self,
        destination: &Destination,
        host: &str,
        port: u16,
    ) -> Result<(), OutboundError> {
        if self.rules.iter().any(|r| r.allows(destination, port)) {
            Ok(())
        } else {
            Err(OutboundError::NotAllowed {
                host: host.to_owned(),
                port,
            })
        }
    }

    /// A TCP connection to `host:port` if the policy allows it: checked first, then resolved
    /// (an address literal needs no look-up), then each address tried within `timeout`.
    pub async fn connect(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<TcpStream, OutboundError> {
        let destination = Destination::of(host);
        self.check_destination(&destination, host, port)?;
        let addresses: Vec<SocketAddr> = match destination {
            Destination::Address(a) => vec![SocketAddr::new(a, port)],
            Destination::Name(name) => tokio::net::lookup_host((name.as_str(), port))
                .await
                .map_err(|error| OutboundError::Resolve {
                    host: host.to_owned(),
                    error,
                })?
                .collect(),
        };
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
        for address in addresses {
            match tokio::time::timeout(timeout, TcpStream::connect(address)).await {
                Ok(Ok(stream)) => return Ok(stream),
                Ok(Err(e)) => last = e,
                Err(_) => {
                    last = std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no answer from {address} within {timeout:?}"),
                    );
                }
            }
        }
        Err(OutboundError::Connect {
            host: host.to_owned(),
            port,
            error: last,
        })
    }
}

impl fmt::Display for OutboundPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rules.is_empty() {
            return f.write_str("nowhere");
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{rule}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(rules: &[&str]) -> OutboundPolicy {
        OutboundPolicy::new(rules.iter().map(|r| r.parse().unwrap()).collect())
    }

    #[test]
    fn nothing_is_allowed_by_default() {
        let p = OutboundPolicy::default();
        for (host, port) in [("example.com", 443), ("127.0.0.1", 25), ("::1", 80)] {
            assert!(p.check(host, port).is_err(), "{host}:{port}");
        }
        assert_eq!(p.to_string(), "nowhere");
    }

    #[test]
    fn names_wildcards_addresses_networks_and_ports() {
        let p = policy(&[
            "Hooks.Example.com",
            "*.corp.example:587",
            "10.1.0.0/16",
            "192.0.2.7:25",
            "[2001:db8::/32]:443",
            "2001:db8:1::5",
        ]);
        let allowed = [
            ("hooks.example.com", 443),
            ("HOOKS.example.com.", 80),
            ("smtp.corp.example", 587),
            ("a.b.corp.example", 587),
            ("10.1.200.3", 9000),
            ("192.0.2.7", 25),
            ("2001:db8:ffff::1", 443),
            ("[2001:db8:ffff::1]", 443),
            ("2001:db8:1::5", 22),
        ];
        for (host, port) in allowed {
            assert!(
                p.check(host, port).is_ok(),
                "{host}:{port} should be allowed"
            );
        }
        let refused = [
            ("example.com", 443),
            ("evil-hooks.example.com", 443),
            ("hooks.example.com.evil", 443),
            ("corp.example", 587),
            ("smtp.corp.example", 25),
            ("10.2.0.1", 9000),
            ("192.0.2.7", 26),
            ("2001:db9::1", 443),
            ("2001:db8:ffff::1", 80),
            // A name is never matched by an address rule: resolving it would leave the host.
            ("localhost", 25),
        ];
        for (host, port) in refused {
            assert!(
                p.check(host, port).is_err(),
                "{host}:{port} should be refused"
            );
        }
        assert_eq!(
            p.to_string(),
            "hooks.example.com, *.corp.example:587, 10.1.0.0/16, [192.0.2.7/32]:25, \
             [2001:db8::/32]:443, 2001:db8:1::5/128"
        );
    }

    #[test]
    fn rules_that_allow_everything_or_say_nothing_are_refused() {
        for bad in [
            "",
            "*",
            "*.com",
            "0.0.0.0/0",
            "::/0",
            "[::]/0",
            "host:0",
            "host:99999",
            "host:",
            "bad_name!.com",
            "-x.example.com",
            "[2001:db8::1",
            "[2001:db8::1]443",
            "https://hooks.example.com",
            "hooks.example.com/path",
        ] {
            let e = bad.parse::<OutboundRule>().expect_err(bad);
            assert!(e.to_string().contains("outbound rule"), "{e}");
        }
        for everything in ["*", "*:443", "*.com", "0.0.0.0/0", "::/0"] {
            let e = everything.parse::<OutboundRule>().unwrap_err().to_string();
            assert!(
                e.contains("no allow-list") || e.contains("two labels"),
                "{everything}: {e}"
            );
        }
    }

    #[tokio::test]
    async fn connect_refuses_before_looking_up_and_reaches_what_is_allowed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let refused = OutboundPolicy::default()
            .connect("127.0.0.1", port, Duration::from_secs(5))
            .await;
        assert!(
            matches!(refused, Err(OutboundError::NotAllowed { .. })),
            "{refused:?}"
        );
        // A name that cannot resolve is refused as not allowed, not as a failed look-up.
        let refused = OutboundPolicy::default()
            .connect("no-such-host.invalid", 443, Duration::from_secs(5))
            .await;
        assert!(matches!(refused, Err(OutboundError::NotAllowed { .. })));

        let allowed = policy(&[&format!("127.0.0.1:{port}")]);
        let stream = allowed
            .connect("127.0.0.1", port, Duration::from_secs(5))
            .await
            .unwrap();
        let (accepted, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, stream.local_addr().unwrap());
        drop(accepted);
    }
}
