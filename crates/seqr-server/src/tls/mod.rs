//! Native HTTPS: rustls with the ring provider, TLS 1.2 and 1.3 only, ALPN `h2` and
//! `http/1.1` (OTLP/gRPC needs HTTP/2).
//!
//! The cipher choice is rustls' own list, which is exactly Mozilla's "intermediate" profile
//! minus the finite-field DHE suites rustls never implemented: TLS 1.3 AES-128-GCM,
//! AES-256-GCM and ChaCha20-Poly1305; TLS 1.2 ECDHE with ECDSA or RSA and AES-GCM or
//! ChaCha20-Poly1305; key exchange X25519, P-256 and P-384. There is no CBC, RC4, 3DES, SHA-1
//! MAC or static RSA to turn off.
//!
//! The certificate is served through [`certs::CertificateSlot`], so a new pair (SIGHUP, or its
//! files changing) applies to new handshakes while open connections carry on; a new pair that
//! fails to load leaves the old one serving.

mod certs;
mod self_signed;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

pub use certs::CertificateError;
pub(crate) use certs::{CertificateSlot, watch_for_changes};

/// Where the HTTPS certificate comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsCertificate {
    /// A PEM certificate chain (leaf first) and its PEM private key (PKCS#8, PKCS#1 RSA or
    /// SEC1 EC), reloaded on SIGHUP and when either file changes.
    Files { cert: PathBuf, key: PathBuf },
    /// A certificate authority and server certificate generated once into the data directory
    /// (`tls/`), for trials: clients must be told to trust `tls/self-signed-ca.pem`.
    SelfSigned,
}

/// The HTTPS settings of `seqr serve`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    pub certificate: TlsCertificate,
    /// How often the certificate files are checked for changes.
    pub poll_interval: Duration,
}

impl TlsSettings {
    /// Files, checked every two seconds.
    pub fn files(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> TlsSettings {
        TlsSettings {
            certificate: TlsCertificate::Files {
                cert: cert.into(),
                key: key.into(),
            },
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }

    /// A generated certificate for trials.
    pub fn self_signed() -> TlsSettings {
        TlsSettings {
            certificate: TlsCertificate::SelfSigned,
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }
}

const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Why HTTPS could not be set up at start-up.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// The certificate or key could not be used.
    Certificate(CertificateError),
    /// The self-signed certificate could not be generated or stored.
    SelfSigned { path: PathBuf, detail: String },
}

impl std::fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsSetupError::Certificate(e) => write!(f, "cannot serve HTTPS: {e}"),
            TlsSetupError::SelfSigned { path, detail } => write!(
                f,
                "cannot create the self-signed certificate in {}: {detail}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for TlsSetupError {}

/// HTTPS, ready to accept: the handshake configuration and the certificate in use.
pub(crate) struct Tls {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) slot: Arc<CertificateSlot>,
    /// The CA file clients must trust, when the certificate is self-signed.
    pub(crate) self_signed_ca: Option<PathBuf>,
}

/// Loads (or, for [`TlsCertificate::SelfSigned`], creates) the certificate and builds the
/// handshake configuration. `hosts` are the listen host names, written into a generated
/// certificate besides `localhost` and the loopback addresses.
pub(crate) fn setup(
    settings: &TlsSettings,
    data_dir: &Path,
    hosts: &[String],
) -> Result<Tls, TlsSetupError> {
    let (cert, key, self_signed_ca) = match &settings.certificate {
        TlsCertificate::Files { cert, key } => (cert.clone(), key.clone(), None),
        TlsCertificate::SelfSigned => {
            let files = self_signed::ensure(&data_dir.join("tls"), hosts)?;
            (files.cert, files.key, Some(files.ca))
        }
    };
    let slot =
        Arc::new(CertificateSlot::load(cert, key, provider()).map_err(TlsSetupError::Certificate)?);
    Ok(Tls {
        acceptor: TlsAcceptor::from(server_config(slot.clone())),
        slot,
        self_signed_ca,
    })
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn server_config(slot: Arc<CertificateSlot>) -> Arc<ServerConfig> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .with_no_client_auth()
        .with_cert_resolver(slot);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}
