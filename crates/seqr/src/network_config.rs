//! HTTPS and the HTTP listeners beyond `--listen`: flags and their `SEQR_*` variables, and the
//! same keys at the top level of the TOML file.

use std::path::{Path, PathBuf};

use clap::Args;
use seqr_server::inputs::SourceNetwork;
use seqr_server::outbound::{OutboundPolicy, OutboundRule};
use seqr_server::tls::TlsSettings;
use seqr_server::{HttpLimits, ListenAddr, NetworkConfig};

#[derive(Debug, Default, Args)]
pub(crate) struct NetworkArgs {
    /// PEM certificate chain (the server's certificate first) for https:// listen addresses.
    /// Reloaded on SIGHUP and when the file changes; a broken new one keeps the old serving.
    #[arg(long, env = "SEQR_TLS_CERT", value_name = "FILE")]
    tls_cert: Option<PathBuf>,

    /// PEM private key (PKCS#8, RSA or EC) of --tls-cert.
    #[arg(long, env = "SEQR_TLS_KEY", value_name = "FILE")]
    tls_key: Option<PathBuf>,

    /// For trials: serve HTTPS with a certificate generated once into the data directory
    /// (tls/); clients must trust tls/self-signed-ca.pem. Not for production.
    #[arg(long, env = "SEQR_TLS_SELF_SIGNED", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    tls_self_signed: Option<bool>,

    /// Also listen here for ingestion only (the ingestion routes and /health, like Seq's port
    /// 5341 in Docker), http:// or https://; comma-separate several in the variable.
    #[arg(
        long,
        env = "SEQR_INGEST_LISTEN",
        value_delimiter = ',',
        value_name = "URL"
    )]
    ingest_listen: Vec<String>,

    /// Also serve GET /metrics (Prometheus) here WITHOUT sign-in, e.g. 127.0.0.1:9090: keep it
    /// on loopback or a management network. The main listener's /metrics needs System.
    #[arg(long, env = "SEQR_METRICS_LISTEN", value_name = "ADDR")]
    metrics_listen: Option<String>,

    /// A plain-HTTP address that answers every request with a 308 redirect to the https://
    /// listener (e.g. 0.0.0.0:80).
    #[arg(
        long,
        env = "SEQR_REDIRECT_HTTP",
        value_delimiter = ',',
        value_name = "ADDR"
    )]
    redirect_http: Vec<String>,

    /// Reverse proxies (CIDR, comma-separated) whose X-Forwarded-For and X-Forwarded-Proto
    /// headers are believed: client addresses in rate limits, audit and logs, and Secure
    /// cookies, follow them. [default: none]
    #[arg(
        long,
        env = "SEQR_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "CIDR"
    )]
    trusted_proxies: Vec<String>,

    /// Browser origins allowed to call the API cross-origin (CORS), e.g.
    /// https://app.example.com; comma-separated. Seq's name: SEQ_API_CORSALLOWEDORIGINS.
    /// [default: none]
    #[arg(
        long,
        env = "SEQR_CORS_ALLOWED_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGIN"
    )]
    cors_allowed_origins: Vec<String>,

    /// Most HTTP connections open at once over all listeners; further ones wait. [default: 4096]
    #[arg(long, env = "SEQR_MAX_CONNECTIONS", value_name = "N")]
    max_connections: Option<usize>,

    /// Where the server may connect out to, comma-separated: host, *.domain, address or CIDR,
    /// each with an optional :port. No built-in feature connects out today; every one that
    /// will (webhooks, SMTP, OIDC) obeys this list. [default: nowhere]
    #[arg(
        long,
        env = "SEQR_OUTBOUND_ALLOW",
        value_delimiter = ',',
        value_name = "RULE"
    )]
    outbound_allow: Vec<String>,
}

/// The same settings as top-level keys of the TOML file.
#[derive(Debug, Default)]
pub(crate) struct FileNetwork {
    pub(crate) tls_cert: Option<PathBuf>,
    pub(crate) tls_key: Option<PathBuf>,
    pub(crate) tls_self_signed: Option<bool>,
    pub(crate) ingest_listen: Option<Vec<String>>,
    pub(crate) redirect_http: Option<Vec<String>>,
    pub(crate) metrics_listen: Option<String>,
    pub(crate) trusted_proxies: Option<Vec<String>>,
    pub(crate) cors_allowed_origins: Option<Vec<String>>,
    pub(crate) max_connections: Option<usize>,
    pub(crate) outbound_allow: Option<Vec<String>>,
}

