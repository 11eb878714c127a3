//! `--tls-self-signed`: a private certificate authority and a server certificate it signed,
//! generated once into the data directory's `tls/` folder and reused on later starts, so a
//! client told to trust `self-signed-ca.pem` keeps working across restarts.
//!
//! A CA plus leaf, rather than one self-signed leaf, because some clients (rustls/webpki among
//! them) refuse a leaf certificate as its own trust anchor. The CA's private key is not kept:
//! nothing else is ever signed with it. Delete the folder to get new certificates (for new host
//! names, say).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use time::{Duration, OffsetDateTime};

use super::TlsSetupError;

/// The generated files.
pub(crate) struct SelfSignedFiles {
    /// What clients trust.
    pub(crate) ca: PathBuf,
    /// The server's chain: its certificate, then the CA's.
    pub(crate) cert: PathBuf,
    /// The server certificate's private key (owner-only).
    pub(crate) key: PathBuf,
}

/// The files in `dir`, generated when any is missing.
pub(crate) fn ensure(dir: &Path, hosts: &[String]) -> Result<SelfSignedFiles, TlsSetupError> {
    let files = SelfSignedFiles {
        ca: dir.join("self-signed-ca.pem"),
        cert: dir.join("self-signed-cert.pem"),
        key: dir.join("self-signed-key.pem"),
    };
    if files.ca.exists() && files.cert.exists() && files.key.exists() {
        return Ok(files);
    }
    let fail = |detail: String| TlsSetupError::SelfSigned {
        path: dir.to_owned(),
        detail,
    };
    let generated = generate(hosts).map_err(|e| fail(e.to_string()))?;
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    write_file(&files.key, generated.key.as_bytes(), 0o600).map_err(|e| fail(e.to_string()))?;
    let chain = format!("{}{}", generated.cert, generated.ca);
    write_file(&files.cert, chain.as_bytes(), 0o644).map_err(|e| fail(e.to_string()))?;
    write_file(&files.ca, generated.ca.as_bytes(), 0o644).map_err(|e| fail(e.to_string()))?;
    Ok(files)
}

struct Generated {
    ca: String,
    cert: String,
    key: String,
}

fn generate(hosts: &[String]) -> Result<Generated, rcgen::Error> {
    let (not_before, not_after) = validity();
    let mut ca_params = CertificateParams::default();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "seqr self-signed trial CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if let Some(name) = machine_name() {
        names.push(name);
    }
    for host in hosts {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let wildcard = host == "0.0.0.0" || host == "::";
        if !wildcard && !names.iter().any(|n| n.eq_ignore_ascii_case(host)) {
            names.push(host.to_owned());
        }
    }
    let mut params = CertificateParams::default();
    params.subject_alt_names = names
        .iter()
        .map(|name| match name.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => name.clone().try_into().map(SanType::DnsName),
        })
        .collect::<Result<_, _>>()?;
    params
        .distinguished_name
        .push(DnType::CommonName, "seqr (self-signed, for trials)");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = not_before;
    params.not_after = not_after;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok(Generated {
        ca: ca_cert.pem(),
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// From a day ago to a year from now: Apple's clients refuse server certificates valid for
/// longer than 825 days, even from a private CA.
fn validity() -> (OffsetDateTime, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    (now - Duration::days(1), now + Duration::days(365))
}

/// This machine's host name, so clients on the network can address it by name.
fn machine_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty() && name != "localhost").then(|| name.to_owned())
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
