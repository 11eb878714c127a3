//! RFC 3164, and what devices send under its name: `[TIMESTAMP SP [HOSTNAME SP]] [TAG: ] MSG`,
//! where every part but MSG may be missing.
//!
//! squiflog leaves the TAG in the message; seqr takes it out as `app_name` (and its `[PID]` as
//! `proc_id`), so `app_name` means the same for RFC 3164 and RFC 5424 senders. squiflog's worry
//! was breaking messages that merely contain a colon, so the TAG is read only in the shapes real
//! senders use: `name[pid]: ` anywhere, and `name: ` only after a timestamp, where the BSD format
//! puts it. A headerless `Warning: disk full` stays the message.

use seqr_types::Timestamp;

use crate::message::{Header, lossy};
use crate::time;

/// The header fields found, and the MSG bytes after them.
pub(crate) fn parse(bytes: &[u8], received: Timestamp) -> (Header, &[u8]) {
    let mut header = Header::default();
    let mut rest = bytes;
    if let Some((timestamp, after)) = time::rfc3164(rest, received) {
        header.timestamp = Some(timestamp);
        rest = skip_spaces(after);
        if let Some((hostname, after)) = hostname(rest) {
            header.hostname = Some(hostname);
            rest = after;
        }
    }
    if let Some((app_name, proc_id, after)) = tag(rest, header.timestamp.is_some()) {
        header.app_name = Some(app_name);
        header.proc_id = proc_id;
        rest = after;
    }
    (header, rest)
}

fn skip_spaces(bytes: &[u8]) -> &[u8] {
    let n = bytes.iter().take_while(|&&b| b == b' ').count();
    &bytes[n..]
}

/// A host name or address followed by a space. A word ending in `:` or holding `[` is a TAG
/// instead (the sender left the hostname out).
fn hostname(bytes: &[u8]) -> Option<(String, &[u8])> {
    let end = memchr::memchr(b' ', bytes)?;
    let word = &bytes[..end];
    let valid = (1..=255).contains(&word.len())
        && word
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'%'))
        && !word.ends_with(b":");
    valid.then(|| (lossy(word), skip_spaces(&bytes[end..])))
}

/// `name[pid]: `, `name[pid] ` or (after a timestamp) `name: `; the name is printable ASCII
/// and not only digits (Cisco's `123: ` is a sequence number).
fn tag(bytes: &[u8], after_timestamp: bool) -> Option<(String, Option<String>, &[u8])> {
    let is_name = |b: &u8| b.is_ascii_graphic() && !matches!(b, b'[' | b']' | b':');
    let len = bytes.iter().take_while(|b| is_name(b)).count();
    let name = &bytes[..len];
    if !(1..=64).contains(&len) || name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut rest = &bytes[len..];
    let mut pid = None;
    if let Some(after) = rest.strip_prefix(b"[") {
        let pid_len = after.iter().take_while(|b| is_name(b)).count();
        if !(1..=128).contains(&pid_len) {
            return None;
        }
        rest = after[pid_len..].strip_prefix(b"]")?;
        pid = Some(lossy(&after[..pid_len]));
    }
    match rest.split_first() {
        Some((b':', after)) if after.first().is_none_or(u8::is_ascii_whitespace) => rest = after,
        Some((b' ', _)) | None if pid.is_some() => {}
        _ => return None,
    }
    if pid.is_none() && !after_timestamp {
        return None;
    }
    Some((lossy(name), pid, rest.strip_prefix(b" ").unwrap_or(rest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received() -> Timestamp {
        Timestamp::parse("2024-11-24T23:41:00Z").unwrap()
    }

    /// (timestamp, hostname, app_name, proc_id, rest)
    fn read(
        text: &str,
    ) -> (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
    ) {
        let (h, rest) = parse(text.as_bytes(), received());
        (
            h.timestamp.map(|t| t.to_iso()),
            h.hostname,
            h.app_name,
            h.proc_id,
            String::from_utf8(rest.to_vec()).unwrap(),
        )
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn the_rfc_examples() {
        assert_eq!(
            read("Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8"),
            (
                some("2024-10-11T22:14:15.0000000Z"),
                some("mymachine"),
                some("su"),
                None,
                "'su root' failed for lonvick on /dev/pts/8".into()
            )
        );
        assert_eq!(
            read("Use the BFG!"),
            (None, None, None, None, "Use the BFG!".into())
        );
    }

    #[test]
    fn python_sysloghandler_has_no_timestamp_or_hostname() {
        assert_eq!(
            read("syslog-udp[15181]: Hello alice from syslog-udp"),
            (
                None,
                None,
                some("syslog-udp"),
                some("15181"),
                "Hello alice from syslog-udp".into()
            )
        );
        // Without a PID and a header, a leading word and colon is just the message.
        assert_eq!(read("Warning: disk full").4, "Warning: disk full");
        assert_eq!(read("Warning: disk full").2, None);
    }

    #[test]
    fn tag_shapes() {
        let r = read("Dec  3 11:59:53 vm cron[5331]: job ran");
        assert_eq!(
            (r.1, r.2, r.3, r.4),
            (some("vm"), some("cron"), some("5331"), "job ran".into())
        );
        // Hostname left out: the word after the time is the TAG.
        let r = read("Dec  3 11:59:53 su: hello");
        assert_eq!((r.1, r.2, r.4), (None, some("su"), "hello".into()));
        let r = read("Dec  3 11:59:53 sshd[12]: hello");
        assert_eq!((r.1, r.2, r.3), (None, some("sshd"), some("12")));
        // `name[pid]` without a colon, and pam-style names.
        let r = read("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure");
        assert_eq!((r.2, r.3), (some("sshd(pam_unix)"), some("19939")));
        let r = read("app[7] no colon");
        assert_eq!((r.2, r.3, r.4), (some("app"), some("7"), "no colon".into()));
        // An IPv6 hostname.
        assert_eq!(read("Dec  3 11:59:53 fe80::1 app: m").1, some("fe80::1"));
        // rsyslog's RSYSLOG_ForwardFormat.
        let r = read("2024-06-19T10:11:12.123456+02:00 web01 nginx[99]: GET /");
        assert_eq!(r.0, some("2024-06-19T08:11:12.1234560Z"));
        assert_eq!(
            (r.1, r.2, r.3, r.4),
            (some("web01"), some("nginx"), some("99"), "GET /".into())
        );
    }

    #[test]
    fn not_tags() {
        for text in [
            "123: *Mar  1 18:46:11.123: %SYS-5-CONFIG_I: Configured",
            "app[]: x",
            "app[1: x",
            "app[1]x",
            "a:b c",
            ": x",
            "[1]: x",
        ] {
            let (_, _, app, _, rest) = read(text);
            assert_eq!((app, rest.as_str()), (None, text), "{text}");
        }
    }
}
