//! The GELF and syslog listeners' settings: shorthand flags (`--gelf-udp ADDR`, with shared
//! limits and allow-list) and `[[inputs]]` tables in the TOML file, one per listener with its
//! own limits.

use clap::Args;
use seqr_server::inputs::{InputKind, InputLimits, InputListener, SourceNetwork};
use serde::Deserialize;

#[derive(Debug, Default, Args)]
pub(crate) struct InputArgs {
    /// Accept GELF over UDP on HOST:PORT (chunked, gzip or zlib), e.g. 0.0.0.0:12201. Off by
    /// default; comma-separate several in the variable.
    #[arg(
        long,
        env = "SEQR_GELF_UDP",
        value_delimiter = ',',
        value_name = "ADDR"
    )]
    gelf_udp: Vec<String>,

    /// Accept GELF over TCP (NUL-terminated frames) on HOST:PORT. Off by default.
    #[arg(
        long,
        env = "SEQR_GELF_TCP",
        value_delimiter = ',',
        value_name = "ADDR"
    )]
    gelf_tcp: Vec<String>,

    /// Accept syslog over UDP (RFC 5424 or 3164) on HOST:PORT, e.g. 0.0.0.0:514. Off by default.
    #[arg(
        long,
        env = "SEQR_SYSLOG_UDP",
        value_delimiter = ',',
        value_name = "ADDR"
    )]
    syslog_udp: Vec<String>,

    /// Accept syslog over TCP (octet counting or newline framing, RFC 6587) on HOST:PORT.
    #[arg(
        long,
        env = "SEQR_SYSLOG_TCP",
        value_delimiter = ',',
        value_name = "ADDR"
    )]
    syslog_tcp: Vec<String>,

    /// Accept GELF over TLS (NUL-terminated frames) on HOST:PORT, with the HTTPS certificate
    /// (--tls-cert/--tls-key or --tls-self-signed). Off by default.
    #[arg(
        long,
        env = "SEQR_GELF_TLS",
        value_delimiter = ',',
        value_name = "ADDR"
    )]
    gelf_tls: Vec<String>,

    /// Accept syslog over TLS (RFC 5425, octet counting; usually 0.0.0.0:6514) with the HTTPS
    /// certificate. Off by default.
    #[arg(
        long,
        env = "SEQR_SYSLOG_TLS",
        value_delimiter = ',',
        value_name = "ADDR"
    )]
    syslog_tls: Vec<String>,

    /// The API key (its Id, e.g. apikey-...) whose input settings apply to GELF events:
    /// minimum level, applied properties, arrival filter. [default: the default input]
    #[arg(long, env = "SEQR_GELF_API_KEY_ID", value_name = "ID")]
    gelf_api_key_id: Option<String>,

    /// The API key whose input settings apply to syslog events. [default: the default input]
    #[arg(long, env = "SEQR_SYSLOG_API_KEY_ID", value_name = "ID")]
    syslog_api_key_id: Option<String>,

    /// Source networks the GELF and syslog listeners accept (CIDR, comma-separated, e.g.
    /// 10.0.0.0/8,192.168.1.5); others are refused and counted. [default: any source]
    #[arg(
        long,
        env = "SEQR_INPUT_ALLOW",
        value_delimiter = ',',
        value_name = "CIDR"
    )]
    input_allow: Vec<String>,

    /// Largest GELF or syslog message in bytes (after reassembly and decompression).
    /// [default: 262144]
    #[arg(long, env = "SEQR_INPUT_MAX_MESSAGE_BYTES", value_name = "BYTES")]
    input_max_message_bytes: Option<usize>,

    /// Most TCP connections open at once per listener. [default: 256]
    #[arg(long, env = "SEQR_INPUT_MAX_CONNECTIONS", value_name = "N")]
    input_max_connections: Option<usize>,

    /// Most events per second per listener; over it UDP messages are dropped (and counted) and
    /// TCP senders are slowed. [default: unlimited]
    #[arg(long, env = "SEQR_INPUT_MAX_EVENTS_PER_SECOND", value_name = "N")]
    input_max_events_per_second: Option<u32>,
}

/// One `[[inputs]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileInput {
    /// `gelf-udp`, `gelf-tcp`, `gelf-tls`, `syslog-udp`, `syslog-tcp` or `syslog-tls`.
    kind: String,
    listen: String,
    api_key_id: Option<String>,
    #[serde(default)]
    allow: Vec<String>,
    max_message_bytes: Option<usize>,
    max_connections: Option<usize>,
    max_events_per_second: Option<u32>,
}

/// The listeners from flags (sharing their limits) and from the file (each with its own).
pub(crate) fn resolve(args: InputArgs, file: Vec<FileInput>) -> Result<Vec<InputListener>, String> {
    let limits = limits_or(
        &InputLimits::default(),
        args.input_max_message_bytes,
        args.input_max_connections,
        args.input_max_events_per_second,
    )?;
    let allow = networks(&args.input_allow)?;
    let mut inputs = Vec::new();
    let flagged = [
        (InputKind::GelfUdp, args.gelf_udp, &args.gelf_api_key_id),
        (InputKind::GelfTcp, args.gelf_tcp, &args.gelf_api_key_id),
        (
            InputKind::SyslogUdp,
            args.syslog_udp,
            &args.syslog_api_key_id,
        ),
        (
            InputKind::SyslogTcp,
            args.syslog_tcp,
            &args.syslog_api_key_id,
        ),
        (InputKind::GelfTls, args.gelf_tls, &args.gelf_api_key_id),
        (
            InputKind::SyslogTls,
            args.syslog_tls,
            &args.syslog_api_key_id,
        ),
    ];
    for (kind, addresses, key) in flagged {
        for address in addresses.iter().filter(|a| !a.trim().is_empty()) {
            inputs.push(InputListener {
                kind,
                address: address_of(kind, address)?,
                api_key_id: key.clone(),
                limits: limits.clone(),
                allow: allow.clone(),
            });
        }
    }
    for table in file {
        let kind = InputKind::parse(&table.kind).ok_or_else(|| {
            format!(
                "[[inputs]] kind `{}` is not one of gelf-udp, gelf-tcp, syslog-udp, syslog-tcp",
                table.kind
            )
        })?;
        inputs.push(InputListener {
            kind,
            address: address_of(kind, &table.listen)?,
            api_key_id: table.api_key_id,
            limits: limits_or(
                &limits,
                table.max_message_bytes,
                table.max_connections,
                table.max_events_per_second,
            )?,
            allow: networks(&table.allow)?,
        });
    }
    Ok(inputs)
}

