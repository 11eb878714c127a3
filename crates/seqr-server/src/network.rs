//! The network side of `seqr serve` beyond `--listen`: HTTPS, the extra listeners, reverse
//! proxies, CORS and connection limits. Everything is off or conservative by default.

use crate::forwarded::TrustedProxies;
use crate::http_serve::HttpLimits;
use crate::inputs::SourceNetwork;
use crate::listen::ListenAddr;
use crate::outbound::OutboundPolicy;
use crate::tls::TlsSettings;

/// Listeners, TLS and HTTP limits.
#[derive(Clone, Debug, Default)]
pub struct NetworkConfig {
    /// The certificate for `https://` listen addresses (required when there is one).
    pub tls: Option<TlsSettings>,
    /// Listeners serving only the ingestion routes and `/health` (Seq's Docker port 5341).
    pub ingest_listen: Vec<ListenAddr>,
    /// A listener serving only `GET /metrics`, without authentication: keep it on loopback or
    /// a management network.
    pub metrics_listen: Option<ListenAddr>,
    /// Plain-HTTP listeners that answer everything with a 308 to the HTTPS listener.
    pub redirect_http: Vec<ListenAddr>,
    /// Reverse proxies whose `X-Forwarded-For`/`-Proto` are believed.
    pub trusted_proxies: Vec<SourceNetwork>,
    /// Origins allowed to call the API from a browser (Seq's `api.corsAllowedOrigins`).
    pub cors_allowed_origins: Vec<String>,
    /// Connection and request limits.
    pub limits: HttpLimits,
    /// Where the server may connect out to (nowhere by default).
    pub outbound: OutboundPolicy,
}

impl NetworkConfig {
    pub(crate) fn proxies(&self) -> TrustedProxies {
        TrustedProxies::new(self.trusted_proxies.clone())
    }
}