/// Seq's environment name for the CORS allow-list.
const SEQ_CORS_ALIAS: &str = "SEQ_API_CORSALLOWEDORIGINS";

/// Flags (and their variables) over the file; relative file paths are from the file's folder.
pub(crate) fn resolve(
    args: NetworkArgs,
    file: FileNetwork,
    file_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<NetworkConfig, String> {
    let from_file = |p: PathBuf| if p.is_relative() { file_dir.join(p) } else { p };
    let cert = args.tls_cert.or(file.tls_cert.map(from_file));
    let key = args.tls_key.or(file.tls_key.map(from_file));
    let self_signed = args
        .tls_self_signed
        .or(file.tls_self_signed)
        .unwrap_or(false);
    let tls = match (cert, key, self_signed) {
        (Some(_), _, true) | (_, Some(_), true) => {
            return Err(
                "give either --tls-cert and --tls-key or --tls-self-signed, not both".into(),
            );
        }
        (Some(cert), Some(key), false) => Some(TlsSettings::files(cert, key)),
        (Some(_), None, false) => return Err("--tls-cert needs --tls-key".into()),
        (None, Some(_), false) => return Err("--tls-key needs --tls-cert".into()),
        (None, None, true) => Some(TlsSettings::self_signed()),
        (None, None, false) => None,
    };
    let list = |flag: Vec<String>, file: Option<Vec<String>>| -> Vec<String> {
        let chosen = if flag.is_empty() {
            file.unwrap_or_default()
        } else {
            flag
        };
        chosen
            .into_iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect()
    };
    let addresses = |texts: Vec<String>| -> Result<Vec<ListenAddr>, String> {
        texts
            .iter()
            .map(|t| ListenAddr::parse(t).map_err(|e| e.to_string()))
            .collect()
    };
    let ingest_listen = addresses(list(args.ingest_listen, file.ingest_listen))?;
    let redirect_http = addresses(list(args.redirect_http, file.redirect_http))?;
    let metrics_listen = args
        .metrics_listen
        .or(file.metrics_listen)
        .map(|t| ListenAddr::parse(&t).map_err(|e| e.to_string()))
        .transpose()?;
    let trusted_proxies = list(args.trusted_proxies, file.trusted_proxies)
        .iter()
        .map(|t| {
            t.parse::<SourceNetwork>()
                .map_err(|e| format!("trusted proxy: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut cors = args.cors_allowed_origins;
    if cors.is_empty()
        && let Some(seq) = env(SEQ_CORS_ALIAS)
    {
        cors = seq.split(',').map(str::to_owned).collect();
    }
    let cors_allowed_origins = list(cors, file.cors_allowed_origins)
        .into_iter()
        .map(|o| origin(&o))
        .collect::<Result<Vec<_>, _>>()?;
    let mut limits = HttpLimits::default();
    if let Some(n) = args.max_connections.or(file.max_connections) {
        if n == 0 {
            return Err("max_connections must be at least 1".into());
        }
        limits.max_connections = n;
    }
    let outbound = OutboundPolicy::new(
        list(args.outbound_allow, file.outbound_allow)
            .iter()
            .map(|t| t.parse::<OutboundRule>().map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?,
    );
    Ok(NetworkConfig {
        tls,
        outbound,
        ingest_listen,
        redirect_http,
        metrics_listen,
        trusted_proxies,
        cors_allowed_origins,
        limits,
    })
}

/// An origin as browsers send it: `scheme://host[:port]`, no path; `*` is refused (an
/// allow-list of everything is no allow-list).
fn origin(text: &str) -> Result<String, String> {
    let text = text.trim_end_matches('/');
    let valid = (text.starts_with("http://") || text.starts_with("https://"))
        && !text["https://".len().min(text.len())..].contains('/');
    if text == "*" || !valid {
        return Err(format!(
            "CORS origin `{text}` must be scheme://host[:port], e.g. https://app.example.com (no path, no *)"
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn tls_needs_both_files_or_self_signed_alone() {
        let dir = Path::new("/etc/seqr");
        let with = |cert: Option<&str>, key: Option<&str>, self_signed: Option<bool>| {
            let args = NetworkArgs {
                tls_cert: cert.map(PathBuf::from),
                tls_key: key.map(PathBuf::from),
                tls_self_signed: self_signed,
                ..Default::default()
            };
            resolve(args, FileNetwork::default(), dir, &no_env).map(|n| n.tls)
        };
        assert_eq!(
            with(Some("c.pem"), Some("k.pem"), None).unwrap(),
            Some(TlsSettings::files("c.pem", "k.pem"))
        );
        assert_eq!(
            with(None, None, Some(true)).unwrap(),
            Some(TlsSettings::self_signed())
        );
        assert_eq!(with(None, None, None).unwrap(), None);
        assert!(
            with(Some("c.pem"), None, None)
                .unwrap_err()
                .contains("--tls-key")
        );
        assert!(
            with(None, Some("k.pem"), None)
                .unwrap_err()
                .contains("--tls-cert")
        );
        assert!(
            with(Some("c.pem"), Some("k.pem"), Some(true))
                .unwrap_err()
                .contains("not both")
        );
        // File paths are relative to the file.
        let file = FileNetwork {
            tls_cert: Some("certs/c.pem".into()),
            tls_key: Some("/abs/k.pem".into()),
            ..Default::default()
        };
        let n = resolve(NetworkArgs::default(), file, dir, &no_env).unwrap();
        assert_eq!(
            n.tls,
            Some(TlsSettings::files("/etc/seqr/certs/c.pem", "/abs/k.pem"))
        );
    }

    #[test]
    fn outbound_allows_nowhere_unless_listed_and_flags_win_over_the_file() {
        let n = resolve(
            NetworkArgs::default(),
            FileNetwork::default(),
            Path::new(""),
            &no_env,
        )
        .unwrap();
        assert!(n.outbound.is_empty());
        let file = FileNetwork {
            outbound_allow: Some(vec!["hooks.example.com:443".into(), "10.0.0.0/8".into()]),
            ..Default::default()
        };
        let n = resolve(NetworkArgs::default(), file, Path::new(""), &no_env).unwrap();
        assert_eq!(n.outbound.to_string(), "hooks.example.com:443, 10.0.0.0/8");
        let args = NetworkArgs {
            outbound_allow: vec!["smtp.example.com:587".into()],
            ..Default::default()
        };
        let file = FileNetwork {
            outbound_allow: Some(vec!["hooks.example.com".into()]),
            ..Default::default()
        };
        let n = resolve(args, file, Path::new(""), &no_env).unwrap();
        assert_eq!(n.outbound.to_string(), "smtp.example.com:587");
        let args = NetworkArgs {
            outbound_allow: vec!["0.0.0.0/0".into()],
            ..Default::default()
        };
        let e = resolve(args, FileNetwork::default(), Path::new(""), &no_env).unwrap_err();
        assert!(e.contains("no allow-list"), "{e}");
    }

    #[test]
    fn lists_proxies_and_origins_are_checked() {
        let args = NetworkArgs {
            ingest_listen: vec!["http://0.0.0.0:5341".into()],
            redirect_http: vec!["0.0.0.0:80".into()],
            trusted_proxies: vec!["10.0.0.0/8".into()],
            cors_allowed_origins: vec!["https://app.example/".into()],
            max_connections: Some(10),
            ..Default::default()
        };
        let n = resolve(args, FileNetwork::default(), Path::new(""), &no_env).unwrap();
        assert_eq!(n.ingest_listen[0].port, 5341);
        assert_eq!(n.redirect_http[0].port, 80);
        assert_eq!(n.trusted_proxies.len(), 1);
        assert_eq!(n.cors_allowed_origins, ["https://app.example"]);
        assert_eq!(n.limits.max_connections, 10);

        for bad in ["*", "app.example", "https://app.example/path"] {
            let args = NetworkArgs {
                cors_allowed_origins: vec![bad.into()],
                ..Default::default()
            };
            let e = resolve(args, FileNetwork::default(), Path::new(""), &no_env).unwrap_err();
            assert!(e.contains("CORS origin"), "{bad}: {e}");
        }
        let args = NetworkArgs {
            trusted_proxies: vec!["10.0.0.0/99".into()],
            ..Default::default()
        };
        assert!(resolve(args, FileNetwork::default(), Path::new(""), &no_env).is_err());
        // Seq's variable name for the CORS list.
        let seq = |name: &str| {
            (name == "SEQ_API_CORSALLOWEDORIGINS")
                .then(|| "https://a.example,https://b.example".to_owned())
        };
        let n = resolve(
            NetworkArgs::default(),
            FileNetwork::default(),
            Path::new(""),
            &seq,
        )
        .unwrap();
        assert_eq!(n.cors_allowed_origins.len(), 2);
    }
}