fn limits_or(
    base: &InputLimits,
    max_message_bytes: Option<usize>,
    max_connections: Option<usize>,
    max_events_per_second: Option<u32>,
) -> Result<InputLimits, String> {
    let limits = InputLimits {
        max_message_bytes: max_message_bytes.unwrap_or(base.max_message_bytes),
        max_connections: max_connections.unwrap_or(base.max_connections),
        max_events_per_second: max_events_per_second.or(base.max_events_per_second),
    };
    if limits.max_message_bytes == 0
        || limits.max_connections == 0
        || limits.max_events_per_second == Some(0)
    {
        return Err(
            "input limits (max message bytes, connections, events per second) must be greater than zero"
                .into(),
        );
    }
    Ok(limits)
}

fn networks(texts: &[String]) -> Result<Vec<SourceNetwork>, String> {
    texts
        .iter()
        .filter(|t| !t.trim().is_empty())
        .map(|t| t.parse::<SourceNetwork>().map_err(|e| e.to_string()))
        .collect()
}

/// A listener address is `HOST:PORT`; a scheme (`udp://`) is tolerated when it matches.
fn address_of(kind: InputKind, text: &str) -> Result<String, String> {
    let transport = if kind.name().ends_with("udp") {
        "udp"
    } else {
        "tcp"
    };
    let trimmed = text.trim();
    let bare = match trimmed.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case(transport) => rest,
        Some(_) => {
            return Err(format!(
                "the {kind} address `{text}` must be HOST:PORT (or {transport}://HOST:PORT)"
            ));
        }
        None => trimmed,
    };
    let valid = bare
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !valid {
        return Err(format!(
            "the {kind} address `{text}` must be HOST:PORT, e.g. 0.0.0.0:{}",
            match kind {
                InputKind::GelfUdp | InputKind::GelfTcp | InputKind::GelfTls => 12201,
                InputKind::SyslogUdp | InputKind::SyslogTcp => 514,
                InputKind::SyslogTls => 6514,
            }
        ));
    }
    Ok(bare.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_input(kind: &str, listen: &str) -> FileInput {
        FileInput {
            kind: kind.into(),
            listen: listen.into(),
            api_key_id: Some("apikey-x".into()),
            allow: vec!["10.0.0.0/8".into()],
            max_message_bytes: Some(1000),
            max_connections: None,
            max_events_per_second: Some(50),
        }
    }

    #[test]
    fn flags_and_tables_make_listeners() {
        let args = InputArgs {
            gelf_udp: vec!["0.0.0.0:12201".into()],
            syslog_tcp: vec!["tcp://127.0.0.1:1514".into()],
            syslog_api_key_id: Some("apikey-s".into()),
            input_allow: vec!["192.168.0.0/16".into()],
            input_max_connections: Some(9),
            ..Default::default()
        };
        let inputs = resolve(args, vec![file_input("GELF-TCP", "[::1]:12201")]).unwrap();
        assert_eq!(inputs.len(), 3);
        assert_eq!(inputs[0].kind, InputKind::GelfUdp);
        assert_eq!(inputs[0].api_key_id, None);
        assert_eq!(inputs[0].limits.max_connections, 9);
        assert_eq!(inputs[1].address, "127.0.0.1:1514");
        assert_eq!(inputs[1].api_key_id.as_deref(), Some("apikey-s"));
        assert_eq!(inputs[1].allow, vec!["192.168.0.0/16".parse().unwrap()]);
        assert_eq!(inputs[2].kind, InputKind::GelfTcp);
        assert_eq!(inputs[2].limits.max_message_bytes, 1000);
        assert_eq!(inputs[2].limits.max_events_per_second, Some(50));
        assert_eq!(inputs[2].allow, vec!["10.0.0.0/8".parse().unwrap()]);
    }

    #[test]
    fn mistakes_are_explained() {
        let bad = |args: InputArgs, file: Vec<FileInput>| resolve(args, file).unwrap_err();
        let e = bad(
            InputArgs {
                gelf_udp: vec!["12201".into()],
                ..Default::default()
            },
            vec![],
        );
        assert!(e.contains("HOST:PORT"), "{e}");
        let e = bad(
            InputArgs {
                gelf_tcp: vec!["udp://0.0.0.0:1".into()],
                ..Default::default()
            },
            vec![],
        );
        assert!(e.contains("tcp://"), "{e}");
        let e = bad(Default::default(), vec![file_input("gelf-http", "x:1")]);
        assert!(e.contains("gelf-http"), "{e}");
        let e = bad(
            InputArgs {
                input_allow: vec!["10.0.0.0/40".into()],
                ..Default::default()
            },
            vec![],
        );
        assert!(e.contains("source network"), "{e}");
        let e = bad(
            InputArgs {
                input_max_events_per_second: Some(0),
                ..Default::default()
            },
            vec![],
        );
        assert!(e.contains("greater than zero"), "{e}");
    }
}
