//! A small HTTP client for the commands that talk to a running server (`seqr backup --server`):
//! one request over HTTP/1.1, plain or over rustls, authenticated with an API key.
//!
//! HTTPS trusts the system's CA bundle (`SSL_CERT_FILE`, else the usual Debian and Red Hat
//! paths) plus any `--ca-file`, so a server started with `--tls-self-signed` is reached by
//! passing its `DATA/tls/self-signed-ca.pem`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject as _};
use tokio::net::TcpStream;

/// How long connecting (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Where the system's CA bundle usually is, when `SSL_CERT_FILE` is not set.
const SYSTEM_CA_BUNDLES: [&str; 2] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

/// Why a request to the server could not be made or was refused.
#[derive(Debug)]
pub(crate) enum RemoteError {
    /// The server URL is not `http://host[:port][/prefix]` or `https://...`.
    Url(String),
    /// A CA file could not be read or holds no certificate.
    CaFile { path: PathBuf, reason: String },
    /// No connection (refused, unreachable, timed out, TLS failure).
    Connect { url: String, reason: String },
    /// The server answered with an error status; `message` is its `Error` text when it sent one.
    Status { status: u16, message: String },
    /// The connection broke while the request or answer was under way.
    Transfer(String),
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteError::Url(why) => write!(f, "the server URL {why}"),
            RemoteError::CaFile { path, reason } => {
                write!(f, "cannot use the CA file {}: {reason}", path.display())
            }
            RemoteError::Connect { url, reason } => write!(f, "cannot reach {url}: {reason}"),
            RemoteError::Status { status, message } => {
                write!(f, "the server answered {status}: {message}")
            }
            RemoteError::Transfer(why) => write!(f, "the transfer broke off: {why}"),
        }
    }
}

impl std::error::Error for RemoteError {}

/// A server's base URL, split into what the client needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServerUrl {
    https: bool,
    host: String,
    port: u16,
    /// The path prefix (`/seq`), or empty.
    prefix: String,
}

impl ServerUrl {
    pub(crate) fn parse(text: &str) -> Result<ServerUrl, RemoteError> {
        let (https, rest) = if let Some(rest) = text.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(RemoteError::Url(format!(
                "`{text}` must start with http:// or https://"
            )));
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.is_empty() || authority.contains('@') || path.contains(['?', '#']) {
            return Err(RemoteError::Url(format!(
                "`{text}` must be scheme://host[:port][/path], without credentials or a query"
            )));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => {
                let port = port
                    .parse()
                    .map_err(|_| RemoteError::Url(format!("`{text}` has a bad port")))?;
                (host, port)
            }
            _ => (authority, if https { 443 } else { 80 }),
        };
        Ok(ServerUrl {
            https,
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            prefix: path.trim_end_matches('/').to_owned(),
        })
    }

    fn shown(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}{}", self.host, self.port, self.prefix)
        } else {
            format!("{scheme}://{}:{}{}", self.host, self.port, self.prefix)
        }
    }
}

/// Who the client is and whom it trusts.
pub(crate) struct Client {
    url: ServerUrl,
    /// Sent as `X-Seq-ApiKey`; none for a server without authentication.
    api_key: Option<String>,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl Client {
    pub(crate) fn new(
        url: ServerUrl,
        api_key: Option<String>,
        ca_file: Option<&Path>,
    ) -> Result<Client, RemoteError> {
        let tls = if url.https {
            Some(tls_connector(ca_file)?)
        } else {
            None
        };
        Ok(Client { url, api_key, tls })
    }

    /// Sends `method path` with no body; answers the response if its status is 2xx.
    pub(crate) async fn send(
        &self,
        method: &str,
        path: &str,
    ) -> Result<Response<Incoming>, RemoteError> {
        let connect = |reason: String| RemoteError::Connect {
            url: self.url.shown(),
            reason,
        };
        let tcp = tokio::time::timeout(
            CONNECT_TIMEOUT,
            TcpStream::connect((self.url.host.as_str(), self.url.port)),
        )
        .await
        .map_err(|_| connect("timed out".into()))?
        .map_err(|e| connect(e.to_string()))?;
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url.prefix))
            .header(hyper::header::HOST, self.host_header())
            .header(hyper::header::CONTENT_LENGTH, "0");
        if let Some(key) = &self.api_key {
            request = request.header("X-Seq-ApiKey", key);
        }
        let request = request
            .body(Empty::<Bytes>::new())
            .map_err(|e| RemoteError::Url(format!("makes a bad request: {e}")))?;
        let response = match &self.tls {
            Some(connector) => {
                let name = ServerName::try_from(self.url.host.clone())
                    .map_err(|e| RemoteError::Url(format!("has a bad host name: {e}")))?;
                let stream = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp))
                    .await
                    .map_err(|_| connect("the TLS handshake timed out".into()))?
                    .map_err(|e| connect(format!("TLS: {e}")))?;
                exchange(TokioIo::new(stream), request).await?
            }
            None => exchange(TokioIo::new(tcp), request).await?,
        };
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        Err(RemoteError::Status {
            status,
            message: error_text(&body),
        })
    }

    fn host_header(&self) -> String {
        let default_port = if self.url.https { 443 } else { 80 };
        let host = if self.url.host.contains(':') {
            format!("[{}]", self.url.host)
        } else {
            self.url.host.clone()
        };
        if self.url.port == default_port {
            host
        } else {
            format!("{host}:{}", self.url.port)
        }
    }
}

async fn exchange<S>(
    io: TokioIo<S>,
    request: Request<Empty<Bytes>>,
) -> Result<Response<Incoming>, RemoteError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| RemoteError::Transfer(e.to_string()))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender
        .send_request(request)
        .await
        .map_err(|e| RemoteError::Transfer(e.to_string()))
}

/// The `Error` member of Seq's `{"Error":"..."}` body, else the body's first 200 characters.
fn error_text(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("Error")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect())
}

fn tls_connector(ca_file: Option<&Path>) -> Result<tokio_rustls::TlsConnector, RemoteError> {
    let mut roots = rustls::RootCertStore::empty();
    let system = std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .into_iter()
        .chain(SYSTEM_CA_BUNDLES.iter().map(PathBuf::from))
        .find(|p| p.is_file());
    if let Some(bundle) = system {
        // A system certificate rustls cannot parse is skipped, as browsers do.
        for cert in read_certificates(&bundle).unwrap_or_default() {
            let _ = roots.add(cert);
        }
    }
    if let Some(path) = ca_file {
        let certs = read_certificates(path).map_err(|reason| RemoteError::CaFile {
            path: path.to_owned(),
            reason,
        })?;
        for cert in certs {
            roots.add(cert).map_err(|e| RemoteError::CaFile {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| RemoteError::Transfer(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("it holds no PEM certificate".into());
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls() {
        let u = ServerUrl::parse("https://logs.example:8443/seq/").unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port, u.prefix.as_str()),
            (true, "logs.example", 8443, "/seq")
        );
        let u = ServerUrl::parse("http://[::1]").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 80));
        assert_eq!(u.shown(), "http://[::1]:80");
        for bad in [
            "logs.example",
            "ftp://x",
            "http://",
            "http://u:p@x",
            "http://x:y",
            "http://x/?a",
        ] {
            assert!(ServerUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_bodies() {
        assert_eq!(error_text(br#"{"Error":"nope"}"#), "nope");
        assert_eq!(error_text(b"plain"), "plain");
    }
}
