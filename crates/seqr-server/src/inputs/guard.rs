//! What stands between a socket and the writer: the source allow-list, the events-per-second
//! limit, and rate-limited complaints about bad input (a flood of garbage must not become a
//! flood of log lines).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::InputListener;
use super::counters::InputCounters;

/// A source network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); a bare address is a
/// single host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceNetwork {
    network: IpAddr,
    prefix: u8,
}

/// Why a source network could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceNetworkError(String);

impl fmt::Display for SourceNetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SourceNetworkError {}

impl FromStr for SourceNetwork {
    type Err = SourceNetworkError;

    fn from_str(text: &str) -> Result<SourceNetwork, SourceNetworkError> {
        let err = || {
            SourceNetworkError(format!(
                "`{text}` is not a source network; write an address or ADDRESS/PREFIX, e.g. \
                 10.0.0.0/8 or 2001:db8::/32"
            ))
        };
        let (address, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| err())?)),
            None => (text.trim(), None),
        };
        let network: IpAddr = address.parse().map_err(|_| err())?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        if prefix > bits {
            return Err(err());
        }
        Ok(SourceNetwork { network, prefix })
    }
}

impl fmt::Display for SourceNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl SourceNetwork {
    /// The prefix length (32 or 128 for a single address).
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `address` is inside; an IPv4 peer seen as IPv4-mapped IPv6 counts as IPv4.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        let (net, addr, bits) = match (self.network, address) {
            (IpAddr::V4(n), IpAddr::V4(a)) => (u32::from(n) as u128, u32::from(a) as u128, 32),
            (IpAddr::V6(n), IpAddr::V6(a)) => (u128::from(n), u128::from(a), 128),
            _ => return false,
        };
        let host_bits = bits - u32::from(self.prefix);
        let mask = if host_bits >= 128 {
            0
        } else {
            (u128::MAX << host_bits) & (u128::MAX >> (128 - bits))
        };
        net & mask == addr & mask
    }
}

/// A token bucket: `rate` events per second, bursts of up to one second's worth.
struct Bucket {
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.at = now;
    }
}

/// How often a listener may complain about bad input in the log.
const COMPLAINT_INTERVAL: Duration = Duration::from_secs(10);

/// One listener's checks.
pub(crate) struct Guard {
    allow: Vec<SourceNetwork>,
    bucket: Option<Mutex<Bucket>>,
    last_complaint: Mutex<Option<Instant>>,
    /// When a drop that is not about the message itself (rate, overload, source) was last
    /// written to the ingestion log: at most once a second, so a flood cannot evict the rest.
    last_logged_drop: Mutex<Option<Instant>>,
    pub(crate) counters: Arc<InputCounters>,
    input: crate::metrics::Input,
    log: Arc<crate::ingestion_log::IngestionLog>,
}

impl Guard {
    pub(crate) fn new(
        input: &InputListener,
        counters: Arc<InputCounters>,
        log: Arc<crate::ingestion_log::IngestionLog>,
    ) -> Guard {
        Guard {
            allow: input.allow.clone(),
            bucket: input.limits.max_events_per_second.map(|rate| {
                let rate = f64::from(rate.max(1));
                Mutex::new(Bucket {
                    rate,
                    tokens: rate,
                    at: Instant::now(),
                })
            }),
            last_complaint: Mutex::new(None),
            last_logged_drop: Mutex::new(None),
            counters,
            input: input.kind.into(),
            log,
        }
    }

    /// Whether `source` may send; a refusal is counted.
    pub(crate) fn admits(&self, source: IpAddr) -> bool {
        let admitted = self.allow.is_empty() || self.allow.iter().any(|n| n.contains(source));
        if !admitted {
            InputCounters::add(&self.counters.refused_sources, 1);
            self.log_drop(
                source,
                "refused_source",
                "the sender is outside the allow-list",
            );
            self.complain(format_args!(
                "refused a sender outside the allow-list: {source}"
            ));
        }
        admitted
    }

    /// Takes one event's token: `Ok` to go ahead, `Err(wait)` when over the limit.
    pub(crate) fn take_token(&self) -> Result<(), Duration> {
        let Some(bucket) = &self.bucket else {
            return Ok(());
        };
        let mut bucket = bucket.lock().unwrap_or_else(|e| e.into_inner());
        bucket.refill(Instant::now());
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / bucket.rate))
        }
    }

    /// Counts a message that could not be decoded and says so in the log, at most once per
    /// [`COMPLAINT_INTERVAL`].
    pub(crate) fn malformed(&self, source: IpAddr, why: &dyn fmt::Display, message: &[u8]) {
        InputCounters::add(&self.counters.malformed, 1);
        self.log(source, "malformed", &why.to_string(), message);
        self.complain(format_args!(
            "dropped a malformed message from {source}: {why}"
        ));
    }

    /// Writes a refused message to the ingestion log.
    fn log(&self, source: IpAddr, reason: &'static str, why: &str, message: &[u8]) {
        self.log.record(crate::ingestion_log::Rejected {
            client: source.to_string(),
            input: self.input.label(),
            api_key: "the input's".to_owned(),
            reason,
            message: why,
            payload: &message[..message
                .len()
                .min(crate::ingestion_log::PAYLOAD_CAPTURE_BYTES)],
        });
    }

    /// Writes a dropped message to the ingestion log, at most once a second per listener
    /// (its counter has them all).
    pub(crate) fn log_drop(&self, source: IpAddr, reason: &'static str, why: &str) {
        let now = Instant::now();
        {
            let mut last = self
                .last_logged_drop
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|at| now.duration_since(at) < Duration::from_secs(1)) {
                return;
            }
            *last = Some(now);
        }
        self.log(source, reason, why, &[]);
    }

    /// Logs `what` unless this listener complained recently.
    pub(crate) fn complain(&self, what: fmt::Arguments<'_>) {
        let now = Instant::now();
        let mut last = self
            .last_complaint
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|at| now.duration_since(at) < COMPLAINT_INTERVAL) {
            return;
        }
        *last = Some(now);
        let c = &self.counters;
        let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(
            malformed = load(&c.malformed),
            refused_sources = load(&c.refused_sources),
            "input: {what} (further complaints are held back for {}s; see api/diagnostics/inputs)",
            COMPLAINT_INTERVAL.as_secs()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> SourceNetwork {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        assert!(net("10.0.0.0/8").contains(ip("10.200.3.4")));
        assert!(!net("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(net("192.168.1.7").contains(ip("192.168.1.7")));
        assert!(!net("192.168.1.7").contains(ip("192.168.1.8")));
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(net("2001:db8::/32").contains(ip("2001:db8:1::5")));
        assert!(!net("2001:db8::/32").contains(ip("2001:db9::5")));
        assert!(net("::/0").contains(ip("::1")));
        // An IPv4 sender on a dual-stack socket.
        assert!(net("127.0.0.0/8").contains(ip("::ffff:127.0.0.1")));
        assert!(!net("10.0.0.0/8").contains(ip("2001:db8::1")));
    }

    #[test]
    fn bad_networks_are_explained() {
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "example.com",
            "10.0.0/8",
            "1.2.3.4/x",
        ] {
            let e = bad.parse::<SourceNetwork>().unwrap_err().to_string();
            assert!(e.contains("source network"), "{bad}: {e}");
        }
    }
}
