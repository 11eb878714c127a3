//! Stored events written back as CLEF documents: what live tail sends with `clef=true` (seqcli
//! `tail` asks for it) and what the CLEF export streams.
//!
//! The document is the one the client could have sent: reified members as CLEF names them,
//! user properties beginning with `@` escaped as `@@`, unrecognised `@` members kept, and
//! `@r` renderings kept so a re-ingested copy renders the same. Serialized straight from the
//! stored event (no intermediate `Value`) because exports stream millions of them.

use seqr_types::StoredEvent;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// One stored event as a CLEF JSON object.
pub(crate) struct ClefDocument<'a>(pub(crate) &'a StoredEvent);

impl Serialize for ClefDocument<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let e = &self.0.event;
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("@t", &e.timestamp.to_iso())?;
        if let Some(t) = &e.message_template {
            m.serialize_entry("@mt", t)?;
        }
        if let Some(msg) = &e.message {
            m.serialize_entry("@m", msg)?;
        }
        if let Some(l) = &e.level {
            m.serialize_entry("@l", l)?;
        }
        if let Some(x) = &e.exception {
            m.serialize_entry("@x", x)?;
        }
        m.serialize_entry("@i", &format!("{:08x}", e.event_type))?;
        if !e.renderings.is_empty() {
            m.serialize_entry("@r", &e.renderings)?;
        }
        let optional = [
            ("@tr", &e.trace_id),
            ("@sp", &e.span_id),
            ("@ps", &e.parent_id),
            ("@sk", &e.span_kind),
        ];
        for (name, value) in optional {
            if let Some(v) = value {
                m.serialize_entry(name, v)?;
            }
        }
        if let Some(start) = e.span_start {
            m.serialize_entry("@st", &start.to_iso())?;
        }
        if let Some(r) = &e.resource {
            m.serialize_entry("@ra", r)?;
        }
        if let Some(s) = &e.scope {
            m.serialize_entry("@sa", s)?;
        }
        for (name, value) in &e.extensions {
            m.serialize_entry(name, value)?;
        }
        for (name, value) in &e.properties {
            if name.starts_with('@') {
                m.serialize_entry(&format!("@{name}"), value)?;
            } else {
                m.serialize_entry(name, value)?;
            }
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seqr_ingest::{Limits, decode_clef};
    use seqr_types::EventId;

    #[test]
    fn a_written_document_decodes_to_the_same_event() {
        let line = br#"{"@t":"2026-01-02T03:04:05.0000000Z","@mt":"Hello {User:l}","@l":"Warning","@x":"boom\n  at x","@r":["bob"],"@tr":"0af7651916cd43dd8448eb211c80319c","@sp":"b7ad6b7169203331","@ps":"a1b2c3d4e5f60718","@st":"2026-01-02T03:04:04.0000000Z","@sk":"Server","@ra":{"service":{"name":"api"}},"@sa":{"name":"lib"},"@custom":{"x":1},"User":"Bob","@@Odd":1,"N":1.50}"#;
        let decoded = decode_clef(line, &Limits::default()).unwrap().remove(0);
        let stored = StoredEvent {
            id: EventId::default(),
            event: decoded.clone(),
        };
        let written = serde_json::to_vec(&ClefDocument(&stored)).unwrap();
        let again = decode_clef(&written, &Limits::default()).unwrap().remove(0);
        assert_eq!(again, decoded);
        let text = String::from_utf8(written).unwrap();
        assert!(text.contains(r#""@@Odd":1"#), "{text}");
        assert!(text.contains(r#""N":1.50"#), "{text}");
    }
}
