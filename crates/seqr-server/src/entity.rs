//! The API shape of an event (Seq's `EventEntity`): PascalCase, null members omitted, object
//! type tags renamed from CLEF's `$type` to the API's `$typeTag`.
//!
//! Entities serialize straight from the stored event (borrowing its strings and property tree)
//! rather than through an intermediate `serde_json::Value`, because search pages hold thousands
//! of them and the copies dominated response memory.

use seqr_types::template::{self, RenderedToken};
use seqr_types::{Properties, StoredEvent, event_type};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::timespan;

/// One stored event as an `EventEntity`; `render` adds `RenderedMessage` and the tokens'
/// `FormattedValue`s, as Seq does for `render=true`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EventEntity<'a> {
    id: String,
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<String>,
    properties: NameValueList<'a>,
    message_template_tokens: Vec<TokenPart>,
    event_type: String,
    level: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    exception: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rendered_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    span_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    span_kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<NameValueList<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<NameValueList<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    elapsed: Option<String>,
    links: Links,
}

#[derive(Serialize)]
struct Links {
    #[serde(rename = "Self")]
    self_link: String,
}

impl<'a> EventEntity<'a> {
    pub(crate) fn new(stored: &'a StoredEvent, render: bool) -> EventEntity<'a> {
        let e = &stored.event;
        let id = stored.id.to_string();
        let tokens = template::parse(e.template_or_message());
        let message_template_tokens =
            template::render_tokens(&tokens, &e.properties, &e.renderings)
                .into_iter()
                .map(|t| TokenPart::new(t, render))
                .collect();
        EventEntity {
            links: Links {
                self_link: format!("api/events/{id}"),
            },
            id,
            timestamp: e.timestamp.to_iso(),
            start: e.span_start.map(|s| s.to_iso()),
            properties: NameValueList(&e.properties),
            message_template_tokens,
            event_type: event_type::display(e.event_type),
            level: e.level_or_default(),
            exception: e.exception.as_deref(),
            rendered_message: render.then(|| e.rendered_message()),
            trace_id: e.trace_id.as_deref(),
            span_id: e.span_id.as_deref(),
            parent_id: e.parent_id.as_deref(),
            span_kind: e.span_kind.as_deref(),
            resource: e.resource.as_ref().map(NameValueList),
            scope: e.scope.as_ref().map(NameValueList),
            elapsed: e
                .span_start
                .map(|start| timespan::format(e.timestamp.ticks().saturating_sub(start.ticks()))),
        }
    }
}

/// A message template token: literal text, or a property hole.
#[derive(Serialize)]
#[serde(untagged)]
enum TokenPart {
    Text {
        #[serde(rename = "Text")]
        text: String,
    },
    Property {
        #[serde(rename = "PropertyName")]
        name: String,
        #[serde(rename = "RawText")]
        raw_text: String,
        #[serde(rename = "FormattedValue", skip_serializing_if = "Option::is_none")]
        formatted: Option<String>,
    },
}

impl TokenPart {
    fn new(token: RenderedToken, render: bool) -> TokenPart {
        match token {
            RenderedToken::Text(text) => TokenPart::Text { text },
            RenderedToken::Property {
                name,
                raw_text,
                formatted,
            } => TokenPart::Property {
                name,
                raw_text,
                formatted: formatted.filter(|_| render),
            },
        }
    }
}

/// Properties as Seq's `[{"Name":..,"Value":..}]` list.
struct NameValueList<'a>(&'a Properties);

impl Serialize for NameValueList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct NameValue<'a> {
            #[serde(rename = "Name")]
            name: &'a str,
            #[serde(rename = "Value")]
            value: ApiValue<'a>,
        }
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for (name, value) in self.0 {
            seq.serialize_element(&NameValue {
                name,
                value: ApiValue(value),
            })?;
        }
        seq.end()
    }
}

/// A property value as the API shows it: CLEF's `$type` member becomes `$typeTag`.
struct ApiValue<'a>(&'a Value);

impl Serialize for ApiValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut m = serializer.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    let key = if k == "$type" { "$typeTag" } else { k.as_str() };
                    m.serialize_entry(key, &ApiValue(v))?;
                }
                m.end()
            }
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&ApiValue(item))?;
                }
                seq.end()
            }
            other => other.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_tags_are_renamed_at_every_depth_and_numbers_keep_their_text() {
        let v: Value = serde_json::from_str(
            r#"{"$type":"Order","Lines":[{"$type":"Line","Sku":"a"}],"N":1.50,"Big":123456789012345678901234567890}"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&ApiValue(&v)).unwrap(),
            r#"{"$typeTag":"Order","Lines":[{"$typeTag":"Line","Sku":"a"}],"N":1.50,"Big":123456789012345678901234567890}"#
        );
    }
}
