//! The certificate in use and its reloading.
//!
//! Handshakes ask the slot for the current pair; a reload replaces it under a short write lock,
//! so connections already open keep the pair they started with and nothing is dropped. A pair
//! that fails to load (unreadable, not PEM, key not matching the certificate) is logged and the
//! old one keeps serving; a renewal tool that writes the certificate before the key is caught
//! between the two once, then loads cleanly when the key lands.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Why a certificate pair could not be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum CertificateError {
    /// A file could not be read.
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The certificate file holds no PEM `CERTIFICATE` block, or a damaged one.
    NoCertificate { path: PathBuf, detail: String },
    /// The key file holds no usable PEM private key.
    NoKey { path: PathBuf, detail: String },
    /// The key is of a kind rustls cannot sign with, or does not belong to the certificate.
    Unusable { detail: String },
}

impl std::fmt::Display for CertificateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertificateError::Read { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            CertificateError::NoCertificate { path, detail } => write!(
                f,
                "{} holds no usable PEM certificate ({detail}); give the chain as PEM, the server's certificate first",
                path.display()
            ),
            CertificateError::NoKey { path, detail } => write!(
                f,
                "{} holds no usable PEM private key ({detail}); PKCS#8, RSA (PKCS#1) and EC (SEC1) keys are read",
                path.display()
            ),
            CertificateError::Unusable { detail } => {
                write!(
                    f,
                    "the certificate and key cannot be used together: {detail}"
                )
            }
        }
    }
}

impl std::error::Error for CertificateError {}

/// What identifies a file's content cheaply: a renewal changes at least one of these.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fingerprint {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn fingerprint(path: &Path) -> Option<Fingerprint> {
    use std::os::unix::fs::MetadataExt as _;
    // `metadata` follows symbolic links, so a swapped link target (certbot's `live/`) counts.
    let meta = std::fs::metadata(path).ok()?;
    Some(Fingerprint {
        modified: meta.modified().ok(),
        len: meta.len(),
        inode: meta.ino(),
    })
}

struct Current {
    key: Arc<CertifiedKey>,
    /// The files as they were when last tried (loaded or not), so a bad pair is reported once.
    seen: (Option<Fingerprint>, Option<Fingerprint>),
}

/// The certificate pair handshakes use; swappable while serving.
pub(crate) struct CertificateSlot {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Current>,
}

impl std::fmt::Debug for CertificateSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateSlot")
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .finish_non_exhaustive()
    }
}

/// What a reload did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reloaded {
    /// The new pair serves from now on.
    Replaced,
    /// The files have not changed since the last attempt.
    Unchanged,
    /// The new pair failed; the old one keeps serving.
    Kept,
}

impl CertificateSlot {
    /// Loads the pair; start-up fails on an error.
    pub(crate) fn load(
        cert_path: PathBuf,
        key_path: PathBuf,
        provider: Arc<CryptoProvider>,
    ) -> Result<CertificateSlot, CertificateError> {
        let seen = (fingerprint(&cert_path), fingerprint(&key_path));
        let key = load_pair(&cert_path, &key_path, &provider)?;
        Ok(CertificateSlot {
            cert_path,
            key_path,
            provider,
            current: RwLock::new(Current { key, seen }),
        })
    }

    /// Loads the files again if they changed since the last attempt (or always, when `force`),
    /// logging the outcome.
    pub(crate) fn reload(&self, force: bool) -> Reloaded {
        let seen = (fingerprint(&self.cert_path), fingerprint(&self.key_path));
        {
            let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
            if !force && current.seen == seen {
                return Reloaded::Unchanged;
            }
        }
        let outcome = load_pair(&self.cert_path, &self.key_path, &self.provider);
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        current.seen = seen;
        match outcome {
            Ok(key) => {
                current.key = key;
                tracing::info!(
                    cert = %self.cert_path.display(),
                    "TLS certificate reloaded; new connections use it"
                );
                Reloaded::Replaced
            }
            Err(e) => {
                tracing::error!(
                    error = %e,
                    "the new TLS certificate could not be loaded; still serving the previous one"
                );
                Reloaded::Kept
            }
        }
    }
}

impl ResolvesServerCert for CertificateSlot {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        Some(current.key.clone())
    }
}

fn load_pair(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, CertificateError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| CertificateError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let cert_pem = read(cert_path)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CertificateError::NoCertificate {
            path: cert_path.to_owned(),
            detail: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(CertificateError::NoCertificate {
            path: cert_path.to_owned(),
            detail: "no CERTIFICATE block".into(),
        });
    }
    let key_pem = read(key_path)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| CertificateError::NoKey {
        path: key_path.to_owned(),
        detail: e.to_string(),
    })?;
    CertifiedKey::from_der(chain, key, provider)
        .map(Arc::new)
        .map_err(|e| CertificateError::Unusable {
            detail: e.to_string(),
        })
}

/// Reloads `slot` on SIGHUP (always, when `hangups` is given) and when its files change
/// (checked every `poll_interval`), until `stop` fires.
pub(crate) async fn watch_for_changes(
    slot: Arc<CertificateSlot>,
    poll_interval: Duration,
    mut hangups: Option<tokio::signal::unix::Signal>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(poll_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let forced = tokio::select! {
            () = crate::http_serve::stopped(&mut stop) => return,
            _ = tick.tick() => false,
            Some(()) = async { match hangups.as_mut() { Some(h) => h.recv().await, None => None } } => {
                tracing::info!("SIGHUP: reloading the TLS certificate");
                true
            }
        };
        let slot = slot.clone();
        // Reading and parsing files is blocking work; keep it off the async threads.
        let _ = tokio::task::spawn_blocking(move || slot.reload(forced)).await;
    }
}
