//! The API shape of an event (Seq's `EventEntity`): PascalCase, null members omitted, object
//! type tags renamed from CLEF's `$type` to the API's `$typeTag`.

use seqr_types::template::{self, RenderedToken};
use seqr_types::{StoredEvent, event_type};
use serde_json::{Map, Value, json};

use crate::timespan;

/// Renders one stored event as an `EventEntity`; `render` adds `RenderedMessage` and the tokens'
/// `FormattedValue`s, as Seq does for `render=true`.
pub(crate) fn event_entity(stored: &StoredEvent, render: bool) -> Value {
    let e = &stored.event;
    let id = stored.id.to_string();
    let mut o = Map::new();
    o.insert("Id".into(), Value::String(id.clone()));
    o.insert("Timestamp".into(), Value::String(e.timestamp.to_iso()));
    if let Some(start) = e.span_start {
        o.insert("Start".into(), Value::String(start.to_iso()));
    }
    o.insert("Properties".into(), name_value_list(&e.properties));

    let tokens = template::parse(e.template_or_message());
    let rendered = template::render_tokens(&tokens, &e.properties, &e.renderings);
    o.insert(
        "MessageTemplateTokens".into(),
        Value::Array(
            rendered
                .into_iter()
                .map(|t| token_part(t, render))
                .collect(),
        ),
    );
    o.insert(
        "EventType".into(),
        Value::String(event_type::display(e.event_type)),
    );
    o.insert(
        "Level".into(),
        Value::String(e.level_or_default().to_owned()),
    );
    insert_opt(&mut o, "Exception", e.exception.as_deref());
    if render {
        o.insert(
            "RenderedMessage".into(),
            Value::String(e.rendered_message()),
        );
    }
    insert_opt(&mut o, "TraceId", e.trace_id.as_deref());
    insert_opt(&mut o, "SpanId", e.span_id.as_deref());
    insert_opt(&mut o, "ParentId", e.parent_id.as_deref());
    insert_opt(&mut o, "SpanKind", e.span_kind.as_deref());
    if let Some(resource) = &e.resource {
        o.insert("Resource".into(), name_value_list(resource));
    }
    if let Some(scope) = &e.scope {
        o.insert("Scope".into(), name_value_list(scope));
    }
    if let Some(start) = e.span_start {
        let elapsed = e.timestamp.ticks().saturating_sub(start.ticks());
        o.insert("Elapsed".into(), Value::String(timespan::format(elapsed)));
    }
    o.insert(
        "Links".into(),
        json!({ "Self": format!("api/events/{id}") }),
    );
    Value::Object(o)
}

fn insert_opt(o: &mut Map<String, Value>, name: &str, value: Option<&str>) {
    if let Some(v) = value {
        o.insert(name.into(), Value::String(v.to_owned()));
    }
}

fn token_part(token: RenderedToken, render: bool) -> Value {
    match token {
        RenderedToken::Text(text) => json!({ "Text": text }),
        RenderedToken::Property {
            name,
            raw_text,
            formatted,
        } => {
            let mut o = Map::new();
            o.insert("PropertyName".into(), Value::String(name));
            o.insert("RawText".into(), Value::String(raw_text));
            if let (true, Some(f)) = (render, formatted) {
                o.insert("FormattedValue".into(), Value::String(f));
            }
            Value::Object(o)
        }
    }
}

fn name_value_list(properties: &Map<String, Value>) -> Value {
    Value::Array(
        properties
            .iter()
            .map(|(name, value)| json!({ "Name": name, "Value": api_value(value) }))
            .collect(),
    )
}

/// A property value as the API shows it: CLEF's `$type` member becomes `$typeTag`.
fn api_value(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = if k == "$type" {
                        "$typeTag".to_owned()
                    } else {
                        k.clone()
                    };
                    (key, api_value(v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(api_value).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_tags_are_renamed_at_every_depth() {
        let v: Value = serde_json::from_str(
            r#"{"$type":"Order","Lines":[{"$type":"Line","Sku":"a"}],"N":1.50}"#,
        )
        .unwrap();
        assert_eq!(
            api_value(&v).to_string(),
            r#"{"$typeTag":"Order","Lines":[{"$typeTag":"Line","Sku":"a"}],"N":1.50}"#
        );
    }
}
