//! NDJSON framing of a bulk body, following Elasticsearch's rules: a malformed action line
//! fails the whole request; a bad document fails only its item; `delete` has no document line,
//! every other action has exactly one.

use serde_json::Value;

use super::document;
use super::{Action, BulkOutcome, Item, ItemResult};
use crate::{DecodeError, event_size};

pub(super) fn decode(
    body: &[u8],
    default_index: Option<&str>,
    max_event_bytes: usize,
) -> Result<BulkOutcome, DecodeError> {
    let mut out = BulkOutcome::default();
    let mut lines = body
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .peekable();
    while let Some((number, line)) = lines.next() {
        if line.trim_ascii().is_empty() {
            continue;
        }
        let (action, meta) = action_line(number, line)?;
        let index = match meta.get("_index") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            None | Some(Value::Null) => match default_index {
                Some(i) if !i.is_empty() => i.to_owned(),
                _ => {
                    return Err(malformed(
                        number,
                        "names no `_index` and the path names no index",
                    ));
                }
            },
            Some(_) => return Err(malformed(number, "has an `_index` that is not a string")),
        };
        let id = match meta.get("_id") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let result = if action == Action::Delete {
            refused(&mut out, unsupported(action))
        } else {
            let source = lines
                .next()
                // The empty tail after the last newline is no document.
                .filter(|(_, s)| !(s.is_empty() && lines.peek().is_none()));
            let Some((_, source)) = source else {
                return Err(DecodeError(format!(
                    "The bulk request ends after the action on line {number}: a `{}` action \
                     needs a document line.",
                    action.name()
                )));
            };
            if action == Action::Update {
                refused(&mut out, unsupported(action))
            } else {
                document_item(&mut out, source, &index, max_event_bytes)
            }
        };
        out.items.push(Item {
            action,
            index,
            id,
            result,
        });
    }
    if out.items.is_empty() {
        return Err(DecodeError(
            "The bulk request has no actions (Validation Failed: 1: no requests added).".into(),
        ));
    }
    Ok(out)
}

/// `{"index":{...}}` and its metadata.
fn action_line(
    number: usize,
    line: &[u8],
) -> Result<(Action, serde_json::Map<String, Value>), DecodeError> {
    let value: Value = serde_json::from_slice(line)
        .map_err(|e| malformed(number, &format!("is not JSON ({e})")))?;
    let Value::Object(map) = value else {
        return Err(malformed(number, "is not a JSON object"));
    };
    if map.len() != 1 {
        return Err(malformed(
            number,
            &format!("has {} members, not one action", map.len()),
        ));
    }
    let Some((name, meta)) = map.into_iter().next() else {
        return Err(malformed(number, "is empty"));
    };
    let action = match name.as_str() {
        "index" => Action::Index,
        "create" => Action::Create,
        "update" => Action::Update,
        "delete" => Action::Delete,
        other => {
            return Err(malformed(
                number,
                &format!(
                    "names `{}`, not one of `create`, `delete`, `index`, `update`",
                    other.chars().take(40).collect::<String>()
                ),
            ));
        }
    };
    match meta {
        Value::Object(meta) => Ok((action, meta)),
        _ => Err(malformed(
            number,
            "has action metadata that is not an object",
        )),
    }
}

fn malformed(number: usize, what: &str) -> DecodeError {
    DecodeError(format!(
        "Malformed action/metadata line [{number}]: it {what}."
    ))
}

fn unsupported(action: Action) -> (u16, &'static str, String) {
    (
        400,
        "illegal_argument_exception",
        format!(
            "seqr stores events append-only: the `{}` action is not supported (use `index` or \
             `create`).",
            action.name()
        ),
    )
}

fn refused(
    out: &mut BulkOutcome,
    (status, kind, reason): (u16, &'static str, String),
) -> ItemResult {
    out.decoded.refuse(&reason);
    ItemResult::Refused {
        status,
        kind,
        reason,
    }
}

/// An `index` or `create` document line as an event, or the item's error.
fn document_item(
    out: &mut BulkOutcome,
    source: &[u8],
    index: &str,
    max_event_bytes: usize,
) -> ItemResult {
    let parse_error = |reason: String| (400, "mapper_parsing_exception", reason);
    let doc = match serde_json::from_slice::<Value>(source) {
        Ok(Value::Object(doc)) => doc,
        Ok(_) => {
            let e = parse_error("failed to parse: the document is not a JSON object.".into());
            return refused(out, e);
        }
        Err(e) => return refused(out, parse_error(format!("failed to parse: {e}."))),
    };
    let event = document::event(doc, index);
    let size = event_size(&event);
    if size > max_event_bytes {
        let reason =
            format!("The document is {size} bytes, over the {max_event_bytes}-byte event limit.");
        return refused(out, (400, "illegal_argument_exception", reason));
    }
    out.decoded.events.push(event);
    ItemResult::Stored {
        event: out.decoded.events.len() - 1,
    }
}
