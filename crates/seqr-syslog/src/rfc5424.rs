//! RFC 5424: `VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]`.

use seqr_types::Timestamp;

use crate::message::{Header, SdElement, lossy};

/// The header, structured data and MSG bytes after PRI, or `None` when the bytes do not start
/// with an RFC 5424 header (version 1, five space-separated fields, a parseable timestamp), in
/// which case they are read as RFC 3164, as squiflog does.
///
/// Malformed structured data after a good header keeps the header: everything from where the
/// structured data should be is then the message, so nothing the sender wrote is lost.
pub(crate) fn parse(bytes: &[u8]) -> Option<(Header, Vec<SdElement>, &[u8])> {
    let rest = bytes.strip_prefix(b"1 ")?;
    let (timestamp, rest) = field(rest)?;
    let timestamp = match timestamp {
        None => None,
        Some(text) => Some(Timestamp::parse(std::str::from_utf8(text).ok()?).ok()?),
    };
    let (hostname, rest) = field(rest)?;
    let (app_name, rest) = field(rest)?;
    let (proc_id, rest) = field(rest)?;
    let (message_id, rest) = field(rest)?;
    let header = Header {
        timestamp,
        hostname: hostname.map(lossy),
        app_name: app_name.map(lossy),
        proc_id: proc_id.map(lossy),
        message_id: message_id.map(lossy),
    };
    let (structured_data, msg) = structured_data(rest).unwrap_or((Vec::new(), rest));
    Some((header, structured_data, msg))
}

/// One header field and the bytes after its space; `None` inside for NILVALUE (`-`).
fn field(bytes: &[u8]) -> Option<(Option<&[u8]>, &[u8])> {
    let end = memchr::memchr(b' ', bytes)?;
    if end == 0 {
        return None;
    }
    let value = &bytes[..end];
    Some(((value != b"-").then_some(value), &bytes[end + 1..]))
}

/// `-` or one or more `[SD-ID PARAM="VALUE" ...]`, then the MSG bytes.
fn structured_data(bytes: &[u8]) -> Option<(Vec<SdElement>, &[u8])> {
    if let Some(rest) = bytes.strip_prefix(b"-") {
        return match rest.split_first() {
            None => Some((Vec::new(), rest)),
            Some((b' ', msg)) => Some((Vec::new(), msg)),
            Some(_) => None,
        };
    }
    let mut elements = Vec::new();
    let mut rest = bytes;
    while rest.first() == Some(&b'[') {
        let (element, after) = element(rest)?;
        elements.push(element);
        rest = after;
    }
    if elements.is_empty() {
        return None;
    }
    // RFC 5424 wants one space before MSG; a message glued to the `]` is still the message.
    Some((elements, rest.strip_prefix(b" ").unwrap_or(rest)))
}

/// One SD-ELEMENT starting at its `[`, and the bytes after its `]`.
fn element(bytes: &[u8]) -> Option<(SdElement, &[u8])> {
    let (id, mut rest) = name(&bytes[1..])?;
    let mut params = Vec::new();
    loop {
        // One space separates parameters; tolerate more.
        let spaces = rest.iter().take_while(|&&b| b == b' ').count();
        rest = &rest[spaces..];
        match rest.first()? {
            b']' => break,
            _ if spaces == 0 => return None,
            _ => {}
        }
        let (param, after) = name(rest)?;
        let after = after.strip_prefix(b"=\"")?;
        let (value, after) = value(after)?;
        params.push((param, value));
        rest = after;
    }
    Some((SdElement { id, params }, &rest[1..]))
}

/// An SD-NAME (SD-ID or PARAM-NAME): one or more bytes other than space, `=`, `]` and `"`.
fn name(bytes: &[u8]) -> Option<(String, &[u8])> {
    let len = bytes
        .iter()
        .take_while(|b| !matches!(b, b' ' | b'=' | b']' | b'"'))
        .count();
    (len > 0).then(|| (lossy(&bytes[..len]), &bytes[len..]))
}

/// A PARAM-VALUE up to its closing quote, unescaping `\"`, `\\` and `\]`; any other backslash
/// is an ordinary character (RFC 5424 §6.3.3).
fn value(bytes: &[u8]) -> Option<(String, &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        match *bytes.get(i)? {
            b'"' => return Some((lossy(&out), &bytes[i + 1..])),
            b'\\' if matches!(bytes.get(i + 1), Some(b'"' | b'\\' | b']')) => {
                out.push(bytes[i + 1]);
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sd(text: &str) -> Option<Vec<SdElement>> {
        structured_data(text.as_bytes()).map(|(elements, _)| elements)
    }

    fn element(id: &str, params: &[(&str, &str)]) -> SdElement {
        SdElement {
            id: id.to_owned(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn structured_data_escapes_and_several_elements() {
        let parsed = sd(r#"[a@1 x="q \"u\" b\\s \]r \n" y=""][b z="]"] msg"#).unwrap();
        assert_eq!(
            parsed,
            vec![
                element("a@1", &[("x", r#"q "u" b\s ]r \n"#), ("y", "")]),
                element("b", &[("z", "]")]),
            ]
        );
        let (_, msg) = structured_data(br#"[a x="1"] msg"#).unwrap();
        assert_eq!(msg, b"msg");
        assert_eq!(sd("[timeQuality]"), Some(vec![element("timeQuality", &[])]));
    }

    #[test]
    fn malformed_structured_data_is_refused() {
        for bad in [
            "[",
            "[]",
            "[a",
            "[a x]",
            "[a x=\"1]",
            "[a x=1]",
            "[a x=\"1\"y=\"2\"]",
            "hello",
            "-hello",
            "",
        ] {
            assert_eq!(sd(bad), None, "{bad}");
        }
        assert_eq!(sd("-"), Some(vec![]));
        assert_eq!(sd("- msg"), Some(vec![]));
    }

    #[test]
    fn header_needs_version_1_and_five_fields() {
        assert!(parse(b"1 - - - - - -").is_some());
        assert!(parse(b"2 - - - - - -").is_none());
        assert!(parse(b"1 - - - -").is_none());
        assert!(parse(b"1  - - - - -").is_none());
        assert!(parse(b"1 yesterday host app - - -").is_none());
        // A good header with garbage where SD belongs keeps the header.
        let (header, sd, msg) = parse(b"1 - host app 12 - hello world").unwrap();
        assert_eq!(header.hostname.as_deref(), Some("host"));
        assert!(sd.is_empty());
        assert_eq!(msg, b"hello world");
    }
}
