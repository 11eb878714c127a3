//! A parsed syslog message, and its mapping to a seqr event (squiflog's shape).

use std::net::IpAddr;

use seqr_types::{Event, Properties, Timestamp, event_type};
use serde_json::{Map, Value};

use crate::priority::Priority;

/// The header fields both RFCs can carry; `None` where a field was absent or NILVALUE.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Header {
    pub timestamp: Option<Timestamp>,
    pub hostname: Option<String>,
    pub app_name: Option<String>,
    pub proc_id: Option<String>,
    pub message_id: Option<String>,
}

/// One RFC 5424 SD-ELEMENT: its SD-ID and its parameters in order (names may repeat).
#[derive(Debug, PartialEq)]
pub(crate) struct SdElement {
    pub id: String,
    pub params: Vec<(String, String)>,
}

#[derive(Debug, PartialEq)]
pub(crate) struct Message {
    pub priority: Priority,
    pub header: Header,
    pub structured_data: Vec<SdElement>,
    /// MSG as received (BOM and surrounding whitespace still there).
    pub text: String,
}

/// The header properties, in the order squiflog adds them; an SD-ID cannot replace one.
const HEADER_PROPERTIES: [&str; 5] = ["facility", "hostname", "app_name", "proc_id", "message_id"];

impl Message {
    /// `@t` is the message's time (else `received`), `@l` the severity name, `@m` the trimmed
    /// MSG; the header fields become properties, and each SD-ID a property holding an array of
    /// one-parameter objects (`"exampleSDID@32473": [{"iut": "3"}, {"eventSource": "App"}]`),
    /// exactly as squiflog writes them, so repeated parameter names survive.
    pub(crate) fn into_event(self, received: Timestamp, peer: Option<IpAddr>) -> Event {
        let Message {
            priority,
            header,
            structured_data,
            text,
        } = self;
        let mut properties = Properties::new();
        let mut put = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                properties.insert(name.to_owned(), Value::String(value));
            }
        };
        put("facility", Some(priority.facility().to_owned()));
        // rsyslog's rule: a message that names no host came from the host that sent it.
        put(
            "hostname",
            header
                .hostname
                .or_else(|| peer.map(|ip| ip.to_canonical().to_string())),
        );
        put("app_name", header.app_name);
        put("proc_id", header.proc_id);
        put("message_id", header.message_id);
        for element in structured_data {
            let name = if HEADER_PROPERTIES.contains(&element.id.as_str()) {
                // squiflog's documented convention for a lower-priority clash.
                format!("__{}", element.id)
            } else {
                element.id
            };
            let params = element.params.into_iter().map(|(k, v)| {
                let mut one = Map::new();
                one.insert(k, Value::String(v));
                Value::Object(one)
            });
            // A repeated SD-ID (RFC 5424 forbids it) adds to the first rather than replacing it.
            match properties.get_mut(&name) {
                Some(Value::Array(existing)) => existing.extend(params),
                _ => {
                    properties.insert(name, Value::Array(params.collect()));
                }
            }
        }
        let message = trim(&text);
        let mut event = Event {
            timestamp: header.timestamp.unwrap_or(received),
            level: Some(priority.severity().to_owned()),
            message: (!message.is_empty()).then(|| message.to_owned()),
            properties,
            ..Event::default()
        };
        event.event_type = event_type::of_template(event.template_or_message());
        event
    }
}

/// MSG without surrounding whitespace, NULs (Python's `append_nul`) or a leading BOM.
pub(crate) fn trim(text: &str) -> &str {
    let edge = |c: char| c.is_whitespace() || c == '\0';
    let mut text = text.trim_matches(edge);
    while let Some(rest) = text.strip_prefix('\u{feff}') {
        text = rest.trim_matches(edge);
    }
    text
}

/// Bytes as text, any invalid UTF-8 replaced: syslog promises nothing about encodings.
pub(crate) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_strips_whitespace_nuls_and_a_bom() {
        assert_eq!(trim("  hello \n\0"), "hello");
        assert_eq!(trim("\u{feff}hello"), "hello");
        assert_eq!(trim(" \u{feff} hello"), "hello");
        assert_eq!(trim("\u{feff} \u{feff}hello"), "hello");
        assert_eq!(trim("a\nb"), "a\nb");
        assert_eq!(trim("\0\0"), "");
    }
}
